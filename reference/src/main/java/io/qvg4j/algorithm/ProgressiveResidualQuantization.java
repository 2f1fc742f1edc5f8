package io.qvg4j.algorithm;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;

/**
 * Progressive Residual Quantization (SPEC §5), the whole encoder: T stages of k-means and smoothing on
 * the residual, then the block quantizer on what is left.
 *
 * <pre>
 *   R₀ = X
 *   for t = 1 … T:  (ids_t, C_t) = kmeans(R_{t−1})      KMeans, from the stage's initial centroids
 *                   R_t = bf16(R_{t−1} − C_t[ids_t])     Smoothing
 *   codes, scales  = quantize(R_T)                       BlockQuantizer, BitPacking
 * </pre>
 *
 * This is the one copy of the stage loop; each implementation supplies its {@link Stages} (arrays on CPU
 * threads, buffers on an OpenCL device) and the loop runs over them.
 */
public final class ProgressiveResidualQuantization {
    private ProgressiveResidualQuantization() {}

    /** The steps of one encode on the implementation that holds the residual, centroids and ids. */
    public interface Stages extends KMeans.Lloyd {
        /**
         * Sets the centroids to stage t's starting tables (§3.1: tokens of the residual, or given tables);
         * for {@link #encodeGiven}, loads the stage's given centroids and its given ids into buffer 0.
         */
        void initialize(int stage);

        /** Smoothing (§4): the residual minus the current centroid of every token, ids from buffer {@code slot}. */
        void subtract(int slot);

        /** Keeps the ids of buffer {@code slot} and the current centroids (as bf16) as stage t's result. */
        void keep(int stage, int slot);

        /** The block quantizer and packing of the final residual (§6): the span, with these iteration counts. */
        QuantizedSpan quantize(int[] iterations);
    }

    /** Encodes a span of {@code tokens} = B·H·S token rows (SPEC §5). */
    public static QuantizedSpan encode(Stages stages, QuantConfig config, long tokens) {
        int[] iterations = new int[config.stages()];
        for (int t = 0; t < config.stages(); t++) {
            stages.initialize(t);
            KMeans.Stop stop = KMeans.iterate(stages, config.maxIters(), config.tolerance(), tokens);
            stages.subtract(stop.slot());
            stages.keep(t, stop.slot());
            iterations[t] = stop.iterations();
        }
        return stages.quantize(iterations);
    }

    /**
     * The path downstream of k-means alone: smoothing with every stage's given ids and centroids, then
     * the block quantizer; iteration counts are 0. This is what must equal the official kernels bit for bit.
     */
    public static QuantizedSpan encodeGiven(Stages stages, QuantConfig config) {
        for (int t = 0; t < config.stages(); t++) {
            stages.initialize(t);
            stages.subtract(0);
        }
        return stages.quantize(new int[config.stages()]);
    }
}
