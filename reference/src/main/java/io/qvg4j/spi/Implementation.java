package io.qvg4j.spi;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.codec.QvgKernels;

/**
 * One implementation of qvg4j: the scalar reference, or one found by {@link java.util.ServiceLoader}
 * (module {@code kernels-simd}: {@code simd}; module {@code gpu}: {@code opencl}). Every implementation
 * returns the reference's bytes; they differ only in speed. {@link Implementations} chooses among them.
 */
public interface Implementation {
    /** The name on the command line: {@code reference}, {@code simd}, {@code opencl}. */
    String name();

    /** Higher is faster on the data qvg4j is for; {@code auto} takes the highest that is available. */
    int rank();

    /** Null when this implementation can run in this JVM, else one sentence saying why not and what to do. */
    String unavailable();

    /** Whether {@code auto} may choose it (an OpenCL CPU device, for one, is not faster than the Vector API). */
    default boolean automatic() {
        return true;
    }

    /** A short description for the line that says which implementation runs (width, device, …). */
    String describe();

    /**
     * A codec on {@code threads} CPU threads; {@code device} is the OpenCL device index as {@code qvg devices}
     * lists it, ignored by the CPU implementations.
     */
    QvgCodec open(int threads, int device);

    /**
     * The devices it can run on, one line each as {@code qvg devices} prints them, numbered as
     * {@code --device} takes them; empty for the CPU implementations. Throws
     * {@link io.qvg4j.tensor.InvalidInputException} when the device layer itself is missing.
     */
    default java.util.List<String> devices() {
        return java.util.List.of();
    }

    /** The per-head kernels of a CPU implementation, or null. */
    default QvgKernels kernels() {
        return null;
    }

    /** The kernels of the attention over the quantized cache, or null when the implementation has none. */
    default AttentionKernels attention() {
        return null;
    }
}
