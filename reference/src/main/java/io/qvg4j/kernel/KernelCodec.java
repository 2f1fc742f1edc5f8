package io.qvg4j.kernel;

import io.qvg4j.kmeans.InitIndices;
import io.qvg4j.kmeans.KMeans;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

/**
 * The QVG pipeline on the CPU, built from per-head {@link QvgKernels} and run on a number of threads.
 * Heads (and token tiles of the assignment) are independent tasks, so the bytes it returns do not
 * depend on the thread count.
 */
public final class KernelCodec implements QvgCodec {
    private final QvgKernels kernels;
    private final Workers workers;

    public KernelCodec(QvgKernels kernels, int threads) {
        this.kernels = kernels;
        this.workers = new Workers(threads);
    }

    public QvgKernels kernels() {
        return kernels;
    }

    public int threads() {
        return workers.threads();
    }

    @Override
    public String name() {
        return kernels.name();
    }

    @Override
    public QuantizedSpan encode(KvTensor x, QuantConfig config, int[][][] initIndices) {
        validate(x, config);
        InitIndices.validate(initIndices, config.stages(), x.headCount(), config.centroids(), x.tokens());
        return cluster(x, config, (kmeans, residual, t) -> kmeans.run(residual, x.tokens(), x.dim(),
                config.centroids(), config.maxIters(), config.tolerance(), initIndices[t]));
    }

