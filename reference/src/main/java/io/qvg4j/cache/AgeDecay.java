package io.qvg4j.cache;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.InvalidInputException;

import java.util.Arrays;

/**
 * The age schedule of a PackCache-style policy (SPEC §16.3): a quantized span's residual bits step down as the
 * span ages. A span starts at its policy's {@code config().bits()}; once {@code ages[i]} frames have been
 * appended since it was quantized, its residual is re-quantized to {@code bits[i]} bits, where 0 drops the
 * residual codes, scales and zero points and leaves the span's cluster ids and centroids only.
 *
 * @param ages ascending ages in frames, each at least 1
 * @param bits strictly descending residual widths, each 8, 4, 3, 2 or 0
 */
public record AgeDecay(int[] ages, int[] bits) {

    /** No step: spans keep their bits for as long as they live. */
    public static final AgeDecay NONE = new AgeDecay(new int[0], new int[0]);

    public AgeDecay {
        ages = ages.clone();
        bits = bits.clone();
        if (ages.length != bits.length) {
            throw new InvalidInputException("age schedule: " + ages.length + " ages for " + bits.length + " bit widths");
        }
        for (int i = 0; i < ages.length; i++) {
            if (ages[i] < 1 || i > 0 && ages[i] <= ages[i - 1]) {
                throw new InvalidInputException("age schedule: ages " + Arrays.toString(ages) + " must be >= 1 and strictly ascending");
            }
            if (bits[i] != 0 && bits[i] != 2 && bits[i] != 3 && bits[i] != 4 && bits[i] != 8 || i > 0 && bits[i] >= bits[i - 1]) {
                throw new InvalidInputException("age schedule: bits " + Arrays.toString(bits)
                        + " must each be 8, 4, 3, 2 or 0 (ids and centroids only) and strictly descending");
            }
        }
    }

    public boolean isNone() {
        return ages.length == 0;
    }

    /** The residual bits of a span quantized at {@code initialBits} once it is {@code age} frames old. */
    public int bitsAt(int initialBits, int age) {
        int b = initialBits;
        for (int i = 0; i < ages.length && ages[i] <= age; i++) {
            b = bits[i];
        }
        return b;
    }

    /** Throws unless every step is below the span's initial bits and each width fits the head dimension. */
    public void requireCompatible(QuantConfig config, int dim) {
        if (ages.length > 0 && bits[0] >= config.bits()) {
            throw new InvalidInputException("age schedule: the first step to " + bits[0] + " bits must be below the "
                    + config.bits() + " bits spans are quantized at");
        }
        for (int b : bits) {
            if (b > 0) {
                config.withBits(b).requireCompatible("age schedule", dim);
            }
        }
    }

    /**
     * Parses {@code "B0,AGE:B,AGE:B…"}, e.g. {@code 4,8:2,24:0}: quantize at B0 bits, step to B at each AGE.
     * Returns the initial bits in {@code initial[0]}.
     */
    public static AgeDecay parse(String text, int[] initial) {
        String[] parts = text.trim().split(",");
        try {
            initial[0] = Integer.parseInt(parts[0].trim());
            int[] ages = new int[parts.length - 1];
            int[] bits = new int[parts.length - 1];
            for (int i = 1; i < parts.length; i++) {
                String[] ab = parts[i].split(":");
                if (ab.length != 2) {
                    throw new NumberFormatException();
                }
                ages[i - 1] = Integer.parseInt(ab[0].trim());
                bits[i - 1] = Integer.parseInt(ab[1].trim());
            }
            return new AgeDecay(ages, bits);
        } catch (NumberFormatException e) {
            throw new InvalidInputException("age schedule '" + text + "': expected B0,AGE:B,AGE:B… (e.g. 4,8:2,24:0)");
        }
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < ages.length; i++) {
            s.append(i == 0 ? "" : ", ").append("age ").append(ages[i]).append(" -> ")
                    .append(bits[i] == 0 ? "ids+centroids" : "INT" + bits[i]);
        }
        return ages.length == 0 ? "none" : s.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AgeDecay a && Arrays.equals(ages, a.ages) && Arrays.equals(bits, a.bits);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ages) + Arrays.hashCode(bits);
    }
}
