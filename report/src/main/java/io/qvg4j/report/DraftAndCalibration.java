package io.qvg4j.report;

import io.qvg4j.baselines.Accounting;
import io.qvg4j.baselines.Evaluation;
import io.qvg4j.baselines.Method;
import io.qvg4j.baselines.Quantized;
import io.qvg4j.baselines.Qvg;
import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The figures of SPEC §16.1 and §16.2 for one K/V pair, measured as §14.4 measures every method: the QVG-Pro
 * draft views (error against the bits a draft reads, beside plain QVG configurations), the endpoint calibration
 * η of the asymmetric quantizer in steps, and the cross-layer sharing experiment ({@link CrossLayerSharing}).
 * Every QVG span here is downstream of the clusterings the report's own QVG and QVG-Pro methods computed.
 */
public final class DraftAndCalibration {

    /** The η values of the calibration figure. */
    public static final float[] ETAS = {0f, 0.05f, 0.1f, 0.15f, 0.2f, 0.25f, 0.3f, 0.4f, 0.5f};

    /** A draft, or the plain QVG configuration whose K+V bits per element are nearest to it. */
    public record Match(Evaluation.Row draft, Evaluation.Row plain) {}

    /**
     * @param drafts  QVG-Pro INT2 (T = 4, G = 16) read from its first s = 1 … T stages
     * @param plain   QVG (T = 1, Kc = 256) at INT2/3/4 and those of G = 128, 64, 32, 16 that divide D
     * @param eta     per config of {@link #etaConfigs}, QVG asymmetric (G = 64, T = 1) at each η of {@link #ETAS}
     */
    public record Result(QuantConfig draftConfig, List<Evaluation.Row> drafts, List<Evaluation.Row> plain,
                         List<Match> matches, QuantConfig etaConfig, List<List<Evaluation.Row>> eta,
                         CrossLayerSharing.Result crossLayer) {}

    /**
     * The configurations of the calibration figure: QVG asymmetric INT2 and INT3 with FP8 scales and, to show what the
     * second FP8 rounding of ŝ and ẑ costs, INT2 with bf16 scales (SPEC §6.4).
     */
    public static List<QuantConfig> etaConfigs() {
        QuantConfig asym = QuantConfig.DEFAULT.withAsymmetric(true);
        return List.of(asym, asym.withBits(3), asym.withScaleFormat(io.qvg4j.quant.ScaleFormat.BF16));
    }

    /** A calibration series' short label: {@code INT2}, {@code INT3}, {@code INT2 bf16 scales}. */
    public static String etaLabel(QuantConfig c) {
        return "INT" + c.bits() + (c.scaleFormat() == io.qvg4j.quant.ScaleFormat.BF16 ? " bf16 scales" : "");
    }

    private DraftAndCalibration() {}

