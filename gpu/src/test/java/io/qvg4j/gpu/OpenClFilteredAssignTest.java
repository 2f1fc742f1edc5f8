package io.qvg4j.gpu;

import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The filtered assignment (filter.cl) against the reference's ids, on data where the bound settles most
 * tokens, on near-ties built to sit inside the bound, on values that force the full scan (not bf16,
 * infinite, NaN, near the overflow limit) and on shapes at the kernel's limits. Each case also checks which
 * path ran, through the kernel's counters, so that a filter that always fell back could not pass. Where
 * the device has tensor cores the products are theirs; elsewhere (PoCL in CI) each work-item sums them.
 */
@ExtendWith(Seeds.OnFailure.class)
class OpenClFilteredAssignTest {
    private static final long SEED = Seeds.seed();
    private static OpenClKernels gpu;

    @BeforeAll
    static void open() {
        Require.openCl(OpenCl.available());
        gpu = new OpenClKernels(Integer.getInteger("qvg4j.device", 0), DeviceKernels.Assignment.FILTERED);
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
    }

    /** Assigns with both, compares the ids, returns the filter's counters (full scans, candidates). */
    private static long[] check(float[] x, int tokens, int dim, float[] c, int kc, String what) {
        float[] norms = new float[kc];
        ScalarKernels.INSTANCE.norms(c, kc, dim, norms);
        int[] expected = new int[tokens];
        int[] actual = new int[tokens];
        ScalarKernels.INSTANCE.assign(x, dim, 0, tokens, c, norms, kc, expected);
        gpu.takeFilterStats();
        gpu.assign(x, dim, 0, tokens, c, norms, kc, actual);
        assertArrayEquals(expected, actual, what);
        return gpu.takeFilterStats();
    }

    private static float bf16(double v) {
        return Bf16.round((float) v);
    }

    /** Tokens scattered around kc centres (bf16), the centroids the centres themselves or seeded tokens. */
    private static float[][] clustered(Random r, int tokens, int dim, int kc, double spread) {
        float[] centres = new float[kc * dim];
        for (int i = 0; i < centres.length; i++) {
            centres[i] = bf16(r.nextGaussian() + (i % 16 == 5 ? 8 : 0));
        }
        float[] x = new float[tokens * dim];
        for (int n = 0; n < tokens; n++) {
            int k = r.nextInt(kc);
            for (int d = 0; d < dim; d++) {
                x[n * dim + d] = bf16(centres[k * dim + d] + spread * r.nextGaussian());
            }
        }
        float[] c = new float[kc * dim];
        for (int k = 0; k < kc; k++) {
            System.arraycopy(x, r.nextInt(tokens) * dim, c, k * dim, dim);
        }
        return new float[][]{x, c};
    }

    @Test
    void clusteredDataIsSettledByTheFilter() {
        Random r = new Random(SEED);
        int[][] shapes = {{700, 128, 256}, {333, 64, 100}, {257, 120, 37}, {90, 128, 256}, {64, 20, 9}, {150, 17, 200}};
        for (int[] s : shapes) {
            int tokens = s[0], dim = s[1], kc = s[2];
            float[][] xc = clustered(r, tokens, dim, kc, 0.3);
            long[] stats = check(xc[0], tokens, dim, xc[1], kc, "clustered " + tokens + "x" + dim + ", kc " + kc);
            assertEquals("assign_filtered", gpu.assignKernel(dim, kc));
            // The counters show the filter at work: most tokens took the candidate path.
            assertTrue(stats[0] < tokens / 4, "full scans " + stats[0] + " of " + tokens);
            assertTrue(stats[1] >= tokens - stats[0], "candidates " + stats[1]);
        }
    }

