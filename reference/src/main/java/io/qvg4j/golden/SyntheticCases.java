package io.qvg4j.golden;

import io.qvg4j.golden.SyntheticData.Block;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.List;

import static io.qvg4j.golden.SyntheticData.Block.*;

/**
 * The synthetic golden cases: small spans built to hit qvg4j's rules (SPEC §13 lists what the golden
 * file pins). Each is a pure function of its seed, so every implementation can rebuild it.
 */
public final class SyntheticCases {
    private SyntheticCases() {}

    private static final ScaleFormat FP8 = ScaleFormat.FP8_E4M3;
    private static final ScaleFormat BF16 = ScaleFormat.BF16;

    /** Every synthetic case, in a fixed order. */
    public static List<GoldenCase> all() {
        List<GoldenCase> c = new ArrayList<>();
        c.add(blocks("gauss_int2_g64", "clustered data, the default config (SPEC §3, §4, §6.2, §6.5, §7)",
                1, 2, 300, 128, cfg(2, 64, 1, 16, false, FP8, 2), 8, 0.5, 0, 0));
        c.add(blocks("converges_int2_g64", "well separated clusters: k-means stops on the §3.4 test (the break branch)",
                1, 2, 256, 64, cfg(2, 64, 1, 4, false, FP8, 50), 4, 0.05, 0, 0));
        c.add(blocks("signed_zero_int2_g16", "±0 and all-zero blocks (SPEC §2.6, §6.2: every code 2m)",
                1, 2, 96, 64, cfg(2, 16, 1, 8, false, FP8, 2), 4, 0.5, 0.5, 0, SIGNED_ZERO));
        c.add(blocks("signed_zero_int4_asym", "±0 and all-zero blocks, asymmetric (SPEC §2.6, §6.3)",
                1, 2, 96, 64, cfg(4, 16, 1, 8, true, FP8, 2), 4, 0.5, 0.5, 0, SIGNED_ZERO));
        c.add(blocks("subnormal_int4_g32", "bf16 subnormals, FP8 underflow of the scale (SPEC §2.2, §6.2)",
                1, 2, 80, 64, cfg(4, 32, 1, 8, false, FP8, 2), 4, 0.5, 0.6, 0, SUBNORMAL));
        c.add(blocks("ties_int2_g64", "exact ties (k+½)·s of the INT2 quantizer (SPEC §2.3, §2.4)",
                1, 2, 128, 128, cfg(2, 64, 1, 8, false, FP8, 2), 4, 0.5, 0.7, 0, TIE));
        c.add(blocks("ties_int4_g16", "exact ties of the INT4 quantizer (SPEC §2.3, §2.4)",
                1, 2, 128, 64, cfg(4, 16, 1, 8, false, FP8, 2), 4, 0.5, 0.7, 0, TIE));
        c.add(blocks("ties_int8_g64", "exact ties of the INT8 quantizer, one code per byte (SPEC §2.4, §6.5)",
                1, 1, 64, 64, cfg(8, 64, 1, 4, false, FP8, 2), 4, 0.5, 0.7, 0, TIE));
        c.add(blocks("int3_g32_ties", "INT3: 8 codes in 3 bytes, ties with m = 3 (SPEC §6.2, §6.5)",
                1, 2, 72, 64, cfg(3, 32, 1, 8, false, FP8, 2), 4, 0.5, 0.5, 0, TIE, GAUSS));
        c.add(blocks("int3_asym_bf16", "INT3 asymmetric with bf16 scales (SPEC §6.3, §6.4, §6.5)",
                1, 2, 72, 64, cfg(3, 16, 1, 8, true, BF16, 2), 4, 0.5, 0.3, 0, TIE, CONSTANT));
        c.add(blocks("saturate_int2", "amax near 448·m: FP8 saturation and clipping (SPEC §2.2, §6.2)",
                1, 2, 64, 64, cfg(2, 16, 1, 4, false, FP8, 2), 4, 0.5, 0.6, 0, NEAR_448M));
        c.add(blocks("saturate_int4_asym", "min/max near ±448·m: saturated zero points (SPEC §2.2, §6.3)",
                1, 2, 64, 64, cfg(4, 16, 1, 4, true, FP8, 2), 4, 0.5, 0.6, 0, NEAR_448M));
        c.add(blocks("tiny_int2", "amax near 2^−10·m: the FP8 underflow tie, codes of a zero scale (SPEC §2.2, §6.2)",
                1, 2, 64, 64, cfg(2, 16, 1, 4, false, FP8, 2), 4, 0.5, 0.6, 0, NEAR_TINY));
        c.add(blocks("tiny_negative_zero_point", "negative block minima below 2^−10: zero point −0 = 0x80 (SPEC §2.2, §6.3)",
                1, 2, 64, 64, cfg(2, 16, 1, 4, true, FP8, 2), 4, 0.5, 0.7, 0, TINY_NEGATIVE));
        c.add(blocks("constant_blocks_asym", "all-equal blocks: max − min = 0 (SPEC §6.3)",
                1, 2, 64, 64, cfg(4, 32, 1, 4, true, FP8, 2), 4, 0.5, 0.6, 0, CONSTANT));
        c.add(blocks("duplicates_kc_above_s", "Kc = 64 > S = 40 with duplicate tokens: repeated initial indices, ties to the lowest k (SPEC §3.1, §3.2, §3.5)",
                1, 2, 40, 64, cfg(2, 32, 1, 64, false, FP8, 3), 3, 0.5, 0, 0.4));
        c.add(blocks("kc1", "one centroid per head (SPEC §3)",
                1, 2, 50, 64, cfg(2, 64, 1, 1, false, FP8, 2), 3, 0.5, 0, 0));
        c.add(blocks("pro_t4_g16", "QVG-Pro shape: T = 4 residual stages, G = 16, 5 iterations (SPEC §5, §7)",
                1, 2, 160, 64, cfg(2, 16, 4, 8, false, FP8, 5), 6, 0.5, 0.1, 0.05, TIE, GAUSS));
        c.add(blocks("bf16_scales_int4", "bf16 scales: quantize with the fp32 scale, store bf16 (SPEC §6.4)",
                1, 2, 96, 64, cfg(4, 16, 1, 8, false, BF16, 2), 4, 0.5, 0.3, 0, TIE, NEAR_TINY));
        c.add(blocks("bf16_scales_int2_asym", "bf16 scales and zero points, asymmetric (SPEC §6.4)",
                1, 2, 96, 64, cfg(2, 32, 1, 8, true, BF16, 2), 4, 0.5, 0.3, 0, CONSTANT, TINY_NEGATIVE));
        c.add(blocks("int8_asym_t2", "INT8 asymmetric, two stages (SPEC §5, §6.3)",
                1, 2, 64, 64, cfg(8, 32, 2, 8, true, FP8, 2), 4, 0.5, 0.2, 0, GAUSS));
        c.add(blocks("d256_int2_g64", "D = 256 (SPEC §1, §6.1)",
                1, 2, 96, 256, cfg(2, 64, 1, 16, false, FP8, 2), 6, 0.5, 0, 0));
        c.add(blocks("ragged_s2051_d64", "S = 2051: token tiles of the assignment end ragged (SPEC §3.2, §10)",
                1, 1, 2051, 64, cfg(4, 64, 1, 16, false, FP8, 2), 8, 0.5, 0.05, 0.02, TIE));
        c.add(blocks("batch2_heads3", "B = 2, H = 3: head order bh = b·H + h, the pooled stop test (SPEC §1, §3.4)",
                2, 3, 48, 64, cfg(2, 32, 1, 8, false, FP8, 4), 4, 0.3, 0, 0));
        c.add(overflowingResidual("inf_residual", "finite input, infinite residual (SPEC §2.1, §4, §6.2)",
                cfg(2, 16, 1, 1, false, FP8, 1)));
        c.add(overflowingResidual("nan_residual_t2",
                "NaN produced inside the residual, in a quantizer block; asymmetric (SPEC §2.1, §2.6, §6.3, §7)",
                cfg(2, 16, 2, 1, true, FP8, 1)));
        c.add(scoreOverflow());
        c.add(productUnderflow());
        return c;
    }

