package io.qvg4j.cache;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.algorithm.Dequantization;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;

/**
 * Dequantizes single token rows of one quantized span straight from its codes, scales and centroids
 * into floats: the arithmetic of SPEC §7 as {@code Dequantization.dequantize} does it (the residual
 * {@code (code − m)·s} or {@code code·s + z} in fp32, plus the centroid of stage 1, 2, … in order, one
 * rounding to bf16), so every row has that method's bits. Only the centroid tables are widened to
 * floats, once, on first use; no row is kept. The per-block arithmetic is
 * {@link AttentionKernels#dequantize}, so a vector implementation can run it. One decoder serves one
 * thread.
 */
final class SpanRowDecoder {
    private final QuantizedSpan span;
    private final QuantConfig config;
    private final int dim;
    private final AttentionKernels kernels;
    private final int[] codes;
    private final int[] base;
    private final int stages;
    private float[][] centroids;

    SpanRowDecoder(QuantizedSpan span, AttentionKernels kernels) {
        this(span, kernels, span.config().stages());
    }

    /** A decoder of the draft view of the first {@code stages} stages (SPEC §16.1); T is the full decode. */
    SpanRowDecoder(QuantizedSpan span, AttentionKernels kernels, int stages) {
        Dequantization.requireDraftStages(span.config(), stages);
        this.span = span;
        this.kernels = kernels;
        this.config = span.config();
        this.dim = span.dim();
        this.codes = new int[dim];
        this.base = new int[config.stages()];
        this.stages = stages;
    }

    /** Row n of head bh: channel d at {@code out[offset + d]}. */
    void row(int bh, int n, float[] out, int offset) {
        if (centroids == null) {
            centroids = new float[stages][];
            for (int t = 0; t < stages; t++) {
                short[] c = span.centroids()[t];
                centroids[t] = new float[c.length];
                Bf16.toFloats(c, 0, centroids[t], 0, c.length);
            }
        }
        int row = bh * span.tokens() + n;
        if (stages < config.stages()) {
            // A draft reads no code: its rows are the centroid sums alone (SPEC §16.1).
            for (int t = 0; t < stages; t++) {
                base[t] = (bh * config.centroids() + span.clusterId(t, row)) * dim;
            }
            Dequantization.centroidSum(centroids, base, stages, 0, dim, out, offset);
            return;
        }
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int m = config.symmetricMax();
        boolean asymmetric = config.asymmetric();
        BitPacking.unpack(span.packed(), row * config.packedBytesPerRow(dim), dim, config.bits(), codes, 0);
        for (int t = 0; t < stages; t++) {
            base[t] = (bh * config.centroids() + span.clusterId(t, row)) * dim;
        }
        for (int j = 0; j < blocks; j++) {
            int block = row * blocks + j;
            kernels.dequantize(codes, j * g, g, span.scale(block), asymmetric ? span.zero(block) : 0f, m, asymmetric,
                    centroids, base, stages, out, offset + j * g);
        }
    }
}