    @Test
    void nearTiesInsideTheBoundAreScoredExactly() {
        Random r = new Random(SEED + 1);
        int dim = 128;
        for (int trial = 0; trial < 4; trial++) {
            // Centroids that differ from one base row by one bf16 step in one channel: their scores for a token
            // near the base lie closer together than the bound, so each token gets several candidates (a few
            // trials) or more than the kernel keeps (the full scan), and fp32 rounding decides the ids.
            int kc = trial < 2 ? 4 + trial * 3 : 64 + 64 * trial;
            float[] base = new float[dim];
            for (int d = 0; d < dim; d++) {
                base[d] = bf16(r.nextGaussian() * 4);
            }
            float[] c = new float[kc * dim];
            for (int k = 0; k < kc; k++) {
                System.arraycopy(base, 0, c, k * dim, dim);
                int d = r.nextInt(dim);
                float v = base[d];
                c[k * dim + d] = v == 0 || k % 3 == 0 ? v : k % 3 == 1 ? bf16Up(v) : bf16Down(v);
            }
            int tokens = 300;
            float[] x = new float[tokens * dim];
            for (int n = 0; n < tokens; n++) {
                for (int d = 0; d < dim; d++) {
                    x[n * dim + d] = n % 5 == 0 ? base[d] : bf16(base[d] + 0.01 * r.nextGaussian());
                }
            }
            long[] stats = check(x, tokens, dim, c, kc, "near ties, trial " + trial);
            // Every token the full scan did not take had at least two candidates; few centroids stay candidates
            // (at most the kernel's 8), many send every token to the full scan.
            assertTrue(stats[1] >= 2 * (tokens - stats[0]), "candidates " + stats[1] + ", full scans " + stats[0]);
            assertEquals(kc <= 8 ? 0 : tokens, stats[0], "full scans");
        }
    }

    /** The next bf16 value above (below) the nonzero bf16 value v. */
    private static float bf16Up(float v) {
        return Float.intBitsToFloat(Float.floatToRawIntBits(v) + (v > 0 ? 0x10000 : -0x10000));
    }

    private static float bf16Down(float v) {
        return Float.intBitsToFloat(Float.floatToRawIntBits(v) + (v > 0 ? -0x10000 : 0x10000));
    }

    @Test
    void valuesOutsideTheBoundTakeTheFullScan() {
        Random r = new Random(SEED + 2);
        int tokens = 200, dim = 48, kc = 40;
        float[][] xc = clustered(r, tokens, dim, kc, 0.3);
        // Not bf16: the products would not be exact, so every token of those tiles is scanned in full.
        float[] x = xc[0].clone();
        x[7 * dim + 3] = Math.nextUp(x[7 * dim + 3]);
        long[] stats = check(x, tokens, dim, xc[1], kc, "a value that is not bf16");
        assertTrue(stats[0] >= 16, "full scans " + stats[0]);
        // Infinite and NaN values, and values whose products approach the float range.
        for (float v : new float[]{Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0x1p60f, -0x1p100f}) {
            float[] xv = xc[0].clone();
            float[] cv = xc[1].clone();
            xv[3 * dim + 5] = v;
            cv[2 * dim + 1] = v;
            check(xv, tokens, dim, cv, kc, "value " + v);
        }
        // Subnormal and tiny values: the tensor cores may flush them; the bound's absolute term covers that.
        float[] tiny = new float[tokens * dim];
        float[] ct = new float[kc * dim];
        for (int i = 0; i < tiny.length; i++) {
            tiny[i] = bf16(r.nextGaussian() * 0x1p-128);
        }
        for (int i = 0; i < ct.length; i++) {
            ct[i] = bf16(r.nextGaussian() * 0x1p-60);
        }
        check(tiny, tokens, dim, ct, kc, "subnormal tokens");
    }

    @Test
    void theEdgeInputsOfTheKernelTests() {
        Random r = new Random(SEED + 3);
        for (int trial = 0; trial < 6; trial++) {
            int dim = 4 + r.nextInt(DeviceKernels.FILTER_MAX_DIM - 3);
            int kc = 1 + r.nextInt(256);
            int tokens = 1 + r.nextInt(400);
            float[] x = Inputs.values(r.nextLong(), tokens, dim, 1 + r.nextInt(16), 1);
            float[] c = new float[kc * dim];
            for (int k = 0; k < kc; k++) {
                // Duplicate centroids make exact ties, which the lowest index must win.
                System.arraycopy(x, r.nextInt(tokens) * dim, c, k * dim, dim);
            }
            check(x, tokens, dim, c, kc, "edge inputs, trial " + trial + " (" + tokens + "x" + dim + ", kc " + kc + ")");
        }
    }

    @Test
    void beyondItsLimitsThePlainKernelRuns() {
        assertEquals("assign", gpu.assignKernel(DeviceKernels.FILTER_MAX_DIM + 1, 16));
        Random r = new Random(SEED + 4);
        int tokens = 100, dim = DeviceKernels.FILTER_MAX_DIM + 8, kc = 30;
        float[][] xc = clustered(r, tokens, dim, kc, 0.3);
        long[] stats = check(xc[0], tokens, dim, xc[1], kc, "dim " + dim);
        assertArrayEquals(new long[]{0, 0}, stats);
    }
}
