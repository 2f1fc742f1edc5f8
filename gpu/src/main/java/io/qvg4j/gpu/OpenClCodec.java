package io.qvg4j.gpu;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.algorithm.ProgressiveResidualQuantization;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.codec.Validation;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * The QVG pipeline on an OpenCL device: k-means stages, smoothing, block quantizer, packing and
 * dequantization run as kernels on data that stays on the device between steps; only the input,
 * the initial indices, one changed-id count per k-means iteration and the results cross the bus.
 * The fake-quant baselines (SPEC §9) run on the host through the reference kernels: they are
 * evaluation aids, not part of the quantizer.
 */
public final class OpenClCodec implements QvgCodec {
    private final ClRuntime cl;
    private final DeviceKernels k;
    private final CpuCodec host;
    private Profile lastProfile = Profile.NONE;

    private OpenClCodec(int threads, int device, DeviceKernels.Assignment assignment) {
        this.cl = new ClRuntime(device);
        this.k = new DeviceKernels(cl, assignment);
        this.host = new CpuCodec(ScalarKernels.INSTANCE, threads);
    }

    /**
     * Opens device {@code device} as {@code qvg devices} numbers it; {@code threads} are for the host
     * baselines. Throws {@link io.qvg4j.tensor.InvalidInputException} when there is no OpenCL platform
     * or no such device.
     */
    public static OpenClCodec open(int threads, int device) {
        return new OpenClCodec(threads, device, DeviceKernels.Assignment.AUTO);
    }

    /** As {@link #open(int, int)}, with the assignment kernel chosen (every choice gives the same ids). */
    static OpenClCodec open(int threads, int device, DeviceKernels.Assignment assignment) {
        return new OpenClCodec(threads, device, assignment);
    }

    /** The filtered assignment's counters since the last call: tokens scanned in full, candidates scored exactly. */
    synchronized long[] takeFilterStats() {
        return k.takeFilterStats();
    }

    /** The assignment kernel an encode of this shape runs. */
    String assignKernel(int dim, int kc) {
        return k.assignKernel(dim, kc);
    }

    @Override
    public String name() {
        return "opencl";
    }

    /** The device this codec runs on. */
    public OpenCl.DeviceInfo device() {
        return cl.info;
    }

    /** The device's fp32 FMA rate and copy bandwidth, measured by its own kernels (GpuBenchmark). */
    synchronized DeviceKernels.Roofline roofline() {
        return k.roofline();
    }

    /** Device time of the last encode, encodeWithClustering or decode: kernels and transfers apart. */
    public synchronized Profile lastProfile() {
        return lastProfile;
    }

    @Override
    public synchronized QuantizedSpan encode(KvTensor x, QuantConfig config, int[][][] initIndices) {
        Validation.input(x, config);
        InitIndices.validate(initIndices, config.stages(), x.headCount(), config.centroids(), x.tokens());
        return run(x, config, initIndices, null, null, null);
    }

    @Override
    public synchronized QuantizedSpan encodeFromCentroids(KvTensor x, QuantConfig config, float[][][] initialCentroids) {
        Validation.input(x, config);
        Validation.initialCentroids(initialCentroids, config, x);
        return run(x, config, null, initialCentroids, null, null);
    }

    @Override
    public synchronized QuantizedSpan encodeWithClustering(KvTensor x, QuantConfig config, byte[][] clusterIds,
                                                           short[][] centroids) {
        Validation.clustering(x, config, clusterIds, centroids);
        return run(x, config, null, null, clusterIds, centroids);
    }

    /** One encode: k-means from initial indices or tables, or (given ids, only downstream) the given clustering. */
    private QuantizedSpan run(KvTensor x, QuantConfig config, int[][][] initIndices, float[][][] initialCentroids,
                              byte[][] givenIds, short[][] givenCentroids) {
        if (config.eta() != 0f) {
            // The device quantizer stores the endpoints of SPEC §6.3 only; SPEC §16.2 runs on the CPU codecs.
            throw new io.qvg4j.tensor.InvalidInputException("opencl: endpoint calibration η = " + config.eta()
                    + " (SPEC §16.2) is not implemented on the device; use --impl simd or reference");
        }
        boolean clustering = givenIds == null;
        if (clustering) {
            cl.requireFp64("--impl opencl encode");
        }
        cl.takeProfile();
        try (Stages s = new Stages(x, config, initIndices, initialCentroids, givenIds, givenCentroids)) {
            return clustering
                    ? ProgressiveResidualQuantization.encode(s, config, (long) x.headCount() * x.tokens())
                    : ProgressiveResidualQuantization.encodeGiven(s, config);
        } finally {
            lastProfile = cl.takeProfile();
        }
    }

