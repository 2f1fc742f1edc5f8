package io.qvg4j.simd;

import io.qvg4j.codec.QvgKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The root of the Vector API kernels: the species of one width. The kernels of each paper step are one
 * class each, stacked on this one ({@link SimdKMeans}, {@link SimdSmoothing}, {@link SimdBlockQuantizer},
 * {@link SimdDequantization}, {@link SimdBaselines}), and {@link SimdKernels} ends the chain with one final
 * class per width whose species are {@code static final} constants: the Vector API compiles to machine
 * vectors only where C2 sees the species as a constant, which an instance field is not. A chain, not
 * separate objects, so that every step's loops see the constant species of the one width object.
 */
abstract class SimdWidth implements QvgKernels {

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

    /** Floats per vector. */
    int lanes() {
        return fs().length();
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

    /**
     * The bf16 patterns (SPEC §2.1) of full-width lanes, narrowed to shorts: the rounding of
     * {@link #roundedToBf16Bits} with the high half shifted down instead of the low half cleared, NaN
     * lanes found by {@code v ≠ v}. Full width only (see docs/simd.md: one shape per shared helper).
     */
    final ShortVector bf16(FloatVector v) {
        IntVector bits = v.reinterpretAsInts();
        IntVector pattern = bits.add(bits.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
        return (ShortVector) pattern.blend(0x7FC0, v.compare(VectorOperators.NE, v).cast(is()))
                .convertShape(VectorOperators.I2S, ss(), 0);
    }
}
