package io.qvg4j.gpu;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.spi.Implementation;
import io.qvg4j.tensor.InvalidInputException;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code opencl}: {@link OpenClCodec}, found by {@link java.util.ServiceLoader}. It can run where an OpenCL
 * platform has a device; {@code auto} chooses it only when device 0 is a GPU with fp64 (a CPU OpenCL
 * device such as PoCL is slower than the Vector API, and the centroid update needs fp64).
 */
public final class OpenClImplementation implements Implementation {
    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public int rank() {
        return 30;
    }

    @Override
    public String unavailable() {
        try {
            return OpenCl.devices().isEmpty() ? "no OpenCL device" : null;
        } catch (InvalidInputException | LinkageError e) {
            return e.getMessage();
        }
    }

    @Override
    public boolean automatic() {
        OpenCl.DeviceInfo d = OpenCl.devices().get(0);
        return d.gpu() && d.fp64();
    }

    @Override
    public String describe() {
        OpenCl.DeviceInfo d = OpenCl.devices().get(0);
        return d.name() + ", " + d.platform();
    }

    @Override
    public List<String> devices() {
        List<String> lines = new ArrayList<>();
        String platform = null;
        for (OpenCl.DeviceInfo d : OpenCl.devices()) {
            if (!d.platform().equals(platform)) {
                platform = d.platform();
                lines.add("platform: " + platform);
            }
            lines.add(String.format("  device %d: %s | %s | driver %s | fp64 %s | global memory %.1f GiB | local memory %d KiB"
                            + " | %d compute units%s", d.index(), d.name(), d.version(), d.driver(),
                    d.fp64() ? "yes" : "NO (k-means update unavailable)", d.globalMemory() / (double) (1L << 30),
                    d.localMemory() >> 10, d.computeUnits(), d.gpu() ? " | GPU" : ""));
        }
        return lines;
    }

    @Override
    public QvgCodec open(int threads, int device) {
        return OpenClCodec.open(threads, device);
    }
}