    /**
     * One encode's device buffers: the fp32 residual, the centroid table and its successor, two id
     * buffers and the update's scratch. Only the initial indices or tables, one changed-id count per
     * iteration and each stage's result cross the bus.
     */
    private final class Stages implements ProgressiveResidualQuantization.Stages, AutoCloseable {
        final KvTensor x;
        final QuantConfig config;
        final int[][][] initIndices;
        final float[][][] initialCentroids;
        final byte[][] givenIds;
        final short[][] givenCentroids;
        final int heads, tokens, dim, kc;
        final long rows, cells;
        final cl_mem residual, norms, counter, bf16;
        final cl_mem[] ids;
        cl_mem c, next;
        final DeviceKernels.UpdateScratch scratch;
        final byte[][] keptIds;
        final short[][] keptCentroids;
        /** The stage being encoded, and the id buffer of the last stage's smoothing, left to the quantizer. */
        int stage;
        int lastSlot = -1;

        Stages(KvTensor x, QuantConfig config, int[][][] initIndices, float[][][] initialCentroids,
               byte[][] givenIds, short[][] givenCentroids) {
            this.x = x;
            this.config = config;
            this.initIndices = initIndices;
            this.initialCentroids = initialCentroids;
            this.givenIds = givenIds;
            this.givenCentroids = givenCentroids;
            heads = x.headCount();
            tokens = x.tokens();
            dim = x.dim();
            kc = config.centroids();
            rows = (long) heads * tokens;
            cells = (long) heads * kc * dim;
            residual = input(x);
            c = cl.buffer(cells * Sizeof.cl_float);
            next = cl.buffer(cells * Sizeof.cl_float);
            norms = cl.buffer((long) heads * kc * Sizeof.cl_float);
            ids = new cl_mem[]{cl.buffer(rows), cl.buffer(rows)};
            counter = cl.buffer(Sizeof.cl_int);
            bf16 = cl.buffer(cells * Sizeof.cl_short);
            scratch = givenIds == null ? k.new UpdateScratch(heads, tokens, kc) : null;
            keptIds = new byte[config.stages()][];
            keptCentroids = new short[config.stages()][];
        }

        @Override
        public void initialize(int stage) {
            this.stage = stage;
            if (givenIds != null) {
                keptIds[stage] = givenIds[stage];
                keptCentroids[stage] = givenCentroids[stage];
                cl.write(ids[0], Pointer.to(givenIds[stage]), rows);
                cl.write(bf16, Pointer.to(givenCentroids[stage]), cells * Sizeof.cl_short);
                k.widen(bf16, c, cells);
            } else if (initialCentroids != null) {
                float[] flat = new float[(int) cells];
                for (int bh = 0; bh < heads; bh++) {
                    System.arraycopy(initialCentroids[stage][bh], 0, flat, bh * kc * dim, kc * dim);
                }
                cl.write(c, Pointer.to(flat), cells * Sizeof.cl_float);
            } else {
                int[] flat = new int[heads * kc];
                for (int bh = 0; bh < heads; bh++) {
                    System.arraycopy(initIndices[stage][bh], 0, flat, bh * kc, kc);
                }
                cl_mem init = cl.upload(flat);
                k.gather(residual, heads, tokens, dim, kc, init, c);
                ClRuntime.release(init);
            }
        }

        @Override
        public void assign(int slot) {
            k.norms(c, heads * kc, dim, norms);
            k.assign(residual, heads, tokens, dim, c, norms, kc, ids[slot]);
        }

        @Override
        public long changed() {
            return k.countChanged(ids[0], ids[1], rows, counter);
        }

        @Override
        public void update(int slot) {
            k.update(residual, heads, tokens, dim, kc, ids[slot], c, next, scratch);
            cl_mem swap = c;
            c = next;
            next = swap;
        }

        @Override
        public void subtract(int slot) {
            // The last residual is only quantized: the quantizer subtracts on its way in.
            if (stage == config.stages() - 1) {
                lastSlot = slot;
            } else {
                k.subtract(residual, heads, tokens, dim, kc, ids[slot], c, residual);
            }
        }

        @Override
        public void keep(int stage, int slot) {
            keptIds[stage] = new byte[(int) rows];
            keptCentroids[stage] = new short[(int) cells];
            cl.read(ids[slot], 0, Pointer.to(keptIds[stage]), rows);
            k.narrow(c, bf16, cells);
            cl.read(bf16, 0, Pointer.to(keptCentroids[stage]), cells * Sizeof.cl_short);
        }

