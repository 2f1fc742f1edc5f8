package io.qvg4j.simd;

import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import java.util.Arrays;

/** Dequantization on the Vector API (SPEC §7), the twin of {@code algorithm.Dequantization.dequantize}. */
abstract class SimdDequantization extends SimdBlockQuantizer {

    /**
     * Blocks of whole vectors whose codes fill whole bytes: {@link #dequantizeWholeBlocks}. Otherwise per
     * token: unpack the row, expand its block scales (and zero points) to one per channel, then per
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
        if (g % lanes() == 0 && PackedLanes.fits(lanes(), config.bits())) {
            dequantizeWholeBlocks(span, bh, tables, out, outOffset);
            return;
        }
        int[] codes = new int[width];
        float[] scale = new float[width];
        float[] zero = new float[width];
        short[] patterns = new short[width];
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
                bf16(acc).intoArray(patterns, d);
            }
            System.arraycopy(patterns, 0, out, outOffset + n * dim, dim);
        }
    }

    /**
     * Blocks of whole vectors whose codes fill whole bytes (the usual case): each vector's codes straight
     * from the packed bytes into int lanes ({@link PackedLanes}), each block's scale (and zero point)
     * broadcast, the bf16 patterns narrowed straight into {@code out}; the arithmetic of
     * {@link #dequantize(QuantizedSpan, int, short[], int)}. With 2^bits ≤ lanes the residuals are a
     * lookup: lane i of a block's table holds the residual of code i mod 2^bits (computed by the same two
     * roundings), and selectFrom reads the table at the shifted word modulo lanes, which is the code plus
     * higher bits that the repeated entries ignore.
     */
    private void dequantizeWholeBlocks(QuantizedSpan span, int bh, float[][] tables, short[] out, int outOffset) {
        QuantConfig config = span.config();
        int dim = span.dim();
        int tokens = span.tokens();
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int stages = config.stages();
        boolean asym = config.asymmetric();
        int rowBytes = config.packedBytesPerRow(dim);
        byte[] packed = span.packed();
        PackedLanes layout = new PackedLanes(lanes(), config.bits());
        IntVector shifts = IntVector.fromArray(is(), layout.shifts(lanes()), 0);
        IntVector wordOfLane = IntVector.fromArray(is(), layout.wordOfLane(lanes()), 0);
        int mask = (1 << config.bits()) - 1;
        int m = asym ? 0 : config.symmetricMax();
        boolean lookup = mask < lanes();
        FloatVector codeValues = (FloatVector) IntVector.zero(is()).addIndex(1).and(mask).sub(m).convert(VectorOperators.I2F, 0);
        int[] centroidRow = new int[stages];
        float[] first = tables[0];
        for (int n = 0; n < tokens; n++) {
            int row = bh * tokens + n;
            for (int t = 0; t < stages; t++) {
                centroidRow[t] = span.clusterId(t, row) * dim;
            }
            int outRow = outOffset + n * dim;
            int firstRow = centroidRow[0];
            int at = row * rowBytes;
            for (int j = 0; j < blocks; j++) {
                int block = row * blocks + j;
                float s = span.scale(block);
                // x + (−0) is x for every x (−0 included): the symmetric residual (code − m)·s needs no branch.
                float z = asym ? span.zero(block) : -0f;
                IntVector table = codeValues.mul(s).add(z).reinterpretAsInts();
                for (int d = j * g; d < (j + 1) * g; d += lanes(), at += layout.vectorBytes) {
                    IntVector shifted = codeWords(packed, at, layout, wordOfLane).lanewise(VectorOperators.LSHR, shifts);
                    FloatVector acc = lookup ? shifted.selectFrom(table).reinterpretAsFloats()
                            : ((FloatVector) shifted.and(mask).sub(m).convert(VectorOperators.I2F, 0)).mul(s).add(z);
                    acc = acc.add(FloatVector.fromArray(fs(), first, firstRow + d));
                    for (int t = 1; t < stages; t++) {
                        acc = acc.add(FloatVector.fromArray(fs(), tables[t], centroidRow[t] + d));
                    }
                    bf16(acc).intoArray(out, outRow + d);
                }
            }
        }
    }

    /** Lane i holds word {@code wordOfLane[i]} of the vector's codes at {@code packed[at…]} (PackedLanes). */
    private IntVector codeWords(byte[] packed, int at, PackedLanes layout, IntVector wordOfLane) {
        IntVector words = IntVector.broadcast(is(), layout.read(packed, at));
        for (int k = 1; k < layout.words; k++) {
            words = words.blend(layout.read(packed, at + k * layout.wordBytes), wordOfLane.compare(VectorOperators.EQ, k));
        }
        return words;
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
        short[] patterns = new short[width];
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
                bf16(acc).intoArray(patterns, d);
            }
            System.arraycopy(patterns, 0, out, outOffset + n * dim, dim);
        }
    }
}
