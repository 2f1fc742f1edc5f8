package io.qvg4j.baselines;

import io.qvg4j.cache.JensenCorrection;
import io.qvg4j.cache.ScoreCorrection;

/**
 * The rounding step of every block of every key, in the coordinates where the method rounds: the head
 * dimension itself, or its Hadamard rotation (QuaRot), in which a query's block norms are taken.
 *
 * @param blockSize channels sharing one step (1 for KIVI's per-channel key steps)
 * @param steps     {@code [B·H][S][D / blockSize]}, 0 for keys stored exactly
 * @param rotation  the rotation the steps live in, or null
 */
public record KeyNoise(int heads, int tokens, int dim, int blockSize, float[] steps, HadamardRotation rotation) {

    /**
     * The correction of SPEC §12.1 for attention over these keys whose tokens from {@code exactFrom} on
     * are read unquantized (their steps taken as 0).
     */
    public ScoreCorrection correction(int exactFrom) {
        int blocks = dim / blockSize;
        float[] s = steps.clone();
        for (int h = 0; h < heads; h++) {
            java.util.Arrays.fill(s, (h * tokens + exactFrom) * blocks, (h + 1) * tokens * blocks, 0f);
        }
        JensenCorrection plain = new JensenCorrection(heads, tokens, dim, blockSize, s);
        if (rotation == null) {
            return plain;
        }
        // q·k = (Rq)·(Rk) for the orthogonal R: the noise is uniform in R's coordinates, so the query's block
        // norms are those of Rq. The buffer is per call: attention calls this from several threads.
        return (head, queries, qOffset, from, n, scores, sOffset) -> {
            float[] rotated = new float[dim];
            rotation.forward(queries, qOffset, rotated, 0);
            plain.correct(head, rotated, 0, from, n, scores, sOffset);
        };
    }
}
