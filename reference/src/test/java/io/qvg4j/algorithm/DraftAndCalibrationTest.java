package io.qvg4j.algorithm;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Clustered;
import io.qvg4j.testkit.Inputs;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The draft view (SPEC §16.1) and the endpoint calibration (SPEC §16.2), on hand-computed cases. */
class DraftAndCalibrationTest {

    private static final QuantConfig ASYM2 = new QuantConfig(2, 4, 1, 1, true, ScaleFormat.FP8_E4M3, 1, 0f);

    private static int[] quantize(float[] x, QuantConfig config, byte[] scales, byte[] zeros) {
        int[] codes = new int[x.length];
        BlockQuantizer.quantizeBlock(x, 0, x.length, config, codes, 0, scales, 0, zeros, 0);
        return codes;
    }

    /** {0,1,2,3}: s = 3 ⊘ 3 = 1 (0x38), z = 0; η = 1/4 gives ŝ = 0.5 (0x30), ẑ = 0.25·1·3 = 0.75 (0x34), codes unchanged. */
    @Test
    void calibratedFp8EndpointsByHand() {
        float[] x = {0f, 1f, 2f, 3f};
        byte[] s = new byte[1], z = new byte[1];
        assertArrayEquals(new int[]{0, 1, 2, 3}, quantize(x, ASYM2, s, z));
        assertEquals(0x38, s[0] & 0xFF);
        assertEquals(0x00, z[0] & 0xFF);
        assertArrayEquals(new int[]{0, 1, 2, 3}, quantize(x, ASYM2.withEta(0.25f), s, z));
        assertEquals(0x30, s[0] & 0xFF);
        assertEquals(0x34, z[0] & 0xFF);
        // Level q decodes to z + s·(η·qmax + q·(1 − 2η)): 0.75, 1.25, 1.75, 2.25.
        float[] levels = new float[4];
        for (int q = 0; q < 4; q++) {
            levels[q] = Dequantization.residual(q, Fp8E4M3.decode(s[0]), Fp8E4M3.decode(z[0]), 0, true);
        }
        assertArrayEquals(new float[]{0.75f, 1.25f, 1.75f, 2.25f}, levels);
        // η = 1/2 collapses every level to the block's midpoint: ŝ = 0 (0x00), ẑ = 1.5 (0x3C).
        quantize(x, ASYM2.withEta(0.5f), s, z);
        assertEquals(0x00, s[0] & 0xFF);
        assertEquals(0x3C, z[0] & 0xFF);
    }

    /** bf16 storage (SPEC §6.4): from the unrounded s = 1 and z = −1; η = 1/8: ŝ = 0.75 (0x3F40), ẑ = −1 + 0.375 = −0.625 (0xBF20). */
    @Test
    void calibratedBf16EndpointsByHand() {
        QuantConfig c = ASYM2.withScaleFormat(ScaleFormat.BF16).withEta(0.125f);
        float[] x = {-1f, 0f, 1f, 2f};
        byte[] s = new byte[2], z = new byte[2];
        assertArrayEquals(new int[]{0, 1, 2, 3}, quantize(x, c, s, z));
        assertEquals(0x3F40, (s[0] & 0xFF) | (s[1] & 0xFF) << 8);
        assertEquals(0xBF20, (z[0] & 0xFF) | (z[1] & 0xFF) << 8);
    }

    /** On generated blocks, η changes no code and stores e4m3((1 − 2η)·s) and e4m3(z + η·s·qmax) from η = 0's decoded pair. */
    @Test
    void calibrationKeepsCodesAndMovesOnlyTheEndpoints() {
        for (int bits : new int[]{2, 3, 4, 8}) {
            for (float eta : new float[]{0.0625f, 0.1f, 0.25f, 0.4f}) {
                QuantConfig plain = new QuantConfig(bits, 16, 1, 1, true, ScaleFormat.FP8_E4M3, 1, 0f);
                float[] x = Inputs.values(bits * 31L + (long) (eta * 1000), 20, 64, 16, plain.asymmetricMax());
                byte[] p0 = new byte[20 * 64 * bits / 8], p1 = p0.clone();
                byte[] s0 = new byte[20 * 4], s1 = s0.clone(), z0 = s0.clone(), z1 = s0.clone();
                BlockQuantizer.quantize(x, 20, 64, plain, p0, 0, s0, 0, z0, 0);
                BlockQuantizer.quantize(x, 20, 64, plain.withEta(eta), p1, 0, s1, 0, z1, 0);
                assertArrayEquals(p0, p1, "codes, INT" + bits + " η=" + eta);
                for (int b = 0; b < s0.length; b++) {
                    float s = Fp8E4M3.decode(s0[b]), z = Fp8E4M3.decode(z0[b]);
                    assertEquals(Fp8E4M3.encode((1f - 2f * eta) * s), s1[b], "scale of block " + b);
                    assertEquals(Fp8E4M3.encode(z + eta * s * plain.asymmetricMax()), z1[b], "zero point of block " + b);
                }
            }
        }
    }

