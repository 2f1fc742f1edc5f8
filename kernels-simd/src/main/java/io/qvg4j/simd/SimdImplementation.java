package io.qvg4j.simd;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.codec.QvgKernels;
import io.qvg4j.spi.Implementation;
import jdk.incubator.vector.FloatVector;

import java.lang.management.ManagementFactory;

/**
 * {@code simd}: the Vector API kernels on {@link CpuCodec} threads, found by {@link java.util.ServiceLoader}.
 * Lucene's checks decide whether it can run: the incubator module is readable, its preferred float vector
 * has at least 128 bits, and C2 compiles it (not an interpreter-only or C1-only JVM, where vector code is
 * slower than the scalar reference). Loading this class needs {@code jdk.incubator.vector}, so
 * {@link #unavailable()} is answered by the provider before any vector class is touched.
 */
public final class SimdImplementation implements Implementation {
    private static final boolean MODULE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public int rank() {
        return 20;
    }

    @Override
    public String unavailable() {
        if (!MODULE) {
            return "jdk.incubator.vector is not available; run java with --add-modules jdk.incubator.vector";
        }
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (bits < 128) {
            return "the Vector API's preferred float vector has " + bits + " bits here; at least 128 are needed";
        }
        String compiler = c2Missing();
        return compiler == null ? null : compiler + ": the vector kernels would be slower than the reference";
    }

    /**
     * Why C2 does not compile here, or null. The JIT flags are read from the HotSpot diagnostic bean when
     * the JVM has {@code jdk.management} (a minimal runtime image may not: then only -Xint is seen).
     */
    private static String c2Missing() {
        if (System.getProperty("java.vm.info", "").contains("interpreted")) {
            return "the JVM runs interpreted (-Xint)";
        }
        return ModuleLayer.boot().findModule("jdk.management").isEmpty() ? null : JitFlags.c2Missing();
    }

    /** Loaded only where {@code jdk.management} exists, so this class links on a runtime without it. */
    private static final class JitFlags {
        static String c2Missing() {
            try {
                var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
                if (bean == null) {
                    return null;
                }
                if (Boolean.parseBoolean(bean.getVMOption("UseJVMCICompiler").getValue())) {
                    return "the JIT is a JVMCI compiler (-XX:+UseJVMCICompiler), not C2";
                }
                String level = bean.getVMOption("TieredStopAtLevel").getValue();
                if (Boolean.parseBoolean(bean.getVMOption("TieredCompilation").getValue()) && Integer.parseInt(level) < 4) {
                    return "C2 is off (-XX:TieredStopAtLevel=" + level + ")";
                }
            } catch (IllegalArgumentException | LinkageError e) {
                return null;
            }
            return null;
        }
    }

    @Override
    public String describe() {
        return "Vector API, " + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit";
    }

    @Override
    public QvgCodec open(int threads, int device) {
        return new CpuCodec(kernels(), threads);
    }

    @Override
    public QvgKernels kernels() {
        return SimdKernels.create();
    }

    @Override
    public AttentionKernels attention() {
        return SimdAttention.create();
    }
}
