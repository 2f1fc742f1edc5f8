package io.qvg4j.algorithm;

import io.qvg4j.numeric.Bf16;

/**
 * Semantic-Aware Smoothing, second half (SPEC §4): each token minus its centroid, element by element,
 * rounded to bf16. The residual of stage t is the k-means input of stage t+1 and, after the last stage,
 * the input of the {@link BlockQuantizer}.
 */
public final class Smoothing {
    private Smoothing() {}

    /** {@code residual[n,d] = bf16(x[n,d] − c[ids[n], d])} for one head; {@code residual} may be {@code x}. */
    public static void subtract(float[] x, int tokens, int dim, int[] ids, float[] centroids, float[] residual) {
        for (int n = 0; n < tokens; n++) {
            int c = ids[n] * dim;
            for (int d = 0; d < dim; d++) {
                residual[n * dim + d] = Bf16.round(x[n * dim + d] - centroids[c + d]);
            }
        }
    }
}
