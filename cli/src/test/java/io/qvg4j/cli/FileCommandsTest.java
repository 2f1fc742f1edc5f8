package io.qvg4j.cli;

import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.Qkv;
import io.qvg4j.io.Safetensors;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** quantize / dequantize / inspect / verify end to end, on temp files and the repository's corpus. */
class FileCommandsTest {
    @TempDir
    Path dir;

    static final long SEED = 77L;

    /** An F32 [H,S,D] tensor in a .safetensors file next to a distractor, values from a seeded Gaussian. */
    private Path floatInput() throws IOException {
        SplittableRandom r = new SplittableRandom(SEED);
        float[] v = new float[3 * 40 * 32];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * (1 + i % 32));
        }
        Path f = dir.resolve("kv.safetensors");
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("k", NpyArray.ofFloat32("k", v, 3, 40, 32));
        m.put("note", NpyArray.ofUint8("note", new byte[] {1}, 1));
        Safetensors.write(f, m, Map.of());
        return f;
    }

    @Test
    void safetensorsQuantizeDequantizeEqualsTheInMemoryPipeline() throws IOException {
        Path in = floatInput();
        Path qkv = dir.resolve("k.qkv");
        CliRun q = CliRun.of("quantize", in.toString(), "--tensor", "k", "--bits", "4", "--group-size", "16", "--stages", "2",
                "--centroids", "8", "--asymmetric", "--iters", "5", "--seed", String.valueOf(SEED), "-o", qkv.toString());
        assertEquals(0, q.exit(), q.err());
        assertTrue(q.out().contains("F32 rounded to bf16 (round to nearest even)"), q.out());

        KvTensor x = TensorFiles.load(in, "k").tensor();
        QuantConfig cfg = new QuantConfig(4, 16, 2, 8, true, ScaleFormat.FP8_E4M3, 5, 1e-4f);
        QuantizedSpan expected;
        KvTensor expectedDeq;
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            expected = codec.encode(x, cfg, InitIndices.fromSeed(SEED, 2, x.headCount(), 8, x.tokens()));
            expectedDeq = codec.decode(expected);
        }
        QuantizedSpan stored = Qkv.read(qkv).span();
        assertEquals(cfg, stored.config());
        assertTrue(Arrays.deepEquals(expected.clusterIds(), stored.clusterIds()), "seed " + SEED);
        assertTrue(Arrays.deepEquals(expected.centroids(), stored.centroids()), "seed " + SEED);
        assertArrayEquals(expected.packed(), stored.packed());
        assertArrayEquals(expected.scales(), stored.scales());
        assertArrayEquals(expected.zeros(), stored.zeros());

        for (String out : new String[] {"deq.safetensors", "deq.npy"}) {
            Path o = dir.resolve(out);
            CliRun d = CliRun.of("dequantize", qkv.toString(), "-o", o.toString());
            assertEquals(0, d.exit(), d.err());
            KvTensor back = TensorFiles.load(o, null).tensor();
            assertEquals("[1,3,40,32]", back.shapeString());
            assertArrayEquals(expectedDeq.bits(), back.bits(), out + ", seed " + SEED);
        }
        CliRun i = CliRun.of("inspect", qkv.toString());
        assertEquals(0, i.exit(), i.err());
        assertTrue(i.out().contains("bits 4, G 16, T 2, Kc 8, asymmetric"), i.out());
        assertTrue(i.out().contains("compression"), i.out());
    }

    @Test
    void verifyPassesOnTheConformanceCorpus() {
        for (String c : List.of("edge_int2_g64_t1", "edge_int4_g16_t1_asym")) {
            Path npz = CliRun.corpus().resolve(c + ".npz");
            CliRun v = CliRun.of("verify", "--input", npz.toString(), "--tensor", "x", "--official", npz.toString());
            assertEquals(0, v.exit(), v.out() + v.err());
            assertTrue(v.out().contains("65536/65536 bit-exact, max ulp 0"), v.out());
            assertTrue(v.out().strip().endsWith("PASS"), v.out());
        }
        // A two-stage case whose input is a separate .npy and whose output is known by its SHA-256 only.
        CliRun v = CliRun.of("verify", "--input", CliRun.corpus().resolve("city_a_k.npy").toString(), "--official",
                CliRun.corpus().resolve("city_a_k_int2_g16_t2.npz").toString());
        assertEquals(0, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("deq_sha256   bit-exact"), v.out());
        assertTrue(v.out().contains("T=2"), v.out());
    }

    @Test
    void verifyNamesTheFirstDifferingElementOfATamperedCopy() throws IOException {
        Path npz = CliRun.corpus().resolve("edge_int2_g64_t1.npz");
        Map<String, NpyArray> arrays = Npy.readNpz(npz);
        short[] deq = arrays.get("deq").asUint16();
        int flat = (7 * 128) + 5; // [0,0,7,5]
        deq[flat] ^= 1;
        Map<String, NpyArray> tampered = new LinkedHashMap<>(arrays);
        tampered.put("deq", NpyArray.ofUint16("deq", deq, 1, 1, 512, 128));
        Path copy = dir.resolve("tampered.npz");
        Npy.writeNpz(copy, tampered);
        CliRun v = CliRun.of("verify", "--input", npz.toString(), "--tensor", "x", "--official", copy.toString());
        assertEquals(1, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("65535/65536 bit-exact, max ulp 1"), v.out());
        assertTrue(v.out().contains("FAIL: first differing element [0,0,7,5]"), v.out());

        byte[] packed = arrays.get("packed").asUint8();
        packed[300 * 32 + 3] ^= 0x40; // token 300, byte 3: channels 12..15, the flipped bits are channel 12's
        tampered.put("packed", NpyArray.ofUint8("packed", packed, 1, 1, 512, 32));
        tampered.put("deq", arrays.get("deq"));
        Npy.writeNpz(copy, tampered);
        v = CliRun.of("verify", "--input", npz.toString(), "--tensor", "x", "--official", copy.toString());
        assertEquals(1, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("packed       DIFFERS: 1 of 16384 bytes, first at [0,0,300] byte 3 (channels 12..15)"), v.out());
        assertTrue(v.out().contains("FAIL: first differing element [0,0,300,12]"), v.out());
    }

    @Test
    void verifyWithOnlyADequantizedTensor() throws IOException {
        Path in = floatInput();
        Path qkv = dir.resolve("k.qkv");
        assertEquals(0, CliRun.of("quantize", in.toString(), "--tensor", "k", "--group-size", "16", "--centroids", "8",
                "-o", qkv.toString()).exit());
        Path official = Files.createDirectory(dir.resolve("official"));
        assertEquals(0, CliRun.of("dequantize", qkv.toString(), "--dtype", "bf16", "-o", official.resolve("deq.npy").toString()).exit());
        CliRun v = CliRun.of("verify", "--input", in.toString(), "--tensor", "k", "--official", official.toString(),
                "--group-size", "16", "--centroids", "8", "--exact");
        assertEquals(0, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("3840/3840 bit-exact"), v.out());
        // Another seed gives other clusters, so --exact fails and names the first difference.
        v = CliRun.of("verify", "--input", in.toString(), "--tensor", "k", "--official", official.toString(),
                "--group-size", "16", "--centroids", "8", "--seed", "5", "--exact");
        assertEquals(1, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("FAIL: first differing element ["), v.out());
    }

    @Test
    void badInputIsOneLineWithExitTwoAndNoOutputFile() throws IOException {
        Path in = floatInput();
        Path out = dir.resolve("never.qkv");
        List<String[]> bad = List.of(
                new String[] {"quantize", in.toString(), "-o", out.toString()},
                new String[] {"quantize", in.toString(), "--tensor", "k", "--bits", "5", "-o", out.toString()},
                new String[] {"quantize", in.toString(), "--tensor", "k", "--group-size", "7", "-o", out.toString()},
                new String[] {"quantize", dir.resolve("missing.npy").toString(), "-o", out.toString()},
                new String[] {"quantize", in.toString(), "--tensor", "k", "-o", dir.resolve("x.bin").toString()},
                new String[] {"quantize", in.toString(), "--tensor", "k", "--bogus", "-o", out.toString()},
                new String[] {"dequantize", in.toString(), "-o", dir.resolve("d.npy").toString()},
                new String[] {"inspect", dir.resolve("x.txt").toString()},
                new String[] {"verify", "--input", in.toString(), "--tensor", "k", "--official", in.toString()});
        for (String[] args : bad) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exit(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().startsWith("qvg: "), r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of("kv.safetensors"), files.map(p -> p.getFileName().toString()).toList(),
                    "no output or temporary file left behind");
        }
        Path truncated = dir.resolve("t.qkv");
        assertEquals(0, CliRun.of("quantize", in.toString(), "--tensor", "k", "--group-size", "16", "--centroids", "8",
                "-o", truncated.toString()).exit());
        byte[] bytes = Files.readAllBytes(truncated);
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 3));
        CliRun r = CliRun.of("inspect", truncated.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().matches("qvg: .*t\\.qkv: truncated: section SCAL needs \\d+ bytes at byte \\d+, the file holds \\d+\\R"), r.err());
    }

    @Test
    void everyCommandHasHelp() {
        for (String c : List.of("quantize", "dequantize", "inspect", "verify")) {
            CliRun r = CliRun.of(c, "--help");
            assertEquals(0, r.exit(), c);
            assertTrue(r.out().startsWith("Usage: qvg " + c), r.out());
        }
    }
}
