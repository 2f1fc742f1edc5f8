package io.qvg4j.cli;

import io.qvg4j.gpu.OpenCl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code qvg devices}: the OpenCL platforms and devices, numbered as {@code --device} takes them. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = {"List OpenCL platforms and devices with the index that --device takes, the OpenCL version, "
                + "whether the device has cl_khr_fp64 (needed by the k-means update of --impl opencl) and its memory."},
        footer = {"", "Exit status: 0 when at least one device is found, 2 when there is no OpenCL platform."})
public final class DevicesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<OpenCl.DeviceInfo> devices = OpenCl.devices();
        PrintWriter out = spec.commandLine().getOut();
        String platform = null;
        for (OpenCl.DeviceInfo d : devices) {
            if (!d.platform().equals(platform)) {
                platform = d.platform();
                out.println("platform: " + platform);
            }
            out.printf("  device %d: %s | %s | driver %s | fp64 %s | global memory %.1f GiB | local memory %d KiB | %d compute units%n",
                    d.index(), d.name(), d.version(), d.driver(), d.fp64() ? "yes" : "NO (k-means update unavailable)",
                    d.globalMemory() / (double) (1L << 30), d.localMemory() >> 10, d.computeUnits());
        }
        if (devices.isEmpty()) {
            out.println("OpenCL platforms found, but no devices");
        }
        return 0;
    }
}
