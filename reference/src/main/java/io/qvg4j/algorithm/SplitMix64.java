package io.qvg4j.algorithm;

/**
 * SplitMix64 (Steele, Lea, Flood 2014), the generator of qvg4j's seeded initial indices (SPEC §3.1):
 * the state advances by the golden gamma and each output is the state passed through {@link #mix}.
 */
public final class SplitMix64 {
    /** The golden gamma, 2^64 / φ rounded to odd. */
    public static final long GAMMA = 0x9E3779B97F4A7C15L;

    private long state;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    /** Advances the state by {@link #GAMMA} and returns its mix. */
    public long next() {
        return mix(state += GAMMA);
    }

    /** The SplitMix64 finalizer: {@code z ^= z>>>30; z *= 0xBF58476D1CE4E5B9; z ^= z>>>27; z *= 0x94D049BB133111EB; z ^= z>>>31}. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
