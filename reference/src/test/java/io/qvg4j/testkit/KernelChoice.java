package io.qvg4j.testkit;

import io.qvg4j.spi.Implementation;
import io.qvg4j.spi.Implementations;
import io.qvg4j.tensor.InvalidInputException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which CPU implementation {@link Implementations#auto()} chose in this JVM, checked against what the run
 * demands. With {@code -Dqvg4j.require} listing {@code simd} it must have chosen "simd"; listing
 * {@code reference} it must have chosen "reference" and {@code --impl simd} must be refused with one line
 * naming jdk.incubator.vector. Without either (a developer's run) the check is weaker: the choice must
 * follow {@code -Dqvg4j.impl} where given, else whether the module is present, which is the provider's
 * own test and so cannot catch a wrong fallback. What was seen is printed either way, and wherever the
 * Vector API is absent {@code --impl simd} must be refused with one line.
 */
public final class KernelChoice {
    private KernelChoice() {}

    public static void check(String who) {
        Implementation chosen = Implementations.auto();
        String pinned = Require.pinnedKernels();
        String forced = System.getProperty(Implementations.PROPERTY);
        String seen = who + ": auto = " + chosen.name() + " (" + chosen.describe() + "), jdk.incubator.vector "
                + (Require.vectorModulePresent() ? "present" : "absent") + ", -D" + Require.PROPERTY + "="
                + System.getProperty(Require.PROPERTY, "") + ", -D" + Implementations.PROPERTY + "=" + (forced == null ? "" : forced);
        System.out.println(seen);
        if (Require.SIMD.equals(pinned)) {
            Require.simd();
            assertEquals(Require.SIMD, chosen.name(), Require.PROPERTY + " pins the implementation to simd: " + seen);
        } else if (Require.REFERENCE.equals(pinned)) {
            Require.scalarFallback();
            assertEquals(Require.REFERENCE, chosen.name(), Require.PROPERTY + " pins the implementation to reference: " + seen);
        } else if (forced != null) {
            assertEquals(forced, chosen.name(), "-D" + Implementations.PROPERTY + " forces the implementation: " + seen);
        } else if (chosen.kernels() != null) {
            assertEquals(Require.vectorModulePresent() ? Require.SIMD : Require.REFERENCE, chosen.name(), seen);
        }
        if (!Require.vectorModulePresent()) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> Implementations.open("simd", 1, 0),
                    "--impl simd without the Vector API must be refused, not fall back: " + seen);
            assertTrue(e.getMessage().contains("jdk.incubator.vector"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
    }
}
