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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
     * relies on ({@code AL}, {@code ABK}, {@code CHUNK}, {@code UM}). Never fast-math options; contraction is
     * turned off by a pragma in every source instead.
     */
    static final String BUILD_OPTIONS = "-cl-fp32-correctly-rounded-divide-sqrt"
            + " -DQVG_MIN_SCALE=" + Float.toHexString(io.qvg4j.algorithm.BlockQuantizer.MIN_SCALE) + "f"
            + " -DQVG_FP8_MAX=" + Float.toHexString(io.qvg4j.numeric.Fp8E4M3.MAX) + "f"
            + " -DAL=" + DeviceKernels.ASSIGN_SIDE + " -DABK=" + DeviceKernels.ASSIGN_SLICE
            + " -DCHUNK=" + DeviceKernels.CHUNK + " -DUM=" + DeviceKernels.UPDATE_MEMBERS;

    final OpenCl.DeviceInfo info;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final List<cl_event> kernelEvents = new ArrayList<>();
    private final List<String> kernelNames = new ArrayList<>();
    private final List<cl_event> transferEvents = new ArrayList<>();

    ClRuntime(int deviceIndex) {
        OpenCl.Handle handle = OpenCl.handle(deviceIndex);
        this.info = handle.info();
        try {
            context = clCreateContext(null, 1, new org.jocl.cl_device_id[]{handle.device()}, null, null, null);
            cl_queue_properties properties = new cl_queue_properties();
            properties.addProperty(CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE);
            queue = clCreateCommandQueueWithProperties(context, handle.device(), properties, null);
            List<String> sources = new ArrayList<>(List.of(resource("numeric.cl"), resource("qvg.cl"),
                    resource("roofline.cl")));
            if (info.fp64()) {
                sources.add(resource("update.cl"));
            }
            program = clCreateProgramWithSource(context, sources.size(), sources.toArray(String[]::new), null, null);
            try {
                clBuildProgram(program, 0, null, BUILD_OPTIONS, null, null);
            } catch (CLException e) {
                throw new IllegalStateException("OpenCL build failed on " + info.name() + ":\n" + buildLog(handle), e);
            }
        } catch (CLException e) {
            throw new IllegalStateException("OpenCL device " + deviceIndex + " (" + info.name() + "): " + e.getMessage(), e);
        }
    }

    private String buildLog(OpenCl.Handle handle) {
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
        write(m, Pointer.to(data), data.length);
        return m;
    }

    cl_mem upload(short[] data) {
        cl_mem m = buffer((long) data.length * Sizeof.cl_short);
        write(m, Pointer.to(data), (long) data.length * Sizeof.cl_short);
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
        kernels.values().forEach(k -> clReleaseKernel(k));
        clReleaseProgram(program);
        clReleaseCommandQueue(queue);
        clReleaseContext(context);
    }
}
