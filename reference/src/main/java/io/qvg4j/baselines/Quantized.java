package io.qvg4j.baselines;

import io.qvg4j.tensor.KvTensor;

/**
 * What a {@link Method} made of one tensor.
 *
 * @param dequantized the values attention would read, bf16, in the input's shape
 * @param accounting  the bytes stored, by component
 * @param noise       the rounding step of every key block, for the Jensen correction (SPEC §12.1); null where
 *                    the method's grid is not uniform (NVFP4)
 * @param dropped     {@code [B·H·S]}: true for a token the method removed from attention (true pruning,
 *                    SPEC §16.5); null when every token is attended
 */
public record Quantized(KvTensor dequantized, Accounting accounting, KeyNoise noise, boolean[] dropped) {

    /** A method that keeps every token. */
    public Quantized(KvTensor dequantized, Accounting accounting, KeyNoise noise) {
        this(dequantized, accounting, noise, null);
    }
}
