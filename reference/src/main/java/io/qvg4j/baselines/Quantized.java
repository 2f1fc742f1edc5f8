package io.qvg4j.baselines;

import io.qvg4j.tensor.KvTensor;

/**
 * What a {@link Method} made of one tensor.
 *
 * @param dequantized the values attention would read, bf16, in the input's shape
 * @param accounting  the bytes stored, by component
 * @param noise       the rounding step of every key block, for the Jensen correction (SPEC §12.1); null where
 *                    the method's grid is not uniform (NVFP4)
 */
public record Quantized(KvTensor dequantized, Accounting accounting, KeyNoise noise) {}
