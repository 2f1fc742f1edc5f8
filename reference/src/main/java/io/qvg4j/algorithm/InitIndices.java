package io.qvg4j.algorithm;

import io.qvg4j.tensor.InvalidInputException;

/**
 * Initial k-means indices {@code [T][B·H][Kc]}: centroid k of stage t, head bh starts as token
 * {@code init[t][bh][k]} of that stage's input. Drawn with replacement, as the official code does, so
 * duplicates (dead codebook slots) are possible.
 */
public final class InitIndices {
    private InitIndices() {}

    /**
     * Draws the indices from SplitMix64 seeded with {@code seed} (SPEC §3.1): stage by stage, then head by
     * head, then k; each index is {@code Long.remainderUnsigned(next(), tokens)}.
     */
    public static int[][][] fromSeed(long seed, int stages, int headCount, int kc, int tokens) {
        SplitMix64 rng = new SplitMix64(seed);
        int[][][] init = new int[stages][headCount][kc];
        for (int t = 0; t < stages; t++) {
            for (int bh = 0; bh < headCount; bh++) {
                for (int k = 0; k < kc; k++) {
                    init[t][bh][k] = (int) Long.remainderUnsigned(rng.next(), tokens);
                }
            }
        }
        return init;
    }

    /** Throws unless the indices have shape {@code [stages][headCount][kc]} and lie in [0, tokens). */
    public static void validate(int[][][] init, int stages, int headCount, int kc, int tokens) {
        if (init.length != stages) {
            throw new InvalidInputException("initial indices: " + init.length + " stages given, config has T = " + stages);
        }
        for (int t = 0; t < stages; t++) {
            if (init[t].length != headCount) {
                throw new InvalidInputException("initial indices: stage " + t + " has " + init[t].length
                        + " heads, the tensor has B·H = " + headCount);
            }
            for (int bh = 0; bh < headCount; bh++) {
                if (init[t][bh].length != kc) {
                    throw new InvalidInputException("initial indices: stage " + t + ", head " + bh + " has "
                            + init[t][bh].length + " entries, config has Kc = " + kc);
                }
                for (int k = 0; k < kc; k++) {
                    int i = init[t][bh][k];
                    if (i < 0 || i >= tokens) {
                        throw new InvalidInputException("initial indices: [" + t + "][" + bh + "][" + k + "] = " + i
                                + " is not a token index in [0, " + tokens + ")");
                    }
                }
            }
        }
    }
}
