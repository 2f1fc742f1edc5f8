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
                    + Arrays.toString(shape) + " of " + dtype);
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

    public static NpyArray ofInt64(String name, long[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new NpyArray(name, NpyDtype.INT64, shape, b);
    }

    public static NpyArray ofFloat64(String name, double[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(values);
        return new NpyArray(name, NpyDtype.FLOAT64, shape, b);
    }

    /** FP8 E4M3FN codes, one byte each (SPEC §6.2). */
    public static NpyArray ofFloat8E4M3(String name, byte[] codes, long... shape) {
        return new NpyArray(name, NpyDtype.FLOAT8_E4M3, shape, ByteBuffer.wrap(codes.clone()));
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
            throw new InvalidInputException(name + ": dtype " + dtype + ", expected " + expected);
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

    public long[] asInt64() {
        requireDtype(NpyDtype.INT64);
        long[] out = new long[Math.toIntExact(elementCount())];
        data.asLongBuffer().get(out);
        return out;
    }

    public double[] asFloat64() {
        requireDtype(NpyDtype.FLOAT64);
        double[] out = new double[Math.toIntExact(elementCount())];
        data.asDoubleBuffer().get(out);
        return out;
    }

    /** The FP8 E4M3FN codes of a {@code F8_E4M3} tensor. */
    public byte[] asFloat8E4M3() {
        requireDtype(NpyDtype.FLOAT8_E4M3);
        byte[] out = new byte[Math.toIntExact(elementCount())];
        data.duplicate().get(out);
        return out;
    }

    /**
     * Integer data as int, from int32 or int64 (PyTorch's index dtype); an int64 value outside the int
     * range is an error.
     */
    public int[] asIndices() {
        if (dtype == NpyDtype.INT32) {
            return asInt32();
        }
        if (dtype != NpyDtype.INT64) {
            throw new InvalidInputException(name + ": dtype " + dtype + ", expected INT32 or INT64");
        }
        long[] wide = asInt64();
        int[] out = new int[wide.length];
        for (int i = 0; i < wide.length; i++) {
            if (wide[i] != (int) wide[i]) {
                throw new InvalidInputException(name + ": element " + i + " = " + wide[i] + " is outside the int32 range");
            }
            out[i] = (int) wide[i];
        }
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
