package io.qvg4j.cache;

import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;

/**
 * The Jensen-bias correction of attention over quantized keys (SPEC §12.1). Rounding noise of step Δ,
 * uniform in a block, has variance Δ²/12 per channel; since exp is convex, E[exp(q·k̂/√D)] exceeds
 * exp(q·k/√D) by the factor exp(½·Var(q·(k̂ − k))/D) = exp(Σ_b ‖q_b‖²·Δ_b²/(24·D)) to second order, and the
 * quantized keys take attention mass from the exact ones. Subtracting that exponent from each score removes
 * the bias in expectation, from the step sizes the cache already stores.
 *
 * <p>Arithmetic, fp32 throughout: {@code n_b = Σ_{d∈b} q_d·q_d} (fused multiply-adds over d in order from
 * +0); {@code acc = Σ_b fma(n_b, Δ_b·Δ_b, acc)} over blocks in order from +0 ({@code Δ_b·Δ_b} one
 * multiplication); {@code score −= acc · c} with {@code c = (float) (1 / (24·D))} computed in double. A
 * token whose steps are all 0 (stored exactly) keeps its score bit for bit.
 */
public final class JensenCorrection implements ScoreCorrection {
    private final int heads;
    private final int tokens;
    private final int dim;
    private final int blockSize;
    private final float[] steps;
    private final float c;

    /**
     * @param blockSize channels sharing one step (G of a blockwise quantizer; 1 for per-channel steps)
     * @param steps     {@code [heads][tokens][D / blockSize]}: the rounding step of each block of each key,
     *                  0 where the key is stored exactly
     */
    public JensenCorrection(int heads, int tokens, int dim, int blockSize, float[] steps) {
        if (blockSize < 1 || dim % blockSize != 0 || steps.length != (long) heads * tokens * (dim / blockSize)) {
            throw new InvalidInputException("Jensen correction: " + steps.length + " steps for " + heads + " heads, "
                    + tokens + " tokens, D = " + dim + " in blocks of " + blockSize);
        }
        this.heads = heads;
        this.tokens = tokens;
        this.dim = dim;
        this.blockSize = blockSize;
        this.steps = steps;
        this.c = coefficient(dim);
    }

    /**
     * The correction for attention over a source whose first {@code span.tokens()} tokens per head are the
     * keys of a quantized span (batch 1) and whose remaining {@code totalTokens − span.tokens()} are bf16:
     * the step of each block is its stored scale (SPEC §6.2, §6.3), the bf16 tokens get none.
     */
    public static JensenCorrection ofSpan(QuantizedSpan span, int totalTokens) {
        if (span.batch() != 1 || totalTokens < span.tokens()) {
            throw new InvalidInputException("Jensen correction: span of batch " + span.batch() + " and "
                    + span.tokens() + " tokens for a source of " + totalTokens + " tokens");
        }
        int blocks = span.config().blocksPerRow(span.dim());
        float[] steps = new float[span.heads() * totalTokens * blocks];
        for (int h = 0; h < span.heads(); h++) {
            for (int t = 0; t < span.tokens(); t++) {
                for (int j = 0; j < blocks; j++) {
                    steps[(h * totalTokens + t) * blocks + j] = span.scale((h * span.tokens() + t) * blocks + j);
                }
            }
        }
        return new JensenCorrection(span.heads(), totalTokens, span.dim(), span.config().groupSize(), steps);
    }

    /** {@code c = (float) (1 / (24·D))}: ½ of the variance Δ²/12, over D. */
    public static float coefficient(int dim) {
        return (float) (1.0 / (24.0 * dim));
    }

    /** {@code out[b] = Σ_{d∈b} q_d·q_d}, fused multiply-adds over d in order from +0. */
    public static void blockNorms(float[] q, int qOffset, int dim, int blockSize, float[] out) {
        for (int b = 0; b < dim / blockSize; b++) {
            float n = 0f;
            for (int d = b * blockSize; d < (b + 1) * blockSize; d++) {
                n = Math.fma(q[qOffset + d], q[qOffset + d], n);
            }
            out[b] = n;
        }
    }

    /** The amount subtracted from one score: {@code (Σ_b fma(n_b, Δ_b·Δ_b, acc)) · c}. */
    public static float term(float[] norms, int blocks, float[] steps, int stepOffset, float c) {
        float acc = 0f;
        for (int b = 0; b < blocks; b++) {
            float step = steps[stepOffset + b];
            acc = Math.fma(norms[b], step * step, acc);
        }
        return acc * c;
    }

    @Override
    public void correct(int head, float[] queries, int qOffset, int from, int n, float[] scores, int sOffset) {
        if (head >= heads || from + n > tokens) {
            throw new InvalidInputException("Jensen correction: head " + head + ", tokens [" + from + ", " + (from + n)
                    + ") outside its " + heads + " heads of " + tokens + " tokens");
        }
        int blocks = dim / blockSize;
        float[] norms = new float[blocks]; // per call: attention calls this from several threads
        blockNorms(queries, qOffset, dim, blockSize, norms);
        for (int i = 0; i < n; i++) {
            scores[sOffset + i] -= term(norms, blocks, steps, (head * tokens + from + i) * blocks, c);
        }
    }
}
