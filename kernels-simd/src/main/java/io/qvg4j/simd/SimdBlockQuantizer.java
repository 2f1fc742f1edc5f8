package io.qvg4j.simd;

import io.qvg4j.numeric.Rounding;
import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.algorithm.EndpointCalibration;
import io.qvg4j.quant.QuantConfig;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import java.util.Arrays;

/**
 * The block quantizer and packing on the Vector API (SPEC §6), the twin of
 * {@code algorithm.BlockQuantizer.quantize}: block maxima and minima do not depend on order; scales by the
 * scalar rule; codes per lane.
 */
abstract class SimdBlockQuantizer extends SimdSmoothing {

    /** A row length rounded up to whole vectors: row buffers are padded so no lane loop has a tail. */
    int paddedLength(int dim) {
        return (dim + lanes() - 1) / lanes() * lanes();
    }

    /**
     * Per token: block scales (and zero points) in block order by the scalar rule, stored through
     * {@link io.qvg4j.quant.ScaleFormat#store}; then the codes of the whole row at once, each lane with its
     * block's reciprocal (and zero point), and the row packed (SPEC §6.5).
     */
    @Override
    public void quantize(float[] residual, int tokens, int dim, QuantConfig config,
                             byte[] packed, int packedOffset, byte[] scales, int scaleOffset,
                             byte[] zeros, int zeroOffset) {
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int rowBytes = config.packedBytesPerRow(dim);
        int scaleBytes = config.scaleFormat().bytes();
        boolean asym = config.asymmetric();
        int width = paddedLength(dim);
        float[] row = new float[width];
        float[] reciprocal = new float[width];
        float[] zero = new float[width];
        int[] codes = new int[width];
        float[] lo = new float[1];
        // The usual case (symmetric, blocks of whole vectors): each block straight from the residual with
        // its reciprocal broadcast, no row copy and no per-channel reciprocal table.
        boolean wholeBlocks = !asym && g % lanes() == 0;
        for (int n = 0; n < tokens; n++) {
            if (wholeBlocks) {
                for (int j = 0; j < blocks; j++) {
                    int block = n * blocks + j;
                    float amax = absMax(residual, n * dim + j * g, g);
                    float scale = Math.max(Rounding.kernelDivide(amax, config.symmetricMax()), BlockQuantizer.MIN_SCALE);
                    float s = config.scaleFormat().store(scale, scales, scaleOffset + block * scaleBytes);
                    symmetricBlockCodes(residual, n * dim + j * g, g, 1.0f / s, config.symmetricMax(), codes, j * g);
                }
                BitPacking.pack(codes, 0, dim, config.bits(), packed, packedOffset + n * rowBytes);
                continue;
            }
            System.arraycopy(residual, n * dim, row, 0, dim);
            for (int j = 0; j < blocks; j++) {
                int block = n * blocks + j;
                float s;
                if (asym) {
                    float hi = minMax(row, j * g, g, lo);
                    float scale = Math.max(Rounding.kernelDivide(hi - lo[0], config.asymmetricMax()), BlockQuantizer.MIN_SCALE);
                    s = config.scaleFormat().store(scale, scales, scaleOffset + block * scaleBytes);
                    float z = config.scaleFormat().store(lo[0], zeros, zeroOffset + block * scaleBytes);
                    EndpointCalibration.store(s, z, config, scales, scaleOffset + block * scaleBytes, zeros, zeroOffset + block * scaleBytes);
                    Arrays.fill(zero, j * g, (j + 1) * g, z);
                } else {
                    float amax = absMax(row, j * g, g);
                    float scale = Math.max(Rounding.kernelDivide(amax, config.symmetricMax()), BlockQuantizer.MIN_SCALE);
                    s = config.scaleFormat().store(scale, scales, scaleOffset + block * scaleBytes);
                }
                Arrays.fill(reciprocal, j * g, (j + 1) * g, 1.0f / s);
            }
            if (asym) {
                asymmetricCodes(row, reciprocal, zero, width, config.asymmetricMax(), codes);
            } else {
                symmetricCodes(row, reciprocal, width, config.symmetricMax(), codes);
            }
            BitPacking.pack(codes, 0, dim, config.bits(), packed, packedOffset + n * rowBytes);
        }
    }

