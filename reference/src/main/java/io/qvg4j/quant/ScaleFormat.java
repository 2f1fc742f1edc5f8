package io.qvg4j.quant;

/** How block scales (and zero points) are stored. */
public enum ScaleFormat {
    /** FP8 E4M3FN, one byte; the quantizer uses the rounded scale (SPEC §6.2). The official default. */
    FP8_E4M3(1),
    /**
     * bf16, two bytes little-endian; the quantizer uses the unrounded fp32 scale and only the stored
     * value is rounded (SPEC §6.4; present in the official code, unused by its callers).
     */
    BF16(2);

    private final int bytes;

    ScaleFormat(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
