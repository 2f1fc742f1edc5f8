package io.qvg4j.simd;

import io.qvg4j.numeric.Bf16;
import jdk.incubator.vector.FloatVector;

/** Smoothing on the Vector API (SPEC §4), the twin of {@code algorithm.Smoothing.subtract}. */
abstract class SimdSmoothing extends SimdKMeans {
    /** Smoothing (SPEC §4), lanes() across d: bf16(x − c). The tail of a row is done by the scalar rule. */
    @Override
    public void subtract(float[] x, int tokens, int dim, int[] ids, float[] centroids, float[] residual) {
        int vectorDim = dim - dim % lanes();
        for (int n = 0; n < tokens; n++) {
            int c = ids[n] * dim;
            int r = n * dim;
            int d = 0;
            for (; d < vectorDim; d += lanes()) {
                FloatVector diff = FloatVector.fromArray(fs(), x, r + d).sub(FloatVector.fromArray(fs(), centroids, c + d));
                roundedToBf16Bits(diff).reinterpretAsFloats().intoArray(residual, r + d);
            }
            for (; d < dim; d++) {
                residual[r + d] = Bf16.round(x[r + d] - centroids[c + d]);
            }
        }
    }
}
