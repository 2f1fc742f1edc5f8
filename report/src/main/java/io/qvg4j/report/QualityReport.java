package io.qvg4j.report;

import io.qvg4j.baselines.Evaluation;
import io.qvg4j.baselines.Kivi;
import io.qvg4j.baselines.Method;
import io.qvg4j.baselines.QuaRot;
import io.qvg4j.baselines.Qvg;
import io.qvg4j.baselines.Rtn;
import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The figures of the quality report, computed: every method of SPEC §14 on each K/V pair (the memory–error
 * frontier), the error after each PRQ stage, what smoothing does per head, magnitude maps before and after
 * smoothing, and the k-means changed-id rate per iteration.
 */
public final class QualityReport {

    /** One K and V pair and where it came from. */
    public record Pair(String label, KvTensor keys, KvTensor values, String keySource, String valueSource) {}

    /**
     * @param seed        k-means initial indices (QVG) and Hadamard signs (QuaRot)
     * @param maxTokens   tokens per head kept from each input (the first ones); 0 keeps all
     * @param convergence k-means iterations traced for the convergence figure
     */
    public record Settings(long seed, int queries, int window, int maxTokens, int convergence) {
        public static final Settings DEFAULT = new Settings(0, 64, 128, 0, 10);
    }

    /** Per head: ‖R₁‖/‖X‖ after subtracting the centroids, and the quantizer's rel-L2 without and with smoothing. */
    public record HeadSmoothing(int head, double keyResidual, double keyDirect, double keySmoothed,
                                double valueResidual, double valueDirect, double valueSmoothed) {}

    /** Mean |x| per (token bin, channel) of one head, before ({@code R₀ = X}) and after smoothing ({@code R₁}). */
    public record MagnitudeMap(String tensor, int head, int bins, int binTokens, int dim, float[] before, float[] after) {}

    /**
     * Everything computed for one pair. {@code stagesK[t]}, {@code stagesV[t]}: rel-L2 of QVG-Pro's
     * quantizer (INT2, G = 16) after t stages, t = 0 the quantizer on the input itself; {@code changedK[i]}:
     * the fraction of ids (all heads) that changed at iteration i + 1 of the stage-1 k-means.
     */
    public record PairResult(Pair pair, List<Method> methods, List<Evaluation.Row> rows, double[] stagesK,
                             double[] stagesV, List<HeadSmoothing> smoothing, List<MagnitudeMap> maps,
                             double[] changedK, double[] changedV, QuantConfig smoothingConfig, QuantConfig stageConfig) {}

    private QualityReport() {}

    /** Every method the report compares, at 2, 3 and 4 bits (NVFP4 at its 4). */
    public static List<Method> methods(QvgCodec codec, long seed) {
        Qvg.Clusterings shared = new Qvg.Clusterings();
        List<Method> out = new ArrayList<>();
        for (int b : new int[]{2, 3, 4}) {
            out.add(Rtn.integer(b, 64));
            out.add(Rtn.integer(b, 16));
            out.add(Kivi.of(b));
            out.add(new QuaRot(b, 64, false, seed));
            out.add(new QuaRot(b, 64, true, seed));
            out.add(new QuaRot(b, 16, false, seed));
            out.add(new QuaRot(b, 16, true, seed));
            out.add(new Qvg("QVG", QuantConfig.DEFAULT.withBits(b), seed, codec, shared));
            out.add(new Qvg("QVG-Pro", QuantConfig.PRO.withBits(b), seed, codec, shared));
        }
        out.add(Rtn.nvfp4(16));
        return out;
    }

    /** The first {@code maxTokens} tokens of every head (all of them when maxTokens is 0 or at least S). */
    public static KvTensor firstTokens(KvTensor x, int maxTokens) {
        if (maxTokens <= 0 || maxTokens >= x.tokens()) {
            return x;
        }
        short[] bits = new short[x.headCount() * maxTokens * x.dim()];
        for (int bh = 0; bh < x.headCount(); bh++) {
            System.arraycopy(x.bits(), x.headOffset(bh), bits, bh * maxTokens * x.dim(), maxTokens * x.dim());
        }
        return new KvTensor(x.name(), x.batch(), x.heads(), maxTokens, x.dim(), bits);
    }

