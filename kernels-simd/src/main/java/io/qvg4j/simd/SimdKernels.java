package io.qvg4j.simd;

import io.qvg4j.algorithm.Baselines;
import io.qvg4j.codec.QvgKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Rounding;
import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * {@link QvgKernels} on the Vector API ({@code jdk.incubator.vector}) with the reference's exact bits.
 * Lanes never run along a sum whose order the contract fixes: dot products put lanes across centroids
 * and walk d in order (one fused multiply-add per d, from +0), centroid sums put lanes across d and
 * walk tokens in order, and the block quantizer's reductions (max, min) do not depend on order. Both
 * baselines are vectorized too, lanes across the block (the NVFP4 E2M1 rounding by comparisons with the
 * interval ends, SPEC §9.2, §9.3); only the per-block scales and bit packing and unpacking stay scalar.
 */
public abstract sealed class SimdKernels implements QvgKernels permits SimdKernels.W128, SimdKernels.W256, SimdKernels.W512 {
    /** Token rows per assignment micro-kernel call; rows of a ragged tail repeat the last row. */
    private static final int ROWS = 4;

    /**
     * The species are compile-time constants of each width's subclass: the Vector API is only compiled
     * to vector instructions when C2 sees the species as a constant, which an instance field is not.
     * One JVM normally loads a single width, so these calls inline to constants.
     */
    abstract VectorSpecies<Float> fs();

    /** Ints with as many lanes as {@link #fs()}. */
    abstract VectorSpecies<Integer> is();

    /** Doubles of the same shape (half the lanes). */
    abstract VectorSpecies<Double> ds();

    /** Floats of half the shape, which widen into {@link #ds()}. */
    abstract VectorSpecies<Float> halfFs();

    /** Shorts with as many lanes as {@link #fs()}, for storing bf16 patterns. */
    abstract VectorSpecies<Short> ss();

    private int lanes() {
        return fs().length();
    }

    /**
     * The kernels at the platform's preferred width, or an {@link UnsupportedOperationException} whose
     * message says in one sentence why SIMD is of no use here.
     */
    public static SimdKernels create() {
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        if (preferred.length() < 4) {
            throw new UnsupportedOperationException("the preferred float vector has only " + preferred.length()
                    + " lanes (" + preferred.vectorBitSize() + " bits); at least 128 bits are needed");
        }
        return of(preferred);
    }

    /** Kernels at a given width: 128, 256 and 512 bits all give the same bits (wider shapes are emulated). */
    static SimdKernels of(VectorSpecies<Float> species) {
        return switch (species.vectorBitSize()) {
            case 128 -> new W128();
            case 256 -> new W256();
            case 512 -> new W512();
            default -> throw new IllegalArgumentException("species " + species + ": use 128, 256 or 512 bits");
        };
    }

    SimdKernels() {}

    private static final class W128 extends SimdKernels {
        @Override VectorSpecies<Float> fs() { return FloatVector.SPECIES_128; }
        @Override VectorSpecies<Integer> is() { return IntVector.SPECIES_128; }
        @Override VectorSpecies<Double> ds() { return DoubleVector.SPECIES_128; }
        @Override VectorSpecies<Float> halfFs() { return FloatVector.SPECIES_64; }
        @Override VectorSpecies<Short> ss() { return ShortVector.SPECIES_64; }
    }

    private static final class W256 extends SimdKernels {
        @Override VectorSpecies<Float> fs() { return FloatVector.SPECIES_256; }
        @Override VectorSpecies<Integer> is() { return IntVector.SPECIES_256; }
        @Override VectorSpecies<Double> ds() { return DoubleVector.SPECIES_256; }
        @Override VectorSpecies<Float> halfFs() { return FloatVector.SPECIES_128; }
        @Override VectorSpecies<Short> ss() { return ShortVector.SPECIES_128; }
    }

