package io.qvg4j.simd;

import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import java.util.Arrays;

/** Dequantization on the Vector API (SPEC §7), the twin of {@code algorithm.Dequantization.dequantize}. */
abstract class SimdDequantization extends SimdBlockQuantizer {

    /**
     * Per token: unpack the row, expand its block scales (and zero points) to one per channel, then per
     * lane the dequantized residual ((code − m)·s, or code·s + z: two roundings, never fused) plus each
     * stage's centroid in stage order, rounded once to bf16.
     */
    @Override
    public void dequantize(QuantizedSpan span, int bh, short[] out, int outOffset) {
        QuantConfig config = span.config();
        int dim = span.dim();
        int tokens = span.tokens();
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int stages = config.stages();
        boolean asym = config.asymmetric();
        int width = paddedLength(dim);
        int kc = config.centroids();
        // Centroid tables widened once per head, each padded by a vector so the last row needs no tail.
        float[][] tables = new float[stages][];
        for (int t = 0; t < stages; t++) {
            tables[t] = Arrays.copyOf(span.centroidsAsFloats(t, bh), kc * dim + lanes());
        }
        int[] codes = new int[width];
        float[] scale = new float[width];
        float[] zero = new float[width];
        short[] bf16 = new short[width];
        IntVector offset = IntVector.broadcast(is(), asym ? 0 : config.symmetricMax());
        int[] centroidRow = new int[stages];
        for (int n = 0; n < tokens; n++) {
            int row = bh * tokens + n;
            BitPacking.unpack(span.packed(), row * config.packedBytesPerRow(dim), dim, config.bits(), codes, 0);
            for (int j = 0; j < blocks; j++) {
                int block = row * blocks + j;
                Arrays.fill(scale, j * g, (j + 1) * g, span.scale(block));
                if (asym) {
                    Arrays.fill(zero, j * g, (j + 1) * g, span.zero(block));
                }
            }
            for (int t = 0; t < stages; t++) {
                centroidRow[t] = span.clusterId(t, row) * dim;
            }
            for (int d = 0; d < width; d += lanes()) {
                FloatVector q = (FloatVector) IntVector.fromArray(is(), codes, d).sub(offset).convert(VectorOperators.I2F, 0);
                FloatVector acc = q.mul(FloatVector.fromArray(fs(), scale, d));
                if (asym) {
                    acc = acc.add(FloatVector.fromArray(fs(), zero, d));
                }
                for (int t = 0; t < stages; t++) {
                    acc = acc.add(FloatVector.fromArray(fs(), tables[t], centroidRow[t] + d));
                }
                ((ShortVector) roundedToBf16Bits(acc).lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, ss(), 0))
                        .intoArray(bf16, d);
            }
            System.arraycopy(bf16, 0, out, outOffset + n * dim, dim);
        }
    }

    /**
     * The draft view (SPEC §16.1), the twin of {@code algorithm.Dequantization.dequantize(span, bh, stages, …)}:
     * stages = T is {@link #dequantize(QuantizedSpan, int, short[], int)}; fewer stages sum, per lane, +0 and
     * each stage's centroid in stage order, rounded once to bf16, with no code read.
     */
    @Override
    public void dequantize(QuantizedSpan span, int bh, int stages, short[] out, int outOffset) {
        io.qvg4j.algorithm.Dequantization.requireDraftStages(span.config(), stages);
        if (stages == span.config().stages()) {
            dequantize(span, bh, out, outOffset);
            return;
        }
        int dim = span.dim();
        int width = paddedLength(dim);
        int kc = span.config().centroids();
        float[][] tables = new float[stages][];
        for (int t = 0; t < stages; t++) {
            tables[t] = Arrays.copyOf(span.centroidsAsFloats(t, bh), kc * dim + lanes());
        }
        short[] bf16 = new short[width];
        int[] centroidRow = new int[stages];
        for (int n = 0; n < span.tokens(); n++) {
            int row = bh * span.tokens() + n;
            for (int t = 0; t < stages; t++) {
                centroidRow[t] = span.clusterId(t, row) * dim;
            }
            for (int d = 0; d < width; d += lanes()) {
                FloatVector acc = FloatVector.zero(fs());
                for (int t = 0; t < stages; t++) {
                    acc = acc.add(FloatVector.fromArray(fs(), tables[t], centroidRow[t] + d));
                }
                ((ShortVector) roundedToBf16Bits(acc).lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, ss(), 0))
                        .intoArray(bf16, d);
            }
            System.arraycopy(bf16, 0, out, outOffset + n * dim, dim);
        }
    }
}
