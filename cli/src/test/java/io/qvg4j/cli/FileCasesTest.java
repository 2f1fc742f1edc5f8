package io.qvg4j.cli;

import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.Qkv;
import io.qvg4j.io.Safetensors;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.io.TensorLayout;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The file commands as PyTorch and NumPy users call them: layouts, dtypes, names, refusals and warnings. */
class FileCasesTest {
    @TempDir
    Path dir;

    static final long SEED = 11L;
    static final int H = 2, S = 64, D = 32;

    /** A seeded Gaussian [H,S,D] float tensor scaled by {@code scale}. */
    static float[] gaussian(double scale) {
        SplittableRandom r = new SplittableRandom(SEED);
        float[] v = new float[H * S * D];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return v;
    }

    static final String[] SMALL = {"--group-size", "16", "--centroids", "8"};

    /** The command line {@code command} followed by the options {@code opts}. */
    private static String[] args(String[] opts, String... command) {
        String[] out = java.util.Arrays.copyOf(command, command.length + opts.length);
        System.arraycopy(opts, 0, out, command.length, opts.length);
        return out;
    }

    private static CliRun ok(String... a) {
        CliRun r = CliRun.of(a);
        assertEquals(0, r.exit(), String.join(" ", a) + "\n" + r.out() + r.err());
        return r;
    }

    private static CliRun fails(String part, String... a) {
        CliRun r = CliRun.of(a);
        assertEquals(2, r.exit(), String.join(" ", a) + "\n" + r.out() + r.err());
        assertTrue(r.err().startsWith("qvg: ") && r.err().contains(part), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        return r;
    }

    @Test
    void aFileWithTensorsOfOtherDtypesServesTheOneAskedFor() throws IOException {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("pos", NpyArray.ofInt64("pos", new long[] {0, 1, 2, 3}, 4));
        m.put("k", NpyArray.ofFloat32("k", gaussian(1), H, S, D));
        m.put("lr", NpyArray.ofFloat64("lr", new double[] {1e-4}));
        m.put("amax", NpyArray.ofFloat8E4M3("amax", new byte[] {0x40}, 1));
        Path st = dir.resolve("cache.safetensors");
        Safetensors.write(st, m, Map.of());
        Path npz = dir.resolve("cache.npz");
        Map<String, NpyArray> z = new LinkedHashMap<>(m);
        z.remove("amax"); // NumPy has no float8
        z.put("step", NpyArray.ofInt64("step", new long[] {7}));
        Npy.writeNpz(npz, z);
        for (Path in : List.of(st, npz)) {
            ok(args(SMALL, "quantize", in.toString(), "--tensor", "k", "-o", dir.resolve("k.qkv").toString()));
            CliRun i = ok("inspect", in.toString());
            assertTrue(i.out().lines().anyMatch(l -> l.matches("  pos +(I64|int64) +\\[4\\] +not quantizable: not a floating-point tensor")), i.out());
            assertTrue(i.out().lines().anyMatch(l -> l.matches("  k +(F32|float32) +\\[2, 64, 32\\]")), i.out());
            assertTrue(i.out().lines().anyMatch(l -> l.matches("  lr +(F64|float64) +\\[\\] +not quantizable: 0-D.*")), i.out());
        }
        // verify: an input and an official file that both hold tensors of other dtypes next to theirs.
        Path qkv = dir.resolve("k.qkv");
        ok(args(SMALL, "quantize", st.toString(), "--tensor", "k", "-o", qkv.toString()));
        Path deq = dir.resolve("deq.safetensors");
        ok("dequantize", qkv.toString(), "--tensor", "deq", "-o", deq.toString());
        Map<String, NpyArray> official = new LinkedHashMap<>(Safetensors.read(deq));
        official.put("step", NpyArray.ofInt64("step", new long[] {3}));
        official.put("lr", NpyArray.ofFloat64("lr", new double[] {1e-4}));
        Safetensors.write(deq, official, Map.of());
        CliRun v = ok(args(SMALL, "verify", "--input", st.toString(), "--tensor", "k", "--yours", deq.toString(), "--kmeans", "qvg4j"));
        assertTrue(v.out().strip().endsWith("levels checked agree with qvg4j"), v.out());
        assertTrue(v.out().contains("not read: step lr"), v.out());
    }

    @Test
    void aStaleTemporaryFileOfAKilledRunIsRemovedAndNamed() throws IOException {
        Path in = dir.resolve("k.npy");
        Npy.write(in, NpyArray.ofFloat32("k", gaussian(1), H, S, D));
        long dead = ProcessHandle.current().pid();
        while (ProcessHandle.of(++dead).isPresent()) {
            // a process id nobody runs, as a SIGKILLed run leaves it
        }
        Path stale = Files.write(dir.resolve(".k.qkv." + dead + ".9c1f.tmp"), new byte[1000]);
        CliRun r = ok(args(SMALL, "quantize", in.toString(), "-o", dir.resolve("k.qkv").toString()));
        assertTrue(r.err().contains("qvg: removed " + stale + ", a temporary file left by a killed run"), r.err());
        assertFalse(Files.exists(stale));
    }

    @Test
    void anUnreadableInputSaysPermissionDenied() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeFalse("root".equals(System.getProperty("user.name")),
                "root reads every file; FileErrors.named's mapping is tested in formats' AtomicFileTest");
        Path in = dir.resolve("k.npy");
        Npy.write(in, NpyArray.ofFloat32("k", gaussian(1), H, S, D));
        assertTrue(in.toFile().setReadable(false, false));
        fails(in + ": permission denied", "inspect", in.toString());
    }

