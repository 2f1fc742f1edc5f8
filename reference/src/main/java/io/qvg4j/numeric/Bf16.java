package io.qvg4j.numeric;

/**
 * bfloat16: the top 16 bits of an IEEE binary32. Every bf16 value is exactly a float, so qvg4j keeps
 * bf16 data as {@code short} bit patterns and computes on the float they decode to.
 */
public final class Bf16 {
    private Bf16() {}

    /** The one NaN pattern qvg4j writes. */
    public static final short CANONICAL_NAN = 0x7FC0;

    /** Exact widening of a bf16 bit pattern to the float it denotes. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * Rounds a float to the nearest bf16, ties to even (SPEC §2.1). Every NaN becomes the canonical quiet
     * NaN 0x7FC0, because the sign and payload of a NaN made by arithmetic (inf − inf) differ between
     * processors; overflow past the largest bf16 becomes infinity, as IEEE rounding does.
     */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) {
            return CANONICAL_NAN;
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** {@code toFloat(fromFloat(f))}: the float value of f rounded to bf16. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }

    /** True when the pattern is NaN or ±infinity. */
    public static boolean isNonFinite(short bits) {
        return (bits & 0x7F80) == 0x7F80;
    }

    /** Widens a whole range of bf16 patterns to floats. */
    public static void toFloats(short[] src, int srcOffset, float[] dst, int dstOffset, int length) {
        for (int i = 0; i < length; i++) {
            dst[dstOffset + i] = toFloat(src[srcOffset + i]);
        }
    }
}
