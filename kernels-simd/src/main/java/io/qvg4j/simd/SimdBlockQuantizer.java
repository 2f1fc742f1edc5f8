package io.qvg4j.simd;

import io.qvg4j.numeric.Rounding;
import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.algorithm.EndpointCalibration;
import io.qvg4j.quant.QuantConfig;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import java.util.Arrays;

/**
 * The block quantizer and packing on the Vector API (SPEC §6), the twin of
 * {@code algorithm.BlockQuantizer.quantize}: block maxima and minima do not depend on order; scales by the
 * scalar rule; codes per lane, packed on lanes where a vector of codes fills whole bytes.
 */
abstract class SimdBlockQuantizer extends SimdSmoothing {

    /** A row length rounded up to whole vectors: row buffers are padded so no lane loop has a tail. */
    int paddedLength(int dim) {
        return (dim + lanes() - 1) / lanes() * lanes();
    }

    /**
     * Blocks of whole vectors whose codes fill whole bytes: {@link #quantizeWholeBlocks}. Otherwise per
     * token: block scales (and zero points) in block order by the scalar rule, stored through
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
        if (g % lanes() == 0 && PackedLanes.fits(lanes(), config.bits())) {
            quantizeWholeBlocks(residual, tokens, dim, config, packed, packedOffset, scales, scaleOffset, zeros, zeroOffset);
            return;
        }
        int width = paddedLength(dim);
        float[] row = new float[width];
        float[] reciprocal = new float[width];
        float[] zero = new float[width];
        int[] codes = new int[width];
        float[] lo = new float[1];
        for (int n = 0; n < tokens; n++) {
            System.arraycopy(residual, n * dim, row, 0, dim);
            for (int j = 0; j < blocks; j++) {
                int block = n * blocks + j;
                float s = storeBlockScale(row, j * g, g, config, scales, scaleOffset + block * scaleBytes,
                        zeros, zeroOffset + block * scaleBytes, lo);
                if (asym) {
                    Arrays.fill(zero, j * g, (j + 1) * g, lo[0]);
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

    /**
     * Blocks of whole vectors whose codes fill whole bytes (the usual case): each block straight from the
     * residual, its scale (and zero point) by the scalar rule, its reciprocal broadcast, the codes rounded
     * in lanes and packed in lanes ({@link PackedLanes}: each lane's code shifted into its place in its
     * word, the word the OR of its lanes) straight into {@code packed}.
     */
    private void quantizeWholeBlocks(float[] residual, int tokens, int dim, QuantConfig config,
                                     byte[] packed, int packedOffset, byte[] scales, int scaleOffset,
                                     byte[] zeros, int zeroOffset) {
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int rowBytes = config.packedBytesPerRow(dim);
        int scaleBytes = config.scaleFormat().bytes();
        boolean asym = config.asymmetric();
        int m = config.symmetricMax();
        int qmax = config.asymmetricMax();
        PackedLanes layout = new PackedLanes(lanes(), config.bits());
        IntVector shifts = IntVector.fromArray(is(), layout.shifts(lanes()), 0);
        IntVector wordOfLane = IntVector.fromArray(is(), layout.wordOfLane(lanes()), 0);
        float[] lo = new float[1];
        // Scales first, a tile of rows at a time, then the tile's codes: the scalar chain of one block's
        // scale (max, division, FP8 rounding, reciprocal) then overlaps with the next blocks' instead of
        // stalling each block's codes; the tile (16 rows) stays in the L1 cache between the two passes.
        float[] reciprocal = new float[TILE_ROWS * blocks];
        float[] zero = new float[TILE_ROWS * blocks];
        for (int tile = 0; tile < tokens; tile += TILE_ROWS) {
            int rows = Math.min(TILE_ROWS, tokens - tile);
            for (int b = 0; b < rows * blocks; b++) {
                int block = tile * blocks + b;
                float s = storeBlockScale(residual, block * g, g, config, scales, scaleOffset + block * scaleBytes,
                        zeros, zeroOffset + block * scaleBytes, lo);
                reciprocal[b] = 1.0f / s;
                zero[b] = lo[0];
            }
            int at = packedOffset + tile * rowBytes;
            for (int b = 0; b < rows * blocks; b++) {
                int x0 = (tile * blocks + b) * g;
                float r = reciprocal[b];
                float z = zero[b];
                for (int i = 0; i < g; i += lanes(), at += layout.vectorBytes) {
                    FloatVector x = FloatVector.fromArray(fs(), residual, x0 + i);
                    IntVector code = asym ? asymmetricCode(x.sub(z).mul(r), qmax) : symmetricCode(x.mul(r), m);
                    IntVector placed = code.lanewise(VectorOperators.LSHL, shifts);
                    if (layout.words == 1) {
                        layout.write(placed.reduceLanes(VectorOperators.OR), packed, at);
                    } else {
                        for (int k = 0; k < layout.words; k++) {
                            layout.write(placed.reduceLanes(VectorOperators.OR, wordOfLane.compare(VectorOperators.EQ, k)),
                                    packed, at + k * layout.wordBytes);
                        }
                    }
                }
            }
        }
    }

    /** Rows whose scales {@link #quantizeWholeBlocks} computes before their codes. */
    private static final int TILE_ROWS = 16;

