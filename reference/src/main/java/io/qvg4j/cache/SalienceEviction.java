package io.qvg4j.cache;

import io.qvg4j.tensor.InvalidInputException;

/**
 * Eviction by per-token salience instead of by age (SPEC §16.4, after PaFu-KV): after every append, while more
 * than {@code tokenBudget} tokens are live, the live token with the lowest salience is evicted, the older one
 * first among equal scores. The sink frames and the newest {@code protectRecentFrames} frames are never
 * evicted. A token is one position of every head: K and V of all heads go together.
 *
 * @param tokenBudget         live tokens kept (0: no salience eviction)
 * @param protectRecentFrames newest frames never evicted; at least the policy's span plus keep-recent frames,
 *                            so only whole frames are ever quantized
 */
public record SalienceEviction(int tokenBudget, int protectRecentFrames) {

    public static final SalienceEviction NONE = new SalienceEviction(0, 0);

    public SalienceEviction {
        if (tokenBudget < 0 || protectRecentFrames < 0) {
            throw new InvalidInputException("salience eviction: token budget " + tokenBudget + " and protected frames "
                    + protectRecentFrames + " must be >= 0");
        }
    }

    public boolean isNone() {
        return tokenBudget == 0;
    }

    /**
     * One score per token from {@code [tokens]} or {@code [heads, tokens]} scores: the mean over heads, summed in
     * double in head order and divided by H, as PaFu-KV averages its salience over heads. Every score must be finite.
     */
    public static double[] perToken(float[] scores, int heads, int tokens, String what) {
        if (scores.length != tokens && scores.length != (long) heads * tokens) {
            throw new InvalidInputException(what + ": " + scores.length + " salience scores; expected [S] = " + tokens
                    + " or [H,S] = " + heads + "·" + tokens);
        }
        for (int i = 0; i < scores.length; i++) {
            if (!Float.isFinite(scores[i])) {
                throw new InvalidInputException(what + ": salience score " + i + " is " + scores[i] + "; scores must be finite");
            }
        }
        double[] out = new double[tokens];
        int h = scores.length / tokens;
        for (int t = 0; t < tokens; t++) {
            double sum = 0;
            for (int j = 0; j < h; j++) {
                sum += scores[j * tokens + t];
            }
            out[t] = sum / h;
        }
        return out;
    }

    @Override
    public String toString() {
        return isNone() ? "none" : tokenBudget + " tokens, newest " + protectRecentFrames + " frames protected";
    }
}
