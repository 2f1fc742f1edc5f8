package io.qvg4j.algorithm;

import io.qvg4j.quant.QuantConfig;

/**
 * XQuant's data-free calibration (arXiv 2510.11236) of the asymmetric quantizer's endpoints (SPEC §16.2).
 * The codes stay those of SPEC §6.3; only the stored scale and zero point change, to
 * {@code ŝ = (1 − 2η)·s} and {@code ẑ = z + η·s·qmax}, so that code q decodes to
 * {@code z + s·(η·qmax + q·(1 − 2η))}: the extreme levels move inward by η of the block's range and the
 * levels between stay evenly spaced. η is a constant of the config; no data is needed.
 */
public final class EndpointCalibration {
    private EndpointCalibration() {}

    /**
     * Overwrites a block's stored scale and zero point with the calibrated pair, from the scale {@code s} and
     * zero point {@code z} the block's codes were computed with (SPEC §6.3: the decoded FP8 values; for bf16
     * storage the unrounded ones, §6.4). In fp32, left to right: {@code ŝ = (1 − 2η)·s},
     * {@code ẑ = z + (η·s)·qmax}; each stored by the config's scale format (§2.2 or §2.1). Does nothing when
     * η = 0, so the bytes of SPEC §6.3 stay as they are (−0 zero points included).
     */
    public static void store(float s, float z, QuantConfig config, byte[] scales, int scaleOffset,
                             byte[] zeros, int zeroOffset) {
        float eta = config.eta();
        if (eta == 0f) {
            return;
        }
        float calibratedScale = (1f - 2f * eta) * s;
        float calibratedZero = z + eta * s * config.asymmetricMax();
        config.scaleFormat().store(calibratedScale, scales, scaleOffset);
        config.scaleFormat().store(calibratedZero, zeros, zeroOffset);
    }
}
