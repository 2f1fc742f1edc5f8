package io.qvg4j.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The two limits the kernels are measured against, in the same run: the fp32 fused multiply-add peak
 * of the Vector API's preferred species, and the bandwidth of copying a buffer far larger than the
 * caches. Each on one thread and on every thread ({@code Threads.MAX}: one per available processor).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xss4m", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MachineLimits {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** FMAs per call (lanes × accumulators × steps), the same whatever the vector width. */
    public static final long FMAS_PER_OP = 1L << 24;
    /** Bytes of each copy buffer: far beyond the last-level cache. */
    public static final int COPY_BUFFER_BYTES = 256 << 20;

    private static final int ACCUMULATORS = 12;
    /** {@code FMAS_PER_OP} rounded down to whole steps of all accumulators; the model uses the exact count. */
    private static final long STEPS = FMAS_PER_OP / ((long) ACCUMULATORS * SPECIES.length());

    /** Exact FMAs one call performs. */
    public static long fmasPerOp() {
        return STEPS * ACCUMULATORS * SPECIES.length();
    }

    /** The vector shape the FMA peak is measured with, e.g. {@code FloatVector 512-bit (16 lanes)}. */
    public static String speciesDescription() {
        return "FloatVector " + SPECIES.vectorBitSize() + "-bit (" + SPECIES.length() + " lanes)";
    }

    private float[] start;

    @Setup
    public void setUp() {
        start = new float[SPECIES.length() * ACCUMULATORS];
        for (int i = 0; i < start.length; i++) {
            start[i] = i * 0.01f;
        }
    }

    /** Copy buffers are allocated only by the copy benchmarks' forks, one pair per thread. */
    @State(Scope.Thread)
    public static class Buffers {
        byte[] source;
        byte[] target;

        @Setup
        public void setUp() {
            source = new byte[COPY_BUFFER_BYTES];
            target = new byte[COPY_BUFFER_BYTES];
            Arrays.fill(source, (byte) 0x5A);
            Arrays.fill(target, (byte) 1);
        }
    }

    @Benchmark
    @Threads(1)
    public float fmaPeak() {
        return fmaLoop();
    }

    @Benchmark
    @Threads(Threads.MAX)
    public float fmaPeakAllThreads() {
        return fmaLoop();
    }

    @Benchmark
    @Threads(1)
    public byte[] copy(Buffers b) {
        System.arraycopy(b.source, 0, b.target, 0, COPY_BUFFER_BYTES);
        return b.target;
    }

    @Benchmark
    @Threads(Threads.MAX)
    public byte[] copyAllThreads(Buffers b) {
        System.arraycopy(b.source, 0, b.target, 0, COPY_BUFFER_BYTES);
        return b.target;
    }

    /**
     * Independent accumulator chains, enough to cover the FMA latency times the number of FMA pipes of
     * current x86 cores (4 cycles × 2 pipes = 8 in flight); {@code a·m + c} with m < 1 stays bounded
     * and never becomes subnormal.
     */
    private float fmaLoop() {
        FloatVector m = FloatVector.broadcast(SPECIES, 0.999f);
        FloatVector c = FloatVector.broadcast(SPECIES, 0.001f);
        int lanes = SPECIES.length();
        FloatVector a0 = FloatVector.fromArray(SPECIES, start, 0);
        FloatVector a1 = FloatVector.fromArray(SPECIES, start, lanes);
        FloatVector a2 = FloatVector.fromArray(SPECIES, start, 2 * lanes);
        FloatVector a3 = FloatVector.fromArray(SPECIES, start, 3 * lanes);
        FloatVector a4 = FloatVector.fromArray(SPECIES, start, 4 * lanes);
        FloatVector a5 = FloatVector.fromArray(SPECIES, start, 5 * lanes);
        FloatVector a6 = FloatVector.fromArray(SPECIES, start, 6 * lanes);
        FloatVector a7 = FloatVector.fromArray(SPECIES, start, 7 * lanes);
        FloatVector a8 = FloatVector.fromArray(SPECIES, start, 8 * lanes);
        FloatVector a9 = FloatVector.fromArray(SPECIES, start, 9 * lanes);
        FloatVector a10 = FloatVector.fromArray(SPECIES, start, 10 * lanes);
        FloatVector a11 = FloatVector.fromArray(SPECIES, start, 11 * lanes);
        for (long i = 0; i < STEPS; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        FloatVector sum = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11);
        return sum.reduceLanes(VectorOperators.ADD);
    }
}
