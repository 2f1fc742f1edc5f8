package io.qvg4j.testkit;

import java.util.List;

/**
 * The vector widths in bits every SIMD kernel is tested at; each gives the reference's bytes. Where a
 * width is wider than the machine's vectors the Vector API emulates it (slowly, exactly). The species
 * of each width are looked up in kernels-simd's test helper {@code io.qvg4j.simd.SimdWidths}, since
 * this module cannot read jdk.incubator.vector.
 */
public final class Widths {
    private Widths() {}

    public static final List<Integer> BITS = List.of(128, 256, 512);
}
