package io.qvg4j.cli;

import io.qvg4j.io.NpyArray;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.conformance.Verifier;
import io.qvg4j.tensor.KvTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code qvg verify}: checks another implementation's outputs for an input against this one. With its
 * per-stage clustering the downstream path is recomputed and must match bit for bit (SPEC §11); with only
 * its dequantized tensor, the own pipeline's output is compared statistically.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check another implementation's outputs for the same input.",
                "--official is a .npz or .safetensors file, or a directory of NAME.npy files, holding arrays named as in "
                        + "the conformance corpus: ids{t} (uint8 [B,H,S]) and cent{t} (bf16 [B,H,Kc,D]) per stage t = 0, 1, ..; "
                        + "packed (uint8), scales (uint8 FP8 codes, or bf16 for --scale-format bf16), zeros (asymmetric), "
                        + "deq (bf16 [B,H,S,D]), deq_sha256 (64 ASCII hex bytes), init{t} (int32 [B*H,Kc]).",
                "With ids0/cent0: bits, G, T, Kc and the mode are taken from the array sizes; packed, scales, zeros and "
                        + "the dequantized output are recomputed from the given clustering and must be bit-exact.",
                "With deq alone: the own pipeline runs from init{t} (or --seed) with the config options; it passes when "
                        + "the official rel-L2 against the input is within --rel-l2-tolerance of the own one (or bit-exact with --exact)."},
        footer = {"", "Exit status: 0 when it agrees, 1 when it differs, 2 for usage and input errors."})
public final class VerifyCommand implements Callable<Integer> {

    @Option(names = "--input", required = true, paramLabel = "X", description = "The input both implementations quantized (.safetensors, .npy, .npz).")
    Path input;

    @Option(names = "--tensor", paramLabel = "NAME", description = "Tensor of the input file (needed when it holds several).")
    String tensor;

    @Option(names = "--official", required = true, paramLabel = "DIR|FILE", description = "The other implementation's outputs (see above).")
    Path official;

    @Option(names = "--rel-l2-tolerance", defaultValue = "0.01",
            description = "Dequantized-only check: allowed relative deviation of the official rel-L2 from the own (default: ${DEFAULT-VALUE}).")
    double relL2Tolerance;

    @Option(names = "--exact", description = "Dequantized-only check: require the dequantized output to be bit-exact.")
    boolean exact;

    @Mixin
    ConfigOptions options;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        // The report is buffered and printed once the progress bar is closed, so the two never interleave.
        java.io.StringWriter buffer = new java.io.StringWriter();
        PrintWriter out = new PrintWriter(buffer);
        boolean passed;
        try (Progress progress = Progress.start("verify", 3);
             QvgCodec codec = impl.open()) {
            out.println("verify: impl " + impl.describe());
            progress.begin("reading " + input.getFileName());
            TensorFiles.Loaded loaded = TensorFiles.load(input, tensor);
            KvTensor x = loaded.tensor();
            progress.step("reading " + official.getFileName());
            Map<String, NpyArray> arrays = Verifier.readOfficial(official);
            out.printf("input %s '%s' %s %s%s; official %s (%s)%n", input, x.name(), x.shapeString(), loaded.sourceDtype(),
                    loaded.conversion().isEmpty() ? "" : ", " + loaded.conversion(), official, String.join(" ", arrays.keySet()));
            progress.step("recomputing");
            Verifier.Report report = new Verifier(official, options.config(), options.seed, relL2Tolerance, exact)
                    .verify(codec, x, arrays, out);
            progress.step("done");
            out.println(report.passed() ? "PASS" : "FAIL" + (report.firstDifference() == null ? "" : ": first differing element " + report.firstDifference()));
            passed = report.passed();
        } finally {
            out.flush();
            spec.commandLine().getOut().print(buffer);
            spec.commandLine().getOut().flush();
        }
        return passed ? 0 : 1;
    }
}
