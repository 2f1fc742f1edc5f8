package io.qvg4j.gpu;

import io.qvg4j.tensor.InvalidInputException;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;
import org.jocl.cl_queue_properties;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

import static org.jocl.CL.*;

/**
 * One device's context, profiling queue and built program, with methods to move data and launch
 * kernels. Every command gets a profiling event so kernel and transfer time can be reported apart.
 * Not thread-safe: callers serialise (the codec's methods are synchronized).
 */
final class ClRuntime implements AutoCloseable {
    /**
     * IEEE division and square root (SPEC §2.3 and §3.3 rely on them), and the constants the kernels share
     * with the Java reference, defined from it so they are written once: the scale floor (SPEC §6.2) and
     * the FP8 maximum (SPEC §2.2), as exact hexadecimal floats; and the tile sizes the Java launch code
     * relies on ({@code AL}, {@code ABK}, {@code CHUNK}, {@code UD}, {@code UL}, {@code DQ}, {@code QL}, {@code QH}, and the
     * filtered assignment's {@code FW}, {@code KMAX}, {@code FD}, {@code XW}, {@code RCAP}, {@code XSLOTS}, {@code XT}).
     * Never fast-math options; contraction is turned off by a pragma in every source instead.
     */
    static final String BUILD_OPTIONS = "-cl-fp32-correctly-rounded-divide-sqrt"
            + " -DQVG_MIN_SCALE=" + Float.toHexString(io.qvg4j.algorithm.BlockQuantizer.MIN_SCALE) + "f"
            + " -DQVG_FP8_MAX=" + Float.toHexString(io.qvg4j.numeric.Fp8E4M3.MAX) + "f"
            + " -DAL=" + DeviceKernels.ASSIGN_SIDE + " -DABK=" + DeviceKernels.ASSIGN_SLICE
            + " -DCHUNK=" + DeviceKernels.CHUNK + " -DUD=" + DeviceKernels.UPDATE_CHANNELS
            + " -DUL=" + DeviceKernels.UPDATE_LANES + " -DDQ=" + DeviceKernels.DEQUANTIZE_RUNS
            + " -DQL=" + DeviceKernels.QUANTIZE_GROUP
            + " -DQH=" + DeviceKernels.QUANTIZE_HALVES
            + " -DFW=" + DeviceKernels.FILTER_WARPS + " -DKMAX=" + DeviceKernels.FILTER_MAX_CENTROIDS
            + " -DFD=" + DeviceKernels.FILTER_MAX_DIM + " -DXW=" + DeviceKernels.FILTER_ROW_WORDS
            + " -DRCAP=" + DeviceKernels.FILTER_CANDIDATES + " -DXSLOTS=" + DeviceKernels.FILTER_SLOTS
            + " -DXT=" + DeviceKernels.FILTER_EXACT_TOKENS;

    final OpenCl.DeviceInfo info;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    /**
     * Whether the program was built with {@code QVG_PTX}, the inline PTX of NVIDIA devices (compute
     * capability 8.0 and later): the assignment filter's bf16 products on the tensor cores ({@code mma.sync}),
     * and the quantizer's warp shuffles ({@code shfl.sync}) and bf16 conversions ({@code cvt.rn.bf16x2.f32}).
     * Tried on every NVIDIA platform; where that build fails the program is built without it.
     */
    final boolean ptx;
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final List<cl_event> kernelEvents = new ArrayList<>();
    private final List<String> kernelNames = new ArrayList<>();
    private final List<cl_event> transferEvents = new ArrayList<>();
    /** Two pinned (CL_MEM_ALLOC_HOST_PTR, mapped once) staging buffers for the large copies; allocated on first use. */
    private cl_mem[] stage;
    private ByteBuffer[] stageView;

