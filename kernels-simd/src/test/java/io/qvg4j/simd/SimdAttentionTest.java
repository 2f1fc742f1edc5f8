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
    /** Skipped, visibly, where the JVM runs without the Vector API (the scalar-fallback CI run). */
    @org.junit.jupiter.api.BeforeEach
    void vectorApi() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Widths.vectorModulePresent(),
                "jdk.incubator.vector is not in this JVM: SIMD attention skipped");
    }

    /** Every width, built on demand so the class loads without the Vector API. */
    static List<VectorSpecies<Float>> species() {
        return List.of(FloatVector.SPECIES_64, FloatVector.SPECIES_128, FloatVector.SPECIES_256,
                FloatVector.SPECIES_512, FloatVector.SPECIES_PREFERRED);
    }
    static final int[] SIZES = {1, 3, 4, 7, 8, 13, 16, 25, 32, 64, 100, 128};

    @Test
    void kernelsMatchScalarOnEveryTail() {
        long seed = 20261129L;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (VectorSpecies<Float> s : species()) {
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
                for (VectorSpecies<Float> s : species()) {
                    SimdAttention simd = SimdAttention.of(s);
                    float[] actual = new CacheAttention(simd).attend(cache.view(simd), q, queries);
                    assertBits(expected, actual, "attention " + s + " seed " + seed);
                }
            }
        }
    }

    /** Per-block dequantization, including ties, overflow to infinity and NaN centroids. */
    @Test
    void dequantizationMatchesScalar() {
        long seed = 77;
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] groups = {1, 5, 8, 16, 17, 32, 64, 128};
        for (VectorSpecies<Float> s : species()) {
            SimdAttention simd = SimdAttention.of(s);
            for (int g : groups) {
                for (int bits : new int[]{2, 3, 4, 8}) {
                    for (int stages = 1; stages <= 3; stages++) {
                        int from = rnd.nextInt(4);
                        int[] codes = new int[from + g];
                        for (int i = 0; i < codes.length; i++) {
                            codes[i] = rnd.nextInt(1 << bits);
                        }
                        float[][] centroids = new float[stages][];
                        int[] base = new int[stages];
                        for (int t = 0; t < stages; t++) {
                            centroids[t] = new float[from + g + 7];
                            base[t] = rnd.nextInt(7);
                            for (int i = 0; i < centroids[t].length; i++) {
                                int pick = rnd.nextInt(40);
                                centroids[t][i] = pick == 0 ? Float.NaN : pick == 1 ? 3.3e38f : pick == 2 ? -3.3e38f
                                        : Bf16.round((float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-8, 8))));
                            }
                        }
                        float scale = io.qvg4j.numeric.Fp8E4M3.decode((byte) rnd.nextInt(0x7F));
                        float zero = Bf16.round((float) rnd.nextGaussian());
                        boolean asym = rnd.nextBoolean();
                        int m = (1 << (bits - 1)) - 1;
                        float[] a = new float[g + 3];
                        float[] b = new float[g + 3];
                        ScalarAttention.INSTANCE.dequantize(codes, from, g, scale, zero, m, asym, centroids, base, stages, a, 2);
                        simd.dequantize(codes, from, g, scale, zero, m, asym, centroids, base, stages, b, 2);
                        assertBits(a, b, "dequantize " + s + " g=" + g + " bits=" + bits + " T=" + stages + " seed " + seed);
                    }
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
