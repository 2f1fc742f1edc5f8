package io.qvg4j.kernel;

import io.qvg4j.quant.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;

import java.lang.reflect.InvocationTargetException;

/** Opens an implementation by its command-line name: {@code reference}, {@code simd} or {@code opencl}. */
public final class Codecs {
    static final String OPENCL_CLASS = "io.qvg4j.gpu.OpenClCodec";

    private Codecs() {}

    /**
     * @param threads CPU threads for the CPU implementations (the OpenCL one uses them for host work)
     * @param device  OpenCL device index as listed by {@code qvg devices}; ignored by the CPU ones
     */
    public static QvgCodec open(String impl, int threads, int device) {
        return switch (impl) {
            case "reference" -> new KernelCodec(ScalarKernels.INSTANCE, threads);
            case "simd" -> {
                try {
                    yield new KernelCodec(KernelProvider.loadSimd(), threads);
                } catch (UnsupportedOperationException e) {
                    throw new InvalidInputException("--impl simd: " + e.getMessage());
                }
            }
            case "opencl" -> openOpenCl(threads, device);
            default -> throw new InvalidInputException("--impl " + impl + ": unknown implementation; use reference, simd or opencl");
        };
    }

    private static QvgCodec openOpenCl(int threads, int device) {
        Class<?> type;
        try {
            type = Class.forName(OPENCL_CLASS);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new InvalidInputException("--impl opencl: the gpu module is not on the class path");
        }
        try {
            return (QvgCodec) type.getMethod("open", int.class, int.class).invoke(null, threads, device);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("--impl opencl: " + e, e);
        }
    }
}
