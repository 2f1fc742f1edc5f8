package io.qvg4j.cache;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.testkit.Exact;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache's Jensen correction (SPEC §12.1): a quantized key's steps are its span's scales, bf16 keys have none. */
class JensenCorrectionTest {

    @Test
    void cacheStepsAreTheLiveSpansScales() {
        int heads = 2, dim = 32, ft = 16;
        QuantConfig config = QuantConfig.DEFAULT.withGroupSize(16).withCentroids(4);
        CachePolicy policy = new CachePolicy("test", 2, 1, 1, 0, 0, config, 5, false);
        Random r = new Random(3);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantizedKVCache cache = new QuantizedKVCache(heads, dim, ft, policy, codec);
            for (int f = 0; f < 7; f++) {
                short[] k = new short[heads * ft * dim], v = new short[heads * ft * dim];
                for (int i = 0; i < k.length; i++) {
                    k[i] = Bf16.fromFloat((float) r.nextGaussian());
                    v[i] = Bf16.fromFloat((float) r.nextGaussian());
                }
                cache.append(k, v);
            }
            assertEquals(2, cache.spans().size(), "frames 1–4 quantized, the sink and 5–6 bf16");
            int tokens = cache.view().tokens();
            float[] q = new float[dim];
            q[0] = 1f;
            JensenCorrection c = cache.jensenCorrection();
            for (int h = 0; h < heads; h++) {
                float[] scores = new float[tokens];
                c.correct(h, q, 0, 0, tokens, scores, 0);
                float[] expected = new float[tokens];
                for (QuantizedKVCache.Span s : cache.spans()) {
                    QuantizedSpan keys = s.keys();
                    for (int j = 0; j < s.frames().length; j++) {
                        for (int t = 0; t < ft; t++) {
                            float step = keys.scale((h * keys.tokens() + j * ft + t) * 2);
                            expected[s.frames()[j] * ft + t] = 0f - step * step * JensenCorrection.coefficient(dim);
                        }
                    }
                }
                Exact.assertBits(expected, scores, "head " + h);
                assertEquals(0f, scores[0], "sink token");
                assertTrue(scores[ft] < 0, "first quantized token");
            }
        }
    }
}
