package io.qvg4j.baselines;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.ScoreCorrection;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Every method on the same K and V (SPEC §14.4): storage, rel-L2 of K and V, and what attention sees. The
 * attention is that of a streaming cache: the newest {@code window} tokens of each head are the current,
 * unquantized chunk; the older ones are read as the method dequantized them; the queries are the K rows of
 * the newest {@code queries} tokens (the sample holds no Q). Measured against attention over the bf16
 * tensors: the output's rel-L2 and the attention mass the quantized part gains, each without and with the
 * Jensen correction (SPEC §12.1). Tokens a method dropped (true pruning, SPEC §16.5) are skipped by attention.
 */
public final class Evaluation {

    /**
     * One method's figures. Mass shift: the mean over heads and queries of the attention mass on the quantized
     * tokens minus that of exact attention (positive: the quantized keys take mass from the current chunk).
     * The corrected figures are NaN for a method without key steps.
     */
    public record Row(Method method, Accounting keys, Accounting values, double keyError, double valueError,
                      double attentionError, double correctedAttentionError, double massShift, double correctedMassShift,
                      double exactQuantizedMass) {

        public double bitsPerElement() {
            return keys.plus(values).bitsPerElement();
        }
    }

    private final CacheAttention attention;
    private final int queries;
    private final int window;

    public Evaluation(AttentionKernels kernels, int queries, int window) {
        if (queries < 1 || window < queries) {
            throw new InvalidInputException("evaluation: " + queries + " queries, window " + window
                    + "; need 1 <= queries <= window");
        }
        this.attention = new CacheAttention(kernels);
        this.queries = queries;
        this.window = window;
    }

    public int queries() {
        return queries;
    }

    public int window() {
        return window;
    }

    /** Runs every method on k and v ({@code [1,H,S,D]}, the same shape, S > window). */
    public List<Row> run(KvTensor k, KvTensor v, List<? extends Method> methods) {
        if (k.batch() != 1 || !k.shapeString().equals(v.shapeString()) || k.tokens() <= window) {
            throw new InvalidInputException("evaluation: K " + k.shapeString() + " and V " + v.shapeString()
                    + " must be one [1,H,S,D] shape with S above the window of " + window + " tokens");
        }
        int exactFrom = k.tokens() - window;
        float[] q = newestKeys(k, queries);
        float[] exact = attention.attend(TokenSource.of(k, v), q, queries);
        double exactMass = mean(attention.attend(indicator(k, exactFrom), q, queries), k.dim());
        List<Row> rows = new ArrayList<>();
        for (Method m : methods) {
            Method.Pair out = m.apply(k, v);
            Quantized qk = out.keys(), qv = out.values();
            KvTensor keys = withExactTail(qk.dequantized(), k, exactFrom);
            TokenSource src = TokenSource.of(keys, withExactTail(qv.dequantized(), v, exactFrom));
            // A token is dropped as a K and V pair, by the keys' mask (SPEC §16.5); null attends every token.
            ScoreCorrection drop = qk.dropped() == null ? null : new DroppedTokens(qk.dropped(), k.tokens(), exactFrom, null);
            double err = relL2(attention.attend(src, q, queries, drop), exact);
            double mass = mean(attention.attend(indicator(keys, exactFrom), q, queries, drop), k.dim()) - exactMass;
            double errC = Double.NaN, massC = Double.NaN;
            if (qk.noise() != null) {
                ScoreCorrection c = qk.noise().correction(exactFrom);
                c = qk.dropped() == null ? c : new DroppedTokens(qk.dropped(), k.tokens(), exactFrom, c);
                errC = relL2(attention.attend(src, q, queries, c), exact);
                massC = mean(attention.attend(indicator(keys, exactFrom), q, queries, c), k.dim()) - exactMass;
            }
            rows.add(new Row(m, qk.accounting(), qv.accounting(), relL2(qk.dequantized(), k), relL2(qv.dequantized(), v),
                    err, errC, mass, massC, exactMass));
        }
        return rows;
    }

    /** {@code ‖a − ref‖ / ‖ref‖} over every element in order, in double. */
    public static double relL2(KvTensor a, KvTensor ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.elementCount(); i++) {
            double x = Bf16.toFloat(ref.bits()[i]);
            double d = Bf16.toFloat(a.bits()[i]) - x;
            num += d * d;
            den += x * x;
        }
        return Math.sqrt(num / den);
    }

    /** {@code ‖a − ref‖ / ‖ref‖} of two float arrays, in double. */
    public static double relL2(float[] a, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) a[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    /** K rows of the newest n tokens of every head, {@code [H, n, D]}. */
    public static float[] newestKeys(KvTensor k, int n) {
        int dim = k.dim();
        float[] out = new float[k.heads() * n * dim];
        for (int h = 0; h < k.heads(); h++) {
            Bf16.toFloats(k.bits(), k.headOffset(h) + (k.tokens() - n) * dim, out, h * n * dim, n * dim);
        }
        return out;
    }

    /** The dequantized tensor with tokens [from, S) of every head replaced by the original's. */
    static KvTensor withExactTail(KvTensor deq, KvTensor original, int from) {
        short[] bits = deq.bits().clone();
        int dim = deq.dim();
        for (int bh = 0; bh < deq.headCount(); bh++) {
            int o = deq.headOffset(bh) + from * dim;
            System.arraycopy(original.bits(), o, bits, o, (deq.tokens() - from) * dim);
        }
        return new KvTensor(deq.name(), deq.batch(), deq.heads(), deq.tokens(), dim, bits);
    }

    /**
     * The keys with values 1 in every channel for tokens before {@code until} and 0 after: attention over it
     * returns, in each channel, the softmax mass on tokens [0, until).
     */
    static TokenSource indicator(KvTensor keys, int until) {
        short[] ones = new short[keys.elementCount()];
        short one = Bf16.fromFloat(1f);
        for (int bh = 0; bh < keys.headCount(); bh++) {
            java.util.Arrays.fill(ones, keys.headOffset(bh), keys.headOffset(bh) + until * keys.dim(), one);
        }
        return TokenSource.of(keys, new KvTensor("indicator", 1, keys.heads(), keys.tokens(), keys.dim(), ones));
    }

    /** The mean of channel 0 over all [H, Q] rows. */
    private static double mean(float[] out, int dim) {
        double s = 0;
        int rows = out.length / dim;
        for (int r = 0; r < rows; r++) {
            s += out[r * dim];
        }
        return s / rows;
    }
}
