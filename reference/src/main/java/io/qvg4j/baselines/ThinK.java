package io.qvg4j.baselines;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * ThinK (arXiv 2407.21018; SPEC §16.6), query-driven pruning of key channels, before QVG: per head, the
 * {@code kept} channels with the largest score {@code ‖Q[:,j]‖²·‖K[:,j]‖²} stay, the others are dropped before
 * smoothing, and QVG quantizes the thinner keys (k-means over {@code kept} channels instead of D). The queries are
 * the K rows of the newest tokens (SPEC §14.4: the samples hold no Q). Values are plain QVG. The kept channels'
 * values are untouched; a dropped channel reads as +0, so attention over the full D gives the scores over the
 * kept channels alone.
 */
public final class ThinK implements Method {

    /** Pruned keys by input tensor (identity), so ThinK at several widths shares one tensor and one k-means. */
    public static final class Shared {
        private record Key(KvTensor x, int kept, int queries) {}

        private final Map<Key, KvTensor> pruned = new java.util.HashMap<>();
        private final Qvg.Clusterings clusterings = new Qvg.Clusterings();
    }

    private final Qvg values;
    private final Qvg keys;
    private final QvgCodec codec;
    private final int kept;
    private final int queries;
    private final Shared shared;

    /**
     * @param values  the plain QVG method of this config, for V (its clustering is shared with it)
     * @param codec   that method's codec
     * @param seed    that method's seed
     * @param kept    key channels kept per head, 1 to D
     * @param queries query rows: the K rows of the newest tokens (SPEC §14.4)
     */
    public ThinK(Qvg values, QvgCodec codec, long seed, int kept, int queries, Shared shared) {
        if (kept < 1 || queries < 1) {
            throw new InvalidInputException("ThinK: " + kept + " kept channels, " + queries + " queries; need >= 1 each");
        }
        this.values = values;
        this.keys = new Qvg(values.family(), values.quantConfig(), seed, codec, shared.clusterings);
        this.codec = codec;
        this.kept = kept;
        this.queries = queries;
        this.shared = shared;
    }

    @Override
    public String name() {
        return "ThinK-" + values.bits() + " " + kept + "ch";
    }

    @Override
    public String family() {
        return "ThinK+" + values.family();
    }

    @Override
    public int bits() {
        return values.bits();
    }

    @Override
    public String config() {
        return values.config() + "; keys: the " + kept + " channels per head of largest ‖Q_j‖²·‖K_j‖² (queries: K rows of the newest "
                + queries + " tokens), the rest dropped before smoothing; values: plain " + values.name();
    }

    public int keptChannels() {
        return kept;
    }

    @Override
    public Quantized apply(KvTensor x, Role role) {
        if (role == Role.VALUES) {
            return values.apply(x, role);
        }
        if (kept > x.dim() || queries > x.tokens()) {
            throw new InvalidInputException(x.name() + ": ThinK keeps " + kept + " channels with " + queries
                    + " queries, but " + x.shapeString() + " has D = " + x.dim() + " and S = " + x.tokens());
        }
        QuantConfig c = values.quantConfig();
        c.requireCompatible(x.name() + " with " + kept + " ThinK channels", kept);
        int[][] channels = channels(x);
        KvTensor thin = shared.pruned.computeIfAbsent(new Shared.Key(x, kept, queries), k -> thin(x, channels));
        QuantizedSpan span = keys.encode(thin);
        short[] deq = codec.decode(span).bits();
        int s = x.tokens(), dim = x.dim(), g = c.groupSize(), blocks = c.blocksPerRow(kept);
        short[] out = new short[x.elementCount()];
        float[] steps = new float[x.headCount() * s * dim];
        for (int bh = 0; bh < x.headCount(); bh++) {
            for (int t = 0; t < s; t++) {
                int row = bh * s + t;
                for (int j = 0; j < kept; j++) {
                    int d = channels[bh][j];
                    out[row * dim + d] = deq[row * kept + j];
                    // One step per channel (block size 1): the kept channels of a block are not adjacent in D.
                    steps[row * dim + d] = span.scale(row * blocks + j / g);
                }
            }
        }
        MemoryFootprint f = span.footprint();
        MemoryFootprint full = new MemoryFootprint(x.elementCount(), f.codeBytes(), f.scaleBytes(), f.zeroBytes(),
                f.idBytes(), f.centroidBytes());
        // ThinK's stored channel mask: D bits per head.
        long index = (long) x.headCount() * ((dim + 7) / 8);
        return new Quantized(new KvTensor(x.name(), x.batch(), x.heads(), s, dim, out), new Accounting(full, 0, index),
                new KeyNoise(x.headCount(), s, dim, 1, steps, null));
    }

    /**
     * Per head, the kept channels in ascending order: score {@code a_j·b_j} with {@code a_j = Σ_i q_i,j²} over the
     * query rows (the newest {@code queries} tokens) and {@code b_j = Σ_t k_t,j²} over every token, each sum in
     * double in index order from +0; the {@code kept} largest scores, ties to the lower channel.
     */
    int[][] channels(KvTensor x) {
        int s = x.tokens(), dim = x.dim();
        int[][] out = new int[x.headCount()][];
        double[] score = new double[dim];
        for (int bh = 0; bh < x.headCount(); bh++) {
            for (int d = 0; d < dim; d++) {
                double a = 0, b = 0;
                for (int t = 0; t < s; t++) {
                    double v = Bf16.toFloat(x.bits()[x.headOffset(bh) + t * dim + d]);
                    b += v * v;
                    if (t >= s - queries) {
                        a += v * v;
                    }
                }
                score[d] = a * b;
            }
            int[] top = TokenPruning.top(score, kept);
            Arrays.sort(top);
            out[bh] = top;
        }
        return out;
    }

    /** The kept channels of every token, their bf16 values untouched: {@code [B,H,S,kept]}. */
    private KvTensor thin(KvTensor x, int[][] channels) {
        int s = x.tokens(), dim = x.dim();
        short[] bits = new short[x.headCount() * s * kept];
        for (int bh = 0; bh < x.headCount(); bh++) {
            for (int t = 0; t < s; t++) {
                for (int j = 0; j < kept; j++) {
                    bits[(bh * s + t) * kept + j] = x.bits()[(bh * s + t) * dim + channels[bh][j]];
                }
            }
        }
        return new KvTensor(x.name(), x.batch(), x.heads(), s, kept, bits);
    }
}
