package io.qvg4j.bench;

import io.qvg4j.quant.QuantConfig;

/**
 * What one call of a benchmark does, in the unit of the machine limit it is compared with: fused
 * multiply-adds for the arithmetic-bound kernels, bytes moved for the memory-bound ones. The byte model
 * counts every array a kernel must read once plus every array it writes once (bytes in + bytes out),
 * as the copy benchmark counts its source and destination; a kernel at 100 % would move its data as fast
 * as {@code System.arraycopy} moves a buffer much larger than the caches.
 */
public record Workload(Limit limit, double unitsPerOp) {

    /** The two limits measured in the same run. */
    public enum Limit {
        FMA("FMA/s"), COPY("B/s");

        public final String unit;

        Limit(String unit) {
            this.unit = unit;
        }
    }

    /** The configuration every benchmark quantizes with. */
    public static final QuantConfig CONFIG = QuantConfig.DEFAULT;
    /** Heads of the full tensor {@code [1, 32, 29640, 128]}. */
    public static final int TENSOR_HEADS = 32;
    /**
     * Heads the scalar encode is timed on: all 32 would take over a minute per call, so the reference
     * encodes {@code [1, 2, 29640, 128]} and its throughput is compared per element.
     */
    public static final int SCALAR_ENCODE_HEADS = 2;
    /** Bit width of the RTN baseline benchmark ({@code naive-int2}, the baseline QVG's INT2 is compared with). */
    public static final int RTN_BITS = 2;
    /** Block sizes of the baselines: the configuration's G for RTN, NVFP4's own 16. */
    public static final int RTN_GROUP = CONFIG.groupSize();
    public static final int NVFP4_GROUP = 16;

    public static Workload fma(double count) {
        return new Workload(Limit.FMA, count);
    }

    public static Workload bytes(double in, double out) {
        return new Workload(Limit.COPY, in + out);
    }

    /** A per-head kernel of {@link KernelBench} on a shape. */
    public static Workload kernel(String kernel, Shape shape, String impl) {
        double s = shape.tokens;
        double d = shape.dim;
        double kc = Shape.KC;
        double elements = s * d;
        return switch (kernel) {
            // One FMA per (centroid, d) and per (token, centroid, d): SPEC §3.2.
            case "norms" -> fma(kc * d);
            case "assign" -> fma(shape.assignTokens(impl) * kc * d);
            // In: x (fp32) and the ids (int); out: the new centroids (fp32) and the counts (int).
            case "update" -> bytes(elements * 4 + s * 4, kc * d * 4 + kc * 4);
            // In: x, the ids, the centroid table; out: the fp32 residual.
            case "subtract" -> bytes(elements * 4 + s * 4 + kc * d * 4, elements * 4);
            // In: the fp32 residual; out: packed codes, scales (and zero points when asymmetric).
            case "quantize" -> bytes(elements * 4, packedBytes(elements) + scaleBytes(elements));
            // In: packed codes, scales, per stage the ids (1 B) and bf16 centroid table; out: bf16 values.
            case "dequantize" -> bytes(packedBytes(elements) + scaleBytes(elements)
                    + CONFIG.stages() * (s + kc * d * 2), elements * 2);
            // bf16 in, bf16 out.
            case "rtn", "nvfp4" -> bytes(elements * 2, elements * 2);
            default -> throw new IllegalArgumentException("no workload model for kernel '" + kernel + "'");
        };
    }

    /** Full encode of the LongCat tensor: counted as its assignment FMAs, the bulk of its work. */
    public static Workload encode(String impl) {
        Shape shape = Shape.LONGCAT;
        double heads = encodeHeads(impl);
        return fma(heads * CONFIG.maxIters() * CONFIG.stages() * (double) shape.tokens * Shape.KC * shape.dim);
    }

    /** Full decode of the LongCat tensor: the dequantization byte model over all heads. */
    public static Workload decode() {
        Workload head = kernel("dequantize", Shape.LONGCAT, "reference");
        return new Workload(Limit.COPY, head.unitsPerOp() * TENSOR_HEADS);
    }

    /** Attention of Q queries per head over T tokens (SPEC §12): one FMA per (query, token, d) for the scores, one for the accumulation. */
    public static Workload attention(int heads, int queries, int tokens, int dim) {
        return fma(2.0 * heads * queries * tokens * dim);
    }

    public static int encodeHeads(String impl) {
        return impl.equals("reference") ? SCALAR_ENCODE_HEADS : TENSOR_HEADS;
    }

    private static double packedBytes(double elements) {
        return elements * CONFIG.bits() / 8;
    }

    private static double scaleBytes(double elements) {
        double blocks = elements / CONFIG.groupSize();
        return blocks * CONFIG.scaleFormat().bytes() * (CONFIG.asymmetric() ? 2 : 1);
    }
}
