package io.qvg4j.cache;

import io.qvg4j.algorithm.Dequantization;


/** The reference {@link AttentionKernels}: the loops exactly as the interface states them. */
public final class ScalarAttention implements AttentionKernels {

    public static final ScalarAttention INSTANCE = new ScalarAttention();

    private ScalarAttention() {}

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void scores(float[] q, int qOffset, float[] kT, int ld, int n, int dim, float scale, float[] scores, int sOffset) {
        for (int i = 0; i < n; i++) {
            float dot = 0f;
            for (int d = 0; d < dim; d++) {
                dot = Math.fma(q[qOffset + d], kT[d * ld + i], dot);
            }
            scores[sOffset + i] = dot * scale;
        }
    }

    @Override
    public void accumulate(float[] p, int pOffset, float[] v, int n, int dim, float[] acc, int accOffset) {
        for (int i = 0; i < n; i++) {
            float w = p[pOffset + i];
            for (int d = 0; d < dim; d++) {
                acc[accOffset + d] = Math.fma(w, v[i * dim + d], acc[accOffset + d]);
            }
        }
    }

    @Override
    public float max(float[] s, int offset, int n, float m) {
        for (int i = 0; i < n; i++) {
            m = Math.max(m, s[offset + i]);
        }
        return m;
    }

    @Override
    public void exp(float[] s, int offset, int n, float m) {
        for (int i = 0; i < n; i++) {
            s[offset + i] = CacheAttention.exp(s[offset + i] - m);
        }
    }

    @Override
    public void dequantize(int[] codes, int from, int g, float scale, float zero, int m, boolean asymmetric,
                           float[][] centroids, int[] base, int stages, float[] out, int outOffset) {
        Dequantization.block(codes, from, g, scale, zero, m, asymmetric, centroids, base, stages, out, outOffset);
    }
}
