package io.qvg4j.testkit;

import io.qvg4j.kernel.Codecs;
import io.qvg4j.kernel.KernelProvider;
import io.qvg4j.kernel.QvgKernels;
import io.qvg4j.tensor.InvalidInputException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which kernels {@link KernelProvider} chose in this JVM, checked against what the run demands. With
 * {@code -Dqvg4j.require} listing {@code simd} the provider must have chosen "simd"; listing
 * {@code reference} it must have chosen "reference" and {@code --impl simd} must be refused with one line
 * naming jdk.incubator.vector. Without either (a developer's run) the check is weaker: the choice
 * must follow {@code -Dqvg4j.kernels} where given, else whether the module is present, which is the
 * provider's own test and so cannot catch a wrong fallback. What was seen is printed either way, and
 * wherever the Vector API is absent {@code --impl simd} must be refused with one line.
 */
public final class KernelChoice {
    private KernelChoice() {}

    public static void check(String who) {
        QvgKernels chosen = KernelProvider.defaultKernels();
        String pinned = Require.pinnedKernels();
        String forced = System.getProperty(KernelProvider.PROPERTY);
        String seen = who + ": default kernels = " + chosen.name() + " (" + chosen + "), jdk.incubator.vector "
                + (Require.vectorModulePresent() ? "present" : "absent") + ", -D" + Require.PROPERTY + "="
                + System.getProperty(Require.PROPERTY, "") + ", -D" + KernelProvider.PROPERTY + "=" + (forced == null ? "" : forced);
        System.out.println(seen);
        if (Require.SIMD.equals(pinned)) {
            Require.simd();
            assertEquals(Require.SIMD, chosen.name(), Require.PROPERTY + " pins the kernels to simd: " + seen);
        } else if (Require.REFERENCE.equals(pinned)) {
            Require.scalarFallback();
            assertEquals(Require.REFERENCE, chosen.name(), Require.PROPERTY + " pins the kernels to reference: " + seen);
        } else if (forced != null) {
            assertEquals(forced, chosen.name(), "-D" + KernelProvider.PROPERTY + " forces the kernels: " + seen);
        } else {
            assertEquals(Require.vectorModulePresent() ? Require.SIMD : Require.REFERENCE, chosen.name(), seen);
        }
        if (!Require.vectorModulePresent()) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> Codecs.open("simd", 1, 0),
                    "--impl simd without the Vector API must be refused, not fall back: " + seen);
            assertTrue(e.getMessage().contains("jdk.incubator.vector"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
    }
}