    public static PairResult compute(Pair pair, QvgCodec codec, AttentionKernels kernels, Settings settings) {
        KvTensor k = pair.keys(), v = pair.values();
        if (k.batch() != 1 || !k.shapeString().equals(v.shapeString())) {
            throw new InvalidInputException(pair.label() + ": K " + k.shapeString() + " and V " + v.shapeString()
                    + " must be one [1,H,S,D] shape");
        }
        List<Method> methods = methods(codec, settings.seed());
        methods.addAll(Pruning.methods(methods, codec, settings, k.dim()));
        List<Evaluation.Row> rows = new Evaluation(kernels, settings.queries(), settings.window()).run(k, v, methods);
        Qvg qvg = find(methods, "QVG-2");
        Qvg pro = find(methods, "QVG-Pro-2");
        QuantizedSpan sk = qvg.encode(k), sv = qvg.encode(v);
        QuantizedSpan pk = pro.encode(k), pv = pro.encode(v);
        List<HeadSmoothing> smoothing = new ArrayList<>();
        double[][] rk = perHead(k, residual(k, sk), codec.decode(direct(codec, k, sk.config())), codec.decode(sk));
        double[][] rv = perHead(v, residual(v, sv), codec.decode(direct(codec, v, sv.config())), codec.decode(sv));
        for (int h = 0; h < k.headCount(); h++) {
            smoothing.add(new HeadSmoothing(h, rk[0][h], rk[1][h], rk[2][h], rv[0][h], rv[1][h], rv[2][h]));
        }
        List<MagnitudeMap> maps = new ArrayList<>();
        maps.addAll(maps(k, residual(k, sk), "K"));
        maps.addAll(maps(v, residual(v, sv), "V"));
        return new PairResult(pair, methods, rows, stages(codec, k, pk), stages(codec, v, pv), smoothing, maps,
                changed(codec, k, settings), changed(codec, v, settings), qvg.quantConfig(), pro.quantConfig());
    }

    private static Qvg find(List<Method> methods, String name) {
        for (Method m : methods) {
            if (m.name().equals(name) && m instanceof Qvg q) {
                return q;
            }
        }
        throw new IllegalStateException("no method " + name);
    }

    /** The quantizer on the input itself: every id 0, every centroid +0 (as the golden {@code direct.} parts). */
    static QuantizedSpan direct(QvgCodec codec, KvTensor x, QuantConfig config) {
        QuantConfig one = config.withStages(1);
        return codec.encodeWithClustering(x, one, new byte[][]{new byte[x.headCount() * x.tokens()]},
                new short[][]{new short[x.headCount() * one.centroids() * x.dim()]});
    }

    /** Stage 1's residual {@code R₁ = bf16(X − C₁[id₁])} (SPEC §4), as bf16 patterns in x's layout. */
    static short[] residual(KvTensor x, QuantizedSpan span) {
        short[] out = new short[x.elementCount()];
        int dim = x.dim();
        for (int bh = 0; bh < x.headCount(); bh++) {
            for (int s = 0; s < x.tokens(); s++) {
                int row = bh * x.tokens() + s;
                int id = span.clusterId(0, row);
                for (int d = 0; d < dim; d++) {
                    out[row * dim + d] = Bf16.fromFloat(Bf16.toFloat(x.bits()[row * dim + d]) - span.centroid(0, bh, id, d));
                }
            }
        }
        return out;
    }

