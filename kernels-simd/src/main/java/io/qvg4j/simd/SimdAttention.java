package io.qvg4j.simd;

import io.qvg4j.cache.AttentionKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AttentionKernels} on the Vector API with the bits of {@link io.qvg4j.cache.ScalarAttention}:
 * lanes never share a sum. Scores put one key per lane (the keys arrive transposed), so each lane runs
 * its own dot product over d in order; the accumulation puts one channel per lane and walks the tokens
 * in order. Lane-wise fma is the IEEE fused multiply-add, so any width gives the scalar result; the
 * tails use {@link Math#fma} with the same operands.
 */
public final class SimdAttention implements AttentionKernels {

    private final VectorSpecies<Float> species;

    public SimdAttention(VectorSpecies<Float> species) {
        this.species = species;
    }

    /** The machine's preferred width. */
    public static SimdAttention create() {
        return new SimdAttention(FloatVector.SPECIES_PREFERRED);
    }

    @Override
    public String name() {
        return "simd-" + species.vectorBitSize();
    }

    @Override
    public void scores(float[] q, int qOffset, float[] kT, int ld, int n, int dim, float scale, float[] scores, int sOffset) {
        int lanes = species.length();
        int i = 0;
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
    public void accumulate(float[] p, int pOffset, float[] v, int n, int dim, float[] acc, int accOffset) {
        int lanes = species.length();
        int d = 0;
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
}