    @Test
    void etaIsValidated() {
        assertThrows(InvalidInputException.class, () -> ASYM2.withEta(0.6f));
        assertThrows(InvalidInputException.class, () -> ASYM2.withEta(-0.1f));
        assertThrows(InvalidInputException.class, () -> ASYM2.withEta(Float.NaN));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> QuantConfig.DEFAULT.withEta(0.25f));
        assertTrue(e.getMessage().contains("asymmetric"), e.getMessage());
        assertEquals(ASYM2, ASYM2.withEta(-0f), "−0 is η = 0");
    }

    /** A hand-made span, T = 3, one token, D = G = 4, Kc = 1, INT2 codes all 1 (q = 0) with scale 1. */
    private static QuantizedSpan handSpan() {
        QuantConfig c = new QuantConfig(2, 4, 3, 1, false, ScaleFormat.FP8_E4M3, 1, 0f);
        short[][] centroids = {
                bf16(1f, -0f, 0.5f, Bf16.toFloat((short) 0x3F81)),
                bf16(0.25f, -0f, 0x1p-8f, 0x1p-8f),
                bf16(-1f, -0f, 4f, 8f)};
        byte[][] ids = {{0}, {0}, {0}};
        byte[] packed = {0b01010101};
        byte[] scales = {Fp8E4M3.encode(1f)};
        return new QuantizedSpan(c, 1, 1, 1, 4, ids, centroids, packed, scales, null, new int[3]);
    }

    private static short[] bf16(float... v) {
        short[] out = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Bf16.fromFloat(v[i]);
        }
        return out;
    }

    /**
     * s = 1: +0 + C₁, so −0 becomes +0. s = 2: 0.5 + 2^−8 is exact in fp32 and bf16 keeps it (0x3F01);
     * (1 + 2^−7) + 2^−8 is a bf16 tie, to even 0x3F82. s = T = 3: the full §7 decode, residual (1 − 1)·1 = +0 first.
     */
    @Test
    void draftRowsByHand() {
        QuantizedSpan span = handSpan();
        short[] out = new short[4];
        Dequantization.dequantize(span, 0, 1, out, 0);
        assertBits(new short[]{0x3F80, 0x0000, 0x3F00, 0x3F81}, out, "s = 1");
        Dequantization.dequantize(span, 0, 2, out, 0);
        assertBits(new short[]{0x3FA0, 0x0000, 0x3F01, 0x3F82}, out, "s = 2");
        Dequantization.dequantize(span, 0, 3, out, 0);
        short[] full = new short[4];
        Dequantization.dequantize(span, 0, full, 0);
        assertBits(full, out, "s = T is the full decode");
        // One rounding at the end: 1 + 0.25 − 1 = 0.25 (0x3E80); 0.5 + 2^−8 + 4 = 4.50390625, bf16 4.5 (0x4090);
        // (1 + 2^−7) + 2^−8 + 8 = 9.01171875, bf16 9.0 (0x4110).
        assertBits(new short[]{0x3E80, 0x0000, 0x4090, 0x4110}, full, "s = 3");
    }

    @Test
    void draftStagesOutsideOneToTAreRefused() {
        QuantizedSpan span = handSpan();
        for (int s : new int[]{0, 4, -1}) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> Dequantization.dequantize(span, 0, s, new short[4], 0));
            assertEquals("draft: stages s = " + s + " must be in 1..3 (the span's T; SPEC §16.1)", e.getMessage());
        }
    }

    /**
     * PRQ's first s stages do not depend on the later ones (SPEC §3.1 draws stage by stage, §3.4 pools per stage),
     * so the draft of s stages of a T = 4 span has the ids and centroids of a T = s encode, and the full decode at s = T.
     */
    @Test
    void draftOfAFourStageSpanIsTheCentroidViewOfAnSStageEncode() {
        KvTensor x = Clustered.tensor(77, 1, 2, 96, 32);
        QuantConfig pro = new QuantConfig(2, 16, 4, 8, false, ScaleFormat.FP8_E4M3, 3, 1e-4f);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantizedSpan four = codec.encode(x, pro, InitIndices.fromSeed(5, 4, 2, 8, 96));
            assertBits(codec.decode(four).bits(), codec.decode(four, 4).bits(), "s = T");
            for (int s = 1; s < 4; s++) {
                QuantizedSpan fewer = codec.encode(x, pro.withStages(s), InitIndices.fromSeed(5, s, 2, 8, 96));
                for (int t = 0; t < s; t++) {
                    assertArrayEquals(fewer.clusterIds()[t], four.clusterIds()[t], "ids of stage " + t);
                    assertArrayEquals(fewer.centroids()[t], four.centroids()[t], "centroids of stage " + t);
                }
                short[] draft = codec.decode(four, s).bits();
                short[] expected = new short[draft.length];
                for (int bh = 0; bh < 2; bh++) {
                    for (int n = 0; n < 96; n++) {
                        for (int d = 0; d < 32; d++) {
                            float acc = 0f;
                            for (int t = 0; t < s; t++) {
                                acc += fewer.centroid(t, bh, fewer.clusterId(t, bh * 96 + n), d);
                            }
                            expected[(bh * 96 + n) * 32 + d] = Bf16.fromFloat(acc);
                        }
                    }
                }
                assertBits(expected, draft, "draft of " + s + " stages");
            }
        }
    }

    /** QVG-Pro on the city sample's shape, [1,4,7040,128]: a draft of 2 stages reads 2·4·7040 id bytes and 2·4·256·128·2 centroid bytes. */
    @Test
    void draftBytesByHand() {
        MemoryFootprint f = MemoryFootprint.draft(1, 4, 7040, 128, QuantConfig.PRO, 2);
        assertEquals(new MemoryFootprint(3_604_480, 0, 0, 0, 56_320, 524_288), f);
        assertEquals(8.0 * 580_608 / 3_604_480, f.bitsPerElement(), 0.0);
        assertEquals(MemoryFootprint.of(1, 4, 7040, 128, QuantConfig.PRO), MemoryFootprint.draft(1, 4, 7040, 128, QuantConfig.PRO, 4));
        assertEquals(Arrays.asList(0L, 0L, 0L), Arrays.asList(f.codeBytes(), f.scaleBytes(), f.zeroBytes()));
    }
}
