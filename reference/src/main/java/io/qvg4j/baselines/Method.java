package io.qvg4j.baselines;

import io.qvg4j.tensor.KvTensor;

/**
 * A KV-cache quantization method as the comparisons of SPEC §14 run it: a K or V tensor in, its dequantized
 * tensor, exact storage and key rounding steps out. Every method is a pure function of its input and
 * configuration (seeds included), so every comparison runs every method on identical inputs.
 */
public interface Method {

    /** Whether a tensor holds keys or values; KIVI groups them differently (SPEC §14.2). */
    enum Role { KEYS, VALUES }

    /** Short label, e.g. {@code KIVI-2}. */
    String name();

    /** The method family, e.g. {@code KIVI}, for grouping in reports. */
    String family();

    /** Code width in bits. */
    int bits();

    /** Every parameter that fixes the output, in words. */
    String config();

    /** Quantizes and dequantizes a {@code [B,H,S,D]} tensor. */
    Quantized apply(KvTensor x, Role role);

    /** The outputs for a K and V pair of one shape. */
    record Pair(Quantized keys, Quantized values) {}

    /**
     * Quantizes K and V of one shape. A method that decides per token for K and V together (true pruning drops
     * a token's key and value, SPEC §16.5) overrides this; the rest quantize each on its own.
     */
    default Pair apply(KvTensor keys, KvTensor values) {
        return new Pair(apply(keys, Role.KEYS), apply(values, Role.VALUES));
    }
}
