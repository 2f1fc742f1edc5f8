package io.qvg4j.codec;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.algorithm.KMeans;
import io.qvg4j.algorithm.ProgressiveResidualQuantization;
import io.qvg4j.algorithm.SplitMix64;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The QVG pipeline on the CPU: {@link ProgressiveResidualQuantization}'s stage loop and
 * {@link KMeans#iterate}'s iteration control over per-head {@link QvgKernels}, run on a number of threads.
 * Heads (and token tiles of the assignment) are independent tasks writing disjoint outputs, so the bytes
 * do not depend on the thread count.
 */
public final class CpuCodec implements QvgCodec {
    /**
     * The smallest assignment task: heads × tiles of at least this many tokens are spread over the
     * workers, tiles large enough for about 4 tasks per thread (each task transposes the centroid table
     * once, so fewer, larger tiles save that work and its garbage).
     */
    static final int TOKEN_TILE = 2048;

    /**
     * An encode of at least this many elements first starts {@link WarmUp}: below it the kernels are
     * compiled soon enough on the real data, and the warm-up would cost more than it saves.
     */
    static final long WARM_UP_ELEMENTS = 1L << 24;

    private final QvgKernels kernels;
    private final Workers workers;

    public CpuCodec(QvgKernels kernels, int threads) {
        this.kernels = kernels;
        this.workers = new Workers(threads);
    }

    public int threads() {
        return workers.threads();
    }

    @Override
    public String name() {
        return kernels.name();
    }

    @Override
    public QuantizedSpan encode(KvTensor x, QuantConfig config, int[][][] initIndices) {
        Validation.input(x, config);
        InitIndices.validate(initIndices, config.stages(), x.headCount(), config.centroids(), x.tokens());
        Stages s = new Stages(x, config, (t, bh, residual, centroids) ->
                KMeans.initialCentroids(residual, x.dim(), initIndices[t][bh], centroids), null, null);
        return ProgressiveResidualQuantization.encode(s, config, (long) x.headCount() * x.tokens());
    }

    @Override
    public QuantizedSpan encodeFromCentroids(KvTensor x, QuantConfig config, float[][][] initialCentroids) {
        Validation.input(x, config);
        Validation.initialCentroids(initialCentroids, config, x);
        Stages s = new Stages(x, config, (t, bh, residual, centroids) ->
                System.arraycopy(initialCentroids[t][bh], 0, centroids, 0, centroids.length), null, null);
        return ProgressiveResidualQuantization.encode(s, config, (long) x.headCount() * x.tokens());
    }

    @Override
    public QuantizedSpan encodeWithClustering(KvTensor x, QuantConfig config, byte[][] clusterIds, short[][] centroids) {
        Validation.clustering(x, config, clusterIds, centroids);
        return ProgressiveResidualQuantization.encodeGiven(new Stages(x, config, null, clusterIds, centroids), config);
    }

    /** Where stage t's centroids of head bh start (§3.1), given that head's current residual. */
    private interface Start {
        void fill(int stage, int bh, float[] residual, float[] centroids);
    }

    /**
     * One encode's arrays: the residual of every head as bf16 patterns ({@code [heads, tokens, dim]},
     * the input itself for the first stage: residuals are bf16 values, SPEC §4), widened to floats one
     * head or tile at a time into per-thread scratch for the kernels; per head, the centroid table and
     * its successor and two id buffers. The last stage's smoothing is done head by head inside
     * {@link #quantize}, so the final residual is never stored.
     */
    private final class Stages implements ProgressiveResidualQuantization.Stages {
        final KvTensor x;
        final QuantConfig config;
        final Start start;
        final int heads;
        final int tokens;
        final int dim;
        final int kc;
        final int headSize;
        short[] residual;
        /** Float scratch of one head, one per thread at work: taken and given back around each task. */
        final Queue<float[]> scratch = new ConcurrentLinkedQueue<>();
        int stage;
        /** The last stage's smoothing, left for {@link #quantize}: its id buffer (−1 while none is pending). */
        int pendingSlot = -1;
        final int[][][] ids;
        final byte[][] keptIds;
        final short[][] keptCentroids;
        float[][] centroids;
        float[][] next;
        final float[][] norms;
        final int[][] counts;
        /** The given clustering of {@link #encodeWithClustering}, or null when k-means runs. */
        final byte[][] given;
        final short[][] givenCentroids;
        /** Compiling the later steps' kernels ahead, or null; stopped once those steps run on the real data. */
        final WarmUp warmUp;

        Stages(KvTensor x, QuantConfig config, Start start, byte[][] given, short[][] givenCentroids) {
            this.x = x;
            this.config = config;
            this.start = start;
            this.given = given;
            this.givenCentroids = givenCentroids;
            heads = x.headCount();
            tokens = x.tokens();
            dim = x.dim();
            kc = config.centroids();
            headSize = tokens * dim;
            residual = x.bits();
            ids = new int[2][heads][tokens];
            keptIds = new byte[config.stages()][];
            keptCentroids = new short[config.stages()][];
            centroids = new float[heads][kc * dim];
            next = new float[heads][kc * dim];
            norms = new float[heads][kc];
            counts = new int[heads][kc];
            warmUp = (long) heads * headSize >= WARM_UP_ELEMENTS ? WarmUp.start(kernels, config, dim) : null;
        }

        /** The scratch of this thread holding rows [from, to) of head bh's residual as floats. */
        private float[] widen(int bh, int from, int to) {
            float[] f = scratch.poll();
            if (f == null) {
                f = new float[headSize];
            }
            Bf16.toFloats(residual, bh * headSize + from * dim, f, from * dim, (to - from) * dim);
            return f;
        }

        @Override
        public void initialize(int stage) {
            this.stage = stage;
            if (given != null) {
                keptIds[stage] = given[stage];
                keptCentroids[stage] = givenCentroids[stage];
                workers.forEach(heads, bh -> {
                    for (int n = 0; n < tokens; n++) {
                        ids[0][bh][n] = given[stage][bh * tokens + n] & 0xFF;
                    }
                    Bf16.toFloats(givenCentroids[stage], bh * kc * dim, centroids[bh], 0, kc * dim);
                });
                return;
            }
            workers.forEach(heads, bh -> {
                float[] r = widen(bh, 0, tokens);
                start.fill(stage, bh, r, centroids[bh]);
                scratch.add(r);
            });
        }

        @Override
        public void assign(int slot) {
            float[][] c = centroids;
            workers.forEach(heads, bh -> kernels.norms(c[bh], kc, dim, norms[bh]));
            int perHead = (4 * workers.threads() + heads - 1) / heads;
            int tile = Math.max(TOKEN_TILE, (tokens + perHead - 1) / perHead);
            int tiles = (tokens + tile - 1) / tile;
            workers.forEach(heads * tiles, task -> {
                int bh = task / tiles;
                int from = (task % tiles) * tile;
                int to = Math.min(tokens, from + tile);
                float[] r = widen(bh, from, to);
                kernels.assign(r, dim, from, to, c[bh], norms[bh], kc, ids[slot][bh]);
                scratch.add(r);
            });
        }

        @Override
        public long changed() {
            long changed = 0;
            for (int bh = 0; bh < heads; bh++) {
                for (int n = 0; n < tokens; n++) {
                    changed += ids[0][bh][n] != ids[1][bh][n] ? 1 : 0;
                }
            }
            return changed;
        }

        @Override
        public void update(int slot) {
            float[][] c = centroids;
            float[][] n = next;
            workers.forEach(heads, bh -> {
                float[] r = widen(bh, 0, tokens);
                kernels.update(r, tokens, dim, ids[slot][bh], c[bh], kc, n[bh], counts[bh]);
                scratch.add(r);
            });
            next = centroids;
            centroids = n;
        }

        @Override
        public void subtract(int slot) {
            if (warmUp != null) {
                warmUp.stop();
            }
            if (stage == config.stages() - 1) {
                pendingSlot = slot;
                return;
            }
            short[] next = new short[residual.length];
            workers.forEach(heads, bh -> {
                float[] r = smoothed(bh, slot);
                for (int i = 0; i < headSize; i++) {
                    next[bh * headSize + i] = Bf16.fromFloat(r[i]); // exact: the residual holds bf16 values
                }
                scratch.add(r);
            });
            residual = next;
        }

        /** Head bh's residual minus its current centroids (ids from buffer {@code slot}), in this thread's scratch. */
        private float[] smoothed(int bh, int slot) {
            float[] r = widen(bh, 0, tokens);
            kernels.subtract(r, tokens, dim, ids[slot][bh], centroids[bh], r);
            return r;
        }

        @Override
        public void keep(int stage, int slot) {
            byte[] out = new byte[heads * tokens];
            short[] table = new short[heads * kc * dim];
            workers.forEach(heads, bh -> {
                for (int n = 0; n < tokens; n++) {
                    out[bh * tokens + n] = (byte) ids[slot][bh][n];
                }
                for (int i = 0; i < kc * dim; i++) {
                    table[bh * kc * dim + i] = Bf16.fromFloat(centroids[bh][i]);
                }
            });
            keptIds[stage] = out;
            keptCentroids[stage] = table;
        }

        @Override
        public QuantizedSpan quantize(int[] iterations) {
            int rowBytes = config.packedBytesPerRow(dim);
            int scaleRowBytes = config.blocksPerRow(dim) * config.scaleFormat().bytes();
            byte[] packed = new byte[heads * tokens * rowBytes];
            byte[] scales = new byte[heads * tokens * scaleRowBytes];
            byte[] zeros = config.asymmetric() ? new byte[scales.length] : null;
            workers.forEach(heads, bh -> {
                float[] r = smoothed(bh, pendingSlot);
                kernels.quantize(r, tokens, dim, config,
                        packed, bh * tokens * rowBytes, scales, bh * tokens * scaleRowBytes, zeros, bh * tokens * scaleRowBytes);
                scratch.add(r);
            });
            return new QuantizedSpan(config, x.batch(), x.heads(), tokens, dim, keptIds, keptCentroids, packed, scales,
                    zeros, iterations);
        }
    }

    /**
     * The kernels of the steps after the first assignment (update, smoothing, block quantizer) run in a
     * daemon thread on a small synthetic head of the encode's dim and config until the encode reaches
     * its smoothing, at most {@link #ROUNDS} times, once per kernels class and JVM. Those kernels are
     * called once per head (a few dozen long calls), so without it they start the first large encode in
     * the interpreter and C1, where every vector operation is a boxed object, until an on-stack
     * replacement compiles them; called many times on a small input, they reach C2 while the first
     * assignments run. Measured on 2 cores: the first encode of [1,32,29640,128] took about 2 CPU-seconds
     * less (docs/performance.md). It writes only its own arrays: no result depends on it.
     */
    static final class WarmUp {
        static final int ROUNDS = 1000;
        private static final int TOKENS = 16;
        private static final Set<Class<?>> STARTED = ConcurrentHashMap.newKeySet();
        private volatile boolean stopped;

        static WarmUp start(QvgKernels kernels, QuantConfig config, int dim) {
            if (!STARTED.add(kernels.getClass())) {
                return null;
            }
            WarmUp w = new WarmUp();
            Thread t = new Thread(() -> w.run(kernels, config, dim), "qvg4j-warm-up");
            t.setDaemon(true);
            t.start();
            return w;
        }

        void stop() {
            stopped = true;
        }

        private void run(QvgKernels kernels, QuantConfig config, int dim) {
            int kc = config.centroids();
            float[] centroids = values(kc * dim, 2);
            int[] ids = ids(kc);
            float[] x = tokens(centroids, ids, dim);
            float[] next = new float[kc * dim];
            int[] counts = new int[kc];
            float[] residual = new float[TOKENS * dim];
            byte[] packed = new byte[TOKENS * config.packedBytesPerRow(dim)];
            byte[] scales = new byte[TOKENS * config.blocksPerRow(dim) * config.scaleFormat().bytes()];
            byte[] zeros = config.asymmetric() ? new byte[scales.length] : null;
            for (int round = 0; round < ROUNDS && !stopped; round++) {
                kernels.update(x, TOKENS, dim, ids, centroids, kc, next, counts);
                kernels.subtract(x, TOKENS, dim, ids, centroids, residual);
                kernels.quantize(residual, TOKENS, dim, config, packed, 0, scales, 0, zeros, 0);
            }
        }

        /** The synthetic head's cluster ids, {@link #TOKENS} of them. */
        static int[] ids(int kc) {
            int[] ids = new int[TOKENS];
            for (int n = 0; n < TOKENS; n++) {
                ids[n] = n * 7 % kc;
            }
            return ids;
        }

        /**
         * The synthetic head's tokens: seeded values, with block scales in every branch of the FP8 rounding
         * (SPEC §2.2): token 0 equals its centroid (a zero residual: the smallest scale, below 2^-6) and token
         * 1 is scaled up by 2^12 (saturated). Real residuals have scales below 2^-6; without one here C2
         * compiled the quantizer without that branch, and the first real such block deoptimized it
         * ({@code -XX:+PrintCompilation}: "made not entrant: uncommon trap").
         */
        static float[] tokens(float[] centroids, int[] ids, int dim) {
            float[] x = values(TOKENS * dim, 1);
            System.arraycopy(centroids, ids[0] * dim, x, 0, dim);
            for (int d = 0; d < dim; d++) {
                x[dim + d] *= 0x1p12f;
            }
            return x;
        }

        /** Seeded bf16 values of about unit size. */
        static float[] values(int count, long seed) {
            SplitMix64 r = new SplitMix64(seed);
            float[] v = new float[count];
            for (int i = 0; i < count; i++) {
                v[i] = Bf16.round((float) ((r.next() >> 40) * 0x1p-22));
            }
            return v;
        }
    }

    @Override
    public KvTensor decode(QuantizedSpan span) {
        short[] out = new short[span.headCount() * span.tokens() * span.dim()];
        int headSize = span.tokens() * span.dim();
        workers.forEach(span.headCount(), bh -> kernels.dequantize(span, bh, out, bh * headSize));
        return new KvTensor("dequantized", span.batch(), span.heads(), span.tokens(), span.dim(), out);
    }

    @Override
    public KvTensor decode(QuantizedSpan span, int stages) {
        io.qvg4j.algorithm.Dequantization.requireDraftStages(span.config(), stages);
        short[] out = new short[span.headCount() * span.tokens() * span.dim()];
        int headSize = span.tokens() * span.dim();
        workers.forEach(span.headCount(), bh -> kernels.dequantize(span, bh, stages, out, bh * headSize));
        return new KvTensor("dequantized", span.batch(), span.heads(), span.tokens(), span.dim(), out);
    }

    @Override
    public KvTensor rtnBaseline(KvTensor x, int bits, int groupSize) {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new InvalidInputException("RTN baseline: bits = " + bits + "; must be 2, 3, 4 or 8");
        }
        Validation.baseline(x, groupSize, "rtn-int" + bits);
        return baseline(x, "rtn-int" + bits, (in, out, from, to) -> kernels.rtn(in, out, from, to, groupSize, bits));
    }

    @Override
    public KvTensor nvfp4Baseline(KvTensor x, int groupSize) {
        Validation.baseline(x, groupSize, "nvfp4");
        return baseline(x, "nvfp4", (in, out, from, to) -> kernels.nvfp4(in, out, from, to, groupSize));
    }

    private interface RangeKernel {
        void apply(short[] in, short[] out, int from, int to);
    }

    private KvTensor baseline(KvTensor x, String what, RangeKernel kernel) {
        short[] out = new short[x.elementCount()];
        int headSize = x.tokens() * x.dim();
        workers.forEach(x.headCount(), bh -> kernel.apply(x.bits(), out, bh * headSize, (bh + 1) * headSize));
        return new KvTensor(x.name() + "." + what, x.batch(), x.heads(), x.tokens(), x.dim(), out);
    }

    @Override
    public void close() {
        workers.close();
    }
}
