package io.qvg4j.report;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.baselines.Accounting;
import io.qvg4j.baselines.Evaluation;
import io.qvg4j.baselines.Method;
import io.qvg4j.baselines.Quantized;
import io.qvg4j.baselines.Qvg;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.golden.SyntheticData;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * XQuant's cross-layer sharing composed with QVG (SPEC §16.2), as an experiment on a synthetic multi-layer input:
 * layer 0 is the pair's K (and V) itself, and layer l + 1 = bf16(ρ·layer l + √(1 − ρ²)·σ·ε), with σ the standard
 * deviation of layer 0's channel (per head and channel, in double), ε standard normal from
 * {@link SyntheticData} (SplitMix64 and Box–Muller, seeded per layer and tensor), in double before the one bf16
 * rounding. Layers pair up as (0, 1), (2, 3), …; the higher layer of a pair keeps its own ids, centroids, scales and
 * zero points (its own encode) and is decoded with the lower layer's codes.
 */
public final class CrossLayerSharing {

    /** Layers of the synthetic input. */
    public static final int LAYERS = 4;

    /** Correlation of adjacent synthetic layers. */
    public static final double RHO = 0.95;

    /** One higher layer: decoded with its own codes, and with its pair's lower-layer codes. */
    public record Layer(int layer, Evaluation.Row own, Evaluation.Row shared) {}

    /**
     * @param config   QVG-Pro asymmetric INT2, the quantizer of every layer
     * @param separate bytes of all layers, K and V, each with its own codes
     * @param sharing  the same with every higher layer's codes left out
     */
    public record Result(QuantConfig config, int layers, double rho, List<Layer> higher, MemoryFootprint separate,
                         MemoryFootprint sharing) {}

    private CrossLayerSharing() {}

    static Result compute(KvTensor k, KvTensor v, Qvg pro, QvgCodec codec, Evaluation evaluation, long seed) {
        QuantConfig config = pro.quantConfig().withAsymmetric(true);
        KvTensor[] ks = layers(k, LAYERS, RHO, seed), vs = layers(v, LAYERS, RHO, seed ^ 0x5bd1e995L);
        Map<KvTensor, QuantizedSpan> spans = new IdentityHashMap<>();
        Map<KvTensor, KvTensor> lower = new IdentityHashMap<>();
        MemoryFootprint separate = new MemoryFootprint(0, 0, 0, 0, 0, 0), sharing = separate;
        for (int l = 0; l < LAYERS; l++) {
            for (KvTensor x : new KvTensor[]{ks[l], vs[l]}) {
                // Layer 0 reuses the report's QVG-Pro clustering; the clustering does not depend on the quantizer mode.
                QuantizedSpan c = l == 0 ? pro.encode(x) : codec.encode(x, pro.quantConfig(),
                        InitIndices.fromSeed(seed, config.stages(), x.headCount(), config.centroids(), x.tokens()));
                QuantizedSpan span = codec.encodeWithClustering(x, config, c.clusterIds(), c.centroids());
                spans.put(x, span);
                separate = separate.plus(span.footprint());
                sharing = sharing.plus(l % 2 == 1 ? withoutCodes(span.footprint()) : span.footprint());
            }
            if (l % 2 == 1) {
                lower.put(ks[l], ks[l - 1]);
                lower.put(vs[l], vs[l - 1]);
            }
        }
        List<Layer> higher = new ArrayList<>();
        for (int l = 1; l < LAYERS; l += 2) {
            Evaluation.Row own = evaluation.run(ks[l], vs[l], List.of(new Stored("layer " + l + ", own codes", spans, null, codec))).get(0);
            Evaluation.Row shared = evaluation.run(ks[l], vs[l], List.of(new Stored("layer " + l + ", codes of layer " + (l - 1),
                    spans, lower, codec))).get(0);
            higher.add(new Layer(l, own, shared));
        }
        return new Result(config, LAYERS, RHO, higher, separate, sharing);
    }

    /** A higher layer's bytes: everything of its own but the codes, which it reads from the lower layer. */
    static MemoryFootprint withoutCodes(MemoryFootprint f) {
        return new MemoryFootprint(f.elements(), 0, f.scaleBytes(), f.zeroBytes(), f.idBytes(), f.centroidBytes());
    }

    /** The synthetic layers of the class comment; layer 0 is x itself. */
    static KvTensor[] layers(KvTensor x, int count, double rho, long seed) {
        int dim = x.dim(), tokens = x.tokens();
        double[] sigma = new double[x.headCount() * dim];
        for (int bh = 0; bh < x.headCount(); bh++) {
            for (int d = 0; d < dim; d++) {
                double sum = 0, sq = 0;
                for (int s = 0; s < tokens; s++) {
                    double val = Bf16.toFloat(x.bits()[x.headOffset(bh) + s * dim + d]);
                    sum += val;
                    sq += val * val;
                }
                double mean = sum / tokens;
                sigma[bh * dim + d] = Math.sqrt(Math.max(0, sq / tokens - mean * mean));
            }
        }
        KvTensor[] out = new KvTensor[count];
        out[0] = x;
        double innovation = Math.sqrt(1 - rho * rho);
        for (int l = 1; l < count; l++) {
            SyntheticData rng = new SyntheticData(seed * 31 + l);
            short[] prev = out[l - 1].bits();
            short[] bits = new short[prev.length];
            for (int i = 0; i < bits.length; i++) {
                int channel = (i / (tokens * dim)) * dim + i % dim;
                bits[i] = Bf16.fromFloat((float) (rho * Bf16.toFloat(prev[i]) + innovation * sigma[channel] * rng.gaussian()));
            }
            out[l] = new KvTensor(x.name() + " layer " + l, x.batch(), x.heads(), tokens, dim, bits);
        }
        return out;
    }

    /**
     * A layer's stored span, decoded as it is or, when {@code lower} maps it, with the lower layer's codes in place
     * of its own; the bytes counted leave those codes out.
     */
    private record Stored(String name, Map<KvTensor, QuantizedSpan> spans, Map<KvTensor, KvTensor> lower, QvgCodec codec)
            implements Method {
        @Override
        public String family() {
            return "cross-layer";
        }

        @Override
        public int bits() {
            return 2;
        }

        @Override
        public String config() {
            return name;
        }

        @Override
        public Quantized apply(KvTensor x, Role role) {
            QuantizedSpan own = spans.get(x);
            if (lower == null) {
                return new Quantized(codec.decode(own), new Accounting(own.footprint(), 0), null);
            }
            QuantizedSpan codes = spans.get(lower.get(x));
            QuantizedSpan shared = new QuantizedSpan(own.config(), own.batch(), own.heads(), own.tokens(), own.dim(),
                    own.clusterIds(), own.centroids(), codes.packed(), own.scales(), own.zeros(), own.iterations());
            return new Quantized(codec.decode(shared), new Accounting(withoutCodes(own.footprint()), 0), null);
        }
    }
}
