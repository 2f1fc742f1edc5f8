package io.qvg4j.bench;

import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The check KernelBench runs after every iteration: it passes on what the SIMD kernel writes, and fails
 * when the timed calls wrote nothing (the buffers still hold the set-up's poison) or something else.
 * Runs no benchmark: the JMH methods are called directly.
 */
class KernelBenchCheckTest {
    @BeforeAll
    static void needsVectorModule() {
        Require.simd();
    }

    static KernelBench prepared(String kernel) {
        KernelBench b = new KernelBench();
        b.shape = "hy-worldplay";
        b.impl = "simd";
        b.prepare(kernel);
        return b;
    }

    @Test
    void aKernelThatWroteNothingFailsTheIterationCheck() {
        KernelBench b = prepared("norms");
        IllegalStateException e = assertThrows(IllegalStateException.class, b::checkTimedOutput);
        assertTrue(e.getMessage().startsWith("norms (simd, hy-worldplay) after an iteration: output differs"),
                e.getMessage());
        b.norms();
        assertDoesNotThrow(b::checkTimedOutput);
    }

    @Test
    void aWrongByteInAnyOutputFailsTheIterationCheck() {
        KernelBench b = prepared("quantize");
        b.quantize();
        assertDoesNotThrow(b::checkTimedOutput);
        Object[] outputs = (Object[]) b.outputs("quantize");
        ((byte[]) outputs[1])[5] ^= 1; // a scale
        assertThrows(IllegalStateException.class, b::checkTimedOutput);
        b.quantize();
        assertDoesNotThrow(b::checkTimedOutput);
    }
}
