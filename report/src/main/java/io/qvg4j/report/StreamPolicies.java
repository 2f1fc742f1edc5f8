package io.qvg4j.report;

import io.qvg4j.cache.AgeDecay;
import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CacheMemory;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.SalienceEviction;
import io.qvg4j.cache.SalienceProxy;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The cache policies of SPEC §16.3 and §16.4 on one long stream: a K/V pair cut into frames and streamed
 * {@code passes} times in a row through caches that share one cut (sink 1 frame, spans of 4 frames quantized as
 * soon as complete). Part one follows memory and attention error, frame by frame, of an age schedule (PackCache)
 * against plain QVG at fixed bits; part two compares, over one pass with spans of 1 frame and at equal token
 * budgets, eviction by salience with eviction by age (a sliding window). Attention: §12 over the cache, the queries the K
 * rows of the newest tokens of the stream, against the same attention over the whole bf16 stream.
 */
public final class StreamPolicies {

    /**
     * @param frameTokens tokens per frame
     * @param passes      times the pair is streamed
     * @param queries     queries per head (K rows of the newest tokens)
     * @param every       frames between two measurements of part one
     */
    public record Settings(int frameTokens, int passes, int queries, int every, long seed) {
        public static Settings defaults(long seed) {
            return new Settings(880, 4, 16, 2, seed);
        }
    }

    /** One cache's measurements over the stream (part one) or at its end (part two). */
    public record Curve(String name, String description, int[] frames, long[] bytes, long[] liveTokens, double[] error) {
        public int last() {
            return frames.length - 1;
        }

        public double bitsPerElement(int i, int heads, int dim) {
            return 8.0 * bytes[i] / (2.0 * liveTokens[i] * heads * dim);
        }

        public double meanError() {
            double s = 0;
            for (double e : error) {
                s += e;
            }
            return s / error.length;
        }
    }

    /** Part two at one budget: the policy, its bytes, live tokens and attention error at the end of the stream. */
    public record Eviction(int budgetFrames, String policy, long bytes, long liveTokens, double error) {}

    public record Result(Settings settings, int heads, int dim, int frames, int passFrames, String cut, Curve bf16, List<Curve> decay,
                         List<Eviction> eviction, int[] budgets) {}

    private StreamPolicies() {}

    /** Sink 1 frame, spans of 4 frames, no keep-recent: every cache of both parts cuts the stream this way. */
    static CachePolicy cut(String name, QuantConfig config, long seed) {
        return new CachePolicy(name, 4, 1, 0, 0, 0, config, seed, false);
    }

