package io.qvg4j.algorithm;

import io.qvg4j.numeric.Bf16;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Semantic-Aware Smoothing, first half: Lloyd k-means on every head of a span (SPEC §3), the official
 * {@code batch_kmeans_Euclid} with a deterministic assignment and update. A head is {@code [tokens, dim]}
 * floats holding bf16 values; its table is {@code [kc, dim]}. The second half, subtracting each token's
 * centroid, is {@link Smoothing}.
 *
 * <p>Read in order: {@link #initialCentroids} (§3.1), {@link #norms} and {@link #assign} (§3.2),
 * {@link #update} (§3.3), {@link #iterate} (§3.4). The step functions work on one head and are the
 * reference every faster kernel must equal bit for bit; {@link #iterate} is the one copy of the iteration
 * control, run by every implementation over its own buffers through {@link Lloyd}.
 */
public final class KMeans {
    private KMeans() {}

    /** §3.1: centroid k starts as token {@code init[k]} of the head. */
    public static void initialCentroids(float[] x, int dim, int[] init, float[] centroids) {
        for (int k = 0; k < init.length; k++) {
            System.arraycopy(x, init[k] * dim, centroids, k * dim, dim);
        }
    }

    /**
     * The k-means dot product (§3.2): fp32, d = 0 … dim−1 in that order, from +0, each step a fused
     * multiply-add. Never a tree or a split of d: the order is part of the result.
     */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int dim) {
        float acc = 0f;
        for (int d = 0; d < dim; d++) {
            acc = Math.fma(a[aOffset + d], b[bOffset + d], acc);
        }
        return acc;
    }

    /** §3.2: {@code norms[k] = dot(c_k, c_k)}, once per iteration. */
    public static void norms(float[] centroids, int kc, int dim, float[] norms) {
        for (int k = 0; k < kc; k++) {
            norms[k] = dot(centroids, k * dim, centroids, k * dim, dim);
        }
    }

    /**
     * §3.2, tokens [from, to): {@code score = norms[k] − 2·dot(x_n, c_k)}, the product {@code 2·dot}
     * rounded before the subtraction (not fused); {@code ids[n]} = the first k whose score is strictly
     * below the best so far, starting from +∞ and id 0. Ties go to the lowest index; a NaN score never wins.
     */
    public static void assign(float[] x, int dim, int from, int to, float[] centroids, float[] norms, int kc, int[] ids) {
        for (int n = from; n < to; n++) {
            float best = Float.POSITIVE_INFINITY;
            int bestK = 0;
            for (int k = 0; k < kc; k++) {
                float score = norms[k] - 2f * dot(x, n * dim, centroids, k * dim, dim);
                if (score < best) {
                    best = score;
                    bestK = k;
                }
            }
            ids[n] = bestK;
        }
    }

    /**
     * §3.3: per cluster, the sum of its tokens in double in ascending token order, rounded to float,
     * divided by {@code (float) count} (IEEE, as PyTorch divides two tensors), rounded to bf16. An empty
     * cluster keeps its centroid. Writes {@code next} and the cluster sizes {@code counts}.
     */
    public static void update(float[] x, int tokens, int dim, int[] ids, float[] centroids, int kc,
                              float[] next, int[] counts) {
        double[] sums = new double[kc * dim];
        Arrays.fill(counts, 0, kc, 0);
        for (int n = 0; n < tokens; n++) {
            int k = ids[n];
            counts[k]++;
            for (int d = 0; d < dim; d++) {
                sums[k * dim + d] += x[n * dim + d];
            }
        }
        for (int k = 0; k < kc; k++) {
            int base = k * dim;
            if (counts[k] == 0) {
                System.arraycopy(centroids, base, next, base, dim);
                continue;
            }
            float count = counts[k];
            for (int d = 0; d < dim; d++) {
                next[base + d] = Bf16.round((float) sums[base + d] / count);
            }
        }
    }

    /**
     * The clustering of one stage.
     *
     * @param ids        per head, the cluster id of every token
     * @param centroids  per head, the {@code [Kc, D]} table (bf16 values)
     * @param iterations iterations run, as the official loop counts them
     */
    public record Result(int[][] ids, float[][] centroids, int iterations) {}

    /**
     * The whole k-means of one stage, plainly, on one thread: every head's {@code [tokens, dim]} points
     * into {@code kc} centroids starting from its tokens {@code init[bh]} (§3.1), run by {@link #iterate}
     * with the step functions above. The implementations run the same loop over their own storage.
     */
    public static Result cluster(float[][] x, int tokens, int dim, int kc, int maxIters, float tolerance, int[][] init) {
        return cluster(x, tokens, dim, kc, maxIters, tolerance, init, centroids -> { });
    }

    /**
     * {@link #cluster(float[][], int, int, int, int, float, int[][]) cluster}, handing every head's centroids
     * to {@code beforeAssign} each time an assignment is about to read them (for a tool that shows what the
     * last assignment saw); the consumer must not change them.
     */
    public static Result cluster(float[][] x, int tokens, int dim, int kc, int maxIters, float tolerance, int[][] init,
                                 Consumer<float[][]> beforeAssign) {
        int heads = x.length;
        float[][][] c = {new float[heads][kc * dim], new float[heads][kc * dim]};
        int[][][] ids = new int[2][heads][tokens];
        float[] norms = new float[kc];
        int[] counts = new int[kc];
        for (int bh = 0; bh < heads; bh++) {
            initialCentroids(x[bh], dim, init[bh], c[0][bh]);
        }
        Lloyd plain = new Lloyd() {
            @Override
            public void assign(int slot) {
                beforeAssign.accept(c[0]);
                for (int bh = 0; bh < heads; bh++) {
                    norms(c[0][bh], kc, dim, norms);
                    KMeans.assign(x[bh], dim, 0, tokens, c[0][bh], norms, kc, ids[slot][bh]);
                }
            }

            @Override
            public long changed() {
                long n = 0;
                for (int bh = 0; bh < heads; bh++) {
                    for (int i = 0; i < tokens; i++) {
                        n += ids[0][bh][i] != ids[1][bh][i] ? 1 : 0;
                    }
                }
                return n;
            }

            @Override
            public void update(int slot) {
                for (int bh = 0; bh < heads; bh++) {
                    KMeans.update(x[bh], tokens, dim, ids[slot][bh], c[0][bh], kc, c[1][bh], counts);
                }
                float[][] swap = c[0];
                c[0] = c[1];
                c[1] = swap;
            }
        };
        Stop stop = iterate(plain, maxIters, tolerance, (long) heads * tokens);
        return new Result(ids[stop.slot()], c[0], stop.iterations());
    }

    /**
     * One k-means over all heads of a span, on whatever holds the data (arrays on threads, device
     * buffers). Ids live in two buffers, slots 0 and 1, so that an assignment can be compared with the
     * one before it.
     */
    public interface Lloyd {
        /** §3.2 for every token of every head against the current centroids, into id buffer {@code slot}. */
        void assign(int slot);

        /** Tokens, over all heads, whose ids differ between the two buffers. */
        long changed();

        /** §3.3: the current centroids become the means of the clusters in id buffer {@code slot}. */
        void update(int slot);
    }

    /** Where a k-means ended: the id buffer holding the result, and the iteration count as the official loop reports it. */
    public record Stop(int slot, int iterations) {}

    /**
     * §3.4, the official loop: for {@code it = 0 … maxIters−1}, assign; from the second iteration on stop
     * when {@code f32(changed) · f32(1 / f32(tokens)) < f32(tol)}, the rate pooled over all heads
     * ({@code tokens} = B·H·S), leaving the ids with the centroids they were assigned to; otherwise update.
     * When the iterations run out the result is the last ids with the centroids updated from them. The
     * pooled test is the only point where heads meet.
     */
    public static Stop iterate(Lloyd lloyd, int maxIters, float tolerance, long tokens) {
        float perToken = 1.0f / (float) tokens;
        int slot = 0;
        for (int it = 0; it < maxIters; it++) {
            lloyd.assign(slot);
            if (it > 0 && (float) lloyd.changed() * perToken < tolerance) {
                return new Stop(slot, it + 1);
            }
            lloyd.update(slot);
            slot = 1 - slot;
        }
        return new Stop(1 - slot, maxIters);
    }
}
