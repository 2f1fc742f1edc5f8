package io.qvg4j.golden;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.KvTensor;

/**
 * One input whose encoding qvg4j pins: a bf16 span, the configuration and the initial k-means indices
 * {@code [T][B·H][Kc]}. Every golden part of the case is a function of these alone.
 *
 * @param name  the case's key in the golden file, e.g. {@code synthetic/ties_int4_g16}
 * @param rules what the case exercises, with the SPEC sections of the rules it hits
 */
public record GoldenCase(String name, String rules, KvTensor input, QuantConfig config, int[][][] init) {}
