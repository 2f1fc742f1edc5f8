package io.qvg4j.baselines;

import io.qvg4j.algorithm.SplitMix64;
import io.qvg4j.tensor.InvalidInputException;

/**
 * QuaRot's randomized Hadamard rotation of the head dimension (SPEC §14.3): {@code R = H_D·diag(σ)/√D} with
 * H_D the Sylvester Walsh–Hadamard matrix and σ_d = ±1 drawn from SplitMix64(seed), one draw per channel in
 * order, σ_d = −1 when the draw's top bit is set. R is orthogonal, so q·k = (Rq)·(Rk).
 */
public final class HadamardRotation {
    private final int dim;
    private final float[] signs;
    private final float norm;

    public HadamardRotation(int dim, long seed) {
        if (dim < 1 || Integer.bitCount(dim) != 1) {
            throw new InvalidInputException("QuaRot: head dimension D = " + dim + " is not a power of 2 (Walsh–Hadamard)");
        }
        this.dim = dim;
        this.signs = new float[dim];
        SplitMix64 rng = new SplitMix64(seed);
        for (int d = 0; d < dim; d++) {
            signs[d] = rng.next() < 0 ? -1f : 1f;
        }
        this.norm = (float) (1.0 / Math.sqrt(dim));
    }

    public int dim() {
        return dim;
    }

    public float sign(int d) {
        return signs[d];
    }

    /** {@code y = R·x}: signs applied (exact), then {@link #transform}, then each value times {@code (float) (1/√D)}. */
    public void forward(float[] x, int xOffset, float[] y, int yOffset) {
        for (int d = 0; d < dim; d++) {
            y[yOffset + d] = signs[d] * x[xOffset + d];
        }
        transform(y, yOffset, dim);
        for (int d = 0; d < dim; d++) {
            y[yOffset + d] *= norm;
        }
    }

    /** {@code x = Rᵀ·y = diag(σ)·H_D·y/√D}: {@link #transform}, times {@code (float) (1/√D)}, then the signs. */
    public void inverse(float[] y, int yOffset, float[] x, int xOffset) {
        System.arraycopy(y, yOffset, x, xOffset, dim);
        transform(x, xOffset, dim);
        for (int d = 0; d < dim; d++) {
            x[xOffset + d] = signs[d] * (x[xOffset + d] * norm);
        }
    }

    /**
     * The unnormalized fast Walsh–Hadamard transform in place, in fp32: for {@code h = 1, 2, 4, … < n}, for each
     * i with bit h clear in order, {@code (a, b) ← (a + b, a − b)} on elements i and i + h.
     */
    public static void transform(float[] v, int offset, int n) {
        for (int h = 1; h < n; h <<= 1) {
            for (int i = 0; i < n; i++) {
                if ((i & h) == 0) {
                    float a = v[offset + i];
                    float b = v[offset + i + h];
                    v[offset + i] = a + b;
                    v[offset + i + h] = a - b;
                }
            }
        }
    }
}
