package io.qvg4j.gpu;

import io.qvg4j.tensor.InvalidInputException;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.jocl.CL.*;

/** Discovery of OpenCL platforms and devices; devices are numbered across all platforms in order. */
public final class OpenCl {
    private OpenCl() {}

    static final String NO_PLATFORM = "no OpenCL platform found; install pocl-opencl-icd and ocl-icd-libopencl1 "
            + "(Debian/Ubuntu) or a GPU vendor's OpenCL driver, then check with 'qvg devices'";

    /** One device as {@code qvg devices} lists it. */
    public record DeviceInfo(int index, String platform, String name, String version, String driver, boolean fp64,
                             long globalMemory, long localMemory, int computeUnits, boolean gpu) {}

    /** A device with its JOCL handles. */
    record Handle(DeviceInfo info, cl_platform_id platform, cl_device_id device) {}

    /** Every device of every platform; throws {@link InvalidInputException} when there is no platform. */
    public static List<DeviceInfo> devices() {
        return handles().stream().map(Handle::info).toList();
    }

    /** True when at least one OpenCL device can be used (tests use this to skip). */
    public static boolean available() {
        try {
            return !handles().isEmpty();
        } catch (InvalidInputException e) {
            return false;
        }
    }

    static Handle handle(int index) {
        List<Handle> all = handles();
        if (index < 0 || index >= all.size()) {
            throw new InvalidInputException("--device " + index + ": no such OpenCL device; there "
                    + (all.size() == 1 ? "is 1 device (index 0)" : "are " + all.size() + " devices (0.." + (all.size() - 1) + ")")
                    + ", see 'qvg devices'");
        }
        return all.get(index);
    }

    static synchronized List<Handle> handles() {
        cl_platform_id[] platforms;
        try {
            CL.setExceptionsEnabled(true);
            int[] count = new int[1];
            clGetPlatformIDs(0, null, count);
            if (count[0] == 0) {
                throw new InvalidInputException(NO_PLATFORM);
            }
            platforms = new cl_platform_id[count[0]];
            clGetPlatformIDs(count[0], platforms, null);
        } catch (CLException | UnsatisfiedLinkError e) {
            // No ICD loader, or a loader with no platform (CL_PLATFORM_NOT_FOUND_KHR).
            throw new InvalidInputException(NO_PLATFORM);
        }
        List<Handle> out = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            String platformName = platformString(p, CL_PLATFORM_NAME);
            int[] n = new int[1];
            try {
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (CLException e) {
                continue; // CL_DEVICE_NOT_FOUND: a platform without devices
            }
            cl_device_id[] devices = new cl_device_id[n[0]];
            clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n[0], devices, null);
            for (cl_device_id d : devices) {
                String extensions = deviceString(d, CL_DEVICE_EXTENSIONS);
                DeviceInfo info = new DeviceInfo(out.size(), platformName, deviceString(d, CL_DEVICE_NAME).strip(),
                        deviceString(d, CL_DEVICE_VERSION), deviceString(d, CL_DRIVER_VERSION),
                        List.of(extensions.split(" ")).contains("cl_khr_fp64"),
                        deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE), deviceLong(d, CL_DEVICE_LOCAL_MEM_SIZE),
                        deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS),
                        (deviceLong(d, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0);
                out.add(new Handle(info, p, d));
            }
        }
        return out;
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] buffer = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, buffer.length, Pointer.to(buffer), null);
        return cString(buffer);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] buffer = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, buffer.length, Pointer.to(buffer), null);
        return cString(buffer);
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    private static String cString(byte[] b) {
        int end = 0;
        while (end < b.length && b[end] != 0) {
            end++;
        }
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }
}
