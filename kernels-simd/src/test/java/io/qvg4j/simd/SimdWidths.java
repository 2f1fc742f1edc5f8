package io.qvg4j.simd;

import io.qvg4j.codec.QvgKernels;
import io.qvg4j.testkit.Widths;
import jdk.incubator.vector.FloatVector;

import java.util.List;
import java.util.stream.Stream;

/**
 * The SIMD kernels at each width of {@link Widths#BITS}: the one place the tests map a width to a
 * Vector API species. Only called where jdk.incubator.vector is readable (call
 * {@code io.qvg4j.testkit.Require.simd()} first); also used by property-tests through this module's
 * test-jar. No signature here names a Vector API type, so JUnit can scan this class in a JVM without the
 * module (the scalar-fallback run) without failing test discovery.
 */
public final class SimdWidths {
    private SimdWidths() {}

    /** The kernels at one width of {@link Widths#BITS}. */
    public static QvgKernels kernels(int bits) {
        return SimdKernels.of(switch (bits) {
            case 128 -> FloatVector.SPECIES_128;
            case 256 -> FloatVector.SPECIES_256;
            case 512 -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("no " + bits + "-bit SIMD kernels; widths are " + Widths.BITS);
        });
    }

    /** The kernels at every width of {@link Widths#BITS}. */
    public static List<QvgKernels> all() {
        return Widths.BITS.stream().map(SimdWidths::kernels).toList();
    }

    /** The attention kernels at one width: 64 bits (their narrowest) or one of {@link Widths#BITS}. */
    public static SimdAttention attention(int bits) {
        return SimdAttention.of(switch (bits) {
            case 64 -> FloatVector.SPECIES_64;
            case 128 -> FloatVector.SPECIES_128;
            case 256 -> FloatVector.SPECIES_256;
            case 512 -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("no " + bits + "-bit attention kernels");
        });
    }

    /** The attention kernels at 64 bits and at every width of {@link Widths#BITS}. */
    public static List<SimdAttention> attention() {
        return Stream.concat(Stream.of(64), Widths.BITS.stream()).map(SimdWidths::attention).toList();
    }
}
