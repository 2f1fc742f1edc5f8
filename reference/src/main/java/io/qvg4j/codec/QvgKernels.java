package io.qvg4j.codec;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;

/**
 * The hot loops of QVG, one head at a time, each named after its step in {@code io.qvg4j.algorithm}
 * and with that function's signature. Float arrays hold bf16 values (exactly representable) in
 * row-major {@code [tokens, dim]} or {@code [kc, dim]} order. Every implementation must produce the
 * same bits as the algorithm's function for every input, on any vector width and any thread count; the
 * summation orders below are part of this interface. {@link ScalarKernels} is the algorithm itself.
 */
public interface QvgKernels {

    /** Short name used on the command line ({@code reference}, {@code simd}). */
    String name();

    /**
     * {@code norms[k] = Σ_d c[k,d]·c[k,d]} for k in [0, kc): an fp32 sum over d = 0, 1, …, dim−1 in that
     * order, starting from +0, each step a fused multiply-add (SPEC §3.2).
     */
    void norms(float[] centroids, int kc, int dim, float[] norms);

    /**
     * Assignment of tokens [from, to) (SPEC §3.2): {@code score(n,k) = norms[k] − 2·dot(x_n, c_k)} with
     * the dot product summed over d in order from +0 by fused multiply-adds; {@code ids[n]} = the
     * smallest k whose score is strictly below every earlier one, starting from +∞ with id 0 (so a NaN
     * score never wins and ties go to the lowest index).
     */
    void assign(float[] x, int dim, int from, int to, float[] centroids, float[] norms, int kc, int[] ids);

    /**
     * Centroid update (SPEC §3.3): for each cluster, the sum of its tokens in double in ascending token
     * order, rounded to float, divided by {@code (float) count} (IEEE), rounded to bf16; an empty
     * cluster keeps its old centroid. Writes {@code next} and {@code counts}.
     */
    void update(float[] x, int tokens, int dim, int[] ids, float[] centroids, int kc, float[] next, int[] counts);

    /**
     * Semantic-Aware Smoothing (SPEC §4): {@code residual[n,d] = bf16(x[n,d] − c[ids[n], d])}.
     * {@code residual} may be {@code x} itself.
     */
    void subtract(float[] x, int tokens, int dim, int[] ids, float[] centroids, float[] residual);

    /**
     * Block quantization and packing of one head (SPEC §6): each token's D values in blocks of G, codes
     * packed per token as an MSB-first bit stream (SPEC §6.5), {@code tokens·D·bits/8} bytes written at
     * {@code packedOffset}, {@code tokens·D/G} scales (× scale bytes) at {@code scaleOffset}, and as many
     * zero points at {@code zeroOffset} when the config is asymmetric ({@code zeros} is null otherwise).
     */
    void quantize(float[] residual, int tokens, int dim, QuantConfig config,
                  byte[] packed, int packedOffset, byte[] scales, int scaleOffset,
                  byte[] zeros, int zeroOffset);

    /**
     * Dequantization of head {@code bh} of a span (SPEC §7): per element, the dequantized residual in
     * fp32, plus the centroid of stage 1, 2, … in that order in fp32, rounded once to bf16; writes
     * {@code tokens·dim} patterns at {@code outOffset}.
     */
    void dequantize(QuantizedSpan span, int bh, short[] out, int outOffset);

    /**
     * The draft view of head {@code bh} (SPEC §16.1): the first {@code stages} stages only, 1 ≤ stages ≤ T;
     * stages = T is {@link #dequantize(QuantizedSpan, int, short[], int)}, fewer sum the centroids alone
     * ({@code io.qvg4j.algorithm.Dequantization.centroidSum}). The default is the algorithm itself.
     */
    default void dequantize(QuantizedSpan span, int bh, int stages, short[] out, int outOffset) {
        io.qvg4j.algorithm.Dequantization.dequantize(span, bh, stages, out, outOffset);
    }

    /**
     * The official RTN fake-quant baseline {@code naive-int<bits>} (SPEC §9.1) on elements [from, to)
     * of a bf16 array whose blocks of G are consecutive; from and to are multiples of G.
     */
    void rtn(short[] in, short[] out, int from, int to, int groupSize, int bits);

    /** The official NVFP4 fake-quant baseline {@code naive-fp4} (SPEC §9.2), same layout as above. */
    void nvfp4(short[] in, short[] out, int from, int to, int groupSize);
}
