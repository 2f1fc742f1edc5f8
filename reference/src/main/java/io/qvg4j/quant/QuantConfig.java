package io.qvg4j.quant;

import io.qvg4j.tensor.InvalidInputException;

/**
 * Everything that fixes the quantizer's output for a given input and initial indices.
 *
 * @param bits       residual code width: 2, 3, 4 or 8
 * @param groupSize  G, channels per block; must divide the head dimension D
 * @param stages     T, k-means stages (1 = Semantic-Aware Smoothing only; more = PRQ)
 * @param centroids  Kc, centroids per stage and head, 1..256 (cluster ids are bytes)
 * @param asymmetric min/max quantizer with an FP8 zero point instead of symmetric absmax
 * @param scaleFormat how scales (and zero points) are stored
 * @param maxIters   k-means iteration cap, at least 1
 * @param tolerance  pooled fraction of changed ids below which k-means stops (official 1e-4)
 * @param eta        XQuant's data-free endpoint calibration η in [0, 0.5] (SPEC §16.2), asymmetric only;
 *                   0, the default, stores the endpoints of SPEC §6.3 unchanged
 */
public record QuantConfig(int bits, int groupSize, int stages, int centroids, boolean asymmetric,
                          ScaleFormat scaleFormat, int maxIters, float tolerance, float eta) {

    /** The official streaming configuration: INT2, G = 64, Kc = 256, T = 1, 2 iterations, tol 1e-4. */
    public static final QuantConfig DEFAULT = new QuantConfig(2, 64, 1, 256, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);

    /** QVG-Pro as in the paper's Table 1: T = 4, G = 16, with 5 iterations. */
    public static final QuantConfig PRO = new QuantConfig(2, 16, 4, 256, false, ScaleFormat.FP8_E4M3, 5, 1e-4f);

    /** A configuration without endpoint calibration (η = 0). */
    public QuantConfig(int bits, int groupSize, int stages, int centroids, boolean asymmetric,
                       ScaleFormat scaleFormat, int maxIters, float tolerance) {
        this(bits, groupSize, stages, centroids, asymmetric, scaleFormat, maxIters, tolerance, 0f);
    }

    public QuantConfig {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new InvalidInputException("config: bits = " + bits + "; must be 2, 3, 4 or 8");
        }
        if (groupSize < 1) {
            throw new InvalidInputException("config: group size G = " + groupSize + "; must be at least 1");
        }
        if (stages < 1) {
            throw new InvalidInputException("config: stages T = " + stages + "; must be at least 1");
        }
        if (centroids < 1 || centroids > 256) {
            throw new InvalidInputException("config: centroids Kc = " + centroids
                    + "; must be 1..256 (cluster ids are stored as bytes)");
        }
        if (maxIters < 1) {
            throw new InvalidInputException("config: k-means iterations = " + maxIters + "; must be at least 1");
        }
        if (!(tolerance >= 0f) || Float.isInfinite(tolerance)) {
            throw new InvalidInputException("config: tolerance = " + tolerance + "; must be finite and >= 0");
        }
        if (scaleFormat == null) {
            throw new InvalidInputException("config: scale format missing");
        }
        if (!(eta >= 0f && eta <= 0.5f)) {
            throw new InvalidInputException("config: η = " + eta + "; must be in [0, 0.5] (SPEC §16.2)");
        }
        if (eta != 0f && !asymmetric) {
            throw new InvalidInputException("config: η = " + eta
                    + " calibrates the asymmetric quantizer's endpoints only (SPEC §16.2); the config is symmetric");
        }
        // −0 is not a different calibration: store it as +0 so that equal configs compare equal.
        eta = eta == 0f ? 0f : eta;
    }

    public QuantConfig withBits(int b) {
        return new QuantConfig(b, groupSize, stages, centroids, asymmetric, scaleFormat, maxIters, tolerance, eta);
    }

    public QuantConfig withGroupSize(int g) {
        return new QuantConfig(bits, g, stages, centroids, asymmetric, scaleFormat, maxIters, tolerance, eta);
    }

    public QuantConfig withStages(int t) {
        return new QuantConfig(bits, groupSize, t, centroids, asymmetric, scaleFormat, maxIters, tolerance, eta);
    }

    public QuantConfig withCentroids(int kc) {
        return new QuantConfig(bits, groupSize, stages, kc, asymmetric, scaleFormat, maxIters, tolerance, eta);
    }

    public QuantConfig withAsymmetric(boolean asym) {
        return new QuantConfig(bits, groupSize, stages, centroids, asym, scaleFormat, maxIters, tolerance, eta);
    }

    public QuantConfig withScaleFormat(ScaleFormat f) {
        return new QuantConfig(bits, groupSize, stages, centroids, asymmetric, f, maxIters, tolerance, eta);
    }

    public QuantConfig withMaxIters(int it) {
        return new QuantConfig(bits, groupSize, stages, centroids, asymmetric, scaleFormat, it, tolerance, eta);
    }

    public QuantConfig withEta(float e) {
        return new QuantConfig(bits, groupSize, stages, centroids, asymmetric, scaleFormat, maxIters, tolerance, e);
    }

    /** Symmetric code offset m = 2^(b−1) − 1: INT2 → 1, INT3 → 3, INT4 → 7, INT8 → 127. */
    public int symmetricMax() {
        return (1 << (bits - 1)) - 1;
    }

    /** Asymmetric top code 2^b − 1. */
    public int asymmetricMax() {
        return (1 << bits) - 1;
    }

    /** Packed bytes per token of one head: D codes of {@code bits} each, in whole bytes. */
    public int packedBytesPerRow(int dim) {
        return dim * bits / 8;
    }

    /** Blocks per token of one head. */
    public int blocksPerRow(int dim) {
        return dim / groupSize;
    }

    /** Throws unless a head dimension D works with this configuration (SPEC §3.5). */
    public void requireCompatible(String tensor, int dim) {
        if (dim % groupSize != 0) {
            throw new InvalidInputException(tensor + ": group size G = " + groupSize
                    + " does not divide the head dimension D = " + dim);
        }
        if ((long) dim * bits % 8 != 0) {
            throw new InvalidInputException(tensor + ": D = " + dim + " codes of " + bits
                    + " bits do not fill whole bytes per head and token (D·bits must be a multiple of 8)");
        }
    }

    @Override
    public String toString() {
        return "INT" + bits + (asymmetric ? " asym" : " sym") + ", G=" + groupSize + ", T=" + stages
                + ", Kc=" + centroids + ", " + maxIters + " iter, tol=" + tolerance
                + (scaleFormat == ScaleFormat.BF16 ? ", bf16 scales" : "") + (eta != 0f ? ", η=" + eta : "");
    }
}