    private static final class W512 extends SimdKernels {
        @Override VectorSpecies<Float> fs() { return FloatVector.SPECIES_512; }
        @Override VectorSpecies<Integer> is() { return IntVector.SPECIES_512; }
        @Override VectorSpecies<Double> ds() { return DoubleVector.SPECIES_512; }
        @Override VectorSpecies<Float> halfFs() { return FloatVector.SPECIES_256; }
        @Override VectorSpecies<Short> ss() { return ShortVector.SPECIES_256; }
    }

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public String toString() {
        return "Vector API, " + fs().vectorBitSize() + "-bit float vectors";
    }

    // ---------------------------------------------------------------- k-means (SPEC §3.2, §3.3)

    /**
     * The centroid table {@code [kc, dim]} as column blocks of {@code 2·lanes()} centroids,
     * {@code [block][d][2·lanes()]}, padded with zero centroids: one block row is what the micro-kernel
     * loads per d, and a block (dim·2·lanes() floats) is read contiguously.
     */
    private float[] transpose(float[] centroids, int kc, int dim, int blocks) {
        int w = 2 * lanes();
        float[] ct = new float[blocks * dim * w];
        for (int k = 0; k < kc; k++) {
            int b = k / w;
            int j = k % w;
            for (int d = 0; d < dim; d++) {
                ct[(b * dim + d) * w + j] = centroids[k * dim + d];
            }
        }
        return ct;
    }

    private int blocks(int kc) {
        return (kc + 2 * lanes() - 1) / (2 * lanes());
    }

    @Override
    public void norms(float[] centroids, int kc, int dim, float[] norms) {
        int w = 2 * lanes();
        int blocks = blocks(kc);
        float[] ct = transpose(centroids, kc, dim, blocks);
        float[] out = new float[blocks * w];
        for (int b = 0; b < blocks; b++) {
            // Lanes across centroids; each lane sums its own c[k,d]² over d in order by FMA from +0.
            FloatVector a0 = FloatVector.zero(fs());
            FloatVector a1 = FloatVector.zero(fs());
            for (int d = 0; d < dim; d++) {
                int c = (b * dim + d) * w;
                FloatVector c0 = FloatVector.fromArray(fs(), ct, c);
                FloatVector c1 = FloatVector.fromArray(fs(), ct, c + lanes());
                a0 = c0.fma(c0, a0);
                a1 = c1.fma(c1, a1);
            }
            a0.intoArray(out, b * w);
            a1.intoArray(out, b * w + lanes());
        }
        System.arraycopy(out, 0, norms, 0, kc);
    }

    /**
     * GEMM-style assignment: the centroid table, transposed once per call into column blocks (it stays
     * in L2 for the whole token range), is swept by a register-blocked micro-kernel of 4 tokens × 2
     * vectors of centroids: per d, two vector loads, four broadcasts of x[n][d] and eight FMAs into
     * eight independent accumulators, so every (token, centroid) dot product is summed over d in order
     * from +0. Scores go to a small buffer and the argmin runs vectorised across centroids.
     */
    @Override
    public void assign(float[] x, int dim, int from, int to, float[] centroids, float[] norms, int kc, int[] ids) {
        if (from >= to) {
            return;
        }
        int w = 2 * lanes();
        int blocks = blocks(kc);
        int padded = blocks * w;
        float[] ct = transpose(centroids, kc, dim, blocks);
        // Padded centroids get a NaN norm, hence a NaN score, which never wins (SPEC §3.2).
        float[] nt = new float[padded];
        Arrays.fill(nt, kc, padded, Float.NaN);
        System.arraycopy(norms, 0, nt, 0, kc);
        float[] scores = new float[ROWS * padded];
        float[] bestLanes = new float[lanes()];
        int[] idLanes = new int[lanes()];
        for (int n = from; n < to; n += ROWS) {
            int last = to - 1;
            scoreRows(x, dim, Math.min(n, last) * dim, Math.min(n + 1, last) * dim, Math.min(n + 2, last) * dim,
                    Math.min(n + 3, last) * dim, ct, nt, blocks, scores, padded);
            for (int r = 0; r < ROWS && n + r < to; r++) {
                ids[n + r] = argmin(scores, r * padded, padded, bestLanes, idLanes);
            }
        }
    }