    private static QuantConfig cfg(int bits, int g, int stages, int kc, boolean asym, ScaleFormat f, int iters) {
        return new QuantConfig(bits, g, stages, kc, asym, f, iters, 1e-4f);
    }

    /** The seed of a synthetic case's initial indices (SPEC §3.1), from its name without the {@code synthetic/} prefix. */
    public static long seedOf(String name) {
        return name.hashCode() * 0x9E3779B97F4A7C15L;
    }

    private static GoldenCase blocks(String name, String rules, int b, int h, int s, int d, QuantConfig config,
                                     int centres, double spread, double share, double duplicates, Block... kinds) {
        SyntheticData r = new SyntheticData(seedOf(name));
        int m = config.asymmetric() ? config.asymmetricMax() : config.symmetricMax();
        short[] bits = r.tokens(b * h, s, d, config.groupSize(), m, centres, spread, share, duplicates, kinds);
        return make(name, rules, new KvTensor(name, b, h, s, d, bits), config);
    }

    private static GoldenCase make(String name, String rules, KvTensor x, QuantConfig config) {
        int[][][] init = InitIndices.fromSeed(seedOf(name), config.stages(), x.headCount(), config.centroids(), x.tokens());
        return new GoldenCase("synthetic/" + name, rules, x, config, init);
    }

