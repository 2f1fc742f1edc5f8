package io.qvg4j.simd;

import io.qvg4j.numeric.Bf16;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import java.util.Arrays;

/**
 * k-means on the Vector API (SPEC §3.2, §3.3), the twins of {@code algorithm.KMeans.norms}, {@code assign}
 * and {@code update}: dot products put lanes across centroids and walk d in order (one fused multiply-add
 * per d, from +0); centroid sums put lanes across d and walk tokens in order.
 */
abstract class SimdKMeans extends SimdWidth {
    /** Token rows per assignment micro-kernel call; rows of a ragged tail repeat the last row. */
    private static final int ROWS = 4;

    /**
     * The centroid table {@code [kc, dim]} as column blocks of {@code 2·lanes()} centroids,
     * {@code [block][d][2·lanes()]}, padded with zero centroids: one block row is what the micro-kernel
     * loads per d, and a block (dim·2·lanes() floats) is read contiguously.
     */
    private float[] transpose(float[] centroids, int kc, int dim, int blocks) {
        int w = 2 * lanes();
        float[] ct = new float[blocks * dim * w];
        for (int k = 0; k < kc; k++) {
            int b = k / w;
            int j = k % w;
            for (int d = 0; d < dim; d++) {
                ct[(b * dim + d) * w + j] = centroids[k * dim + d];
            }
        }
        return ct;
    }

    private int blocks(int kc) {
        return (kc + 2 * lanes() - 1) / (2 * lanes());
    }

    @Override
    public void norms(float[] centroids, int kc, int dim, float[] norms) {
        int w = 2 * lanes();
        int blocks = blocks(kc);
        float[] ct = transpose(centroids, kc, dim, blocks);
        float[] out = new float[blocks * w];
        for (int b = 0; b < blocks; b++) {
            // Lanes across centroids; each lane sums its own c[k,d]² over d in order by FMA from +0.
            FloatVector a0 = FloatVector.zero(fs());
            FloatVector a1 = FloatVector.zero(fs());
            for (int d = 0; d < dim; d++) {
                int c = (b * dim + d) * w;
                FloatVector c0 = FloatVector.fromArray(fs(), ct, c);
                FloatVector c1 = FloatVector.fromArray(fs(), ct, c + lanes());
                a0 = c0.fma(c0, a0);
                a1 = c1.fma(c1, a1);
            }
            a0.intoArray(out, b * w);
            a1.intoArray(out, b * w + lanes());
        }
        System.arraycopy(out, 0, norms, 0, kc);
    }

    /**
     * GEMM-style assignment: the centroid table, transposed once per call into column blocks (it stays
     * in L2 for the whole token range), is swept by a register-blocked micro-kernel of 4 tokens × 2
     * vectors of centroids: per d, two vector loads, four broadcasts of x[n][d] and eight FMAs into
     * eight independent accumulators, so every (token, centroid) dot product is summed over d in order
     * from +0. Scores go to a small buffer and the argmin runs vectorised across centroids.
     */
    @Override
    public void assign(float[] x, int dim, int from, int to, float[] centroids, float[] norms, int kc, int[] ids) {
        if (from >= to) {
            return;
        }
        int w = 2 * lanes();
        int blocks = blocks(kc);
        int padded = blocks * w;
        float[] ct = transpose(centroids, kc, dim, blocks);
        // Padded centroids get a NaN norm, hence a NaN score, which never wins (SPEC §3.2).
        float[] nt = new float[padded];
        Arrays.fill(nt, kc, padded, Float.NaN);
        System.arraycopy(norms, 0, nt, 0, kc);
        float[] scores = new float[ROWS * padded];
        float[] bestLanes = new float[lanes()];
        int[] idLanes = new int[lanes()];
        for (int n = from; n < to; n += ROWS) {
            int last = to - 1;
            scoreRows(x, dim, Math.min(n, last) * dim, Math.min(n + 1, last) * dim, Math.min(n + 2, last) * dim,
                    Math.min(n + 3, last) * dim, ct, nt, blocks, scores, padded);
            for (int r = 0; r < ROWS && n + r < to; r++) {
                ids[n + r] = argmin(scores, r * padded, padded, bestLanes, idLanes);
            }
        }
    }

