package io.qvg4j.simd;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.numeric.Bf16;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AttentionKernels} on the Vector API with the bits of {@link io.qvg4j.cache.ScalarAttention}:
 * lanes never share a sum. Scores put one key per lane (the keys arrive transposed), so each lane runs
 * its own dot product over d in order; the accumulation puts one channel per lane and walks the tokens
 * in order. Lane-wise fma is the IEEE fused multiply-add, so any width gives the scalar result; the
 * tails use {@link Math#fma} with the same operands. The softmax maximum is lane-wise {@link Math#max}
 * ({@link #max}); the exponential is fdlibm's on double lanes at 256 and 512 bits ({@link DoubleLanes#exp}),
 * the scalar rule at 64 and 128 bits ({@link #exp}).
 *
 * <p>The Vector API compiles to machine vectors only where C2 sees the species as a constant. Each width
 * is therefore its own final subclass whose {@link #fs()} returns a {@code static final} species, the idiom of {@link SimdWidth};
 * where one width is in use (the normal case) the call is inlined and folds to that constant.
 */
public abstract sealed class SimdAttention implements AttentionKernels
        permits SimdAttention.W64, SimdAttention.W128, SimdAttention.DoubleLanes {

    SimdAttention() {}

    /** The species every loop runs on. */
    abstract VectorSpecies<Float> fs();

    /** The int species of the same shape (same lane count), for the dequantization's integer steps. */
    abstract VectorSpecies<Integer> is();

    /** Kernels of one width: 64, 128, 256 or 512 bits (wider than the machine's is emulated, slowly but exactly). */
    public static SimdAttention of(VectorSpecies<Float> species) {
        return switch (species.vectorBitSize()) {
            case 64 -> new W64();
            case 128 -> new W128();
            case 256 -> new W256();
            case 512 -> new W512();
            default -> throw new IllegalArgumentException("species " + species + ": use 64, 128, 256 or 512 bits");
        };
    }

    /** The machine's preferred width. */
    public static SimdAttention create() {
        return of(FloatVector.SPECIES_PREFERRED);
    }

    @Override
    public String name() {
        return "simd-" + fs().vectorBitSize();
    }

    @Override
    public final void scores(float[] q, int qOffset, float[] kT, int ld, int n, int dim, float scale, float[] scores, int sOffset) {
        VectorSpecies<Float> species = fs();
        int lanes = species.length();
        int i = 0;
        // Four independent chains hide the fma latency; each lane still sums its own key in d order.
        for (; i <= n - 4 * lanes; i += 4 * lanes) {
            FloatVector d0 = FloatVector.zero(species), d1 = d0, d2 = d0, d3 = d0;
            for (int d = 0; d < dim; d++) {
                FloatVector qd = FloatVector.broadcast(species, q[qOffset + d]);
                int row = d * ld + i;
                d0 = qd.fma(FloatVector.fromArray(species, kT, row), d0);
                d1 = qd.fma(FloatVector.fromArray(species, kT, row + lanes), d1);
                d2 = qd.fma(FloatVector.fromArray(species, kT, row + 2 * lanes), d2);
                d3 = qd.fma(FloatVector.fromArray(species, kT, row + 3 * lanes), d3);
            }
            d0.mul(scale).intoArray(scores, sOffset + i);
            d1.mul(scale).intoArray(scores, sOffset + i + lanes);
            d2.mul(scale).intoArray(scores, sOffset + i + 2 * lanes);
            d3.mul(scale).intoArray(scores, sOffset + i + 3 * lanes);
        }
        for (; i <= n - lanes; i += lanes) {
            FloatVector dot = FloatVector.zero(species);
            for (int d = 0; d < dim; d++) {
                dot = FloatVector.broadcast(species, q[qOffset + d]).fma(FloatVector.fromArray(species, kT, d * ld + i), dot);
            }
            dot.mul(scale).intoArray(scores, sOffset + i);
        }
        for (; i < n; i++) {
            float dot = 0f;
            for (int d = 0; d < dim; d++) {
                dot = Math.fma(q[qOffset + d], kT[d * ld + i], dot);
            }
            scores[sOffset + i] = dot * scale;
        }
    }

    @Override
    public final void accumulate(float[] p, int pOffset, float[] v, int n, int dim, float[] acc, int accOffset) {
        VectorSpecies<Float> species = fs();
        int lanes = species.length();
        int d = 0;
        for (; d <= dim - 4 * lanes; d += 4 * lanes) {
            FloatVector a0 = FloatVector.fromArray(species, acc, accOffset + d);
            FloatVector a1 = FloatVector.fromArray(species, acc, accOffset + d + lanes);
            FloatVector a2 = FloatVector.fromArray(species, acc, accOffset + d + 2 * lanes);
            FloatVector a3 = FloatVector.fromArray(species, acc, accOffset + d + 3 * lanes);
            for (int i = 0; i < n; i++) {
                FloatVector w = FloatVector.broadcast(species, p[pOffset + i]);
                int row = i * dim + d;
                a0 = w.fma(FloatVector.fromArray(species, v, row), a0);
                a1 = w.fma(FloatVector.fromArray(species, v, row + lanes), a1);
                a2 = w.fma(FloatVector.fromArray(species, v, row + 2 * lanes), a2);
                a3 = w.fma(FloatVector.fromArray(species, v, row + 3 * lanes), a3);
            }
            a0.intoArray(acc, accOffset + d);
            a1.intoArray(acc, accOffset + d + lanes);
            a2.intoArray(acc, accOffset + d + 2 * lanes);
            a3.intoArray(acc, accOffset + d + 3 * lanes);
        }
        for (; d <= dim - lanes; d += lanes) {
            FloatVector a = FloatVector.fromArray(species, acc, accOffset + d);
            for (int i = 0; i < n; i++) {
                a = FloatVector.broadcast(species, p[pOffset + i]).fma(FloatVector.fromArray(species, v, i * dim + d), a);
            }
            a.intoArray(acc, accOffset + d);
        }
        for (; d < dim; d++) {
            float a = acc[accOffset + d];
            for (int i = 0; i < n; i++) {
                a = Math.fma(p[pOffset + i], v[i * dim + d], a);
            }
            acc[accOffset + d] = a;
        }
    }

    /**
     * Lane-wise {@link Math#max} from m, then the lanes and the tail by Math.max. The result is
     * Math.max's in any order, except which NaN wins: where the result is NaN the scalar loop picks it.
     */
    @Override
    public final float max(float[] s, int offset, int n, float m) {
        VectorSpecies<Float> species = fs();
        int lanes = species.length();
        int i = 0;
        float r = m;
        if (n >= lanes) {
            FloatVector v = FloatVector.broadcast(species, m);
            for (; i <= n - lanes; i += lanes) {
                v = v.max(FloatVector.fromArray(species, s, offset + i));
            }
            r = v.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            r = Math.max(r, s[offset + i]);
        }
        return Float.isNaN(r) ? ScalarAttention.INSTANCE.max(s, offset, n, m) : r;
    }

    /**
     * The scalar rule ({@link ScalarAttention#exp}): at 64 and 128 bits the double species has 2 lanes, whose
     * masks C2 does not compile to vector code on AVX2 (fdlibm's exp there took about 10× the scalar time,
     * measured). {@link DoubleLanes} runs it on 4 or 8 double lanes.
     */
    @Override
    public void exp(float[] s, int offset, int n, float m) {
        ScalarAttention.INSTANCE.exp(s, offset, n, m);
    }

    /**
     * One channel per lane: the code to float (exact), times the scale, plus the zero point (separate
     * IEEE operations, as the scalar expression), plus each stage's centroid in order, then bf16
     * rounding by {@link SimdWidth.roundedToBf16Bits}, exactly as {@link Bf16#fromFloat} (ties to even; NaN canonical).
     */
    @Override
    public final void dequantize(int[] codes, int from, int g, float scale, float zero, int m, boolean asymmetric,
                                 float[][] centroids, int[] base, int stages, float[] out, int outOffset) {
        VectorSpecies<Float> species = fs();
        VectorSpecies<Integer> ints = is();
        int lanes = species.length();
        int i = from;
        for (; i <= from + g - lanes; i += lanes) {
            IntVector c = IntVector.fromArray(ints, codes, i);
            FloatVector acc;
            if (asymmetric) {
                acc = ((FloatVector) c.convert(VectorOperators.I2F, 0)).mul(scale).add(zero);
            } else {
                acc = ((FloatVector) c.sub(m).convert(VectorOperators.I2F, 0)).mul(scale);
            }
            for (int t = 0; t < stages; t++) {
                acc = acc.add(FloatVector.fromArray(species, centroids[t], base[t] + i));
            }
            SimdWidth.roundedToBf16Bits(acc).reinterpretAsFloats().intoArray(out, outOffset + i - from);
        }
        for (; i < from + g; i++) {
            float acc = asymmetric ? codes[i] * scale + zero : (codes[i] - m) * scale;
            for (int t = 0; t < stages; t++) {
                acc += centroids[t][base[t] + i];
            }
            out[outOffset + i - from] = Bf16.round(acc);
        }
    }

    static final class W64 extends SimdAttention {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_64;
        private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_64;

        @Override
        VectorSpecies<Float> fs() {
            return SPECIES;
        }

        @Override
        VectorSpecies<Integer> is() {
            return INTS;
        }
    }

    static final class W128 extends SimdAttention {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_128;
        private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_128;

        @Override
        VectorSpecies<Float> fs() {
            return SPECIES;
        }

        @Override
        VectorSpecies<Integer> is() {
            return INTS;
        }
    }

    /** The widths whose exponential runs on double lanes: 256 and 512 bits (4 and 8 lanes). */
    abstract static sealed class DoubleLanes extends SimdAttention permits W256, W512 {
        /**
         * The double species of the exponential: the width of {@link #fs()} (a double species with the float
         * species' lane count would be twice as wide, beyond the machine's vectors). Its floats come in and go out
         * at half that width ({@link #es()}), its k passes through ints of half that width ({@link #eis()}); all
         * three have the same lane count.
         */
        abstract VectorSpecies<Double> ds();

        /** The float species with the lane count of {@link #ds()}. */
        abstract VectorSpecies<Float> es();

        /** The int species with the lane count of {@link #ds()}. */
        abstract VectorSpecies<Integer> eis();

        // fdlibm's e_exp.c constants, as java.lang.FdLibm.Exp spells them.
        private static final double O_THRESHOLD = 0x1.62e42fefa39efp9;
        private static final double LN2_HI = 0x1.62e42feep-1;
        private static final double LN2_LO = 0x1.a39ef35793c76p-33;
        private static final double INVLN2 = 0x1.71547652b82fep0;
        private static final double P1 = 0x1.555555555553ep-3;
        private static final double P2 = -0x1.6c16c16bebd93p-9;
        private static final double P3 = 0x1.1566aaf25de2cp-14;
        private static final double P4 = -0x1.bbd41c5d26bf1p-20;
        private static final double P5 = 0x1.6376972bea4d0p-25;
        // fdlibm's tests of the high word hx of |x|, as comparisons of |x| with the double whose high word is
        // the bound and whose low word is 0 (non-negative doubles order as their bits).
        /** hx > 0x3fd62e42 (|x| > ln2 / 2): x is reduced by k·ln2, k ≠ 0. */
        private static final double REDUCE_FROM = Double.longBitsToDouble(0x3fd62e43_00000000L);
        /** hx < 0x3ff0a2b2 (|x| < 1.5·ln2): k = ±1. */
        private static final double ONE_K_BELOW = Double.longBitsToDouble(0x3ff0a2b2_00000000L);
        /** hx < 0x3e300000 (|x| < 2^−28): fdlibm returns 1 + x. */
        private static final double TINY_BELOW = 0x1.0p-28;
        /** From here up, k ≥ −1021 (invln2·x − 0.5 > −1022): y's exponent takes k directly. */
        private static final double SCALED_FROM = -708.0;
        /** 1.5·2^52, whose ulp is 1: k·2^32 plus this has k (plus a constant) in its high word and 0 in its low word. */
        private static final double K_TO_HIGH_WORD = 0x1.8p52;

        /**
         * {@link CacheAttention#exp} on double lanes: the float difference {@code s − m} widened (exact), then
         * fdlibm's {@code __ieee754_exp} (java.lang.FdLibm.Exp) operation for operation, its branches as lane
         * masks, then one rounding to float. A vector with a lane on one of fdlibm's rare paths (|x| < 2^−28, so
         * also the maximum itself; x < −708, where k < −1021 may scale twice or the result underflows;
         * x > o_threshold; NaN) is finished by the scalar rule.
         */
        @Override
        public final void exp(float[] s, int offset, int n, float m) {
            VectorSpecies<Float> fs = es();
            VectorSpecies<Double> ds = ds();
            VectorSpecies<Integer> is = eis();
            int lanes = ds.length();
            DoubleVector one = DoubleVector.broadcast(ds, 1.0);
            int i = 0;
            for (; i <= n - lanes; i += lanes) {
                DoubleVector x = (DoubleVector) FloatVector.fromArray(fs, s, offset + i).sub(m)
                        .convertShape(VectorOperators.F2D, ds, 0);
                DoubleVector ax = x.abs();
                // NaN fails every comparison, so it is rare too.
                VectorMask<Double> usual = ax.compare(VectorOperators.GE, TINY_BELOW)
                        .and(x.compare(VectorOperators.GE, SCALED_FROM)).and(x.compare(VectorOperators.LE, O_THRESHOLD));
                if (!usual.allTrue()) {
                    for (int j = i; j < i + lanes; j++) {
                        s[offset + j] = CacheAttention.exp(s[offset + j] - m);
                    }
                    continue;
                }
                VectorMask<Double> negative = x.lt(0.0);
                VectorMask<Double> k0 = ax.lt(REDUCE_FROM);
                // k = (int) (invln2·x ± 0.5) (C's cast truncates, as Java's); ±1 below 1.5·ln2; 0 up to ln2 / 2.
                DoubleVector t = (DoubleVector) x.mul(INVLN2).add(DoubleVector.broadcast(ds, 0.5).blend(-0.5, negative))
                        .convertShape(VectorOperators.D2I, is, 0).convertShape(VectorOperators.I2D, ds, 0);
                t = t.blend(one.blend(-1.0, negative), ax.lt(ONE_K_BELOW)).blend(0.0, k0);
                // hi = x − k·ln2HI (exact), lo = k·ln2LO: for k = ±1 fdlibm's x − ln2HI[xsb] and ln2LO[xsb];
                // for k = 0 they leave x as it is (x − 0 − 0), as fdlibm does.
                DoubleVector hi = x.sub(t.mul(LN2_HI));
                DoubleVector lo = t.mul(LN2_LO);
                DoubleVector r = hi.sub(lo);
                DoubleVector rr = r.mul(r);
                DoubleVector c = r.sub(rr.mul(P5).add(P4).mul(rr).add(P3).mul(rr).add(P2).mul(rr).add(P1).mul(rr));
                // (x·c)/(2 − c) where k ≠ 0, (x·c)/(c − 2) where k = 0.
                DoubleVector q = r.mul(c).div(DoubleVector.broadcast(ds, 2.0).sub(c).blend(c.sub(2.0), k0));
                DoubleVector y = one.sub(lo.sub(q).sub(hi));
                // fdlibm's __HI(y) + (k << 20) in 32-bit lanes: the high word of k·2^32 + 1.5·2^52, shifted by 20,
                // is k << 20 (the constant's part shifts out) and its low word is 0.
                y = y.reinterpretAsInts().add(t.mul(0x1.0p32).add(K_TO_HIGH_WORD).reinterpretAsInts()
                        .lanewise(VectorOperators.LSHL, 20)).reinterpretAsDoubles();
                y = y.blend(one.sub(q.sub(r)), k0); // k = 0: 1 − ((x·c)/(c − 2) − x)
                ((FloatVector) y.convertShape(VectorOperators.D2F, fs, 0)).intoArray(s, offset + i);
            }
            for (; i < n; i++) {
                s[offset + i] = CacheAttention.exp(s[offset + i] - m);
            }
        }
    }

    static final class W256 extends DoubleLanes {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_256;
        private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;
        private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_256;
        private static final VectorSpecies<Float> EXP_FLOATS = FloatVector.SPECIES_128;
        private static final VectorSpecies<Integer> EXP_INTS = IntVector.SPECIES_128;

        @Override
        VectorSpecies<Float> fs() {
            return SPECIES;
        }

        @Override
        VectorSpecies<Integer> is() {
            return INTS;
        }

        @Override
        VectorSpecies<Double> ds() {
            return DOUBLES;
        }

        @Override
        VectorSpecies<Float> es() {
            return EXP_FLOATS;
        }

        @Override
        VectorSpecies<Integer> eis() {
            return EXP_INTS;
        }
    }

    static final class W512 extends DoubleLanes {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_512;
        private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_512;
        private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_512;
        private static final VectorSpecies<Float> EXP_FLOATS = FloatVector.SPECIES_256;
        private static final VectorSpecies<Integer> EXP_INTS = IntVector.SPECIES_256;

        @Override
        VectorSpecies<Float> fs() {
            return SPECIES;
        }

        @Override
        VectorSpecies<Integer> is() {
            return INTS;
        }

        @Override
        VectorSpecies<Double> ds() {
            return DOUBLES;
        }

        @Override
        VectorSpecies<Float> es() {
            return EXP_FLOATS;
        }

        @Override
        VectorSpecies<Integer> eis() {
            return EXP_INTS;
        }
    }
}