        @Override
        public QuantizedSpan quantize(int[] iterations) {
            return OpenClCodec.this.quantize(x, config, residual, ids[lastSlot], c, keptIds, keptCentroids, iterations);
        }

        @Override
        public void close() {
            ClRuntime.release(residual, c, next, norms, ids[0], ids[1], counter, bf16);
            if (scratch != null) {
                scratch.close();
            }
        }
    }

    /** Uploads the bf16 input and widens it to the fp32 residual buffer. */
    private cl_mem input(KvTensor x) {
        long n = x.elementCount();
        cl_mem bits = cl.upload(x.bits());
        cl_mem f32 = cl.buffer(n * Sizeof.cl_float);
        k.widen(bits, f32, n);
        cl.finish();
        ClRuntime.release(bits);
        return f32;
    }

    /**
     * The last stage's smoothing of {@code residual} with {@code lastIds} and {@code lastCentroids}, the block
     * quantizer and packing, in one kernel; results read back.
     */
    private QuantizedSpan quantize(KvTensor x, QuantConfig config, cl_mem residual, cl_mem lastIds, cl_mem lastCentroids,
                                   byte[][] ids, short[][] centroids, int[] iterations) {
        int dim = x.dim();
        long rows = (long) x.headCount() * x.tokens();
        long scaleBytes = rows * config.blocksPerRow(dim) * config.scaleFormat().bytes();
        byte[] packed = new byte[(int) (rows * config.packedBytesPerRow(dim))];
        byte[] scales = new byte[(int) scaleBytes];
        byte[] zeros = config.asymmetric() ? new byte[(int) scaleBytes] : null;
        cl_mem scaleBuf = cl.buffer(scaleBytes);
        cl_mem zeroBuf = cl.buffer(config.asymmetric() ? scaleBytes : 1);
        cl_mem packedBuf = cl.buffer(packed.length);
        try {
            k.quantize(residual, x.tokens(), rows, dim, config, lastIds, config.centroids(), lastCentroids, packedBuf,
                    scaleBuf, zeroBuf);
            cl.read(packedBuf, packed);
            cl.read(scaleBuf, 0, Pointer.to(scales), scaleBytes);
            if (zeros != null) {
                cl.read(zeroBuf, 0, Pointer.to(zeros), scaleBytes);
            }
        } finally {
            ClRuntime.release(scaleBuf, zeroBuf, packedBuf);
        }
        return new QuantizedSpan(config, x.batch(), x.heads(), x.tokens(), dim, ids, centroids, packed, scales, zeros,
                iterations);
    }

    @Override
    public synchronized KvTensor decode(QuantizedSpan span) {
        QuantConfig config = span.config();
        int stages = config.stages();
        long rows = (long) span.headCount() * span.tokens();
        long n = rows * span.dim();
        cl.takeProfile();
        cl_mem packed = cl.upload(span.packed());
        cl_mem scales = cl.upload(span.scales());
        cl_mem zeros = span.zeros() != null ? cl.upload(span.zeros()) : cl.buffer(1);
        int cells = span.centroids()[0].length;
        cl_mem ids = cl.buffer(stages * rows);
        cl_mem centroids = cl.buffer((long) stages * cells * Sizeof.cl_short);
        cl_mem out = cl.buffer(n * Sizeof.cl_short);
        short[] result = new short[(int) n];
        try {
            for (int t = 0; t < stages; t++) {
                cl.write(ids, t * rows, Pointer.to(span.clusterIds()[t]), rows);
                cl.write(centroids, (long) t * cells * Sizeof.cl_short, Pointer.to(span.centroids()[t]),
                        (long) cells * Sizeof.cl_short);
            }
            k.dequantize(packed, scales, zeros, ids, centroids, span.headCount(), span.tokens(), span.dim(), config, out);
            cl.read(out, result);
        } finally {
            ClRuntime.release(packed, scales, zeros, ids, centroids, out);
            lastProfile = cl.takeProfile();
        }
        return new KvTensor("dequantized", span.batch(), span.heads(), span.tokens(), span.dim(), result);
    }

    @Override
    public KvTensor rtnBaseline(KvTensor x, int bits, int groupSize) {
        return host.rtnBaseline(x, bits, groupSize);
    }

    @Override
    public KvTensor nvfp4Baseline(KvTensor x, int groupSize) {
        return host.nvfp4Baseline(x, groupSize);
    }

    @Override
    public synchronized void close() {
        host.close();
        k.close();
        cl.close();
    }
}
