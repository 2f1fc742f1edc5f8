package io.qvg4j.cli;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import picocli.CommandLine.Option;

/** The quantizer configuration shared by {@code quantize} and {@code verify}. */
final class ConfigOptions {
    @Option(names = "--bits", defaultValue = "2", description = "Residual code width: 2, 3, 4 or 8 (default: ${DEFAULT-VALUE}).")
    int bits;

    @Option(names = "--group-size", defaultValue = "64", description = "G, channels per quantization block (default: ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--stages", defaultValue = "1", description = "T, k-means stages; more than 1 is PRQ (default: ${DEFAULT-VALUE}).")
    int stages;

    @Option(names = "--centroids", defaultValue = "256", description = "Kc, centroids per stage and head, 1..256 (default: ${DEFAULT-VALUE}).")
    int centroids;

    @Option(names = "--asymmetric", description = "Min/max quantizer with FP8 zero points instead of symmetric absmax.")
    boolean asymmetric;

    @Option(names = "--scale-format", defaultValue = "fp8", description = "How scales are stored: fp8 (E4M3) or bf16 (default: ${DEFAULT-VALUE}).")
    String scaleFormat;

    @Option(names = "--iters", defaultValue = "2", description = "k-means iteration cap (default: ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--tol", defaultValue = "1e-4", description = "k-means tolerance: pooled fraction of changed ids (default: ${DEFAULT-VALUE}).")
    float tol;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the k-means initial indices, SplitMix64 (default: ${DEFAULT-VALUE}).")
    long seed;

    QuantConfig config() {
        ScaleFormat f = switch (scaleFormat) {
            case "fp8" -> ScaleFormat.FP8_E4M3;
            case "bf16" -> ScaleFormat.BF16;
            default -> throw new InvalidInputException("--scale-format " + scaleFormat + ": use fp8 or bf16");
        };
        return new QuantConfig(bits, groupSize, stages, centroids, asymmetric, f, iters, tol);
    }
}
