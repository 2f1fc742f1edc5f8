package io.qvg4j.cache;

/**
 * The hot loops of {@link CacheAttention}. Every implementation must give the bits of
 * {@link ScalarAttention} on any vector width: the operation order below is part of this interface.
 */
public interface AttentionKernels {

    /** Short name for reports. */
    String name();

    /**
     * Scores of one query against n keys: for i in [0, n),
     * {@code scores[sOffset + i] = dot · scale} where {@code dot} is the fp32 sum over d = 0, 1, …, dim−1
     * in that order, from +0, each step {@code fma(q[qOffset + d], kT[d·ld + i], dot)}, and the product
     * with {@code scale} one fp32 multiplication.
     */
    void scores(float[] q, int qOffset, float[] kT, int ld, int n, int dim, float scale, float[] scores, int sOffset);

    /**
     * Accumulation of n weighted value rows into one output row: for d in [0, dim) and i = 0, 1, …, n−1 in
     * that order, {@code acc[accOffset + d] = fma(p[pOffset + i], v[i·dim + d], acc[accOffset + d])}.
     */
    void accumulate(float[] p, int pOffset, float[] v, int n, int dim, float[] acc, int accOffset);

    /**
     * Step 3 of {@link CacheAttention} over n scores: m, then {@code m = Math.max(m, s[offset + i])} for
     * i = 0, 1, …, n−1 in that order; returns m. Math.max is order-independent (+0 above −0, any NaN wins)
     * except for which NaN wins, so an implementation that reorders must give the first NaN in that order.
     */
    float max(float[] s, int offset, int n, float m);

    /**
     * Step 4's numerators of {@link CacheAttention} for n scores: for i in [0, n),
     * {@code s[offset + i] = CacheAttention.exp(s[offset + i] − m)}, the subtraction one fp32 operation.
     */
    void exp(float[] s, int offset, int n, float m);

    /**
     * Dequantization of channels [from, from+g) of one token row (SPEC §7), given its unpacked codes, the
     * block's scale (and zero point) and, per stage t, the offset {@code base[t]} of the token's centroid
     * in the widened table {@code centroids[t]}: for each channel i,
     * {@code acc = (codes[i] − m)·scale} (the subtraction in integers) or, when asymmetric,
     * {@code acc = codes[i]·scale + zero} (no fused multiply-add); then {@code acc = acc + centroids[t][base[t] + i]}
     * for t = 0, 1, …, stages−1 in order; {@code out[outOffset + i − from]} = acc rounded to bf16 (SPEC §2.1).
     */
    void dequantize(int[] codes, int from, int g, float scale, float zero, int m, boolean asymmetric,
                    float[][] centroids, int[] base, int stages, float[] out, int outOffset);
}
