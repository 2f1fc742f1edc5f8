package io.qvg4j.cli;

import io.qvg4j.io.Qkv;
import io.qvg4j.io.TensorFiles;
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

/** {@code qvg dequantize IN.qkv -o OUT}: reconstructs the bf16 tensor of a container (SPEC §7). */
@Command(name = "dequantize", mixinStandardHelpOptions = true,
        description = "Dequantize a .qkv container to a bf16 [B,H,S,D] tensor: a .safetensors BF16 tensor or a .npy of uint16 bit patterns.",
        footer = {"", "Exit status: 0 on success, 2 for usage and input errors."})
public final class DequantizeCommand implements Callable<Integer> {

    @Parameters(paramLabel = "IN.qkv", description = "Container written by 'qvg quantize'.")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Output .safetensors or .npy file.")
    Path output;

    @Option(names = "--name", defaultValue = "deq", description = "Tensor name in a .safetensors output (default: ${DEFAULT-VALUE}).")
    String name;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String n = output.getFileName().toString();
        if (!n.endsWith(".npy") && !n.endsWith(".safetensors")) {
            throw new InvalidInputException(output + ": output must end in .npy or .safetensors");
        }
        Qkv.Contents c = Qkv.read(input);
        KvTensor deq;
        spec.commandLine().getOut().println("dequantize: impl " + impl.describe());
        try (QvgCodec codec = impl.open()) {
            deq = codec.decode(c.span());
        }
        TensorFiles.write(output, deq, name);
        spec.commandLine().getOut().printf("wrote %s: '%s' bf16 %s from %s (%s)%n", output, name, deq.shapeString(),
                input, c.span().config());
        return 0;
    }
}