    /** Scores of four token rows (float offsets r0…r3 into x) against every centroid block. */
    private void scoreRows(float[] x, int dim, int r0, int r1, int r2, int r3, float[] ct, float[] nt,
                           int blocks, float[] scores, int stride) {
        int w = 2 * lanes();
        for (int b = 0; b < blocks; b++) {
            FloatVector a00 = FloatVector.zero(fs()), a01 = a00, a10 = a00, a11 = a00;
            FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            int base = b * dim * w;
            for (int d = 0; d < dim; d++) {
                int c = base + d * w;
                FloatVector c0 = FloatVector.fromArray(fs(), ct, c);
                FloatVector c1 = FloatVector.fromArray(fs(), ct, c + lanes());
                FloatVector x0 = FloatVector.broadcast(fs(), x[r0 + d]);
                a00 = c0.fma(x0, a00);
                a01 = c1.fma(x0, a01);
                FloatVector x1 = FloatVector.broadcast(fs(), x[r1 + d]);
                a10 = c0.fma(x1, a10);
                a11 = c1.fma(x1, a11);
                FloatVector x2 = FloatVector.broadcast(fs(), x[r2 + d]);
                a20 = c0.fma(x2, a20);
                a21 = c1.fma(x2, a21);
                FloatVector x3 = FloatVector.broadcast(fs(), x[r3 + d]);
                a30 = c0.fma(x3, a30);
                a31 = c1.fma(x3, a31);
            }
            // score = norms[k] − 2·dot: the doubling is exact, the subtraction one IEEE rounding.
            int k0 = b * w;
            FloatVector n0 = FloatVector.fromArray(fs(), nt, k0);
            FloatVector n1 = FloatVector.fromArray(fs(), nt, k0 + lanes());
            n0.sub(a00.mul(2f)).intoArray(scores, k0);
            n1.sub(a01.mul(2f)).intoArray(scores, k0 + lanes());
            n0.sub(a10.mul(2f)).intoArray(scores, stride + k0);
            n1.sub(a11.mul(2f)).intoArray(scores, stride + k0 + lanes());
            n0.sub(a20.mul(2f)).intoArray(scores, 2 * stride + k0);
            n1.sub(a21.mul(2f)).intoArray(scores, 2 * stride + k0 + lanes());
            n0.sub(a30.mul(2f)).intoArray(scores, 3 * stride + k0);
            n1.sub(a31.mul(2f)).intoArray(scores, 3 * stride + k0 + lanes());
        }
    }

    /**
     * The scalar argmin's answer (start +∞ with id 0, strictly smaller replaces): each lane keeps the
     * first minimum of the centroids it sees (k ≡ lane mod lanes(), in increasing k); across lanes() the
     * smallest value wins and, among equal values, the lowest k. NaN scores fail every comparison.
     */
    private int argmin(float[] scores, int offset, int count, float[] bestLanes, int[] idLanes) {
        FloatVector best = FloatVector.broadcast(fs(), Float.POSITIVE_INFINITY);
        IntVector id = IntVector.zero(is());
        IntVector k = IntVector.zero(is()).addIndex(1);
        for (int c = 0; c < count; c += lanes()) {
            FloatVector s = FloatVector.fromArray(fs(), scores, offset + c);
            VectorMask<Float> better = s.compare(VectorOperators.LT, best);
            best = best.blend(s, better);
            id = id.blend(k, better.cast(is()));
            k = k.add(lanes());
        }
        best.intoArray(bestLanes, 0);
        id.intoArray(idLanes, 0);
        float bestScore = Float.POSITIVE_INFINITY;
        int bestK = 0;
        for (int j = 0; j < lanes(); j++) {
            if (bestLanes[j] < bestScore || bestLanes[j] == bestScore && idLanes[j] < bestK) {
                bestScore = bestLanes[j];
                bestK = idLanes[j];
            }
        }
        return bestK;
    }

    /**
     * Centroid update (SPEC §3.3): lanes() across d, each lane a double sum over the cluster's tokens in
     * ascending order (the same additions as the scalar loop), then float, IEEE division, bf16.
     */
    @Override
    public void update(float[] x, int tokens, int dim, int[] ids, float[] centroids, int kc,
                                float[] newCentroids, int[] counts) {
        int dl = ds().length();
        int vectorDim = dim - dim % dl;
        double[] sums = new double[kc * dim];
        Arrays.fill(counts, 0, kc, 0);
        for (int n = 0; n < tokens; n++) {
            int k = ids[n];
            counts[k]++;
            int s = k * dim;
            int r = n * dim;
            int d = 0;
            for (; d < vectorDim; d += dl) {
                DoubleVector v = (DoubleVector) FloatVector.fromArray(halfFs(), x, r + d).convertShape(VectorOperators.F2D, ds(), 0);
                DoubleVector.fromArray(ds(), sums, s + d).add(v).intoArray(sums, s + d);
            }
            for (; d < dim; d++) {
                sums[s + d] += x[r + d];
            }
        }
        for (int k = 0; k < kc; k++) {
            int base = k * dim;
            if (counts[k] == 0) {
                System.arraycopy(centroids, base, newCentroids, base, dim);
                continue;
            }
            // Kc·D divisions per head, scalar: a half-width call of roundedToBf16Bits would make that
            // shared helper's type profile bimorphic, and C2 then compiles it without the vector
            // intrinsics, too large to inline, which slowed every full-width caller (subtract) tenfold.
            float count = counts[k];
            for (int d = 0; d < dim; d++) {
                newCentroids[base + d] = Bf16.round((float) sums[base + d] / count);
            }
        }
    }
}
