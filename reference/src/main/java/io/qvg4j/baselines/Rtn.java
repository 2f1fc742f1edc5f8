package io.qvg4j.baselines;

import io.qvg4j.algorithm.Baselines;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

/**
 * The official fake-quant baselines as methods: RTN blockwise {@code naive-int<b>} (SPEC §9.1) and NVFP4
 * {@code naive-fp4} (SPEC §9.2), blocks of G along D, one E4M3-valued scale (a byte) per block.
 */
public final class Rtn implements Method {
    private final int bits;
    private final int groupSize;
    private final boolean nvfp4;

    private Rtn(int bits, int groupSize, boolean nvfp4) {
        this.bits = bits;
        this.groupSize = groupSize;
        this.nvfp4 = nvfp4;
    }

    /** {@code naive-int<bits>}, bits 2, 3, 4 or 8. */
    public static Rtn integer(int bits, int groupSize) {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new InvalidInputException("RTN: bits = " + bits + "; must be 2, 3, 4 or 8");
        }
        return new Rtn(bits, groupSize, false);
    }

    /** {@code naive-fp4}: E2M1 codes, 4 bits. */
    public static Rtn nvfp4(int groupSize) {
        return new Rtn(4, groupSize, true);
    }

    @Override
    public String name() {
        return nvfp4 ? "NVFP4 G" + groupSize : "RTN-" + bits + " G" + groupSize;
    }

    @Override
    public String family() {
        return nvfp4 ? "NVFP4 G=" + groupSize : "RTN G=" + groupSize;
    }

    @Override
    public int bits() {
        return bits;
    }

    @Override
    public String config() {
        return nvfp4 ? "E2M1 codes, G=" + groupSize + ", E4M3 scale (ties away), official naive-fp4"
                : "INT" + bits + " sym, G=" + groupSize + ", E4M3 scale (ties away), official naive-int" + bits;
    }

    @Override
    public Quantized apply(KvTensor x, Role role) {
        if (x.dim() % groupSize != 0) {
            throw new InvalidInputException(x.name() + ": " + name() + " group size G = " + groupSize
                    + " does not divide the head dimension D = " + x.dim());
        }
        int n = x.elementCount();
        short[] out = new short[n];
        float[] steps = nvfp4 ? null : new float[n / groupSize];
        int m = (1 << (bits - 1)) - 1;
        for (int b = 0; b < n; b += groupSize) {
            if (nvfp4) {
                Baselines.nvfp4Block(x.bits(), out, b, groupSize);
            } else {
                Baselines.rtnBlock(x.bits(), out, b, groupSize, bits);
                steps[b / groupSize] = Baselines.blockScale(x.bits(), b, groupSize, m);
            }
        }
        MemoryFootprint f = new MemoryFootprint(n, (long) n * bits / 8, n / groupSize, 0, 0, 0);
        KeyNoise noise = nvfp4 ? null : new KeyNoise(x.headCount(), x.tokens(), x.dim(), groupSize, steps, null);
        return new Quantized(new KvTensor(x.name(), x.batch(), x.heads(), x.tokens(), x.dim(), out),
                new Accounting(f, 0), noise);
    }
}
