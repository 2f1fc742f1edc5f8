package io.qvg4j.cli;

import io.qvg4j.spi.Implementation;
import io.qvg4j.spi.Implementations;
import io.qvg4j.tensor.InvalidInputException;
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
        Implementation opencl = Implementations.all().stream().filter(i -> i.name().equals("opencl")).findFirst()
                .orElseThrow(() -> new InvalidInputException("devices: the gpu module is not on the class path"));
        List<String> lines = opencl.devices();
        PrintWriter out = spec.commandLine().getOut();
        lines.forEach(out::println);
        if (lines.isEmpty()) {
            out.println("OpenCL platforms found, but no devices");
        }
        return 0;
    }
}
