package io.qvg4j.cache;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;

/**
 * A quantized span whose residual has been dropped (SPEC §16.3, the last PackCache level): per stage the cluster
 * ids and centroid tables are kept, the codes, scales and zero points are gone. A token reads as §7 with a
 * residual of +0: {@code acc = +0}, then the centroid of stage 1, 2, … added in order in fp32, one rounding to
 * bf16 — the bits §7 gives for codes that decode to a zero residual.
 *
 * @param config     the span's quantizer (its stages and Kc; bits, G and the scale format no longer apply)
 * @param iterations the k-means iterations of the span's clustering
 */
public record CentroidSpan(QuantConfig config, int heads, int tokens, int dim, byte[][] clusterIds, short[][] centroids,
                           int[] iterations) {

    /** The clustering of a span, its residual dropped. */
    public static CentroidSpan of(QuantizedSpan s) {
        return new CentroidSpan(s.config(), s.headCount(), s.tokens(), s.dim(), s.clusterIds(), s.centroids(), s.iterations());
    }

    /** Bytes held: ids {@code T·H·S} and bf16 centroids {@code T·H·Kc·D·2}; no codes, scales or zero points. */
    public MemoryFootprint footprint() {
        MemoryFootprint f = MemoryFootprint.of(1, heads, tokens, dim, config);
        return new MemoryFootprint(f.elements(), 0, 0, 0, f.idBytes(), f.centroidBytes());
    }

    /** Row n of head h as floats holding bf16 values, at {@code out[offset + d]}. */
    public void row(int h, int n, float[] out, int offset) {
        int row = h * tokens + n;
        for (int d = 0; d < dim; d++) {
            float acc = 0f;
            for (int t = 0; t < config.stages(); t++) {
                int k = clusterIds[t][row] & 0xFF;
                acc += Bf16.toFloat(centroids[t][(h * config.centroids() + k) * dim + d]);
            }
            out[offset + d] = Bf16.round(acc);
        }
    }

    /** Every row, {@code [H, S, D]} bf16 patterns. */
    public short[] decode() {
        short[] out = new short[heads * tokens * dim];
        float[] row = new float[dim];
        for (int h = 0; h < heads; h++) {
            for (int n = 0; n < tokens; n++) {
                row(h, n, row, 0);
                for (int d = 0; d < dim; d++) {
                    out[(h * tokens + n) * dim + d] = Bf16.fromFloat(row[d]);
                }
            }
        }
        return out;
    }
}