    /** {@code value} in the first {@code channels} channels of the given tokens of every head. */
    private static void plant(short[] bits, int heads, int tokens, int dim, int channels, float value, int... at) {
        for (int h = 0; h < heads; h++) {
            for (int s : at) {
                for (int d = 0; d < channels; d++) {
                    bits[(h * tokens + s) * dim + d] = Bf16.fromFloat(value);
                }
            }
        }
    }

    /**
     * One centroid over six tokens at −3·10^38 and two at +3·10^38 in the first block of every head: the
     * centroid is −1.5·10^38 and the residual of the positive tokens overflows bf16 to +inf (SPEC §2.1,
     * §4, §6.2). With a second stage its centroid averages +inf, so those tokens' residual becomes
     * inf − inf = NaN inside a quantizer block (§2.6).
     */
    private static GoldenCase overflowingResidual(String name, String rules, QuantConfig config) {
        int s = 24, d = 64;
        short[] bits = new SyntheticData(seedOf(name)).tokens(2, s, d, 16, 1, 2, 0.5, 0, 0);
        plant(bits, 2, s, d, 16, -3.0e38f, 0, 1, 2, 3, 4, 5);
        plant(bits, 2, s, d, 16, 3.0e38f, 6, 7);
        return make(name, rules, new KvTensor(name, 1, 2, s, d, bits), config);
    }

    /**
     * Tokens of magnitude 1–2·10^18 in every channel: x·c reaches 2.6·10^38, so 2·(x·c) overflows to
     * +inf before the subtraction and the score is −inf, where a fused form would stay finite (SPEC §3.2).
     */
    private static GoldenCase scoreOverflow() {
        String name = "score_overflow";
        SyntheticData r = new SyntheticData(seedOf(name));
        int s = 48, d = 64;
        short[] bits = new short[2 * s * d];
        for (int i = 0; i < bits.length; i++) {
            int token = i / d;
            double magnitude = (1.0 + (token % 3) * 0.5) * 1e18;
            bits[i] = Bf16.fromFloat((float) (magnitude * (1.0 + 0.01 * r.gaussian())));
        }
        return make(name, "2·dot rounded (and overflowing) before the subtraction (SPEC §3.2)",
                new KvTensor(name, 1, 2, s, d, bits), cfg(2, 32, 1, 4, false, FP8, 2));
    }

    /**
     * Values near 10^−20: every product x_d·c_d is an fp32 subnormal and inexact, so the score depends on
     * the fused multiply-add of SPEC §3.2 (multiply-then-add would round twice).
     */
    private static GoldenCase productUnderflow() {
        String name = "product_underflow";
        SyntheticData r = new SyntheticData(seedOf(name));
        int s = 64, d = 64;
        short[] bits = new short[2 * s * d];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Bf16.fromFloat((float) (1e-20 * (1 + (i / d) % 4) * (1.0 + 0.3 * r.gaussian())));
        }
        return make(name, "inexact (subnormal) products in the assignment: FMA chains (SPEC §3.2)",
                new KvTensor(name, 1, 2, s, d, bits), cfg(2, 32, 1, 4, false, FP8, 2));
    }
}
