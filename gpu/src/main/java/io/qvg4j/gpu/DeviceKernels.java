package io.qvg4j.gpu;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * The kernels of qvg.cl and update.cl on device buffers, every head at once. Layouts follow
 * {@link io.qvg4j.codec.QvgKernels}: x {@code [heads, tokens, dim]} fp32, centroids {@code [heads, kc, dim]}
 * fp32, ids {@code [heads, tokens]} bytes.
 */
final class DeviceKernels {
    /** Work-group size of the changed-id count. */
    static final int GROUP = 64;
    /**
     * Tokens per work-group of the assignment (each group loads every centroid tile once); 256 was
     * the fastest of 32, 64, 128 and 256 on the H200 (docs/gpu.md). {@code -Dqvg4j.assignGroup} overrides.
     */
    static final int ASSIGN_GROUP = Integer.getInteger("qvg4j.assignGroup", 256);
    /** Centroids per local-memory tile of the assignment; passed to qvg.cl as the build option KT. */
    static final int KT = 32;
    /** Tokens per chunk of the counting sort; passed to qvg.cl as the build option CHUNK. */
    static final int CHUNK = 1024;
    /** Work-group size of element-wise kernels. */
    private static final long[] FLAT = {256};

    private final ClRuntime cl;

    DeviceKernels(ClRuntime cl) {
        this.cl = cl;
    }

    private static long[] size(long... s) {
        return s;
    }

    void widen(cl_mem bf16, cl_mem f32, long n) {
        cl.launch("widen_bf16", size(n), FLAT, bf16, f32, n);
    }

    void narrow(cl_mem f32, cl_mem bf16, long n) {
        cl.launch("narrow_bf16", size(n), FLAT, f32, bf16, n);
    }

    void gather(cl_mem x, int heads, int tokens, int dim, int kc, cl_mem init, cl_mem c) {
        cl.launch("gather_rows", size(dim, kc, heads), null, x, tokens, dim, kc, init, c);
    }

    void norms(cl_mem c, int count, int dim, cl_mem norms) {
        cl.launch("norms", size(count), null, c, dim, count, norms);
    }

    void assign(cl_mem x, int heads, int tokens, int dim, cl_mem c, cl_mem norms, int kc, cl_mem ids) {
        long tile = (long) KT * dim * Sizeof.cl_float;
        if (tile > cl.info.localMemory()) {
            throw new InvalidInputException("D = " + dim + ": the assignment's centroid tile (" + tile
                    + " bytes) exceeds the local memory of '" + cl.info.name() + "' (" + cl.info.localMemory() + " bytes)");
        }
        long group = Math.min(ASSIGN_GROUP, cl.maxWorkGroup);
        cl.launch("assign", size(tokens, heads), size(group, 1), x, tokens, dim, c, norms, kc, ids,
                new ClRuntime.Local(tile));
    }

    /** Positions where two byte arrays of n ids differ; {@code counter} is a one-int scratch buffer. */
    int countChanged(cl_mem a, cl_mem b, long n, cl_mem counter) {
        int[] v = {0};
        cl.write(counter, Pointer.to(v), Sizeof.cl_int);
        cl.launch("count_changed", size(n), size(GROUP), a, b, n, counter, new ClRuntime.Local((long) GROUP * Sizeof.cl_int));
        cl.read(counter, 0, Pointer.to(v), Sizeof.cl_int);
        return v[0];
    }

    /** Device scratch of the centroid update, allocated once per encode. */
    final class UpdateScratch implements AutoCloseable {
        final int chunks;
        final cl_mem chunkCounts;
        final cl_mem chunkOffsets;
        final cl_mem counts;
        final cl_mem offsets;
        final cl_mem members;

