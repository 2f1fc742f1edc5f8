package io.qvg4j.algorithm;

import io.qvg4j.numeric.Rounding;
import io.qvg4j.quant.QuantConfig;

/**
 * The residual quantizer (SPEC §6): each token's D channels of one head in blocks of G consecutive
 * channels (§6.1), every block quantized symmetrically (§6.2) or asymmetrically (§6.3) with its scale
 * (and zero point) stored in the config's {@link io.qvg4j.quant.ScaleFormat} (§6.4), the codes of a token
 * then packed by {@link BitPacking} (§6.5).
 */
public final class BlockQuantizer {
    private BlockQuantizer() {}

    /**
     * One head: {@code tokens·D·bits/8} packed bytes at {@code packedOffset}, {@code tokens·D/G} scales
     * (× scale bytes) at {@code scaleOffset}, and as many zero points at {@code zeroOffset} when the config
     * is asymmetric ({@code zeros} is null otherwise).
     */
    public static void quantize(float[] residual, int tokens, int dim, QuantConfig config,
                                byte[] packed, int packedOffset, byte[] scales, int scaleOffset,
                                byte[] zeros, int zeroOffset) {
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int rowBytes = config.packedBytesPerRow(dim);
        int scaleBytes = config.scaleFormat().bytes();
        int[] codes = new int[dim];
        for (int n = 0; n < tokens; n++) {
            for (int j = 0; j < blocks; j++) {
                int block = n * blocks + j;
                quantizeBlock(residual, n * dim + j * g, g, config, codes, j * g,
                        scales, scaleOffset + block * scaleBytes, zeros, zeroOffset + block * scaleBytes);
            }
            BitPacking.pack(codes, 0, dim, config.bits(), packed, packedOffset + n * rowBytes);
        }
    }

    /** The floor of the unrounded scale, an fp32 constant in the official kernel (SPEC §6.2). */
    public static final float MIN_SCALE = 1e-10f;

    /**
     * Quantizes {@code x[offset, offset+g)} into unsigned codes at {@code codes[codeOffset…]} and stores
     * the block's scale (and zero point, when asymmetric) at the given byte offsets.
     */
    public static void quantizeBlock(float[] x, int offset, int g, QuantConfig config, int[] codes, int codeOffset,
                                     byte[] scales, int scaleOffset, byte[] zeros, int zeroOffset) {
        if (config.asymmetric()) {
            asymmetric(x, offset, g, config, codes, codeOffset, scales, scaleOffset, zeros, zeroOffset);
        } else {
            symmetric(x, offset, g, config, codes, codeOffset, scales, scaleOffset);
        }
    }

    /**
     * Symmetric absmax (SPEC §6.2): scale = max(amax ⊘ m, 1e-10), stored as FP8 (and the rounded value
     * used to quantize) or as bf16 (the unrounded value used, SPEC §6.4; see ScaleFormat.store); q = clamp(round half away
     * (x ⊘ s), −m, m) with NaN → +m (SPEC §2.5), code = q + m. ⊘ is the kernel division of SPEC §2.3.
     */
    static void symmetric(float[] x, int offset, int g, QuantConfig config, int[] codes, int codeOffset,
                          byte[] scales, int scaleOffset) {
        int m = config.symmetricMax();
        float amax = 0f;
        for (int i = 0; i < g; i++) {
            amax = Math.max(amax, Math.abs(x[offset + i]));
        }
        float scale = Math.max(Rounding.kernelDivide(amax, m), MIN_SCALE);
        float s = config.scaleFormat().store(scale, scales, scaleOffset);
        float reciprocal = 1.0f / s;
        for (int i = 0; i < g; i++) {
            float y = x[offset + i] * reciprocal;
            codes[codeOffset + i] = (y != y ? m : clamp(Rounding.roundHalfAway(y), -m, m)) + m;
        }
    }

    /**
     * Asymmetric min/max (SPEC §6.3): scale = max((max − min) ⊘ qmax, 1e-10), zero point = min, both
     * stored in the scale format; q = clamp(round half away((x − z) ⊘ s), 0, qmax) with NaN → 0. Block
     * min/max order −0 below +0 (SPEC §2.6), as {@link Math#min} and {@link Math#max} do. With η ≠ 0 the stored
     * pair is then calibrated ({@link EndpointCalibration}, SPEC §16.2).
     */
    static void asymmetric(float[] x, int offset, int g, QuantConfig config, int[] codes, int codeOffset,
                           byte[] scales, int scaleOffset, byte[] zeros, int zeroOffset) {
        int qmax = config.asymmetricMax();
        float min = x[offset];
        float max = x[offset];
        for (int i = 1; i < g; i++) {
            min = Math.min(min, x[offset + i]);
            max = Math.max(max, x[offset + i]);
        }
        float scale = Math.max(Rounding.kernelDivide(max - min, qmax), MIN_SCALE);
        float s = config.scaleFormat().store(scale, scales, scaleOffset);
        float z = config.scaleFormat().store(min, zeros, zeroOffset);
        float reciprocal = 1.0f / s;
        for (int i = 0; i < g; i++) {
            float y = (x[offset + i] - z) * reciprocal;
            codes[codeOffset + i] = y != y ? 0 : clamp(Rounding.roundHalfAway(y), 0, qmax);
        }
        EndpointCalibration.store(s, z, config, scales, scaleOffset, zeros, zeroOffset);
    }

    private static int clamp(float rounded, int lo, int hi) {
        return (int) Math.max(lo, Math.min(hi, rounded));
    }
}
