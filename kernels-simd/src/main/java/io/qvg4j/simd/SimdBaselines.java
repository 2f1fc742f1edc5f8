package io.qvg4j.simd;

import io.qvg4j.algorithm.Baselines;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The official fake-quant baselines on the Vector API (SPEC §9), twins of {@code algorithm.Baselines.rtn}
 * and {@code nvfp4}: lanes across the block, the NVFP4 E2M1 rounding by comparisons with the interval ends.
 */
abstract class SimdBaselines extends SimdDequantization {

    /**
     * {@code naive-int<bits>} (SPEC §9.1): the block scale by the reference rule
     * ({@link Baselines#blockScale}), then per lane y = bf16(x / s) (IEEE division), q = clamp(rint(y),
     * −m, m), out = bf16(q·s). Partial vectors (G not a multiple of the lane count) use masks.
     */
    @Override
    public void rtn(short[] in, short[] out, int from, int to, int groupSize, int bits) {
        int m = (1 << (bits - 1)) - 1;
        for (int b = from; b < to; b += groupSize) {
            FloatVector s = FloatVector.broadcast(fs(), Baselines.blockScale(in, b, groupSize, m));
            for (int i = 0; i < groupSize; i += lanes()) {
                VectorMask<Float> live = fs().indexInRange(i, groupSize);
                ShortVector x = ShortVector.fromArray(ss(), in, b + i, live.cast(ss()));
                FloatVector y = roundedToBf16Bits(widen(x).div(s)).reinterpretAsFloats();
                FloatVector q = clamp(rint(y), m);
                narrow(roundedToBf16Bits(q.mul(s))).intoArray(out, b + i, live.cast(ss()));
            }
        }
    }

    /** bf16 patterns to the floats they denote: sign-extended to int, shifted into the top half. */
    private FloatVector widen(ShortVector bf16) {
        return ((IntVector) bf16.convertShape(VectorOperators.S2I, is(), 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /** The bf16 patterns of float bits already rounded by {@link #roundedToBf16Bits}. */
    private ShortVector narrow(IntVector roundedBits) {
        return (ShortVector) roundedBits.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, ss(), 0);
    }

    /**
     * {@link Math#rint} (half to even) for |y| < 2^23 by adding and subtracting 2^23 in the default
     * rounding mode, sign restored (so −0.3 → −0); larger magnitudes are already integers, NaN passes.
     */
    private static FloatVector rint(FloatVector y) {
        FloatVector a = y.abs();
        FloatVector r = a.add(0x1p23f).sub(0x1p23f);
        VectorMask<Float> small = a.compare(VectorOperators.LT, 0x1p23f);
        return a.blend(r, small).reinterpretAsInts().or(y.reinterpretAsInts().and(0x8000_0000)).reinterpretAsFloats();
    }

    /** max(−m, min(m, q)) as the reference writes it: −0 stays −0, NaN stays the same NaN. */
    private static FloatVector clamp(FloatVector q, int m) {
        FloatVector hi = q.broadcast(m);
        FloatVector lo = q.broadcast(-m);
        return q.blend(hi, q.compare(VectorOperators.GT, hi)).blend(lo, q.compare(VectorOperators.LT, lo));
    }

    /**
     * {@code naive-fp4}, NVFP4 (SPEC §9.2): the block scale by the reference rule with divisor 6, then per
     * lane y = bf16(x / s), q = the E2M1 value of y with ties away from zero, out = bf16(q·s).
     */
    @Override
    public void nvfp4(short[] in, short[] out, int from, int to, int groupSize) {
        for (int b = from; b < to; b += groupSize) {
            FloatVector s = FloatVector.broadcast(fs(), Baselines.blockScale(in, b, groupSize, 6f));
            for (int i = 0; i < groupSize; i += lanes()) {
                VectorMask<Float> live = fs().indexInRange(i, groupSize);
                ShortVector x = ShortVector.fromArray(ss(), in, b + i, live.cast(ss()));
                FloatVector y = roundedToBf16Bits(widen(x).div(s)).reinterpretAsFloats();
                narrow(roundedToBf16Bits(e2m1(y).mul(s))).intoArray(out, b + i, live.cast(ss()));
            }
        }
    }

    /** Lower ends of the E2M1 rounding intervals (ties away from zero) and the value each one gives. */
    private static final float[] E2M1_FROM = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5f};
    private static final float[] E2M1_VALUE = {0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f};

    /**
     * {@link io.qvg4j.numeric.E2M1#roundRna} per lane: the grid value whose interval holds |y| (the
     * floatExMy rounding with e ∈ [0, 2] and one mantissa bit splits at these midpoints, ties going
     * up, and everything from 5 on, infinity included, clamps to 6), with the sign of y, −0 kept.
     */
    private static FloatVector e2m1(FloatVector y) {
        FloatVector a = y.abs();
        FloatVector r = y.broadcast(0f);
        for (int k = 0; k < E2M1_FROM.length; k++) {
            r = r.blend(E2M1_VALUE[k], a.compare(VectorOperators.GE, E2M1_FROM[k]));
        }
        return r.reinterpretAsInts().or(y.reinterpretAsInts().and(0x8000_0000)).reinterpretAsFloats();
    }
}
