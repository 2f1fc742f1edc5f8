package io.qvg4j.simd;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.numeric.Bf16;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AttentionKernels} on the Vector API with the bits of {@link io.qvg4j.cache.ScalarAttention}:
 * lanes never share a sum. Scores put one key per lane (the keys arrive transposed), so each lane runs
 * its own dot product over d in order; the accumulation puts one channel per lane and walks the tokens
 * in order. Lane-wise fma is the IEEE fused multiply-add, so any width gives the scalar result; the
 * tails use {@link Math#fma} with the same operands.
 *
 * <p>The Vector API compiles to machine vectors only where C2 sees the species as a constant. Each width
 * is therefore its own final subclass whose {@link #fs()} returns a {@code static final} species, the idiom of {@link SimdWidth};
 * where one width is in use (the normal case) the call is inlined and folds to that constant.
 */
public abstract sealed class SimdAttention implements AttentionKernels
        permits SimdAttention.W64, SimdAttention.W128, SimdAttention.W256, SimdAttention.W512 {

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

    static final class W256 extends SimdAttention {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_256;
        private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;

        @Override
        VectorSpecies<Float> fs() {
            return SPECIES;
        }

        @Override
        VectorSpecies<Integer> is() {
            return INTS;
        }
    }

    static final class W512 extends SimdAttention {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_512;
        private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_512;

        @Override
        VectorSpecies<Float> fs() {
            return SPECIES;
        }

        @Override
        VectorSpecies<Integer> is() {
            return INTS;
        }
    }
}