    /** Scores of four token rows (float offsets r0…r3 into x) against every centroid block. */
    private void scoreRows(float[] x, int dim, int r0, int r1, int r2, int r3, float[] ct, float[] nt,
                           int blocks, float[] scores, int stride) {
        int w = 2 * lanes();
        for (int b = 0; b < blocks; b++) {
            FloatVector a00 = FloatVector.zero(fs()), a01 = a00, a10 = a00, a11 = a00;
            FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            int base = b * dim * w;
            for (int d = 0; d < dim; d++) {
                int c = base + d * w;
                FloatVector c0 = FloatVector.fromArray(fs(), ct, c);
                FloatVector c1 = FloatVector.fromArray(fs(), ct, c + lanes());
                FloatVector x0 = FloatVector.broadcast(fs(), x[r0 + d]);
                a00 = c0.fma(x0, a00);
                a01 = c1.fma(x0, a01);
                FloatVector x1 = FloatVector.broadcast(fs(), x[r1 + d]);
                a10 = c0.fma(x1, a10);
                a11 = c1.fma(x1, a11);
                FloatVector x2 = FloatVector.broadcast(fs(), x[r2 + d]);
                a20 = c0.fma(x2, a20);
                a21 = c1.fma(x2, a21);
                FloatVector x3 = FloatVector.broadcast(fs(), x[r3 + d]);
                a30 = c0.fma(x3, a30);
                a31 = c1.fma(x3, a31);
            }
            // score = norms[k] − 2·dot: the doubling is exact, the subtraction one IEEE rounding.
            int k0 = b * w;
            FloatVector n0 = FloatVector.fromArray(fs(), nt, k0);
            FloatVector n1 = FloatVector.fromArray(fs(), nt, k0 + lanes());
            n0.sub(a00.mul(2f)).intoArray(scores, k0);
            n1.sub(a01.mul(2f)).intoArray(scores, k0 + lanes());
            n0.sub(a10.mul(2f)).intoArray(scores, stride + k0);
            n1.sub(a11.mul(2f)).intoArray(scores, stride + k0 + lanes());
            n0.sub(a20.mul(2f)).intoArray(scores, 2 * stride + k0);
            n1.sub(a21.mul(2f)).intoArray(scores, 2 * stride + k0 + lanes());
            n0.sub(a30.mul(2f)).intoArray(scores, 3 * stride + k0);
            n1.sub(a31.mul(2f)).intoArray(scores, 3 * stride + k0 + lanes());
        }
    }

    /**
     * The scalar argmin's answer (start +∞ with id 0, strictly smaller replaces): each lane keeps the
     * first minimum of the centroids it sees (k ≡ lane mod lanes(), in increasing k); across lanes() the
     * smallest value wins and, among equal values, the lowest k. NaN scores fail every comparison.
     */
    private int argmin(float[] scores, int offset, int count, float[] bestLanes, int[] idLanes) {
        FloatVector best = FloatVector.broadcast(fs(), Float.POSITIVE_INFINITY);
        IntVector id = IntVector.zero(is());
        IntVector k = IntVector.zero(is()).addIndex(1);
        for (int c = 0; c < count; c += lanes()) {
            FloatVector s = FloatVector.fromArray(fs(), scores, offset + c);
            VectorMask<Float> better = s.compare(VectorOperators.LT, best);
            best = best.blend(s, better);
            id = id.blend(k, better.cast(is()));
            k = k.add(lanes());
        }
        best.intoArray(bestLanes, 0);
        id.intoArray(idLanes, 0);
        float bestScore = Float.POSITIVE_INFINITY;
        int bestK = 0;
        for (int j = 0; j < lanes(); j++) {
            if (bestLanes[j] < bestScore || bestLanes[j] == bestScore && idLanes[j] < bestK) {
                bestScore = bestLanes[j];
                bestK = idLanes[j];
            }
        }
        return bestK;
    }