    public static Result compute(KvTensor k, KvTensor v, QvgCodec codec, AttentionKernels kernels, Settings s) {
        if (k.batch() != 1 || !k.shapeString().equals(v.shapeString()) || k.tokens() % s.frameTokens() != 0) {
            throw new InvalidInputException("stream policies: K " + k.shapeString() + " and V " + v.shapeString()
                    + " must be one [1,H,S,D] shape with S a multiple of " + s.frameTokens() + " tokens per frame");
        }
        QvgCodec shared = new SharedClusteringCodec(codec);
        int heads = k.heads(), dim = k.dim(), ft = s.frameTokens();
        int perPass = k.tokens() / ft, frames = perPass * s.passes();
        short[][] kf = frames(k, perPass, ft), vf = frames(v, perPass, ft);
        CacheAttention attention = new CacheAttention(kernels);
        QuantConfig base = QuantConfig.DEFAULT;

        // Part one: PackCache schedules against QVG at fixed bits, measured every few frames.
        List<CachePolicy> policies = List.of(
                cut("QVG INT2", base, s.seed()),
                cut("QVG INT4", base.withBits(4), s.seed()),
                cut("QVG INT2, ids+centroids at 16", base, s.seed()).withDecay(2, new AgeDecay(new int[]{16}, new int[]{0})),
                cut("PackCache INT4, INT2 at 8, ids+centroids at 24", base, s.seed())
                        .withDecay(4, new AgeDecay(new int[]{8, 24}, new int[]{2, 0})),
                cut("PackCache INT4, INT2 at 4, ids+centroids at 12", base, s.seed())
                        .withDecay(4, new AgeDecay(new int[]{4, 12}, new int[]{2, 0})));
        QuantizedKVCache exact = new QuantizedKVCache(heads, dim, ft, CachePolicy.bf16(), shared);
        List<QuantizedKVCache> caches = new ArrayList<>();
        for (CachePolicy p : policies) {
            caches.add(new QuantizedKVCache(heads, dim, ft, p, shared));
        }
        int points = frames / s.every();
        long[][] bytes = new long[policies.size() + 1][points];
        long[][] live = new long[policies.size() + 1][points];
        double[][] error = new double[policies.size() + 1][points];
        int[] at = new int[points];
        for (int f = 0; f < frames; f++) {
            exact.append(kf[f % perPass], vf[f % perPass]);
            for (QuantizedKVCache c : caches) {
                c.append(kf[f % perPass], vf[f % perPass]);
            }
            if ((f + 1) % s.every() == 0) {
                int i = (f + 1) / s.every() - 1;
                at[i] = f + 1;
                TokenSource exactView = exact.view(kernels);
                int q = Math.min(s.queries(), exactView.tokens());
                float[] queries = exactView.newestKeys(q);
                float[] full = attention.attend(exactView, queries, q);
                record(exact.memory(), 0, bytes, live, error, i, 0);
                for (int p = 0; p < caches.size(); p++) {
                    float[] approx = attention.attend(caches.get(p).view(kernels), queries, q);
                    record(caches.get(p).memory(), relL2(approx, full), bytes, live, error, i, p + 1);
                }
            }
        }
        Curve bf16 = new Curve("bf16", "no quantization", at, bytes[0], live[0], error[0]);
        List<Curve> decay = new ArrayList<>();
        for (int p = 0; p < policies.size(); p++) {
            CachePolicy pol = policies.get(p);
            decay.add(new Curve(pol.name(), "INT" + pol.config().bits() + (pol.decay().isNone() ? "" : "; " + pol.decay()),
                    at, bytes[p + 1], live[p + 1], error[p + 1]));
        }

        // Part two: one pass (a repeated stream would let any window of one pass hold a copy of everything), spans
        // of 1 frame; at equal token budgets, evict by age (sliding window) or by salience (two proxies).
        QuantizedKVCache onePass = new QuantizedKVCache(heads, dim, ft, CachePolicy.bf16(), shared);
        for (int f = 0; f < perPass; f++) {
            onePass.append(kf[f], vf[f]);
        }
        TokenSource exactView = onePass.view(kernels);
        int q = Math.min(s.queries(), exactView.tokens());
        float[] queries = exactView.newestKeys(q);
        float[] full = attention.attend(exactView, queries, q);
        float[][] ownFrame = new float[perPass][];
        for (int f = 0; f < perPass; f++) {
            ownFrame[f] = SalienceProxy.ownFrameMass(kf[f], heads, ft, dim, 32);
        }
        float[] oracle = newestQueryMass(exactView, queries, q);
        int[] budgets = {3, 4, 6};
        List<Eviction> eviction = new ArrayList<>();
        for (int b : budgets) {
            CachePolicy window = new CachePolicy("age: sliding window", 1, 1, 0, b, 1, base, s.seed(), false);
            CachePolicy salient = new CachePolicy("salience", 1, 1, 0, 0, 0, base, s.seed(), false)
                    .withSalience(new SalienceEviction(b * ft, 1));
            QuantizedKVCache byAge = new QuantizedKVCache(heads, dim, ft, window, shared);
            QuantizedKVCache byFrame = new QuantizedKVCache(heads, dim, ft, salient, shared);
            QuantizedKVCache byOracle = new QuantizedKVCache(heads, dim, ft, salient, shared);
            for (int f = 0; f < perPass; f++) {
                byAge.append(kf[f % perPass], vf[f % perPass]);
                byFrame.append(kf[f % perPass], vf[f % perPass], ownFrame[f % perPass]);
                float[] o = new float[ft];
                System.arraycopy(oracle, f * ft, o, 0, ft);
                byOracle.append(kf[f % perPass], vf[f % perPass], o);
            }
            eviction.add(evaluate(b, "age: sliding window", byAge, attention, kernels, queries, q, full));
            eviction.add(evaluate(b, "salience: own-frame mass (causal proxy)", byFrame, attention, kernels, queries, q, full));
            eviction.add(evaluate(b, "salience: newest-query mass (oracle)", byOracle, attention, kernels, queries, q, full));
        }
        return new Result(s, heads, dim, frames, perPass, "sink 1 frame, spans of 4 frames quantized when complete, seed " + s.seed(),
                bf16, decay, eviction, budgets);
    }

