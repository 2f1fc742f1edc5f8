package io.qvg4j.codec;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Clustered;
import io.qvg4j.testkit.Exact;
import org.junit.jupiter.api.Test;


import static io.qvg4j.testkit.Exact.assertSameSpan;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU pipeline: thread-count independence, stage structure and input validation. */
class CpuCodecTest {

    @Test
    void bytesDoNotDependOnTheThreadCount() {
        KvTensor x = Clustered.tensor(1, 2, 3, 2500, 32);
        for (QuantConfig config : new QuantConfig[]{
                QuantConfig.DEFAULT.withGroupSize(16).withCentroids(32),
                new QuantConfig(4, 8, 3, 17, true, ScaleFormat.FP8_E4M3, 4, 1e-4f),
                new QuantConfig(3, 32, 2, 5, false, ScaleFormat.BF16, 3, 1e-4f)}) {
            int[][][] init = InitIndices.fromSeed(7, config.stages(), x.headCount(), config.centroids(), x.tokens());
            QuantizedSpan one;
            short[] deqOne;
            try (CpuCodec c = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
                one = c.encode(x, config, init);
                deqOne = c.decode(one).bits();
            }
            try (CpuCodec c = new CpuCodec(ScalarKernels.INSTANCE, 4)) {
                QuantizedSpan four = c.encode(x, config, init);
                assertSameSpan(one, four, config + ", 4 threads");
                assertArrayEquals(deqOne, c.decode(four).bits(), config.toString());
                assertArrayEquals(c.rtnBaseline(x, 3, 8).bits(), new CpuCodec(ScalarKernels.INSTANCE, 1).rtnBaseline(x, 3, 8).bits());
            }
        }
    }

    /**
     * The warm-up's synthetic head has block scales in each branch of the FP8 E4M3 rounding (SPEC §2.2): below the
     * smallest normal (exponent field 0), saturated at 448 (0x7E) and normal, so C2's profile of the quantizer
     * holds every branch the real data takes.
     */
    @Test
    void warmUpHeadHasScalesInEveryBranchOfTheFp8Rounding() {
        QuantConfig config = QuantConfig.DEFAULT;
        int dim = 128;
        int kc = config.centroids();
        float[] centroids = CpuCodec.WarmUp.values(kc * dim, 2);
        int[] ids = CpuCodec.WarmUp.ids(kc);
        float[] x = CpuCodec.WarmUp.tokens(centroids, ids, dim);
        int tokens = ids.length;
        float[] residual = new float[tokens * dim];
        ScalarKernels.INSTANCE.subtract(x, tokens, dim, ids, centroids, residual);
        byte[] packed = new byte[tokens * config.packedBytesPerRow(dim)];
        byte[] scales = new byte[tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes()];
        ScalarKernels.INSTANCE.quantize(residual, tokens, dim, config, packed, 0, scales, 0, null, 0);
        boolean small = false, saturated = false, normal = false;
        for (byte b : scales) {
            small |= (b & 0x78) == 0;
            saturated |= (b & 0x7F) == 0x7E;
            normal |= (b & 0x78) != 0 && (b & 0x7F) != 0x7E;
        }
        assertTrue(small, "a scale below the smallest normal");
        assertTrue(saturated, "a saturated scale");
        assertTrue(normal, "a normal scale");
    }

    /** Squared error of the one- and two-stage encodes of {@code downstreamPathReproducesTheFullPipelinesBytes}: 2.5x lower. */
    static final double ONE_STAGE_ERROR = 1459.4896226235453, TWO_STAGE_ERROR = 584.1374008066507;
    static final String ONE_STAGE_SHA256 = "c2e261c36c28e61bf5a499ee9506c390134ebdf735b78d3718113e2f53bbbd24";
    static final String TWO_STAGE_SHA256 = "12097637fd61fbaa243a0a2149e6a8dee5e2cbc4491f98f4548a8f4abe335e49";