    /**
     * Centroid update (SPEC §3.3): lanes() across d, each lane a double sum over the cluster's tokens in
     * ascending order (the same additions as the scalar loop), then float, IEEE division, bf16.
     */
    @Override
    public void update(float[] x, int tokens, int dim, int[] ids, float[] centroids, int kc,
                                float[] newCentroids, int[] counts) {
        int dl = ds().length();
        int vectorDim = dim - dim % dl;
        double[] sums = new double[kc * dim];
        Arrays.fill(counts, 0, kc, 0);
        for (int n = 0; n < tokens; n++) {
            int k = ids[n];
            counts[k]++;
            int s = k * dim;
            int r = n * dim;
            int d = 0;
            for (; d < vectorDim; d += dl) {
                DoubleVector v = (DoubleVector) FloatVector.fromArray(halfFs(), x, r + d).convertShape(VectorOperators.F2D, ds(), 0);
                DoubleVector.fromArray(ds(), sums, s + d).add(v).intoArray(sums, s + d);
            }
            for (; d < dim; d++) {
                sums[s + d] += x[r + d];
            }
        }
        for (int k = 0; k < kc; k++) {
            int base = k * dim;
            if (counts[k] == 0) {
                System.arraycopy(centroids, base, newCentroids, base, dim);
                continue;
            }
            float count = counts[k];
            int d = 0;
            for (; d < vectorDim; d += dl) {
                FloatVector mean = ((FloatVector) DoubleVector.fromArray(ds(), sums, base + d)
                        .convertShape(VectorOperators.D2F, halfFs(), 0)).div(count);
                roundedToBf16Bits(mean).reinterpretAsFloats().intoArray(newCentroids, base + d);
            }
            for (; d < dim; d++) {
                newCentroids[base + d] = Bf16.round((float) sums[base + d] / count);
            }
        }
    }

    /**
     * Per lane, the fp32 bit pattern of the value rounded to bf16 (SPEC §2.1), not the 16-bit pattern:
     * the low 16 bits cleared after adding 0x7FFF plus the kept LSB (ties to even); every NaN becomes the
     * canonical 0x7FC0.
     */
    static IntVector roundedToBf16Bits(FloatVector v) {
        IntVector bits = v.reinterpretAsInts();
        IntVector rounded = bits.add(bits.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7FFF).and(0xFFFF_0000);
        VectorMask<Integer> nan = bits.and(0x7FFF_FFFF).compare(VectorOperators.GT, 0x7F80_0000);
        return rounded.blend(0x7FC0_0000, nan);
    }

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

    // ---------------------------------------------------------------- block quantizer (SPEC §6)

    /** A row length rounded up to whole vectors: row buffers are padded so no lane loop has a tail. */
    private int paddedLength(int dim) {
        return (dim + lanes() - 1) / lanes() * lanes();
    }

