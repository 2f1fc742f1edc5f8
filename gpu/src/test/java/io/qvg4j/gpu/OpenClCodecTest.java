package io.qvg4j.gpu;

import io.qvg4j.kernel.KernelCodec;
import io.qvg4j.kernel.ScalarKernels;
import io.qvg4j.kmeans.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The device pipeline against the reference codec, bit for bit (skipped without OpenCL). */
class OpenClCodecTest {

    static void assertSameSpan(QuantizedSpan a, QuantizedSpan b, String what) {
        for (int t = 0; t < a.config().stages(); t++) {
            assertArrayEquals(a.clusterIds()[t], b.clusterIds()[t], "ids of stage " + t + ", " + what);
            assertArrayEquals(a.centroids()[t], b.centroids()[t], "centroids of stage " + t + ", " + what);
        }
        assertArrayEquals(a.iterations(), b.iterations(), "iterations, " + what);
        assertArrayEquals(a.packed(), b.packed(), "packed, " + what);
        assertArrayEquals(a.scales(), b.scales(), "scales, " + what);
        assertArrayEquals(a.zeros(), b.zeros(), "zeros, " + what);
    }

    @Test
    void encodeAndDecodeEqualTheReference() {
        assumeTrue(OpenCl.available(), "no OpenCL platform: the GPU tests are skipped");
        long seed = 77;
        Random r = new Random(seed);
        KvTensor x = OpenClKernelsTest.tensor(r, 3, 300, 32);
        try (KernelCodec ref = new KernelCodec(ScalarKernels.INSTANCE, 1); OpenClCodec gpu = OpenClCodec.open(1, Integer.getInteger("qvg4j.device", 0))) {
            for (QuantConfig config : new QuantConfig[]{
                    QuantConfig.DEFAULT.withGroupSize(16).withCentroids(32),
                    new QuantConfig(4, 8, 3, 17, true, ScaleFormat.FP8_E4M3, 4, 1e-4f),
                    new QuantConfig(3, 32, 2, 5, false, ScaleFormat.BF16, 3, 0.5f),
                    new QuantConfig(8, 16, 1, 1, true, ScaleFormat.BF16, 1, 1e-4f)}) {
                int[][][] init = InitIndices.fromSeed(seed, config.stages(), x.headCount(), config.centroids(), x.tokens());
                QuantizedSpan expected = ref.encode(x, config, init);
                QuantizedSpan actual = gpu.encode(x, config, init);
                assertSameSpan(expected, actual, config + ", seed " + seed);
                QuantizedSpan given;
                try {
                    given = ref.encodeWithClustering(x, config, expected.clusterIds(), expected.centroids());
                } catch (InvalidInputException e) {
                    // Huge inputs can give infinite centroids, which a given clustering may not hold.
                    assertThrows(InvalidInputException.class,
                            () -> gpu.encodeWithClustering(x, config, expected.clusterIds(), expected.centroids()));
                    given = null;
                }
                if (given != null) {
                    assertSameSpan(given, gpu.encodeWithClustering(x, config, expected.clusterIds(), expected.centroids()),
                            config + " (given clustering)");
                }
                assertArrayEquals(ref.decode(expected).bits(), gpu.decode(expected).bits(), "decode, " + config);
                Profile profile = gpu.lastProfile();
                assertTrue(profile.kernels() > 0 && profile.transfers() > 0, "profiling events recorded");
            }
            assertArrayEquals(ref.rtnBaseline(x, 3, 16).bits(), gpu.rtnBaseline(x, 3, 16).bits());
            assertArrayEquals(ref.nvfp4Baseline(x, 16).bits(), gpu.nvfp4Baseline(x, 16).bits());
        }
    }

    @Test
    void aMissingDeviceIsOneClearLine() {
        assumeTrue(OpenCl.available(), "no OpenCL platform: the GPU tests are skipped");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> OpenClCodec.open(1, 999));
        assertTrue(e.getMessage().startsWith("--device 999: no such OpenCL device"), e.getMessage());
    }
}