    @Test
    void bshdIsRefusedAsBhsdAndReadWithLayout() throws IOException {
        // [B,S,H,D] = [1,64,2,32]: read as [B,H,S,D] that is S = 2 tokens, fewer than Kc = 8.
        float[] v = gaussian(1);
        Path f = dir.resolve("fa.safetensors");
        Safetensors.write(f, Map.of("k", NpyArray.ofFloat32("k", v, 1, S, H, D)), Map.of());
        Path out = dir.resolve("fa.qkv");
        fails("S = 2 tokens is below Kc = 8 centroids", args(SMALL, "quantize", f.toString(), "-o", out.toString()));
        CliRun r = fails("pass --layout bshd", args(SMALL, "quantize", f.toString(), "-o", out.toString()));
        assertTrue(r.err().contains("or --force"), r.err());
        assertFalse(Files.exists(out));
        ok(args(SMALL, "quantize", f.toString(), "--layout", "bshd", "-o", out.toString()));
        Qkv.Contents c = Qkv.read(out);
        assertEquals("[1,2,64,32]", KvTensor.shapeString(c.span().batch(), c.span().heads(), c.span().tokens(), c.span().dim()));
        assertEquals(new Qkv.Source("k", TensorLayout.BSHD), c.source());
        // dequantize gives [B,S,H,D] back: output [0,s,h,d] is the decoded span's [0,h,s,d].
        Path deq = dir.resolve("fa_deq.safetensors");
        ok("dequantize", out.toString(), "--dtype", "f32", "-o", deq.toString());
        NpyArray back = Safetensors.read(deq).get("k");
        assertArrayEquals(new long[] {1, S, H, D}, back.shape());
        short[] bhsd;
        try (var codec = new io.qvg4j.codec.CpuCodec(io.qvg4j.codec.ScalarKernels.INSTANCE, 1)) {
            bhsd = codec.decode(c.span()).bits();
        }
        float[] got = back.asFloat32();
        for (int s = 0; s < S; s++) {
            for (int h = 0; h < H; h++) {
                for (int d = 0; d < D; d++) {
                    assertEquals(Bf16.toFloat(bhsd[(h * S + s) * D + d]), got[(s * H + h) * D + d]);
                }
            }
        }
        assertTrue(relL2(v, got) < 0.6, "rel-L2 " + relL2(v, got)); // INT2: ~0.5; a transposed read gives ~1.4
        fails("--layout xyz: use bhsd, bshd or hsd", "quantize", f.toString(), "--layout", "xyz", "-o", out.toString());
    }

