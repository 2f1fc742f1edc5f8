package io.qvg4j.cli;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.Qkv;
import io.qvg4j.io.Safetensors;
import io.qvg4j.io.TensorFiles;
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
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code qvg dequantize --stages} (SPEC §16.1) and {@code qvg quantize --eta} (SPEC §16.2) against the library. */
class DraftAndEtaCommandsTest {
    @TempDir
    Path dir;

    private Path input() throws IOException {
        SplittableRandom r = new SplittableRandom(5);
        float[] v = new float[2 * 48 * 32];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * (1 + i % 5));
        }
        Path f = dir.resolve("k.safetensors");
        Safetensors.write(f, Map.of("k", NpyArray.ofFloat32("k", v, 2, 48, 32)), Map.of());
        return f;
    }

    @Test
    void dequantizeStagesIsTheLibrarysDraft() throws IOException {
        Path in = input(), qkv = dir.resolve("k.qkv");
        assertEquals(0, CliRun.of("quantize", in.toString(), "--stages", "3", "--group-size", "16", "--centroids", "8",
                "-o", qkv.toString()).exit());
        QuantizedSpan span = Qkv.read(qkv).span();
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            for (int s = 1; s <= 3; s++) {
                Path out = dir.resolve("d" + s + ".npy");
                CliRun d = CliRun.of("dequantize", qkv.toString(), "--stages", String.valueOf(s), "--dtype", "bf16", "-o", out.toString());
                assertEquals(0, d.exit(), d.err());
                assertArrayEquals(codec.decode(span, s).bits(), TensorFiles.load(out, null).tensor().bits(), "s = " + s);
                assertEquals(s < 3, d.out().contains("draft of " + s + " of 3 stages: read "), d.out());
            }
        }
        for (String s : new String[]{"0", "4"}) {
            Path out = dir.resolve("bad.npy");
            CliRun d = CliRun.of("dequantize", qkv.toString(), "--stages", s, "-o", out.toString());
            assertEquals(2, d.exit());
            assertEquals("qvg: --stages " + s + ": " + qkv + " has T = 3 PRQ stages; a draft reads 1..3 of them (SPEC §16.1)",
                    d.err().strip());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void quantizeEtaIsTheLibrarysCalibration() throws IOException {
        Path in = input(), qkv = dir.resolve("k.qkv");
        CliRun q = CliRun.of("quantize", in.toString(), "--asymmetric", "--eta", "0.25", "--group-size", "16",
                "--centroids", "8", "--seed", "3", "-o", qkv.toString());
        assertEquals(0, q.exit(), q.err());
        assertTrue(q.out().contains("η=0.25"), q.out());
        KvTensor x = TensorFiles.load(in, "k").tensor();
        QuantConfig c = new QuantConfig(2, 16, 1, 8, true, ScaleFormat.FP8_E4M3, 2, 1e-4f, 0.25f);
        QuantizedSpan stored = Qkv.read(qkv).span();
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantizedSpan expected = codec.encode(x, c, InitIndices.fromSeed(3, 1, x.headCount(), 8, x.tokens()));
            QuantizedSpan plain = codec.encode(x, c.withEta(0f), InitIndices.fromSeed(3, 1, x.headCount(), 8, x.tokens()));
            assertArrayEquals(expected.packed(), stored.packed());
            assertArrayEquals(expected.scales(), stored.scales());
            assertArrayEquals(expected.zeros(), stored.zeros());
            assertArrayEquals(plain.packed(), stored.packed(), "η changes no code");
            assertFalse(Arrays.equals(plain.zeros(), stored.zeros()), "η moves the zero points");
        }
        for (String[] args : new String[][]{{"--eta", "0.25"}, {"--asymmetric", "--eta", "0.75"}}) {
            Path out = dir.resolve("bad.qkv");
            String[] all = new String[args.length + 4];
            all[0] = "quantize";
            all[1] = in.toString();
            System.arraycopy(args, 0, all, 2, args.length);
            all[args.length + 2] = "-o";
            all[args.length + 3] = out.toString();
            CliRun r = CliRun.of(all);
            assertEquals(2, r.exit(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(Files.exists(out));
        }
    }
}
