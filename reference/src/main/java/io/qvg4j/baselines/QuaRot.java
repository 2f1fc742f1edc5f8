package io.qvg4j.baselines;

import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.algorithm.Dequantization;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;

/**
 * QuaRot (arXiv 2404.00456, SPEC §14.3): every token's head vector rotated by {@link HadamardRotation}, the
 * rotated fp32 values quantized in blocks of G channels by QVG's block quantizer (SPEC §6.2 symmetric or
 * §6.3 asymmetric, FP8 E4M3 scales), dequantized (SPEC §7 with no centroid) and rotated back, one bf16
 * rounding last. The rotation is regenerated from its seed, so it costs no storage.
 */
public final class QuaRot implements Method {
    private final QuantConfig config;
    private final long seed;

    public QuaRot(int bits, int groupSize, boolean asymmetric, long seed) {
        // Stages and centroids are unused: the config carries the block quantizer's bits, G and mode.
        this.config = new QuantConfig(bits, groupSize, 1, 1, asymmetric, ScaleFormat.FP8_E4M3, 1, 0f);
        this.seed = seed;
    }

    @Override
    public String name() {
        return "QuaRot-" + config.bits() + (config.asymmetric() ? " asym" : " sym") + " G" + config.groupSize();
    }

    @Override
    public String family() {
        return "QuaRot " + (config.asymmetric() ? "asym" : "sym") + " G=" + config.groupSize();
    }

    @Override
    public int bits() {
        return config.bits();
    }

    @Override
    public String config() {
        return "randomized Hadamard (seed " + seed + ") then INT" + config.bits() + (config.asymmetric() ? " asym" : " sym")
                + ", G=" + config.groupSize() + ", FP8 E4M3 scales" + (config.asymmetric() ? " and zero points" : "");
    }

    @Override
    public Quantized apply(KvTensor x, Role role) {
        config.requireCompatible(x.name(), x.dim());
        int dim = x.dim(), g = config.groupSize(), blocks = config.blocksPerRow(dim);
        HadamardRotation r = new HadamardRotation(dim, seed);
        int rows = x.headCount() * x.tokens();
        short[] out = new short[x.elementCount()];
        float[] steps = new float[rows * blocks];
        float[] in = new float[dim];
        float[] rotated = new float[dim];
        float[] back = new float[dim];
        int[] codes = new int[dim];
        byte[] scale = new byte[1];
        byte[] zero = new byte[1];
        boolean asym = config.asymmetric();
        for (int row = 0; row < rows; row++) {
            Bf16.toFloats(x.bits(), row * dim, in, 0, dim);
            r.forward(in, 0, rotated, 0);
            for (int j = 0; j < blocks; j++) {
                BlockQuantizer.quantizeBlock(rotated, j * g, g, config, codes, j * g, scale, 0, zero, 0);
                float s = ScaleFormat.FP8_E4M3.load(scale, 0);
                float z = asym ? ScaleFormat.FP8_E4M3.load(zero, 0) : 0f;
                steps[row * blocks + j] = s;
                for (int i = j * g; i < (j + 1) * g; i++) {
                    rotated[i] = Dequantization.residual(codes[i], s, z, config.symmetricMax(), asym);
                }
            }
            r.inverse(rotated, 0, back, 0);
            for (int d = 0; d < dim; d++) {
                out[row * dim + d] = Bf16.fromFloat(back[d]);
            }
        }
        long scaleBytes = (long) rows * blocks;
        MemoryFootprint f = new MemoryFootprint(x.elementCount(), (long) x.elementCount() * config.bits() / 8,
                scaleBytes, asym ? scaleBytes : 0, 0, 0);
        return new Quantized(new KvTensor(x.name(), x.batch(), x.heads(), x.tokens(), dim, out), new Accounting(f, 0),
                new KeyNoise(x.headCount(), x.tokens(), dim, g, steps, r));
    }
}
