package io.qvg4j.cli;

import io.qvg4j.io.Qkv;
import io.qvg4j.io.TensorFiles;
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
        description = {"Quantize a K or V tensor ([B,H,S,D] or [H,S,D]; bf16, or F16/F32 rounded to bf16) "
                + "from a .safetensors, .npy or .npz file into a .qkv container (see FORMAT.md).",
                "The k-means initial indices are drawn from --seed (SplitMix64) and stored with the result."},
        footer = {"", "Exit status: 0 on success, 2 for usage and input errors."})
public final class QuantizeCommand implements Callable<Integer> {

    @Parameters(paramLabel = "IN", description = "Input .safetensors, .npy or .npz file.")
    Path input;

    @Option(names = "--tensor", paramLabel = "NAME", description = "Tensor to quantize (needed when the file holds several).")
    String tensor;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.qkv", description = "Output container.")
    Path output;

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
        PrintWriter out = spec.commandLine().getOut();
        TensorFiles.Loaded loaded;
        QuantizedSpan span;
        String implName;
        // The bar is closed before the summary is printed, so the two never interleave on a terminal.
        try (Progress progress = Progress.start("quantize", 3);
             QvgCodec codec = impl.open()) {
            implName = impl.describe();
            progress.begin("reading " + input.getFileName());
            loaded = TensorFiles.load(input, tensor);
            KvTensor x = loaded.tensor();
            progress.step("k-means and block quantizer");
            int[][][] init = InitIndices.fromSeed(options.seed, config.stages(), x.headCount(), config.centroids(), x.tokens());
            span = codec.encode(x, config, init);
            progress.step("writing " + output.getFileName());
            Qkv.write(output, new Qkv.Contents(span, options.seed, init));
            progress.step("done");
        }
        KvTensor x = loaded.tensor();
        out.println("quantize: impl " + implName);
        out.printf("read %s '%s' %s %s%s%n", input, x.name(), x.shapeString(), loaded.sourceDtype(),
                loaded.conversion().isEmpty() ? "" : "; " + loaded.conversion());
        out.printf("quantized with %s (seed %d), k-means iterations per stage %s%n", config,
                options.seed, java.util.Arrays.toString(span.iterations()));
        MemoryFootprint f = span.footprint();
        out.printf("wrote %s: %d bytes (payload %d bytes, %.4f bits/element, %.3fx smaller than bf16)%n", output,
                Files.size(output), f.totalBytes(), f.bitsPerElement(), f.compressionRatio());
        return 0;
    }
}
