package io.qvg4j.simd;

import io.qvg4j.cache.AgeDecay;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.SalienceEviction;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention over caches with an age schedule (SPEC §16.3) and with salience eviction (SPEC §16.4) gives the
 * scalar bytes with the Vector API kernels at every width, and the SIMD codec builds the same caches.
 */
@ExtendWith(Seeds.OnFailure.class)
class SimdCachePoliciesTest {
    @BeforeEach
    void vectorApi() {
        Require.simd();
    }

    static final QuantConfig INT4 = new QuantConfig(4, 16, 2, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);

    @Test
    void decayingAndSalientCachesAttendWithScalarBytes() {
        long seed = Seeds.seed();
        int heads = 2, dim = 64, frame = 12;
        CachePolicy decay = new CachePolicy("decay", 2, 1, 1, 0, 0, INT4, seed, false,
                new AgeDecay(new int[]{2, 5}, new int[]{2, 0}), SalienceEviction.NONE);
        CachePolicy salient = new CachePolicy("salience", 2, 1, 0, 0, 0, INT4.withBits(2), seed, false,
                new AgeDecay(new int[]{4}, new int[]{0}),
                new SalienceEviction(6 * frame, 3));
        for (CachePolicy policy : new CachePolicy[]{decay, salient}) {
            SplittableRandom rnd = new SplittableRandom(seed);
            try (CpuCodec scalar = new CpuCodec(ScalarKernels.INSTANCE, 1); CpuCodec simd = new CpuCodec(SimdWidths.kernels(256), 2)) {
                QuantizedKVCache a = new QuantizedKVCache(heads, dim, frame, policy, scalar);
                QuantizedKVCache b = new QuantizedKVCache(heads, dim, frame, policy, simd);
                for (int f = 0; f < 14; f++) {
                    short[] k = bf16(rnd, heads * frame * dim), v = bf16(rnd, heads * frame * dim);
                    float[] s = new float[heads * frame];
                    for (int i = 0; i < s.length; i++) {
                        s[i] = rnd.nextInt(5) / 4f;   // coarse scores, so that ties occur
                    }
                    a.append(k, v, s);
                    b.append(k, v, s);
                }
                assertTrue(a.spans().stream().anyMatch(sp -> sp.bits() == 0), policy.name() + ": some span lost its residual");
                float[] q = new float[heads * 3 * dim];
                for (int i = 0; i < q.length; i++) {
                    q[i] = Bf16.round((float) rnd.nextGaussian());
                }
                float[] expected = new CacheAttention(ScalarAttention.INSTANCE).attend(a.view(), q, 3);
                assertBits(expected, new CacheAttention(ScalarAttention.INSTANCE).attend(b.view(), q, 3),
                        policy.name() + ": cache built by the SIMD codec");
                for (SimdAttention kernels : SimdWidths.attention()) {
                    assertBits(expected, new CacheAttention(kernels).attend(a.view(kernels), q, 3), policy.name() + " " + kernels);
                }
            }
        }
    }

    private static short[] bf16(SplittableRandom rnd, int n) {
        short[] out = new short[n];
        for (int i = 0; i < n; i++) {
            out[i] = Bf16.fromFloat((float) (rnd.nextGaussian() + (i % 5 - 2)));
        }
        return out;
    }
}
