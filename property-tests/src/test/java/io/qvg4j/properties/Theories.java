package io.qvg4j.properties;

import io.qvg4j.testkit.Seeds;
import org.quicktheories.QuickTheory;

/**
 * QuickTheories as every property here runs it: the run's seed ({@code -Dqvg4j.seed}, fixed by default,
 * so CI is deterministic), {@code examples} examples unless {@code -Dqvg4j.examples} replaces the count,
 * and up to 200 shrink cycles, so a failure reports a small falsifying case. Test classes register
 * {@code Seeds.OnFailure}, which adds the rerun flags to every failure.
 */
public final class Theories {
    private Theories() {}

    public static final int SHRINK_CYCLES = 200;

    public static QuickTheory qt(int examples) {
        return QuickTheory.qt().withFixedSeed(Seeds.seed()).withExamples(Seeds.examples(examples))
                .withShrinkCycles(SHRINK_CYCLES);
    }
}
