package io.qvg4j.gpu;

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

import java.util.Random;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Each OpenCL kernel, then the device pipeline, against the reference bit for bit, on {@link Inputs}'
 * data without values near the bf16 maximum (OpenClPropertiesTest has those). Skipped without OpenCL,
 * failed there under {@code -Dqvg4j.require=opencl}.
 */
@ExtendWith(Seeds.OnFailure.class)
class OpenClKernelsTest {
    private static final long SEED = Seeds.seed();
    private static OpenClKernels gpu;
    private static final ScalarKernels REF = ScalarKernels.INSTANCE;

    @BeforeAll
    static void open() {
        Require.openCl(OpenCl.available());
        gpu = new OpenClKernels(Integer.getInteger("qvg4j.device", 0));
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
    }

    @Test
    void normsAndAssignment() {
        Random r = new Random(SEED);
        for (int trial = 0; trial < 8; trial++) {
            // The last two trials span several token and centroid tiles of the assignment and a
            // channel count that is no multiple of its slice (DeviceKernels.ASSIGN_SIDE, ASSIGN_SLICE).
            boolean large = trial >= 6;
            int dim = large ? 17 + r.nextInt(120) : 4 + r.nextInt(60);
            int kc = large ? 129 + r.nextInt(128) : 1 + r.nextInt(40);
            int tokens = large ? 300 + r.nextInt(300) : 1 + r.nextInt(150);
            float[] x = Inputs.values(r.nextLong(), tokens, dim, 1 + r.nextInt(16), 1);
            float[] c = new float[kc * dim];
            for (int k = 0; k < kc; k++) {
                // Duplicate centroids make exact ties, which the lowest index must win.
                System.arraycopy(x, r.nextInt(tokens) * dim, c, k * dim, dim);
            }
            float[] nr = new float[kc];
            float[] ng = new float[kc];
            REF.norms(c, kc, dim, nr);
            gpu.norms(c, kc, dim, ng);
            assertBits(nr, ng, "norms, trial " + trial);
            int[] ir = new int[tokens];
            int[] ig = new int[tokens];
            REF.assign(x, dim, 0, tokens, c, nr, kc, ir);
            gpu.assign(x, dim, 0, tokens, c, nr, kc, ig);
            assertArrayEquals(ir, ig, "assignment, trial " + trial);
        }
    }

    @Test
    void centroidUpdateAndSmoothing() {
        Random r = new Random(SEED + 1);
        for (int trial = 0; trial < 7; trial++) {
            int dim = 4 + r.nextInt(40);
            int kc = 1 + r.nextInt(30);
            // The last trial spans several chunks of the counting sort (DeviceKernels.CHUNK tokens).
            int tokens = trial == 6 ? 2 * DeviceKernels.CHUNK + 1 + r.nextInt(500) : 1 + r.nextInt(200);
            float[] x = Inputs.values(r.nextLong(), tokens, dim, 1 + r.nextInt(16), 1);
            float[] c = Inputs.values(r.nextLong(), kc, dim, 1 + r.nextInt(16), 1);
            int[] ids = new int[tokens];
            for (int n = 0; n < tokens; n++) {
                ids[n] = r.nextInt(Math.max(1, kc - 1)); // the last cluster stays empty
            }
            float[] ur = new float[kc * dim];
            float[] ug = new float[kc * dim];
            int[] cr = new int[kc];
            int[] cg = new int[kc];
            REF.update(x, tokens, dim, ids, c, kc, ur, cr);
            gpu.update(x, tokens, dim, ids, c, kc, ug, cg);
            assertArrayEquals(cr, cg, "counts, trial " + trial);
            assertBits(ur, ug, "update, trial " + trial);
            float[] sr = new float[tokens * dim];
            float[] sg = new float[tokens * dim];
            REF.subtract(x, tokens, dim, ids, c, sr);
            gpu.subtract(x, tokens, dim, ids, c, sg);
            assertBits(sr, sg, "smoothing, trial " + trial);
        }
    }