    /**
     * Per token: block scales (and zero points) in block order by the scalar rule, stored through
     * {@link BlockQuantizer#storeScale}; then the codes of the whole row at once, each lane with its
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
        for (int n = 0; n < tokens; n++) {
            System.arraycopy(residual, n * dim, row, 0, dim);
            for (int j = 0; j < blocks; j++) {
                int block = n * blocks + j;
                float s;
                if (asym) {
                    float hi = minMax(row, j * g, g, lo);
                    float scale = Math.max(Rounding.kernelDivide(hi - lo[0], config.asymmetricMax()), BlockQuantizer.MIN_SCALE);
                    s = config.scaleFormat().store(scale, scales, scaleOffset + block * scaleBytes);
                    float z = config.scaleFormat().store(lo[0], zeros, zeroOffset + block * scaleBytes);
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
            for (int j = 0; j < lanes(); j++) {
                amax = Math.max(amax, acc.lane(j));
            }
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

    /** SPEC §6.2: code = clamp(round half away(x·(1/s)), −m, m) + m; NaN (0·∞ on an all-zero block) → q = +m (SPEC §2.5). */
    private void symmetricCodes(float[] row, float[] reciprocal, int width, int m, int[] codes) {
        for (int d = 0; d < width; d += lanes()) {
            FloatVector y = FloatVector.fromArray(fs(), row, d).mul(FloatVector.fromArray(fs(), reciprocal, d));
            IntVector q = roundHalfAwayNonNegative(y.abs()).min(m);
            q = q.neg().blend(q, y.compare(VectorOperators.LT, 0f).not().cast(is()));
            q = q.blend(m, y.test(VectorOperators.IS_NAN).cast(is()));
            q.add(m).intoArray(codes, d);
        }
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

    // ---------------------------------------------------------------- dequantization (SPEC §7)

    /**
     * Per token: unpack the row, expand its block scales (and zero points) to one per channel, then per
     * lane the dequantized residual ((code − m)·s, or code·s + z: two roundings, never fused) plus each
     * stage's centroid in stage order, rounded once to bf16.
     */
    @Override
    public void dequantize(QuantizedSpan span, int bh, short[] out, int outOffset) {
        QuantConfig config = span.config();
        int dim = span.dim();
        int tokens = span.tokens();
        int g = config.groupSize();
        int blocks = config.blocksPerRow(dim);
        int stages = config.stages();
        boolean asym = config.asymmetric();
        int width = paddedLength(dim);
        int kc = config.centroids();
        // Centroid tables widened once per head, each padded by a vector so the last row needs no tail.
        float[][] tables = new float[stages][];
        for (int t = 0; t < stages; t++) {
            tables[t] = Arrays.copyOf(span.centroidsAsFloats(t, bh), kc * dim + lanes());
        }
        int[] codes = new int[width];
        float[] scale = new float[width];
        float[] zero = new float[width];
        short[] bf16 = new short[width];
        IntVector offset = IntVector.broadcast(is(), asym ? 0 : config.symmetricMax());
        int[] centroidRow = new int[stages];
        for (int n = 0; n < tokens; n++) {
            int row = bh * tokens + n;
            BitPacking.unpack(span.packed(), row * config.packedBytesPerRow(dim), dim, config.bits(), codes, 0);
            for (int j = 0; j < blocks; j++) {
                int block = row * blocks + j;
                Arrays.fill(scale, j * g, (j + 1) * g, span.scale(block));
                if (asym) {
                    Arrays.fill(zero, j * g, (j + 1) * g, span.zero(block));
                }
            }
            for (int t = 0; t < stages; t++) {
                centroidRow[t] = span.clusterId(t, row) * dim;
            }
            for (int d = 0; d < width; d += lanes()) {
                FloatVector q = (FloatVector) IntVector.fromArray(is(), codes, d).sub(offset).convert(VectorOperators.I2F, 0);
                FloatVector acc = q.mul(FloatVector.fromArray(fs(), scale, d));
                if (asym) {
                    acc = acc.add(FloatVector.fromArray(fs(), zero, d));
                }
                for (int t = 0; t < stages; t++) {
                    acc = acc.add(FloatVector.fromArray(fs(), tables[t], centroidRow[t] + d));
                }
                ((ShortVector) roundedToBf16Bits(acc).lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, ss(), 0))
                        .intoArray(bf16, d);
            }
            System.arraycopy(bf16, 0, out, outOffset + n * dim, dim);
        }
    }

    // ---------------------------------------------------------------- baselines (SPEC §9)

    /**
     * {@code naive-int<bits>} (SPEC §9.1): the block scale by the reference rule
     * ({@link Baselines#blockScale}), then per lane y = bf16(x / s) (IEEE division), q = clamp(rint(y),
     * −m, m), out = bf16(q·s). Partial vectors (G not a multiple of the lane count) use masks.
     */
    @Override
    public void rtn(short[] in, short[] out, int from, int to, int groupSize, int bits) {
        int m = (1 << (bits - 1)) - 1;
        for (int b = from; b < to; b += groupSize) {
            FloatVector s = FloatVector.broadcast(fs(), Baselines.blockScale(in, b, groupSize, m));
            for (int i = 0; i < groupSize; i += lanes()) {
                VectorMask<Float> live = fs().indexInRange(i, groupSize);
                ShortVector x = ShortVector.fromArray(ss(), in, b + i, live.cast(ss()));
                FloatVector y = roundedToBf16Bits(widen(x).div(s)).reinterpretAsFloats();
                FloatVector q = clamp(rint(y), m);
                narrow(roundedToBf16Bits(q.mul(s))).intoArray(out, b + i, live.cast(ss()));
            }
        }
    }

