package io.qvg4j.algorithm;

/**
 * Codes of one token and head packed as an MSB-first bit stream (SPEC §6.5): the first code in the
 * most significant bits. For INT2 this is {@code c0<<6 | c1<<4 | c2<<2 | c3} and for INT4
 * {@code c0<<4 | c1}, the official layout; INT8 is one code per byte and INT3 packs 8 codes in 3 bytes.
 * Each width is written out as the whole groups it packs into whole bytes (4, 2, 1 and 8 codes), with no
 * bit accumulator to carry between codes: the same stream, a fixed pattern of shifts per group.
 */
public final class BitPacking {
    private BitPacking() {}

    /**
     * Packs {@code count} codes of {@code bits} each (2, 3, 4 or 8, every code below 2^bits);
     * {@code count·bits} must be a multiple of 8.
     */
    public static void pack(int[] codes, int codeOffset, int count, int bits, byte[] out, int outOffset) {
        int c = codeOffset;
        int o = outOffset;
        switch (bits) {
            case 2 -> {
                for (int end = outOffset + count / 4; o < end; o++, c += 4) {
                    out[o] = (byte) (codes[c] << 6 | codes[c + 1] << 4 | codes[c + 2] << 2 | codes[c + 3]);
                }
            }
            case 4 -> {
                for (int end = outOffset + count / 2; o < end; o++, c += 2) {
                    out[o] = (byte) (codes[c] << 4 | codes[c + 1]);
                }
            }
            case 8 -> {
                for (int end = outOffset + count; o < end; o++, c++) {
                    out[o] = (byte) codes[c];
                }
            }
            case 3 -> {
                for (int end = outOffset + count / 8 * 3; o < end; o += 3, c += 8) {
                    int v = codes[c] << 21 | codes[c + 1] << 18 | codes[c + 2] << 15 | codes[c + 3] << 12
                            | codes[c + 4] << 9 | codes[c + 5] << 6 | codes[c + 6] << 3 | codes[c + 7];
                    out[o] = (byte) (v >>> 16);
                    out[o + 1] = (byte) (v >>> 8);
                    out[o + 2] = (byte) v;
                }
            }
            default -> throw new IllegalArgumentException("bits = " + bits + "; must be 2, 3, 4 or 8");
        }
    }

    /** Inverse of {@link #pack}. */
    public static void unpack(byte[] in, int inOffset, int count, int bits, int[] codes, int codeOffset) {
        int p = inOffset;
        int c = codeOffset;
        switch (bits) {
            case 2 -> {
                for (int end = codeOffset + count; c < end; c += 4, p++) {
                    int b = in[p];
                    codes[c] = b >>> 6 & 3;
                    codes[c + 1] = b >>> 4 & 3;
                    codes[c + 2] = b >>> 2 & 3;
                    codes[c + 3] = b & 3;
                }
            }
            case 4 -> {
                for (int end = codeOffset + count; c < end; c += 2, p++) {
                    int b = in[p];
                    codes[c] = b >>> 4 & 15;
                    codes[c + 1] = b & 15;
                }
            }
            case 8 -> {
                for (int end = codeOffset + count; c < end; c++, p++) {
                    codes[c] = in[p] & 0xFF;
                }
            }
            case 3 -> {
                for (int end = codeOffset + count; c < end; c += 8, p += 3) {
                    int v = (in[p] & 0xFF) << 16 | (in[p + 1] & 0xFF) << 8 | in[p + 2] & 0xFF;
                    for (int j = 0; j < 8; j++) {
                        codes[c + j] = v >>> 21 - 3 * j & 7;
                    }
                }
            }
            default -> throw new IllegalArgumentException("bits = " + bits + "; must be 2, 3, 4 or 8");
        }
    }
}
