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

/** quantize / dequantize / inspect end to end (verify: VerifyCommandTest), on temp files and the repository's corpus. */
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
                new String[] {"verify", "--input", in.toString(), "--tensor", "k", "--yours", in.toString()});
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
