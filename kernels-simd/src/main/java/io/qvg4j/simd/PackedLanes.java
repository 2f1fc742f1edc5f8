package io.qvg4j.simd;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Where one vector of codes lies in a packed row (SPEC §6.5, {@code algorithm.BitPacking}), for a vector of
 * {@code lanes} codes of {@code bits} each that fills whole bytes. Its bytes are read as {@link #words}
 * big-endian words of {@link #wordBytes} bytes, each holding whole codes: 4 bytes (16, 8 or 4 codes) for
 * 2, 4 and 8 bits, 3 bytes (one group of 8 codes) for 3 bits, fewer when the vector needs fewer. Lane i
 * takes word {@code i / codesPerWord}; MSB-first, its code sits {@link #shift} bits above the word's
 * lowest bit. So each lane's shift and word are constants: unpacking is a broadcast of each word, a
 * per-lane shift and a mask, packing a per-lane shift and an OR across each word's lanes.
 */
final class PackedLanes {
    private static final VarHandle SHORT_BE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT_BE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    final int bits;
    /** Bytes of one vector of codes. */
    final int vectorBytes;
    final int wordBytes;
    final int codesPerWord;
    /** Words per vector. */
    final int words;

    /** Whether a vector of {@code lanes} codes fills whole bytes: else the generic path packs the row. */
    static boolean fits(int lanes, int bits) {
        return lanes * bits % 8 == 0;
    }

    PackedLanes(int lanes, int bits) {
        this.bits = bits;
        vectorBytes = lanes * bits / 8;
        wordBytes = Math.min(vectorBytes, bits == 3 ? 3 : 4);
        codesPerWord = wordBytes * 8 / bits;
        words = lanes / codesPerWord;
    }

    /** Lane i's shift: the bits below its code in its word. */
    int[] shifts(int lanes) {
        int[] s = new int[lanes];
        for (int i = 0; i < lanes; i++) {
            s[i] = wordBytes * 8 - bits * (i % codesPerWord + 1);
        }
        return s;
    }

    /** Lane i's word. */
    int[] wordOfLane(int lanes) {
        int[] w = new int[lanes];
        for (int i = 0; i < lanes; i++) {
            w[i] = i / codesPerWord;
        }
        return w;
    }

    /** The word of {@link #wordBytes} big-endian bytes at {@code in[offset…]}, zero-extended. */
    int read(byte[] in, int offset) {
        return switch (wordBytes) {
            case 4 -> (int) INT_BE.get(in, offset);
            case 3 -> (in[offset] & 0xFF) << 16 | (in[offset + 1] & 0xFF) << 8 | in[offset + 2] & 0xFF;
            case 2 -> (short) SHORT_BE.get(in, offset) & 0xFFFF;
            default -> in[offset] & 0xFF;
        };
    }

    /** Writes the low {@link #wordBytes} bytes of {@code word} big-endian at {@code out[offset…]}. */
    void write(int word, byte[] out, int offset) {
        switch (wordBytes) {
            case 4 -> INT_BE.set(out, offset, word);
            case 3 -> {
                out[offset] = (byte) (word >>> 16);
                out[offset + 1] = (byte) (word >>> 8);
                out[offset + 2] = (byte) word;
            }
            case 2 -> SHORT_BE.set(out, offset, (short) word);
            default -> out[offset] = (byte) word;
        }
    }
}
