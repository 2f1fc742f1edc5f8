package io.qvg4j.quant;

import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.algorithm.Dequantization;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The rules of SPEC.md that an implementation written from the text alone would otherwise have to
 * guess, each pinned to exact bits: NaN in a block's min/max (SPEC §2.6), the scale floor with a NaN
 * argument (SPEC §2.5), the sign of an FP8 zero (SPEC §2.2), the unfused assignment score and the
 * double-precision substitute for the fp32 FMA on bf16 operands (SPEC §3.2).
 */
class SpecRulesTest {

    private static final float NAN = Float.NaN;
    private static final float INF = Float.POSITIVE_INFINITY;

    private static QuantConfig config(int bits, boolean asymmetric, ScaleFormat format, int g) {
        return QuantConfig.DEFAULT.withBits(bits).withGroupSize(g).withAsymmetric(asymmetric).withScaleFormat(format);
    }

    /** Codes of one block; the stored scale and zero point bytes land in {@code scale} and {@code zero}. */
    private static int[] quantize(float[] x, QuantConfig config, byte[] scale, byte[] zero) {
        int[] codes = new int[x.length];
        BlockQuantizer.quantizeBlock(x, 0, x.length, config, codes, 0, scale, 0, zero, 0);
        return codes;
    }

    private static int[] filled(int n, int value) {
        int[] a = new int[n];
        Arrays.fill(a, value);
        return a;
    }

    /** The stored bytes of a NaN scale or zero point: FP8 0x7F, bf16 0x7FC0 little-endian. */
    private static byte[] nanBytes(ScaleFormat format) {
        return format == ScaleFormat.FP8_E4M3 ? new byte[]{0x7F} : new byte[]{(byte) 0xC0, 0x7F};
    }

    // ------------------------------------------------------------------ a. NaN in a block (SPEC §2.6)

    @Test
    void aNanAnywhereInABlockMakesTheScaleNanAndEveryCodeTheNanCode() {
        float[][] blocks = {
                {NAN, 0f, 0f, 0f},
                {0f, 0f, 0f, NAN},
                {1f, NAN, -2f, INF},
                {-0f, 3e38f, NAN, -1e-30f},
        };
        for (ScaleFormat format : ScaleFormat.values()) {
            for (int bits : new int[]{2, 3, 4, 8}) {
                for (float[] x : blocks) {
                    String what = format + ", INT" + bits + ", block " + Arrays.toString(x);
                    int sb = format.bytes();

                    QuantConfig sym = config(bits, false, format, x.length);
                    byte[] scale = new byte[sb];
                    int[] codes = quantize(x, sym, scale, null);
                    assertArrayEquals(nanBytes(format), scale, "symmetric scale, " + what);
                    assertArrayEquals(filled(x.length, 2 * sym.symmetricMax()), codes,
                            "symmetric: every code 2m, finite elements too, " + what);

                    QuantConfig asym = config(bits, true, format, x.length);
                    byte[] zero = new byte[sb];
                    codes = quantize(x, asym, scale, zero);
                    assertArrayEquals(nanBytes(format), scale, "asymmetric scale, " + what);
                    assertArrayEquals(nanBytes(format), zero, "asymmetric zero point, " + what);
                    assertArrayEquals(filled(x.length, 0), codes, "asymmetric: every code 0, " + what);
                }
            }
        }
    }

