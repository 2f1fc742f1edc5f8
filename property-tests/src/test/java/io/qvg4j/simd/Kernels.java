package io.qvg4j.simd;

import io.qvg4j.kernel.QvgKernels;
import jdk.incubator.vector.FloatVector;

/** SIMD kernels at an explicit width. Only touched when jdk.incubator.vector is readable. */
final class Kernels {
    private Kernels() {}

    static QvgKernels simd(int bits) {
        return SimdKernels.of(switch (bits) {
            case 128 -> FloatVector.SPECIES_128;
            case 256 -> FloatVector.SPECIES_256;
            default -> FloatVector.SPECIES_512;
        });
    }

    static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }
}
