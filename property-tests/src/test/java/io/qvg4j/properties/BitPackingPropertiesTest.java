package io.qvg4j.properties;

import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.quicktheories.core.Gen;

import java.util.Arrays;
import java.util.SplittableRandom;

import static io.qvg4j.properties.Theories.qt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * {@link BitPacking} against SPEC §6.5 read literally, one bit at a time: bit k (from the most significant)
 * of code i is bit i·bits + k of the stream, and stream bit s is bit 7 − s mod 8 of byte s / 8. Every
 * width, ragged code counts (any count whose bits fill whole bytes), codes and bytes at offsets, and the
 * bytes around the written range left alone: {@value #EXAMPLES} examples.
 */
@ExtendWith(Seeds.OnFailure.class)
class BitPackingPropertiesTest {
    static final int EXAMPLES = 500;
    static final int[] BITS = {2, 3, 4, 8};

    record Case(int bits, int count, int codeOffset, int byteOffset) {
        @Override
        public String toString() {
            return "bits=" + bits + " count=" + count + " codeOffset=" + codeOffset + " byteOffset=" + byteOffset;
        }
    }

    /** Counts are multiples of 8 / gcd(bits, 8) codes: 4 for INT2, 8 for INT3, 2 for INT4, 1 for INT8. */
    static Gen<Case> cases() {
        return integers().between(0, BITS.length - 1).zip(integers().between(0, 300), integers().between(0, 9),
                integers().between(0, 9), (b, n, co, bo) -> {
                    int bits = BITS[b];
                    int unit = 8 / gcd(bits, 8);
                    return new Case(bits, n / unit * unit, co, bo);
                });
    }

    static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** The stream of SPEC §6.5, bit by bit. */
    static byte[] definition(int[] codes, int codeOffset, int count, int bits) {
        byte[] out = new byte[count * bits / 8];
        for (int i = 0; i < count; i++) {
            for (int k = 0; k < bits; k++) {
                int bit = codes[codeOffset + i] >>> (bits - 1 - k) & 1;
                int s = i * bits + k;
                out[s / 8] |= (byte) (bit << (7 - s % 8));
            }
        }
        return out;
    }

    @Test
    void packWritesTheStreamOfTheDefinitionAndNothingElse() {
        qt(EXAMPLES).forAll(cases(), longs().all()).checkAssert((c, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            int[] codes = new int[c.codeOffset + c.count + 5];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = r.nextInt(1 << c.bits);
            }
            byte[] expected = definition(codes, c.codeOffset, c.count, c.bits);
            byte[] out = new byte[c.byteOffset + expected.length + 5];
            Arrays.fill(out, (byte) 0x5A);
            BitPacking.pack(codes, c.codeOffset, c.count, c.bits, out, c.byteOffset);
            byte[] want = out.clone();
            Arrays.fill(want, (byte) 0x5A);
            System.arraycopy(expected, 0, want, c.byteOffset, expected.length);
            assertArrayEquals(want, out, c + ": pack");
        });
    }

    @Test
    void unpackReadsTheCodesOfTheDefinitionAndNothingElse() {
        qt(EXAMPLES).forAll(cases(), longs().all()).checkAssert((c, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            int[] codes = new int[c.count];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = r.nextInt(1 << c.bits);
            }
            byte[] stream = definition(codes, 0, c.count, c.bits);
            // Random bytes around the stream must not leak into the codes.
            byte[] in = new byte[c.byteOffset + stream.length + 5];
            r.nextBytes(in);
            System.arraycopy(stream, 0, in, c.byteOffset, stream.length);
            int[] out = new int[c.codeOffset + c.count + 5];
            Arrays.fill(out, -7);
            BitPacking.unpack(in, c.byteOffset, c.count, c.bits, out, c.codeOffset);
            int[] want = new int[out.length];
            Arrays.fill(want, -7);
            System.arraycopy(codes, 0, want, c.codeOffset, c.count);
            assertArrayEquals(want, out, c + ": unpack");
        });
    }
}
