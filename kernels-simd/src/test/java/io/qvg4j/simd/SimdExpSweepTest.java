package io.qvg4j.simd;

import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * Every float whose exponential is not trivially 0, 1 or +∞ ({@link SimdExpTest#POSITIVE_FROM} …), through
 * {@link SimdAttention#exp} at the machine's preferred width against {@code (float) StrictMath.exp((double) x)},
 * bit for bit. A class of its own, so that its JVM (one per test class) runs that width alone and C2 folds
 * its species to constants: with all widths in use the kernel runs unvectorized, far slower.
 */
class SimdExpSweepTest {
    @BeforeEach
    void vectorApi() {
        Require.simd();
    }

    @Test
    void everyFloatOfTheMainRangeAtThePreferredWidth() throws Exception {
        SimdExpTest.sweepMainRange(List.of(SimdAttention.create()), 1);
    }
}
