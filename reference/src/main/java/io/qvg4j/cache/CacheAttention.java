package io.qvg4j.cache;

import io.qvg4j.tensor.InvalidInputException;

/**
 * {@code softmax(q·Kᵀ/√D)·V} for a block of queries over every live token of a {@link TokenSource}, in
 * an arithmetic fixed to the bit, so that every {@link AttentionKernels} and every source that yields
 * the same token values gives the same bytes. Per head h and query q (all fp32 unless said):
 * <ol>
 *   <li>{@code scale = (float) (1 / Math.sqrt((double) D))}.</li>
 *   <li>Scores {@code s_t} for t = 0 … T−1 (tokens in stream order): the fp32 dot product of
 *       {@link AttentionKernels#scores}, times scale.</li>
 *   <li>{@code m = max_t s_t}, by {@link Math#max} in token order from −∞.</li>
 *   <li>{@code p_t = exp(s_t − m)} with {@link #exp}; {@code l = Σ_t p_t} in token order from +0.</li>
 *   <li>{@code acc_d = Σ_t p_t·v_t,d} in token order from +0, each step a fused multiply-add
 *       ({@link AttentionKernels#accumulate}).</li>
 *   <li>{@code out_d = acc_d / l}, one IEEE division.</li>
 * </ol>
 * Keys and values are read in tiles of {@link #TILE} tokens; the tile only bounds the scratch memory,
 * it does not change any result. Queries are not rounded: pass bf16 values for a bf16 model.
 */
public final class CacheAttention {

    /** Tokens read per tile: K of a tile is {@code D × TILE} floats of scratch (32 KiB at D = 128). */
    public static final int TILE = 64;

    private final AttentionKernels kernels;

    public CacheAttention(AttentionKernels kernels) {
        this.kernels = kernels;
    }

    /**
     * The exponential of the softmax: {@code (float) StrictMath.exp((double) x)}. StrictMath is fdlibm,
     * the same bits on every JVM and machine; the one rounding to float makes it a pure function of x.
     */
    public static float exp(float x) {
        return (float) StrictMath.exp(x);
    }

    /** {@code (float) (1 / √D)}, the score scale. */
    public static float scale(int dim) {
        return (float) (1.0 / Math.sqrt(dim));
    }

    /**
     * Attention of {@code queryCount} queries per head ({@code queries} in {@code [H, Q, D]} order) over
     * every token of the source; returns {@code [H, Q, D]}.
     */
    public float[] attend(TokenSource source, float[] queries, int queryCount) {
        return attend(source, queries, queryCount, null);
    }

    /**
     * As {@link #attend(TokenSource, float[], int)}, with each tile's scores passed through
     * {@code correction} between steps 2 and 3 (SPEC §12.1); {@code null} leaves the scores as they are.
     */
    public float[] attend(TokenSource source, float[] queries, int queryCount, ScoreCorrection correction) {
        int heads = source.heads();
        int dim = source.dim();
        int tokens = source.tokens();
        if (queryCount < 1 || queries.length != (long) heads * queryCount * dim) {
            throw new InvalidInputException("attention: " + queries.length + " query values for " + queryCount
                    + " queries; expected [H,Q,D] = " + heads + "·" + queryCount + "·" + dim);
        }
        if (tokens < 1) {
            throw new InvalidInputException("attention: the cache holds no live token");
        }
        float scale = scale(dim);
        float[] out = new float[heads * queryCount * dim];
        float[] tile = new float[dim * TILE];
        float[] p = new float[queryCount * tokens];
        float[] sums = new float[queryCount];
        for (int h = 0; h < heads; h++) {
            int qBase = h * queryCount * dim;
            for (int from = 0; from < tokens; from += TILE) {
                int n = Math.min(TILE, tokens - from);
                source.keys(h, from, n, tile, TILE);
                for (int q = 0; q < queryCount; q++) {
                    kernels.scores(queries, qBase + q * dim, tile, TILE, n, dim, scale, p, q * tokens + from);
                    if (correction != null) {
                        correction.correct(h, queries, qBase + q * dim, from, n, p, q * tokens + from);
                    }
                }
            }
            for (int q = 0; q < queryCount; q++) {
                sums[q] = softmaxNumerators(p, q * tokens, tokens);
            }
            for (int from = 0; from < tokens; from += TILE) {
                int n = Math.min(TILE, tokens - from);
                source.values(h, from, n, tile);
                for (int q = 0; q < queryCount; q++) {
                    kernels.accumulate(p, q * tokens + from, tile, n, dim, out, qBase + q * dim);
                }
            }
            for (int q = 0; q < queryCount; q++) {
                for (int d = 0; d < dim; d++) {
                    out[qBase + q * dim + d] /= sums[q];
                }
            }
        }
        return out;
    }

    /** Steps 3 and 4: replaces scores by {@code exp(s_t − m)} and returns their sum, both in token order. */
    static float softmaxNumerators(float[] s, int offset, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < n; t++) {
            m = Math.max(m, s[offset + t]);
        }
        float l = 0f;
        for (int t = 0; t < n; t++) {
            float e = exp(s[offset + t] - m);
            s[offset + t] = e;
            l += e;
        }
        return l;
    }
}
