package io.qvg4j.codec;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

/**
 * The checks at the boundary of every {@link QvgCodec} (SPEC §3.5), shared by the implementations so that
 * each rejects the same inputs with the same one-line message. Inside, data is trusted.
 */
public final class Validation {
    private Validation() {}

    /** A config compatible with D, and finite input. */
    public static void input(KvTensor x, QuantConfig config) {
        config.requireCompatible(x.name(), x.dim());
        x.requireFinite();
    }

    /** Given clustering: T stages of ids below Kc and finite centroids of the right sizes. */
    public static void clustering(KvTensor x, QuantConfig config, byte[][] clusterIds, short[][] centroids) {
        input(x, config);
        int heads = x.headCount();
        int tokens = x.tokens();
        int dim = x.dim();
        int kc = config.centroids();
        if (clusterIds.length != config.stages() || centroids.length != config.stages()) {
            throw new InvalidInputException("clustering: " + clusterIds.length + " id and " + centroids.length
                    + " centroid stages given, config has T = " + config.stages());
        }
        for (int t = 0; t < config.stages(); t++) {
            if (clusterIds[t].length != heads * tokens || centroids[t].length != (long) heads * kc * dim) {
                throw new InvalidInputException("clustering: stage " + t + " has " + clusterIds[t].length + " ids and "
                        + centroids[t].length + " centroid values; expected " + heads * tokens + " and " + (long) heads * kc * dim);
            }
            for (int i = 0; i < clusterIds[t].length; i++) {
                if ((clusterIds[t][i] & 0xFF) >= kc) {
                    throw new InvalidInputException("clustering: stage " + t + " id " + (clusterIds[t][i] & 0xFF)
                            + " at row " + i + " is not below Kc = " + kc);
                }
            }
            for (int i = 0; i < centroids[t].length; i++) {
                if (Bf16.isNonFinite(centroids[t][i])) {
                    throw new InvalidInputException("clustering: stage " + t + " centroid value " + i + " is not finite");
                }
            }
        }
    }

    /** Warm-start tables: T stages of B·H finite {@code [Kc, D]} tables. */
    public static void initialCentroids(float[][][] initialCentroids, QuantConfig config, KvTensor x) {
        int kc = config.centroids();
        if (initialCentroids.length != config.stages()) {
            throw new InvalidInputException("initial centroids: " + initialCentroids.length
                    + " stages given, config has T = " + config.stages());
        }
        for (int t = 0; t < initialCentroids.length; t++) {
            if (initialCentroids[t].length != x.headCount()) {
                throw new InvalidInputException("initial centroids: stage " + t + " has " + initialCentroids[t].length
                        + " heads, the tensor has B·H = " + x.headCount());
            }
            for (int bh = 0; bh < x.headCount(); bh++) {
                float[] c = initialCentroids[t][bh];
                if (c.length != kc * x.dim()) {
                    throw new InvalidInputException("initial centroids: stage " + t + ", head " + bh + " has "
                            + c.length + " values, expected Kc·D = " + kc * x.dim());
                }
                for (int i = 0; i < c.length; i++) {
                    if (!Float.isFinite(c[i])) {
                        throw new InvalidInputException("initial centroids: stage " + t + ", head " + bh
                                + ", value " + i + " is not finite");
                    }
                }
            }
        }
    }

    /** A baseline's block size divides D. */
    public static void baseline(KvTensor x, int groupSize, String what) {
        if (groupSize < 1 || x.dim() % groupSize != 0) {
            throw new InvalidInputException(x.name() + ": " + what + " block size " + groupSize
                    + " does not divide the head dimension D = " + x.dim());
        }
    }
}