    /**
     * Inputs must be finite (SPEC §3.5), but the residual can overflow: token 2 = −bf16max minus the mean
     * bf16max/3 of stage 1 is −∞; stage 2's single centroid is then −∞ and token 2's residual −∞ − (−∞)
     * = NaN. Its block gets scale 0x7F and codes 2 (INT2, byte 0xAA), and dequantizes to 0x7FC0.
     */
    @Test
    void aNanResidualIsReachableFromFiniteInput() {
        short max = 0x7F7F;
        short[] bits = new short[3 * 4];
        bits[0] = max;
        bits[4] = max;
        bits[8] = (short) (max | 0x8000);
        KvTensor x = new KvTensor("k", 1, 1, 3, 4, bits);
        QuantConfig c = QuantConfig.DEFAULT.withGroupSize(4).withStages(2).withCentroids(1).withMaxIters(1);
        int[][][] init = {{{0}}, {{0}}};
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantizedSpan span = codec.encode(x, c, init);
            assertEquals((short) 0xFF80, span.centroids()[1][0], "stage 2 centroid of channel 0 is −inf");
            assertArrayEquals(new byte[]{0x7E, 0x7E, 0x7F}, span.scales(), "±inf blocks saturate to 448, the NaN block is 0x7F");
            assertArrayEquals(new byte[]{(byte) 0x95, (byte) 0x95, (byte) 0xAA}, span.packed());
            short[] deq = codec.decode(span).bits();
            for (int d = 0; d < 4; d++) {
                assertEquals(Bf16.CANONICAL_NAN, deq[8 + d], "the NaN block dequantizes to NaN, channel " + d);
            }
            QuantizedSpan asym = codec.encode(x, c.withAsymmetric(true), init);
            assertEquals(0x7F, asym.scales()[2]);
            assertEquals(0x7F, asym.zeros()[2]);
            assertEquals(0, asym.packed()[2]);
        }
    }

    // ------------------------------------------------------------------ b. max(NaN, 1e−10f) (SPEC §2.5)

    @Test
    void theScaleFloorKeepsNan() {
        assertEquals(0x7FC0_0000, Float.floatToRawIntBits(Math.max(NAN, BlockQuantizer.MIN_SCALE)));
        assertEquals(0x00, Fp8E4M3.encode(BlockQuantizer.MIN_SCALE), "what the floor would store: FP8 zero");
        // min = max = ±inf: (max − min) = inf − inf = NaN with no NaN element; the floor does not catch it.
        for (float inf : new float[]{INF, -INF}) {
            float[] x = {inf, inf, inf, inf};
            for (int bits : new int[]{2, 4}) {
                byte[] scale = new byte[1];
                byte[] zero = new byte[1];
                assertArrayEquals(filled(4, 0), quantize(x, config(bits, true, ScaleFormat.FP8_E4M3, 4), scale, zero));
                assertEquals(0x7F, scale[0], "NaN scale, not the floor's 0x00, INT" + bits + ", " + inf);
                assertEquals(inf > 0 ? 0x7E : (byte) 0xFE, zero[0], "the zero point saturates to ±448");
                byte[] scale2 = new byte[2];
                byte[] zero2 = new byte[2];
                assertArrayEquals(filled(4, 0), quantize(x, config(bits, true, ScaleFormat.BF16, 4), scale2, zero2));
                assertArrayEquals(new byte[]{(byte) 0xC0, 0x7F}, scale2, "bf16 NaN scale, not bf16(1e-10) = 0x2EDC");
                assertArrayEquals(new byte[]{(byte) 0x80, (byte) (inf > 0 ? 0x7F : 0xFF)}, zero2, "bf16 zero point ±inf");
            }
        }
    }

    // ------------------------------------------------------------------ c. the sign of FP8 zero (SPEC §2.2)

    @Test
    void tinyNegativeValuesEncodeAsNegativeZero() {
        for (float v : new float[]{-0f, -Float.MIN_VALUE, -1e-20f, -0x1p-11f, -0x1p-10f}) {
            assertEquals((byte) 0x80, Fp8E4M3.encode(v), "e4m3(" + v + ")");
            assertEquals(0x00, Fp8E4M3.encode(-v), "e4m3(" + -v + ")");
        }
        assertEquals((byte) 0x81, Fp8E4M3.encode(Math.nextDown(-0x1p-10f)), "just past the tie: the smallest subnormal");
        assertEquals(0x8000_0000, Float.floatToRawIntBits(Fp8E4M3.decode((byte) 0x80)));
    }

    /** The asymmetric zero point of a block with a tiny negative minimum is stored as 0x80; codes do not change. */
    @Test
    void aTinyNegativeMinimumStoresZeroPoint0x80() {
        float[] x = {-1e-20f, 0f, 1e-20f, -0f};
        float[] flipped = {1e-20f, 0f, 1e-20f, 0f};
        QuantConfig c = config(2, true, ScaleFormat.FP8_E4M3, 4);
        byte[] scale = new byte[1];
        byte[] zero = new byte[1];
        int[] codes = quantize(x, c, scale, zero);
        assertEquals(0x00, scale[0], "(max − min)/3 is below the floor: FP8 zero");
        assertEquals((byte) 0x80, zero[0]);
        assertArrayEquals(new int[]{0, 0, 3, 0}, codes, "x·(1/0): −inf → 0, NaN → 0, +inf → 3");
        // The same block with a +0 zero point: the codes and dequantized values are the same, only the byte differs.
        quantize(flipped, c, scale, zero);
        assertEquals(0x00, zero[0]);
        for (int code = 0; code <= 3; code++) {
            assertEquals(Float.floatToRawIntBits(Dequantization.residual(code, 0f, 0f, c.symmetricMax(), c.asymmetric())),
                    Float.floatToRawIntBits(Dequantization.residual(code, 0f, -0f, c.symmetricMax(), c.asymmetric())), "code " + code);
        }
    }

    // ------------------------------------------------------------------ d. the unfused score (SPEC §3.2)

    /**
     * Token x = (1.5·2^64, 0). Centroid 1 = (2^63, 1.5·2^63): norm 1.625·2^127, dot 1.5·2^127, 2·dot
     * overflows, score −∞. Centroid 0 = (1.25·2^62, 0): score 1.5625·2^124 − 1.875·2^127 = −1.6796875·2^127.
     * Unfused, centroid 1 wins; fused, its score would be −1.375·2^127 and centroid 0 would win.
     */
    @Test
    void theDoublingIsRoundedBeforeTheSubtraction() {
        float[] x = {Math.scalb(1.5f, 64), 0f};
        float[] c = {Math.scalb(1.25f, 62), 0f, Math.scalb(1f, 63), Math.scalb(1.5f, 63)};
        for (float v : x) {
            assertEquals(v, Bf16.round(v));
        }
        for (float v : c) {
            assertEquals(v, Bf16.round(v));
        }
        float[] norms = new float[2];
        ScalarKernels.INSTANCE.norms(c, 2, 2, norms);
        assertEquals(Math.scalb(1.5625f, 124), norms[0]);
        assertEquals(Math.scalb(1.625f, 127), norms[1]);
        float dot1 = Math.scalb(1.5f, 127);
        assertEquals(INF, 2f * dot1, "2·dot overflows");
        assertEquals(Math.scalb(-1.375f, 127), Math.fma(-2f, dot1, norms[1]), "a fused score would be finite");
        assertTrue(Math.fma(-2f, dot1, norms[1]) > norms[0] - 2f * Math.scalb(1.875f, 126), "and lose to centroid 0");
        assertEquals(Math.scalb(-1.6796875f, 127), norms[0] - 2f * Math.scalb(1.875f, 126));

        int[] ids = new int[1];
        ScalarKernels.INSTANCE.assign(x, 2, 0, 1, c, norms, 2, ids);
        assertEquals(1, ids[0], "score −inf (unfused) beats −1.6796875·2^127");
    }

    // ------------------------------------------------------------------ e. FMA through double (SPEC §3.2)

    /**
     * For bf16 x, c and every float acc, {@code (float) ((double) acc + (double) x * (double) c)} is the
     * correctly rounded {@code acc + x·c}, i.e. {@code Math.fma(x, c, acc)} (NaN payloads aside).
     * <p>
     * Proof. p = x·c has at most 16 significant bits (8 × 8) and |p| ∈ [2^−266, 2^256], so it is exact in
     * double. Let s = acc + p (exact). If acc = 0, p = 0, or the exponents of acc and p differ by at most
     * 28, s spans at most 53 bits (acc's lowest bit is at least 2^(E_acc − 23), p's at least 2^(E_p − 15))
     * and is exact in double: one rounding. Otherwise the smaller term is below 2^−28 times the larger.
     * If acc is the larger, |p| < 2^−28·|acc| < ulp(acc)/16, while every float rounding boundary (a
     * midpoint between adjacent floats, or the overflow threshold 2^128 − 2^103) is at least ulp(acc)/4
     * from acc; so s is at least 3/16 ulp from every boundary, and rounding s to double (an error of at
     * most 2^−29 ulp) cannot reach or cross one: rounding to float gives RN(s). If p is the larger: a
     * nonzero float is at least 2^−149, so |p| > 2^−121 and p is a float (16 ≤ 24 bits, normal range) or
     * beyond 2^128 (then s and its double rounding both exceed the overflow threshold); in the first case
     * the argument above applies with p in place of acc. Infinities and NaN propagate alike in both.
     * <p>
     * For float operands (24-bit products) the claim fails: see {@link #theShortcutFailsForFloatProducts}.
     */
    @Test
    void bf16ProductsRoundOnceThroughDouble() {
        SplittableRandom random = new SplittableRandom(0x5EC_2026L);
        float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, -Float.MIN_NORMAL,
                Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f, INF, -INF, NAN};
        for (int xb = 0; xb < 0x10000; xb++) {
            float x = Bf16.toFloat((short) xb);
            for (int j = 0; j < 12; j++) {
                float c = j == 0 ? x : Bf16.toFloat((short) random.nextInt(0x10000));
                double p = (double) x * c;
                check(Float.intBitsToFloat(random.nextInt()), x, c);
                // Cancellation: acc ≈ −p.
                float minus = (float) -p;
                check(minus, x, c);
                check(Math.nextUp(minus), x, c);
                check(Math.nextDown(minus), x, c);
                // acc = ±p·2^k: k far from 0 makes the double sum inexact, k near 24 puts p near half an ulp of acc.
                for (int k : new int[]{random.nextInt(-80, 81), random.nextInt(20, 29), 24, 25, -random.nextInt(20, 29)}) {
                    double sign = random.nextBoolean() ? 1 : -1;
                    check((float) (sign * Math.scalb(p * (1 + random.nextDouble()), k)), x, c);
                    check((float) (sign * Math.scalb(p, k)), x, c);
                }
                for (float s : specials) {
                    check(s, x, c);
                }
            }
        }
        System.out.println("SpecRulesTest: " + checked + " fma cases, " + inexact + " with an inexact double sum");
        assertTrue(checked > 20_000_000, "checked " + checked);
        // Both regimes of the proof are exercised: double sums that are inexact, and exact ones.
        assertTrue(inexact > 1_000_000 && checked - inexact > 1_000_000, inexact + " of " + checked + " double sums inexact");
    }

    private long checked;
    private long inexact;

    private void check(float acc, float x, float c) {
        double p = (double) x * (double) c;
        double sum = acc + p;
        float viaDouble = (float) sum;
        float fused = Math.fma(x, c, acc);
        if (Float.isNaN(fused) ? !Float.isNaN(viaDouble)
                : Float.floatToRawIntBits(fused) != Float.floatToRawIntBits(viaDouble)) {
            fail("acc " + acc + " (0x" + Integer.toHexString(Float.floatToRawIntBits(acc)) + "), x " + x + ", c " + c
                    + ": fma " + fused + ", through double " + viaDouble);
        }
        checked++;
        if (Double.isFinite(sum)) {
            // Knuth's TwoSum: the exact rounding error of the double addition.
            double accPart = sum - p;
            double error = (acc - accPart) + (p - (sum - accPart));
            inexact += error != 0 ? 1 : 0;
        }
    }

    /** (1 + 2^−12)² = 1 + 2^−11 + 2^−24 is a float midpoint; + 2^−80 is lost in double, so double rounding ties down. */
    @Test
    void theShortcutFailsForFloatProducts() {
        float a = 1f + 0x1p-12f;
        float acc = 0x1p-80f;
        float fused = Math.fma(a, a, acc);
        float viaDouble = (float) ((double) acc + (double) a * (double) a);
        assertEquals(1f + 0x1p-11f + 0x1p-23f, fused);
        assertEquals(1f + 0x1p-11f, viaDouble);
        assertNotEquals(a, Bf16.round(a), "a needs 13 significant bits, more than bf16 has");
    }
}
