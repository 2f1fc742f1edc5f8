package io.qvg4j.properties;

import io.qvg4j.gpu.OpenCl;
import io.qvg4j.gpu.OpenClCodec;
import io.qvg4j.gpu.OpenClKernels;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Random;

import static io.qvg4j.properties.Theories.qt;
import static io.qvg4j.testkit.Exact.assertBits;
import static io.qvg4j.testkit.Exact.assertSameSpan;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.quicktheories.generators.Generate.pick;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * OpenCL == reference bit for bit over generated shapes and {@link Inputs}' nasty values (with values
 * near the bf16 maximum), kernel by kernel and for the whole pipeline: {@value #EXAMPLES} examples per
 * property in CI, shrinking on. Skipped where no OpenCL platform exists, failed there under
 * {@code -Dqvg4j.require=opencl}. The run's seed is {@code -Dqvg4j.seed} (default fixed); every failure
 * names the generated case and the rerun flags.
 * <p>
 * NaNs compare bit for bit too: one arises only from inf − inf (inputs near the bf16 maximum), whose sign
 * the hardware chooses, and every implementation stores it as the canonical 0x7FC0 (SPEC §2.1).
 */
@ExtendWith(Seeds.OnFailure.class)
class OpenClPropertiesTest {
    static final int EXAMPLES = 100;
    private static final ScalarKernels REF = ScalarKernels.INSTANCE;
    private static OpenClKernels gpu;
    private static OpenClCodec codec;

    @BeforeAll
    static void open() {
        Require.openCl(OpenCl.available());
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

    @Test
    void kMeansKernelsEqualTheReference() {
        qt(EXAMPLES).forAll(longs().all(), integers().between(4, 256), integers().between(1, 256), integers().between(1, 96))
                .checkAssert((seed, dim, kc, tokens) -> {
                    String what = "seed " + seed + ", D=" + dim + ", Kc=" + kc + ", tokens=" + tokens;
                    Random r = new Random(seed);
                    float[] x = Inputs.values(r.nextLong(), tokens, dim, 1 + r.nextInt(16), 1, true);
                    float[] c = new float[kc * dim];
                    for (int k = 0; k < kc; k++) {
                        System.arraycopy(x, r.nextInt(tokens) * dim, c, k * dim, dim); // duplicates: ties
                    }
                    float[] nr = new float[kc];
                    float[] ng = new float[kc];
                    REF.norms(c, kc, dim, nr);
                    gpu.norms(c, kc, dim, ng);
                    assertBits(nr, ng, "norms, " + what);
                    int[] ir = new int[tokens];
                    int[] ig = new int[tokens];
                    REF.assign(x, dim, 0, tokens, c, nr, kc, ir);
                    gpu.assign(x, dim, 0, tokens, c, nr, kc, ig);
                    assertArrayEquals(ir, ig, "assignment, " + what);
                    float[] ur = new float[kc * dim];
                    float[] ug = new float[kc * dim];
                    int[] cr = new int[kc];
                    int[] cg = new int[kc];
                    REF.update(x, tokens, dim, ir, c, kc, ur, cr);
                    gpu.update(x, tokens, dim, ir, c, kc, ug, cg);
                    assertArrayEquals(cr, cg, "counts, " + what);
                    assertBits(ur, ug, "update, " + what);
                    float[] sr = new float[tokens * dim];
                    float[] sg = new float[tokens * dim];
                    REF.subtract(x, tokens, dim, ir, c, sr);
                    gpu.subtract(x, tokens, dim, ir, c, sg);
                    assertBits(sr, sg, "smoothing, " + what);
                });
    }

    @Test
    void quantizerAndPackingEqualTheReference() {
        qt(EXAMPLES).forAll(longs().all(), pick(List.of(2, 3, 4, 8)), booleans().all(), integers().between(1, 64))
                .checkAssert((seed, bits, asym, tokens) -> {
                    Random r = new Random(seed);
                    QuantConfig config = randomConfig(r, bits, asym, 1);
                    int dim = randomDim(r, config);
                    String what = "seed " + seed + ", " + config + ", D=" + dim + ", tokens=" + tokens;
                    float[] x = Inputs.values(r.nextLong(), tokens, dim, config.groupSize(),
                            asym ? config.asymmetricMax() : config.symmetricMax(), true);
                    int scaleBytes = tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes();
                    byte[] pr = new byte[tokens * config.packedBytesPerRow(dim)];
                    byte[] pg = pr.clone();
                    byte[] sr = new byte[scaleBytes];
                    byte[] sg = sr.clone();
                    byte[] zr = asym ? new byte[scaleBytes] : null;
                    byte[] zg = asym ? new byte[scaleBytes] : null;
                    REF.quantize(x, tokens, dim, config, pr, 0, sr, 0, zr, 0);
                    gpu.quantize(x, tokens, dim, config, pg, 0, sg, 0, zg, 0);
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
                    String what = "seed " + seed + ", " + config + ", [1," + heads + "," + tokens + "," + dim + "]";
                    KvTensor x = Inputs.tensor(r.nextLong(), heads, tokens, dim, config.groupSize(),
                            asym ? config.asymmetricMax() : config.symmetricMax(), true);
                    int[][][] init = InitIndices.fromSeed(seed, stages, heads, config.centroids(), tokens);
                    try (CpuCodec ref = new CpuCodec(REF, 1)) {
                        QuantizedSpan expected = ref.encode(x, config, init);
                        QuantizedSpan actual = codec.encode(x, config, init);
                        assertSameSpan(expected, actual, what);
                        assertBits(ref.decode(expected).bits(), codec.decode(expected).bits(), "decode, " + what);
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

    /**
     * A D ≤ 256 that G divides and whose codes fill whole bytes: a multiple of {@link #smallestDim}, uniform
     * over those multiples. So D can be below 4 (G = 1 at 8 bits gives D = 1, 2, 3, …) and need not be a
     * multiple of 4 (G = 3 at 8 bits gives 3, 6, 9, …).
     */
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
}
