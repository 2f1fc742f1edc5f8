package io.qvg4j.io;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** .npy / .npz / .safetensors reading and writing, against files NumPy wrote (the committed fuzz seeds). */
class TensorFilesTest {
    @TempDir
    Path dir;

    static byte[] seed(String target, String name) throws IOException {
        try (InputStream in = TensorFilesTest.class.getResourceAsStream("ParserFuzzTestInputs/" + target + "/" + name)) {
            return in.readAllBytes();
        }
    }

    @Test
    void npyWriterReproducesNumPyBytes() throws IOException {
        for (String name : new String[] {"u16", "f32", "f16", "u8", "i32", "empty"}) {
            byte[] numpy = seed("npy", name);
            NpyArray a = Npy.parse(ByteBuffer.wrap(numpy), name);
            assertArrayEquals(numpy, Npy.encode(a), name);
        }
    }

    @Test
    void npyVersions2And3ReadLikeVersion1() throws IOException {
        NpyArray v1 = Npy.parse(ByteBuffer.wrap(seed("npy", "u8")), "v1");
        for (String v : new String[] {"v2", "v3"}) {
            NpyArray a = Npy.parse(ByteBuffer.wrap(seed("npy", v)), v);
            assertArrayEquals(v1.shape(), a.shape());
            assertArrayEquals(v1.asUint8(), a.asUint8());
        }
    }

    @Test
    void npyFileIsMappedNotCopied() throws IOException {
        Path f = dir.resolve("a.npy");
        Npy.write(f, NpyArray.ofFloat32("a", new float[] {1f, -2.5f, 3e-3f}, 3));
        NpyArray a = Npy.read(f);
        assertTrue(a.data().isDirect(), "a mapped file gives a direct buffer");
        assertArrayEquals(new float[] {1f, -2.5f, 3e-3f}, a.asFloat32());
    }

    @Test
    void npzRoundTripAndNumPyArchives() throws IOException {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("ids0", NpyArray.ofUint8("ids0", new byte[] {1, 2, 3, 4}, 1, 1, 4));
        m.put("init0", NpyArray.ofInt32("init0", new int[] {0, 3}, 1, 2));
        Path f = dir.resolve("a.npz");
        Npy.writeNpz(f, m);
        Map<String, NpyArray> back = Npy.readNpz(f);
        assertEquals(m.keySet(), back.keySet());
        assertArrayEquals(new byte[] {1, 2, 3, 4}, back.get("ids0").asUint8());
        assertArrayEquals(new int[] {0, 3}, back.get("init0").asInt32());
        // np.savez and np.savez_compressed archives
        Files.write(f, seed("npz", "stored"));
        assertEquals(java.util.Set.of("x", "ids0"), Npy.readNpz(f).keySet());
        Files.write(f, seed("npz", "deflated"));
        assertArrayEquals(new long[] {2, 3, 4}, Npy.readNpz(f).get("x").shape());
    }

