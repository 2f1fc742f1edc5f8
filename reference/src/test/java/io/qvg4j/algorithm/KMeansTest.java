package io.qvg4j.algorithm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The iteration control, tie and empty-cluster rules of the k-means (SPEC §3). */
class KMeansTest {

    private static KMeans.Result run(float[][] x, int dim, int kc, int maxIters, float tol, int[][] init) {
        return KMeans.cluster(x, x[0].length / dim, dim, kc, maxIters, tol, init);
    }

    /** Points on a line, 1-D. */
    private static float[][] line(float... v) {
        return new float[][]{v};
    }

    @Test
    void oneIterationReturnsFirstIdsWithUpdatedCentroids() {
        KMeans.Result r = run(line(0f, 1f, 10f, 11f), 1, 2, 1, 1e-4f, new int[][]{{0, 1}});
        assertArrayEquals(new int[]{0, 1, 1, 1}, r.ids()[0]);
        assertArrayEquals(new float[]{0f, 7.34375f}, r.centroids()[0], "22f/3f = 7.3333335 → bf16 7.34375");
        assertEquals(1, r.iterations());
    }

    @Test
    void breakReturnsTheCentroidsTheIdsWereAssignedTo() {
        // Iteration 0 → ids {0,0,1,1}, means {0.5, 10.5}; iteration 1 → same ids: break, return C1.
        KMeans.Result r = run(line(0f, 1f, 10f, 11f), 1, 2, 10, 1e-4f, new int[][]{{0, 2}});
        assertArrayEquals(new int[]{0, 0, 1, 1}, r.ids()[0]);
        assertArrayEquals(new float[]{0.5f, 10.5f}, r.centroids()[0]);
        assertEquals(2, r.iterations());
    }

    @Test
    void exhaustionReturnsTheLastIdsWithTheirMeans() {
        // Two iterations, tolerance 0 never met: ids1 = ids0 and the returned centroids are the means of ids1.
        KMeans.Result r = run(line(0f, 1f, 10f, 11f), 1, 2, 2, 0f, new int[][]{{0, 2}});
        assertArrayEquals(new int[]{0, 0, 1, 1}, r.ids()[0]);
        assertArrayEquals(new float[]{0.5f, 10.5f}, r.centroids()[0]);
        assertEquals(2, r.iterations());
    }

    /*
     * Points {0, 2, 10}, centroids from tokens {0, 1} = {0, 2}: ids0 = {0, 1, 1}; C1 = {0, 6}; ids1 = {0, 0, 1}
     * (one change in three tokens); C2 = {1, 10}; ids2 = ids1. The rate of iteration 1 is
     * f32(1) · f32(1/f32(3)) = 0.33333334f exactly.
     */
    private static final float[][] THREE = line(0f, 2f, 10f);
    private static final int[][] FROM_01 = {{0, 1}};
    private static final float THIRD = 1.0f / 3.0f;

    @Test
    void rateEqualToTheToleranceDoesNotStop() {
        // Strict <: 0.33333334f is not below itself, so iteration 2 runs and then stops (no change) with C2.
        // A <= test, or the rate taken in double (1/3 < 0.33333334f), would stop at iteration 1 with C1.
        KMeans.Result r = run(THREE, 1, 2, 10, THIRD, FROM_01);
        assertEquals(3, r.iterations());
        assertArrayEquals(new int[]{0, 0, 1}, r.ids()[0]);
        assertArrayEquals(new float[]{1f, 10f}, r.centroids()[0]);
    }

    @Test
    void rateBelowTheToleranceStopsWithTheCentroidsTheIdsWereAssignedTo() {
        KMeans.Result r = run(THREE, 1, 2, 10, Math.nextUp(THIRD), FROM_01);
        assertEquals(2, r.iterations());
        assertArrayEquals(new int[]{0, 0, 1}, r.ids()[0]);
        assertArrayEquals(new float[]{0f, 6f}, r.centroids()[0], "the break returns C1, not the means of ids1");
    }

    @Test
    void exhaustionReturnsTheMeansOfTheLastIds() {
        // Two iterations, the test never met: the result is ids1 with C2 (the means of ids1), not C1.
        KMeans.Result r = run(THREE, 1, 2, 2, 0f, FROM_01);
        assertEquals(2, r.iterations());
        assertArrayEquals(new int[]{0, 0, 1}, r.ids()[0]);
        assertArrayEquals(new float[]{1f, 10f}, r.centroids()[0]);
    }

    @Test
    void duplicateCentroidsNeverWinATieAndEmptyClustersStay() {
        // Centroids 1 and 2 start on the same token; 2 never wins the tie, gets no points and keeps its value.
        KMeans.Result r = run(line(0f, 5f, 5f, 9f), 1, 3, 1, 0f, new int[][]{{0, 1, 1}});
        for (int id : r.ids()[0]) {
            assertEquals(true, id != 2, "a duplicate centroid must never win");
        }
        assertEquals(5f, r.centroids()[0][2]);
    }

    @Test
    void convergenceIsPooledOverHeads() {
        // Head 0 is stable. Head 1: C0 = {0, 2}, ids0 = {0,1,1,1}, C1 = {0, 5}, ids1 = {0,0,1,1}: one change in
        // eight tokens. Pooled, 1/8 < 0.2 stops both heads; head 1 alone (1/4) would not have stopped.
        float[][] x = {{0f, 1f, 10f, 11f}, {0f, 2f, 3f, 10f}};
        KMeans.Result r = run(x, 1, 2, 3, 0.2f, new int[][]{{0, 2}, {0, 1}});
        assertEquals(2, r.iterations());
        assertArrayEquals(new int[]{0, 0, 1, 1}, r.ids()[1]);
        KMeans.Result strict = run(x, 1, 2, 3, 0.1f, new int[][]{{0, 2}, {0, 1}});
        assertEquals(3, strict.iterations(), "1/8 is not below 0.1: the pooled rate keeps iterating");
    }

    @Test
    void splitMix64MatchesTheReferenceSequence() {
        SplitMix64 rng = new SplitMix64(0);
        assertEquals(0xE220A8397B1DCDAFL, rng.next());
        assertEquals(0x6E789E6AA1B965F4L, rng.next());
        assertEquals(0x06C45D188009454FL, rng.next());
        int[][][] init = InitIndices.fromSeed(0, 2, 3, 4, 1000);
        SplitMix64 again = new SplitMix64(0);
        for (int t = 0; t < 2; t++) {
            for (int bh = 0; bh < 3; bh++) {
                for (int k = 0; k < 4; k++) {
                    assertEquals(Long.remainderUnsigned(again.next(), 1000), init[t][bh][k], "stage, head, then k");
                }
            }
        }
    }
}
