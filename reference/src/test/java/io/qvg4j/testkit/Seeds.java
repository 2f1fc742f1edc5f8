package io.qvg4j.testkit;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * The one seed and the one example count of every randomized test. {@code -Dqvg4j.seed=<n>} replaces the
 * fixed default seed (so CI is deterministic and a failure reruns exactly); {@code -Dqvg4j.examples=<n>}
 * replaces the example count of every property (each property's own count is the CI budget). Test
 * classes that draw from the seed register {@link OnFailure}, which adds the line that reruns the
 * failing case to every failure.
 */
public final class Seeds {
    private Seeds() {}

    public static final String SEED_PROPERTY = "qvg4j.seed";
    public static final String EXAMPLES_PROPERTY = "qvg4j.examples";
    public static final long DEFAULT_SEED = 0x5EED_2026L;

    /** The run's seed: {@code -Dqvg4j.seed}, else {@link #DEFAULT_SEED}. */
    public static long seed() {
        noOldNames();
        return Long.getLong(SEED_PROPERTY, DEFAULT_SEED);
    }

    /** A property's example count: {@code -Dqvg4j.examples} where given (it replaces the count), else {@code byDefault}. */
    public static int examples(int byDefault) {
        noOldNames();
        return Integer.getInteger(EXAMPLES_PROPERTY, byDefault);
    }

    /** The properties this class replaced are refused rather than silently ignored. */
    private static void noOldNames() {
        for (String old : new String[] {"QT_SEED", "QT_EXAMPLES", "qvg4j.test.seed"}) {
            if (System.getProperty(old) != null) {
                throw new IllegalArgumentException("-D" + old + " is no longer read: use -D" + SEED_PROPERTY
                        + " (the seed) and -D" + EXAMPLES_PROPERTY + " (the examples of every property)");
            }
        }
    }

    /** The flags that rerun this run's cases: the seed, and the example count where one was given. */
    public static String rerun() {
        String examples = System.getProperty(EXAMPLES_PROPERTY);
        return "rerun with -D" + SEED_PROPERTY + "=" + seed() + (examples == null ? "" : " -D" + EXAMPLES_PROPERTY + "=" + examples);
    }

    /** Adds {@link #rerun()} to every assertion failure of the test class ({@code @ExtendWith(Seeds.OnFailure.class)}). */
    public static final class OnFailure implements TestExecutionExceptionHandler {
        @Override
        public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
            if (failure instanceof AssertionError && !(failure instanceof Require.NotMet)) {
                AssertionError withSeed = new AssertionError(failure.getMessage() + "\n" + rerun(), failure);
                withSeed.setStackTrace(failure.getStackTrace());
                throw withSeed;
            }
            throw failure;
        }
    }
}
