package io.qvg4j.cache;

/**
 * A change of attention scores before the softmax, applied by {@link CacheAttention} to each tile of scores
 * right after the kernel computed them. Runs in plain Java beside every {@link AttentionKernels}, so it cannot
 * make two kernels disagree. It is called from every thread of a {@link CacheAttention} at once, so it keeps no
 * scratch between calls.
 */
public interface ScoreCorrection {

    /**
     * Adjusts {@code scores[sOffset + i]}, the score of the query at {@code queries[qOffset…qOffset+D)} against
     * token {@code from + i} of {@code head}, for i in [0, n).
     */
    void correct(int head, float[] queries, int qOffset, int from, int n, float[] scores, int sOffset);
}