    /**
     * As {@link #encode}, but stage t's k-means of head bh starts from the centroid table
     * {@code initCentroids[t][bh]} ({@code [Kc, D]}, finite) instead of sampled tokens: the warm start
     * that reuses an earlier span's tables.
     */
    public QuantizedSpan encodeFromCentroids(KvTensor x, QuantConfig config, float[][][] initCentroids) {
        validate(x, config);
        int kc = config.centroids();
        if (initCentroids.length != config.stages()) {
            throw new InvalidInputException("initial centroids: " + initCentroids.length
                    + " stages given, config has T = " + config.stages());
        }
        for (int t = 0; t < initCentroids.length; t++) {
            if (initCentroids[t].length != x.headCount()) {
                throw new InvalidInputException("initial centroids: stage " + t + " has " + initCentroids[t].length
                        + " heads, the tensor has B·H = " + x.headCount());
            }
            for (int bh = 0; bh < x.headCount(); bh++) {
                float[] c = initCentroids[t][bh];
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
        return cluster(x, config, (kmeans, residual, t) -> kmeans.run(residual, x.tokens(), x.dim(), kc,
                config.maxIters(), config.tolerance(), initCentroids[t]));
    }

    /** One stage's k-means on the current residuals. */
    private interface StageClustering {
        KMeans.Result run(KMeans kmeans, float[][] residual, int stage);
    }

    /** The PRQ stages (SPEC §5): cluster, subtract, repeat; then the block quantizer. */
    private QuantizedSpan cluster(KvTensor x, QuantConfig config, StageClustering clustering) {
        int heads = x.headCount();
        int tokens = x.tokens();
        int dim = x.dim();
        int kc = config.centroids();
        float[][] residual = headsAsFloats(x);
        byte[][] ids = new byte[config.stages()][];
        short[][] centroids = new short[config.stages()][];
        int[] iterations = new int[config.stages()];
        KMeans kmeans = new KMeans(kernels, workers);
        for (int t = 0; t < config.stages(); t++) {
            KMeans.Result r = clustering.run(kmeans, residual, t);
            workers.forEach(heads, bh -> kernels.subtractCentroids(residual[bh], tokens, dim, r.ids()[bh],
                    r.centroids()[bh], residual[bh]));
            ids[t] = new byte[heads * tokens];
            centroids[t] = new short[heads * kc * dim];
            for (int bh = 0; bh < heads; bh++) {
                for (int n = 0; n < tokens; n++) {
                    ids[t][bh * tokens + n] = (byte) r.ids()[bh][n];
                }
                for (int i = 0; i < kc * dim; i++) {
                    centroids[t][bh * kc * dim + i] = Bf16.fromFloat(r.centroids()[bh][i]);
                }
            }
            iterations[t] = r.iterations();
        }
        return quantize(x, config, residual, ids, centroids, iterations);
    }

    @Override
    public QuantizedSpan encodeWithClustering(KvTensor x, QuantConfig config, byte[][] clusterIds, short[][] centroids) {
        validateClustering(x, config, clusterIds, centroids);
        int heads = x.headCount();
        int tokens = x.tokens();
        int dim = x.dim();
        int kc = config.centroids();
        float[][] residual = headsAsFloats(x);
        for (int t = 0; t < config.stages(); t++) {
            int stage = t;
            workers.forEach(heads, bh -> {
                int[] ids = new int[tokens];
                for (int n = 0; n < tokens; n++) {
                    ids[n] = clusterIds[stage][bh * tokens + n] & 0xFF;
                }
                float[] c = new float[kc * dim];
                Bf16.toFloats(centroids[stage], bh * kc * dim, c, 0, kc * dim);
                kernels.subtractCentroids(residual[bh], tokens, dim, ids, c, residual[bh]);
            });
        }
        return quantize(x, config, residual, clusterIds, centroids, new int[config.stages()]);
    }

    /**
     * The checks of {@link #encodeWithClustering}, shared with the other implementations: a compatible
     * config, finite input, T stages of ids below Kc and finite centroids of the right sizes.
     */
    public static void validateClustering(KvTensor x, QuantConfig config, byte[][] clusterIds, short[][] centroids) {
        validate(x, config);
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

    private QuantizedSpan quantize(KvTensor x, QuantConfig config, float[][] residual, byte[][] ids,
                                   short[][] centroids, int[] iterations) {
        int heads = x.headCount();
        int tokens = x.tokens();
        int dim = x.dim();
        int rowBytes = config.packedBytesPerRow(dim);
        int scaleRowBytes = config.blocksPerRow(dim) * config.scaleFormat().bytes();
        byte[] packed = new byte[heads * tokens * rowBytes];
        byte[] scales = new byte[heads * tokens * scaleRowBytes];
        byte[] zeros = config.asymmetric() ? new byte[scales.length] : null;
        workers.forEach(heads, bh -> kernels.quantizeHead(residual[bh], tokens, dim, config,
                packed, bh * tokens * rowBytes, scales, bh * tokens * scaleRowBytes, zeros, bh * tokens * scaleRowBytes));
        return new QuantizedSpan(config, x.batch(), x.heads(), tokens, dim, ids, centroids, packed, scales, zeros,
                iterations);
    }

    @Override
    public KvTensor decode(QuantizedSpan span) {
        short[] out = new short[span.headCount() * span.tokens() * span.dim()];
        int headSize = span.tokens() * span.dim();
        workers.forEach(span.headCount(), bh -> kernels.dequantizeHead(span, bh, out, bh * headSize));
        return new KvTensor("dequantized", span.batch(), span.heads(), span.tokens(), span.dim(), out);
    }

    @Override
    public KvTensor rtnBaseline(KvTensor x, int bits, int groupSize) {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new InvalidInputException("RTN baseline: bits = " + bits + "; must be 2, 3, 4 or 8");
        }
        return baseline(x, groupSize, "rtn-int" + bits, (in, out, from, to) -> kernels.rtnBlockwise(in, out, from, to, groupSize, bits));
    }

    @Override
    public KvTensor nvfp4Baseline(KvTensor x, int groupSize) {
        return baseline(x, groupSize, "nvfp4", (in, out, from, to) -> kernels.nvfp4(in, out, from, to, groupSize));
    }

    private interface RangeKernel {
        void apply(short[] in, short[] out, int from, int to);
    }

    private KvTensor baseline(KvTensor x, int groupSize, String what, RangeKernel kernel) {
        if (groupSize < 1 || x.dim() % groupSize != 0) {
            throw new InvalidInputException(x.name() + ": " + what + " block size " + groupSize
                    + " does not divide the head dimension D = " + x.dim());
        }
        short[] out = new short[x.elementCount()];
        int headSize = x.tokens() * x.dim();
        workers.forEach(x.headCount(), bh -> kernel.apply(x.bits(), out, bh * headSize, (bh + 1) * headSize));
        return new KvTensor(x.name() + "." + what, x.batch(), x.heads(), x.tokens(), x.dim(), out);
    }

    /** The input checks of {@link #encode}: a config compatible with D and finite input. */
    public static void validate(KvTensor x, QuantConfig config) {
        config.requireCompatible(x.name(), x.dim());
        x.requireFinite();
    }

    private float[][] headsAsFloats(KvTensor x) {
        float[][] heads = new float[x.headCount()][];
        workers.forEach(heads.length, bh -> heads[bh] = x.headAsFloats(bh));
        return heads;
    }

    @Override
    public void close() {
        workers.close();
    }
}
