package io.qvg4j.algorithm;

/**
 * Codes of one token and head packed as an MSB-first bit stream (SPEC §6.5): the first code in the
 * most significant bits. For INT2 this is {@code c0<<6 | c1<<4 | c2<<2 | c3} and for INT4
 * {@code c0<<4 | c1}, the official layout; INT8 is one code per byte and INT3 packs 8 codes in 3 bytes.
 */
public final class BitPacking {
    private BitPacking() {}

    /** Packs {@code count} codes of {@code bits} each; {@code count·bits} must be a multiple of 8. */
    public static void pack(int[] codes, int codeOffset, int count, int bits, byte[] out, int outOffset) {
        int acc = 0;
        int pending = 0;
        int o = outOffset;
        for (int i = 0; i < count; i++) {
            acc = (acc << bits) | codes[codeOffset + i];
            pending += bits;
            if (pending >= 8) {
                pending -= 8;
                out[o++] = (byte) (acc >>> pending);
            }
        }
    }

    /** Inverse of {@link #pack}. */
    public static void unpack(byte[] in, int inOffset, int count, int bits, int[] codes, int codeOffset) {
        if (bits == 2 && count % 4 == 0) {
            // The common INT2 case a byte at a time (attention unpacks a row per token read).
            for (int i = 0, p = inOffset, o = codeOffset; i < count; i += 4, o += 4) {
                int b = in[p++];
                codes[o] = (b >>> 6) & 3;
                codes[o + 1] = (b >>> 4) & 3;
                codes[o + 2] = (b >>> 2) & 3;
                codes[o + 3] = b & 3;
            }
            return;
        }
        int mask = (1 << bits) - 1;
        int acc = 0;
        int available = 0;
        int p = inOffset;
        for (int i = 0; i < count; i++) {
            if (available < bits) {
                acc = (acc << 8) | (in[p++] & 0xFF);
                available += 8;
            }
            available -= bits;
            codes[codeOffset + i] = (acc >>> available) & mask;
        }
    }
}
