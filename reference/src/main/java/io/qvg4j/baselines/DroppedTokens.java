package io.qvg4j.baselines;

import io.qvg4j.cache.ScoreCorrection;

/**
 * True pruning in attention (SPEC §16.5): the score of a dropped token becomes −∞, so its softmax numerator is
 * {@code exp(−∞) = +0} and it adds nothing to the sum or the output. Attention over the rest then gives the bytes
 * of attention over the kept tokens alone (the maximum ignores −∞, and adding +0 or {@code fma(+0, v, acc)} leaves
 * every running sum as it was). Tokens from {@code exactFrom} on are the current chunk and are never dropped.
 */
public final class DroppedTokens implements ScoreCorrection {
    private final boolean[] dropped;
    private final int tokens;
    private final int exactFrom;
    private final ScoreCorrection before;

    /**
     * @param dropped   {@code [H·S]}, true for a token removed from attention
     * @param before    a correction applied first (the Jensen correction of SPEC §12.1), or null
     */
    public DroppedTokens(boolean[] dropped, int tokens, int exactFrom, ScoreCorrection before) {
        this.dropped = dropped;
        this.tokens = tokens;
        this.exactFrom = exactFrom;
        this.before = before;
    }

    @Override
    public void correct(int head, float[] queries, int qOffset, int from, int n, float[] scores, int sOffset) {
        if (before != null) {
            before.correct(head, queries, qOffset, from, n, scores, sOffset);
        }
        for (int i = 0; i < n && from + i < exactFrom; i++) {
            if (dropped[head * tokens + from + i]) {
                scores[sOffset + i] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