    /**
     * The scale of block {@code x[offset, offset+g)} by the scalar rule, stored at {@code scales[scaleAt…]}
     * (SPEC §6.2, §6.4); returns the value the codes divide by. When asymmetric (SPEC §6.3) the zero point
     * is stored too, calibrated with the scale (SPEC §16.2), and its value put in {@code zero[0]}.
     */
    private float storeBlockScale(float[] x, int offset, int g, QuantConfig config, byte[] scales, int scaleAt,
                                  byte[] zeros, int zeroAt, float[] zero) {
        if (!config.asymmetric()) {
            float scale = Math.max(Rounding.kernelDivide(absMax(x, offset, g), config.symmetricMax()), BlockQuantizer.MIN_SCALE);
            return config.scaleFormat().store(scale, scales, scaleAt);
        }
        float hi = minMax(x, offset, g, zero);
        float scale = Math.max(Rounding.kernelDivide(hi - zero[0], config.asymmetricMax()), BlockQuantizer.MIN_SCALE);
        float s = config.scaleFormat().store(scale, scales, scaleAt);
        zero[0] = config.scaleFormat().store(zero[0], zeros, zeroAt);
        EndpointCalibration.store(s, zero[0], config, scales, scaleAt, zeros, zeroAt);
        return s;
    }

    /**
     * max(+0, |x_i|) over a block, on the bit patterns of |x_i|: there int order is float order (+0 lowest)
     * and every NaN lies above +∞, so the int maximum is Math.max's result, a NaN's payload aside, which no
     * later step reads (a NaN scale codes every value alike, and both scale formats store one NaN). Order-free,
     * so the lanes may split it.
     */
    private float absMax(float[] row, int offset, int g) {
        int amax = 0;
        int i = 0;
        if (g >= lanes()) {
            IntVector acc = IntVector.zero(is());
            for (; i + lanes() <= g; i += lanes()) {
                acc = acc.max(FloatVector.fromArray(fs(), row, offset + i).reinterpretAsInts().and(0x7FFF_FFFF));
            }
            amax = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < g; i++) {
            amax = Math.max(amax, Float.floatToRawIntBits(row[offset + i]) & 0x7FFF_FFFF);
        }
        return Float.intBitsToFloat(amax);
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
     * min(round half away from zero (SPEC §2.4) of a ≥ 0, cap) for cap ≤ 255, with no conversion between
     * float and int: for a < 2^23, t = a + 2^23 is rounded to the integer nearest a (ties to even), which
     * t's bits hold above 0x4B000000; a − (t − 2^23) is exact and equals 0.5 exactly at the ties that went
     * to the even integer below, which get +1. Larger a, +∞ and NaN leave patterns above any cap.
     */
    private IntVector roundHalfAwayCapped(FloatVector a, int cap) {
        FloatVector t = a.add(0x1p23f);
        VectorMask<Integer> tieBelow = a.sub(t.sub(0x1p23f)).compare(VectorOperators.EQ, 0.5f).cast(is());
        return t.reinterpretAsInts().sub(0x4B00_0000).add(1, tieBelow).min(cap);
    }

    /** Codes of a row whose channels carry their own block's reciprocal. */
    private void symmetricCodes(float[] row, float[] reciprocal, int width, int m, int[] codes) {
        for (int d = 0; d < width; d += lanes()) {
            FloatVector y = FloatVector.fromArray(fs(), row, d).mul(FloatVector.fromArray(fs(), reciprocal, d));
            symmetricCode(y, m).intoArray(codes, d);
        }
    }

    /**
     * SPEC §6.2: code = clamp(round half away(y), −m, m) + m for y = x·(1/s). NaN (0·∞ on an all-zero block)
     * must give q = +m (SPEC §2.5): |NaN| rounds to the cap m, and NaN < 0 is false, so its sign stays.
     */
    private IntVector symmetricCode(FloatVector y, int m) {
        IntVector q = roundHalfAwayCapped(y.abs(), m);
        return q.blend(q.neg(), y.compare(VectorOperators.LT, 0f).cast(is())).add(m);
    }

    /** SPEC §6.3: code = clamp(round half away((x − z)·(1/s)), 0, qmax), NaN → 0. */
    private void asymmetricCodes(float[] row, float[] reciprocal, float[] zero, int width, int qmax, int[] codes) {
        for (int d = 0; d < width; d += lanes()) {
            FloatVector y = FloatVector.fromArray(fs(), row, d).sub(FloatVector.fromArray(fs(), zero, d))
                    .mul(FloatVector.fromArray(fs(), reciprocal, d));
            asymmetricCode(y, qmax).intoArray(codes, d);
        }
    }

    /** SPEC §6.3 for y = (x − z)·(1/s): negative y rounds to a value ≤ 0, clamped to 0, the same as rounding max(y, 0). */
    private IntVector asymmetricCode(FloatVector y, int qmax) {
        // max(y, +0) on the bits: every negative float (−0 included) has a negative int pattern.
        FloatVector a = y.reinterpretAsInts().max(0).reinterpretAsFloats();
        return roundHalfAwayCapped(a, qmax).blend(0, y.compare(VectorOperators.NE, y).cast(is()));
    }
}
