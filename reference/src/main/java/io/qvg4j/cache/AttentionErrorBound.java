package io.qvg4j.cache;

/**
 * A bound on how far {@link CacheAttention} over approximate keys and values (a quantized cache) can be
 * from the same attention over exact ones (the bf16 stream), element by element.
 *
 * <p>Write {@code k'_t = k_t + δk_t}, {@code v'_t = v_t + δv_t}, {@code Δ = max_t |q·δk_t| / √D} and,
 * per channel d, {@code E_d = max_t |δv_t,d|} and {@code R_d = (max_t v_t,d − min_t v_t,d) / 2}. Every
 * score moves by at most Δ, so every softmax weight by a factor in {@code [e^{−2Δ}, e^{2Δ}]} and
 * {@code Σ_t |p'_t − p_t| ≤ e^{2Δ} − 1}; since {@code o' − o = Σ p'_t δv_t + Σ (p'_t − p_t)(v_t − c)} for
 * any constant c (the weights sum to 1), the exact outputs satisfy
 * <pre>  |o'_d − o_d| ≤ E_d + (e^{2Δ} − 1)·R_d.</pre>
 * Each fp32 evaluation adds its own rounding, bounded the same way with the score error
 * {@code Δfp = γ(D+3)·max_t Σ_d|q_d k_t,d|/√D + 2u·(max_t Σ_d|q_d k_t,d|/√D + 1)} (dot product, scale,
 * subtraction of the max, exp rounding; u = 2⁻²⁴, γ(n) = n·u/(1 − n·u)) and the sums over T tokens:
 * {@code (e^{2Δfp} − 1)·R_d + 3·γ(T+1)·max_t |v_t,d|}. The bound is the sum of the three terms, the
 * rounding term taken for both evaluations.
 */
public final class AttentionErrorBound {
    private AttentionErrorBound() {}

    private static final double U = 0x1p-24;

    static double gamma(long n) {
        return n * U / (1 - n * U);
    }

    /** The bound for every output element, {@code [H, Q, D]} like the attention's output. */
    public static double[] of(TokenSource exact, TokenSource approx, float[] queries, int queryCount) {
        int heads = exact.heads();
        int dim = exact.dim();
        int tokens = exact.tokens();
        if (approx.heads() != heads || approx.dim() != dim || approx.tokens() != tokens) {
            throw new IllegalArgumentException("sources differ in shape");
        }
        double invSqrt = 1 / Math.sqrt(dim);
        double[] bound = new double[heads * queryCount * dim];
        float[] k = new float[dim * tokens];
        float[] k2 = new float[dim * tokens];
        float[] v = new float[tokens * dim];
        float[] v2 = new float[tokens * dim];
        for (int h = 0; h < heads; h++) {
            exact.keys(h, 0, tokens, k, tokens);
            approx.keys(h, 0, tokens, k2, tokens);
            exact.values(h, 0, tokens, v);
            approx.values(h, 0, tokens, v2);
            double[] e = new double[dim];
            double[] r = new double[dim];
            double[] r2 = new double[dim];
            double[] vmax = new double[dim];
            for (int d = 0; d < dim; d++) {
                double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
                double lo2 = Double.POSITIVE_INFINITY, hi2 = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < tokens; t++) {
                    double a = v[t * dim + d], b = v2[t * dim + d];
                    e[d] = Math.max(e[d], Math.abs(b - a));
                    lo = Math.min(lo, a);
                    hi = Math.max(hi, a);
                    lo2 = Math.min(lo2, b);
                    hi2 = Math.max(hi2, b);
                    vmax[d] = Math.max(vmax[d], Math.max(Math.abs(a), Math.abs(b)));
                }
                r[d] = (hi - lo) / 2;
                r2[d] = (hi2 - lo2) / 2;
            }
            for (int q = 0; q < queryCount; q++) {
                int qo = (h * queryCount + q) * dim;
                double delta = 0, mag = 0, mag2 = 0;
                for (int t = 0; t < tokens; t++) {
                    double diff = 0, abs = 0, abs2 = 0;
                    for (int d = 0; d < dim; d++) {
                        double qd = queries[qo + d];
                        diff += qd * ((double) k2[d * tokens + t] - k[d * tokens + t]);
                        abs += Math.abs(qd * k[d * tokens + t]);
                        abs2 += Math.abs(qd * k2[d * tokens + t]);
                    }
                    delta = Math.max(delta, Math.abs(diff) * invSqrt);
                    mag = Math.max(mag, abs * invSqrt);
                    mag2 = Math.max(mag2, abs2 * invSqrt);
                }
                // The double sums above err by less than (D+1)·2⁻⁵³·Σ|q k| each; cover that.
                delta += (dim + 1) * 0x1p-53 * (mag + mag2);
                double fp = gamma(dim + 3) * mag + 2 * U * (mag + 1);
                double fp2 = gamma(dim + 3) * mag2 + 2 * U * (mag2 + 1);
                for (int d = 0; d < dim; d++) {
                    bound[qo + d] = e[d] + Math.expm1(2 * delta) * r[d]
                            + Math.expm1(2 * fp) * r[d] + Math.expm1(2 * fp2) * r2[d]
                            + 2 * 3 * gamma(tokens + 1) * vmax[d];
                }
            }
        }
        return bound;
    }
}
