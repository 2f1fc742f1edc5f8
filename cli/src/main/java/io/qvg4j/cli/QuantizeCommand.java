package io.qvg4j.cli;

import io.qvg4j.io.AtomicFile;
import io.qvg4j.io.Qkv;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.io.TensorLayout;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code qvg quantize IN -o OUT.qkv}: quantizes one K or V tensor of a file into a {@code .qkv} container. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantize a K or V tensor ([B,H,S,D], [B,S,H,D] with --layout bshd, or [H,S,D]; bf16, or "
                + "F16/F32/F64/F8_E4M3 rounded to bf16) from a .safetensors, .npy or .npz file into a .qkv container "
                + "(see FORMAT.md). The tensor's name and layout are stored, so dequantize gives it back as it was.",
                "The k-means initial indices are drawn from --seed (SplitMix64) and stored with the result.",
                "Refused unless --force: fewer tokens S than centroids Kc, or a container not smaller than bf16."},
        footer = {"", "Exit status: 0 on success, 2 for usage and input errors."})
public final class QuantizeCommand implements Callable<Integer> {

    @Parameters(paramLabel = "IN", description = "Input .safetensors, .npy or .npz file.")
    Path input;

    @Option(names = "--tensor", paramLabel = "NAME",
            description = "Tensor to quantize (needed when the file holds several); for a .npy, the name to store.")
    String tensor;

    @Option(names = "--layout", paramLabel = "bhsd|bshd|hsd",
            description = "Axis order of the tensor in the file (default: bhsd for 4-D, hsd for 3-D).")
    String layout;

    @Option(names = "--force", description = "Quantize even when S < Kc or the result is not smaller than bf16.")
    boolean force;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.qkv", description = "Output container.")
    Path output;

    @Option(names = "--eta", defaultValue = "0", paramLabel = "η",
            description = "XQuant's data-free endpoint calibration, 0..0.5, with --asymmetric (SPEC §16.2; default: ${DEFAULT-VALUE}, none).")
    float eta;

    @Mixin
    ConfigOptions options;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!output.getFileName().toString().endsWith(".qkv")) {
            throw new InvalidInputException(output + ": output must end in .qkv");
        }
        QuantConfig config = options.config();
        if (eta != 0f) {
            if (!config.asymmetric()) {
                throw new InvalidInputException("--eta " + eta + " calibrates the asymmetric quantizer's endpoints (SPEC §16.2); add --asymmetric");
            }
            config = config.withEta(eta);
        }
        TensorLayout chosen = layout == null ? null : TensorLayout.parse(layout);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        for (Path stale : AtomicFile.removeStale(output)) {
            err.println("qvg: removed " + stale + ", a temporary file left by a killed run");
        }
        TensorFiles.Loaded loaded;
        QuantizedSpan span;
        String implName;
        // The bar is closed before the summary is printed, so the two never interleave on a terminal.
        try (Progress progress = Progress.start("quantize", 3);
             QvgCodec codec = impl.open()) {
            implName = impl.describe();
            progress.begin("reading " + input.getFileName());
            loaded = TensorFiles.load(input, tensor, chosen);
            KvTensor x = loaded.tensor();
            config.requireCompatible(x.name(), x.dim());
            if (!force) {
                refuseWasteful(x, config, loaded.layout(), chosen == null);
            }
            progress.step("k-means and block quantizer");
            int[][][] init = InitIndices.fromSeed(options.seed, config.stages(), x.headCount(), config.centroids(), x.tokens());
            span = codec.encode(x, config, init);
            progress.step("writing " + output.getFileName());
            Qkv.write(output, new Qkv.Contents(span, options.seed, init, new Qkv.Source(x.name(), loaded.layout())));
            progress.step("done");
        }
        KvTensor x = loaded.tensor();
        out.println("quantize: impl " + implName);
        out.printf("read %s '%s' %s %s%s%s%n", input, x.name(), x.shapeString(), loaded.sourceDtype(),
                loaded.layout() == TensorLayout.BHSD ? "" : " (from " + loaded.layout().axes() + ")",
                loaded.conversion().isEmpty() ? "" : "; " + loaded.conversion());
        out.printf("quantized with %s (seed %d), k-means iterations per stage %s%n", config,
                options.seed, java.util.Arrays.toString(span.iterations()));
        MemoryFootprint f = span.footprint();
        out.printf("wrote %s: %d bytes (payload %d bytes, %.4f bits/element, %.3fx smaller than bf16)%n", output,
                Files.size(output), f.totalBytes(), f.bitsPerElement(), f.compressionRatio());
        ScaleRange range = ScaleRange.of(span);
        if (range.warn()) {
            err.println("qvg: " + range.warning());
        }
        return 0;
    }

    /**
     * Refuses what is almost always a mistake: fewer tokens than centroids (often a [B,S,H,D] tensor read as
     * [B,H,S,D]), or a container at least as large as the bf16 tensor (SPEC §8 footprint).
     */
    private static void refuseWasteful(KvTensor x, QuantConfig config, TensorLayout layout, boolean layoutGuessed) {
        MemoryFootprint f = MemoryFootprint.of(x.batch(), x.heads(), x.tokens(), x.dim(), config);
        String swapped = layoutGuessed && layout == TensorLayout.BHSD && x.heads() > x.tokens()
                ? " If the tensor is [B,S,H,D], pass --layout bshd." : "";
        if (x.tokens() < config.centroids()) {
            throw new InvalidInputException(String.format("%s: S = %d tokens is below Kc = %d centroids (shape %s; "
                            + "compression against bf16 would be %.3fx).%s Otherwise pass --centroids %d or fewer, or --force.", x.name(),
                    x.tokens(), config.centroids(), x.shapeString(), f.compressionRatio(), swapped, x.tokens()));
        }
        if (f.compressionRatio() <= 1) {
            throw new InvalidInputException(String.format("%s: the .qkv would not be smaller than bf16 (compression %.3fx: "
                            + "%d bytes of payload for %d bf16 bytes).%s Pass fewer --centroids or --stages, or --force.", x.name(),
                    f.compressionRatio(), f.totalBytes(), f.bf16Bytes(), swapped));
        }
    }
}
