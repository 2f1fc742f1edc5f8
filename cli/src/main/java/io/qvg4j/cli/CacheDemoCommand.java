package io.qvg4j.cli;

import io.qvg4j.cache.AgeDecay;
import io.qvg4j.cache.AttentionErrorBound;
import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CacheMemory;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.SalienceEviction;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.spi.Implementations;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code qvg cache-demo}: streams the city sample through a quantized KV cache and attends over it. */
@Command(name = "cache-demo", mixinStandardHelpOptions = true,
        description = {"Stream the shipped city K and V sample ([1,4,7040,128] bf16) frame by frame through a quantized "
                + "KV cache with a policy of an official integration, then attend over the cache with the K rows of the "
                + "newest tokens as queries. Prints k-means iterations and error per span, memory against a bf16 cache, "
                + "the attention error against full-precision attention (with its proven bound), and tokens/s."})
public final class CacheDemoCommand implements Callable<Integer> {

    @Option(names = "--data", description = "Directory holding city_a_k.npy and city_a_v.npy (default: the repository's conformance/).")
    Path data;

    @Option(names = "--policy", defaultValue = "hy-worldplay",
            description = "self-forcing, hy-worldplay, lingbot-v2, packcache or bf16 (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--frame-tokens", defaultValue = "880", description = "Tokens per frame (default: ${DEFAULT-VALUE}, HY-WorldPlay's latent frame).")
    int frameTokens;

    @Option(names = "--repeat", defaultValue = "1", description = "Stream the sample this many times in a row (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--span-frames", description = "Override the policy's frames per span.")
    Integer spanFrames;

    @Option(names = "--warm-start", description = "Start each span's k-means from the previous span's centroids.")
    boolean warmStart;

    @Option(names = "--max-iters", description = "Override the k-means iteration cap (default: the config's, 2).")
    Integer maxIters;

    @Option(names = {"--chunk", "--queries"}, defaultValue = "64",
            description = "Queries per head, attended as one chunk: the K rows of the newest tokens (default: ${DEFAULT-VALUE}).")
    int queries;

    @Option(names = "--runs", defaultValue = "3",
            description = "Timed attentions per cache, quantized and bf16 alternately after one untimed each; medians are printed "
                    + "(default: ${DEFAULT-VALUE}).")
    int runs;

    @Mixin
    ImplOptions impl;

    @Option(names = "--attention", defaultValue = "auto",
            description = "Attention kernels: auto (the fastest available), reference or simd (default: ${DEFAULT-VALUE}).")
    String attention;

    @Option(names = "--seed", defaultValue = "0", description = "Base seed of the k-means initial indices (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--jensen-correction", description = "Also attend with the Jensen-bias correction of the scores (SPEC §12.1).")
    boolean jensen;

    @Option(names = "--decay", paramLabel = "B0,AGE:B,...",
            description = "Age schedule (SPEC §16.3): quantize spans at B0 bits, re-quantize at B bits once AGE frames old; "
                    + "B = 0 keeps ids and centroids only (packcache: 4,8:2,24:0).")
    String decay;

    @Option(names = "--salience", paramLabel = "FILE.npy",
            description = "Evict by these salience scores instead of by age (SPEC §16.4): float32 [S] or [H,S], S the tokens streamed.")
    Path salience;

    @Option(names = "--salience-proxy", paramLabel = "own-frame",
            description = "Evict by a salience computed from the data: own-frame, the attention mass from 32 K rows of the token's frame.")
    String salienceProxy;

    @Option(names = "--token-budget", description = "Live tokens kept when evicting by salience.")
    Integer tokenBudget;

