package io.qvg4j.quant;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.numeric.Rounding;

/** The residual quantizer of one block of G consecutive channels of one token and head (SPEC §6). */
public final class BlockQuantizer {
    private BlockQuantizer() {}

    /** The floor of the unrounded scale, an fp32 constant in the official kernel (SPEC §6.2). */
    public static final float MIN_SCALE = 1e-10f;

    /**
     * Quantizes {@code x[offset, offset+g)} into unsigned codes at {@code codes[codeOffset…]} and stores
     * the block's scale (and zero point, when asymmetric) at the given byte offsets.
     */
    public static void quantizeBlock(float[] x, int offset, int g, QuantConfig config, int[] codes, int codeOffset,
                                     byte[] scales, int scaleOffset, byte[] zeros, int zeroOffset) {
        if (config.asymmetric()) {
            asymmetric(x, offset, g, config, codes, codeOffset, scales, scaleOffset, zeros, zeroOffset);
        } else {
            symmetric(x, offset, g, config, codes, codeOffset, scales, scaleOffset);
        }
    }

    /**
     * Symmetric absmax (SPEC §6.2): scale = max(amax ⊘ m, 1e-10), stored as FP8 (and the rounded value
     * used to quantize) or as bf16 (the unrounded value used, SPEC §6.4); q = clamp(round half away
     * (x ⊘ s), −m, m) with NaN → +m (SPEC §2.5), code = q + m. ⊘ is the kernel division of SPEC §2.3.
     */
    static void symmetric(float[] x, int offset, int g, QuantConfig config, int[] codes, int codeOffset,
                          byte[] scales, int scaleOffset) {
        int m = config.symmetricMax();
        float amax = 0f;
        for (int i = 0; i < g; i++) {
            amax = Math.max(amax, Math.abs(x[offset + i]));
        }
        float scale = Math.max(Rounding.kernelDivide(amax, m), MIN_SCALE);
        float s = storeScale(scale, config.scaleFormat(), scales, scaleOffset);
        float reciprocal = 1.0f / s;
        for (int i = 0; i < g; i++) {
            float y = x[offset + i] * reciprocal;
            codes[codeOffset + i] = (y != y ? m : clamp(Rounding.roundHalfAway(y), -m, m)) + m;
        }
    }

    /**
     * Asymmetric min/max (SPEC §6.3): scale = max((max − min) ⊘ qmax, 1e-10), zero point = min, both
     * stored in the scale format; q = clamp(round half away((x − z) ⊘ s), 0, qmax) with NaN → 0. Block
     * min/max order −0 below +0 (SPEC §2.6), as {@link Math#min} and {@link Math#max} do.
     */
    static void asymmetric(float[] x, int offset, int g, QuantConfig config, int[] codes, int codeOffset,
                           byte[] scales, int scaleOffset, byte[] zeros, int zeroOffset) {
        int qmax = config.asymmetricMax();
        float min = x[offset];
        float max = x[offset];
        for (int i = 1; i < g; i++) {
            min = Math.min(min, x[offset + i]);
            max = Math.max(max, x[offset + i]);
        }
        float scale = Math.max(Rounding.kernelDivide(max - min, qmax), MIN_SCALE);
        float s = storeScale(scale, config.scaleFormat(), scales, scaleOffset);
        float z = storeScale(min, config.scaleFormat(), zeros, zeroOffset);
        float reciprocal = 1.0f / s;
        for (int i = 0; i < g; i++) {
            float y = (x[offset + i] - z) * reciprocal;
            codes[codeOffset + i] = y != y ? 0 : clamp(Rounding.roundHalfAway(y), 0, qmax);
        }
    }

    private static int clamp(float rounded, int lo, int hi) {
        return (int) Math.max(lo, Math.min(hi, rounded));
    }

    /**
     * Stores a scale or zero point and returns the value the quantizer divides by: the decoded FP8 code
     * (SPEC §6.2), or for bf16 storage the unrounded fp32 value (SPEC §6.4).
     */
    public static float storeScale(float value, ScaleFormat format, byte[] out, int offset) {
        if (format == ScaleFormat.FP8_E4M3) {
            byte code = Fp8E4M3.encode(value);
            out[offset] = code;
            return Fp8E4M3.decode(code);
        }
        short bits = Bf16.fromFloat(value);
        out[offset] = (byte) bits;
        out[offset + 1] = (byte) (bits >>> 8);
        return value;
    }

    /** The stored scale or zero point at a byte offset, as a float. */
    public static float loadScale(byte[] in, int offset, ScaleFormat format) {
        if (format == ScaleFormat.FP8_E4M3) {
            return Fp8E4M3.decode(in[offset]);
        }
        return Bf16.toFloat((short) ((in[offset] & 0xFF) | (in[offset + 1] << 8)));
    }

    /**
     * The dequantized residual of one code in fp32 (SPEC §7): {@code (code − m)·s} when symmetric (the
     * subtraction in integers), {@code code·s + z} when asymmetric. Both products are exact.
     */
    public static float dequantizeCode(int code, float scale, float zero, QuantConfig config) {
        return config.asymmetric() ? code * scale + zero : (code - config.symmetricMax()) * scale;
    }
}
