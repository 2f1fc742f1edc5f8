package io.qvg4j.simd;

import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertBits;

/**
 * The Vector API attention gives the scalar bytes at 64 bits and every width of
 * {@code io.qvg4j.testkit.Widths} (wider species are emulated where not native), on {@link Inputs}' data.
 */
@ExtendWith(Seeds.OnFailure.class)
class SimdAttentionTest {
    /** Skipped, visibly, where the JVM runs without the Vector API (the scalar-fallback CI run). */
    @BeforeEach
    void vectorApi() {
        Require.simd();
    }

    static final int[] SIZES = {1, 3, 4, 7, 8, 13, 16, 25, 32, 64, 100, 128};

    @Test
    void kernelsMatchScalarOnEveryTail() {
        SplittableRandom rnd = new SplittableRandom(Seeds.seed());
        for (SimdAttention simd : SimdWidths.attention()) {
            for (int n : SIZES) {
                for (int dim : SIZES) {
                    int ld = n + 3;
                    float[] q = values(rnd, dim + 2);
                    float[] kT = values(rnd, dim * ld);
                    float[] a = new float[n + 5];
                    float[] b = new float[n + 5];
                    ScalarAttention.INSTANCE.scores(q, 2, kT, ld, n, dim, 0.088388346f, a, 5);
                    simd.scores(q, 2, kT, ld, n, dim, 0.088388346f, b, 5);
                    assertBits(a, b, "scores " + simd + " n=" + n + " dim=" + dim);
                    float[] p = values(rnd, n + 1);
                    float[] v = values(rnd, n * dim);
                    float[] accA = values(rnd, dim + 4);
                    float[] accB = accA.clone();
                    ScalarAttention.INSTANCE.accumulate(p, 1, v, n, dim, accA, 4 % (accA.length - dim + 1));
                    simd.accumulate(p, 1, v, n, dim, accB, 4 % (accB.length - dim + 1));
                    assertBits(accA, accB, "accumulate " + simd + " n=" + n + " dim=" + dim);
                }
            }
        }
    }

