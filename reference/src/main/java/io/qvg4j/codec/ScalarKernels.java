package io.qvg4j.codec;

import io.qvg4j.algorithm.Baselines;
import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.algorithm.Dequantization;
import io.qvg4j.algorithm.KMeans;
import io.qvg4j.algorithm.Smoothing;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;

/**
 * The reference kernels: each one is the plain function of the paper step in {@code io.qvg4j.algorithm},
 * so {@link CpuCodec} can run the reference on several threads without a second copy of any rule.
 */
public final class ScalarKernels implements QvgKernels {

    public static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {}

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void norms(float[] centroids, int kc, int dim, float[] norms) {
        KMeans.norms(centroids, kc, dim, norms);
    }

    @Override
    public void assign(float[] x, int dim, int from, int to, float[] centroids, float[] norms, int kc, int[] ids) {
        KMeans.assign(x, dim, from, to, centroids, norms, kc, ids);
    }

    @Override
    public void update(float[] x, int tokens, int dim, int[] ids, float[] centroids, int kc, float[] next, int[] counts) {
        KMeans.update(x, tokens, dim, ids, centroids, kc, next, counts);
    }

    @Override
    public void subtract(float[] x, int tokens, int dim, int[] ids, float[] centroids, float[] residual) {
        Smoothing.subtract(x, tokens, dim, ids, centroids, residual);
    }

    @Override
    public void quantize(float[] residual, int tokens, int dim, QuantConfig config, byte[] packed, int packedOffset,
                         byte[] scales, int scaleOffset, byte[] zeros, int zeroOffset) {
        BlockQuantizer.quantize(residual, tokens, dim, config, packed, packedOffset, scales, scaleOffset, zeros, zeroOffset);
    }

    @Override
    public void dequantize(QuantizedSpan span, int bh, short[] out, int outOffset) {
        Dequantization.dequantize(span, bh, out, outOffset);
    }

    @Override
    public void rtn(short[] in, short[] out, int from, int to, int groupSize, int bits) {
        Baselines.rtn(in, out, from, to, groupSize, bits);
    }

    @Override
    public void nvfp4(short[] in, short[] out, int from, int to, int groupSize) {
        Baselines.nvfp4(in, out, from, to, groupSize);
    }
}