    /**
     * The quantizer's fast path takes 8 values per work-item: with G = 4 they are two blocks, and where D is
     * 4 mod 8 and the rows are odd in number the last work-item holds only 4 values of the stream.
     */
    @Test
    void quantizerAtG4AndAtTheStreamsEnd() {
        Random r = new Random(SEED + 3);
        for (int bits : new int[]{2, 4, 8}) {
            for (boolean asym : new boolean[]{false, true}) {
                for (ScaleFormat format : ScaleFormat.values()) {
                    for (int dim : new int[]{4, 12, 100, 8}) {
                        for (int tokens : new int[]{1, 3, 7, 2}) {
                            QuantConfig config = new QuantConfig(bits, 4, 1, 5, asym, format, 2, 1e-4f);
                            float[] x = Inputs.values(r.nextLong(), tokens, dim, 4,
                                    asym ? config.asymmetricMax() : config.symmetricMax());
                            String what = config + ", D = " + dim + ", " + tokens + " tokens";
                            int scaleBytes = tokens * config.blocksPerRow(dim) * format.bytes();
                            byte[] pr = new byte[tokens * config.packedBytesPerRow(dim) + 1];
                            byte[] pg = pr.clone();
                            byte[] sr = new byte[scaleBytes + 1];
                            byte[] sg = sr.clone();
                            byte[] zr = asym ? new byte[scaleBytes + 1] : null;
                            byte[] zg = asym ? zr.clone() : null;
                            REF.quantize(x, tokens, dim, config, pr, 0, sr, 0, zr, 0);
                            gpu.quantize(x, tokens, dim, config, pg, 0, sg, 0, zg, 0);
                            assertArrayEquals(pr, pg, "packed, " + what);
                            assertArrayEquals(sr, sg, "scales, " + what);
                            assertArrayEquals(zr, zg, "zeros, " + what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void quantizerPackingAndDequantizationInEveryMode() {
        Random r = new Random(SEED + 2);
        for (int bits : new int[]{2, 3, 4, 8}) {
            for (boolean asym : new boolean[]{false, true}) {
                for (ScaleFormat format : ScaleFormat.values()) {
                    int g = new int[]{8, 16, 24, 32}[r.nextInt(4)];
                    int dim = g * (1 + r.nextInt(3));
                    int tokens = 1 + r.nextInt(40);
                    QuantConfig config = new QuantConfig(bits, g, 2, 5, asym, format, 2, 1e-4f);
                    float[] x = Inputs.values(r.nextLong(), tokens, dim, g, asym ? config.asymmetricMax() : config.symmetricMax());
                    String what = config.toString();
                    int rowBytes = config.packedBytesPerRow(dim);
                    int scaleBytes = tokens * config.blocksPerRow(dim) * format.bytes();
                    byte[] pr = new byte[tokens * rowBytes + 3];
                    byte[] pg = new byte[tokens * rowBytes + 3];
                    byte[] sr = new byte[scaleBytes + 2];
                    byte[] sg = new byte[scaleBytes + 2];
                    byte[] zr = asym ? new byte[scaleBytes + 1] : null;
                    byte[] zg = asym ? new byte[scaleBytes + 1] : null;
                    REF.quantize(x, tokens, dim, config, pr, 3, sr, 2, zr, 1);
                    gpu.quantize(x, tokens, dim, config, pg, 3, sg, 2, zg, 1);
                    assertArrayEquals(pr, pg, "packed, " + what);
                    assertArrayEquals(sr, sg, "scales, " + what);
                    assertArrayEquals(zr, zg, "zeros, " + what);

                    KvTensor t = Inputs.tensor(r.nextLong(), 2, tokens, dim, g, asym ? config.asymmetricMax() : config.symmetricMax(), false);
                    int[][][] init = InitIndices.fromSeed(r.nextLong(), 2, 2, 5, tokens);
                    QuantizedSpan span;
                    try (CpuCodec ref = new CpuCodec(REF, 1)) {
                        span = ref.encode(t, config, init);
                    }
                    short[] dr = new short[tokens * dim + 1];
                    short[] dg = new short[tokens * dim + 1];
                    REF.dequantize(span, 1, dr, 1);
                    gpu.dequantize(span, 1, dg, 1);
                    assertBits(dr, dg, "dequantized, " + what);
                }
            }
        }
    }
}