    /**
     * The softmax kernels on every tail: scores of {@link Inputs}, then with ±0, ±∞ and NaNs of several
     * payloads mixed in (the maximum's NaN must be the first in order, +0 must beat −0 in any lane), and
     * from a start m that is itself −∞, +0, −0 or NaN.
     */
    @Test
    void softmaxKernelsMatchScalarOnEveryTail() {
        SplittableRandom rnd = new SplittableRandom(Seeds.seed());
        float[] specials = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.intBitsToFloat(0x7fc00001), Float.intBitsToFloat(0xffc00002), Float.intBitsToFloat(0x7f800003)};
        float[] starts = {Float.NEGATIVE_INFINITY, 0f, -0f, Float.intBitsToFloat(0x7fc00005)};
        for (SimdAttention simd : SimdWidths.attention()) {
            for (int n : SIZES) {
                for (int mix = 0; mix < 4; mix++) {
                    float[] s = values(rnd, n + 3);
                    for (int i = 0; mix > 0 && i < s.length; i++) {
                        // mix 1: a few specials; 2: many; 3: only zeros of both signs.
                        if (mix == 3) {
                            s[i] = rnd.nextBoolean() ? 0f : -0f;
                        } else if (rnd.nextInt(mix == 1 ? 16 : 3) == 0) {
                            s[i] = specials[rnd.nextInt(specials.length)];
                        }
                    }
                    for (float start : starts) {
                        float expected = ScalarAttention.INSTANCE.max(s, 2, n, start);
                        float actual = simd.max(s, 2, n, start);
                        assertBits(new float[]{expected}, new float[]{actual}, "max " + simd + " n=" + n + " mix=" + mix + " from " + start);
                    }
                    float m = ScalarAttention.INSTANCE.max(s, 2, n, Float.NEGATIVE_INFINITY);
                    float[] a = s.clone();
                    float[] b = s.clone();
                    ScalarAttention.INSTANCE.exp(a, 2, n, m);
                    simd.exp(b, 2, n, m);
                    assertBits(a, b, "exp " + simd + " n=" + n + " mix=" + mix);
                }
            }
        }
    }

    @Test
    void attentionOverAQuantizedCacheMatchesScalar() {
        QuantConfig config = new QuantConfig(2, 8, 2, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);
        for (int c = 1; c <= 3; c++) {
            long seed = Seeds.seed() + c;
            SplittableRandom rnd = new SplittableRandom(seed);
            int heads = 2, dim = c == 2 ? 88 : 64, frame = 10;
            try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
                QuantizedKVCache cache = new QuantizedKVCache(heads, dim, frame,
                        new CachePolicy("t", 3, 1, 1, 0, 0, config, seed, c == 3), codec);
                for (int f = 0; f < 12; f++) {
                    cache.append(frame(rnd, heads * frame, dim), frame(rnd, heads * frame, dim));
                }
                int queries = c + 1;
                float[] q = values(rnd, heads * queries * dim);
                float[] expected = new CacheAttention(ScalarAttention.INSTANCE).attend(cache.view(), q, queries);
                for (SimdAttention simd : SimdWidths.attention()) {
                    float[] actual = new CacheAttention(simd).attend(cache.view(simd), q, queries);
                    assertBits(expected, actual, "attention " + simd + ", case " + c);
                    // 3 threads over 2 heads: 2 query blocks per head, each task on its own reader of the view.
                    try (CacheAttention threaded = new CacheAttention(simd, 3)) {
                        assertBits(expected, threaded.attend(cache.view(simd), q, queries), "attention " + simd + ", 3 threads, case " + c);
                    }
                }
            }
        }
    }

    /** Per-block dequantization, including ties, overflow to infinity and NaN centroids. */
    @Test
    void dequantizationMatchesScalar() {
        SplittableRandom rnd = new SplittableRandom(Seeds.seed());
        int[] groups = {1, 5, 8, 16, 17, 32, 64, 128};
        for (SimdAttention simd : SimdWidths.attention()) {
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
                            centroids[t] = values(rnd, from + g + 7);
                            base[t] = rnd.nextInt(7);
                            // Beyond what Inputs makes: NaN centroids, and sums that overflow to infinity.
                            for (int i = 0; i < centroids[t].length; i++) {
                                int pick = rnd.nextInt(40);
                                centroids[t][i] = pick == 0 ? Float.NaN : pick == 1 ? 3.3e38f : pick == 2 ? -3.3e38f : centroids[t][i];
                            }
                        }
                        float scale = Fp8E4M3.decode((byte) rnd.nextInt(0x7F));
                        float zero = values(rnd, 1)[0];
                        boolean asym = rnd.nextBoolean();
                        int m = (1 << (bits - 1)) - 1;
                        float[] a = new float[g + 3];
                        float[] b = new float[g + 3];
                        ScalarAttention.INSTANCE.dequantize(codes, from, g, scale, zero, m, asym, centroids, base, stages, a, 2);
                        simd.dequantize(codes, from, g, scale, zero, m, asym, centroids, base, stages, b, 2);
                        assertBits(a, b, "dequantize " + simd + " g=" + g + " bits=" + bits + " T=" + stages);
                    }
                }
            }
        }
    }

    /** n values of {@link Inputs}, blocks of 1..16, from the next seed of {@code rnd}. */
    static float[] values(SplittableRandom rnd, int n) {
        return Inputs.values(rnd.nextLong(), 1, n, 1 + rnd.nextInt(16), 1 + rnd.nextInt(7));
    }

    /** {@code tokens} tokens of dim channels of {@link Inputs}, as bf16 patterns. */
    static short[] frame(SplittableRandom rnd, int tokens, int dim) {
        return Inputs.bf16(Inputs.values(rnd.nextLong(), tokens, dim, 8, 1));
    }
}
