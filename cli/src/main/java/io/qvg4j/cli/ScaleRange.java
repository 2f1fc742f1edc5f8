package io.qvg4j.cli;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;

/**
 * How many FP8 E4M3 block scales of a span left E4M3's range (SPEC §2.2, §6.2): below its smallest normal
 * 2^−6 a scale keeps fewer than its 4 significant bits and below 2^−10 it is 0, so the whole block
 * dequantizes to 0; from 432 up it is 448 and the block's large values clip. Either costs accuracy that
 * bf16 scales ({@code --scale-format bf16}) keep.
 */
record ScaleRange(long blocks, long underflow, long saturated) {
    /**
     * Above this share of blocks the quantize command warns. Real keys have a few: conformance/city_a_k.npy
     * 1.9 % (subnormal scales of near-zero residual blocks, harmless); a tensor of magnitude 1e−6 has 91 %.
     */
    static final double WARN_SHARE = 0.05;

    static ScaleRange of(QuantizedSpan span) {
        if (span.config().scaleFormat() != ScaleFormat.FP8_E4M3) {
            return new ScaleRange(span.scales().length / 2, 0, 0);
        }
        QuantConfig cfg = span.config();
        int perRow = cfg.blocksPerRow(span.dim()), rowBytes = cfg.packedBytesPerRow(span.dim());
        long under = 0, sat = 0;
        byte[] scales = span.scales();
        for (int b = 0; b < scales.length; b++) {
            int magnitude = scales[b] & 0x7F;
            // Exponent field 0 (zero or subnormal), unless the block is constant: an all-zero residual (a
            // token that is its own centroid) gets the floor scale, code 0, and loses nothing (SPEC §6.2).
            if (magnitude < 0x08 && !constant(span.packed(), (long) (b / perRow) * rowBytes, b % perRow, cfg)) {
                under++;
            } else if (magnitude == 0x7E) {
                sat++; // 448, the largest finite E4M3FN value
            }
        }
        return new ScaleRange(scales.length, under, sat);
    }

    /** True when every code of block {@code block} of the row at {@code rowStart} is the same (SPEC §6.5 layout). */
    private static boolean constant(byte[] packed, long rowStart, int block, QuantConfig cfg) {
        int g = cfg.groupSize(), bits = cfg.bits();
        int first = code(packed, rowStart, block * g, bits);
        for (int d = block * g + 1; d < (block + 1) * g; d++) {
            if (code(packed, rowStart, d, bits) != first) {
                return false;
            }
        }
        return true;
    }

    /** Code of channel d: bits {@code d·bits ..} of the row's MSB-first bit stream. */
    private static int code(byte[] packed, long rowStart, int d, int bits) {
        int v = 0;
        for (int i = 0; i < bits; i++) {
            long bit = (long) d * bits + i;
            v = v << 1 | (packed[(int) (rowStart + bit / 8)] >> (7 - bit % 8)) & 1;
        }
        return v;
    }

    boolean warn() {
        return underflow + saturated > WARN_SHARE * blocks;
    }

    String warning() {
        return String.format("warning: %.1f%% of the %d block scales underflow FP8 E4M3 (below 2^-6) and %.1f%% saturate "
                        + "(448); accuracy suffers: pass --scale-format bf16", 100.0 * underflow / blocks, blocks,
                100.0 * saturated / blocks);
    }
}