    public static Result compute(QualityReport.PairResult r, QvgCodec codec, AttentionKernels kernels,
                                 QualityReport.Settings settings) {
        KvTensor k = r.pair().keys(), v = r.pair().values();
        Evaluation evaluation = new Evaluation(kernels, settings.queries(), settings.window());
        Qvg pro = find(r.methods(), "QVG-Pro-2");
        Qvg qvg = find(r.methods(), "QVG-2");

        List<Method> drafts = new ArrayList<>();
        for (int s = 1; s <= pro.quantConfig().stages(); s++) {
            drafts.add(new Draft(pro, codec, s));
        }
        List<Evaluation.Row> draftRows = evaluation.run(k, v, drafts);

        List<Method> plain = new ArrayList<>();
        for (int b : new int[]{2, 3, 4}) {
            for (int g : new int[]{128, 64, 32, 16}) {
                if (k.dim() % g != 0) {
                    continue;
                }
                QuantConfig c = QuantConfig.DEFAULT.withBits(b).withGroupSize(g);
                plain.add(new Downstream("QVG-" + b + " G" + g, "QVG (T=1)", c, qvg::encode, codec));
            }
        }
        List<Evaluation.Row> plainRows = evaluation.run(k, v, plain);
        List<Match> matches = new ArrayList<>();
        for (Evaluation.Row d : draftRows) {
            Evaluation.Row best = plainRows.get(0);
            for (Evaluation.Row p : plainRows) {
                if (Math.abs(p.bitsPerElement() - d.bitsPerElement()) < Math.abs(best.bitsPerElement() - d.bitsPerElement())) {
                    best = p;
                }
            }
            matches.add(new Match(d, best));
        }

        QuantConfig etaConfig = QuantConfig.DEFAULT.withAsymmetric(true);
        List<List<Evaluation.Row>> eta = new ArrayList<>();
        for (QuantConfig base : etaConfigs()) {
            List<Method> sweep = new ArrayList<>();
            for (float e : ETAS) {
                QuantConfig c = base.withEta(e);
                sweep.add(new Downstream("QVG " + etaLabel(base) + " asym η=" + e, "QVG asym " + etaLabel(base), c, qvg::encode, codec));
            }
            eta.add(evaluation.run(k, v, sweep));
        }
        CrossLayerSharing.Result cross = CrossLayerSharing.compute(k, v, pro, codec, evaluation, settings.seed());
        return new Result(pro.quantConfig(), draftRows, plainRows, matches, etaConfig, eta, cross);
    }

    static Qvg find(List<Method> methods, String name) {
        for (Method m : methods) {
            if (m.name().equals(name) && m instanceof Qvg q) {
                return q;
            }
        }
        throw new IllegalStateException("no method " + name);
    }

    /** A QVG-Pro span read as its draft of the first s stages (SPEC §16.1); s = T is QVG-Pro itself. */
    static final class Draft implements Method {
        private final Qvg pro;
        private final QvgCodec codec;
        private final int stages;

        Draft(Qvg pro, QvgCodec codec, int stages) {
            this.pro = pro;
            this.codec = codec;
            this.stages = stages;
        }

        int stages() {
            return stages;
        }

        @Override
        public String name() {
            return "draft s=" + stages + "/" + pro.quantConfig().stages();
        }

        @Override
        public String family() {
            return "QVG-Pro draft";
        }

        @Override
        public int bits() {
            return pro.bits();
        }

        @Override
        public String config() {
            return pro.config() + "; the first " + stages + " stages read" + (stages < pro.quantConfig().stages() ? ", no codes" : "");
        }

        @Override
        public Quantized apply(KvTensor x, Role role) {
            if (stages == pro.quantConfig().stages()) {
                return pro.apply(x, role);
            }
            QuantizedSpan span = pro.encode(x);
            return new Quantized(codec.decode(span, stages), new Accounting(span.draftFootprint(stages), 0), null);
        }
    }

    /**
     * QVG at a config downstream of a given clustering ({@link QvgCodec#encodeWithClustering}): the bytes of a full
     * encode whose k-means config is the clustering's. Measured without the §12.1 correction.
     */
    static final class Downstream implements Method {
        private final String name;
        private final String family;
        private final QuantConfig config;
        private final Function<KvTensor, QuantizedSpan> clustering;
        private final QvgCodec codec;

        Downstream(String name, String family, QuantConfig config, Function<KvTensor, QuantizedSpan> clustering, QvgCodec codec) {
            this.name = name;
            this.family = family;
            this.config = config;
            this.clustering = clustering;
            this.codec = codec;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String family() {
            return family;
        }

        @Override
        public int bits() {
            return config.bits();
        }

        @Override
        public String config() {
            return config.toString();
        }

        @Override
        public Quantized apply(KvTensor x, Role role) {
            QuantizedSpan c = clustering.apply(x);
            QuantizedSpan span = codec.encodeWithClustering(x, config, c.clusterIds(), c.centroids());
            return new Quantized(codec.decode(span), new Accounting(span.footprint(), 0), null);
        }
    }
}
