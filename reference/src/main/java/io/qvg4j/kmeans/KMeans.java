package io.qvg4j.kmeans;

import io.qvg4j.kernel.QvgKernels;
import io.qvg4j.kernel.Workers;

/**
 * Lloyd k-means on every head of a span at once, as the official {@code batch_kmeans_Euclid} runs it
 * (SPEC §3), with the deterministic assignment and update of qvg4j. Heads are independent except for
 * the convergence test, which pools the changed ids of all heads.
 */
public final class KMeans {
    /** Tokens per assignment task: heads × tiles of this many tokens are spread over the workers. */
    static final int TOKEN_TILE = 2048;

    private final QvgKernels kernels;
    private final Workers workers;

    public KMeans(QvgKernels kernels, Workers workers) {
        this.kernels = kernels;
        this.workers = workers;
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
     * Clusters every head's {@code [tokens, dim]} points into {@code kc} centroids, starting from the
     * tokens {@code init[bh]}. Iteration control follows the official loop exactly (SPEC §3.4): the test
     * starts at the second iteration; on a break the result is the ids with the centroids they were
     * assigned to, on exhaustion the last ids with the centroids updated from them.
     */
    public Result run(float[][] x, int tokens, int dim, int kc, int maxIters, float tolerance, int[][] init) {
        float[][] start = new float[x.length][kc * dim];
        for (int bh = 0; bh < x.length; bh++) {
            for (int k = 0; k < kc; k++) {
                System.arraycopy(x[bh], init[bh][k] * dim, start[bh], k * dim, dim);
            }
        }
        return run(x, tokens, dim, kc, maxIters, tolerance, start);
    }

    /**
     * The same clustering started from given centroids instead of sampled tokens (a warm start, e.g.
     * from the previous span's tables). {@code initialCentroids[bh]} is head bh's {@code [Kc, D]} table;
     * it is copied, never modified. Started from the tokens {@code init[bh]}, this is exactly
     * {@link #run(float[][], int, int, int, int, float, int[][])}.
     */
    public Result run(float[][] x, int tokens, int dim, int kc, int maxIters, float tolerance,
                      float[][] initialCentroids) {
        int heads = x.length;
        float[][] centroids = new float[heads][];
        float[][] updated = new float[heads][kc * dim];
        float[][] norms = new float[heads][kc];
        int[][] ids = new int[heads][tokens];
        int[][] previous = new int[heads][tokens];
        int[][] counts = new int[heads][kc];
        for (int bh = 0; bh < heads; bh++) {
            centroids[bh] = initialCentroids[bh].clone();
        }
        // The official rate: f32(changed) · f32(1 / f32(B·H·N)) < f32(tol).
        float perToken = 1.0f / (float) ((long) heads * tokens);
        int tiles = (tokens + TOKEN_TILE - 1) / TOKEN_TILE;
        for (int it = 0; it < maxIters; it++) {
            float[][] c = centroids;
            int[][] assigned = ids;
            workers.forEach(heads, bh -> kernels.centroidNorms(c[bh], kc, dim, norms[bh]));
            workers.forEach(heads * tiles, task -> {
                int bh = task / tiles;
                int from = (task % tiles) * TOKEN_TILE;
                kernels.assign(x[bh], dim, from, Math.min(tokens, from + TOKEN_TILE), c[bh], norms[bh], kc, assigned[bh]);
            });
            if (it > 0) {
                long changed = 0;
                for (int bh = 0; bh < heads; bh++) {
                    for (int n = 0; n < tokens; n++) {
                        changed += ids[bh][n] != previous[bh][n] ? 1 : 0;
                    }
                }
                if ((float) changed * perToken < tolerance) {
                    return new Result(ids, centroids, it + 1);
                }
            }
            float[][] next = updated;
            workers.forEach(heads, bh -> kernels.updateCentroids(x[bh], tokens, dim, assigned[bh], c[bh], kc,
                    next[bh], counts[bh]));
            int[][] swapIds = previous;
            previous = ids;
            ids = swapIds;
            updated = centroids;
            centroids = next;
        }
        return new Result(previous, centroids, maxIters);
    }
}
