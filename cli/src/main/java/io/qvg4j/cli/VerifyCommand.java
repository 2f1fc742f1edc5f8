package io.qvg4j.cli;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.conformance.Candidate;
import io.qvg4j.conformance.Verifier;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code qvg verify}: your implementation's outputs for an input, checked level by level against qvg4j's
 * (the engine is {@link Verifier}, module harness).
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check your implementation's outputs for an input against qvg4j, level by level.",
                "--yours is a .qkv, a .npz or .safetensors file, or a directory of NAME.npy files, holding any subset of: "
                        + "init{t} (int [B*H,Kc]), ids{t} (int [B,H,S]) and cent{t} (bf16 [B,H,Kc,D]) and iters{t} (int) per "
                        + "stage t = 0, 1, ..; packed (uint8) or codes (int, one per element); scales and zeros (uint8 FP8 "
                        + "codes, or bf16 with --scale-format bf16); deq (bf16, float16 or float32 [B,H,S,D]); deq_sha256.",
                "Each level is checked against what qvg4j computes from your levels above it, so a fault shows where it is. "
                        + "--kmeans qvg4j: your k-means is qvg4j's (SPEC §3) and ids, centroids and iteration counts must be "
                        + "exact. --kmeans own: k-means is compared statistically (id agreement; rel-L2 against the input "
                        + "within --rel-l2-tolerance of qvg4j's own pipeline) and everything downstream of your ids and "
                        + "centroids must be exact.",
                "The config options describe your outputs (a .qkv carries its own); a size or dtype that implies another "
                        + "config is named with the option to pass."},
        footer = {"", "Exit status: 0 when every level given agrees, 1 when one differs, 2 for usage and input errors."})
public final class VerifyCommand implements Callable<Integer> {

    @Option(names = "--input", required = true, paramLabel = "X", description = "The input both implementations quantized (.safetensors, .npy, .npz).")
    Path input;

    @Option(names = "--tensor", paramLabel = "NAME", description = "Tensor of the input file (needed when it holds several).")
    String tensor;

    @Option(names = "--yours", required = true, paramLabel = "FILE|DIR", description = "Your implementation's outputs (see above).")
    Path yours;

    @Option(names = "--kmeans", defaultValue = "own", paramLabel = "own|qvg4j",
            description = "Whose k-means your outputs follow: own (an independent one, e.g. the official) or qvg4j "
                    + "(SPEC §3, exact) (default: ${DEFAULT-VALUE}).")
    String kmeans;

    @Option(names = "--rel-l2-tolerance", defaultValue = "0.01",
            description = "--kmeans own: allowed relative deviation, in [0, 1], of your rel-L2 against the input from qvg4j's "
                    + "(default: ${DEFAULT-VALUE}).")
    double relL2Tolerance;

    @Option(names = "--json", description = "Print the report as one JSON object.")
    boolean json;

    @Mixin
    ConfigOptions options;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Verifier.KMeansMode mode = switch (kmeans) {
            case "own" -> Verifier.KMeansMode.OWN;
            case "qvg4j" -> Verifier.KMeansMode.QVG4J;
            default -> throw new InvalidInputException("--kmeans " + kmeans + ": use own or qvg4j");
        };
        PrintWriter out = spec.commandLine().getOut();
        try (QvgCodec codec = impl.open()) {
            Verifier verifier = new Verifier(codec, mode, relL2Tolerance);
            TensorFiles.Loaded loaded = TensorFiles.load(input, tensor);
            KvTensor x = loaded.tensor();
            Candidate c = Candidate.read(yours, x, options.config());
            Verifier.Report report = verifier.verify(x, c, options.seed);
            if (json) {
                out.print(report.json());
            } else {
                out.println("verify: impl " + impl.describe() + ", --kmeans " + kmeans);
                out.printf("input %s '%s' %s %s%s%n", input, x.name(), x.shapeString(), loaded.sourceDtype(),
                        loaded.conversion().isEmpty() ? "" : ", " + loaded.conversion());
                out.println("yours " + yours + ": " + report.config() + (c.ignored().isEmpty() ? "" : "; not read: "
                        + String.join(" ", c.ignored())));
                out.print(report.text());
            }
            out.flush();
            return report.passed() ? 0 : 1;
        }
    }
}
