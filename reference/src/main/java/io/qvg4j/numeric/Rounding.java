package io.qvg4j.numeric;

/** The two arithmetic rules of the official kernels that Java does not provide directly. */
public final class Rounding {
    private Rounding() {}

    /**
     * A division inside a Triton kernel: {@code div.full.f32} is {@code RN(a · RN(1/b))} for every
     * divisor QVG uses, so the quotient is rounded twice (SPEC §2.3). {@code 1/0 = +inf} and
     * {@code 0·inf = NaN}, as on the GPU.
     */
    public static float kernelDivide(float a, float b) {
        return a * (1.0f / b);
    }

    /**
     * {@code libdevice.round}: round half away from zero (0.5 → 1, −2.5 → −3, 0.49999997 → 0), SPEC §2.4.
     * Evaluated in double, where |y| + 0.5 is exact for every float. NaN and infinities pass through.
     */
    public static float roundHalfAway(float y) {
        return (float) roundHalfAway((double) y);
    }

    /** Round half away from zero of a double whose |y| + 0.5 is exact (any float-derived value). */
    public static double roundHalfAway(double y) {
        return Math.copySign(Math.floor(Math.abs(y) + 0.5), y);
    }
}
