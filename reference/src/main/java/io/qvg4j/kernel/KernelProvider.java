package io.qvg4j.kernel;

import java.lang.reflect.InvocationTargetException;

/**
 * Picks the kernels, in the manner of Lucene's {@code VectorizationProvider}: the Vector API kernels
 * ({@code io.qvg4j.simd.SimdKernels}, module {@code kernels-simd}) when {@code jdk.incubator.vector}
 * is readable and the class is on the class path, else the scalar reference, with one log line that says
 * which and why. The system property {@code qvg4j.kernels} ({@code reference} or {@code simd}) forces a
 * choice; forcing {@code simd} where it cannot load is an error, never a silent fallback.
 */
public final class KernelProvider {
    public static final String PROPERTY = "qvg4j.kernels";
    static final String SIMD_CLASS = "io.qvg4j.simd.SimdKernels";

    private static final System.Logger LOG = System.getLogger(KernelProvider.class.getName());

    private KernelProvider() {}

    private static final class Holder {
        static final QvgKernels DEFAULT = chooseDefault();
    }

    /** The kernels this JVM uses unless told otherwise; chosen once. */
    public static QvgKernels defaultKernels() {
        return Holder.DEFAULT;
    }

    /** Kernels by name: {@code reference} or {@code simd}. */
    public static QvgKernels byName(String name) {
        return switch (name) {
            case "reference" -> ScalarKernels.INSTANCE;
            case "simd" -> loadSimd();
            default -> throw new IllegalArgumentException("unknown kernels '" + name + "'; use reference or simd");
        };
    }

    private static QvgKernels chooseDefault() {
        String forced = System.getProperty(PROPERTY);
        if (forced != null) {
            QvgKernels k = byName(forced);
            LOG.log(System.Logger.Level.INFO, "qvg4j kernels: " + k.name() + " (forced by -D" + PROPERTY + ")");
            return k;
        }
        try {
            QvgKernels k = loadSimd();
            LOG.log(System.Logger.Level.INFO, "qvg4j kernels: simd (" + k + ")");
            return k;
        } catch (UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.INFO, "qvg4j kernels: reference (" + e.getMessage() + ")");
            return ScalarKernels.INSTANCE;
        }
    }

    /** Loads the Vector API kernels or explains in one sentence why they cannot be used here. */
    static QvgKernels loadSimd() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new UnsupportedOperationException(
                    "jdk.incubator.vector is not available; run java with --add-modules jdk.incubator.vector");
        }
        Class<?> type;
        try {
            type = Class.forName(SIMD_CLASS);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new UnsupportedOperationException("the kernels-simd module is not on the class path (" + e + ")");
        }
        try {
            return (QvgKernels) type.getMethod("create").invoke(null);
        } catch (InvocationTargetException e) {
            throw new UnsupportedOperationException("the Vector API kernels refused to load: " + e.getCause().getMessage());
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new UnsupportedOperationException("the Vector API kernels could not be loaded: " + e);
        }
    }
}