    static double relL2(float[] ref, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (got[i] - (double) ref[i]) * (got[i] - (double) ref[i]);
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void wastefulContainersAreRefusedUnlessForced() throws IOException {
        Path f = dir.resolve("k.npy");
        Npy.write(f, NpyArray.ofFloat32("k", gaussian(1), H, S, D));
        Path out = dir.resolve("k.qkv");
        // Default Kc = 256 > S = 64.
        fails("S = 64 tokens is below Kc = 256 centroids", "quantize", f.toString(), "--group-size", "16", "-o", out.toString());
        // Kc = 64 = S but T = 4 stages of 64x32 bf16 centroid tables outweigh the 2x64x32 bf16 tensor.
        fails("would not be smaller than bf16", "quantize", f.toString(), "--centroids", "64", "--stages", "4",
                "--group-size", "16", "-o", out.toString());
        assertFalse(Files.exists(out));
        CliRun r = ok("quantize", f.toString(), "--centroids", "64", "--stages", "4", "--group-size", "16", "--force",
                "-o", out.toString());
        assertTrue(r.out().contains("smaller than bf16"), r.out());
        assertTrue(Files.exists(out));
    }

    @Test
    void dequantizeKeepsNameRankAndWritesFloats() throws IOException {
        float[] v = gaussian(1);
        Path in = dir.resolve("layer3.npy");
        Npy.write(in, NpyArray.ofFloat32("x", v, H, S, D));
        Path qkv = dir.resolve("l.qkv");
        ok(args(SMALL, "quantize", in.toString(), "--tensor", "key_cache", "-o", qkv.toString()));
        assertEquals("key_cache", Qkv.read(qkv).source().name(), "--tensor names a .npy's tensor");
        KvTensor expected;
        try (var codec = new io.qvg4j.codec.CpuCodec(io.qvg4j.codec.ScalarKernels.INSTANCE, 1)) {
            expected = codec.decode(Qkv.read(qkv).span());
        }
        // .npy: float32 by default, [H,S,D] as the input was; the values are the bf16 ones, exactly.
        Path npy = dir.resolve("d.npy");
        ok("dequantize", qkv.toString(), "-o", npy.toString());
        NpyArray a = Npy.read(npy);
        assertEquals(io.qvg4j.io.NpyDtype.FLOAT32, a.dtype());
        assertArrayEquals(new long[] {H, S, D}, a.shape());
        float[] f = a.asFloat32();
        for (int i = 0; i < f.length; i++) {
            assertEquals(Bf16.toFloat(expected.bits()[i]), f[i], "element " + i);
        }
        // .safetensors: BF16 by default, under the input's name; --dtype f16 and --tensor override.
        Path st = dir.resolve("d.safetensors");
        CliRun r = ok("dequantize", qkv.toString(), "-o", st.toString());
        assertTrue(r.out().contains("'key_cache' BF16 [2, 64, 32] [H,S,D]"), r.out());
        assertArrayEquals(expected.bits(), Safetensors.read(st).get("key_cache").asUint16());
        ok("dequantize", qkv.toString(), "--dtype", "f16", "--tensor", "k", "-o", st.toString());
        assertEquals(io.qvg4j.io.NpyDtype.FLOAT16, Safetensors.read(st).get("k").dtype());
        Path npz = dir.resolve("d.npz");
        ok("dequantize", qkv.toString(), "--dtype", "bf16", "-o", npz.toString());
        assertArrayEquals(expected.bits(), Npy.readNpz(npz).get("key_cache").asUint16());
        fails("--dtype f64: use bf16, f16 or f32", "dequantize", qkv.toString(), "--dtype", "f64", "-o", npy.toString());
        // A name the safetensors header reserves is refused before anything is written.
        Path bad = dir.resolve("bad.safetensors");
        fails("'__metadata__' is reserved", "dequantize", qkv.toString(), "--tensor", "__metadata__", "-o", bad.toString());
        assertFalse(Files.exists(bad));
        // The round trip through TensorFiles gives the same span for the re-read output.
        assertArrayEquals(expected.bits(), TensorFiles.load(npy, null).tensor().bits());
    }

    @Test
    void nonFiniteContentOfAValidContainerIsRejected() throws IOException {
        Path in = dir.resolve("k.npy");
        Npy.write(in, NpyArray.ofFloat32("k", gaussian(1), H, S, D));
        Path qkv = dir.resolve("k.qkv");
        ok(args(SMALL, "quantize", in.toString(), "-o", qkv.toString()));
        byte[] b = Files.readAllBytes(qkv);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int at = 16;
        while (!new String(b, at, 4, java.nio.charset.StandardCharsets.US_ASCII).equals("SCAL")) {
            at += 12 + (int) bb.getLong(at + 4) + 4;
        }
        int len = (int) bb.getLong(at + 4);
        b[at + 12 + 5] = 0x7F; // an FP8 NaN scale
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, at, 12 + len);
        bb.putInt(at + 12 + len, (int) crc.getValue());
        Files.write(qkv, b);
        fails("non-finite scale NaN of block 5", "inspect", qkv.toString());
        fails("non-finite scale NaN of block 5", "dequantize", qkv.toString(), "-o", dir.resolve("d.npy").toString());
        assertFalse(Files.exists(dir.resolve("d.npy")));
    }

