package io.qvg4j.io;

import io.qvg4j.tensor.InvalidInputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A NumPy array as read from a {@code .npy} file: its dtype, C-order shape and little-endian data.
 *
 * @param name where it came from, for error messages (file, or file:member)
 */
public record NpyArray(String name, NpyDtype dtype, long[] shape, ByteBuffer data) {

    public NpyArray {
        data = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    private void requireDtype(NpyDtype expected) {
        if (dtype != expected) {
            throw new InvalidInputException(name + ": dtype " + dtype.descr() + ", expected " + expected.descr());
        }
    }

    /** uint16 data (bf16 bit patterns by qvg4j's convention). */
    public short[] asUint16() {
        requireDtype(NpyDtype.UINT16);
        short[] out = new short[Math.toIntExact(elementCount())];
        data.asShortBuffer().get(out);
        return out;
    }

    public short[] asFloat16Bits() {
        requireDtype(NpyDtype.FLOAT16);
        short[] out = new short[Math.toIntExact(elementCount())];
        data.asShortBuffer().get(out);
        return out;
    }

    public byte[] asUint8() {
        requireDtype(NpyDtype.UINT8);
        byte[] out = new byte[Math.toIntExact(elementCount())];
        data.duplicate().get(out);
        return out;
    }

    public int[] asInt32() {
        requireDtype(NpyDtype.INT32);
        int[] out = new int[Math.toIntExact(elementCount())];
        data.asIntBuffer().get(out);
        return out;
    }

    public float[] asFloat32() {
        requireDtype(NpyDtype.FLOAT32);
        float[] out = new float[Math.toIntExact(elementCount())];
        data.asFloatBuffer().get(out);
        return out;
    }

    /** Throws unless the shape is exactly {@code expected}. */
    public NpyArray requireShape(long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new InvalidInputException(name + ": shape " + shapeString() + ", expected " + Arrays.toString(expected));
        }
        return this;
    }
}