    @Test
    void downstreamPathReproducesTheFullPipelinesBytes() {
        KvTensor x = Clustered.tensor(2, 1, 2, 700, 16);
        QuantConfig config = QuantConfig.DEFAULT.withGroupSize(8).withStages(2).withCentroids(12).withMaxIters(3);
        try (CpuCodec c = new CpuCodec(ScalarKernels.INSTANCE, 2)) {
            QuantizedSpan full = c.encode(x, config, InitIndices.fromSeed(3, 2, 2, 12, 700));
            QuantizedSpan given = c.encodeWithClustering(x, config, full.clusterIds(), full.centroids());
            assertArrayEquals(full.packed(), given.packed());
            assertArrayEquals(full.scales(), given.scales());
            assertArrayEquals(c.decode(full).bits(), c.decode(given).bits());
            // The second stage clusters the first stage's residual, so it lowers the error: both errors
            // (sums of squared bf16 differences, in a fixed order) and both decoded tensors are pinned.
            KvTensor one = c.decode(c.encode(x, config.withStages(1), InitIndices.fromSeed(3, 1, 2, 12, 700)));
            KvTensor two = c.decode(full);
            assertEquals(ONE_STAGE_ERROR, error(one, x), "error of 1 stage");
            assertEquals(TWO_STAGE_ERROR, error(two, x), "error of 2 stages");
            assertEquals(ONE_STAGE_SHA256, Exact.sha256(one.bits()), "decoded, 1 stage");
            assertEquals(TWO_STAGE_SHA256, Exact.sha256(two.bits()), "decoded, 2 stages");
        }
    }

    private static double error(KvTensor a, KvTensor x) {
        double e = 0;
        for (int i = 0; i < x.elementCount(); i++) {
            double d = Bf16.toFloat(a.bits()[i]) - Bf16.toFloat(x.bits()[i]);
            e += d * d;
        }
        return e;
    }

    @Test
    void badInputIsRejectedWithWhereAndWhy() {
        KvTensor x = Clustered.tensor(3, 1, 2, 10, 16);
        int[][][] init = InitIndices.fromSeed(1, 1, 2, 4, 10);
        try (CpuCodec c = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantConfig cfg = QuantConfig.DEFAULT.withCentroids(4).withGroupSize(16);
            String g = assertThrows(InvalidInputException.class, () -> c.encode(x, cfg.withGroupSize(6), init)).getMessage();
            assertTrue(g.contains("G = 6") && g.contains("D = 16"), g);
            short[] bad = x.bits().clone();
            bad[1 * 10 * 16 + 3 * 16 + 5] = Bf16.fromFloat(Float.NaN);
            KvTensor nan = new KvTensor("keys", 1, 2, 10, 16, bad);
            String m = assertThrows(InvalidInputException.class, () -> c.encode(nan, cfg, init)).getMessage();
            assertTrue(m.contains("keys") && m.contains("[0,1,3,5]") && m.contains("finite"), m);
            String i = assertThrows(InvalidInputException.class,
                    () -> c.encode(x, cfg, new int[][][]{{{0, 1, 2, 10}, {0, 1, 2, 3}}})).getMessage();
            assertTrue(i.contains("[0][0][3] = 10"), i);
            String b = assertThrows(InvalidInputException.class, () -> c.encode(
                    new KvTensor("v", 1, 1, 4, 4, new short[16]), cfg.withBits(3).withGroupSize(4), InitIndices.fromSeed(1, 1, 1, 4, 4))).getMessage();
            assertTrue(b.contains("whole bytes"), b);
        }
        assertThrows(InvalidInputException.class, () -> QuantConfig.DEFAULT.withCentroids(257));
        assertThrows(InvalidInputException.class, () -> new KvTensor("e", 1, 1, 0, 4, new short[0]));
        String big = assertThrows(InvalidInputException.class, () -> KvTensor.checkShape("huge", 1, 64, 1 << 20, 128)).getMessage();
        assertTrue(big.contains("2^31-1"), big);
    }

    @Test
    void kcLargerThanTheTokenCountIsAllowed() {
        KvTensor x = Clustered.tensor(4, 1, 1, 5, 8);
        try (CpuCodec c = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantConfig cfg = QuantConfig.DEFAULT.withGroupSize(8).withCentroids(9);
            QuantizedSpan span = c.encode(x, cfg, InitIndices.fromSeed(5, 1, 1, 9, 5));
            assertEquals(5 * 8, c.decode(span).elementCount());
        }
    }
}
