package io.qvg4j.properties;

import io.qvg4j.gpu.OpenCl;
import io.qvg4j.gpu.OpenClCodec;
import io.qvg4j.gpu.OpenClKernels;
import io.qvg4j.kernel.KernelCodec;
import io.qvg4j.kernel.ScalarKernels;
import io.qvg4j.kmeans.InitIndices;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.QuickTheory;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.generators.Generate.pick;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * OpenCL == reference bit for bit over generated shapes and nasty values, kernel by kernel and for the
 * whole pipeline. Skipped (JUnit assumption) where no OpenCL platform exists. The run's seed is
 * {@code -Dqvg4j.seed} (default fixed); every failure message names it and the generated case.
 * <p>
 * NaNs compare bit for bit too: one arises only from inf − inf (inputs near the bf16 maximum), whose sign
 * the hardware chooses, and every implementation stores it as the canonical 0x7FC0 (SPEC §2.1).
 */
class OpenClPropertiesTest {
    private static final long SEED = Long.getLong("qvg4j.seed", 0x5EEDL);
    private static final int EXAMPLES = Integer.getInteger("qvg4j.examples", 12);
    private static final ScalarKernels REF = ScalarKernels.INSTANCE;
    private static OpenClKernels gpu;
    private static OpenClCodec codec;

