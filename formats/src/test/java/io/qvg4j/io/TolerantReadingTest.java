package io.qvg4j.io;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.qvg4j.io.TensorFilesTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files as PyTorch and NumPy write them: tensors of dtypes qvg4j does not read next to the K/V tensor, the
 * 64-bit and 8-bit dtypes, [B,S,H,D] layouts, damaged archives, and files larger than 2 GiB.
 */
class TolerantReadingTest {
    @TempDir
    Path dir;

    private static final short[] K = {0x3F80, (short) 0xC000, 0x3E00, 0x4100};

    /** A safetensors header written by hand, with the tensors' data laid out in order after it. */
    private static byte[] safetensors(String json, byte[] data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(h.length).put(h).put(data).array();
    }

    @Test
    void safetensorsServesItsGoodTensorsWhateverElseItHolds() throws IOException {
        // What torch.save-to-safetensors of a cache with a position tensor and a step counter gives, plus a
        // complex and a sub-byte tensor qvg4j has no use for.
        ByteBuffer data = ByteBuffer.allocate(8 + 8 * 3 + 8 + 2 * 2 + 8 + 1 + 1).order(ByteOrder.LITTLE_ENDIAN);
        for (short k : K) {
            data.putShort(k);
        }
        data.putLong(0).putLong(1).putLong(2);          // pos  I64 [3]
        data.putDouble(0.25);                              // lr   F64 []
        data.putShort((short) 1).putShort((short) -1);    // i16  I16 [2]
        data.putFloat(1f).putFloat(0f);                    // c    C64 [1]
        data.put((byte) 0x38);                             // f8   F8_E4M3 [1] = 1.0
        data.put((byte) 0x12);                             // f4   F4 [2] (two nibbles)
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"k\":{\"dtype\":\"BF16\",\"shape\":[1,1,2,2],\"data_offsets\":[0,8]},"
                + "\"pos\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[8,32]},"
                + "\"lr\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[32,40]},"
                + "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[40,44]},"
                + "\"c\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[44,52]},"
                + "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[52,53]},"
                + "\"f4\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[53,54]}}";
        Path f = dir.resolve("cache.safetensors");
        Files.write(f, safetensors(json, data.array()));

        KvTensor k = TensorFiles.load(f, "k").tensor();
        assertArrayEquals(K, k.bits());
        List<TensorEntry> all = TensorFiles.list(f);
        assertEquals(List.of("k", "pos", "lr", "i16", "c", "f8", "f4"), all.stream().map(TensorEntry::name).toList());
        assertEquals(List.of("BF16", "I64", "F64", "I16", "C64", "F8_E4M3", "F4"), all.stream().map(TensorEntry::dtype).toList());
        assertEquals(List.of(true, true, true, false, false, true, false), all.stream().map(TensorEntry::readable).toList());
        assertTrue(all.get(3).unreadable().contains("I16 is not read"), all.get(3).unreadable());
        Map<String, NpyArray> readable = TensorFiles.readAll(f);
        assertEquals(List.of("k", "pos", "lr", "f8"), List.copyOf(readable.keySet()));
        assertArrayEquals(new long[] {0, 1, 2}, readable.get("pos").asInt64());
        assertArrayEquals(new int[] {0, 1, 2}, readable.get("pos").asIndices());
        assertArrayEquals(new double[] {0.25}, readable.get("lr").asFloat64());
        assertArrayEquals(new byte[] {0x38}, readable.get("f8").asFloat8E4M3());
        assertMessage(() -> TensorFiles.load(f, "i16"), "tensor 'i16': dtype I16 is not read by qvg4j");
        assertMessage(() -> TensorFiles.load(f, "pos"), "not a floating-point tensor");
        assertMessage(() -> TensorFiles.load(f, null), "choose one with --tensor");
    }

    @Test
    void newDtypesRoundTripThroughSafetensorsAndNpy() throws IOException {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("i", NpyArray.ofInt64("i", new long[] {-1, 1L << 40}, 2));
        m.put("d", NpyArray.ofFloat64("d", new double[] {Math.PI, -0.0}, 2));
        m.put("e", NpyArray.ofFloat8E4M3("e", new byte[] {0x7E, (byte) 0x80}, 2));
        Path st = dir.resolve("n.safetensors");
        Safetensors.write(st, m, Map.of());
        Map<String, NpyArray> back = Safetensors.read(st);
        assertEquals(NpyDtype.FLOAT8_E4M3, back.get("e").dtype());
        for (String k : m.keySet()) {
            assertArrayEquals(m.get(k).bytes(), back.get(k).bytes(), k);
        }
        assertMessage(() -> back.get("i").asIndices(), "outside the int32 range");
        Path npy = dir.resolve("d.npy");
        Npy.write(npy, m.get("d"));
        assertArrayEquals(new double[] {Math.PI, -0.0}, Npy.read(npy).asFloat64());
        assertTrue(new String(Files.readAllBytes(npy), StandardCharsets.ISO_8859_1).contains("'descr': '<f8'"));
        assertMessage(() -> Npy.encode(m.get("e")), "NumPy has no dtype for FLOAT8_E4M3");
    }