    @Test
    void safetensorsRoundTripEveryDtype() throws IOException {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("k", NpyArray.ofUint16("k", new short[] {0x3F80, (short) 0xC000}, 1, 1, 1, 2));
        m.put("h", NpyArray.ofFloat16Bits("h", new short[] {0x3C00}, 1));
        m.put("f", NpyArray.ofFloat32("f", new float[] {0.1f, 2f}, 2));
        m.put("u", NpyArray.ofUint8("u", new byte[] {7}, 1));
        m.put("i", NpyArray.ofInt32("i", new int[] {-1, 5}, 2));
        Path f = dir.resolve("a.safetensors");
        Safetensors.write(f, m, Map.of("format", "pt"));
        Map<String, NpyArray> back = Safetensors.read(f);
        assertEquals(m.keySet(), back.keySet());
        for (String k : m.keySet()) {
            assertEquals(m.get(k).dtype(), back.get(k).dtype(), k);
            assertArrayEquals(m.get(k).shape(), back.get(k).shape(), k);
            assertArrayEquals(m.get(k).bytes(), back.get(k).bytes(), k);
        }
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "header padded to 8 bytes");
        assertEquals(8 + headerLength + 4 + 2 + 8 + 1 + 8, Files.size(f));
    }

    @Test
    void safetensorsFromPythonSeeds() throws IOException {
        Map<String, NpyArray> two = Safetensors.parse(ByteBuffer.wrap(seed("safetensors", "two")), "two");
        assertEquals(NpyDtype.UINT16, two.get("k").dtype());
        assertArrayEquals(new long[] {1, 2, 4, 8}, two.get("k").shape());
        assertEquals(NpyDtype.FLOAT32, two.get("v").dtype());
        assertTrue(Safetensors.parse(ByteBuffer.wrap(seed("safetensors", "empty")), "empty").isEmpty());
    }

    @Test
    void floatTensorsAreRoundedToBf16AndThreeDimensionalShapesGetBatchOne() throws IOException {
        float[] v = {1.00390625f, 1.01171875f, -3.3f, 1e-30f};
        Path f = dir.resolve("x.safetensors");
        Safetensors.write(f, Map.of("x", NpyArray.ofFloat32("x", v, 1, 2, 2)), Map.of());
        TensorFiles.Loaded l = TensorFiles.load(f, "x");
        KvTensor x = l.tensor();
        assertEquals("[1,1,2,2]", x.shapeString());
        assertTrue(l.conversion().contains("F32 rounded to bf16"), l.conversion());
        for (int i = 0; i < v.length; i++) {
            assertEquals(Bf16.fromFloat(v[i]), x.bits()[i]);
        }
        // 1.00390625 is halfway between bf16 1.0 and 1.0078125: ties to even gives 1.0
        assertEquals((short) 0x3F80, x.bits()[0]);
        short[] half = {Float.floatToFloat16(1.5f), Float.floatToFloat16(-0.0999f)};
        Path g = dir.resolve("h.npy");
        Npy.write(g, NpyArray.ofFloat16Bits("h", half, 1, 1, 1, 2));
        KvTensor h = TensorFiles.load(g, null).tensor();
        assertEquals(Bf16.fromFloat(1.5f), h.bits()[0]);
        assertEquals(Bf16.fromFloat(Float.float16ToFloat(half[1])), h.bits()[1]);
    }

    @Test
    void badTensorChoicesAreOneLineErrors() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Safetensors.write(f, Map.of("a", NpyArray.ofUint8("a", new byte[4], 1, 1, 2, 2),
                "b", NpyArray.ofUint16("b", new short[4], 2, 2)), Map.of());
        assertMessage(() -> TensorFiles.load(f, null), "choose one with --tensor");
        assertMessage(() -> TensorFiles.load(f, "c"), "no tensor 'c'");
        assertMessage(() -> TensorFiles.load(f, "a"), "not a floating-point tensor");
        assertMessage(() -> TensorFiles.load(f, "b"), "is not [B,H,S,D] or [H,S,D]");
    }

    @Test
    void malformedFilesAreRejectedWithTheRuleBroken() throws IOException {
        byte[] good = seed("safetensors", "two");
        ByteBuffer b = ByteBuffer.wrap(good.clone()).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, 1L << 40);
        assertMessage(() -> Safetensors.parse(b, "s"), "outside 2..");
        assertMessage(() -> Safetensors.parse(ByteBuffer.wrap(good, 0, good.length - 1), "s"), "truncated");
        String overlap = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}";
        // The header alone is well formed: the overlap is a property of the data layout, found by parse.
        List<Safetensors.Entry> entries = assertDoesNotThrow(() -> Safetensors.parseHeader(overlap.getBytes(), "s"));
        assertEquals(List.of("a", "b"), entries.stream().map(Safetensors.Entry::name).toList());
        assertEquals(List.of(0L, 2L, 1L, 3L), entries.stream().flatMap(e -> java.util.stream.Stream.of(e.begin(), e.end())).toList());
        assertMessage(() -> Safetensors.parse(image(overlap, 3), "s"), "overlap");
        assertMessage(() -> Safetensors.parseHeader("{\"a\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[0,4]}}".getBytes(), "s"), "do not span the 6 bytes");
        assertMessage(() -> Safetensors.parseHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,2]}}".getBytes(), "s"), "do not span");
        assertMessage(() -> Safetensors.parseHeader("{\"a\":{\"dtype\":\"U8\",\"shape\":[65536,65536],\"data_offsets\":[0,2]}}".getBytes(), "s"), "2^31-1 elements");
        assertMessage(() -> Safetensors.parseHeader("{\"a\":".getBytes(), "s"), "not valid JSON");
        byte[] npy = seed("npy", "u16");
        assertMessage(() -> Npy.parse(ByteBuffer.wrap(npy, 0, npy.length - 2), "n"), "truncated");
        byte[] v9 = npy.clone();
        v9[6] = 9;
        assertMessage(() -> Npy.parse(ByteBuffer.wrap(v9), "n"), "unsupported .npy format version 9");
        byte[] magic = npy.clone();
        magic[1] = 'X';
        assertMessage(() -> Npy.parse(ByteBuffer.wrap(magic), "n"), "bad magic");
    }

    private static ByteBuffer image(String header, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length() + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length()).put(header.getBytes());
        return b.rewind();
    }

    /** Runs {@code r}, which must throw a one-line InvalidInputException whose message contains {@code part}. */
    static void assertMessage(ThrowingRunnable r, String part) {
        java.util.Objects.requireNonNull(part, "part");
        InvalidInputException e = assertThrows(InvalidInputException.class, r::run);
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
