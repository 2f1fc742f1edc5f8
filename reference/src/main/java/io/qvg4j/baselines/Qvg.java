package io.qvg4j.baselines;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;

import java.util.HashMap;
import java.util.Map;

/**
 * QVG itself (SPEC §3–§7) as a method: a config (QVG: {@link QuantConfig#DEFAULT}; QVG-Pro:
 * {@link QuantConfig#PRO}) at some code width, k-means started from {@link InitIndices#fromSeed}. The
 * clustering does not depend on the code width, G or the quantizer mode, so methods sharing a
 * {@link Clusterings} run each k-means once and quantize the other widths downstream of it
 * ({@link QvgCodec#encodeWithClustering}), which gives the bytes of a full encode.
 */
public final class Qvg implements Method {

    /** k-means results shared between QVG methods, keyed by input tensor (by identity) and k-means config. */
    public static final class Clusterings {
        private record Key(KvTensor x, int stages, int centroids, int maxIters, float tolerance, long seed) {}

        private final Map<Key, QuantizedSpan> spans = new HashMap<>();
    }

    private final String family;
    private final QuantConfig config;
    private final long seed;
    private final QvgCodec codec;
    private final Clusterings clusterings;

    public Qvg(String family, QuantConfig config, long seed, QvgCodec codec, Clusterings clusterings) {
        this.family = family;
        this.config = config;
        this.seed = seed;
        this.codec = codec;
        this.clusterings = clusterings;
    }

    @Override
    public String name() {
        return family + "-" + config.bits();
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
        return config + ", seed " + seed;
    }

    public QuantConfig quantConfig() {
        return config;
    }

    /** The quantized span of x under this method's config. */
    public QuantizedSpan encode(KvTensor x) {
        Clusterings.Key key = new Clusterings.Key(x, config.stages(), config.centroids(), config.maxIters(),
                config.tolerance(), seed);
        QuantizedSpan first = clusterings.spans.computeIfAbsent(key, k -> codec.encode(x, config,
                InitIndices.fromSeed(seed, config.stages(), x.headCount(), config.centroids(), x.tokens())));
        return first.config().equals(config) ? first
                : codec.encodeWithClustering(x, config, first.clusterIds(), first.centroids());
    }

    @Override
    public Quantized apply(KvTensor x, Role role) {
        QuantizedSpan span = encode(x);
        int blocks = config.blocksPerRow(x.dim());
        float[] steps = new float[x.headCount() * x.tokens() * blocks];
        for (int b = 0; b < steps.length; b++) {
            steps[b] = span.scale(b);
        }
        return new Quantized(codec.decode(span), new Accounting(span.footprint(), 0),
                new KeyNoise(x.headCount(), x.tokens(), x.dim(), config.groupSize(), steps, null));
    }
}
