package io.qvg4j.cli;

import io.qvg4j.io.TensorEntry;
import io.qvg4j.io.Qkv;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code qvg inspect FILE}: what a {@code .qkv} container or a tensor file holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Describe a file. A .qkv container: shape, config, and bytes and bits per element of each "
                + "component (SPEC §8) with the compression against bf16, and the tensor it came from. A .npy, .npz or "
                + ".safetensors file: every tensor with dtype and shape, those qvg cannot quantize marked with the reason."},
        footer = {"", "Exit status: 0 on success, 2 for usage and input errors (the file is fully validated)."})
public final class InspectCommand implements Callable<Integer> {

    @Parameters(paramLabel = "FILE", description = ".qkv, .safetensors, .npy or .npz file.")
    Path file;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (file.getFileName().toString().endsWith(".qkv")) {
            describe(Qkv.read(file), out);
        } else if (TensorFiles.isTensorFile(file)) {
            List<TensorEntry> all = TensorFiles.list(file);
            out.printf("%s: %d bytes, %d tensor%s%n", file, Files.size(file), all.size(), all.size() == 1 ? "" : "s");
            for (TensorEntry e : all) {
                String why = whyNotQuantizable(e);
                String line = String.format("  %-16s %-20s %-16s %s", e.name(), e.dtype(), e.shapeString(),
                        why == null ? "" : "not quantizable: " + why);
                out.println(line.stripTrailing());
            }
        } else {
            throw new InvalidInputException(file + ": unknown file type; use .qkv, .safetensors, .npy or .npz");
        }
        return 0;
    }

    private void describe(Qkv.Contents c, PrintWriter out) throws java.io.IOException {
        QuantizedSpan s = c.span();
        QuantConfig cfg = s.config();
        out.printf("%s: qvg4j quantized KV container, format version %d, %d bytes%n", file, c.version(), Files.size(file));
        if (c.source() != null) {
            out.printf("  source tensor     '%s', layout %s%n", c.source().name(), c.source().layout().axes());
        }
        out.printf("  shape [B,H,S,D]   %s%n", io.qvg4j.tensor.KvTensor.shapeString(s.batch(), s.heads(), s.tokens(), s.dim()));
        out.printf("  config            bits %d, G %d, T %d, Kc %d, %s, scales %s%n", cfg.bits(), cfg.groupSize(),
                cfg.stages(), cfg.centroids(), cfg.asymmetric() ? "asymmetric" : "symmetric", cfg.scaleFormat());
        out.printf("  k-means           max %d iterations, tolerance %s, ran %s%n", cfg.maxIters(), cfg.tolerance(),
                java.util.Arrays.toString(s.iterations()));
        out.printf("  initial indices   %s%n", c.seed() == null ? "seed unknown" : "seed " + c.seed()
                + (c.initIndices() == null ? "" : ", stored"));
        MemoryFootprint f = s.footprint();
        out.printf("  %-17s %12s %10s%n", "component", "bytes", "bits/elem");
        row(out, "codes", f.codeBytes(), f);
        row(out, "scales", f.scaleBytes(), f);
        row(out, "zero points", f.zeroBytes(), f);
        row(out, "cluster ids", f.idBytes(), f);
        row(out, "centroids", f.centroidBytes(), f);
        row(out, "total", f.totalBytes(), f);
        out.printf("  bf16 would take   %12d bytes: compression %.3fx%n", f.bf16Bytes(), f.compressionRatio());
    }

    /** Why {@code quantize} would refuse this tensor by its dtype or rank, or null when it takes it. */
    private static String whyNotQuantizable(TensorEntry e) {
        if (!e.readable()) {
            return e.unreadable();
        }
        if (!e.array().dtype().isFloatingPoint()) {
            return "not a floating-point tensor";
        }
        int rank = e.shape().length;
        return rank == 3 || rank == 4 ? null : rank + "-D, not [B,H,S,D], [B,S,H,D] or [H,S,D]";
    }

    private static void row(PrintWriter out, String what, long bytes, MemoryFootprint f) {
        out.printf("  %-17s %12d %10.4f%n", what, bytes, f.bitsPerElement(bytes));
    }
}
