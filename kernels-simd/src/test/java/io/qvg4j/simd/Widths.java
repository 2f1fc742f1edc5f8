package io.qvg4j.simd;

import io.qvg4j.kernel.QvgKernels;
import jdk.incubator.vector.FloatVector;

import java.util.List;

/** The SIMD kernels at 128, 256 and 512 bits. Only touched when jdk.incubator.vector is readable. */
final class Widths {
    private Widths() {}

    static List<QvgKernels> all() {
        return List.of(SimdKernels.of(FloatVector.SPECIES_128), SimdKernels.of(FloatVector.SPECIES_256),
                SimdKernels.of(FloatVector.SPECIES_512));
    }

    static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }
}
