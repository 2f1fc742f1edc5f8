package io.qvg4j.golden;

import io.qvg4j.algorithm.SplitMix64;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;

/**
 * Seeded data for the golden cases, built only from SplitMix64 and {@link StrictMath}, so the inputs
 * themselves can never drift with the JDK (unlike {@code java.util.Random}'s Gaussians). Values are
 * rounded to bf16 as they are made. The known-answer vectors (module harness) are built from it too.
 */
public final class SyntheticData {
    /** What one block of G channels of a token holds; the kinds aim at the edges of the numeric rules. */
    public enum Block {
        /** The token's cluster centre plus noise. */
        GAUSS,
        /** ±0 (SPEC §2.6, §6.2 all-zero block). */
        SIGNED_ZERO,
        /** One value repeated (asymmetric: max − min = 0). */
        CONSTANT,
        /** bf16 subnormals of both signs. */
        SUBNORMAL,
        /** Exact quantizer ties (k + ½)·s with amax = m·s (SPEC §2.4). */
        TIE,
        /** amax near 448·m, around the FP8 saturation (SPEC §2.2). */
        NEAR_448M,
        /** amax near 2^−10·m, around the FP8 underflow tie (SPEC §2.2). */
        NEAR_TINY,
        /** Negative magnitudes below 2^−10 with a few positive ones: FP8 −0 zero points (SPEC §2.2, §6.3). */
        TINY_NEGATIVE
    }

    private final SplitMix64 rng;

    public SyntheticData(long seed) {
        rng = new SplitMix64(seed);
    }

    /** Uniform in [0, 1), 53 bits. */
    public double uniform() {
        return (rng.next() >>> 11) * 0x1p-53;
    }

    public int below(int n) {
        return (int) Long.remainderUnsigned(rng.next(), n);
    }

    public boolean coin() {
        return rng.next() < 0;
    }

    /** A standard normal value (Box–Muller, one of the pair). */
    public double gaussian() {
        double u = 1.0 - uniform();
        return StrictMath.sqrt(-2.0 * StrictMath.log(u)) * StrictMath.cos(2.0 * StrictMath.PI * uniform());
    }

    /**
     * {@code [heads, tokens, dim]} bf16 values: each head has {@code centres} cluster centres (N(0, 4) per
     * channel); each token picks one and adds N(0, spread²) noise; then each block of G channels is
     * replaced, with probability {@code share}, by one of {@code kinds}; and with probability
     * {@code duplicates} a token is an exact copy of an earlier one of its head.
     */
    public short[] tokens(int heads, int tokens, int dim, int g, int m, int centres, double spread, double share,
                   double duplicates, Block... kinds) {
        short[] out = new short[heads * tokens * dim];
        float[] centre = new float[centres * dim];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < centre.length; i++) {
                centre[i] = (float) (2.0 * gaussian());
            }
            for (int s = 0; s < tokens; s++) {
                int row = (h * tokens + s) * dim;
                if (s > 0 && uniform() < duplicates) {
                    System.arraycopy(out, (h * tokens + below(s)) * dim, out, row, dim);
                    continue;
                }
                int c = below(centres) * dim;
                for (int d = 0; d < dim; d++) {
                    out[row + d] = Bf16.fromFloat((float) (centre[c + d] + spread * gaussian()));
                }
                for (int b = 0; b < dim; b += g) {
                    if (kinds.length > 0 && uniform() < share) {
                        block(kinds[below(kinds.length)], out, row + b, g, m);
                    }
                }
            }
        }
        return out;
    }

    private void block(Block kind, short[] out, int at, int g, int m) {
        float s = Fp8E4M3.decode((byte) (0x08 + below(0x7E - 0x08)));
        float constant = (float) gaussian();
        for (int i = at; i < at + g; i++) {
            float sign = coin() ? 1f : -1f;
            float x = switch (kind) {
                case GAUSS -> (float) gaussian();
                case SIGNED_ZERO -> sign * 0f;
                case CONSTANT -> constant;
                case SUBNORMAL -> sign * Float.intBitsToFloat((1 + below(0x7F)) << 16);
                case TIE -> (below(2 * m) - m + 0.5f) * s;
                case NEAR_448M -> sign * 448f * m * (1f + (below(5) - 2) / 64f);
                case NEAR_TINY -> sign * 0x1p-10f * m * (1f + (below(5) - 2) / 8f);
                case TINY_NEGATIVE -> below(8) == 0 ? (float) (uniform() * 0x1p-12) : (float) (-uniform() * 0x1p-11);
            };
            out[i] = Bf16.fromFloat(x);
        }
        if (kind == Block.TIE) {
            out[at + below(g)] = Bf16.fromFloat((coin() ? 1 : -1) * m * s);
        }
    }
}
