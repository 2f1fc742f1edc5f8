package io.qvg4j.numeric;

/**
 * FP4 E2M1 (the NVFP4 element type): 1 sign, 2 exponent, 1 mantissa bit; the values
 * {0, 0.5, 1, 1.5, 2, 3, 4, 6} and their negatives. Code = sign·8 | magnitude index.
 */
public final class E2M1 {
    private E2M1() {}

    private static final float[] MAGNITUDES = {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f};

    /** Exact value of a 4-bit code. */
    public static float decode(int code) {
        float m = MAGNITUDES[code & 7];
        return (code & 8) != 0 ? -m : m;
    }

    /** The code of a value already on the grid (as {@link #roundRna} returns); −0 keeps its sign bit. */
    public static int encode(float gridValue) {
        float a = Math.abs(gridValue);
        for (int i = 0; i < MAGNITUDES.length; i++) {
            if (MAGNITUDES[i] == a) {
                return (Float.floatToRawIntBits(gridValue) < 0 ? 8 : 0) | i;
            }
        }
        throw new IllegalArgumentException("not an E2M1 value: " + gridValue);
    }

    /**
     * Rounds to the E2M1 grid as the NVFP4 baseline's {@code floatExMy(e=2, m=1)} does: clamp to ±6,
     * exponent clamped to [0, 2], one mantissa bit, ties away from zero (0.25 → 0.5, 2.5 → 3, 5 → 6).
     */
    public static float roundRna(float v) {
        return MiniFloat.roundRna(v, 6.0, 0, 2, 2.0);
    }
}