    /** max(+0, |x_i|) over a block; Math.max is order-free (NaN absorbs, +0 above −0), so lanes() may split it. */
    private float absMax(float[] row, int offset, int g) {
        float amax = 0f;
        int i = 0;
        if (g >= lanes()) {
            FloatVector acc = FloatVector.zero(fs());
            for (; i + lanes() <= g; i += lanes()) {
                acc = acc.max(FloatVector.fromArray(fs(), row, offset + i).abs());
            }
            amax = Math.max(amax, acc.reduceLanes(VectorOperators.MAX)); // Math.max's rule, order-free
        }
        for (; i < g; i++) {
            amax = Math.max(amax, Math.abs(row[offset + i]));
        }
        return amax;
    }

    /** Block max, and block min into {@code lo[0]}; Math.min/max are order-free, −0 below +0 (SPEC §2.6). */
    private float minMax(float[] row, int offset, int g, float[] lo) {
        float min = row[offset];
        float max = row[offset];
        int i = 0;
        if (g >= lanes()) {
            FloatVector mn = FloatVector.fromArray(fs(), row, offset);
            FloatVector mx = mn;
            for (i = lanes(); i + lanes() <= g; i += lanes()) {
                FloatVector v = FloatVector.fromArray(fs(), row, offset + i);
                mn = mn.min(v);
                mx = mx.max(v);
            }
            for (int j = 0; j < lanes(); j++) {
                min = Math.min(min, mn.lane(j));
                max = Math.max(max, mx.lane(j));
            }
        }
        for (; i < g; i++) {
            min = Math.min(min, row[offset + i]);
            max = Math.max(max, row[offset + i]);
        }
        lo[0] = min;
        return max;
    }

    /**
     * Round half away from zero of a ≥ 0 (SPEC §2.4) capped at 256 (every clamp bound is at most 255):
     * t = trunc(a), then +1 when a − t ≥ 0.5. a − t is exact, so this equals floor(a + 0.5) in double.
     * NaN lanes() give garbage here; callers blend them.
     */
    private IntVector roundHalfAwayNonNegative(FloatVector a) {
        FloatVector capped = a.min(256f);
        IntVector t = (IntVector) capped.convert(VectorOperators.F2I, 0);
        FloatVector frac = capped.sub((FloatVector) t.convert(VectorOperators.I2F, 0));
        return t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(is()));
    }

    /** Codes of a row whose channels carry their own block's reciprocal. */
    private void symmetricCodes(float[] row, float[] reciprocal, int width, int m, int[] codes) {
        for (int d = 0; d < width; d += lanes()) {
            FloatVector y = FloatVector.fromArray(fs(), row, d).mul(FloatVector.fromArray(fs(), reciprocal, d));
            symmetricCode(y, m).intoArray(codes, d);
        }
    }

    /** Codes of one block of whole vectors, {@code g} values at {@code offset}, with its reciprocal r. */
    private void symmetricBlockCodes(float[] x, int offset, int g, float r, int m, int[] codes, int codeOffset) {
        for (int i = 0; i < g; i += lanes()) {
            FloatVector y = FloatVector.fromArray(fs(), x, offset + i).mul(r);
            symmetricCode(y, m).intoArray(codes, codeOffset + i);
        }
    }

    /** SPEC §6.2: code = clamp(round half away(y), −m, m) + m for y = x·(1/s); NaN (0·∞ on an all-zero block) → q = +m (SPEC §2.5). */
    private IntVector symmetricCode(FloatVector y, int m) {
        IntVector q = roundHalfAwayNonNegative(y.abs()).min(m);
        q = q.neg().blend(q, y.compare(VectorOperators.LT, 0f).not().cast(is()));
        q = q.blend(m, y.test(VectorOperators.IS_NAN).cast(is()));
        return q.add(m);
    }

    /** SPEC §6.3: code = clamp(round half away((x − z)·(1/s)), 0, qmax), NaN → 0. */
    private void asymmetricCodes(float[] row, float[] reciprocal, float[] zero, int width, int qmax, int[] codes) {
        for (int d = 0; d < width; d += lanes()) {
            FloatVector y = FloatVector.fromArray(fs(), row, d).sub(FloatVector.fromArray(fs(), zero, d))
                    .mul(FloatVector.fromArray(fs(), reciprocal, d));
            // Negative y rounds to a value ≤ 0, clamped to 0: the same as rounding max(y, 0).
            IntVector q = roundHalfAwayNonNegative(y.max(0f)).min(qmax);
            q.blend(0, y.test(VectorOperators.IS_NAN).cast(is())).intoArray(codes, d);
        }
    }
}
