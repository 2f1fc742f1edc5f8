package io.qvg4j.bench;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.KvTensor;

import java.util.SplittableRandom;

/**
 * Seeded inputs with the structure of a video model's KV cache: every head has a per-channel offset
 * (with a few large outlier channels, as key caches have) and its tokens form clusters around
 * {@link Shape#KC} centres. Values are bf16. The true clustering is kept, so the downstream kernels
 * can be fed the state a converged k-means would leave without running k-means in the set-up.
 */
public final class SyntheticKv {
    /** Seed of every benchmark input; head bh of a tensor uses {@code SEED + bh}. */
    public static final long SEED = 0x5147_3467L;

    private static final float OUTLIER_OFFSET = 8f;
    private static final float CENTRE_SPREAD = 1f;
    private static final float TOKEN_NOISE = 0.3f;

    private SyntheticKv() {}

    /**
     * One head: {@code x} {@code [tokens, dim]}, the cluster of every token and the {@code [kc, dim]}
     * cluster centres, all bf16 values held as floats.
     */
    public record Head(float[] x, int[] ids, float[] centroids) {}

    public static Head head(long seed, int tokens, int dim, int kc) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] offset = new float[dim];
        for (int d = 0; d < dim; d++) {
            // One channel in 16 carries a large constant offset, the rest a small one.
            offset[d] = (float) rng.nextGaussian() + (d % 16 == 5 ? (rng.nextBoolean() ? 1 : -1) * OUTLIER_OFFSET : 0f);
        }
        float[] centroids = new float[kc * dim];
        for (int k = 0; k < kc; k++) {
            for (int d = 0; d < dim; d++) {
                centroids[k * dim + d] = Bf16.round(offset[d] + CENTRE_SPREAD * (float) rng.nextGaussian());
            }
        }
        float[] x = new float[tokens * dim];
        int[] ids = new int[tokens];
        for (int n = 0; n < tokens; n++) {
            int k = rng.nextInt(kc);
            ids[n] = k;
            for (int d = 0; d < dim; d++) {
                x[n * dim + d] = Bf16.round(centroids[k * dim + d] + TOKEN_NOISE * (float) rng.nextGaussian());
            }
        }
        return new Head(x, ids, centroids);
    }

    /** A {@code [1, heads, tokens, dim]} tensor with its true single-stage clustering. */
    public record Tensor(KvTensor x, byte[][] clusterIds, short[][] centroids) {}

    public static Tensor tensor(int heads, int tokens, int dim, int kc) {
        short[] bits = new short[heads * tokens * dim];
        byte[] ids = new byte[heads * tokens];
        short[] centroids = new short[heads * kc * dim];
        for (int bh = 0; bh < heads; bh++) {
            Head h = head(SEED + bh, tokens, dim, kc);
            for (int i = 0; i < h.x().length; i++) {
                bits[bh * tokens * dim + i] = Bf16.fromFloat(h.x()[i]);
            }
            for (int n = 0; n < tokens; n++) {
                ids[bh * tokens + n] = (byte) h.ids()[n];
            }
            for (int i = 0; i < h.centroids().length; i++) {
                centroids[bh * kc * dim + i] = Bf16.fromFloat(h.centroids()[i]);
            }
        }
        KvTensor x = new KvTensor("bench", 1, heads, tokens, dim, bits);
        return new Tensor(x, new byte[][] {ids}, new short[][] {centroids});
    }
}
