package io.qvg4j.simd;

import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.kernel.KernelCodec;
import io.qvg4j.kernel.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** The Vector API attention gives the scalar bytes at every width (wider species are emulated where not native). */
class SimdAttentionTest {
    static final List<VectorSpecies<Float>> SPECIES = List.of(FloatVector.SPECIES_64, FloatVector.SPECIES_128,
            FloatVector.SPECIES_256, FloatVector.SPECIES_512, FloatVector.SPECIES_PREFERRED);
    static final int[] SIZES = {1, 3, 4, 7, 8, 13, 16, 25, 32, 64, 100, 128};

    @Test
    void kernelsMatchScalarOnEveryTail() {
        long seed = 20261129L;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (VectorSpecies<Float> s : SPECIES) {
            SimdAttention simd = SimdAttention.of(s);
            for (int n : SIZES) {
                for (int dim : SIZES) {
                    int ld = n + 3;
                    float[] q = values(rnd, dim + 2);
                    float[] kT = values(rnd, dim * ld);
                    float[] a = new float[n + 5];
                    float[] b = new float[n + 5];
                    ScalarAttention.INSTANCE.scores(q, 2, kT, ld, n, dim, 0.088388346f, a, 5);
                    simd.scores(q, 2, kT, ld, n, dim, 0.088388346f, b, 5);
                    assertBits(a, b, "scores " + s + " n=" + n + " dim=" + dim + " seed " + seed);
                    float[] p = values(rnd, n + 1);
                    float[] v = values(rnd, n * dim);
                    float[] accA = values(rnd, dim + 4);
                    float[] accB = accA.clone();
                    ScalarAttention.INSTANCE.accumulate(p, 1, v, n, dim, accA, 4 % (accA.length - dim + 1));
                    simd.accumulate(p, 1, v, n, dim, accB, 4 % (accB.length - dim + 1));
                    assertBits(accA, accB, "accumulate " + s + " n=" + n + " dim=" + dim + " seed " + seed);
                }
            }
        }
    }

    @Test
    void attentionOverAQuantizedCacheMatchesScalar() {
        QuantConfig config = new QuantConfig(2, 8, 2, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);
        for (long seed = 1; seed <= 3; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int heads = 2, dim = seed == 2 ? 88 : 64, frame = 10;
            try (KernelCodec codec = new KernelCodec(ScalarKernels.INSTANCE, 1)) {
                QuantizedKVCache cache = new QuantizedKVCache(heads, dim, frame,
                        new CachePolicy("t", 3, 1, 1, 0, 0, config, seed, seed == 3), codec);
                for (int f = 0; f < 12; f++) {
                    cache.append(bf16(rnd, heads * frame * dim), bf16(rnd, heads * frame * dim));
                }
                int queries = (int) seed + 1;
                float[] q = values(rnd, heads * queries * dim);
                float[] expected = new CacheAttention(ScalarAttention.INSTANCE).attend(cache.view(), q, queries);
                for (VectorSpecies<Float> s : SPECIES) {
                    float[] actual = new CacheAttention(SimdAttention.of(s)).attend(cache.view(), q, queries);
                    assertBits(expected, actual, "attention " + s + " seed " + seed);
                }
            }
        }
    }

    static float[] values(SplittableRandom rnd, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (rnd.nextGaussian() * (1 + rnd.nextInt(3)));
        }
        return out;
    }

    static short[] bf16(SplittableRandom rnd, int n) {
        short[] out = new short[n];
        for (int i = 0; i < n; i++) {
            out[i] = Bf16.fromFloat((float) rnd.nextGaussian());
        }
        return out;
    }

    static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
