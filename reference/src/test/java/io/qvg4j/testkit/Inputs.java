package io.qvg4j.testkit;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.tensor.KvTensor;

import java.util.SplittableRandom;

/**
 * The one generator of nasty test data: bf16 values built block by block (a block is G consecutive
 * channels of one token) from a seed, so a failing case is rebuilt exactly from the seed a failure
 * prints. Block kinds aim at the edges of the numeric rules: ±0, subnormals, exact quantizer ties
 * (k+0.5)·s, amax near 448·m (FP8 saturation) and near 2^−10·m (FP8 underflow tie), all-zero and
 * constant blocks, duplicate tokens and large offsets (1000 or −3·10^4, so that sums cancel). With
 * {@code huge}, blocks near the bf16 maximum (±3·10^38) join them, whose sums overflow to infinity and
 * whose inf − inf makes NaN.
 * <p>
 * Every value is a bf16 value (a float whose low 16 bits are zero) and finite; without {@code huge} its
 * magnitude is below 2^17·m.
 */
public final class Inputs {
    private Inputs() {}

    /**
     * {@code tokens × dim} values in blocks of {@code g} (the last block of a row is cut short when g does
     * not divide dim); {@code m} (the quantizer's largest code magnitude, ≥ 1) sizes the ties and 448·m.
     */
    public static float[] values(long seed, int tokens, int dim, int g, int m) {
        return values(seed, tokens, dim, g, m, false);
    }

    /** {@link #values(long, int, int, int, int)}, with blocks near the bf16 maximum where {@code huge}. */
    public static float[] values(long seed, int tokens, int dim, int g, int m, boolean huge) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[tokens * dim];
        float offset = r.nextInt(4) == 0 ? (r.nextBoolean() ? 1000f : -3.0e4f) : 0f;
        for (int n = 0; n < tokens; n++) {
            if (n > 0 && r.nextInt(6) == 0) {
                int from = r.nextInt(n);
                System.arraycopy(v, from * dim, v, n * dim, dim);
                continue;
            }
            int end = (n + 1) * dim;
            for (int b = n * dim; b < end; b += g) {
                block(r, v, b, Math.min(g, end - b), m, offset, huge);
            }
        }
        return v;
    }

    private static void block(SplittableRandom r, float[] v, int at, int g, int m, float offset, boolean huge) {
        int kind = r.nextInt(huge ? 11 : 10);
        float s = Fp8E4M3.decode((byte) r.nextInt(0x08, 0x7E));
        float constant = Bf16.round((float) r.nextGaussian());
        for (int i = at; i < at + g; i++) {
            float x = switch (kind) {
                case 0 -> r.nextBoolean() ? 0f : -0f;
                case 1 -> constant;
                case 2 -> Float.intBitsToFloat(r.nextInt(1, 0x80) << 16) * (r.nextBoolean() ? 1 : -1);
                case 3 -> (r.nextInt(-m, m) + 0.5f) * s;
                case 4 -> 448f * m * (1f + (r.nextInt(5) - 2) / 64f) * (r.nextBoolean() ? 1 : -1);
                case 5 -> 0x1p-10f * m * (1f + (r.nextInt(5) - 2) / 8f) * (r.nextBoolean() ? 1 : -1);
                case 6 -> offset + (float) r.nextGaussian() * 4f;
                case 10 -> 0x1.fcp127f * (1f - r.nextInt(64) / 256f) * (r.nextBoolean() ? 1 : -1);
                default -> (float) r.nextGaussian() * (r.nextBoolean() ? 1f : 0.01f);
            };
            v[i] = Bf16.round(x);
        }
        if (kind == 3 && g > 1) {
            v[at + r.nextInt(g)] = Bf16.round(m * s * (r.nextBoolean() ? 1 : -1));
        }
    }

    /** The bf16 patterns of values that are already bf16 values. */
    public static short[] bf16(float[] v) {
        short[] b = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Bf16.fromFloat(v[i]);
        }
        return b;
    }

    /** A {@code [1, heads, tokens, dim]} tensor of {@link #values} (blocks of g, ties sized by m). */
    public static KvTensor tensor(long seed, int heads, int tokens, int dim, int g, int m, boolean huge) {
        return new KvTensor("x(seed " + seed + ")", 1, heads, tokens, dim, bf16(values(seed, heads * tokens, dim, g, m, huge)));
    }
}
