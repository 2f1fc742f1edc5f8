package io.qvg4j.numeric;

/** The official fake-quant code's {@code floatExMy} rounding, shared by the E4M3 and E2M1 variants. */
final class MiniFloat {
    private MiniFloat() {}

    /**
     * {@code floatExMy}: v clamped to ±max, exponent e = clamp(floor(log2|v|), eLow, eHigh), mantissa
     * |v|/2^e split into integer part and a fraction rounded half away from zero on a 1/steps grid.
     * Computed in double, where every step is exact, then narrowed to float (SPEC §9.3).
     */
    static float roundRna(float v, double max, int eLow, int eHigh, double steps) {
        double x = Math.max(-max, Math.min(max, (double) v));
        if (Double.isNaN(x)) {
            return Float.NaN;
        }
        double a = Math.abs(x);
        int e = a == 0 ? eLow : Math.max(eLow, Math.min(eHigh, Math.getExponent(a)));
        double mant = a / Math.scalb(1.0, e);
        double whole = Math.floor(mant);
        double frac = Rounding.roundHalfAway((mant - whole) * steps);
        double r = Math.scalb(1.0, e) * (whole + frac / steps);
        return (float) Math.copySign(r, x);
    }
}
