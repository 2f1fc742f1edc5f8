package io.qvg4j.golden;

import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.KvTensor;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The golden parts of a case: SHA-256 digests of every array qvg4j produces for it, each hashed in a
 * fixed byte order (SPEC §13): bf16 values and int32 indices little-endian, byte arrays as they are,
 * fp32 attention outputs as little-endian IEEE bits. Iteration counts are kept as plain numbers.
 */
public final class Digests {
    private Digests() {}

    /**
     * The parts of one case, in the order of the pipeline: {@code input}, {@code init}; per stage t
     * {@code ids.t} and {@code centroids.t}; {@code iterations}; {@code packed}, {@code scales},
     * {@code zeros} (asymmetric only), {@code dequantized} of the full pipeline; then the same four of the
     * quantizer applied to the input itself ({@code direct.*}: every stage's centroids zero, so the
     * block quantizer sees the input's own values); then the two official baselines at the case's bits
     * and G ({@code rtn}, {@code nvfp4}).
     */
    public static Map<String, String> of(QvgCodec codec, GoldenCase c) {
        return of(codec, c, codec.encode(c.input(), c.config(), c.init()));
    }

    /** As {@link #of(QvgCodec, GoldenCase)}, given the span {@code codec.encode} returned for the case. */
    public static Map<String, String> of(QvgCodec codec, GoldenCase c, QuantizedSpan span) {
        Map<String, String> parts = new LinkedHashMap<>();
        KvTensor x = c.input();
        parts.put("input", sha256(x.bits()));
        parts.put("init", sha256(c.init()));
        for (int t = 0; t < c.config().stages(); t++) {
            parts.put("ids." + t, sha256(span.clusterIds()[t]));
            parts.put("centroids." + t, sha256(span.centroids()[t]));
        }
        parts.put("iterations", Arrays.stream(span.iterations()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        putQuantized(parts, "", codec, span);

        int stages = c.config().stages();
        byte[][] ids = new byte[stages][x.headCount() * x.tokens()];
        short[][] zero = new short[stages][x.headCount() * c.config().centroids() * x.dim()];
        putQuantized(parts, "direct.", codec, codec.encodeWithClustering(x, c.config(), ids, zero));

        parts.put("rtn", sha256(codec.rtnBaseline(x, c.config().bits(), c.config().groupSize()).bits()));
        parts.put("nvfp4", sha256(codec.nvfp4Baseline(x, c.config().groupSize()).bits()));
        return parts;
    }

    private static void putQuantized(Map<String, String> parts, String prefix, QvgCodec codec, QuantizedSpan span) {
        parts.put(prefix + "packed", sha256(span.packed()));
        parts.put(prefix + "scales", sha256(span.scales()));
        if (span.zeros() != null) {
            parts.put(prefix + "zeros", sha256(span.zeros()));
        }
        parts.put(prefix + "dequantized", sha256(codec.decode(span).bits()));
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    /** bf16 bit patterns as little-endian uint16. */
    public static String sha256(short[] bits) {
        byte[] b = new byte[bits.length * 2];
        for (int i = 0; i < bits.length; i++) {
            b[2 * i] = (byte) bits[i];
            b[2 * i + 1] = (byte) (bits[i] >>> 8);
        }
        return sha256(b);
    }

    /** fp32 values as their little-endian IEEE bits (raw, so NaN payloads count). */
    public static String sha256(float[] values) {
        byte[] b = new byte[values.length * 4];
        for (int i = 0; i < values.length; i++) {
            putInt(b, 4 * i, Float.floatToRawIntBits(values[i]));
        }
        return sha256(b);
    }

    /** Initial indices {@code [T][B·H][Kc]} in that order, each a little-endian int32. */
    public static String sha256(int[][][] init) {
        int n = 0;
        for (int[][] stage : init) {
            for (int[] head : stage) {
                n += head.length;
            }
        }
        byte[] b = new byte[n * 4];
        int at = 0;
        for (int[][] stage : init) {
            for (int[] head : stage) {
                for (int i : head) {
                    putInt(b, at, i);
                    at += 4;
                }
            }
        }
        return sha256(b);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }
}