    /** Per head: ‖R₁‖/‖X‖, rel-L2 of the direct quantizer, rel-L2 after smoothing. */
    private static double[][] perHead(KvTensor x, short[] r1, KvTensor direct, KvTensor smoothed) {
        int n = x.headCount(), len = x.tokens() * x.dim();
        double[][] out = new double[3][n];
        for (int bh = 0; bh < n; bh++) {
            double xx = 0, rr = 0, dd = 0, ss = 0;
            for (int i = bh * len; i < (bh + 1) * len; i++) {
                double xv = Bf16.toFloat(x.bits()[i]);
                double r = Bf16.toFloat(r1[i]);
                double e1 = Bf16.toFloat(direct.bits()[i]) - xv;
                double e2 = Bf16.toFloat(smoothed.bits()[i]) - xv;
                xx += xv * xv;
                rr += r * r;
                dd += e1 * e1;
                ss += e2 * e2;
            }
            out[0][bh] = Math.sqrt(rr / xx);
            out[1][bh] = Math.sqrt(dd / xx);
            out[2][bh] = Math.sqrt(ss / xx);
        }
        return out;
    }

    /** rel-L2 after t = 0 … T stages of the given span's clustering, the quantizer of its config downstream. */
    static double[] stages(QvgCodec codec, KvTensor x, QuantizedSpan span) {
        int t = span.config().stages();
        double[] out = new double[t + 1];
        out[0] = Evaluation.relL2(codec.decode(direct(codec, x, span.config())), x);
        for (int n = 1; n <= t; n++) {
            QuantizedSpan s = codec.encodeWithClustering(x, span.config().withStages(n),
                    Arrays.copyOf(span.clusterIds(), n), Arrays.copyOf(span.centroids(), n));
            out[n] = Evaluation.relL2(codec.decode(s), x);
        }
        return out;
    }

    /**
     * The changed-id rate of stage 1's k-means (QVG's default config, tolerance 0 so it never stops early):
     * a run capped at n iterations ends with the ids of its n-th assignment (SPEC §3.4), so comparing the
     * runs capped at n and n + 1 gives the ids that iteration n + 1 changed, pooled over heads.
     */
    static double[] changed(QvgCodec codec, KvTensor x, Settings settings) {
        QuantConfig c = new QuantConfig(2, 64, 1, 256, false, QuantConfig.DEFAULT.scaleFormat(), 1, 0f);
        int[][][] init = io.qvg4j.algorithm.InitIndices.fromSeed(settings.seed(), 1, x.headCount(), 256, x.tokens());
        double[] out = new double[settings.convergence() - 1];
        byte[] before = codec.encode(x, c, init).clusterIds()[0];
        for (int n = 2; n <= settings.convergence(); n++) {
            byte[] after = codec.encode(x, c.withMaxIters(n), init).clusterIds()[0];
            int diff = 0;
            for (int i = 0; i < after.length; i++) {
                diff += after[i] != before[i] ? 1 : 0;
            }
            out[n - 2] = (double) diff / after.length;
            before = after;
        }
        return out;
    }

    /** Per head, mean |x| over bins of consecutive tokens (at most 128 bins) for every channel, before and after. */
    static List<MagnitudeMap> maps(KvTensor x, short[] r1, String tensor) {
        int dim = x.dim(), s = x.tokens();
        int binTokens = (s + 127) / 128;
        int bins = (s + binTokens - 1) / binTokens;
        List<MagnitudeMap> out = new ArrayList<>();
        for (int bh = 0; bh < x.headCount(); bh++) {
            float[] before = new float[bins * dim], after = new float[bins * dim];
            for (int b = 0; b < bins; b++) {
                int from = b * binTokens, to = Math.min(s, from + binTokens);
                for (int d = 0; d < dim; d++) {
                    double a = 0, r = 0;
                    for (int t = from; t < to; t++) {
                        int i = x.headOffset(bh) + t * dim + d;
                        a += Math.abs(Bf16.toFloat(x.bits()[i]));
                        r += Math.abs(Bf16.toFloat(r1[i]));
                    }
                    before[b * dim + d] = (float) (a / (to - from));
                    after[b * dim + d] = (float) (r / (to - from));
                }
            }
            out.add(new MagnitudeMap(tensor, bh, bins, binTokens, dim, before, after));
        }
        return out;
    }
}