    ClRuntime(int deviceIndex) {
        OpenCl.Handle handle = OpenCl.handle(deviceIndex);
        this.info = handle.info();
        try {
            context = clCreateContext(null, 1, new org.jocl.cl_device_id[]{handle.device()}, null, null, null);
            cl_queue_properties properties = new cl_queue_properties();
            properties.addProperty(CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE);
            queue = clCreateCommandQueueWithProperties(context, handle.device(), properties, null);
            List<String> sources = new ArrayList<>(List.of(resource("numeric.cl"), resource("qvg.cl"),
                    resource("filter.cl"), resource("roofline.cl")));
            if (info.fp64()) {
                sources.add(resource("update.cl"));
            }
            String[] text = sources.toArray(String[]::new);
            cl_program built = null;
            if (info.platform().contains("NVIDIA")) {
                built = clCreateProgramWithSource(context, text.length, text, null, null);
                try {
                    clBuildProgram(built, 0, null, BUILD_OPTIONS + " -DQVG_PTX", null, null);
                } catch (CLException e) {
                    clReleaseProgram(built);
                    built = null;
                }
            }
            ptx = built != null;
            if (built == null) {
                built = clCreateProgramWithSource(context, text.length, text, null, null);
                try {
                    clBuildProgram(built, 0, null, BUILD_OPTIONS, null, null);
                } catch (CLException e) {
                    throw new IllegalStateException("OpenCL build failed on " + info.name() + ":\n" + buildLog(built, handle), e);
                }
            }
            program = built;
        } catch (CLException e) {
            throw new IllegalStateException("OpenCL device " + deviceIndex + " (" + info.name() + "): " + e.getMessage(), e);
        }
    }

