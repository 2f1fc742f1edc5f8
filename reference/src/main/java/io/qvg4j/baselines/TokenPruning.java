package io.qvg4j.baselines;

import io.qvg4j.algorithm.Smoothing;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Token pruning to a budget composed with QVG, after XStreamVGGT (arXiv 2601.01204; SPEC §16.5). Of every head's
 * tokens before the newest {@code protectNewest} (the prunable ones, P of them), the {@code ⌊P·keepPercent/100⌋}
 * with the highest salience keep their residual codes; the newest are always kept. The others are either
 * <b>id-only</b> (they keep their cluster ids and are read as the sum of their centroids; no codes, no scales) or
 * <b>dropped</b> (nothing stored, removed from attention). Salience: {@link Salience#RESIDUAL}, the energy of the
 * residual QVG would quantize (a token near its centroid is redundant), per head, K and V together; or
 * {@link Salience#QUERY}, XStreamVGGT's own score from pooled queries, one token set for all heads.
 */
public final class TokenPruning implements Method {

    /** How redundant a token is (SPEC §16.5). */
    public enum Salience { RESIDUAL, QUERY }

    /** What a token outside the budget keeps (SPEC §16.5). */
    public enum Mode { ID_ONLY, DROP }

    /** Queries pooled per group by XStreamVGGT's score (its {@code KV_POOL_SIZE} default). */
    public static final int POOL = 16;

    private final Qvg qvg;
    private final QvgCodec codec;
    private final long seed;
    private final Salience salience;
    private final Mode mode;
    private final int keepPercent;
    private final int protectNewest;
    private final int queries;

    /**
     * @param qvg           the plain QVG method whose config and clustering this one uses (one k-means shared)
     * @param codec         the codec of that method, for the k-means of the kept tokens alone (QUERY, DROP)
     * @param seed          the seed of that method's initial indices
     * @param keepPercent   percent of the prunable tokens of a head kept with residual codes, 0 to 100
     * @param protectNewest newest tokens of a head always kept (the current chunk)
     * @param queries       query rows of the QUERY salience: the K rows of the newest tokens (SPEC §14.4)
     */
    public TokenPruning(Qvg qvg, QvgCodec codec, long seed, Salience salience, Mode mode, int keepPercent,
                        int protectNewest, int queries) {
        if (keepPercent < 0 || keepPercent > 100 || protectNewest < 0 || queries < 1) {
            throw new InvalidInputException("token pruning: keep " + keepPercent + " %, " + protectNewest
                    + " protected tokens, " + queries + " queries; need 0..100 %, >= 0 protected, >= 1 query");
        }
        this.qvg = qvg;
        this.codec = codec;
        this.seed = seed;
        this.salience = salience;
        this.mode = mode;
        this.keepPercent = keepPercent;
        this.protectNewest = protectNewest;
        this.queries = queries;
    }

    /** E.g. {@code QVG-2 id-only 50%}, {@code QVG-2 pruned 50%}, {@code XStreamVGGT-2 50%}. */
    @Override
    public String name() {
        String what = mode == Mode.ID_ONLY ? " id-only" : salience == Salience.QUERY ? "" : " pruned";
        return (salience == Salience.QUERY ? "XStreamVGGT" : qvg.family()) + "-" + bits() + what + " " + keepPercent + "%";
    }

    @Override
    public String family() {
        String base = salience == Salience.QUERY ? "XStreamVGGT+" + qvg.family() : qvg.family();
        return base + (mode == Mode.ID_ONLY ? " id-only" : " pruned");
    }

    @Override
    public int bits() {
        return qvg.bits();
    }

    @Override
    public String config() {
        return qvg.config() + "; " + keepPercent + " % of the tokens before the newest " + protectNewest
                + " keep residual codes, by " + (salience == Salience.RESIDUAL
                ? "residual energy ‖R_T‖² (K and V together, per head)"
                : "XStreamVGGT's pooled-query score (K rows of the newest " + queries + " tokens, groups of " + POOL
                + ", heads averaged; one token set for all heads)")
                + "; the others " + (mode == Mode.ID_ONLY ? "id-only (ids kept, no codes or scales)"
                : "dropped from attention and storage" + (salience == Salience.QUERY ? " before k-means" : ""));
    }

    public int keepPercent() {
        return keepPercent;
    }

    /** The tensor alone decides (as both K and V of the salience). */
    @Override
    public Quantized apply(KvTensor x, Role role) {
        return build(x, select(x, x));
    }

    @Override
    public Pair apply(KvTensor keys, KvTensor values) {
        if (!keys.shapeString().equals(values.shapeString())) {
            throw new InvalidInputException("token pruning: K " + keys.shapeString() + " and V " + values.shapeString()
                    + " must have one shape");
        }
        boolean[] keep = select(keys, values);
        return new Pair(build(keys, keep), build(values, keep));
    }

    /** Prunable tokens per head: all but the newest {@code protectNewest}. */
    int prunable(int tokens) {
        return Math.max(tokens - protectNewest, 0);
    }

    /** Prunable tokens of a head that keep their residual codes: {@code ⌊P·keepPercent/100⌋}. */
    int budget(int tokens) {
        return (int) ((long) prunable(tokens) * keepPercent / 100);
    }

    /** {@code [B·H·S]}: true for a token that keeps its residual codes. */
    boolean[] select(KvTensor k, KvTensor v) {
        int s = k.tokens(), p = prunable(s), n = budget(s);
        boolean[] keep = new boolean[k.headCount() * s];
        for (int bh = 0; bh < k.headCount(); bh++) {
            Arrays.fill(keep, bh * s + p, (bh + 1) * s, true);
        }
        if (salience == Salience.RESIDUAL) {
            double[] ek = residualEnergy(k, qvg.encode(k)), ev = residualEnergy(v, qvg.encode(v));
            for (int bh = 0; bh < k.headCount(); bh++) {
                double[] score = new double[p];
                double sk = 0, sv = 0;
                for (int t = 0; t < p; t++) {
                    sk += ek[bh * s + t];
                    sv += ev[bh * s + t];
                }
                for (int t = 0; t < p; t++) {
                    score[t] = share(ek[bh * s + t], sk) + share(ev[bh * s + t], sv);
                }
                for (int t : top(score, n)) {
                    keep[bh * s + t] = true;
                }
            }
        } else {
            for (int t : top(queryScore(k, p), n)) {
                for (int bh = 0; bh < k.headCount(); bh++) {
                    keep[bh * s + t] = true;
                }
            }
        }
        return keep;
    }

    /** {@code e / sum}, 0 when the head's residual is 0 everywhere. */
    private static double share(double e, double sum) {
        return sum == 0 ? 0 : e / sum;
    }

    /**
     * The indices of the n largest scores, ties to the lower index: the order is score descending, then index
     * ascending, and the first n are taken.
     */
    static int[] top(double[] score, int n) {
        Integer[] order = IntStream.range(0, score.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> score[i]).reversed().thenComparingInt(i -> i));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = order[i];
        }
        return out;
    }

    /**
     * Per token row, {@code ‖R_T‖² = Σ_d r_d²} in double over d in order: R_T the residual after the span's T
     * stages, {@code R_t = bf16(R_{t−1} − C_t[id_t])} (SPEC §4, §5), the input of the block quantizer and the
     * error an id-only token would have before its bf16 rounding.
     */
    static double[] residualEnergy(KvTensor x, QuantizedSpan span) {
        int s = x.tokens(), dim = x.dim();
        double[] out = new double[x.headCount() * s];
        int[] ids = new int[s];
        for (int bh = 0; bh < x.headCount(); bh++) {
            float[] r = x.headAsFloats(bh);
            for (int t = 0; t < span.config().stages(); t++) {
                for (int n = 0; n < s; n++) {
                    ids[n] = span.clusterId(t, bh * s + n);
                }
                Smoothing.subtract(r, s, dim, ids, span.centroidsAsFloats(t, bh), r);
            }
            for (int n = 0; n < s; n++) {
                double e = 0;
                for (int d = 0; d < dim; d++) {
                    e += (double) r[n * dim + d] * r[n * dim + d];
                }
                out[bh * s + n] = e;
            }
        }
        return out;
    }

    /**
     * XStreamVGGT's token score for the first p tokens, in double, every sum in index order from +0: the queries
     * are the K rows of the newest {@code queries} tokens of each head (SPEC §14.4), mean-pooled in consecutive
     * groups of {@link #POOL} (a shorter last group), then averaged over heads, {@code q̄_g}; the keys averaged
     * over heads, {@code k̄_t}; score {@code Σ_g Σ_d q̄_g,d · k̄_t,d} (the official mean over groups times their
     * count, the same order).
     */
    double[] queryScore(KvTensor k, int p) {
        if (k.batch() != 1 || queries > k.tokens()) {
            throw new InvalidInputException(k.name() + ": the query score needs batch 1 and at least " + queries
                    + " tokens, got " + k.shapeString());
        }
        int h = k.heads(), s = k.tokens(), dim = k.dim();
        int groups = (queries + POOL - 1) / POOL;
        double[] qbar = new double[groups * dim];
        double[] kbar = new double[p * dim];
        for (int g = 0; g < groups; g++) {
            int from = s - queries + g * POOL, to = Math.min(from + POOL, s);
            for (int d = 0; d < dim; d++) {
                double heads = 0;
                for (int bh = 0; bh < h; bh++) {
                    double sum = 0;
                    for (int t = from; t < to; t++) {
                        sum += Bf16.toFloat(k.bits()[k.headOffset(bh) + t * dim + d]);
                    }
                    heads += sum / (to - from);
                }
                qbar[g * dim + d] = heads / h;
            }
        }
        for (int t = 0; t < p; t++) {
            for (int d = 0; d < dim; d++) {
                double sum = 0;
                for (int bh = 0; bh < h; bh++) {
                    sum += Bf16.toFloat(k.bits()[k.headOffset(bh) + t * dim + d]);
                }
                kbar[t * dim + d] = sum / h;
            }
        }
        double[] score = new double[p];
        for (int t = 0; t < p; t++) {
            double sum = 0;
            for (int g = 0; g < groups; g++) {
                for (int d = 0; d < dim; d++) {
                    sum += qbar[g * dim + d] * kbar[t * dim + d];
                }
            }
            score[t] = sum;
        }
        return score;
    }

    /** The tensor's output given which rows keep their codes. */
    Quantized build(KvTensor x, boolean[] keep) {
        int rows = x.headCount() * x.tokens(), s = x.tokens(), dim = x.dim();
        QuantConfig c = qvg.quantConfig();
        int blocks = c.blocksPerRow(dim);
        int kept = 0;
        for (boolean b : keep) {
            kept += b ? 1 : 0;
        }
        boolean shared = salience == Salience.QUERY;
        long index = (shared ? 1L : x.headCount()) * ((s + 7) / 8);
        short[] out = new short[x.elementCount()];
        float[] steps = new float[rows * blocks];
        MemoryFootprint f;
        if (mode == Mode.DROP && salience == Salience.QUERY) {
            // XStreamVGGT's order: prune, then quantize what is left (k-means over the kept tokens only).
            int perHead = kept / x.headCount();
            if (perHead == 0) {
                throw new InvalidInputException(x.name() + ": token pruning keeps no token of " + x.shapeString());
            }
            short[] bits = new short[x.headCount() * perHead * dim];
            int[] rowOf = new int[x.headCount() * perHead];
            for (int r = 0, i = 0; r < rows; r++) {
                if (keep[r]) {
                    System.arraycopy(x.bits(), r * dim, bits, i * dim, dim);
                    rowOf[i++] = r;
                }
            }
            KvTensor compact = new KvTensor(x.name(), x.batch(), x.heads(), perHead, dim, bits);
            QuantizedSpan span = new Qvg(qvg.family(), c, seed, codec, new Qvg.Clusterings()).encode(compact);
            short[] deq = codec.decode(span).bits();
            for (int i = 0; i < rowOf.length; i++) {
                System.arraycopy(deq, i * dim, out, rowOf[i] * dim, dim);
                for (int j = 0; j < blocks; j++) {
                    steps[rowOf[i] * blocks + j] = span.scale(i * blocks + j);
                }
            }
            MemoryFootprint sf = span.footprint();
            f = new MemoryFootprint(x.elementCount(), sf.codeBytes(), sf.scaleBytes(), sf.zeroBytes(), sf.idBytes(),
                    sf.centroidBytes());
        } else {
            QuantizedSpan span = qvg.encode(x);
            short[] deq = codec.decode(span).bits();
            for (int r = 0; r < rows; r++) {
                if (keep[r]) {
                    System.arraycopy(deq, r * dim, out, r * dim, dim);
                    for (int j = 0; j < blocks; j++) {
                        steps[r * blocks + j] = span.scale(r * blocks + j);
                    }
                } else if (mode == Mode.ID_ONLY) {
                    centroidSum(span, r / s, r, out, r * dim);
                }
                // A dropped row stays +0: it is not stored and attention skips it.
            }
            MemoryFootprint full = span.footprint();
            long codes = (long) kept * c.packedBytesPerRow(dim);
            long scales = (long) kept * blocks * c.scaleFormat().bytes();
            long ids = (long) c.stages() * (mode == Mode.ID_ONLY ? rows : kept);
            f = new MemoryFootprint(x.elementCount(), codes, scales, c.asymmetric() ? scales : 0, ids, full.centroidBytes());
        }
        boolean[] dropped = null;
        if (mode == Mode.DROP) {
            dropped = new boolean[rows];
            for (int r = 0; r < rows; r++) {
                dropped[r] = !keep[r];
            }
        }
        KvTensor deq = new KvTensor(x.name(), x.batch(), x.heads(), s, dim, out);
        return new Quantized(deq, new Accounting(f, 0, index),
                new KeyNoise(x.headCount(), s, dim, c.groupSize(), steps, null), dropped);
    }

    /**
     * An id-only row (SPEC §16.5): §7 with a residual of +0, {@code acc = +0; acc += C_t[id_t][d]} for t = 1 … T
     * in stage order, in fp32, then one bf16 rounding.
     */
    static void centroidSum(QuantizedSpan span, int bh, int row, short[] out, int offset) {
        for (int d = 0; d < span.dim(); d++) {
            float acc = 0f;
            for (int t = 0; t < span.config().stages(); t++) {
                acc += span.centroid(t, bh, span.clusterId(t, row), d);
            }
            out[offset + d] = Bf16.fromFloat(acc);
        }
    }
}
