package io.qvg4j.simd;

import io.qvg4j.testkit.KernelChoice;
import org.junit.jupiter.api.Test;

/**
 * The provider's choice in this module's test JVM, pinned by {@code -Dqvg4j.require} (simd: the SIMD
 * kernels, reference: the scalar fallback and a one-line refusal of {@code --impl simd}); see
 * {@link KernelChoice}.
 */
class KernelProviderTest {
    @Test
    void defaultKernelsAreWhatTheRunRequires() {
        KernelChoice.check("KernelProviderTest");
    }
}