        UpdateScratch(int heads, int tokens, int kc) {
            chunks = (tokens + CHUNK - 1) / CHUNK;
            long cells = (long) heads * kc;
            chunkCounts = cl.buffer(cells * chunks * Sizeof.cl_int);
            chunkOffsets = cl.buffer(cells * chunks * Sizeof.cl_int);
            counts = cl.buffer(cells * Sizeof.cl_int);
            offsets = cl.buffer(cells * Sizeof.cl_int);
            members = cl.buffer((long) heads * tokens * Sizeof.cl_int);
        }

        @Override
        public void close() {
            ClRuntime.release(chunkCounts, chunkOffsets, counts, offsets, members);
        }
    }

    /**
     * Centroid update (SPEC §3.3): a stable counting sort of the tokens by id (per chunk of tokens,
     * then prefix sums), then per (cluster, channel) a double sum over the members in token order.
     * Leaves the cluster sizes in {@code scratch.counts}.
     */
    void update(cl_mem x, int heads, int tokens, int dim, int kc, cl_mem ids, cl_mem c, cl_mem next,
                UpdateScratch scratch) {
        cl.requireFp64("k-means");
        int chunks = scratch.chunks;
        cl.launch("cluster_counts", size(kc, chunks, heads), null, ids, tokens, kc, scratch.chunkCounts);
        cl.launch("cluster_totals", size(kc, heads), null, scratch.chunkCounts, kc, chunks, scratch.counts);
        cl.launch("cluster_offsets", size(heads), null, scratch.counts, kc, scratch.offsets);
        cl.launch("chunk_offsets", size(kc, heads), null, scratch.chunkCounts, kc, chunks, scratch.offsets,
                scratch.chunkOffsets);
        cl.launch("cluster_members", size(kc, chunks, heads), null, ids, tokens, kc, scratch.chunkOffsets, scratch.members);
        cl.launch("update", size(dim, kc, heads), null, x, tokens, dim, kc, scratch.members, scratch.offsets,
                scratch.counts, c, next);
    }

    /** Smoothing (SPEC §4): {@code r = bf16(x − c[ids])}; r may be x. */
    void subtract(cl_mem x, int heads, int tokens, int dim, int kc, cl_mem ids, cl_mem c, cl_mem r) {
        long n = (long) heads * tokens * dim;
        cl.launch("subtract", size(n), FLAT, x, tokens, dim, kc, ids, c, r, n);
    }

    /** Block quantizer (SPEC §6) of {@code rows} rows of {@code dim} residuals: byte codes, scales, zeros. */
    void quantize(cl_mem r, long rows, int dim, QuantConfig config, cl_mem codes, cl_mem scales, cl_mem zeros) {
        long blocks = rows * config.blocksPerRow(dim);
        cl.launch("quantize", size(blocks), FLAT, r, config.groupSize(), config.bits(),
                config.asymmetric() ? 1 : 0, bf16Scales(config), blocks, codes, scales, zeros);
    }

    /** Packing (SPEC §6.5) of byte codes into each row's MSB-first bit stream. */
    void pack(cl_mem codes, long rows, int dim, int bits, cl_mem packed) {
        long bytes = rows * (dim * bits / 8);
        cl.launch("pack", size(bytes), FLAT, codes, dim, bits, bytes, packed);
    }

    /** Dequantization (SPEC §7) of every row; ids and centroids hold all stages one after another. */
    void dequantize(cl_mem packed, cl_mem scales, cl_mem zeros, cl_mem ids, cl_mem centroids, long rows,
                    int tokens, int dim, QuantConfig config, cl_mem out) {
        long n = rows * dim;
        cl.launch("dequantize", size(n), FLAT, packed, scales, zeros, ids, centroids, tokens, dim,
                config.groupSize(), config.bits(), config.asymmetric() ? 1 : 0, bf16Scales(config),
                config.centroids(), config.stages(), n, out);
    }

    private static int bf16Scales(QuantConfig config) {
        return config.scaleFormat() == ScaleFormat.BF16 ? 1 : 0;
    }
}
