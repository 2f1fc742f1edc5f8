package io.qvg4j.simd;

import io.qvg4j.baselines.Kivi;
import io.qvg4j.baselines.Method;
import io.qvg4j.baselines.QuaRot;
import io.qvg4j.baselines.Quantized;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.JensenCorrection;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.cache.ScoreCorrection;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Exact;
import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.Test;

import java.util.Random;

/**
 * Attention with the Jensen correction (SPEC §12.1) gives the scalar kernels' bytes at every vector width:
 * the correction runs in {@link CacheAttention} beside the kernels, on the scores they produced.
 */
class SimdJensenCorrectionTest {

    static KvTensor random(long seed, int h, int s, int d) {
        Random r = new Random(seed);
        short[] bits = new short[h * s * d];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Bf16.fromFloat((float) (r.nextGaussian() * (i % d == 5 ? 4 : 1)));
        }
        return new KvTensor("x", 1, h, s, d, bits);
    }

    @Test
    void correctedAttentionIsWidthIndependent() {
        Require.simd();
        int h = 2, s = 333, d = 64, q = 5;
        KvTensor k = random(1, h, s, d), v = random(2, h, s, d);
        float[] queries = new float[h * q * d];
        Bf16.toFloats(k.bits(), 0, queries, 0, queries.length);
        QuantConfig config = QuantConfig.DEFAULT.withGroupSize(16).withCentroids(8);
        QuantizedSpan span;
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            span = codec.encode(k, config, InitIndices.fromSeed(3, 1, h, 8, s));
        }
        for (Method m : new Method[]{new Kivi(2, 32, 64), new QuaRot(2, 16, true, 4)}) {
            Quantized qk = m.apply(k, Method.Role.KEYS);
            TokenSource src = TokenSource.of(qk.dequantized(), v);
            ScoreCorrection c = qk.noise().correction(s - 64);
            check(src, queries, q, c, m.name());
        }
        check(TokenSource.of(k, v), queries, q, JensenCorrection.ofSpan(span, s), "QVG span steps");
    }

    private static void check(TokenSource src, float[] queries, int q, ScoreCorrection c, String what) {
        float[] scalar = new CacheAttention(ScalarAttention.INSTANCE).attend(src, queries, q, c);
        for (SimdAttention simd : SimdWidths.attention()) {
            Exact.assertBits(scalar, new CacheAttention(simd).attend(src, queries, q, c), what + ", " + simd.name());
        }
    }
}
