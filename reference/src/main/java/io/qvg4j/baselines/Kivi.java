package io.qvg4j.baselines;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Rounding;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

/**
 * KIVI (arXiv 2402.02750, SPEC §14.2): asymmetric min/max quantization, keys per channel in groups of G
 * consecutive tokens, values per token in groups of G consecutive channels, the newest tokens kept in bf16
 * (the residual window). Per head, the first {@code P = G·⌊max(S − R, 0)/G⌋} tokens are quantized and the
 * remaining {@code S − P} (at least R unless S ≤ R) stay bf16.
 */
public final class Kivi implements Method {
    private final int bits;
    private final int groupSize;
    private final int window;

    public Kivi(int bits, int groupSize, int window) {
        if (bits < 1 || bits > 8 || groupSize < 1 || window < 0) {
            throw new InvalidInputException("KIVI: bits " + bits + ", G " + groupSize + ", R " + window
                    + "; need 1..8 bits, G >= 1, R >= 0");
        }
        this.bits = bits;
        this.groupSize = groupSize;
        this.window = window;
    }

    /** KIVI's defaults: G = 32, R = 128. */
    public static Kivi of(int bits) {
        return new Kivi(bits, 32, 128);
    }

    @Override
    public String name() {
        return "KIVI-" + bits;
    }

    @Override
    public String family() {
        return "KIVI";
    }

    @Override
    public int bits() {
        return bits;
    }

    @Override
    public String config() {
        return "INT" + bits + " asym, keys per channel / values per token, G=" + groupSize + ", R=" + window
                + " newest tokens bf16, bf16 scale and zero point per group";
    }

    /** Tokens per head that are quantized: {@code G·⌊max(S − R, 0)/G⌋}. */
    public int quantizedTokens(int tokens) {
        return Math.max(tokens - window, 0) / groupSize * groupSize;
    }

    @Override
    public Quantized apply(KvTensor x, Role role) {
        if (x.dim() % groupSize != 0) {
            throw new InvalidInputException(x.name() + ": KIVI group size G = " + groupSize
                    + " does not divide the head dimension D = " + x.dim());
        }
        int s = x.tokens(), dim = x.dim(), heads = x.headCount();
        int p = quantizedTokens(s);
        short[] out = x.bits().clone();
        float[] steps = new float[heads * s * dim];
        float[] group = new float[groupSize];
        float[] deq = new float[groupSize];
        float[] step = new float[1];
        for (int bh = 0; bh < heads; bh++) {
            int base = x.headOffset(bh);
            if (role == Role.KEYS) {
                // Group = channel d of tokens [t0, t0+G): stride D.
                for (int t0 = 0; t0 < p; t0 += groupSize) {
                    for (int d = 0; d < dim; d++) {
                        for (int i = 0; i < groupSize; i++) {
                            group[i] = Bf16.toFloat(x.bits()[base + (t0 + i) * dim + d]);
                        }
                        quantizeGroup(group, groupSize, bits, deq, step);
                        for (int i = 0; i < groupSize; i++) {
                            out[base + (t0 + i) * dim + d] = Bf16.fromFloat(deq[i]);
                            steps[(bh * s + t0 + i) * dim + d] = step[0];
                        }
                    }
                }
            } else {
                for (int t = 0; t < p; t++) {
                    for (int d0 = 0; d0 < dim; d0 += groupSize) {
                        Bf16.toFloats(x.bits(), base + t * dim + d0, group, 0, groupSize);
                        quantizeGroup(group, groupSize, bits, deq, step);
                        for (int i = 0; i < groupSize; i++) {
                            out[base + t * dim + d0 + i] = Bf16.fromFloat(deq[i]);
                            steps[(bh * s + t) * dim + d0 + i] = step[0];
                        }
                    }
                }
            }
        }
        long quantizedElements = (long) heads * p * dim;
        long groups = quantizedElements / groupSize;
        MemoryFootprint f = new MemoryFootprint(x.elementCount(), (quantizedElements * bits + 7) / 8, groups * 2, groups * 2, 0, 0);
        long bf16 = 2L * heads * (s - p) * dim;
        KeyNoise noise = role == Role.KEYS ? new KeyNoise(heads, s, dim, 1, steps, null) : null;
        return new Quantized(new KvTensor(x.name(), x.batch(), x.heads(), s, dim, out), new Accounting(f, bf16), noise);
    }

    /**
     * One group (SPEC §14.2): {@code mn, mx} by {@link Math#min}/{@link Math#max}; stored scale
     * {@code s = bf16((mx − mn) / (2^b − 1))} and zero point {@code z = bf16(mn)} (= mn: inputs are bf16);
     * {@code q = clamp(roundHalfAway((x − z) / s), 0, 2^b − 1)} with IEEE division and NaN (a constant
     * group, s = 0) → 0; {@code deq = q·s + z} in fp32, two roundings, the caller's bf16 rounding last.
     * {@code step[0]} receives s.
     */
    public static void quantizeGroup(float[] x, int g, int bits, float[] deq, float[] step) {
        int qmax = (1 << bits) - 1;
        float mn = x[0], mx = x[0];
        for (int i = 1; i < g; i++) {
            mn = Math.min(mn, x[i]);
            mx = Math.max(mx, x[i]);
        }
        float s = Bf16.round((mx - mn) / qmax);
        float z = Bf16.round(mn);
        for (int i = 0; i < g; i++) {
            float y = (x[i] - z) / s;
            float q = y != y ? 0f : Math.max(0f, Math.min(qmax, Rounding.roundHalfAway(y)));
            deq[i] = q * s + z;
        }
        step[0] = s;
    }
}
