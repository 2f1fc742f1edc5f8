package io.qvg4j.simd;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link QvgKernels} on the Vector API ({@code jdk.incubator.vector}) with the reference's exact bits.
 * Lanes never run along a sum whose order the contract fixes: dot products put lanes across centroids
 * and walk d in order (one fused multiply-add per d, from +0), centroid sums put lanes across d and
 * walk tokens in order, and the block quantizer's reductions (max, min) do not depend on order. Both
 * baselines are vectorized too, lanes across the block (the NVFP4 E2M1 rounding by comparisons with the
 * interval ends, SPEC §9.2, §9.3). The per-block scale rule stays scalar; codes are packed and unpacked
 * on lanes where a vector of codes fills whole bytes ({@link PackedLanes}), else by the scalar packing.
 * <p>The kernels are split by paper step into the chain of classes that starts at {@link SimdWidth};
 * this class ends it, with one final subclass per width.
 */
public abstract sealed class SimdKernels extends SimdBaselines permits SimdKernels.W128, SimdKernels.W256, SimdKernels.W512 {

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
}