    private static String buildLog(cl_program program, OpenCl.Handle handle) {
        long[] size = new long[1];
        clGetProgramBuildInfo(program, handle.device(), CL_PROGRAM_BUILD_LOG, 0, null, size);
        byte[] log = new byte[(int) size[0]];
        clGetProgramBuildInfo(program, handle.device(), CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
        return new String(log, StandardCharsets.UTF_8).strip();
    }

    private static String resource(String name) {
        try (InputStream in = ClRuntime.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + name + " missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Throws a one-line error when the centroid update cannot run on this device. */
    void requireFp64(String what) {
        if (!info.fp64()) {
            throw new InvalidInputException(what + ": OpenCL device '" + info.name() + "' lacks cl_khr_fp64, which the "
                    + "deterministic centroid update (double sums, SPEC §3.3) needs; pick another device with --device");
        }
    }

    cl_mem buffer(long bytes) {
        return clCreateBuffer(context, CL_MEM_READ_WRITE, Math.max(bytes, 1), null, null);
    }

    cl_mem upload(byte[] data) {
        cl_mem m = buffer(data.length);
        write(m, data);
        return m;
    }

    cl_mem upload(short[] data) {
        cl_mem m = buffer((long) data.length * Sizeof.cl_short);
        write(m, data);
        return m;
    }

    cl_mem upload(int[] data) {
        cl_mem m = buffer((long) data.length * Sizeof.cl_int);
        write(m, Pointer.to(data), (long) data.length * Sizeof.cl_int);
        return m;
    }

    cl_mem upload(float[] data) {
        cl_mem m = buffer((long) data.length * Sizeof.cl_float);
        write(m, Pointer.to(data), (long) data.length * Sizeof.cl_float);
        return m;
    }

    void write(cl_mem m, Pointer p, long bytes) {
        write(m, 0, p, bytes);
    }

    void write(cl_mem m, long offset, Pointer p, long bytes) {
        if (bytes == 0) {
            return;
        }
        cl_event e = new cl_event();
        clEnqueueWriteBuffer(queue, m, CL_TRUE, offset, bytes, p, 0, null, e);
        transferEvents.add(e);
    }

    void read(cl_mem m, long offset, Pointer p, long bytes) {
        if (bytes == 0) {
            return;
        }
        cl_event e = new cl_event();
        clEnqueueReadBuffer(queue, m, CL_TRUE, offset, bytes, p, 0, null, e);
        transferEvents.add(e);
    }

    /** Copies from at least this many bytes go through the pinned staging buffers. */
    private static final long STAGED_MIN = 1 << 20;
    /** Bytes per staging buffer. */
    private static final int STAGE_BYTES = 32 << 20;

    /** Fills or drains {@code bytes} bytes of a staging view with the array's bytes from {@code from} on. */
    private interface Part {
        void copy(ByteBuffer view, long from, int bytes);
    }

    void write(cl_mem m, byte[] data) {
        if (data.length < STAGED_MIN) {
            write(m, Pointer.to(data), data.length);
        } else {
            stagedWrite(m, data.length, (view, from, n) -> view.put(data, (int) from, n));
        }
    }

    void write(cl_mem m, short[] data) {
        long bytes = (long) data.length * Sizeof.cl_short;
        if (bytes < STAGED_MIN) {
            write(m, Pointer.to(data), bytes);
        } else {
            stagedWrite(m, bytes, (view, from, n) -> view.asShortBuffer().put(data, (int) (from / 2), n / 2));
        }
    }

    void read(cl_mem m, byte[] data) {
        if (data.length < STAGED_MIN) {
            read(m, 0, Pointer.to(data), data.length);
        } else {
            stagedRead(m, data.length, (view, from, n) -> view.get(data, (int) from, n));
        }
    }

    void read(cl_mem m, short[] data) {
        long bytes = (long) data.length * Sizeof.cl_short;
        if (bytes < STAGED_MIN) {
            read(m, 0, Pointer.to(data), bytes);
        } else {
            stagedRead(m, bytes, (view, from, n) -> view.asShortBuffer().get(data, (int) (from / 2), n / 2));
        }
    }

    /**
     * Host to device through the two pinned buffers, chunk by chunk: while the device copies one chunk
     * (DMA from pinned memory, no driver-side staging), the host threads fill the other.
     */
    private void stagedWrite(cl_mem m, long bytes, Part part) {
        staging();
        cl_event[] pending = new cl_event[2];
        int i = 0;
        for (long done = 0; done < bytes; done += STAGE_BYTES, i++) {
            int slot = i & 1;
            int n = (int) Math.min(STAGE_BYTES, bytes - done);
            if (pending[slot] != null) {
                clWaitForEvents(1, new cl_event[]{pending[slot]});
            }
            copy(stageView[slot], done, n, part);
            cl_event e = new cl_event();
            clEnqueueWriteBuffer(queue, m, CL_FALSE, done, n, Pointer.to(stageView[slot]), 0, null, e);
            clFlush(queue);
            transferEvents.add(e);
            pending[slot] = e;
        }
        for (cl_event e : pending) {
            if (e != null) {
                clWaitForEvents(1, new cl_event[]{e});
            }
        }
    }

    /** Device to host, chunk by chunk: the host drains one pinned buffer while the device fills the other. */
    private void stagedRead(cl_mem m, long bytes, Part part) {
        staging();
        cl_event previous = null;
        long previousFrom = 0;
        int previousBytes = 0;
        int i = 0;
        for (long done = 0; done < bytes; done += STAGE_BYTES, i++) {
            int slot = i & 1;
            int n = (int) Math.min(STAGE_BYTES, bytes - done);
            cl_event e = new cl_event();
            clEnqueueReadBuffer(queue, m, CL_FALSE, done, n, Pointer.to(stageView[slot]), 0, null, e);
            clFlush(queue);
            transferEvents.add(e);
            if (previous != null) {
                clWaitForEvents(1, new cl_event[]{previous});
                copy(stageView[1 - slot], previousFrom, previousBytes, part);
            }
            previous = e;
            previousFrom = done;
            previousBytes = n;
        }
        clWaitForEvents(1, new cl_event[]{previous});
        copy(stageView[(i - 1) & 1], previousFrom, previousBytes, part);
    }

    /** One chunk between the array and a staging buffer, split over the host threads in 8-byte-aligned parts. */
    private static void copy(ByteBuffer view, long from, int bytes, Part part) {
        int parts = Math.max(1, Math.min(16, bytes >> 20));
        int each = ((bytes + parts - 1) / parts + 7) & ~7;
        IntStream.range(0, parts).parallel().forEach(p -> {
            int start = p * each;
            int n = Math.min(each, bytes - start);
            if (n > 0) {
                part.copy(view.slice(start, n).order(ByteOrder.nativeOrder()), from + start, n);
            }
        });
    }

    private void staging() {
        if (stage != null) {
            return;
        }
        stage = new cl_mem[2];
        stageView = new ByteBuffer[2];
        for (int i = 0; i < 2; i++) {
            stage[i] = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, STAGE_BYTES, null, null);
            stageView[i] = clEnqueueMapBuffer(queue, stage[i], CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, STAGE_BYTES,
                    0, null, null, null).order(ByteOrder.nativeOrder());
        }
    }

    /** Bytes of local memory: an argument for {@link #launch}. */
    record Local(long bytes) {}

    /**
     * Enqueues a kernel. Arguments: {@link cl_mem}, Integer, Long, Float or {@link Local}. A null local
     * size lets the device choose; otherwise each global size is rounded up to a multiple of it.
     */
    void launch(String name, long[] global, long[] local, Object... args) {
        cl_kernel k = kernels.computeIfAbsent(name, n -> clCreateKernel(program, n, null));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case cl_mem m -> clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
                case Integer v -> clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[]{v}));
                case Long v -> clSetKernelArg(k, i, Sizeof.cl_long, Pointer.to(new long[]{v}));
                case Float v -> clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[]{v}));
                case Local l -> clSetKernelArg(k, i, l.bytes(), null);
                default -> throw new IllegalArgumentException("kernel argument " + i + ": " + args[i]);
            }
        }
        long[] g = global.clone();
        if (local != null) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (g[i] + local[i] - 1) / local[i] * local[i];
            }
        }
        for (long v : g) {
            if (v == 0) {
                return;
            }
        }
        cl_event e = new cl_event();
        clEnqueueNDRangeKernel(queue, k, g.length, null, g, local, 0, null, e);
        kernelEvents.add(e);
        kernelNames.add(name);
    }

    void finish() {
        clFinish(queue);
    }

    /** Waits for the queue, then sums and releases the events recorded since the last call. */
    Profile takeProfile() {
        clFinish(queue);
        Map<String, Long> perKernel = new TreeMap<>();
        Map<String, Integer> launches = new TreeMap<>();
        long kernelTotal = 0;
        for (int i = 0; i < kernelEvents.size(); i++) {
            long t = nanos(kernelEvents.get(i));
            perKernel.merge(kernelNames.get(i), t, Long::sum);
            launches.merge(kernelNames.get(i), 1, Integer::sum);
            kernelTotal += t;
        }
        long transferTotal = 0;
        for (cl_event e : transferEvents) {
            transferTotal += nanos(e);
        }
        Profile p = new Profile(kernelTotal, transferTotal, kernelEvents.size(), transferEvents.size(), perKernel, launches);
        kernelEvents.clear();
        kernelNames.clear();
        transferEvents.clear();
        return p;
    }

    /** A finished command's device time; releases the event. */
    private static long nanos(cl_event e) {
        long[] start = new long[1];
        long[] end = new long[1];
        clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_START, Sizeof.cl_ulong, Pointer.to(start), null);
        clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, Sizeof.cl_ulong, Pointer.to(end), null);
        clReleaseEvent(e);
        return end[0] - start[0];
    }

    static void release(cl_mem... buffers) {
        for (cl_mem m : buffers) {
            if (m != null) {
                clReleaseMemObject(m);
            }
        }
    }

    @Override
    public void close() {
        takeProfile();
        if (stage != null) {
            for (int i = 0; i < 2; i++) {
                clEnqueueUnmapMemObject(queue, stage[i], stageView[i], 0, null, null);
            }
            clFinish(queue);
            release(stage);
        }
        kernels.values().forEach(k -> clReleaseKernel(k));
        clReleaseProgram(program);
        clReleaseCommandQueue(queue);
        clReleaseContext(context);
    }
}
