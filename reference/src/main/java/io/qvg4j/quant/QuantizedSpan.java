package io.qvg4j.quant;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

/**
 * One quantized K or V span: per stage the cluster ids and centroid tables, then the packed residual
 * codes with their scales (and zero points). All arrays are in logical {@code [B, H, …]} order, one
 * head after another: ids {@code [B·H·S]}, centroids {@code [B·H·Kc·D]} bf16, packed
 * {@code [B·H·S·D·bits/8]}, scales and zeros {@code [B·H·S·D/G]} × scale bytes (little-endian for bf16).
 *
 * @param iterations k-means iterations each stage ran (0 where the clustering was given)
 */
public record QuantizedSpan(QuantConfig config, int batch, int heads, int tokens, int dim,
                            byte[][] clusterIds, short[][] centroids, byte[] packed, byte[] scales,
                            byte[] zeros, int[] iterations) {

    public QuantizedSpan {
        KvTensor.checkShape("span", batch, heads, tokens, dim);
        config.requireCompatible("span", dim);
        int bh = batch * heads;
        int t = config.stages();
        require(clusterIds.length == t && centroids.length == t && iterations.length == t,
                "per-stage arrays must have T = " + t + " entries");
        for (int s = 0; s < t; s++) {
            require(clusterIds[s].length == bh * tokens, "stage " + s + " ids: expected " + bh * tokens + " bytes");
            require(centroids[s].length == (long) bh * config.centroids() * dim,
                    "stage " + s + " centroids: expected " + (long) bh * config.centroids() * dim + " values");
        }
        long rows = (long) bh * tokens;
        require(packed.length == rows * config.packedBytesPerRow(dim),
                "packed codes: expected " + rows * config.packedBytesPerRow(dim) + " bytes");
        long scaleBytes = rows * config.blocksPerRow(dim) * config.scaleFormat().bytes();
        require(scales.length == scaleBytes, "scales: expected " + scaleBytes + " bytes");
        require(config.asymmetric() ? zeros != null && zeros.length == scaleBytes : zeros == null,
                config.asymmetric() ? "zero points: expected " + scaleBytes + " bytes" : "zero points given for a symmetric span");
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new InvalidInputException("span: " + what);
        }
    }

    public int headCount() {
        return batch * heads;
    }

    /** Cluster id of stage t for token row {@code bh·S + s}. */
    public int clusterId(int stage, int row) {
        return clusterIds[stage][row] & 0xFF;
    }

    /** Centroid k of head bh, channel d, of stage t, as a float. */
    public float centroid(int stage, int bh, int k, int d) {
        return Bf16.toFloat(centroids[stage][(bh * config.centroids() + k) * dim + d]);
    }

    /** The stored scale of block index {@code (bh·S + s)·D/G + j}. */
    public float scale(int block) {
        return config.scaleFormat().load(scales, block * config.scaleFormat().bytes());
    }

    /** The stored zero point of a block (asymmetric spans only). */
    public float zero(int block) {
        return config.scaleFormat().load(zeros, block * config.scaleFormat().bytes());
    }

    /** Centroid table of stage t, head bh, widened to floats ({@code [Kc, D]}). */
    public float[] centroidsAsFloats(int stage, int bh) {
        int n = config.centroids() * dim;
        float[] out = new float[n];
        Bf16.toFloats(centroids[stage], bh * n, out, 0, n);
        return out;
    }

    /** Exact storage of this span, component by component. */
    public MemoryFootprint footprint() {
        return MemoryFootprint.of(batch, heads, tokens, dim, config);
    }

    /** The bytes a draft of the first {@code stages} stages reads (SPEC §16.1). */
    public MemoryFootprint draftFootprint(int stages) {
        return MemoryFootprint.draft(batch, heads, tokens, dim, config, stages);
    }
}
