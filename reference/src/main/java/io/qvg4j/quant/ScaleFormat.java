package io.qvg4j.quant;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;

/** How block scales (and zero points) are stored, and the code that names each format in a file. */
public enum ScaleFormat {
    /** FP8 E4M3FN, one byte; the quantizer uses the rounded scale (SPEC §6.2). The official default. */
    FP8_E4M3(1, 0),
    /**
     * bf16, two bytes little-endian; the quantizer uses the unrounded fp32 scale and only the stored
     * value is rounded (SPEC §6.4; present in the official code, unused by its callers).
     */
    BF16(2, 1);

    private final int bytes;
    private final int code;

    ScaleFormat(int bytes, int code) {
        this.bytes = bytes;
        this.code = code;
    }

    public int bytes() {
        return bytes;
    }

    /** The format's number in a file ({@code .qkv}, FORMAT.md): fixed, never the enum's ordinal. */
    public int code() {
        return code;
    }

    /** The format with this file code, or null. */
    public static ScaleFormat ofCode(int code) {
        for (ScaleFormat f : values()) {
            if (f.code == code) {
                return f;
            }
        }
        return null;
    }

    /**
     * Stores a scale or zero point at {@code out[offset…]} and returns the value the quantizer divides by
     * (or subtracts): the decoded FP8 code (SPEC §6.2), or for bf16 storage the unrounded fp32 value
     * (SPEC §6.4).
     */
    public float store(float value, byte[] out, int offset) {
        if (this == FP8_E4M3) {
            byte c = Fp8E4M3.encode(value);
            out[offset] = c;
            return Fp8E4M3.decode(c);
        }
        short bits = Bf16.fromFloat(value);
        out[offset] = (byte) bits;
        out[offset + 1] = (byte) (bits >>> 8);
        return value;
    }

    /** The stored scale or zero point at {@code in[offset…]}, as a float. */
    public float load(byte[] in, int offset) {
        if (this == FP8_E4M3) {
            return Fp8E4M3.decode(in[offset]);
        }
        return Bf16.toFloat((short) ((in[offset] & 0xFF) | (in[offset + 1] << 8)));
    }
}
