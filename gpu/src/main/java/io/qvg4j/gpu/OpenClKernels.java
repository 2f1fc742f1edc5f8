package io.qvg4j.gpu;

import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

import java.util.Arrays;

/**
 * Each OpenCL kernel behind the per-head {@link QvgKernels} interface, data copied in and out on every
 * call. It exists to check the kernels one by one against {@link ScalarKernels}; {@link OpenClCodec}
 * is the fast path, which keeps data on the device. The baselines run on the host (SPEC §9).
 */
public final class OpenClKernels implements QvgKernels, AutoCloseable {
    private final ClRuntime cl;
    private final DeviceKernels k;

    public OpenClKernels(int device) {
        this(device, DeviceKernels.Assignment.AUTO);
    }

    OpenClKernels(int device, DeviceKernels.Assignment assignment) {
        this.cl = new ClRuntime(device);
        this.k = new DeviceKernels(cl, assignment);
    }

    @Override
    public String name() {
        return "opencl";
    }

    /** The assignment kernel {@link #assign} runs for this shape. */
    String assignKernel(int dim, int kc) {
        return k.assignKernel(dim, kc);
    }

    /** The filtered assignment's counters since the last call: tokens scanned in full, candidates scored exactly. */
    synchronized long[] takeFilterStats() {
        return k.takeFilterStats();
    }

    @Override
    public synchronized void norms(float[] centroids, int kc, int dim, float[] norms) {
        cl_mem c = cl.upload(Arrays.copyOf(centroids, kc * dim));
        cl_mem out = cl.buffer((long) kc * Sizeof.cl_float);
        k.norms(c, kc, dim, out);
        cl.read(out, 0, Pointer.to(norms), (long) kc * Sizeof.cl_float);
        ClRuntime.release(c, out);
    }

    @Override
    public synchronized void assign(float[] x, int dim, int from, int to, float[] centroids, float[] norms, int kc,
                                    int[] ids) {
        int tokens = to - from;
        cl_mem xs = cl.upload(Arrays.copyOfRange(x, from * dim, to * dim));
        cl_mem c = cl.upload(Arrays.copyOf(centroids, kc * dim));
        cl_mem n = cl.upload(Arrays.copyOf(norms, kc));
        cl_mem out = cl.buffer(tokens);
        k.assign(xs, 1, tokens, dim, c, n, kc, out);
        byte[] b = new byte[tokens];
        cl.read(out, 0, Pointer.to(b), tokens);
        for (int i = 0; i < tokens; i++) {
            ids[from + i] = b[i] & 0xFF;
        }
        ClRuntime.release(xs, c, n, out);
    }

    @Override
    public synchronized void update(float[] x, int tokens, int dim, int[] ids, float[] centroids, int kc,
                                             float[] newCentroids, int[] counts) {
        cl_mem xs = cl.upload(Arrays.copyOf(x, tokens * dim));
        cl_mem idb = cl.upload(bytes(ids, tokens));
        cl_mem c = cl.upload(Arrays.copyOf(centroids, kc * dim));
        cl_mem next = cl.buffer((long) kc * dim * Sizeof.cl_float);
        try (DeviceKernels.UpdateScratch scratch = k.new UpdateScratch(1, tokens, kc)) {
            k.update(xs, 1, tokens, dim, kc, idb, c, next, scratch);
            cl.read(next, 0, Pointer.to(newCentroids), (long) kc * dim * Sizeof.cl_float);
            cl.read(scratch.counts, 0, Pointer.to(counts), (long) kc * Sizeof.cl_int);
        } finally {
            ClRuntime.release(xs, idb, c, next);
        }
    }

