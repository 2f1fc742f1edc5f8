package io.qvg4j.algorithm;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;

/**
 * Dequantization (SPEC §7), the official {@code nstage_accum}: per element, in fp32, the dequantized
 * residual {@code (code − m)·s} (the subtraction in integers) or {@code code·s + z}, both products exact;
 * then the centroid of stage 1, 2, …, T added in that order; one rounding to bf16 at the end.
 */
public final class Dequantization {
    private Dequantization() {}

    /** The dequantized residual of one code: {@code (code − m)·s}, or {@code code·s + z} when asymmetric. */
    public static float residual(int code, float scale, float zero, int m, boolean asymmetric) {
        return asymmetric ? code * scale + zero : (code - m) * scale;
    }

    /**
     * Channels [from, from+g) of one token row, one block: {@code codes} are the row's unpacked codes,
     * {@code base[t]} the offset of the token's centroid in stage t's widened table {@code centroids[t]};
     * the bf16 results (as floats) go to {@code out[outOffset…]}.
     */
    public static void block(int[] codes, int from, int g, float scale, float zero, int m, boolean asymmetric,
                             float[][] centroids, int[] base, int stages, float[] out, int outOffset) {
        for (int i = from; i < from + g; i++) {
            float acc = residual(codes[i], scale, zero, m, asymmetric);
            for (int t = 0; t < stages; t++) {
                acc += centroids[t][base[t] + i];
            }
            out[outOffset + i - from] = Bf16.round(acc);
        }
    }

    /** Head {@code bh} of a span: {@code tokens·dim} bf16 patterns at {@code outOffset}. */
    public static void dequantize(QuantizedSpan span, int bh, short[] out, int outOffset) {
        QuantConfig config = span.config();
        int dim = span.dim();
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int stages = config.stages();
        float[][] centroids = new float[stages][];
        for (int t = 0; t < stages; t++) {
            centroids[t] = span.centroidsAsFloats(t, bh);
        }
        int[] codes = new int[dim];
        int[] base = new int[stages];
        float[] row = new float[dim];
        for (int n = 0; n < span.tokens(); n++) {
            int r = bh * span.tokens() + n;
            BitPacking.unpack(span.packed(), r * config.packedBytesPerRow(dim), dim, config.bits(), codes, 0);
            for (int t = 0; t < stages; t++) {
                base[t] = span.clusterId(t, r) * dim;
            }
            for (int j = 0; j < blocks; j++) {
                int b = r * blocks + j;
                block(codes, j * g, g, span.scale(b), config.asymmetric() ? span.zero(b) : 0f, config.symmetricMax(),
                        config.asymmetric(), centroids, base, stages, row, j * g);
            }
            for (int d = 0; d < dim; d++) {
                out[outOffset + n * dim + d] = Bf16.fromFloat(row[d]);
            }
        }
    }

    /**
     * The draft view of SPEC §16.1: head {@code bh} decoded from its first {@code stages} stages. With
     * {@code stages} = T it is {@link #dequantize(QuantizedSpan, int, short[], int)}, byte for byte; with fewer it
     * reads no code, scale or zero point (they quantize R_T, not R_s) and each element is
     * {@link #centroidSum} of the token's first {@code stages} centroids.
     */
    public static void dequantize(QuantizedSpan span, int bh, int stages, short[] out, int outOffset) {
        requireDraftStages(span.config(), stages);
        if (stages == span.config().stages()) {
            dequantize(span, bh, out, outOffset);
            return;
        }
        int dim = span.dim();
        float[][] centroids = new float[stages][];
        for (int t = 0; t < stages; t++) {
            centroids[t] = span.centroidsAsFloats(t, bh);
        }
        int[] base = new int[stages];
        float[] row = new float[dim];
        for (int n = 0; n < span.tokens(); n++) {
            int r = bh * span.tokens() + n;
            for (int t = 0; t < stages; t++) {
                base[t] = span.clusterId(t, r) * dim;
            }
            centroidSum(centroids, base, stages, 0, dim, row, 0);
            for (int d = 0; d < dim; d++) {
                out[outOffset + n * dim + d] = Bf16.fromFloat(row[d]);
            }
        }
    }

    /**
     * Channels [from, from+n) of a draft row (SPEC §16.1): §7 with the residual read as +0, that is
     * {@code acc = +0}, {@code acc += centroids[t][base[t] + i]} for t = 0 … stages−1 in stage order, in fp32,
     * and one rounding to bf16; the results (as floats) go to {@code out[outOffset…]}.
     */
    public static void centroidSum(float[][] centroids, int[] base, int stages, int from, int n, float[] out, int outOffset) {
        for (int i = from; i < from + n; i++) {
            float acc = 0f;
            for (int t = 0; t < stages; t++) {
                acc += centroids[t][base[t] + i];
            }
            out[outOffset + i - from] = Bf16.round(acc);
        }
    }

    /** Throws unless {@code stages} is a draft depth of the config: 1 … T (SPEC §16.1). */
    public static void requireDraftStages(QuantConfig config, int stages) {
        if (stages < 1 || stages > config.stages()) {
            throw new InvalidInputException("draft: stages s = " + stages + " must be in 1.." + config.stages()
                    + " (the span's T; SPEC §16.1)");
        }
    }
}
