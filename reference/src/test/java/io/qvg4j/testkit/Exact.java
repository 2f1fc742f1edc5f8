package io.qvg4j.testkit;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantizedSpan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Bit-for-bit comparisons of the project's outputs: floats by their raw bits (−0 is not +0, NaN payloads
 * count), bf16 patterns as patterns, spans field by field. A failure names the first differing index,
 * both bit patterns, and how many elements differ.
 */
public final class Exact {
    private Exact() {}

    /** {@code actual} has the length and the raw bits of {@code expected}. */
    public static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int first = -1;
        int differ = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                first = first < 0 ? i : first;
                differ++;
            }
        }
        if (first >= 0) {
            throw new AssertionError(what + ": element " + first + " is " + hex(actual[first]) + ", expected "
                    + hex(expected[first]) + " (" + differ + " of " + expected.length + " elements differ)");
        }
    }

    /** {@code actual} has the length and the 16-bit patterns (bf16) of {@code expected}. */
    public static void assertBits(short[] expected, short[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int first = -1;
        int differ = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                first = first < 0 ? i : first;
                differ++;
            }
        }
        if (first >= 0) {
            throw new AssertionError(what + ": element " + first + " is " + hex(actual[first]) + ", expected "
                    + hex(expected[first]) + " (" + differ + " of " + expected.length + " elements differ)");
        }
    }

    /** Every field of the span: config, shape, per stage ids and centroids, iterations, codes, scales, zeros. */
    public static void assertSameSpan(QuantizedSpan expected, QuantizedSpan actual, String what) {
        assertEquals(expected.config(), actual.config(), what + ": config");
        assertEquals(expected.batch(), actual.batch(), what + ": batch");
        assertEquals(expected.heads(), actual.heads(), what + ": heads");
        assertEquals(expected.tokens(), actual.tokens(), what + ": tokens");
        assertEquals(expected.dim(), actual.dim(), what + ": dim");
        for (int t = 0; t < expected.config().stages(); t++) {
            assertArrayEquals(expected.clusterIds()[t], actual.clusterIds()[t], what + ": cluster ids of stage " + t);
            assertBits(expected.centroids()[t], actual.centroids()[t], what + ": centroids of stage " + t);
        }
        assertArrayEquals(expected.iterations(), actual.iterations(), what + ": iterations");
        assertArrayEquals(expected.packed(), actual.packed(), what + ": packed codes");
        assertArrayEquals(expected.scales(), actual.scales(), what + ": scales");
        assertArrayEquals(expected.zeros(), actual.zeros(), what + ": zero points");
    }

    /** SHA-256 of bf16 patterns as little-endian bytes (the byte order of .npy and .qkv), in hex. */
    public static String sha256(short[] bits) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(2 * bits.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(bits);
        return sha256(b.array());
    }

    /** SHA-256 of bytes, in hex. */
    public static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }

    private static String hex(float f) {
        return "0x" + String.format("%08x", Float.floatToRawIntBits(f)) + " (" + f + ")";
    }

    private static String hex(short b) {
        return "0x" + String.format("%04x", b & 0xFFFF) + " (bf16 " + Bf16.toFloat(b) + ")";
    }
}
