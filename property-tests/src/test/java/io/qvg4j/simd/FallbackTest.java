package io.qvg4j.simd;

import io.qvg4j.kernel.Codecs;
import io.qvg4j.kernel.KernelProvider;
import io.qvg4j.tensor.InvalidInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which kernels this JVM runs: SIMD with jdk.incubator.vector, the reference without it, and then
 * {@code --impl simd} fails with one line instead of falling back silently.
 */
class FallbackTest {
    @Test
    void providerFollowsTheModuleFlag() {
        String chosen = KernelProvider.defaultKernels().name();
        System.out.println("FallbackTest: jdk.incubator.vector " + (Kernels.vectorModulePresent() ? "present" : "absent")
                + ", default kernels = " + chosen);
        if (System.getProperty(KernelProvider.PROPERTY) != null) {
            assertEquals(System.getProperty(KernelProvider.PROPERTY), chosen);
        } else if (Kernels.vectorModulePresent()) {
            assertEquals("simd", chosen, "the SIMD kernels should load when jdk.incubator.vector is present");
        } else {
            assertEquals("reference", chosen);
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> Codecs.open("simd", 1, 0));
            assertTrue(e.getMessage().contains("jdk.incubator.vector"), e.getMessage());
        }
    }
}
