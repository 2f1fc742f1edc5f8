package io.qvg4j.io;

import io.qvg4j.tensor.InvalidInputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An array as read from a tensor file ({@code .npy}, {@code .npz} member or {@code .safetensors} tensor): its
 * dtype, C-order shape and little-endian data (a view of a mapped file, or of a heap buffer).
 *
 * @param name where it came from, for error messages (file, or file:member)
 */
public record NpyArray(String name, NpyDtype dtype, long[] shape, ByteBuffer data) {

    public NpyArray {
        shape = shape.clone();
        data = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (Npy.elementCount(shape, name) * dtype.size() != data.remaining()) {
            throw new InvalidInputException(name + ": " + data.remaining() + " data bytes do not fill shape "
                    + Arrays.toString(shape) + " of " + dtype.descr());
        }
    }

    public static NpyArray ofUint16(String name, short[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(values);
        return new NpyArray(name, NpyDtype.UINT16, shape, b);
    }

    public static NpyArray ofFloat16Bits(String name, short[] values, long... shape) {
        return new NpyArray(name, NpyDtype.FLOAT16, shape, ofUint16(name, values, shape).data());
    }

    public static NpyArray ofUint8(String name, byte[] values, long... shape) {
        return new NpyArray(name, NpyDtype.UINT8, shape, ByteBuffer.wrap(values.clone()));
    }

    public static NpyArray ofInt32(String name, int[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return new NpyArray(name, NpyDtype.INT32, shape, b);
    }

    public static NpyArray ofFloat32(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new NpyArray(name, NpyDtype.FLOAT32, shape, b);
    }

    /** The raw little-endian bytes. */
    public byte[] bytes() {
        byte[] out = new byte[data.remaining()];
        data.duplicate().get(out);
        return out;
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
