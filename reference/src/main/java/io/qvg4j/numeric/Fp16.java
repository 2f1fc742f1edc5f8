package io.qvg4j.numeric;

/** IEEE binary16, for reading fp16 tensors: conversions through the JDK's own correctly rounded methods. */
public final class Fp16 {
    private Fp16() {}

    public static float toFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** Round to nearest even, overflow to infinity, NaN kept. */
    public static short fromFloat(float f) {
        return Float.floatToFloat16(f);
    }
}
