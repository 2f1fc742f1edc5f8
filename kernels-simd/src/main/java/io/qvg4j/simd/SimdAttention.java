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
 *
 * <p>The Vector API compiles to machine vectors only where the species is a constant, so each method
 * dispatches on the width to a call with a {@code static final} species, which C2 inlines.
 */
public final class SimdAttention implements AttentionKernels {

    private static final VectorSpecies<Float> S64 = FloatVector.SPECIES_64;
    private static final VectorSpecies<Float> S128 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Float> S256 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Float> S512 = FloatVector.SPECIES_512;

    private final VectorSpecies<Float> species;

    /** Kernels of one width: 64, 128, 256 or 512 bits (wider than the machine's is emulated, slowly but exactly). */
    public SimdAttention(VectorSpecies<Float> species) {
        if (species.vectorBitSize() != 64 && species.vectorBitSize() != 128 && species.vectorBitSize() != 256
                && species.vectorBitSize() != 512) {
            throw new IllegalArgumentException("species " + species + ": use 64, 128, 256 or 512 bits");
        }
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
        switch (species.vectorBitSize()) {
            case 64 -> scores(S64, q, qOffset, kT, ld, n, dim, scale, scores, sOffset);
            case 128 -> scores(S128, q, qOffset, kT, ld, n, dim, scale, scores, sOffset);
            case 256 -> scores(S256, q, qOffset, kT, ld, n, dim, scale, scores, sOffset);
            default -> scores(S512, q, qOffset, kT, ld, n, dim, scale, scores, sOffset);
        }
    }

    private static void scores(VectorSpecies<Float> species, float[] q, int qOffset, float[] kT, int ld, int n, int dim,
                               float scale, float[] scores, int sOffset) {
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
    public void accumulate(float[] p, int pOffset, float[] v, int n, int dim, float[] acc, int accOffset) {
        switch (species.vectorBitSize()) {
            case 64 -> accumulate(S64, p, pOffset, v, n, dim, acc, accOffset);
            case 128 -> accumulate(S128, p, pOffset, v, n, dim, acc, accOffset);
            case 256 -> accumulate(S256, p, pOffset, v, n, dim, acc, accOffset);
            default -> accumulate(S512, p, pOffset, v, n, dim, acc, accOffset);
        }
    }

    private static void accumulate(VectorSpecies<Float> species, float[] p, int pOffset, float[] v, int n, int dim,
                                   float[] acc, int accOffset) {
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
}