    @BeforeAll
    static void open() {
        assumeTrue(OpenCl.available(), "no OpenCL platform: the OpenCL properties are skipped");
        gpu = new OpenClKernels(Integer.getInteger("qvg4j.device", 0));
        codec = OpenClCodec.open(1, Integer.getInteger("qvg4j.device", 0));
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
            codec.close();
        }
    }

    private static QuickTheory qt(int examples) {
        return QuickTheory.qt().withFixedSeed(SEED).withExamples(examples).withShrinkCycles(0);
    }

    /**
     * bf16 values with the quantizer's hard cases: ±0, subnormals, exact ties of the FP8 and bf16
     * grids, values near 448·m and 2^−10·m (scales at the ends of FP8), huge values, constant runs
     * and all-zero stretches, repeated values.
     */
    static float[] nasty(Random r, int n, int m) {
        float[] special = {0f, -0f, Float.MIN_VALUE, -0x1p-133f, 0x1p-126f, 0x1p-10f * m, -0x1p-10f * m,
                0x1.8p-10f * m, 448f * m, -448f * m, 464f * m, 0.5f, -2.5f, 1.5f, 3.0e38f, -3.0e38f, 1e-10f};
        float[] v = new float[n];
        int mode = r.nextInt(4); // whole arrays that are zero or constant, now and then
        float constant = Bf16.round((float) r.nextGaussian());
        for (int i = 0; i < n; i++) {
            float f = switch (mode == 0 ? 9 : r.nextInt(9)) {
                case 0 -> special[r.nextInt(special.length)];
                case 1 -> i > 0 ? v[r.nextInt(i)] : 0f;
                case 2 -> (r.nextInt(17) - 8) * 0.5f;
                case 3 -> Math.nextUp(special[r.nextInt(special.length)]);
                case 9 -> r.nextBoolean() ? 0f : constant;
                default -> (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(12) - 6));
            };
            v[i] = Bf16.round(f);
        }
        return v;
    }

    @Test
    void kMeansKernelsEqualTheReference() {
        qt(EXAMPLES).forAll(longs().all(), integers().between(4, 256), integers().between(1, 256), integers().between(1, 96))
                .checkAssert((seed, dim, kc, tokens) -> {
                    String what = "seed " + SEED + "/" + seed + ", D=" + dim + ", Kc=" + kc + ", tokens=" + tokens;
                    Random r = new Random(seed);
                    float[] x = nasty(r, tokens * dim, 1);
                    float[] c = new float[kc * dim];
                    for (int k = 0; k < kc; k++) {
                        System.arraycopy(x, r.nextInt(tokens) * dim, c, k * dim, dim); // duplicates: ties
                    }
                    float[] nr = new float[kc];
                    float[] ng = new float[kc];
                    REF.centroidNorms(c, kc, dim, nr);
                    gpu.centroidNorms(c, kc, dim, ng);
                    assertArrayEquals(floatBits(nr), floatBits(ng), "norms, " + what);
                    int[] ir = new int[tokens];
                    int[] ig = new int[tokens];
                    REF.assign(x, dim, 0, tokens, c, nr, kc, ir);
                    gpu.assign(x, dim, 0, tokens, c, nr, kc, ig);
                    assertArrayEquals(ir, ig, "assignment, " + what);
                    float[] ur = new float[kc * dim];
                    float[] ug = new float[kc * dim];
                    int[] cr = new int[kc];
                    int[] cg = new int[kc];
                    REF.updateCentroids(x, tokens, dim, ir, c, kc, ur, cr);
                    gpu.updateCentroids(x, tokens, dim, ir, c, kc, ug, cg);
                    assertArrayEquals(cr, cg, "counts, " + what);
                    assertArrayEquals(floatBits(ur), floatBits(ug), "update, " + what);
                    float[] sr = new float[tokens * dim];
                    float[] sg = new float[tokens * dim];
                    REF.subtractCentroids(x, tokens, dim, ir, c, sr);
                    gpu.subtractCentroids(x, tokens, dim, ir, c, sg);
                    assertArrayEquals(floatBits(sr), floatBits(sg), "smoothing, " + what);
                });
    }

    @Test
    void quantizerAndPackingEqualTheReference() {
        qt(EXAMPLES * 3).forAll(longs().all(), pick(List.of(2, 3, 4, 8)), booleans().all(), integers().between(1, 64))
                .checkAssert((seed, bits, asym, tokens) -> {
                    Random r = new Random(seed);
                    QuantConfig config = randomConfig(r, bits, asym, 1);
                    int dim = randomDim(r, config);
                    String what = "seed " + SEED + "/" + seed + ", " + config + ", D=" + dim + ", tokens=" + tokens;
                    float[] x = nasty(r, tokens * dim, asym ? config.asymmetricMax() : config.symmetricMax());
                    int scaleBytes = tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes();
                    byte[] pr = new byte[tokens * config.packedBytesPerRow(dim)];
                    byte[] pg = pr.clone();
                    byte[] sr = new byte[scaleBytes];
                    byte[] sg = sr.clone();
                    byte[] zr = asym ? new byte[scaleBytes] : null;
                    byte[] zg = asym ? new byte[scaleBytes] : null;
                    REF.quantizeHead(x, tokens, dim, config, pr, 0, sr, 0, zr, 0);
                    gpu.quantizeHead(x, tokens, dim, config, pg, 0, sg, 0, zg, 0);
                    assertArrayEquals(pr, pg, "packed, " + what);
                    assertArrayEquals(sr, sg, "scales, " + what);
                    if (asym) {
                        assertArrayEquals(zr, zg, "zeros, " + what);
                    }
                });
    }

    @Test
    void pipelineEqualsTheReference() {
        qt(EXAMPLES).forAll(longs().all(), pick(List.of(2, 3, 4, 8)), booleans().all(), integers().between(1, 4))
                .checkAssert((seed, bits, asym, stages) -> {
                    Random r = new Random(seed);
                    QuantConfig config = randomConfig(r, bits, asym, stages);
                    int dim = randomDim(r, config);
                    int heads = 1 + r.nextInt(3);
                    int tokens = config.centroids() + r.nextInt(100);
                    String what = "seed " + SEED + "/" + seed + ", " + config + ", [1," + heads + "," + tokens + "," + dim + "]";
                    float[] v = nasty(r, heads * tokens * dim, config.symmetricMax());
                    short[] b = new short[v.length];
                    for (int i = 0; i < v.length; i++) {
                        b[i] = Bf16.fromFloat(v[i]);
                    }
                    KvTensor x = new KvTensor("x", 1, heads, tokens, dim, b);
                    int[][][] init = InitIndices.fromSeed(seed, stages, heads, config.centroids(), tokens);
                    try (KernelCodec ref = new KernelCodec(REF, 1)) {
                        QuantizedSpan expected = ref.encode(x, config, init);
                        QuantizedSpan actual = codec.encode(x, config, init);
                        for (int t = 0; t < stages; t++) {
                            assertArrayEquals(expected.clusterIds()[t], actual.clusterIds()[t], "ids of stage " + t + ", " + what);
                            assertArrayEquals(expected.centroids()[t], actual.centroids()[t],
                                    "centroids of stage " + t + ", " + what);
                        }
                        assertArrayEquals(expected.iterations(), actual.iterations(), "iterations, " + what);
                        assertArrayEquals(expected.packed(), actual.packed(), "packed, " + what);
                        assertArrayEquals(expected.scales(), actual.scales(), "scales, " + what);
                        if (asym) {
                            assertArrayEquals(expected.zeros(), actual.zeros(), "zeros, " + what);
                        }
                        assertArrayEquals(ref.decode(expected).bits(), codec.decode(expected).bits(),
                                "decode, " + what);
                    }
                });
    }

    /** Kc 1..256 (small more often), G dividing a D that fills whole bytes, either scale format. */
    private static QuantConfig randomConfig(Random r, int bits, boolean asym, int stages) {
        int kc = r.nextInt(4) == 0 ? 1 + r.nextInt(256) : 1 + r.nextInt(16);
        int g;
        do {
            g = 1 + r.nextInt(64);
        } while (smallestDim(g, bits) > 256);
        ScaleFormat format = r.nextInt(3) == 0 ? ScaleFormat.BF16 : ScaleFormat.FP8_E4M3;
        return new QuantConfig(bits, g, stages, kc, asym, format, 1 + r.nextInt(5), r.nextBoolean() ? 1e-4f : 0.05f);
    }

    /** A D in 4..256 that G divides and whose codes fill whole bytes; not a multiple of 4 where the width allows. */
    private static int randomDim(Random r, QuantConfig config) {
        int unit = smallestDim(config.groupSize(), config.bits());
        return unit * (1 + r.nextInt(256 / unit));
    }

    /** The smallest D that G divides and whose codes fill whole bytes. */
    private static int smallestDim(int g, int bits) {
        int unit = g;
        while (unit * bits % 8 != 0) {
            unit += g;
        }
        return unit;
    }

    static int[] floatBits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }
}
