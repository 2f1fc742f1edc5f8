package io.qvg4j.cache;

import io.qvg4j.codec.Workers;
import io.qvg4j.tensor.InvalidInputException;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * {@code softmax(q·Kᵀ/√D)·V} for a block of queries over every live token of a {@link TokenSource}, in
 * an arithmetic fixed to the bit, so that every {@link AttentionKernels} and every source that yields
 * the same token values gives the same bytes. Per head h and query q (all fp32 unless said):
 * <ol>
 *   <li>{@code scale = (float) (1 / Math.sqrt((double) D))}.</li>
 *   <li>Scores {@code s_t} for t = 0 … T−1 (tokens in stream order): the fp32 dot product of
 *       {@link AttentionKernels#scores}, times scale.</li>
 *   <li>{@code m = max_t s_t}, by {@link Math#max} in token order from −∞ ({@link AttentionKernels#max}).</li>
 *   <li>{@code p_t = exp(s_t − m)} with {@link #exp} ({@link AttentionKernels#exp}); {@code l = Σ_t p_t} in
 *       token order from +0.</li>
 *   <li>{@code acc_d = Σ_t p_t·v_t,d} in token order from +0, each step a fused multiply-add
 *       ({@link AttentionKernels#accumulate}).</li>
 *   <li>{@code out_d = acc_d / l}, one IEEE division.</li>
 * </ol>
 * Work is blocked as query blocks × token tiles: a task is one head and one block of up to
 * {@link #queryBlock} queries; it reads (decodes) each tile of {@link #TILE} keys and values once and runs
 * every query of its block over it. Every query's sums still run over all tokens in order, so neither the
 * tile, the block nor the thread count changes any result; tasks write disjoint outputs. Queries are not
 * rounded: pass bf16 values for a bf16 model.
 */
public final class CacheAttention implements AutoCloseable {

    /** Tokens read per tile: K of a tile is {@code D × TILE} floats of scratch (32 KiB at D = 128). */
    public static final int TILE = 64;

    /** Most queries of one block: each tile read is shared by this many queries. */
    public static final int MAX_QUERY_BLOCK = 1024;

    /**
     * Score scratch of one thread, in floats (128 MiB): {@code block · T} stays under it when T allows. Large,
     * because every query of a block shares each tile read: at T = 28 160 a block of 880 queries still fits.
     */
    static final int SCORE_BUDGET = 32 << 20;

    private final AttentionKernels kernels;
    private final Workers workers;

    /** One thread: the caller's. */
    public CacheAttention(AttentionKernels kernels) {
        this(kernels, 1);
    }

    /** Tasks spread over {@code threads} threads (the caller's and {@code threads − 1} workers); same bytes for any count. */
    public CacheAttention(AttentionKernels kernels, int threads) {
        this.kernels = kernels;
        this.workers = new Workers(threads);
    }

    public int threads() {
        return workers.threads();
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
     * Queries per block for {@code queryCount} queries over {@code tokens} tokens: blocks of equal size (so that
     * threads get equal tasks), each at most as many as the score budget allows, at most {@link #MAX_QUERY_BLOCK},
     * and not below 8 (a tile read is then still shared by 8 queries for very long caches); at least
     * {@code minBlocks} blocks where there are that many queries (so that few heads still keep every thread busy).
     */
    public static int queryBlock(int queryCount, int tokens, int minBlocks) {
        int most = Math.min(MAX_QUERY_BLOCK, Math.max(8, SCORE_BUDGET / Math.max(1, tokens)));
        int blocks = Math.min(queryCount, Math.max(minBlocks, (queryCount + most - 1) / most));
        return (queryCount + blocks - 1) / blocks;
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
        if ((long) heads * queryCount * dim > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException("attention: " + heads + "·" + queryCount + "·" + dim + " output values exceed one Java array");
        }
        int block = queryBlock(queryCount, tokens, (workers.threads() + heads - 1) / heads);
        int blocks = (queryCount + block - 1) / block;
        float[] out = new float[heads * queryCount * dim];
        // Per-thread scratch, taken and given back around each task; the first task on a thread makes it.
        ConcurrentLinkedQueue<Scratch> free = new ConcurrentLinkedQueue<>();
        boolean[] sourceUsed = {false};
        workers.forEach(heads * blocks, task -> {
            Scratch s = free.poll();
            if (s == null) {
                TokenSource reader;
                synchronized (sourceUsed) {
                    reader = sourceUsed[0] ? source.reader() : source;
                    sourceUsed[0] = true;
                }
                s = new Scratch(reader, dim, block, tokens);
            }
            int h = task / blocks;
            int q0 = (task % blocks) * block;
            run(s, h, q0, Math.min(block, queryCount - q0), queries, queryCount, scale(dim), correction, out);
            free.add(s);
        });
        return out;
    }

    private static final class Scratch {
        final TokenSource source;
        final float[] tile;
        final float[] p;
        final float[] sums;

        Scratch(TokenSource source, int dim, int block, int tokens) {
            this.source = source;
            this.tile = new float[dim * TILE];
            this.p = new float[block * ((tokens + TILE - 1) / TILE) * TILE];
            this.sums = new float[block];
        }
    }

    /**
     * Steps 2–6 for queries [q0, q0+n) of head h. The scores of a block are kept tile by tile: tile j's scores of
     * query q at {@code p[j·n·TILE + q·TILE]}, so that each tile's work writes and reads one contiguous stretch
     * (with one row per query, a tile would touch a page per query).
     */
    private void run(Scratch s, int h, int q0, int n, float[] queries, int queryCount, float scale,
                     ScoreCorrection correction, float[] out) {
        TokenSource source = s.source;
        int dim = source.dim();
        int tokens = source.tokens();
        float[] tile = s.tile;
        float[] p = s.p;
        int qBase = (h * queryCount + q0) * dim;
        int stride = n * TILE;
        for (int from = 0; from < tokens; from += TILE) {
            int len = Math.min(TILE, tokens - from);
            source.keys(h, from, len, tile, TILE);
            int at = (from / TILE) * stride;
            for (int q = 0; q < n; q++) {
                kernels.scores(queries, qBase + q * dim, tile, TILE, len, dim, scale, p, at + q * TILE);
                if (correction != null) {
                    correction.correct(h, queries, qBase + q * dim, from, len, p, at + q * TILE);
                }
            }
        }
        for (int q = 0; q < n; q++) {
            s.sums[q] = softmaxNumerators(p, q * TILE, stride, tokens);
        }
        for (int from = 0; from < tokens; from += TILE) {
            int len = Math.min(TILE, tokens - from);
            source.values(h, from, len, tile);
            int at = (from / TILE) * stride;
            for (int q = 0; q < n; q++) {
                kernels.accumulate(p, at + q * TILE, tile, len, dim, out, qBase + q * dim);
            }
        }
        for (int q = 0; q < n; q++) {
            for (int d = 0; d < dim; d++) {
                out[qBase + q * dim + d] /= s.sums[q];
            }
        }
    }

    /**
     * Steps 3 and 4 for one query whose n scores lie in runs of {@link #TILE}, run j at
     * {@code s[offset + j·stride]}: replaces them by {@code exp(s_t − m)} and returns their sum, both in token order.
     */
    private float softmaxNumerators(float[] s, int offset, int stride, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int from = 0, at = offset; from < n; from += TILE, at += stride) {
            m = kernels.max(s, at, Math.min(TILE, n - from), m);
        }
        float l = 0f;
        for (int from = 0, at = offset; from < n; from += TILE, at += stride) {
            int len = Math.min(TILE, n - from);
            kernels.exp(s, at, len, m);
            for (int i = 0; i < len; i++) {
                l += s[at + i];
            }
        }
        return l;
    }

    /** Stops the worker threads. */
    @Override
    public void close() {
        workers.close();
    }
}