    @Option(names = "--protect-recent", description = "Newest frames never evicted by salience (default and minimum: span + keep-recent, at least 1).")
    Integer protectRecent;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path dir = data != null ? data : DemoCommand.defaultDataDir();
        if (repeat < 1 || queries < 1 || frameTokens < 1 || runs < 1) {
            throw new InvalidInputException("--repeat, --chunk, --frame-tokens and --runs must be at least 1");
        }
        KvTensor k = DemoCommand.loadSample(dir, "city_a_k");
        KvTensor v = DemoCommand.loadSample(dir, "city_a_v");
        if (k.batch() != 1 || !k.shapeString().equals(v.shapeString()) || k.tokens() % frameTokens != 0) {
            throw new InvalidInputException("cache-demo: K " + k.shapeString() + " and V " + v.shapeString()
                    + " must be one [1,H,S,D] shape with S a multiple of --frame-tokens " + frameTokens);
        }
        QuantConfig config = maxIters != null ? QuantConfig.DEFAULT.withMaxIters(maxIters) : QuantConfig.DEFAULT;
        CachePolicy p = CachePolicy.preset(policy, config, seed).withWarmStart(warmStart);
        if (spanFrames != null) {
            p = p.withSpanFrames(spanFrames);
        }
        if (decay != null) {
            int[] initial = new int[1];
            AgeDecay schedule = AgeDecay.parse(decay, initial);
            p = p.withDecay(initial[0], schedule);
        }
        SalienceInput scores = null;
        if (salience != null || salienceProxy != null || tokenBudget != null) {
            if ((salience == null) == (salienceProxy == null) || tokenBudget == null) {
                throw new InvalidInputException("cache-demo: eviction by salience needs --token-budget and one of --salience FILE "
                        + "or --salience-proxy own-frame");
            }
            if (salienceProxy != null && !salienceProxy.equals("own-frame")) {
                throw new InvalidInputException("cache-demo: --salience-proxy '" + salienceProxy + "': unknown; use own-frame");
            }
            scores = salience != null ? SalienceInput.read(salience, k.heads(), k.tokens() * repeat) : SalienceInput.ownFrame();
            p = p.withSalience(new SalienceEviction(tokenBudget,
                    protectRecent != null ? protectRecent : Math.max(1, p.spanFrames() + p.keepRecentFrames())));
        }
        AttentionKernels kernels = Implementations.attention(attention);
        int heads = k.heads();
        int dim = k.dim();
        int perPass = k.tokens() / frameTokens;
        int frames = perPass * repeat;
        PrintWriter out = spec.commandLine().getOut();
        try (QvgCodec codec = impl.open()) {
            out.printf("qvg cache-demo: policy %s (span %d frames, sink %d, keep-recent %d, window %s), %s, warm start %s%n",
                    p.name(), p.spanFrames(), p.sinkFrames(), p.keepRecentFrames(),
                    p.windowFrames() == 0 ? "none" : p.windowFrames() + " frames (retain " + p.retainFrames() + ")",
                    p.spanFrames() == 0 ? "no quantization" : p.config().toString(), warmStart ? "on" : "off");
            if (!p.decay().isNone() || !p.salience().isNone()) {
                out.printf("  age schedule: %s; eviction by salience: %s%n", p.decay(), p.salience());
            }
            out.printf("stream: %d frames of %d tokens (%d pass%s over %s), H=%d, D=%d; quantizer %s; attention %s%n",
                    frames, frameTokens, repeat, repeat == 1 ? "" : "es", k.shapeString(), heads, dim, impl.describe(), kernels.name());
            QuantizedKVCache cache = new QuantizedKVCache(heads, dim, frameTokens, p, codec);
            QuantizedKVCache exact = new QuantizedKVCache(heads, dim, frameTokens,
                    new CachePolicy("bf16", 0, 0, 0, p.windowFrames(), p.retainFrames(), config, 0, false), codec);
            short[][] kFrames = frames(k, perPass);
            short[][] vFrames = frames(v, perPass);
            long ingest = 0;
            for (int f = 0; f < frames; f++) {
                long t0 = System.nanoTime();
                float[] fs = scores == null ? null : scores.frame(f, frameTokens, kFrames[f % perPass], heads, dim);
                t0 = System.nanoTime();
                if (fs == null) {
                    cache.append(kFrames[f % perPass], vFrames[f % perPass]);
                } else {
                    cache.append(kFrames[f % perPass], vFrames[f % perPass], fs);
                }
                ingest += System.nanoTime() - t0;
                exact.append(kFrames[f % perPass], vFrames[f % perPass]);
            }
            reportSpans(out, cache, codec, kFrames, vFrames);
            CacheMemory m = cache.memory();
            MemoryFootprint qf = m.quantized();
            out.printf("%nmemory (K+V, %d live frames = %d tokens): %s held vs %s for a bf16 cache, %.2fx smaller%n",
                    m.liveFrames(), m.liveTokens(), mib(m.totalBytes()), mib(m.bf16Equivalent()), m.compressionRatio());
            out.printf("  bf16 sink %s + bf16 recent %s + quantized %s (codes %s, scales %s, zeros %s, ids %s, centroids %s)%s%n",
                    mib(m.sinkBf16Bytes()), mib(m.recentBf16Bytes()), mib(qf.totalBytes()), mib(qf.codeBytes()),
                    mib(qf.scaleBytes()), mib(qf.zeroBytes()), mib(qf.idBytes()), mib(qf.centroidBytes()),
                    m.warmTableBytes() > 0 ? " + warm-start tables " + mib(m.warmTableBytes()) : "");

            int q = Math.min(queries, cache.view().tokens());
            float[] qs = exact.view().newestKeys(q);
            int threads = impl.threads();
            try (CacheAttention attn = new CacheAttention(kernels, threads)) {
                TokenSource view = cache.view(kernels);
                TokenSource exactView = exact.view(kernels);
                float[] approx = attn.attend(view, qs, q);
                float[] full = attn.attend(exactView, qs, q);
                // Timed after a first untimed call of each (compiled by then), alternately so that both see the same load.
                // CPU time too: on a machine shared with other work it counts what this process did, not the waiting.
                double[] quantizedTimes = new double[runs], bf16Times = new double[runs];
                double[] quantizedCpu = new double[runs], bf16Cpu = new double[runs];
                for (int r = 0; r < runs; r++) {
                    long c0 = cpuNanos(), a0 = System.nanoTime();
                    attn.attend(view, qs, q);
                    long c1 = cpuNanos(), a1 = System.nanoTime();
                    attn.attend(exactView, qs, q);
                    long c2 = cpuNanos(), a2 = System.nanoTime();
                    quantizedTimes[r] = (a1 - a0) / 1e9;
                    bf16Times[r] = (a2 - a1) / 1e9;
                    quantizedCpu[r] = (c1 - c0) / 1e9;
                    bf16Cpu[r] = (c2 - c1) / 1e9;
                }
                // The bound costs Q·T·D double operations per head: over at most the first 64 queries of each head. It
                // compares the same tokens; a cache that evicts by salience holds fewer than the bf16 stream.
                boolean same = scores == null;
                int checked = Math.min(q, 64);
                float[] cq = firstQueries(qs, heads, q, checked, dim);
                double[] bound = same ? AttentionErrorBound.of(exact.view(), cache.view(), cq, checked) : null;
                float[] approxChecked = firstQueries(approx, heads, q, checked, dim);
                float[] fullChecked = firstQueries(full, heads, q, checked, dim);
                double maxErr = 0, maxBound = 0, ratio = 0, num = 0, den = 0;
                for (int i = 0; i < fullChecked.length; i++) {
                    double e = Math.abs((double) approxChecked[i] - fullChecked[i]);
                    maxErr = Math.max(maxErr, e);
                    if (same) {
                        maxBound = Math.max(maxBound, bound[i]);
                        ratio = Math.max(ratio, e / bound[i]);
                    }
                    num += e * e;
                    den += (double) fullChecked[i] * fullChecked[i];
                }
                long keys = view.tokens();
                String first = checked < q ? " (first " + checked + " queries of each head)" : "";
                out.printf("%nattention (%d queries/head = K of the newest %d tokens, over %d keys/head):%n", q, q, keys);
                if (same) {
                    out.printf("  vs full-precision bf16 attention%s: rel-L2 %.4f, max abs error %.4g (bound %.4g; worst error/bound %.3f)%n",
                            first, Math.sqrt(num / den), maxErr, maxBound, ratio);
                } else {
                    out.printf("  vs full-precision bf16 attention over all %d streamed tokens%s: rel-L2 %.4f, max abs error %.4g%n",
                            exactView.tokens(), first, Math.sqrt(num / den), maxErr);
                }
                if (jensen) {
                    float[] corrected = firstQueries(attn.attend(view, qs, q, cache.jensenCorrection()), heads, q, checked, dim);
                    double cn = 0;
                    for (int i = 0; i < fullChecked.length; i++) {
                        cn += ((double) corrected[i] - fullChecked[i]) * ((double) corrected[i] - fullChecked[i]);
                    }
                    out.printf("  with the Jensen correction (SPEC §12.1): rel-L2 %.4f%n", Math.sqrt(cn / den));
                }
                out.printf("%nspeed: ingest %.0f tokens/s (%d tokens, quantization included, %.3f s)%n",
                        (double) frames * frameTokens / (ingest / 1e9), (long) frames * frameTokens, ingest / 1e9);
                double tq = median(quantizedTimes), tb = median(bf16Times);
                double cpuQ = median(quantizedCpu), cpuB = median(bf16Cpu);
                double pairs = (double) heads * q * keys;
                out.printf("  attention, %s kernels on %d thread%s, median of %d alternating runs: quantized cache %.3f s, "
                                + "bf16 cache %.3f s (%.3g and %.3g query-key pairs/s); bf16 time / quantized time = %.2f%n",
                        kernels.name(), threads, threads == 1 ? "" : "s", runs, tq, tb, pairs / tq, pairs / tb, tb / tq);
                out.printf("  process CPU time, medians: quantized cache %.3f s, bf16 cache %.3f s; bf16 / quantized = %.2f%n",
                        cpuQ, cpuB, cpuB / cpuQ);
            }
            out.flush();
        }
        return 0;
    }

    /** Per span: frames, k-means iterations, and the K and V rel-L2 error of its decoded tokens. */
    private static void reportSpans(PrintWriter out, QuantizedKVCache cache, QvgCodec codec, short[][] kFrames, short[][] vFrames) {
        int ft = cache.frameTokens();
        double sumK = 0, sumV = 0, itK = 0, itV = 0;
        int n = 0;
        for (QuantizedKVCache.Span s : cache.spans()) {
            int[] itersK = s.keys() != null ? s.keys().iterations() : s.keyCentroids().iterations();
            int[] itersV = s.values() != null ? s.values().iterations() : s.valueCentroids().iterations();
            String level = s.keys() == null ? " (ids+centroids only)" : s.bits() != cache.policy().config().bits() ? " (INT" + s.bits() + ")" : "";
            if (s.tokens() != s.frames().length * ft) {
                // Tokens evicted by salience (SPEC §16.4): the rows no longer line up with whole frames.
                out.printf("span %d frames [%d,%d]%s: k-means iterations K %s V %s; %d of %d tokens live%n", s.index(),
                        s.frames()[0], s.frames()[s.frames().length - 1], level, java.util.Arrays.toString(itersK),
                        java.util.Arrays.toString(itersV), s.tokens(), s.frames().length * ft);
                continue;
            }
            double ek = s.keys() != null ? spanError(codec, s.keys(), s.frames(), kFrames, ft)
                    : spanError(s.keyCentroids().decode(), s.keyCentroids().heads(), s.tokens(), s.keyCentroids().dim(), s.frames(), kFrames, ft);
            double ev = s.values() != null ? spanError(codec, s.values(), s.frames(), vFrames, ft)
                    : spanError(s.valueCentroids().decode(), s.valueCentroids().heads(), s.tokens(), s.valueCentroids().dim(), s.frames(), vFrames, ft);
            out.printf("span %d frames [%d,%d]%s: k-means iterations K %s V %s; rel-L2 K %.4f V %.4f%n", s.index(),
                    s.frames()[0], s.frames()[s.frames().length - 1], level, java.util.Arrays.toString(itersK),
                    java.util.Arrays.toString(itersV), ek, ev);
            sumK += ek;
            sumV += ev;
            itK += itersK[0];
            itV += itersV[0];
            n++;
        }
        if (n > 0) {
            out.printf("mean over %d spans: stage-1 iterations K %.2f V %.2f; rel-L2 K %.4f V %.4f%n", n, itK / n, itV / n,
                    sumK / n, sumV / n);
        }
    }

    private static double spanError(QvgCodec codec, QuantizedSpan span, int[] frames, short[][] original, int ft) {
        return spanError(codec.decode(span).bits(), span.headCount(), span.tokens(), span.dim(), frames, original, ft);
    }

    /** rel-L2 of a span's decoded {@code [H, tokens, D]} rows against the frames they came from. */
    private static double spanError(short[] deq, int heads, int tokens, int dim, int[] frames, short[][] original, int ft) {
        double num = 0, den = 0;
        for (int j = 0; j < frames.length; j++) {
            short[] src = original[frames[j] % original.length];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < ft * dim; i++) {
                    double x = Bf16.toFloat(src[h * ft * dim + i]);
                    double d = Bf16.toFloat(deq[(h * tokens + j * ft) * dim + i]) - x;
                    num += d * d;
                    den += x * x;
                }
            }
        }
        return Math.sqrt(num / den);
    }

    /** The first {@code n} of the {@code q} rows of D floats of every head of {@code [H, q, D]}. */
    private static float[] firstQueries(float[] x, int heads, int q, int n, int dim) {
        float[] out = new float[heads * n * dim];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(x, h * q * dim, out, h * n * dim, n * dim);
        }
        return out;
    }

    /** CPU time of this process (all threads), in ns. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }


    /** The sample cut into frames of {@code [H, frameTokens, D]}. */
    private short[][] frames(KvTensor x, int count) {
        short[][] out = new short[count][x.heads() * frameTokens * x.dim()];
        for (int f = 0; f < count; f++) {
            for (int h = 0; h < x.heads(); h++) {
                System.arraycopy(x.bits(), x.headOffset(h) + f * frameTokens * x.dim(), out[f],
                        h * frameTokens * x.dim(), frameTokens * x.dim());
            }
        }
        return out;
    }

    private static String mib(long bytes) {
        return String.format("%.3f MiB", bytes / (1024.0 * 1024.0));
    }
}
