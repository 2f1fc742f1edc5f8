package io.qvg4j.cli;

import io.qvg4j.io.AtomicFile;
import io.qvg4j.io.NpyDtype;
import io.qvg4j.io.Qkv;
import io.qvg4j.io.Safetensors;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.io.TensorLayout;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code qvg dequantize IN.qkv -o OUT}: reconstructs the tensor of a container (SPEC §7). */
@Command(name = "dequantize", mixinStandardHelpOptions = true,
        description = {"Dequantize a .qkv container to a .npy, .npz or .safetensors tensor, under the name and in the "
                + "layout (and so the rank) the quantized input had.",
                "--dtype f32 (the default for .npy and .npz) and f16 hold the bf16 values converted; bf16 (the default "
                        + "for .safetensors) is a BF16 tensor, or uint16 bit patterns in NumPy files, which have no bf16."},
        footer = {"", "Exit status: 0 on success, 2 for usage and input errors."})
public final class DequantizeCommand implements Callable<Integer> {

    @Parameters(paramLabel = "IN.qkv", description = "Container written by 'qvg quantize'.")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Output .safetensors, .npy or .npz file.")
    Path output;

    @Option(names = {"--tensor", "--name"}, paramLabel = "NAME",
            description = "Tensor name in a .safetensors or .npz output (default: the input's, 'deq' for a version-1 container).")
    String name;

    @Option(names = "--dtype", paramLabel = "bf16|f16|f32", description = "Output dtype (default: f32 for .npy/.npz, bf16 for .safetensors).")
    String dtype;

    @Option(names = "--stages", paramLabel = "S",
            description = "Decode the draft view of the first S PRQ stages, 1..T (SPEC §16.1; default: all T, the full decode).")
    Integer stages;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String n = output.getFileName().toString();
        if (!n.endsWith(".npy") && !n.endsWith(".npz") && !n.endsWith(".safetensors")) {
            throw new InvalidInputException(output + ": output must end in .npy, .npz or .safetensors");
        }
        NpyDtype outType = switch (dtype == null ? (n.endsWith(".safetensors") ? "bf16" : "f32") : dtype) {
            case "bf16" -> NpyDtype.UINT16;
            case "f16" -> NpyDtype.FLOAT16;
            case "f32" -> NpyDtype.FLOAT32;
            default -> throw new InvalidInputException("--dtype " + dtype + ": use bf16, f16 or f32");
        };
        Qkv.Contents c = Qkv.read(input);
        int t = c.span().config().stages();
        if (stages != null && (stages < 1 || stages > t)) {
            throw new InvalidInputException("--stages " + stages + ": " + input + " has T = " + t
                    + " PRQ stages; a draft reads 1.." + t + " of them (SPEC §16.1)");
        }
        String tensorName = name != null ? name : c.source() != null ? c.source().name() : "deq";
        if (tensorName.equals(Safetensors.METADATA) && !n.endsWith(".npy")) {
            throw new InvalidInputException("tensor name '" + tensorName + "' is reserved in .safetensors files (the header's "
                    + "metadata key); choose another with --tensor");
        }
        TensorLayout layout = c.source() != null ? c.source().layout() : TensorLayout.BHSD;
        for (Path stale : AtomicFile.removeStale(output)) {
            spec.commandLine().getErr().println("qvg: removed " + stale + ", a temporary file left by a killed run");
        }
        KvTensor deq;
        spec.commandLine().getOut().println("dequantize: impl " + impl.describe());
        try (QvgCodec codec = impl.open()) {
            deq = stages == null ? codec.decode(c.span()) : codec.decode(c.span(), stages);
        }
        TensorFiles.write(output, deq, tensorName, layout, outType);
        long[] shape = layout.fileShape(deq.batch(), deq.heads(), deq.tokens(), deq.dim());
        spec.commandLine().getOut().printf("wrote %s: '%s' %s %s %s from %s (%s)%n", output, tensorName,
                TensorFiles.dtypeName(output, outType),
                java.util.Arrays.toString(shape), layout.axes(), input, c.span().config());
        if (stages != null && stages < t) {
            var f = c.span().draftFootprint(stages);
            spec.commandLine().getOut().printf(java.util.Locale.ROOT, "draft of %d of %d stages: read %d bytes (ids %d, centroids %d; "
                    + "no codes), %.4f bits/element%n", stages, t, f.totalBytes(), f.idBytes(), f.centroidBytes(), f.bitsPerElement());
        }
        return 0;
    }
}
