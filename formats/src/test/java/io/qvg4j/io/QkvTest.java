package io.qvg4j.io;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import static io.qvg4j.io.TensorFilesTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The .qkv container: exact round trip, and every kind of damage reported as one line naming it. */
class QkvTest {
    @TempDir
    Path dir;

    static final long SEED = 20260401L;

    /** A small quantized span from random data (seed printed in failures through the names). */
    static Qkv.Contents sample(QuantConfig cfg) {
        SplittableRandom r = new SplittableRandom(SEED);
        short[] bits = new short[2 * 3 * 24 * 16];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = io.qvg4j.numeric.Bf16.fromFloat((float) r.nextGaussian());
        }
        KvTensor x = new KvTensor("x(seed " + SEED + ")", 2, 3, 24, 16, bits);
        int[][][] init = InitIndices.fromSeed(SEED, cfg.stages(), x.headCount(), cfg.centroids(), x.tokens());
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            return new Qkv.Contents(codec.encode(x, cfg, init), SEED, init);
        }
    }

    static final QuantConfig SYM = new QuantConfig(2, 8, 2, 5, false, ScaleFormat.FP8_E4M3, 3, 1e-4f);
    static final QuantConfig ASYM = new QuantConfig(4, 16, 1, 4, true, ScaleFormat.BF16, 2, 0f);

    @Test
    void roundTripKeepsEveryField() throws IOException {
        for (QuantConfig cfg : new QuantConfig[] {SYM, ASYM}) {
            Qkv.Contents c = sample(cfg);
            Path f = dir.resolve("a.qkv");
            Qkv.write(f, c);
            Qkv.Contents back = Qkv.read(f);
            QuantizedSpan a = c.span(), b = back.span();
            assertEquals(a.config(), b.config());
            assertEquals(SEED, back.seed());
            assertTrue(Arrays.deepEquals(c.initIndices(), back.initIndices()));
            assertTrue(Arrays.deepEquals(a.clusterIds(), b.clusterIds()));
            assertTrue(Arrays.deepEquals(a.centroids(), b.centroids()));
            assertArrayEquals(a.packed(), b.packed());
            assertArrayEquals(a.scales(), b.scales());
            assertArrayEquals(a.zeros(), b.zeros());
            assertArrayEquals(a.iterations(), b.iterations());
            assertArrayEquals(Files.readAllBytes(f), Qkv.encode(back), "re-encoding is byte-identical");
            try (var files = Files.list(dir)) {
                assertEquals(1, files.count(), "no temporary file left behind");
            }
        }
    }

    @Test
    void withoutSeedOrInitialIndices() throws IOException {
        Qkv.Contents c = sample(SYM);
        Qkv.Contents bare = new Qkv.Contents(c.span(), null, null);
        Qkv.Contents back = Qkv.parse(ByteBuffer.wrap(Qkv.encode(bare)), "bare");
        assertEquals(null, back.seed());
        assertEquals(null, back.initIndices());
    }

    @Test
    void everyTruncationIsReported() throws IOException {
        byte[] full = Qkv.encode(sample(ASYM));
        for (int n = 0; n < full.length; n++) {
            int len = n;
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> Qkv.parse(ByteBuffer.wrap(full, 0, len), "t.qkv"), "length " + n);
            assertTrue(e.getMessage().startsWith("t.qkv: truncated"), n + ": " + e.getMessage());
        }
    }

    @Test
    void magicVersionCrcAndSizesAreChecked() throws IOException {
        byte[] full = Qkv.encode(sample(ASYM));
        byte[] magic = full.clone();
        magic[1] = 'X';
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(magic), "q"), "bad magic");
        byte[] version = full.clone();
        version[8] = 3;
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(version), "q"), "unknown .qkv format version 3");
        byte[] trailing = Arrays.copyOf(full, full.length + 1);
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(trailing), "q"), "size mismatch: 1 bytes after the last section");
        // Flip one payload byte of each section: the CRC names it.
        ByteBuffer b = ByteBuffer.wrap(full).order(ByteOrder.LITTLE_ENDIAN);
        int at = Qkv.FILE_HEADER;
        while (at < full.length) {
            String tag = new String(full, at, 4, java.nio.charset.StandardCharsets.US_ASCII);
            int len = (int) b.getLong(at + 4);
            byte[] bad = full.clone();
            bad[at + 12 + len / 2] ^= 0x10;
            assertMessage(() -> Qkv.parse(ByteBuffer.wrap(bad), "q"), "bad CRC32C in section " + tag);
            at += 12 + len + 4;
        }
        // A section length that disagrees with the config, CRC fixed up so only the size is wrong.
        byte[] size = full.clone();
        int shap = Qkv.FILE_HEADER + 12 + Qkv.CONF_BYTES + 4;
        ByteBuffer.wrap(size).order(ByteOrder.LITTLE_ENDIAN).putLong(shap + 4, 17);
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(size), "q"), "size mismatch: section SHAP is 17 bytes");
    }

    @Test
    void inconsistentConfigIsNamed() throws IOException {
        byte[] full = Qkv.encode(sample(SYM));
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(withConf(full, 0, (byte) 5)), "q"), "inconsistent config: config: bits = 5");
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(withConf(full, 1, (byte) 1)), "q"), "size mismatch: header lists 8 sections");
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(withConf(full, 4, (byte) 7)), "q"), "does not divide the head dimension");
        assertMessage(() -> Qkv.parse(ByteBuffer.wrap(withConf(full, 2, (byte) 9)), "q"), "inconsistent config: mode");
    }

    /** The image with CONF payload byte {@code offset} set to {@code value} and the CONF CRC recomputed. */
    private static byte[] withConf(byte[] full, int offset, byte value) {
        byte[] out = full.clone();
        int conf = Qkv.FILE_HEADER;
        out[conf + 12 + offset] = value;
        CRC32C crc = new CRC32C();
        crc.update(out, conf, 12 + Qkv.CONF_BYTES);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(conf + 12 + Qkv.CONF_BYTES, (int) crc.getValue());
        return out;
    }

    @Test
    void version2KeepsTheSourceNameAndLayoutAndVersion1StaysVersion1() throws IOException {
        Qkv.Contents c = sample(SYM);
        byte[] v1 = Qkv.encode(c);
        assertEquals(1, ByteBuffer.wrap(v1).order(ByteOrder.LITTLE_ENDIAN).getShort(8), "no source: version 1 bytes");
        for (TensorLayout layout : TensorLayout.values()) {
            Qkv.Contents withSource = new Qkv.Contents(c.span(), c.seed(), c.initIndices(), new Qkv.Source("k_cache.ünï", layout));
            byte[] v2 = Qkv.encode(withSource);
            ByteBuffer b = ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(2, b.getShort(8));
            int src = Qkv.FILE_HEADER + 12 + Qkv.CONF_BYTES + 4 + 12 + Qkv.SHAPE_BYTES + 4;
            assertEquals("SRC_", new String(v2, src, 4, java.nio.charset.StandardCharsets.US_ASCII));
            Qkv.Contents back = Qkv.parse(b, "v2");
            assertEquals(withSource.source(), back.source());
            assertArrayEquals(v2, Qkv.encode(back), "re-encoding is byte-identical");
            // Everything but the SRC_ section and the header is the version-1 file.
            int srcLength = 12 + 8 + "k_cache.ünï".getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 4;
            assertArrayEquals(Arrays.copyOfRange(v1, src, v1.length), Arrays.copyOfRange(v2, src + srcLength, v2.length));
        }
        assertMessage(() -> new Qkv.Source("", TensorLayout.BHSD), "a .qkv stores 1..1024");
    }

    @Test
    void nonFiniteCentroidsAndScalesAreRejected() throws IOException {
        for (QuantConfig cfg : new QuantConfig[] {SYM, ASYM}) {
            byte[] full = Qkv.encode(sample(cfg));
            // A centroid set to +inf (bf16 0x7F80), CRC fixed up: checksum-valid, content impossible.
            assertMessage(() -> Qkv.parse(ByteBuffer.wrap(withSection(full, "CENT", 6, new byte[] {(byte) 0x80, 0x7F})), "q"),
                    "non-finite centroid Infinity at stage 0, head 0, centroid 0, channel 3");
            byte[] nan = cfg.scaleFormat() == ScaleFormat.FP8_E4M3 ? new byte[] {0x7F} : new byte[] {(byte) 0xC0, 0x7F};
            assertMessage(() -> Qkv.parse(ByteBuffer.wrap(withSection(full, "SCAL", 0, nan)), "q"), "non-finite scale NaN of block 0");
            if (cfg.asymmetric()) {
                assertMessage(() -> Qkv.parse(ByteBuffer.wrap(withSection(full, "ZERO", 2, nan)), "q"),
                        "non-finite zero point NaN of block 1");
            }
        }
    }

    /** The image with bytes of section {@code tag}'s payload from {@code offset} replaced and its CRC recomputed. */
    private static byte[] withSection(byte[] full, String tag, int offset, byte[] value) {
        byte[] out = full.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int at = Qkv.FILE_HEADER;
        while (!new String(out, at, 4, java.nio.charset.StandardCharsets.US_ASCII).equals(tag)) {
            at += 12 + (int) b.getLong(at + 4) + 4;
        }
        int len = (int) b.getLong(at + 4);
        System.arraycopy(value, 0, out, at + 12 + offset, value.length);
        CRC32C crc = new CRC32C();
        crc.update(out, at, 12 + len);
        b.putInt(at + 12 + len, (int) crc.getValue());
        return out;
    }
}
