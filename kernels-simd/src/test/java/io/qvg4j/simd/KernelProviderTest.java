package io.qvg4j.simd;

import io.qvg4j.kernel.KernelProvider;
import io.qvg4j.kernel.QvgKernels;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The provider must pick the SIMD kernels whenever this JVM can read jdk.incubator.vector (the module
 * is on the class path here), and the reference otherwise: a silent fallback fails this test.
 */
class KernelProviderTest {
    @Test
    void defaultKernelsMatchTheJvm() {
        QvgKernels k = KernelProvider.defaultKernels();
        String forced = System.getProperty(KernelProvider.PROPERTY);
        String expected = forced != null ? forced : Widths.vectorModulePresent() ? "simd" : "reference";
        assertEquals(expected, k.name(), "kernels chosen: " + k + " (jdk.incubator.vector "
                + (Widths.vectorModulePresent() ? "present" : "absent") + ", -D" + KernelProvider.PROPERTY + "=" + forced + ")");
        System.out.println("KernelProviderTest: default kernels = " + k.name() + " (" + k + ")");
    }
}