    @Override
    public synchronized void subtract(float[] x, int tokens, int dim, int[] ids, float[] centroids,
                                               float[] residual) {
        int kc = Arrays.stream(ids, 0, tokens).max().orElse(0) + 1;
        cl_mem xs = cl.upload(Arrays.copyOf(x, tokens * dim));
        cl_mem idb = cl.upload(bytes(ids, tokens));
        cl_mem c = cl.upload(Arrays.copyOf(centroids, kc * dim));
        k.subtract(xs, 1, tokens, dim, kc, idb, c, xs);
        cl.read(xs, 0, Pointer.to(residual), (long) tokens * dim * Sizeof.cl_float);
        ClRuntime.release(xs, idb, c);
    }

    @Override
    public synchronized void quantize(float[] residual, int tokens, int dim, QuantConfig config, byte[] packed,
                                          int packedOffset, byte[] scales, int scaleOffset, byte[] zeros,
                                          int zeroOffset) {
        long scaleBytes = (long) tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes();
        long packedBytes = (long) tokens * config.packedBytesPerRow(dim);
        cl_mem r = cl.upload(Arrays.copyOf(residual, tokens * dim));
        cl_mem s = cl.buffer(scaleBytes);
        cl_mem z = cl.buffer(scaleBytes);
        cl_mem p = cl.buffer(packedBytes);
        k.quantize(r, tokens, tokens, dim, config, null, 0, null, p, s, z);
        cl.read(p, 0, Pointer.to(packed).withByteOffset(packedOffset), packedBytes);
        cl.read(s, 0, Pointer.to(scales).withByteOffset(scaleOffset), scaleBytes);
        if (config.asymmetric()) {
            cl.read(z, 0, Pointer.to(zeros).withByteOffset(zeroOffset), scaleBytes);
        }
        ClRuntime.release(r, s, z, p);
    }

    @Override
    public synchronized void dequantize(QuantizedSpan span, int bh, short[] out, int outOffset) {
        QuantConfig config = span.config();
        int tokens = span.tokens();
        int dim = span.dim();
        int stages = config.stages();
        int rowBytes = config.packedBytesPerRow(dim);
        int scaleRow = config.blocksPerRow(dim) * config.scaleFormat().bytes();
        int cells = config.centroids() * dim;
        byte[] ids = new byte[stages * tokens];
        short[] table = new short[stages * cells];
        for (int t = 0; t < stages; t++) {
            System.arraycopy(span.clusterIds()[t], bh * tokens, ids, t * tokens, tokens);
            System.arraycopy(span.centroids()[t], bh * cells, table, t * cells, cells);
        }
        cl_mem p = cl.upload(Arrays.copyOfRange(span.packed(), bh * tokens * rowBytes, (bh + 1) * tokens * rowBytes));
        cl_mem s = cl.upload(Arrays.copyOfRange(span.scales(), bh * tokens * scaleRow, (bh + 1) * tokens * scaleRow));
        cl_mem z = span.zeros() == null ? cl.buffer(1)
                : cl.upload(Arrays.copyOfRange(span.zeros(), bh * tokens * scaleRow, (bh + 1) * tokens * scaleRow));
        cl_mem idb = cl.upload(ids);
        cl_mem c = cl.upload(table);
        cl_mem o = cl.buffer((long) tokens * dim * Sizeof.cl_short);
        k.dequantize(p, s, z, idb, c, 1, tokens, dim, config, o);
        cl.read(o, 0, Pointer.to(out).withByteOffset((long) outOffset * Sizeof.cl_short), (long) tokens * dim * Sizeof.cl_short);
        ClRuntime.release(p, s, z, idb, c, o);
    }

    @Override
    public void rtn(short[] in, short[] out, int from, int to, int groupSize, int bits) {
        ScalarKernels.INSTANCE.rtn(in, out, from, to, groupSize, bits);
    }

    @Override
    public void nvfp4(short[] in, short[] out, int from, int to, int groupSize) {
        ScalarKernels.INSTANCE.nvfp4(in, out, from, to, groupSize);
    }

    private static byte[] bytes(int[] ids, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ids[i];
        }
        return b;
    }

    @Override
    public synchronized void close() {
        k.close();
        cl.close();
    }
}
