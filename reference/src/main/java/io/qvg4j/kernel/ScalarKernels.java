package io.qvg4j.kernel;

import io.qvg4j.baseline.Baselines;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.BitPacking;
import io.qvg4j.quant.BlockQuantizer;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;

/** The reference kernels: plain scalar Java, written to be read against SPEC.md. */
public final class ScalarKernels implements QvgKernels {

    public static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {}

    @Override
    public String name() {
        return "reference";
    }

    /** The k-means dot product: fp32, d = 0 … dim−1 in order, from +0, fused multiply-adds (SPEC §3.2). */
    static float dot(float[] a, int aOffset, float[] b, int bOffset, int dim) {
        float acc = 0f;
        for (int d = 0; d < dim; d++) {
            acc = Math.fma(a[aOffset + d], b[bOffset + d], acc);
        }
        return acc;
    }

    @Override
    public void centroidNorms(float[] centroids, int kc, int dim, float[] norms) {
        for (int k = 0; k < kc; k++) {
            norms[k] = dot(centroids, k * dim, centroids, k * dim, dim);
        }
    }

    @Override
    public void assign(float[] x, int dim, int from, int to, float[] centroids, float[] norms, int kc, int[] ids) {
        for (int n = from; n < to; n++) {
            float best = Float.POSITIVE_INFINITY;
            int bestK = 0;
            for (int k = 0; k < kc; k++) {
                float score = norms[k] - 2f * dot(x, n * dim, centroids, k * dim, dim);
                if (score < best) {
                    best = score;
                    bestK = k;
                }
            }
            ids[n] = bestK;
        }
    }

    @Override
    public void updateCentroids(float[] x, int tokens, int dim, int[] ids, float[] centroids, int kc,
                                float[] newCentroids, int[] counts) {
        double[] sums = new double[kc * dim];
        java.util.Arrays.fill(counts, 0, kc, 0);
        for (int n = 0; n < tokens; n++) {
            int k = ids[n];
            counts[k]++;
            for (int d = 0; d < dim; d++) {
                sums[k * dim + d] += x[n * dim + d];
            }
        }
        for (int k = 0; k < kc; k++) {
            int base = k * dim;
            if (counts[k] == 0) {
                System.arraycopy(centroids, base, newCentroids, base, dim);
                continue;
            }
            float count = counts[k];
            for (int d = 0; d < dim; d++) {
                newCentroids[base + d] = Bf16.round((float) sums[base + d] / count);
            }
        }
    }

    @Override
    public void subtractCentroids(float[] x, int tokens, int dim, int[] ids, float[] centroids, float[] residual) {
        for (int n = 0; n < tokens; n++) {
            int c = ids[n] * dim;
            for (int d = 0; d < dim; d++) {
                residual[n * dim + d] = Bf16.round(x[n * dim + d] - centroids[c + d]);
            }
        }
    }

    @Override
    public void quantizeHead(float[] residual, int tokens, int dim, QuantConfig config,
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
                BlockQuantizer.quantizeBlock(residual, n * dim + j * g, g, config, codes, j * g,
                        scales, scaleOffset + block * scaleBytes, zeros, zeroOffset + block * scaleBytes);
            }
            BitPacking.pack(codes, 0, dim, config.bits(), packed, packedOffset + n * rowBytes);
        }
    }

    @Override
    public void dequantizeHead(QuantizedSpan span, int bh, short[] out, int outOffset) {
        QuantConfig config = span.config();
        int dim = span.dim();
        int tokens = span.tokens();
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int[] codes = new int[dim];
        for (int n = 0; n < tokens; n++) {
            int row = bh * tokens + n;
            BitPacking.unpack(span.packed(), row * config.packedBytesPerRow(dim), dim, config.bits(), codes, 0);
            for (int j = 0; j < blocks; j++) {
                int block = row * blocks + j;
                float scale = span.scale(block);
                float zero = config.asymmetric() ? span.zero(block) : 0f;
                for (int i = j * g; i < (j + 1) * g; i++) {
                    float acc = BlockQuantizer.dequantizeCode(codes[i], scale, zero, config);
                    for (int t = 0; t < config.stages(); t++) {
                        acc += span.centroid(t, bh, span.clusterId(t, row), i);
                    }
                    out[outOffset + n * dim + i] = Bf16.fromFloat(acc);
                }
            }
        }
    }

    @Override
    public void rtnBlockwise(short[] in, short[] out, int from, int to, int groupSize, int bits) {
        for (int b = from; b < to; b += groupSize) {
            Baselines.rtnBlock(in, out, b, groupSize, bits);
        }
    }

    @Override
    public void nvfp4(short[] in, short[] out, int from, int to, int groupSize) {
        for (int b = from; b < to; b += groupSize) {
            Baselines.nvfp4Block(in, out, b, groupSize);
        }
    }
}
