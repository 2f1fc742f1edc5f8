package io.qvg4j.spi;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The provider's rules that hold in any JVM: names, thread counts, and a forced choice that cannot run. */
class ImplementationsTest {
    @Test
    void theReferenceIsAlwaysThereAndOpens() {
        assertEquals("reference", Implementations.all().get(0).name());
        try (QvgCodec codec = Implementations.open("reference", 2, 0)) {
            assertEquals("reference", codec.name());
        }
    }

    @Test
    void anUnknownNameIsOneLineListingTheNames() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> Implementations.byName("cuda"));
        assertTrue(e.getMessage().startsWith("--impl cuda: unknown implementation; use auto, reference"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void zeroThreadsMeansEveryCore() {
        assertEquals(Runtime.getRuntime().availableProcessors(), Implementations.threads(0));
        assertEquals(3, Implementations.threads(3));
        assertThrows(InvalidInputException.class, () -> Implementations.threads(-1));
    }

    @Test
    void forcingAnImplementationThatCannotRunIsAnErrorNamingTheProperty() {
        String before = System.getProperty(Implementations.PROPERTY);
        try {
            System.setProperty(Implementations.PROPERTY, "cuda");
            InvalidInputException e = assertThrows(InvalidInputException.class, Implementations::chooseAuto);
            assertEquals("-Dqvg4j.impl=cuda: unknown implementation; use auto, "
                    + String.join(", ", Implementations.all().stream().map(Implementation::name).toList()), e.getMessage());
            System.setProperty(Implementations.PROPERTY, "reference");
            assertEquals("reference", Implementations.chooseAuto().name());
        } finally {
            if (before == null) {
                System.clearProperty(Implementations.PROPERTY);
            } else {
                System.setProperty(Implementations.PROPERTY, before);
            }
        }
    }
}
