package io.qvg4j.simd;

import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The endpoint calibration (SPEC §16.2) and the draft view (SPEC §16.1) on the Vector API give the reference's
 * bytes at every width of {@code io.qvg4j.testkit.Widths}, on {@link Inputs}' data (NaN and infinite blocks included).
 */
@ExtendWith(Seeds.OnFailure.class)
class SimdDraftAndCalibrationTest {
    static final QvgKernels REF = ScalarKernels.INSTANCE;
    static final float[] ETAS = {0f, 0.0625f, 0.1f, 0.25f, 0.375f, 0.5f};

    @BeforeAll
    static void needsVectorModule() {
        Require.simd();
    }

    @Test
    void calibratedQuantizerEqualsReference() {
        SplittableRandom r = new SplittableRandom(Seeds.seed());
        for (QvgKernels simd : SimdWidths.all()) {
            for (int dim : new int[]{8, 24, 64, 136}) {
                for (int g : new int[]{4, 8}) {
                    for (int bits : new int[]{2, 3, 4, 8}) {
                        for (float eta : ETAS) {
                            ScaleFormat f = r.nextBoolean() ? ScaleFormat.FP8_E4M3 : ScaleFormat.BF16;
                            QuantConfig config = new QuantConfig(bits, g, 1, 1, true, f, 1, 0f, eta);
                            int tokens = 1 + r.nextInt(9);
                            float[] x = Inputs.values(r.nextLong(), tokens, dim, g, config.asymmetricMax(), r.nextInt(4) == 0);
                            if (r.nextInt(5) == 0) {
                                x[r.nextInt(x.length)] = r.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY;
                            }
                            int rowBytes = config.packedBytesPerRow(dim);
                            int scaleBytes = tokens * config.blocksPerRow(dim) * f.bytes();
                            byte[] p1 = new byte[tokens * rowBytes], p2 = p1.clone();
                            byte[] s1 = new byte[scaleBytes], s2 = s1.clone(), z1 = s1.clone(), z2 = s1.clone();
                            REF.quantize(x, tokens, dim, config, p1, 0, s1, 0, z1, 0);
                            simd.quantize(x, tokens, dim, config, p2, 0, s2, 0, z2, 0);
                            String what = simd + ", " + config + ", D=" + dim + ", S=" + tokens;
                            assertArrayEquals(p1, p2, "codes: " + what);
                            assertArrayEquals(s1, s2, "scales: " + what);
                            assertArrayEquals(z1, z2, "zero points: " + what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void draftDecodeEqualsReference() {
        SplittableRandom r = new SplittableRandom(Seeds.seed() + 1);
        for (QvgKernels simd : SimdWidths.all()) {
            for (int dim : new int[]{4, 12, 64, 100, 128}) {
                int stages = 1 + r.nextInt(4);
                int kc = 1 + r.nextInt(9);
                int tokens = 1 + r.nextInt(12);
                QuantConfig config = new QuantConfig(4, 4, stages, kc, r.nextBoolean(), ScaleFormat.FP8_E4M3, 1, 0f);
                byte[][] ids = new byte[stages][2 * tokens];
                short[][] centroids = new short[stages][];
                for (int t = 0; t < stages; t++) {
                    for (int i = 0; i < ids[t].length; i++) {
                        ids[t][i] = (byte) r.nextInt(kc);
                    }
                    // Huge values make sums overflow to infinity and, across stages, inf − inf = NaN.
                    centroids[t] = Inputs.bf16(Inputs.values(r.nextLong(), 2 * kc, dim, 4, 7, t > 0 && r.nextBoolean()));
                }
                byte[] packed = new byte[2 * tokens * dim / 2];
                byte[] scales = new byte[2 * tokens * dim / 4];
                r.nextBytes(packed);
                r.nextBytes(scales);
                QuantizedSpan span = new QuantizedSpan(config, 1, 2, tokens, dim, ids, centroids, packed, scales,
                        config.asymmetric() ? scales.clone() : null, new int[stages]);
                for (int s = 1; s <= stages; s++) {
                    short[] o1 = new short[3 * tokens * dim], o2 = new short[3 * tokens * dim];
                    REF.dequantize(span, 1, s, o1, tokens * dim);
                    simd.dequantize(span, 1, s, o2, tokens * dim);
                    assertBits(o1, o2, simd + ", draft of " + s + " of " + stages + " stages, D=" + dim);
                }
            }
        }
    }

    @Test
    void attentionOverTheDraftViewEqualsScalar() {
        QuantConfig config = new QuantConfig(2, 8, 3, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);
        long seed = Seeds.seed();
        SplittableRandom rnd = new SplittableRandom(seed);
        int heads = 2, dim = 40, frame = 10;
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantizedKVCache cache = new QuantizedKVCache(heads, dim, frame, new CachePolicy("t", 3, 1, 1, 0, 0, config, seed, false), codec);
            for (int f = 0; f < 10; f++) {
                cache.append(Inputs.bf16(Inputs.values(rnd.nextLong(), heads * frame, dim, 8, 1)),
                        Inputs.bf16(Inputs.values(rnd.nextLong(), heads * frame, dim, 8, 1)));
            }
            float[] q = Inputs.values(rnd.nextLong(), heads * 2, dim, 8, 1);
            for (int s = 1; s <= 3; s++) {
                float[] expected = new CacheAttention(ScalarAttention.INSTANCE).attend(cache.decodedDraftView(s), q, 2);
                for (SimdAttention simd : SimdWidths.attention()) {
                    float[] actual = new CacheAttention(simd).attend(cache.draftView(s, simd), q, 2);
                    assertBits(expected, actual, "attention over the draft of " + s + " stages, " + simd);
                }
            }
            assertFalse(java.util.Arrays.equals(new CacheAttention(ScalarAttention.INSTANCE).attend(cache.draftView(1, ScalarAttention.INSTANCE), q, 2),
                    new CacheAttention(ScalarAttention.INSTANCE).attend(cache.view(), q, 2)), "the draft is not the full view");
        }
    }
}
