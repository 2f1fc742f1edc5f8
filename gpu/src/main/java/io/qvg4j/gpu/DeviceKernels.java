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
     * The assignment's work-group is ASSIGN_SIDE × ASSIGN_SIDE work-items, each owning 8 tokens × 8
     * centroids, so a group scores 8·ASSIGN_SIDE tokens against 8·ASSIGN_SIDE centroids at a time;
     * ASSIGN_SLICE channels are staged in local memory at once. Build options AL and ABK of qvg.cl.
     */
    static final int ASSIGN_SIDE = 16;
    static final int ASSIGN_SLICE = 16;
    /** Tokens per chunk of the counting sort; passed to qvg.cl as the build option CHUNK. */
    static final int CHUNK = 1024;
    /**
     * The centroid update's work-group: UPDATE_CHANNELS channels of one cluster by UPDATE_LANES lanes that
     * split its members (build options UD and UL).
     */
    static final int UPDATE_CHANNELS = 32;
    static final int UPDATE_LANES = 8;
    /** Runs of 8 channels each work-item of the dequantizer decodes (build option DQ). */
    static final int DEQUANTIZE_RUNS = 2;
    /** The dequantizer's work-group: 8 work-items of 16 channels (a D = 128 row) by 32 tokens; fixed, as ROWS. */
    private static final long[] DEQ = {8, 32, 1};
    /** Elements per work-group of the fused quantizer (whole rows; at least one row). */
    static final int QUANTIZE_ELEMENTS = 2048;
    /** Work-group size of the quantizer's fast path (8 values per work-item); build option QL. */
    static final int QUANTIZE_GROUP = 256;
    /** Adjacent float4 per work-item of the quantizer's usual path (build option QH; the kernel is written for 2). */
    static final int QUANTIZE_HALVES = 2;
    /** Work-group size of element-wise kernels. */
    private static final long[] FLAT = {256};
    /**
     * Work-group size of the smoothing's (channel group, token, head) grid: 16 channel groups by 16
     * tokens. Fixed, not derived from D, because PoCL compiles a kernel once per local size.
     */
    private static final long[] ROWS = {16, 16, 1};
    /**
     * Work-group sizes of the small kernels (norms, initial rows, counting sort): 64 along the first
     * dimension, whose kernels ignore the rounded-up rest; fixed for the same reason.
     */
    private static final long[] LINE = {64};
    private static final long[] LINE2 = {64, 1};
    private static final long[] LINE3 = {64, 1, 1};
    private static final long[] ONE = {1};

    /**
     * The filtered assignment (filter.cl, build options FW, KMAX, FD, XW, RCAP, XSLOTS, XT): sub-groups of 32 per
     * work-group, 16 tokens each; the most centroids and channels it takes (beyond them the plain kernel runs);
     * words (bf16 pairs) per packed centroid row, FD / 2 + 4; candidates kept per token; work-items per token and
     * tokens per work-group of assign_exact.
     */
    static final int FILTER_WARPS = 4;
    static final int FILTER_MAX_CENTROIDS = 256;
    static final int FILTER_MAX_DIM = 128;
    static final int FILTER_ROW_WORDS = FILTER_MAX_DIM / 2 + 4;
    static final int FILTER_CANDIDATES = 8;
    static final int FILTER_SLOTS = 2;
    static final int FILTER_EXACT_TOKENS = 32;

    /** Which assignment kernel runs; every choice gives the reference's ids (SPEC §3.2). */
    enum Assignment {
        /** The filter where the program has the tensor-core products ({@link ClRuntime#ptx}), else the plain kernel. */
        AUTO,
        /** {@code assign}: every pair scored, register-tiled. */
        PLAIN,
        /**
         * {@code assign_filtered} (filter.cl): exact scores only where a bound from a bf16 product does not rule a
         * centroid out; without tensor cores the product is summed by each work-item, which tests the filter.
         */
        FILTERED
    }

    private final ClRuntime cl;
    private final Assignment assignment;
    /** The filtered assignment's two counters (filter.cl): tokens on the full scan, candidates scored exactly. */
    private cl_mem filterStats;
    /** Scratch of the filtered assignment: the bf16 centroid rows (XW words each) and a flag per row; kept between launches. */
    private cl_mem packed;
    private cl_mem packedLow;
    private long packedBytes;
    /** Per token the filter's candidate count (255: the full scan) and up to FILTER_CANDIDATES ids; kept between launches. */
    private cl_mem candidateCounts;
    private cl_mem candidateIds;
    private long candidateRows;

    DeviceKernels(ClRuntime cl) {
        this(cl, Assignment.AUTO);
    }

    DeviceKernels(ClRuntime cl, Assignment assignment) {
        this.cl = cl;
        this.assignment = assignment;
    }

    /** Releases the device memory these kernels keep between launches. */
    void close() {
        ClRuntime.release(filterStats, packed, packedLow, candidateCounts, candidateIds);
        filterStats = packed = packedLow = candidateCounts = candidateIds = null;
        packedBytes = 0;
        candidateRows = 0;
    }

    /** What the filtered assignment did since the last call: tokens scanned in full, candidates scored exactly. */
    long[] takeFilterStats() {
        int[] v = {0, 0};
        if (filterStats != null) {
            cl.read(filterStats, 0, Pointer.to(v), 2L * Sizeof.cl_int);
            cl.write(filterStats, Pointer.to(new int[]{0, 0}), 2L * Sizeof.cl_int);
        }
        return new long[]{v[0], v[1]};
    }

    /** The kernel {@link #assign} runs for this shape. */
    String assignKernel(int dim, int kc) {
        boolean filter = switch (assignment) {
            case AUTO -> cl.ptx;
            case PLAIN -> false;
            case FILTERED -> true;
        };
        return filter && dim <= FILTER_MAX_DIM && kc <= FILTER_MAX_CENTROIDS ? "assign_filtered" : "assign";
    }

    private static long[] size(long... s) {
        return s;
    }

    void widen(cl_mem bf16, cl_mem f32, long n) {
        cl.launch("widen_bf16", size((n + 7) / 8), FLAT, bf16, f32, n);
    }

    void narrow(cl_mem f32, cl_mem bf16, long n) {
        cl.launch("narrow_bf16", size(n), FLAT, f32, bf16, n);
    }

    void gather(cl_mem x, int heads, int tokens, int dim, int kc, cl_mem init, cl_mem c) {
        cl.launch("gather_rows", size(dim, kc, heads), LINE3, x, tokens, dim, kc, init, c);
    }

    void norms(cl_mem c, int count, int dim, cl_mem norms) {
        cl.launch("norms", size(count), LINE, c, dim, count, norms);
    }

    void assign(cl_mem x, int heads, int tokens, int dim, cl_mem c, cl_mem norms, int kc, cl_mem ids) {
        if (assignKernel(dim, kc).equals("assign_filtered")) {
            int group = FILTER_WARPS * 32;
            long tiles = (tokens + 16L * FILTER_WARPS - 1) / (16L * FILTER_WARPS);
            if (filterStats == null) {
                filterStats = cl.upload(new int[]{0, 0});
            }
            long words = (long) heads * kc * FILTER_ROW_WORDS;
            if (packedBytes < words * Sizeof.cl_uint) {
                ClRuntime.release(packed, packedLow);
                packedBytes = words * Sizeof.cl_uint;
                packed = cl.buffer(packedBytes);
                packedLow = cl.buffer((long) heads * kc * Sizeof.cl_uint);
            }
            cl.launch("pack_centroids", size(kc, heads), LINE2, c, dim, kc, packed, packedLow);
            long rows = (long) heads * tokens;
            if (candidateRows < rows) {
                ClRuntime.release(candidateCounts, candidateIds);
                candidateRows = rows;
                candidateCounts = cl.buffer(rows);
                candidateIds = cl.buffer(rows * FILTER_CANDIDATES);
            }
            cl.launch("assign_filtered", size(tiles * group, heads), size(group, 1), x, tokens, dim, packed, packedLow, norms,
                    kc, candidateCounts, candidateIds, filterStats);
            long exactTiles = (tokens + FILTER_EXACT_TOKENS - 1) / FILTER_EXACT_TOKENS;
            cl.launch("assign_exact", size(exactTiles * FILTER_EXACT_TOKENS * FILTER_SLOTS, heads),
                    size(FILTER_EXACT_TOKENS * FILTER_SLOTS, 1), x, tokens, dim, c, norms, kc, candidateCounts, candidateIds, ids);
            return;
        }
        int group = ASSIGN_SIDE * ASSIGN_SIDE;
        long tiles = (tokens + 8L * ASSIGN_SIDE - 1) / (8L * ASSIGN_SIDE);
        cl.launch("assign", size(tiles * group, heads), size(group, 1), x, tokens, dim, c, norms, kc, ids);
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
     * then prefix sums), then per (cluster, channel) the double sum over the members in token order (split
     * over lanes where no addition can round, update.cl).
     * Leaves the cluster sizes in {@code scratch.counts}.
     */
    void update(cl_mem x, int heads, int tokens, int dim, int kc, cl_mem ids, cl_mem c, cl_mem next,
                UpdateScratch scratch) {
        cl.requireFp64("k-means");
        int chunks = scratch.chunks;
        cl.launch("cluster_counts", size(kc, chunks, heads), LINE3, ids, tokens, kc, scratch.chunkCounts);
        cl.launch("cluster_totals", size(kc, heads), LINE2, scratch.chunkCounts, kc, chunks, scratch.counts);
        cl.launch("cluster_offsets", size(heads), ONE, scratch.counts, kc, scratch.offsets);
        cl.launch("chunk_offsets", size(kc, heads), LINE2, scratch.chunkCounts, kc, chunks, scratch.offsets,
                scratch.chunkOffsets);
        cl.launch("cluster_members", size(kc, chunks, heads), LINE3, ids, tokens, kc, scratch.chunkOffsets, scratch.members);
        cl.launch("update", size(dim, (long) kc * UPDATE_LANES, heads), size(UPDATE_CHANNELS, UPDATE_LANES, 1), x, tokens,
                dim, kc, scratch.members, scratch.offsets, scratch.counts, c, next);
    }

    /** Smoothing (SPEC §4): {@code r = bf16(x − c[ids])}; r may be x. */
    void subtract(cl_mem x, int heads, int tokens, int dim, int kc, cl_mem ids, cl_mem c, cl_mem r) {
        cl.launch("subtract", size((dim + 3) / 4, tokens, heads), ROWS, x, tokens, dim, kc, ids, c, r);
    }

    /**
     * Block quantizer and packing (SPEC §6, §6.5) of {@code rows} rows of {@code dim} residuals into
     * packed codes, scales and zeros; with {@code ids} and {@code c} not null, first the smoothing of
     * SPEC §4 ({@code r − c[ids]}, rounded to bf16) on the way in, r left unchanged.
     */
    void quantize(cl_mem r, int tokens, long rows, int dim, QuantConfig config, cl_mem ids, int kc, cl_mem c,
                  cl_mem packed, cl_mem scales, cl_mem zeros) {
        boolean subtract = ids != null;
        int g = config.groupSize();
        int bits = config.bits();
        if ((bits == 2 || bits == 4 || bits == 8) && Integer.bitCount(g) == 1 && g >= 4 && g <= 4 * QUANTIZE_GROUP
                && dim % g == 0) {
            long n = rows * dim;
            long perGroup = (long) QUANTIZE_GROUP * QUANTIZE_HALVES;
            long groups = (n / 4 + perGroup - 1) / perGroup;
            Divisor byDim = Divisor.of(dim);
            Divisor byTokens = Divisor.of(tokens);
            cl.launch("quantize", size(groups * QUANTIZE_GROUP), size(QUANTIZE_GROUP), r, subtract ? 1 : 0, tokens,
                    kc, subtract ? ids : packed, subtract ? c : r, dim, byDim.magic(), byDim.shift(), byTokens.magic(),
                    byTokens.shift(), g, bits, config.asymmetric() ? 1 : 0, bf16Scales(config), n, packed, scales, zeros);
            return;
        }
        int groupRows = Math.max(1, QUANTIZE_ELEMENTS / dim);
        long local = (long) groupRows * dim * (Sizeof.cl_float + 1) + (long) groupRows * Sizeof.cl_int;
        if (local > cl.info.localMemory()) {
            throw new InvalidInputException("D = " + dim + ": the quantizer's row (" + local + " bytes of local memory) "
                    + "exceeds the local memory of '" + cl.info.name() + "' (" + cl.info.localMemory() + " bytes)");
        }
        long groups = (rows + groupRows - 1) / groupRows;
        cl.launch("quantize_rows", size(groups * FLAT[0]), FLAT, r, subtract ? 1 : 0, tokens, kc,
                subtract ? ids : packed, subtract ? c : r, dim, config.groupSize(), config.bits(),
                config.asymmetric() ? 1 : 0, bf16Scales(config), rows, groupRows, packed, scales, zeros,
                new ClRuntime.Local((long) groupRows * dim * Sizeof.cl_float), new ClRuntime.Local((long) groupRows * dim),
                new ClRuntime.Local((long) groupRows * Sizeof.cl_int));
    }

    /**
     * Division by d of every a &lt; 2^31 as one multiplication (qvg.cl's {@code quotient}):
     * {@code shift} = 31 + ceil(log2 d), {@code magic} = ceil(2^shift / d) (below 2^32, passed as its bits).
     */
    record Divisor(int magic, int shift) {
        static Divisor of(int d) {
            int shift = 31 + (32 - Integer.numberOfLeadingZeros(d - 1));
            return new Divisor((int) (((1L << shift) + d - 1) / d), shift);
        }
    }

    /** Dequantization (SPEC §7) of every row; ids and centroids hold all stages one after another. */
    void dequantize(cl_mem packed, cl_mem scales, cl_mem zeros, cl_mem ids, cl_mem centroids, int heads,
                    int tokens, int dim, QuantConfig config, cl_mem out) {
        cl.launch("dequantize", size((dim + 8L * DEQUANTIZE_RUNS - 1) / (8L * DEQUANTIZE_RUNS), tokens, heads), DEQ, packed, scales, zeros, ids, centroids,
                heads, tokens, dim, config.groupSize(), config.bits(), config.asymmetric() ? 1 : 0, bf16Scales(config),
                config.centroids(), config.stages(), out);
    }

    /** The device's measured limits: fp32 fused multiply-adds per second and copy bytes (read + written) per second. */
    record Roofline(double fmaPerSecond, double copyBytesPerSecond) {}

    /**
     * Measures the fp32 FMA rate and the copy bandwidth with the kernels of roofline.cl: one warm-up
     * launch each, then the median of five. Sizes follow the device (4096 work-items per compute unit;
     * a copy of min(256 MiB, global memory / 16)).
     */
    Roofline roofline() {
        int iterations = 4096;
        long items = (long) cl.info.computeUnits() * 4096;
        cl_mem out = cl.buffer(items * Sizeof.cl_float);
        double fma = median(5, () -> cl.launch("fma_peak", size(items), FLAT, out, iterations, 0.999f, 0.001f));
        ClRuntime.release(out);
        long bytes = Math.min(256L << 20, cl.info.globalMemory() / 16) / 16 * 16;
        cl_mem a = cl.buffer(bytes);
        cl_mem b = cl.buffer(bytes);
        long vectors = bytes / 16;
        double copy = median(5, () -> cl.launch("copy_bandwidth", size(vectors), FLAT, a, b, vectors));
        ClRuntime.release(a, b);
        return new Roofline(items * 16.0 * iterations / fma, 2.0 * bytes / copy);
    }

    /** Median kernel seconds of {@code reps} launches after one warm-up. */
    private double median(int reps, Runnable launch) {
        launch.run();
        cl.takeProfile();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            launch.run();
            t[i] = cl.takeProfile().kernelNanos() / 1e9;
        }
        java.util.Arrays.sort(t);
        return t[reps / 2];
    }

    private static int bf16Scales(QuantConfig config) {
        return config.scaleFormat() == ScaleFormat.BF16 ? 1 : 0;
    }
}