    @Test
    void npzServesItsGoodMembersWhateverElseItHolds() throws IOException {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("k", NpyArray.ofUint16("k", K, 1, 1, 2, 2));
        m.put("step", NpyArray.ofInt64("step", new long[] {12}));
        byte[] npz = Npy.encodeNpz(m);
        // Rewrite the step member's dtype to '<i2' in place ('<i8' has the same length), CRC fixed up by
        // re-encoding: easier is a second archive with a member NumPy would write for np.int16.
        byte[] i16 = Npy.encode(NpyArray.ofUint16("s", new short[] {5}, 1));
        String text = new String(i16, StandardCharsets.ISO_8859_1).replace("'<u2'", "'<i2'");
        Path f = dir.resolve("cache.npz");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(f))) {
            try (var in = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(npz))) {
                for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                    zip.putNextEntry(new java.util.zip.ZipEntry(e.getName()));
                    zip.write(in.readAllBytes());
                }
            }
            zip.putNextEntry(new java.util.zip.ZipEntry("s.npy"));
            zip.write(text.getBytes(StandardCharsets.ISO_8859_1));
        }
        assertArrayEquals(K, TensorFiles.load(f, "k").tensor().bits());
        List<TensorEntry> all = TensorFiles.list(f);
        assertEquals(List.of("k", "step", "s"), all.stream().map(TensorEntry::name).toList());
        assertEquals(List.of("uint16 (bf16 bits)", "int64", "<i2"), all.stream().map(TensorEntry::dtype).toList());
        assertFalse(all.get(2).readable());
        assertArrayEquals(new long[] {12}, TensorFiles.readAll(f).get("step").asInt64());
        assertMessage(() -> TensorFiles.load(f, "s"), "dtype '<i2' is not read by qvg4j");
        assertMessage(() -> TensorFiles.load(f, "nope"), "no tensor 'nope'; it holds [k, step, s]");
    }

    @Test
    void damagedStoredNpzMemberFailsItsCrc() throws IOException {
        Path f = dir.resolve("a.npz");
        Npy.writeNpz(f, Map.of("k", NpyArray.ofUint16("k", K, 1, 1, 2, 2)));
        byte[] b = Files.readAllBytes(f);
        // The last data byte of the only (stored) member: its high byte of K[3]; the directory follows it.
        int at = indexOf(b, new byte[] {0x00, 0x41}) + 1;
        b[at] ^= 0x01;
        Files.write(f, b);
        assertMessage(() -> TensorFiles.load(f, "k"), "bad CRC-32");
        assertMessage(() -> TensorFiles.list(f), "bad CRC-32");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }

    @Test
    void float64IsRoundedToBf16Once() throws IOException {
        // 1 + 2^-8 + 2^-40 lies just above the tie between bf16 1.0 and 1 + 2^-7: one rounding gives 1 + 2^-7,
        // rounding through float first (which lands on the tie exactly) would give 1.0.
        double[] v = {1 + 0x1p-8 + 0x1p-40, -(1 + 0x1p-8 + 0x1p-40), 1 + 0x1p-8, 0.1, 1e-300, 3.3961e38, 1e39,
                Double.NaN, 0x1p-133 + 0x1p-160, -0.0};
        for (double d : v) {
            assertEquals(nearestBf16(d), TensorFiles.bf16(d), () -> "bf16 of " + d);
        }
        Path f = dir.resolve("d.npy");
        Npy.write(f, NpyArray.ofFloat64("d", new double[] {1 + 0x1p-8 + 0x1p-40, 2}, 1, 1, 2));
        TensorFiles.Loaded l = TensorFiles.load(f, null);
        assertEquals((short) 0x3F81, l.tensor().bits()[0]);
        assertTrue(l.conversion().contains("float64 rounded to bf16"), l.conversion());
    }

    /** The bf16 nearest to d (ties to even), found by exact decimal comparison of the two neighbours. */
    private static short nearestBf16(double d) {
        if (Double.isNaN(d)) {
            return Bf16.CANONICAL_NAN;
        }
        // Candidates: the bf16 values around d, by truncating its float approximation to bf16 and stepping.
        float f = (float) d;
        if (Float.isInfinite(f)) {
            f = Math.copySign(Float.MAX_VALUE, f);
        }
        int t = (Float.floatToRawIntBits(f) >>> 16) & 0xFFFF;
        short best = 0;
        BigDecimal bestDist = null;
        BigDecimal exact = new BigDecimal(d);
        for (int c = t - 2; c <= t + 2; c++) {
            short bits = (short) c;
            if (((bits & 0x8000) != (t & 0x8000)) && c != t) {
                continue;
            }
            float cand = Bf16.toFloat(bits);
            BigDecimal dist;
            if (Float.isNaN(cand)) {
                continue;
            }
            if (Float.isInfinite(cand)) {
                // Overflow threshold: max bf16 + half its ulp.
                BigDecimal limit = new BigDecimal(Bf16.toFloat((short) 0x7F7F)).add(new BigDecimal(0x1p119));
                if (exact.abs().compareTo(limit) >= 0) {
                    return bits;
                }
                continue;
            }
            dist = exact.subtract(new BigDecimal(cand)).abs();
            int cmp = bestDist == null ? -1 : dist.compareTo(bestDist);
            if (cmp < 0 || (cmp == 0 && (bits & 1) == 0)) {
                best = bits;
                bestDist = dist;
            }
        }
        return best;
    }

    @Test
    void float8E4M3IsWidenedExactly() throws IOException {
        byte[] codes = new byte[256];
        for (int i = 0; i < 256; i++) {
            codes[i] = (byte) i;
        }
        Path f = dir.resolve("e.safetensors");
        Safetensors.write(f, Map.of("e", NpyArray.ofFloat8E4M3("e", codes, 1, 16, 16)), Map.of());
        KvTensor x = TensorFiles.load(f, "e").tensor();
        for (int i = 0; i < 256; i++) {
            float v = Fp8E4M3.decode((byte) i);
            if (Float.isNaN(v)) {
                assertEquals(Bf16.CANONICAL_NAN, x.bits()[i]);
            } else {
                assertEquals(v, Bf16.toFloat(x.bits()[i]), "code " + i); // exact: 3 mantissa bits fit in bf16's 7
            }
        }
    }

    @Test
    void bshdLayoutIsTransposedToBhsd() throws IOException {
        int b = 2, s = 3, h = 4, d = 2;
        short[] v = new short[b * s * h * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = (short) (0x3F80 + i);
        }
        Path f = dir.resolve("x.safetensors");
        Safetensors.write(f, Map.of("x", NpyArray.ofUint16("x", v, b, s, h, d)), Map.of());
        TensorFiles.Loaded l = TensorFiles.load(f, "x", TensorLayout.BSHD);
        KvTensor x = l.tensor();
        assertEquals("[2,4,3,2]", x.shapeString());
        for (int ib = 0; ib < b; ib++) {
            for (int is = 0; is < s; is++) {
                for (int ih = 0; ih < h; ih++) {
                    for (int id = 0; id < d; id++) {
                        assertEquals(v[((ib * s + is) * h + ih) * d + id], x.bits()[((ib * h + ih) * s + is) * d + id]);
                    }
                }
            }
        }
        assertEquals(TensorLayout.BSHD, l.layout());
        assertMessage(() -> TensorFiles.load(f, "x", TensorLayout.HSD), "is not [H,S,D] as --layout hsd needs");
        Path g = dir.resolve("y.safetensors");
        Safetensors.write(g, Map.of("y", NpyArray.ofUint16("y", v, 48)), Map.of());
        assertMessage(() -> TensorFiles.load(g, "y"), "for [B,S,H,D] give --layout bshd");
    }

    @Test
    void aFileOver2GiBServesTheTensorAskedFor() throws IOException {
        // A sparse file: a 2.5 GiB I64 padding tensor that is never written (a hole), then a small BF16 K.
        long pad = 335_544_320L * 8;
        String json = "{\"pad\":{\"dtype\":\"I64\",\"shape\":[335544320],\"data_offsets\":[0," + pad + "]},"
                + "\"k\":{\"dtype\":\"BF16\",\"shape\":[1,1,2,2],\"data_offsets\":[" + pad + "," + (pad + 8) + "]}}";
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            ByteBuffer head = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
            raf.write(head.array());
            raf.seek(8 + h.length + pad);
            ByteBuffer k = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            for (short x : K) {
                k.putShort(x);
            }
            raf.write(k.array());
        }
        assertTrue(Files.size(f) > (2L << 30), "over 2 GiB");
        assertArrayEquals(K, TensorFiles.load(f, "k").tensor().bits());
        List<TensorEntry> all = TensorFiles.list(f);
        assertFalse(all.get(0).readable());
        assertTrue(all.get(0).unreadable().contains("over 2 GiB"), all.get(0).unreadable());
        assertNull(TensorFiles.readAll(f).get("pad"));
    }
}
