package io.qvg4j.numeric;

/**
 * FP8 E4M3FN: 1 sign, 4 exponent (bias 7), 3 mantissa bits, no infinities, NaN = S.1111.111.
 * Normals are (1+m/8)·2^(e−7) for e = 1..15 (e = 15, m = 7 is NaN), subnormals m·2^−9; the largest
 * finite value is 448.
 */
public final class Fp8E4M3 {
    private Fp8E4M3() {}

    /** Largest finite magnitude, code 0x7E. */
    public static final float MAX = 448f;
    /** The positive NaN code; Triton's conversion produces it for any NaN input. */
    public static final int NAN_CODE = 0x7F;

    private static final float[] DECODE = new float[256];

    static {
        for (int code = 0; code < 256; code++) {
            int e = (code >>> 3) & 0xF;
            int m = code & 7;
            float magnitude;
            if (e == 15 && m == 7) {
                magnitude = Float.NaN;
            } else if (e == 0) {
                magnitude = Math.scalb((float) m, -9);
            } else {
                magnitude = Math.scalb(1f + m / 8f, e - 7);
            }
            DECODE[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
        }
    }

    /** Exact value of a code (NaN for 0x7F and 0xFF). */
    public static float decode(byte code) {
        return DECODE[code & 0xFF];
    }

    /**
     * Encodes as Triton's {@code x.to(tl.float8e4nv)} does ({@code cvt.rn.satfinite.e4m3x2.f32}, SPEC §2.2):
     * round to nearest, ties to even; any magnitude above 448, infinities included, saturates to ±448;
     * NaN becomes 0x7F; magnitudes up to 2^−10 (half the smallest subnormal, a tie to even) become ±0.
     */
    public static byte encode(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 24) & 0x80;
        int abs = bits & 0x7FFF_FFFF;
        if (abs > 0x7F80_0000) {
            return (byte) NAN_CODE;
        }
        float a = Float.intBitsToFloat(abs);
        int magnitude;
        if (a > MAX) {
            magnitude = 0x7E;
        } else if (a < 0x1p-6f) {
            // Subnormal grid m·2^-9: scaling by 2^9 is exact, rint rounds half to even.
            magnitude = (int) Math.rint(a * 512f);
        } else {
            // Round the 23-bit float mantissa to 3 bits, ties to even; a carry moves into the exponent.
            int rounded = (abs + 0x7_FFFF + ((abs >>> 20) & 1)) >>> 20;
            magnitude = rounded - (120 << 3);
        }
        return (byte) (sign | magnitude);
    }

    /**
     * Rounds to the E4M3 grid with ties away from zero, as the fake-quant baselines' {@code floatExMy(e=4,
     * m=3)} does (SPEC §9.3): clamp to ±448, exponent floor(log2|v|) clamped to [−6, 8], mantissa
     * rounded half away on a 1/8 step. Zero stays (signed) zero.
     */
    public static float roundRna(float v) {
        return MiniFloat.roundRna(v, 448.0, -6, 8, 8.0);
    }
}
