package io.qvg4j.cache;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.*;

class CacheAttentionTest {
    static final int H = 2, FRAME = 12;
    static final CpuCodec CODEC = new CpuCodec(ScalarKernels.INSTANCE, 1);
    static final CacheAttention ATTENTION = new CacheAttention(ScalarAttention.INSTANCE);

    @AfterAll
    static void close() {
        CODEC.close();
    }

    record Run(QuantizedKVCache cache, QuantizedKVCache exact, float[] queries, int count) {}

    /** A LingBot-like stream (sink, keep-recent, sliding window) and its bf16 twin, with seeded queries. */
    static Run run(long seed, int dim, QuantConfig config, int frames, int queries) {
        CachePolicy p = new CachePolicy("t", 3, 2, 2, 14, 3, config, seed, seed % 2 == 0);
        CachePolicy bf = new CachePolicy("t-bf16", 0, 0, 0, 14, 3, config, seed, false);
        QuantizedKVCache c = new QuantizedKVCache(H, dim, FRAME, p, CODEC);
        QuantizedKVCache e = new QuantizedKVCache(H, dim, FRAME, bf, CODEC);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int f = 0; f < frames; f++) {
            short[] k = Streams.frame(rnd, H, FRAME, dim);
            short[] v = Streams.frame(rnd, H, FRAME, dim);
            c.append(k, v);
            e.append(k, v);
        }
        return new Run(c, e, Streams.queries(rnd, H * queries * dim), queries);
    }

    static final QuantConfig[] CONFIGS = {
            new QuantConfig(2, 32, 1, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f),
            new QuantConfig(4, 16, 2, 8, true, ScaleFormat.FP8_E4M3, 3, 1e-4f),
            new QuantConfig(3, 32, 1, 4, false, ScaleFormat.BF16, 2, 1e-4f)};

    /** Reading codes row by row gives the bytes of decoding every span first (the official read path). */
    @Test
    void directReadEqualsDecodeThenAttend() {
        for (long seed = 1; seed <= 6; seed++) {
            QuantConfig config = CONFIGS[(int) (seed % CONFIGS.length)];
            int dim = seed % 2 == 0 ? 64 : 96;
            Run r = run(seed, dim, config, 25, 1 + (int) seed % 4);
            assertTrue(r.cache().spans().size() >= 2, "seed " + seed);
            float[] direct = ATTENTION.attend(r.cache().view(), r.queries(), r.count());
            float[] decoded = ATTENTION.attend(r.cache().decodedView(), r.queries(), r.count());
            float[] dense = ATTENTION.attend(TokenSource.of(r.cache().materialize(false), r.cache().materialize(true)),
                    r.queries(), r.count());
            assertBits(decoded, direct, "seed " + seed + " direct vs decoded");
            assertBits(decoded, dense, "seed " + seed + " decoded vs dense tensor");
        }
    }

    /** Against the unquantized stream, the error stays under {@link AttentionErrorBound}. */
    @Test
    void fullPrecisionAgreesWithinTheBound() {
        for (long seed = 1; seed <= 6; seed++) {
            QuantConfig config = CONFIGS[(int) (seed % CONFIGS.length)];
            int dim = 64;
            Run r = run(seed, dim, config, 25, 3);
            TokenSource q = r.cache().view();
            TokenSource e = r.exact().view();
            assertEquals(e.tokens(), q.tokens());
            float[] approx = ATTENTION.attend(q, r.queries(), r.count());
            float[] exact = ATTENTION.attend(e, r.queries(), r.count());
            double[] bound = AttentionErrorBound.of(e, q, r.queries(), r.count());
            double worst = 0;
            for (int i = 0; i < exact.length; i++) {
                double err = Math.abs((double) approx[i] - exact[i]);
                assertTrue(err <= bound[i], "seed " + seed + " element " + i + ": error " + err + " > bound " + bound[i]);
                worst = Math.max(worst, err / bound[i]);
            }
            // The rounding part (the bound of the exact stream against itself) is a small share of it.
            double[] self = AttentionErrorBound.of(e, e, r.queries(), r.count());
            for (int i = 0; i < self.length; i++) {
                assertTrue(self[i] < bound[i] / 4, "element " + i + ": rounding-only bound " + self[i] + " vs " + bound[i]);
            }
            System.out.printf("seed %d (%s): worst error / bound = %.3f%n", seed, config, worst);
        }
    }

    /** The attention of a source equals the textbook formula evaluated in the stated order, token by token. */
    @Test
    void arithmeticIsTheStatedOrder() {
        Run r = run(7, 64, CONFIGS[0], 9, 2);
        TokenSource src = r.exact().view();
        int n = src.tokens(), dim = 64, count = r.count();
        assertTrue(n > CacheAttention.TILE, "several tiles");
        float[] out = ATTENTION.attend(src, r.queries(), count);
        float[] k = new float[dim * n];
        float[] v = new float[n * dim];
        for (int h = 0; h < H; h++) {
            src.keys(h, 0, n, k, n);
            src.values(h, 0, n, v);
            for (int q = 0; q < count; q++) {
                int qo = (h * count + q) * dim;
                float[] s = new float[n];
                float m = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < n; t++) {
                    float dot = 0f;
                    for (int d = 0; d < dim; d++) {
                        dot = Math.fma(r.queries()[qo + d], k[d * n + t], dot);
                    }
                    s[t] = dot * CacheAttention.scale(dim);
                    m = Math.max(m, s[t]);
                }
                float l = 0f;
                for (int t = 0; t < n; t++) {
                    s[t] = (float) StrictMath.exp(s[t] - m);
                    l += s[t];
                }
                for (int d = 0; d < dim; d++) {
                    float acc = 0f;
                    for (int t = 0; t < n; t++) {
                        acc = Math.fma(s[t], v[t * dim + d], acc);
                    }
                    assertEquals(Float.floatToRawIntBits(acc / l), Float.floatToRawIntBits(out[qo + d]),
                            "head " + h + " query " + q + " channel " + d);
                }
            }
        }
    }

    /**
     * More queries than one block holds, over 1 to 4 threads, with and without the Jensen correction: the same
     * bytes every time, and each query's output is that of attending it alone (blocks do not interact).
     */
    @Test
    void sameBytesForEveryThreadCountAndQueryBlock() {
        int count = CacheAttention.MAX_QUERY_BLOCK + 88;
        Run r = run(11, 64, CONFIGS[1], 25, count);
        TokenSource src = r.cache().view();
        int block = CacheAttention.queryBlock(count, src.tokens(), 1);
        assertEquals(2, (count + block - 1) / block, "two query blocks");
        JensenCorrection jc = r.cache().jensenCorrection();
        float[] one = ATTENTION.attend(src, r.queries(), count);
        float[] oneCorrected = ATTENTION.attend(src, r.queries(), count, jc);
        // Up to 4 threads over 2 heads: 2 blocks per head either way, so the same tasks; 5 threads make 3 blocks.
        for (int threads = 2; threads <= 5; threads++) {
            try (CacheAttention a = new CacheAttention(ScalarAttention.INSTANCE, threads)) {
                assertBits(one, a.attend(src, r.queries(), count), threads + " threads");
                assertBits(oneCorrected, a.attend(src, r.queries(), count, jc), threads + " threads, corrected");
            }
        }
        int dim = 64;
        for (int q : new int[] {0, block - 1, block, count - 1}) {
            for (int h = 0; h < H; h++) {
                float[] alone = new float[H * dim];
                for (int g = 0; g < H; g++) {
                    System.arraycopy(r.queries(), (g * count + q) * dim, alone, g * dim, dim);
                }
                float[] out = ATTENTION.attend(src, alone, 1);
                float[] part = java.util.Arrays.copyOfRange(one, (h * count + q) * dim, (h * count + q + 1) * dim);
                assertBits(java.util.Arrays.copyOfRange(out, h * dim, (h + 1) * dim), part, "head " + h + " query " + q + " alone");
            }
        }
    }
}