    /** bf16 patterns to the floats they denote: sign-extended to int, shifted into the top half. */
    private FloatVector widen(ShortVector bf16) {
        return ((IntVector) bf16.convertShape(VectorOperators.S2I, is(), 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /** The bf16 patterns of float bits already rounded by {@link #roundedToBf16Bits}. */
    private ShortVector narrow(IntVector roundedBits) {
        return (ShortVector) roundedBits.lanewise(VectorOperators.LSHR, 16).convertShape(VectorOperators.I2S, ss(), 0);
    }

    /**
     * {@link Math#rint} (half to even) for |y| < 2^23 by adding and subtracting 2^23 in the default
     * rounding mode, sign restored (so −0.3 → −0); larger magnitudes are already integers, NaN passes.
     */
    private static FloatVector rint(FloatVector y) {
        FloatVector a = y.abs();
        FloatVector r = a.add(0x1p23f).sub(0x1p23f);
        VectorMask<Float> small = a.compare(VectorOperators.LT, 0x1p23f);
        return a.blend(r, small).reinterpretAsInts().or(y.reinterpretAsInts().and(0x8000_0000)).reinterpretAsFloats();
    }

    /** max(−m, min(m, q)) as the reference writes it: −0 stays −0, NaN stays the same NaN. */
    private static FloatVector clamp(FloatVector q, int m) {
        FloatVector hi = q.broadcast(m);
        FloatVector lo = q.broadcast(-m);
        return q.blend(hi, q.compare(VectorOperators.GT, hi)).blend(lo, q.compare(VectorOperators.LT, lo));
    }

    /**
     * {@code naive-fp4}, NVFP4 (SPEC §9.2): the block scale by the reference rule with divisor 6, then per
     * lane y = bf16(x / s), q = the E2M1 value of y with ties away from zero, out = bf16(q·s).
     */
    @Override
    public void nvfp4(short[] in, short[] out, int from, int to, int groupSize) {
        for (int b = from; b < to; b += groupSize) {
            FloatVector s = FloatVector.broadcast(fs(), Baselines.blockScale(in, b, groupSize, 6f));
            for (int i = 0; i < groupSize; i += lanes()) {
                VectorMask<Float> live = fs().indexInRange(i, groupSize);
                ShortVector x = ShortVector.fromArray(ss(), in, b + i, live.cast(ss()));
                FloatVector y = roundedToBf16Bits(widen(x).div(s)).reinterpretAsFloats();
                narrow(roundedToBf16Bits(e2m1(y).mul(s))).intoArray(out, b + i, live.cast(ss()));
            }
        }
    }

    /** Lower ends of the E2M1 rounding intervals (ties away from zero) and the value each one gives. */
    private static final float[] E2M1_FROM = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5f};
    private static final float[] E2M1_VALUE = {0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f};

    /**
     * {@link io.qvg4j.numeric.E2M1#roundRna} per lane: the grid value whose interval holds |y| (the
     * floatExMy rounding with e ∈ [0, 2] and one mantissa bit splits at these midpoints, ties going
     * up, and everything from 5 on, infinity included, clamps to 6), with the sign of y, −0 kept.
     */
    private static FloatVector e2m1(FloatVector y) {
        FloatVector a = y.abs();
        FloatVector r = y.broadcast(0f);
        for (int k = 0; k < E2M1_FROM.length; k++) {
            r = r.blend(E2M1_VALUE[k], a.compare(VectorOperators.GE, E2M1_FROM[k]));
        }
        return r.reinterpretAsInts().or(y.reinterpretAsInts().and(0x8000_0000)).reinterpretAsFloats();
    }
}