    private static Eviction evaluate(int budget, String name, QuantizedKVCache c, CacheAttention attention,
                                     AttentionKernels kernels, float[] queries, int q, float[] full) {
        CacheMemory m = c.memory();
        return new Eviction(budget, name, m.totalBytes(), m.liveTokens(),
                relL2(attention.attend(c.view(kernels), queries, q), full));
    }

    private static void record(CacheMemory m, double e, long[][] bytes, long[][] live, double[][] error, int i, int p) {
        bytes[p][i] = m.totalBytes();
        live[p][i] = m.liveTokens();
        error[p][i] = e;
    }

    /**
     * The oracle proxy: per token of the stream, the attention mass the evaluation queries give it over the whole
     * bf16 stream, the mean over heads and queries (double; softmax with {@link StrictMath#exp}). It knows the
     * queries it is judged by, so it bounds what a salience estimate could reach here; it is not causal.
     */
    static float[] newestQueryMass(TokenSource src, float[] queries, int q) {
        int heads = src.heads(), dim = src.dim(), tokens = src.tokens();
        float[] kT = new float[dim * tokens];
        double[] mass = new double[tokens];
        double[] s = new double[tokens];
        double scale = 1 / Math.sqrt(dim);
        for (int h = 0; h < heads; h++) {
            src.keys(h, 0, tokens, kT, tokens);
            for (int j = 0; j < q; j++) {
                int qo = (h * q + j) * dim;
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < tokens; t++) {
                    double dot = 0;
                    for (int d = 0; d < dim; d++) {
                        dot += (double) queries[qo + d] * kT[d * tokens + t];
                    }
                    s[t] = dot * scale;
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                for (int t = 0; t < tokens; t++) {
                    s[t] = StrictMath.exp(s[t] - max);
                    sum += s[t];
                }
                for (int t = 0; t < tokens; t++) {
                    mass[t] += s[t] / sum;
                }
            }
        }
        float[] out = new float[tokens];
        for (int t = 0; t < tokens; t++) {
            out[t] = (float) (mass[t] / (heads * q));
        }
        return out;
    }

    static double relL2(float[] approx, float[] exact) {
        double num = 0, den = 0;
        for (int i = 0; i < exact.length; i++) {
            double d = (double) approx[i] - exact[i];
            num += d * d;
            den += (double) exact[i] * exact[i];
        }
        return Math.sqrt(num / den);
    }


    /** The pair cut into frames of {@code [H, frameTokens, D]}. */
    static short[][] frames(KvTensor x, int count, int ft) {
        short[][] out = new short[count][x.heads() * ft * x.dim()];
        for (int f = 0; f < count; f++) {
            for (int h = 0; h < x.heads(); h++) {
                System.arraycopy(x.bits(), x.headOffset(h) + f * ft * x.dim(), out[f], h * ft * x.dim(), ft * x.dim());
            }
        }
        return out;
    }
}