    @Test
    void e4m3RangeWarningNamesTheShareAndTheRemedy() throws IOException {
        for (double scale : new double[] {1e-6, 1e5}) {
            Path in = dir.resolve("k.npy");
            Npy.write(in, NpyArray.ofFloat32("k", gaussian(scale), H, S, D));
            CliRun r = ok(args(SMALL, "quantize", in.toString(), "-o", dir.resolve("k.qkv").toString()));
            assertTrue(r.err().contains("block scales underflow FP8 E4M3") && r.err().contains("pass --scale-format bf16"),
                    scale + ": " + r.err());
            String share = scale < 1 ? "(\\d+\\.\\d)% of the 256 block scales underflow.*" : ".* and (\\d+\\.\\d)% saturate.*";
            var m = java.util.regex.Pattern.compile(share).matcher(r.err());
            assertTrue(m.find() && Double.parseDouble(m.group(1)) > 50, scale + ": " + r.err());
            r = ok(args(SMALL, "quantize", in.toString(), "--scale-format", "bf16", "-o", dir.resolve("k.qkv").toString()));
            assertEquals("", r.err(), "bf16 scales: no warning");
        }
        Path in = dir.resolve("k.npy");
        Npy.write(in, NpyArray.ofFloat32("k", gaussian(1), H, S, D));
        CliRun r = ok(args(SMALL, "quantize", in.toString(), "-o", dir.resolve("k.qkv").toString()));
        assertFalse(r.err().contains("warning"), "magnitudes near 1: no warning: " + r.err());
    }

    @Test
    void ioErrorsNameTheFileAndTheReason() throws Exception {
        Path out = dir.resolve("o.qkv");
        fails(dir + ": is a directory", "quantize", dir.toString(), "-o", out.toString());
        fails("-: reading standard input is not supported", "quantize", "-", "-o", out.toString());
        fails("missing.safetensors: no such file", "inspect", dir.resolve("missing.safetensors").toString());
        Path fifo = dir.resolve("p.npy");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        fails("p.npy: not a regular file", "quantize", fifo.toString(), "-o", out.toString());
        Files.delete(fifo);
        // An output directory nobody can create files in (even root cannot in /proc): the target is named,
        // not the temporary file.
        Path in = dir.resolve("k.npy");
        Npy.write(in, NpyArray.ofFloat32("k", gaussian(1), H, S, D));
        CliRun r = fails("qvg: /proc/k.qkv: ", args(SMALL, "quantize", in.toString(), "-o", "/proc/k.qkv"));
        assertFalse(r.err().contains(".tmp"), r.err());
        try (var files = Files.list(dir)) {
            assertEquals(List.of("k.npy"), files.map(p -> p.getFileName().toString()).toList());
        }
    }
}
