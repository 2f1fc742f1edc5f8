package io.qvg4j.simd;

import org.quicktheories.QuickTheory;

/**
 * QuickTheories with a fixed seed (deterministic CI), overridable with {@code -DQT_SEED=<n>}; on a
 * failure QuickTheories prints "Seed was n" and the smallest falsifying case after shrinking, so the
 * run can be repeated from the printed seed. {@code -DQT_EXAMPLES=<n>} scales every property.
 */
final class Seeds {
    private Seeds() {}

    static final long SEED = Long.getLong("QT_SEED", 0x5EED_2026L);

    static QuickTheory qt(int examples) {
        int n = Integer.getInteger("QT_EXAMPLES", examples);
        return QuickTheory.qt().withFixedSeed(SEED).withExamples(n).withShrinkCycles(200);
    }
}
