package io.qvg4j.gpu;

import io.qvg4j.kernel.KernelCodec;
import io.qvg4j.kernel.ScalarKernels;
import io.qvg4j.kmeans.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.QvgCodec;
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
    private final KernelCodec host;
    private Profile lastProfile = Profile.NONE;

    private OpenClCodec(int threads, int device) {
        this.cl = new ClRuntime(device);
        this.k = new DeviceKernels(cl);
        this.host = new KernelCodec(ScalarKernels.INSTANCE, threads);
    }

    /**
     * Opens device {@code device} as {@code qvg devices} numbers it; {@code threads} are for the host
     * baselines. Throws {@link io.qvg4j.tensor.InvalidInputException} when there is no OpenCL platform
     * or no such device.
     */
    public static OpenClCodec open(int threads, int device) {
        return new OpenClCodec(threads, device);
    }

    @Override
    public String name() {
        return "opencl";
    }

    /** The device this codec runs on. */
    public OpenCl.DeviceInfo device() {
        return cl.info;
    }

    /** Device time of the last encode, encodeWithClustering or decode: kernels and transfers apart. */
    public synchronized Profile lastProfile() {
        return lastProfile;
    }

    @Override
    public synchronized QuantizedSpan encode(KvTensor x, QuantConfig config, int[][][] initIndices) {
        KernelCodec.validate(x, config);
        int heads = x.headCount();
        int tokens = x.tokens();
        int dim = x.dim();
        int kc = config.centroids();
        int stages = config.stages();
        InitIndices.validate(initIndices, stages, heads, kc, tokens);
        cl.requireFp64("--impl opencl encode");
        long rows = (long) heads * tokens;
        long cells = (long) heads * kc * dim;
        cl.takeProfile();
        cl_mem residual = input(x);
        cl_mem c = cl.buffer(cells * Sizeof.cl_float);
        cl_mem next = cl.buffer(cells * Sizeof.cl_float);
        cl_mem norms = cl.buffer((long) heads * kc * Sizeof.cl_float);
        cl_mem idsA = cl.buffer(rows);
        cl_mem idsB = cl.buffer(rows);
        DeviceKernels.UpdateScratch scratch = k.new UpdateScratch(heads, tokens, kc);
        cl_mem counter = cl.buffer(Sizeof.cl_int);
        cl_mem init = cl.buffer((long) heads * kc * Sizeof.cl_int);
        cl_mem bf16 = cl.buffer(cells * Sizeof.cl_short);
        byte[][] ids = new byte[stages][(int) rows];
        short[][] centroids = new short[stages][(int) cells];
        int[] iterations = new int[stages];
        // The official rate: f32(changed) · f32(1 / f32(B·H·N)) < f32(tol), as KMeans computes it.
        float perToken = 1.0f / (float) rows;
        try {
            for (int t = 0; t < stages; t++) {
                int[] flat = new int[heads * kc];
                for (int bh = 0; bh < heads; bh++) {
                    System.arraycopy(initIndices[t][bh], 0, flat, bh * kc, kc);
                }
                cl.write(init, Pointer.to(flat), (long) flat.length * Sizeof.cl_int);
                k.gather(residual, heads, tokens, dim, kc, init, c);
                // Lloyd iterations with KMeans' control (SPEC §3.4): the test starts at the second
                // iteration; a break returns the ids with the centroids they were assigned to,
                // exhaustion the last ids with the centroids updated from them.
                cl_mem cur = idsA;
                cl_mem prev = idsB;
                cl_mem resultIds = null;
                for (int it = 0; it < config.maxIters() && resultIds == null; it++) {
                    k.norms(c, heads * kc, dim, norms);
                    k.assign(residual, heads, tokens, dim, c, norms, kc, cur);
                    if (it > 0 && (float) k.countChanged(cur, prev, rows, counter) * perToken < config.tolerance()) {
                        resultIds = cur;
                        iterations[t] = it + 1;
                        break;
                    }
                    k.update(residual, heads, tokens, dim, kc, cur, c, next, scratch);
                    cl_mem swap = prev;
                    prev = cur;
                    cur = swap;
                    swap = c;
                    c = next;
                    next = swap;
                }
                if (resultIds == null) {
                    resultIds = prev;
                    iterations[t] = config.maxIters();
                }
                k.subtract(residual, heads, tokens, dim, kc, resultIds, c, residual);
                cl.read(resultIds, 0, Pointer.to(ids[t]), rows);
                k.narrow(c, bf16, cells);
                cl.read(bf16, 0, Pointer.to(centroids[t]), cells * Sizeof.cl_short);
            }
            return quantize(x, config, residual, ids, centroids, iterations);
        } finally {
            ClRuntime.release(residual, c, next, norms, idsA, idsB, counter, init, bf16);
            scratch.close();
            lastProfile = cl.takeProfile();
        }
    }

    @Override
    public synchronized QuantizedSpan encodeWithClustering(KvTensor x, QuantConfig config, byte[][] clusterIds,
                                                           short[][] centroids) {
        KernelCodec.validateClustering(x, config, clusterIds, centroids);
        int heads = x.headCount();
        int tokens = x.tokens();
        int dim = x.dim();
        int kc = config.centroids();
        long cells = (long) heads * kc * dim;
        cl.takeProfile();
        cl_mem residual = input(x);
        cl_mem c = cl.buffer(cells * Sizeof.cl_float);
        cl_mem ids = null;
        cl_mem table = null;
        try {
            for (int t = 0; t < config.stages(); t++) {
                ClRuntime.release(ids, table);
                ids = cl.upload(clusterIds[t]);
                table = cl.upload(centroids[t]);
                k.widen(table, c, cells);
                k.subtract(residual, heads, tokens, dim, kc, ids, c, residual);
            }
            return quantize(x, config, residual, clusterIds, centroids, new int[config.stages()]);
        } finally {
            ClRuntime.release(residual, c, ids, table);
            lastProfile = cl.takeProfile();
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

    /** Block quantizer and packing of the final residual, results read back. */
    private QuantizedSpan quantize(KvTensor x, QuantConfig config, cl_mem residual, byte[][] ids, short[][] centroids,
                                   int[] iterations) {
        int dim = x.dim();
        long rows = (long) x.headCount() * x.tokens();
        long scaleBytes = rows * config.blocksPerRow(dim) * config.scaleFormat().bytes();
        byte[] packed = new byte[(int) (rows * config.packedBytesPerRow(dim))];
        byte[] scales = new byte[(int) scaleBytes];
        byte[] zeros = config.asymmetric() ? new byte[(int) scaleBytes] : null;
        cl_mem codes = cl.buffer(rows * dim);
        cl_mem scaleBuf = cl.buffer(scaleBytes);
        cl_mem zeroBuf = cl.buffer(config.asymmetric() ? scaleBytes : 1);
        cl_mem packedBuf = cl.buffer(packed.length);
        try {
            k.quantize(residual, rows, dim, config, codes, scaleBuf, zeroBuf);
            k.pack(codes, rows, dim, config.bits(), packedBuf);
            cl.read(packedBuf, 0, Pointer.to(packed), packed.length);
            cl.read(scaleBuf, 0, Pointer.to(scales), scaleBytes);
            if (zeros != null) {
                cl.read(zeroBuf, 0, Pointer.to(zeros), scaleBytes);
            }
        } finally {
            ClRuntime.release(codes, scaleBuf, zeroBuf, packedBuf);
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
            k.dequantize(packed, scales, zeros, ids, centroids, rows, span.tokens(), span.dim(), config, out);
            cl.read(out, 0, Pointer.to(result), n * Sizeof.cl_short);
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
        cl.close();
    }
}
