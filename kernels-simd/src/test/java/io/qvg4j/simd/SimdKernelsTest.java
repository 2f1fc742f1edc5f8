package io.qvg4j.simd;

import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;
import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Every SIMD kernel against {@link ScalarKernels}, bit for bit, at every width of
 * {@code io.qvg4j.testkit.Widths}, over head dimensions that leave every kind of vector tail, on
 * {@link Inputs}' data. Seeded by {@code -Dqvg4j.seed}; a failure names the case and the rerun flag.
 */
@ExtendWith(Seeds.OnFailure.class)
class SimdKernelsTest {
    static final long SEED = Seeds.seed();
    static final int[] DIMS = {4, 8, 12, 16, 24, 36, 64, 100, 128, 136, 256};
    static final QvgKernels REF = ScalarKernels.INSTANCE;

    @BeforeAll
    static void needsVectorModule() {
        Require.simd();
    }

    static String where(QvgKernels k, String what, int dim) {
        return k + ", " + what + ", D=" + dim;
    }

    @Test
    void kmeansKernelsEqualReference() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (QvgKernels simd : SimdWidths.all()) {
            for (int dim : DIMS) {
                for (int kc : new int[] {1, 5, 16, 33}) {
                    int tokens = 1 + r.nextInt(40);
                    float[] x = Inputs.values(r.nextLong(), tokens, dim, 1 + r.nextInt(8), 3);
                    float[] c = Inputs.values(r.nextLong(), kc, dim, 4, 1);
                    if (r.nextBoolean()) {
                        System.arraycopy(x, 0, c, 0, Math.min(x.length, c.length));
                    }
                    float[] n1 = new float[kc];
                    float[] n2 = new float[kc];
                    REF.norms(c, kc, dim, n1);
                    simd.norms(c, kc, dim, n2);
                    assertBits(n1, n2, where(simd, "norms Kc=" + kc, dim));
                    int from = r.nextInt(tokens);
                    int[] ids1 = new int[tokens];
                    int[] ids2 = new int[tokens];
                    REF.assign(x, dim, from, tokens, c, n1, kc, ids1);
                    simd.assign(x, dim, from, tokens, c, n1, kc, ids2);
                    assertArrayEquals(ids1, ids2, where(simd, "assign Kc=" + kc + " S=" + tokens + " from " + from, dim));
                    for (int n = 0; n < tokens; n++) {
                        ids1[n] = r.nextInt(kc);
                    }
                    float[] u1 = new float[kc * dim];
                    float[] u2 = new float[kc * dim];
                    int[] cnt1 = new int[kc];
                    int[] cnt2 = new int[kc];
                    REF.update(x, tokens, dim, ids1, c, kc, u1, cnt1);
                    simd.update(x, tokens, dim, ids1, c, kc, u2, cnt2);
                    assertBits(u1, u2, where(simd, "update Kc=" + kc, dim));
                    assertArrayEquals(cnt1, cnt2);
                    float[] s1 = new float[x.length];
                    float[] s2 = x.clone();
                    REF.subtract(x, tokens, dim, ids1, c, s1);
                    simd.subtract(s2, tokens, dim, ids1, c, s2);
                    assertBits(s1, s2, where(simd, "subtract in place", dim));
                }
            }
        }
    }

    @Test
    void assignHandlesInfiniteAndNanScores() {
        int dim = 12;
        int kc = 20;
        float[] c = new float[kc * dim];
        float[] x = new float[7 * dim];
        Arrays.fill(c, 0, 5 * dim, 3e38f);
        Arrays.fill(x, 1f);
        float[] norms = new float[kc];
        REF.norms(c, kc, dim, norms);
        norms[7] = Float.NaN;
        norms[9] = Float.NEGATIVE_INFINITY;
        for (QvgKernels simd : SimdWidths.all()) {
            int[] a = new int[7];
            int[] b = new int[7];
            REF.assign(x, dim, 0, 7, c, norms, kc, a);
            simd.assign(x, dim, 0, 7, c, norms, kc, b);
            assertArrayEquals(a, b, simd + " with ±inf and NaN scores");
            float[] allNan = new float[kc];
            Arrays.fill(allNan, Float.NaN);
            REF.assign(x, dim, 0, 7, c, allNan, kc, a);
            simd.assign(x, dim, 0, 7, c, allNan, kc, b);
            assertArrayEquals(a, b, simd + " with only NaN scores");
        }
    }

    @Test
    void quantizeAndDequantizeEqualReference() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        for (QvgKernels simd : SimdWidths.all()) {
            for (int dim : DIMS) {
                for (int g : new int[] {1, 2, 4, 8, 12, 16, 32, 64, 128}) {
                    if (dim % g != 0) {
                        continue;
                    }
                    for (int bits : new int[] {2, 3, 4, 8}) {
                        if (dim * bits % 8 != 0) {
                            continue;
                        }
                        boolean asym = r.nextBoolean();
                        ScaleFormat format = r.nextBoolean() ? ScaleFormat.FP8_E4M3 : ScaleFormat.BF16;
                        int stages = 1 + r.nextInt(3);
                        int kc = 1 + r.nextInt(6);
                        QuantConfig config = new QuantConfig(bits, g, stages, kc, asym, format, 2, 1e-4f);
                        quantizeCase(simd, r, config, 1 + r.nextInt(9), dim);
                    }
                }
            }
        }
    }

    private void quantizeCase(QvgKernels simd, SplittableRandom r, QuantConfig config, int tokens, int dim) {
        int m = config.asymmetric() ? config.asymmetricMax() : config.symmetricMax();
        quantizeCase(simd, r, config, tokens, dim, Inputs.values(r.nextLong(), tokens, dim, config.groupSize(), m));
    }

    /** Quantizes {@code x} with both kernels, then dequantizes the reference's span with both (head 1 of 2). */
    private void quantizeCase(QvgKernels simd, SplittableRandom r, QuantConfig config, int tokens, int dim, float[] x) {
        String what = where(simd, config.toString() + " S=" + tokens, dim);
        int rowBytes = config.packedBytesPerRow(dim);
        int scaleBytes = tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes();
        // Heads are written at offsets, as CpuCodec does: head 1 of 2.
        byte[] p1 = new byte[2 * tokens * rowBytes];
        byte[] p2 = p1.clone();
        byte[] sc1 = new byte[2 * scaleBytes];
        byte[] sc2 = sc1.clone();
        byte[] z1 = config.asymmetric() ? new byte[2 * scaleBytes] : null;
        byte[] z2 = config.asymmetric() ? z1.clone() : null;
        REF.quantize(x, tokens, dim, config, p1, tokens * rowBytes, sc1, scaleBytes, z1, scaleBytes);
        simd.quantize(x, tokens, dim, config, p2, tokens * rowBytes, sc2, scaleBytes, z2, scaleBytes);
        assertArrayEquals(p1, p2, "packed codes: " + what);
        assertArrayEquals(sc1, sc2, "scales: " + what);
        assertArrayEquals(z1, z2, "zero points: " + what);

        int kc = config.centroids();
        byte[][] ids = new byte[config.stages()][2 * tokens];
        short[][] centroids = new short[config.stages()][2 * kc * dim];
        for (int t = 0; t < config.stages(); t++) {
            for (int i = 0; i < ids[t].length; i++) {
                ids[t][i] = (byte) r.nextInt(kc);
            }
            centroids[t] = Inputs.bf16(Inputs.values(r.nextLong(), 2 * kc, dim, config.groupSize(), 1));
        }
        QuantizedSpan span = new QuantizedSpan(config, 1, 2, tokens, dim, ids, centroids, p1, sc1, z1,
                new int[config.stages()]);
        short[] o1 = new short[3 * tokens * dim];
        short[] o2 = new short[3 * tokens * dim];
        REF.dequantize(span, 1, o1, tokens * dim);
        simd.dequantize(span, 1, o2, tokens * dim);
        assertBits(o1, o2, "dequantized: " + what);
    }

    /**
     * The quantizer's rounding (SPEC §2.4) at every tie of every width's range, and beside it: each block
     * starts with the clamp bound (symmetric: m, so the scale is 1 and y = x; asymmetric: 0 and qmax), then
     * every k/2 in range and the floats just above and below it, with ±0 and subnormals. Then blocks that
     * push y past the clamp or to NaN: a bound just above m (a scale rounded down in FP8), ±∞, NaN, an
     * all-zero block (scale 0 in FP8: 0·∞ = NaN), one of subnormals only. Rows of 2 to 8 blocks of G = 16,
     * 32, 64, so every width's whole-vector path and the 128-bit INT3 one (lanes·3 not a multiple of 8)
     * are taken; the codes are then dequantized too.
     */
    @Test
    void quantizeRoundsEveryTieAsTheReference() {
        SplittableRandom r = new SplittableRandom(SEED + 5);
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (boolean asym : new boolean[] {false, true}) {
                for (ScaleFormat format : ScaleFormat.values()) {
                    QuantConfig config = new QuantConfig(bits, 16, 2, 3, asym, format, 2, 1e-4f, asym ? 0.05f : 0f);
                    int m = asym ? config.asymmetricMax() : config.symmetricMax();
                    java.util.List<Float> sweep = new java.util.ArrayList<>(java.util.List.of(0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 0x1p-126f));
                    for (int k = asym ? 0 : -2 * m; k <= 2 * m; k++) {
                        float v = k / 2f;
                        sweep.addAll(java.util.List.of(v, Math.nextUp(v), Math.nextDown(v)));
                    }
                    sweep.removeIf(v -> v > m || v < (asym ? 0 : -m));
                    for (int g : new int[] {16, 32, 64}) {
                        int dim = 128;
                        int special = 6;
                        int tokens = ((sweep.size() + g - 3) / (g - 2) + special) * g / dim + 1;
                        float[] x = new float[tokens * dim];
                        int next = 0;
                        for (int b = 0; b < tokens * dim / g; b++) {
                            int at = b * g;
                            for (int i = 0; i < g; i++) {
                                x[at + i] = sweep.get(next++ % sweep.size());
                            }
                            x[at] = asym ? 0f : m;
                            x[at + 1] = m;
                            switch (b - (tokens * dim / g - special)) {
                                case 0 -> x[at] = Math.nextUp((float) m) * 1.01f;
                                case 1 -> x[at + 2] = Float.POSITIVE_INFINITY;
                                case 2 -> x[at + 3] = Float.NEGATIVE_INFINITY;
                                case 3 -> x[at + 4] = Float.NaN;
                                case 4 -> Arrays.fill(x, at, at + g, 0f);
                                case 5 -> Arrays.fill(x, at, at + g, Float.MIN_VALUE * (1 + b % 7));
                                default -> { }
                            }
                        }
                        for (QvgKernels simd : SimdWidths.all()) {
                            quantizeCase(simd, r, config.withGroupSize(g), tokens, dim, x);
                        }
                    }
                }
            }
        }
    }

    /**
     * Every bf16 value of magnitude up to 7 through the NVFP4 rounding: each block of 16 starts with 6,
     * so its scale is exactly 1 and y = x, hitting every E2M1 tie (0.25, 0.75, …, 5) and its neighbours.
     */
    @Test
    void nvfp4RoundsEveryBf16ValueAsTheReference() {
        java.util.List<Short> sweep = new java.util.ArrayList<>();
        for (int p = 0; p < 65536; p++) {
            float v = Bf16.toFloat((short) p);
            if (Math.abs(v) <= 7f) {
                sweep.add((short) p);
            }
        }
        int blocks = (sweep.size() + 14) / 15;
        short[] in = new short[blocks * 16];
        for (int k = 0; k < blocks; k++) {
            in[k * 16] = Bf16.fromFloat(6f);
            for (int j = 1; j < 16; j++) {
                int idx = k * 15 + j - 1;
                in[k * 16 + j] = idx < sweep.size() ? sweep.get(idx) : 0;
            }
        }
        short[] a = new short[in.length];
        REF.nvfp4(in, a, 0, in.length, 16);
        for (QvgKernels simd : SimdWidths.all()) {
            short[] b = new short[in.length];
            simd.nvfp4(in, b, 0, in.length, 16);
            assertBits(a, b, simd + " nvfp4 over every bf16 value up to 7");
        }
    }

    @Test
    void baselinesEqualReference() {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        for (QvgKernels simd : SimdWidths.all()) {
            for (int g : new int[] {1, 4, 16, 36, 64}) {
                short[] in = Inputs.bf16(Inputs.values(r.nextLong(), 11, g, g, 3));
                for (int bits : new int[] {2, 3, 4, 8}) {
                    short[] a = new short[in.length];
                    short[] b = new short[in.length];
                    REF.rtn(in, a, g, in.length, g, bits);
                    simd.rtn(in, b, g, in.length, g, bits);
                    assertBits(a, b, simd + " rtn int" + bits + " G=" + g);
                }
                short[] a = new short[in.length];
                short[] b = new short[in.length];
                REF.nvfp4(in, a, 0, in.length, g);
                simd.nvfp4(in, b, 0, in.length, g);
                assertBits(a, b, simd + " nvfp4 G=" + g);
            }
        }
    }

    @Test
    void rtnRoundsExactTiesToEven() {
        // With amax = m the block scale is 1, so every (k + 0.5) below is an exact tie for rint.
        float[] block = {7f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 3.5f, -6.5f, 0.3f, -0.3f, 0f, -0f, 4.5f, 5.5f, 6.5f, -7f};
        for (int bits : new int[] {2, 3, 4, 8}) {
            int m = (1 << (bits - 1)) - 1;
            short[] in = new short[block.length * 3];
            for (int i = 0; i < in.length; i++) {
                float v = block[i % block.length];
                in[i] = Bf16.fromFloat(i % block.length == 0 ? m : v);
            }
            for (QvgKernels simd : SimdWidths.all()) {
                for (int g : new int[] {4, 16, 48}) {
                    short[] a = new short[in.length];
                    short[] b = new short[in.length];
                    REF.rtn(in, a, 0, in.length, g, bits);
                    simd.rtn(in, b, 0, in.length, g, bits);
                    assertBits(a, b, simd + " rtn int" + bits + " G=" + g + " on exact ties");
                }
            }
        }
    }
}
