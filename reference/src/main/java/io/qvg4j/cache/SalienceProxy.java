package io.qvg4j.cache;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.InvalidInputException;

/**
 * A salience score computed from the cached data, for runs without PaFu-KV's trained salience head (SPEC §16.4):
 * the attention mass a token receives from queries of its own frame. The samples hold no Q, so the queries are K
 * rows of the frame: Q of them, at offsets {@code ⌊j·frameTokens/Q⌋}, j = 0 … Q−1 (every token when
 * {@code Q ≥ frameTokens}). Per head and query, in double: {@code s_t = Σ_d q_d·k_t,d / √D} over the frame's
 * tokens (d in order), {@code p_t = exp(s_t − max s) / Σ exp(s − max s)} with {@link StrictMath#exp}; the mass of
 * token t is {@code Σ_q p_t / Q}, returned per head as {@code [H, frameTokens]} floats. It uses nothing newer than
 * the frame, so a cache can score each frame as it is appended.
 */
public final class SalienceProxy {
    private SalienceProxy() {}

    /** The own-frame attention mass of every token of one frame ({@code [H, frameTokens, D]} bf16 keys). */
    public static float[] ownFrameMass(short[] keys, int heads, int frameTokens, int dim, int queries) {
        if (keys.length != heads * frameTokens * dim || queries < 1) {
            throw new InvalidInputException("salience proxy: " + keys.length + " key values for [H,tokens,D] = "
                    + heads + "·" + frameTokens + "·" + dim + " and " + queries + " queries");
        }
        int q = Math.min(queries, frameTokens);
        double scale = 1 / Math.sqrt(dim);
        float[] k = new float[keys.length];
        Bf16.toFloats(keys, 0, k, 0, keys.length);
        float[] out = new float[heads * frameTokens];
        double[] s = new double[frameTokens];
        double[] mass = new double[frameTokens];
        for (int h = 0; h < heads; h++) {
            java.util.Arrays.fill(mass, 0);
            int base = h * frameTokens * dim;
            for (int j = 0; j < q; j++) {
                int qRow = base + (int) ((long) j * frameTokens / q) * dim;
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < frameTokens; t++) {
                    double dot = 0;
                    for (int d = 0; d < dim; d++) {
                        dot += (double) k[qRow + d] * k[base + t * dim + d];
                    }
                    s[t] = dot * scale;
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                for (int t = 0; t < frameTokens; t++) {
                    s[t] = StrictMath.exp(s[t] - max);
                    sum += s[t];
                }
                for (int t = 0; t < frameTokens; t++) {
                    mass[t] += s[t] / sum;
                }
            }
            for (int t = 0; t < frameTokens; t++) {
                out[h * frameTokens + t] = (float) (mass[t] / q);
            }
        }
        return out;
    }
}
