package io.qvg4j.simd;

import io.qvg4j.testkit.KernelChoice;
import org.junit.jupiter.api.Test;

/**
 * Which kernels this JVM runs, with kernels-simd on the class path as the cli has it: pinned by
 * {@code -Dqvg4j.require} (simd: the SIMD kernels; reference: the scalar fallback, and then
 * {@code --impl simd} fails with one line instead of falling back silently); see {@link KernelChoice}.
 */
class FallbackTest {
    @Test
    void providerChoosesWhatTheRunRequires() {
        KernelChoice.check("FallbackTest");
    }
}
