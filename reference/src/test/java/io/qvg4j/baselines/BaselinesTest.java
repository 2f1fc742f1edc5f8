package io.qvg4j.baselines;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.algorithm.SplitMix64;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.JensenCorrection;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Clustered;
import io.qvg4j.testkit.Exact;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The baselines of SPEC §14 on cases small enough to compute by hand, and the Jensen correction of §12.1. */
class BaselinesTest {

    static KvTensor tensor(int h, int s, int d, float... values) {
        short[] bits = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Bf16.fromFloat(values[i]);
        }
        return new KvTensor("x", 1, h, s, d, bits);
    }

    static float[] floats(KvTensor x) {
        float[] out = new float[x.elementCount()];
        Bf16.toFloats(x.bits(), 0, out, 0, out.length);
        return out;
    }

    @Test
    void kiviGroupRoundsHalfAwayFromTheMinimum() {
        // mn = −1, mx = 2, s = 3/3 = 1: (x − mn)/s = 0, 1.5, 3, 1.25 → codes 0, 2, 3, 1.
        float[] deq = new float[4];
        float[] step = new float[1];
        Kivi.quantizeGroup(new float[]{-1f, 0.5f, 2f, 0.25f}, 4, 2, deq, step);
        assertArrayEquals(new float[]{-1f, 1f, 2f, 0f}, deq);
        assertEquals(1f, step[0]);
        // A constant group: s = 0, (x − z)/0 = NaN → code 0, dequantized to z exactly.
        Kivi.quantizeGroup(new float[]{0.75f, 0.75f}, 2, 2, deq, step);
        assertEquals(0.75f, deq[0]);
        assertEquals(0f, step[0]);
    }

    @Test
    void kiviKeysGroupTokensPerChannelValuesGroupChannelsPerToken() {
        // S = 4 tokens, D = 2, G = 2, R = 2: tokens 0 and 1 quantized, 2 and 3 kept bf16.
        KvTensor x = tensor(1, 4, 2,
                0f, 4f,
                3f, 1f,
                7f, 9f,
                5f, 6f);
        Kivi kivi = new Kivi(1, 2, 2);
        assertEquals(2, kivi.quantizedTokens(4));
        // Keys, 1 bit: channel 0 of tokens 0–1 is {0, 3} → s = 3, codes 0, 1; channel 1 is {4, 1} → s = 3,
        // z = 1, codes 1, 0. Every value is hit exactly.
        Quantized k = kivi.apply(x, Method.Role.KEYS);
        assertArrayEquals(new float[]{0f, 4f, 3f, 1f, 7f, 9f, 5f, 6f}, floats(k.dequantized()));
        assertArrayEquals(new float[]{3f, 3f, 3f, 3f, 0f, 0f, 0f, 0f}, k.noise().steps());
        assertEquals(1, k.noise().blockSize());
        // Values, 1 bit: token 0 is {0, 4} → exact; token 1 is {3, 1} → exact; same answer, other groups.
        KvTensor y = tensor(1, 4, 2,
                0f, 1f,
                4f, 2f,
                7f, 9f,
                5f, 6f);
        // Per token: {0, 1} and {4, 2} are exact at 1 bit. Per channel (keys) {0, 4} and {1, 2} would be too,
        // so quantize {0, 1, 4, 2} at 1 bit per channel: channel 0 {0, 4}: exact; a 3-token group would not be.
        Quantized v = kivi.apply(y, Method.Role.VALUES);
        assertArrayEquals(floats(y), floats(v.dequantized()));
        assertEquals(null, v.noise());
        // 2 bits, values per token over G = 2 channels of {0, 3}: s = 1, codes 0, 3; keys per channel of
        // {0, 4} (tokens 0, 1 of channel 0 of y): s = bf16(4/3) = 1.3359375, 4/s = 2.994 → 3 → 4.0078125.
        Quantized k2 = new Kivi(2, 2, 2).apply(y, Method.Role.KEYS);
        assertEquals(Bf16.round(3 * Bf16.round(4f / 3f)), floats(k2.dequantized())[2]);
    }

    @Test
    void kiviAccountsCodesScalesZerosAndTheBf16Window() {
        KvTensor x = tensor(1, 4, 2, 0f, 4f, 3f, 1f, 7f, 9f, 5f, 6f);
        Accounting a = new Kivi(2, 2, 2).apply(x, Method.Role.KEYS).accounting();
        // 4 quantized elements × 2 bits = 1 byte; 2 groups × (2-byte scale + 2-byte zero); 4 bf16 values.
        assertEquals(1, a.quantized().codeBytes());
        assertEquals(4, a.quantized().scaleBytes());
        assertEquals(4, a.quantized().zeroBytes());
        assertEquals(8, a.bf16Bytes());
        assertEquals(17.0, a.bitsPerElement());
        // The defaults on a 7 040-token head of D = 128: 2 + 2·16/32 bits on 6 912 tokens, bf16 on 128.
        double expected = (6912 * (2 + 32.0 / 32) + 128 * 16.0) / 7040;
        Accounting d = Kivi.of(2).apply(new KvTensor("z", 1, 1, 7040, 128, new short[7040 * 128]), Method.Role.VALUES)
                .accounting();
        assertEquals(expected, d.bitsPerElement(), 1e-12);
        assertThrows(InvalidInputException.class, () -> new Kivi(2, 3, 0).apply(x, Method.Role.VALUES));
    }

    @Test
    void hadamardIsTheSignedSylvesterMatrixOverRootD() {
        HadamardRotation r = new HadamardRotation(4, 11);
        SplitMix64 rng = new SplitMix64(11);
        for (int d = 0; d < 4; d++) {
            assertEquals(rng.next() < 0 ? -1f : 1f, r.sign(d), "sign of channel " + d);
        }
        // R·e_0 = σ_0·(1, 1, 1, 1)/2; R·e_1 = σ_1·(1, −1, 1, −1)/2.
        float[] y = new float[4];
        r.forward(new float[]{1, 0, 0, 0}, 0, y, 0);
        float s0 = r.sign(0) * 0.5f;
        assertArrayEquals(new float[]{s0, s0, s0, s0}, y);
        r.forward(new float[]{0, 1, 0, 0}, 0, y, 0);
        float s1 = r.sign(1) * 0.5f;
        assertArrayEquals(new float[]{s1, -s1, s1, -s1}, y);
        float[] back = new float[4];
        r.inverse(y, 0, back, 0);
        // Zeros come back with the channel's sign: σ_d·(+0).
        assertArrayEquals(new float[]{r.sign(0) * 0f, 1f, r.sign(2) * 0f, r.sign(3) * 0f}, back);
        assertThrows(InvalidInputException.class, () -> new HadamardRotation(96, 0));
    }

    @Test
    void quaRotQuantizesInTheRotatedBasis() {
        HadamardRotation r = new HadamardRotation(4, 5);
        // x = σ ⊙ (3, 1, 0, 0), so R·x = H·(3, 1, 0, 0)/2 = (2, 1, 2, 1). Symmetric INT2, G = 4: amax 2,
        // scale 2, (1, 0.5, 1, 0.5) rounds half away to (1, 1, 1, 1) → (2, 2, 2, 2) → back σ ⊙ (4, 0, 0, 0).
        KvTensor x = tensor(1, 1, 4, 3 * r.sign(0), r.sign(1), 0f, 0f);
        Quantized q = new QuaRot(2, 4, false, 5).apply(x, Method.Role.KEYS);
        assertArrayEquals(new float[]{4 * r.sign(0), r.sign(1) * 0f, r.sign(2) * 0f, r.sign(3) * 0f}, floats(q.dequantized()));
        assertArrayEquals(new float[]{2f}, q.noise().steps());
        // Asymmetric INT2: min 1, max 2, scale (2 − 1)/3 → E4M3 0.34375; (x − 1)/s = 0, 2.909 → codes 0, 3 →
        // 1 and 1 + 3·0.34375 = 2.03125 in the rotated basis.
        Quantized a = new QuaRot(2, 4, true, 5).apply(x, Method.Role.KEYS);
        float hi = 1f + 3 * 0.34375f;
        float[] rotated = {hi, 1f, hi, 1f};
        float[] back = new float[4];
        r.inverse(rotated, 0, back, 0);
        for (int d = 0; d < 4; d++) {
            back[d] = Bf16.round(back[d]);
        }
        assertArrayEquals(back, floats(a.dequantized()));
        // Codes 2 bits, one FP8 scale (and zero) per block of 4: 4 (6) bits per element.
        assertEquals(4.0, q.accounting().bitsPerElement());
        assertEquals(6.0, a.accounting().bitsPerElement());
    }

    @Test
    void rtnAndNvfp4AreTheOfficialBaselinesWithTheirScaleBytes() {
        KvTensor x = Clustered.tensor(3, 1, 2, 64, 128);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            Quantized rtn = Rtn.integer(2, 64).apply(x, Method.Role.KEYS);
            Exact.assertBits(codec.rtnBaseline(x, 2, 64).bits(), rtn.dequantized().bits(), "rtn");
            assertEquals(2.125, rtn.accounting().bitsPerElement());
            Quantized fp4 = Rtn.nvfp4(16).apply(x, Method.Role.KEYS);
            Exact.assertBits(codec.nvfp4Baseline(x, 16).bits(), fp4.dequantized().bits(), "nvfp4");
            assertEquals(4.5, fp4.accounting().bitsPerElement());
            assertEquals(null, fp4.noise());
        }
    }

    @Test
    void qvgAtAnotherWidthReusesTheClusteringAndGivesTheFullEncodesBytes() {
        KvTensor x = Clustered.tensor(4, 1, 2, 300, 32);
        QuantConfig base = QuantConfig.DEFAULT.withGroupSize(16).withCentroids(8);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            Qvg.Clusterings shared = new Qvg.Clusterings();
            Qvg two = new Qvg("QVG", base, 9, codec, shared);
            Qvg four = new Qvg("QVG", base.withBits(4).withAsymmetric(true), 9, codec, shared);
            Quantized q2 = two.apply(x, Method.Role.KEYS);
            Quantized q4 = four.apply(x, Method.Role.KEYS);
            QuantConfig c4 = four.quantConfig();
            QuantizedSpan full = codec.encode(x, c4, InitIndices.fromSeed(9, 1, x.headCount(), 8, x.tokens()));
            Exact.assertBits(codec.decode(full).bits(), q4.dequantized().bits(), "4-bit QVG via the shared clustering");
            assertEquals(full.footprint(), q4.accounting().quantized());
            assertEquals(2 + 8.0 / 16 + 8.0 / 32 + 16.0 * 8 / 300, q2.accounting().bitsPerElement(), 1e-12);
            assertEquals(full.scale(5), q4.noise().steps()[5]);
        }
    }

    @Test
    void jensenTermIsHalfTheNoiseVarianceOfTheScore() {
        // q = (1, 2, 3, 4), blocks of 2: norms 5 and 25; steps 2 and 0: (5·4 + 25·0)·(float) (1/96).
        float[] scores = {1f, 1f};
        float[] steps = {2f, 0f, 0f, 0f};
        new JensenCorrection(1, 2, 4, 2, steps).correct(0, new float[]{1, 2, 3, 4}, 0, 0, 2, scores, 0);
        assertEquals(1f - 20f * (float) (1.0 / 96), scores[0]);
        assertEquals(1f, scores[1], "a key stored exactly keeps its score");
        assertThrows(InvalidInputException.class, () -> new JensenCorrection(1, 2, 4, 3, steps));
    }

    @Test
    void zeroStepsLeaveTheAttentionBytesUnchanged() {
        KvTensor k = Clustered.tensor(5, 1, 2, 100, 16);
        KvTensor v = Clustered.tensor(6, 1, 2, 100, 16);
        float[] q = Evaluation.newestKeys(k, 3);
        CacheAttention a = new CacheAttention(ScalarAttention.INSTANCE);
        TokenSource src = TokenSource.of(k, v);
        Exact.assertBits(a.attend(src, q, 3), a.attend(src, q, 3, new JensenCorrection(2, 100, 16, 4, new float[2 * 100 * 4])),
                "attention with an all-zero correction");
    }

    /** Keys plus uniform noise of a known step: the quantized part gains mass, and the correction takes it back. */
    @Test
    void correctionRemovesTheMassTheNoisyKeysSteal() {
        int s = 2000, d = 64;
        KvTensor k = Clustered.tensor(7, 1, 2, s, d);
        KvTensor v = Clustered.tensor(8, 1, 2, s, d);
        float step = 1.5f;
        Method noisy = new Method() {
            public String name() { return "noise"; }
            public String family() { return "noise"; }
            public int bits() { return 16; }
            public String config() { return "uniform noise of step " + step; }
            public Quantized apply(KvTensor x, Role role) {
                SplittableRandom r = new SplittableRandom(role.ordinal());
                short[] out = new short[x.elementCount()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = Bf16.fromFloat(Bf16.toFloat(x.bits()[i]) + (float) ((r.nextDouble() - 0.5) * step));
                }
                float[] steps = new float[x.elementCount()];
                java.util.Arrays.fill(steps, step);
                return new Quantized(new KvTensor(x.name(), 1, x.heads(), x.tokens(), x.dim(), out),
                        new Accounting(new io.qvg4j.quant.MemoryFootprint(out.length, 2L * out.length, 0, 0, 0, 0), 0),
                        new KeyNoise(x.headCount(), x.tokens(), d, 1, steps, null));
            }
        };
        Evaluation.Row row = new Evaluation(ScalarAttention.INSTANCE, 32, 128).run(k, v, List.of(noisy)).get(0);
        assertTrue(row.massShift() > 0.005, "noisy keys gain mass: " + row.massShift());
        assertTrue(Math.abs(row.correctedMassShift()) < 0.25 * row.massShift(),
                "corrected shift " + row.correctedMassShift() + " against " + row.massShift());
        assertTrue(row.correctedAttentionError() < row.attentionError(), row.correctedAttentionError() + " vs " + row.attentionError());
    }

    @Test
    void anExactMethodHasNoErrorAndNoShift() {
        KvTensor k = Clustered.tensor(9, 1, 1, 300, 16);
        KvTensor v = Clustered.tensor(10, 1, 1, 300, 16);
        Method identity = new Method() {
            public String name() { return "bf16"; }
            public String family() { return "bf16"; }
            public int bits() { return 16; }
            public String config() { return "none"; }
            public Quantized apply(KvTensor x, Role role) {
                return new Quantized(x, new Accounting(new io.qvg4j.quant.MemoryFootprint(x.elementCount(), 0, 0, 0, 0, 0),
                        2L * x.elementCount()), null);
            }
        };
        Evaluation.Row row = new Evaluation(ScalarAttention.INSTANCE, 8, 64).run(k, v, List.of(identity)).get(0);
        assertEquals(0.0, row.keyError());
        assertEquals(0.0, row.attentionError());
        assertEquals(0.0, row.massShift());
        assertEquals(16.0, row.bitsPerElement());
        assertTrue(row.exactQuantizedMass() > 0 && row.exactQuantizedMass() < 1);
    }

    @Test
    void spanStepsAreTheStoredScalesAndTheBf16TailHasNone() {
        KvTensor k = Clustered.tensor(11, 1, 2, 64, 32);
        QuantConfig config = QuantConfig.DEFAULT.withGroupSize(16).withCentroids(4);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantizedSpan span = codec.encode(k, config, InitIndices.fromSeed(1, 1, 2, 4, 64));
            // Query (1, 0, …, 0): block 0's norm is 1, block 1's 0, so the term is s_0² / (24·32) for a
            // quantized key and 0 for the 16 bf16 tokens after the span.
            float[] q = new float[32];
            q[0] = 1f;
            float[] scores = new float[80];
            JensenCorrection.ofSpan(span, 80).correct(1, q, 0, 0, 80, scores, 0);
            for (int t = 0; t < 80; t++) {
                float s0 = t < 64 ? span.scale((64 + t) * 2) : 0f;
                assertEquals(0f - Math.fma(1f, s0 * s0, 0f) * (float) (1.0 / (24.0 * 32)), scores[t], "token " + t);
            }
        }
    }
}
