package io.qvg4j.gpu;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static io.qvg4j.testkit.Exact.assertBits;
import static io.qvg4j.testkit.Exact.assertSameSpan;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device pipeline against the reference codec, bit for bit. Skipped without OpenCL, failed there
 * under {@code -Dqvg4j.require=opencl}.
 */
@ExtendWith(Seeds.OnFailure.class)
class OpenClCodecTest {
    static final int DEVICE = Integer.getInteger("qvg4j.device", 0);

    @BeforeEach
    void needsOpenCl() {
        Require.openCl(OpenCl.available());
    }

    /** Inputs' values without those near the bf16 maximum: every centroid of every stage is finite. */
    static KvTensor input() {
        return Inputs.tensor(Seeds.seed(), 3, 300, 32, 8, 3, false);
    }

    @Test
    void encodeAndDecodeEqualTheReference() {
        KvTensor x = input();
        try (CpuCodec ref = new CpuCodec(ScalarKernels.INSTANCE, 1); OpenClCodec gpu = OpenClCodec.open(1, DEVICE)) {
            for (QuantConfig config : new QuantConfig[]{
                    QuantConfig.DEFAULT.withGroupSize(16).withCentroids(32),
                    new QuantConfig(4, 8, 3, 17, true, ScaleFormat.FP8_E4M3, 4, 1e-4f),
                    new QuantConfig(3, 32, 2, 5, false, ScaleFormat.BF16, 3, 0.5f),
                    new QuantConfig(8, 16, 1, 1, true, ScaleFormat.BF16, 1, 1e-4f)}) {
                int[][][] init = InitIndices.fromSeed(Seeds.seed(), config.stages(), x.headCount(), config.centroids(), x.tokens());
                QuantizedSpan expected = ref.encode(x, config, init);
                QuantizedSpan actual = gpu.encode(x, config, init);
                assertSameSpan(expected, actual, config.toString());
                // The given clustering is the reference's own, whose centroids are all finite: both accept it.
                assertSameSpan(ref.encodeWithClustering(x, config, expected.clusterIds(), expected.centroids()),
                        gpu.encodeWithClustering(x, config, expected.clusterIds(), expected.centroids()),
                        config + " (given clustering)");
                assertBits(ref.decode(expected).bits(), gpu.decode(expected).bits(), "decode, " + config);
                Profile profile = gpu.lastProfile();
                assertTrue(profile.kernels() > 0 && profile.transfers() > 0, "profiling events recorded");
            }
            assertBits(ref.rtnBaseline(x, 3, 16).bits(), gpu.rtnBaseline(x, 3, 16).bits(), "rtn baseline");
            assertBits(ref.nvfp4Baseline(x, 16).bits(), gpu.nvfp4Baseline(x, 16).bits(), "nvfp4 baseline");
        }
    }

    /**
     * Eight k-means iterations that never stop early, against the reference: clustered data; values on a
     * coarse grid, where many tokens are at exactly equal distance from two centroids; and a large common
     * offset with a small spread, whose cluster sums the update splits over lanes (no addition rounds).
     */
    @Test
    void longKMeansRunsEqualTheReference() {
        long seed = Seeds.seed();
        QuantConfig config = new QuantConfig(2, 16, 2, 16, false, ScaleFormat.FP8_E4M3, 8, 0f);
        KvTensor clustered = io.qvg4j.testkit.Clustered.tensor(seed, 1, 2, 900, 32);
        java.util.Random r = new java.util.Random(seed);
        short[] grid = new short[2 * 900 * 32], offset = new short[2 * 900 * 32];
        for (int i = 0; i < grid.length; i++) {
            grid[i] = io.qvg4j.numeric.Bf16.fromFloat((r.nextInt(3) - 1) * 0.5f);
            offset[i] = io.qvg4j.numeric.Bf16.fromFloat(1000f + (float) r.nextGaussian() * 4f);
        }
        try (CpuCodec ref = new CpuCodec(ScalarKernels.INSTANCE, 1); OpenClCodec gpu = OpenClCodec.open(1, DEVICE)) {
            for (KvTensor x : new KvTensor[]{clustered, new KvTensor("grid", 1, 2, 900, 32, grid),
                    new KvTensor("offset", 1, 2, 900, 32, offset)}) {
                int[][][] init = InitIndices.fromSeed(seed, config.stages(), x.headCount(), config.centroids(), x.tokens());
                assertSameSpan(ref.encode(x, config, init), gpu.encode(x, config, init), x.name());
            }
        }
    }

    /** A given clustering with an infinite centroid is refused by both, with the same one line naming it. */
    @Test
    void anInfiniteGivenCentroidIsRefusedByBoth() {
        KvTensor x = input();
        QuantConfig config = new QuantConfig(3, 32, 2, 5, false, ScaleFormat.BF16, 3, 0.5f);
        try (CpuCodec ref = new CpuCodec(ScalarKernels.INSTANCE, 1); OpenClCodec gpu = OpenClCodec.open(1, DEVICE)) {
            QuantizedSpan span = ref.encode(x, config, InitIndices.fromSeed(Seeds.seed(), 2, 3, 5, 300));
            short[][] centroids = {span.centroids()[0], span.centroids()[1].clone()};
            centroids[1][77] = (short) 0xFF80; // −inf
            String expected = "clustering: stage 1 centroid value 77 is not finite";
            assertEquals(expected, assertThrows(InvalidInputException.class,
                    () -> ref.encodeWithClustering(x, config, span.clusterIds(), centroids)).getMessage());
            assertEquals(expected, assertThrows(InvalidInputException.class,
                    () -> gpu.encodeWithClustering(x, config, span.clusterIds(), centroids)).getMessage());
        }
    }

    @Test
    void aMissingDeviceIsOneClearLine() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> OpenClCodec.open(1, 999));
        assertTrue(e.getMessage().startsWith("--device 999: no such OpenCL device"), e.getMessage());
    }
}
