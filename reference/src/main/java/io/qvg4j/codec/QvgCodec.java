package io.qvg4j.codec;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;

/**
 * A complete QVG implementation: the quantizer (k-means stages, smoothing, block quantizer, packing),
 * its inverse and the official baselines. Every implementation returns the same bytes as the reference
 * for the same inputs.
 */
public interface QvgCodec extends AutoCloseable {

    /** Name used on the command line: {@code reference}, {@code simd}, {@code opencl}. */
    String name();

    /**
     * Quantizes a span (SPEC §5): T k-means stages from the given initial indices {@code [T][B·H][Kc]},
     * each followed by smoothing, then the block quantizer on the final residual.
     */
    QuantizedSpan encode(KvTensor x, QuantConfig config, int[][][] initIndices);

    /**
     * As {@link #encode}, but stage t's k-means of head bh starts from the centroid table
     * {@code initialCentroids[t][bh]} ({@code [Kc, D]}, finite bf16 values) instead of sampled tokens: the
     * warm start that reuses an earlier span's tables.
     */
    QuantizedSpan encodeFromCentroids(KvTensor x, QuantConfig config, float[][][] initialCentroids);

    /**
     * The downstream path alone: smoothing with the given per-stage clustering (ids {@code [T][B·H·S]},
     * bf16 centroids {@code [T][B·H·Kc·D]}), then the block quantizer. This is the part that must match
     * the official kernels bit for bit.
     */
    QuantizedSpan encodeWithClustering(KvTensor x, QuantConfig config, byte[][] clusterIds, short[][] centroids);

    /** Dequantizes a span back to bf16 (SPEC §7). */
    KvTensor decode(QuantizedSpan span);

    /**
     * The draft view of a span (SPEC §16.1): decoded from its first {@code stages} stages, 1 ≤ stages ≤ T;
     * stages = T is {@link #decode(QuantizedSpan)}. The default runs the reference's single-threaded rule.
     */
    default KvTensor decode(QuantizedSpan span, int stages) {
        io.qvg4j.algorithm.Dequantization.requireDraftStages(span.config(), stages);
        if (stages == span.config().stages()) {
            return decode(span);
        }
        int headSize = span.tokens() * span.dim();
        short[] out = new short[span.headCount() * headSize];
        for (int bh = 0; bh < span.headCount(); bh++) {
            io.qvg4j.algorithm.Dequantization.dequantize(span, bh, stages, out, bh * headSize);
        }
        return new KvTensor("dequantized", span.batch(), span.heads(), span.tokens(), span.dim(), out);
    }

    /** The RTN blockwise baseline {@code naive-int<bits>} (SPEC §9.1); bits in 2, 3, 4, 8. */
    KvTensor rtnBaseline(KvTensor x, int bits, int groupSize);

    /** The NVFP4 baseline {@code naive-fp4} (SPEC §9.2). */
    KvTensor nvfp4Baseline(KvTensor x, int groupSize);

    @Override
    default void close() {}
}
