package io.qvg4j.io;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The {@code .qkv} container of one {@link QuantizedSpan}, laid out byte by byte in FORMAT.md: a 16-byte
 * file header (magic, version, section count, its CRC32C), then fixed-order sections, each a 4-byte tag,
 * an 8-byte payload length, the payload and a CRC32C of tag, length and payload. Everything little-endian.
 * Reading checks every length against what the config and shape imply before allocating anything.
 */
public final class Qkv {
    private Qkv() {}

    /** First 8 bytes: a non-ASCII byte, the name, and the CR LF SUB LF trap for text-mode transfers. */
    static final byte[] MAGIC = {(byte) 0x89, 'Q', 'K', 'V', 0x0D, 0x0A, 0x1A, 0x0A};
    /** The newest version this code reads and writes; it reads every older one (FORMAT.md, Versions). */
    public static final int VERSION = 2;
    /** Longest tensor name stored, in UTF-8 bytes. */
    static final int MAX_NAME = 1024;
    static final int FILE_HEADER = 16;
    static final int CONF_BYTES = 32;
    static final int SHAPE_BYTES = 16;
    private static final int FLAG_SEED = 1, FLAG_INIT = 2;

    /**
     * A container's content.
     *
     * @param seed         the seed the initial indices were drawn from, or null when not known
     * @param initIndices  the k-means initial indices {@code [T][B·H][Kc]}, or null when not stored
     */
    public record Contents(QuantizedSpan span, Long seed, int[][][] initIndices, Source source) {
        /** A container without its source (written as version 1). */
        public Contents(QuantizedSpan span, Long seed, int[][][] initIndices) {
            this(span, seed, initIndices, null);
        }

        /** The format version this content is written as: 1 unless it has a source to record. */
        public int version() {
            return source == null ? 1 : 2;
        }
    }

    /**
     * Where a span came from, so that dequantizing gives the tensor back as it was: its name in the input
     * file and the layout (and so the rank) of its axes there.
     */
    public record Source(String name, TensorLayout layout) {
        public Source {
            java.util.Objects.requireNonNull(layout, "layout");
            int bytes = name.getBytes(StandardCharsets.UTF_8).length;
            if (bytes == 0 || bytes > MAX_NAME) {
                throw new InvalidInputException("tensor name '" + name + "': " + bytes + " UTF-8 bytes, a .qkv stores 1.."
                        + MAX_NAME);
            }
        }
    }

    // ---- writing ----

    public static void write(Path file, Contents c) throws IOException {
        AtomicFile.write(file, out -> write(out, c));
    }

    /** The whole container as bytes (for tests and fuzz seeds). */
    public static byte[] encode(Contents c) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        write(out, c);
        return out.toByteArray();
    }

    private static void write(OutputStream out, Contents c) throws IOException {
        QuantizedSpan s = c.span();
        QuantConfig cfg = s.config();
        int heads = s.headCount();
        if (c.initIndices() != null) {
            InitIndices.validate(c.initIndices(), cfg.stages(), heads, cfg.centroids(), s.tokens());
        }
        List<Section> sections = new ArrayList<>();
        ByteBuffer conf = le(CONF_BYTES);
        conf.put((byte) cfg.bits()).put((byte) (cfg.asymmetric() ? 1 : 0)).put((byte) cfg.scaleFormat().code())
                .put((byte) ((c.seed() != null ? FLAG_SEED : 0) | (c.initIndices() != null ? FLAG_INIT : 0)))
                .putInt(cfg.groupSize()).putInt(cfg.stages()).putInt(cfg.centroids()).putInt(cfg.maxIters())
                .putFloat(cfg.tolerance()).putLong(c.seed() == null ? 0 : c.seed());
        sections.add(new Section("CONF", conf.array()));
        sections.add(new Section("SHAP", le(SHAPE_BYTES).putInt(s.batch()).putInt(s.heads()).putInt(s.tokens())
                .putInt(s.dim()).array()));
        if (c.source() != null) {
            byte[] name = c.source().name().getBytes(StandardCharsets.UTF_8);
            sections.add(new Section("SRC_", le(8 + name.length).put((byte) c.source().layout().code()).put(new byte[3])
                    .putInt(name.length).put(name).array()));
        }
        ByteBuffer iter = le(4 * cfg.stages());
        for (int it : s.iterations()) {
            iter.putInt(it);
        }
        sections.add(new Section("ITER", iter.array()));
        if (c.initIndices() != null) {
            ByteBuffer init = le(4 * cfg.stages() * heads * cfg.centroids());
            for (int[][] stage : c.initIndices()) {
                for (int[] head : stage) {
                    init.asIntBuffer().put(head);
                    init.position(init.position() + 4 * head.length);
                }
            }
            sections.add(new Section("INIT", init.array()));
        }
        ByteBuffer ids = le(cfg.stages() * heads * s.tokens());
        for (byte[] stage : s.clusterIds()) {
            ids.put(stage);
        }
        sections.add(new Section("IDS_", ids.array()));
        ByteBuffer cent = le(Math.toIntExact(2L * cfg.stages() * heads * cfg.centroids() * s.dim()));
        for (short[] stage : s.centroids()) {
            cent.asShortBuffer().put(stage);
            cent.position(cent.position() + 2 * stage.length);
        }
        sections.add(new Section("CENT", cent.array()));
        sections.add(new Section("PACK", s.packed()));
        sections.add(new Section("SCAL", s.scales()));
        if (cfg.asymmetric()) {
            sections.add(new Section("ZERO", s.zeros()));
        }
        requireFinite(s, "writing a .qkv");
        ByteBuffer header = le(FILE_HEADER).put(MAGIC).putShort((short) c.version()).putShort((short) sections.size());
        header.putInt(crc(header.array(), 0, 12));
        out.write(header.array());
        for (Section sec : sections) {
            sec.writeTo(out);
        }
    }

    /** One section to write: its tag and payload. */
    private record Section(String tag, byte[] payload) {
        /** Bytes per write: a file stream copies each write into a native buffer of that size. */
        static final int CHUNK = 1 << 16;

        /**
         * Tag, length, payload, CRC32C(tag ‖ length ‖ payload); the payload is written from the span's
         * own array in chunks, not copied into the section first (the packed codes are the largest
         * array of a span), and not in one write (which would take a native buffer of its size).
         */
        void writeTo(OutputStream out) throws IOException {
            byte[] head = le(12).put(tag.getBytes(StandardCharsets.US_ASCII)).putLong(payload.length).array();
            CRC32C c = new CRC32C();
            c.update(head);
            c.update(payload);
            out.write(head);
            for (int off = 0; off < payload.length; off += CHUNK) {
                out.write(payload, off, Math.min(CHUNK, payload.length - off));
            }
            out.write(le(4).putInt((int) c.getValue()).array());
        }
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    // ---- reading ----

    public static Contents read(Path file) throws IOException {
        FileErrors.requireReadable(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new InvalidInputException(file + ": " + size + " bytes; .qkv files over 2 GiB are not supported");
            }
            return parse(ch.map(FileChannel.MapMode.READ_ONLY, 0, size), file.toString());
        } catch (InvalidInputException e) {
            throw e;
        } catch (IOException e) {
            throw FileErrors.named(file, e);
        }
    }

    /**
     * Throws unless every centroid, scale and zero point is finite. The quantizer never stores a non-finite
     * one from a finite input (SPEC §3.5 requires finite inputs), and a container holding one would
     * dequantize to NaN, so a CRC-valid file with one is rejected like any other inconsistency.
     */
    static void requireFinite(QuantizedSpan s, String where) {
        QuantConfig cfg = s.config();
        for (int t = 0; t < s.centroids().length; t++) {
            short[] cent = s.centroids()[t];
            for (int i = 0; i < cent.length; i++) {
                if (io.qvg4j.numeric.Bf16.isNonFinite(cent[i])) {
                    int d = s.dim(), kc = cfg.centroids();
                    throw new InvalidInputException(where + ": non-finite centroid " + io.qvg4j.numeric.Bf16.toFloat(cent[i])
                            + " at stage " + t + ", head " + i / (kc * d) + ", centroid " + i / d % kc + ", channel " + i % d);
                }
            }
        }
        long blocks = (long) s.headCount() * s.tokens() * cfg.blocksPerRow(s.dim());
        for (int b = 0; b < blocks; b++) {
            if (!Float.isFinite(s.scale(b))) {
                throw new InvalidInputException(where + ": non-finite scale " + s.scale(b) + " of block " + b);
            }
            if (cfg.asymmetric() && !Float.isFinite(s.zero(b))) {
                throw new InvalidInputException(where + ": non-finite zero point " + s.zero(b) + " of block " + b);
            }
        }
    }

    /** Parses and validates a whole container image. */
    public static Contents parse(ByteBuffer image, String name) {
        return new Reader(image, name).read();
    }

    private static final class Reader {
        private final ByteBuffer buf;
        private final String name;

        Reader(ByteBuffer image, String name) {
            this.buf = image.slice().order(ByteOrder.LITTLE_ENDIAN);
            this.name = name;
        }

        private InvalidInputException bad(String what) {
            return new InvalidInputException(name + ": " + what);
        }

        Contents read() {
            if (buf.remaining() < FILE_HEADER) {
                if (buf.remaining() >= MAGIC.length && !buf.slice(0, MAGIC.length).equals(ByteBuffer.wrap(MAGIC))) {
                    throw bad("not a .qkv file (bad magic)");
                }
                throw bad("truncated: " + buf.remaining() + " bytes, a .qkv file header alone is " + FILE_HEADER);
            }
            if (!buf.slice(0, MAGIC.length).equals(ByteBuffer.wrap(MAGIC))) {
                throw bad("not a .qkv file (bad magic)");
            }
            int version = buf.getShort(8) & 0xFFFF;
            if (version < 1 || version > VERSION) {
                throw bad("unknown .qkv format version " + version + " (this reader knows versions 1 to " + VERSION + ")");
            }
            int sectionCount = buf.getShort(10) & 0xFFFF;
            byte[] fileHeader = new byte[12];
            buf.get(0, fileHeader);
            if (crc(fileHeader, 0, 12) != buf.getInt(12)) {
                throw bad("bad CRC32C in the file header");
            }
            buf.position(FILE_HEADER);

            ByteBuffer conf = section("CONF", CONF_BYTES);
            int bits = conf.get() & 0xFF;
            int mode = conf.get() & 0xFF;
            int scaleFormat = conf.get() & 0xFF;
            int flags = conf.get() & 0xFF;
            int g = conf.getInt(), t = conf.getInt(), kc = conf.getInt(), maxIters = conf.getInt();
            float tol = conf.getFloat();
            long seed = conf.getLong();
            if (mode > 1 || ScaleFormat.ofCode(scaleFormat) == null || (flags & ~(FLAG_SEED | FLAG_INIT)) != 0) {
                throw bad("inconsistent config: mode " + mode + ", scale format " + scaleFormat + ", flags " + flags
                        + " (mode 0/1, scale format 0/1, flags bits 0-1)");
            }
            if ((flags & FLAG_SEED) == 0 && seed != 0) {
                throw bad("inconsistent config: a seed is stored but flagged as unknown");
            }
            QuantConfig config;
            try {
                config = new QuantConfig(bits, g, t, kc, mode == 1, ScaleFormat.ofCode(scaleFormat), maxIters, tol);
            } catch (InvalidInputException e) {
                throw bad("inconsistent config: " + e.getMessage());
            }
            boolean hasInit = (flags & FLAG_INIT) != 0;
            int expectedSections = 7 + (version >= 2 ? 1 : 0) + (hasInit ? 1 : 0) + (config.asymmetric() ? 1 : 0);
            if (sectionCount != expectedSections) {
                throw bad("size mismatch: header lists " + sectionCount + " sections, the config implies " + expectedSections);
            }

            ByteBuffer shape = section("SHAP", SHAPE_BYTES);
            long b = shape.getInt() & 0xFFFF_FFFFL, h = shape.getInt() & 0xFFFF_FFFFL;
            long s = shape.getInt() & 0xFFFF_FFFFL, d = shape.getInt() & 0xFFFF_FFFFL;
            try {
                KvTensor.checkShape("shape", b, h, s, d);
                config.requireCompatible("shape", (int) d);
            } catch (InvalidInputException e) {
                throw bad("inconsistent config: " + e.getMessage());
            }
            int heads = (int) (b * h), tokens = (int) s, dim = (int) d;
            Source source = version >= 2 ? source() : null;

            ByteBuffer iter = section("ITER", 4L * t);
            int[] iterations = new int[t];
            for (int i = 0; i < t; i++) {
                iterations[i] = iter.getInt();
                if (iterations[i] < 0 || iterations[i] > maxIters) {
                    throw bad("inconsistent config: stage " + i + " ran " + Integer.toUnsignedString(iterations[i])
                            + " k-means iterations, the cap is " + maxIters);
                }
            }
            int[][][] init = null;
            if (hasInit) {
                ByteBuffer in = section("INIT", product(4, t, heads, kc));
                init = new int[t][heads][kc];
                for (int[][] stage : init) {
                    for (int[] head : stage) {
                        in.asIntBuffer().get(head);
                        in.position(in.position() + 4 * kc);
                    }
                }
                try {
                    InitIndices.validate(init, t, heads, kc, tokens);
                } catch (InvalidInputException e) {
                    throw bad("inconsistent config: " + e.getMessage());
                }
            }
            ByteBuffer idsSec = section("IDS_", (long) t * heads * tokens);
            byte[][] ids = new byte[t][heads * tokens];
            for (int i = 0; i < t; i++) {
                idsSec.get(ids[i]);
                for (int r = 0; r < ids[i].length; r++) {
                    if ((ids[i][r] & 0xFF) >= kc) {
                        throw bad("inconsistent config: stage " + i + " cluster id " + (ids[i][r] & 0xFF) + " at row "
                                + r + " is not below Kc = " + kc);
                    }
                }
            }
            ByteBuffer centSec = section("CENT", product(2, t, heads, kc, dim));
            short[][] cent = new short[t][heads * kc * dim];
            for (short[] stage : cent) {
                centSec.asShortBuffer().get(stage);
                centSec.position(centSec.position() + 2 * stage.length);
            }
            long rows = (long) heads * tokens;
            byte[] packed = bytes(section("PACK", rows * config.packedBytesPerRow(dim)));
            long scaleBytes = rows * config.blocksPerRow(dim) * config.scaleFormat().bytes();
            byte[] scales = bytes(section("SCAL", scaleBytes));
            byte[] zeros = config.asymmetric() ? bytes(section("ZERO", scaleBytes)) : null;
            if (buf.hasRemaining()) {
                throw bad("size mismatch: " + buf.remaining() + " bytes after the last section");
            }
            QuantizedSpan span = new QuantizedSpan(config, (int) b, (int) h, tokens, dim, ids, cent, packed, scales,
                    zeros, iterations);
            try {
                requireFinite(span, "inconsistent content");
            } catch (InvalidInputException e) {
                throw bad(e.getMessage());
            }
            return new Contents(span, (flags & FLAG_SEED) != 0 ? seed : null, init, source);
        }

        /** The SRC_ section (version 2): layout code, 3 zero bytes, u32 name length, the name in UTF-8. */
        private Source source() {
            int at = buf.position();
            if (buf.remaining() < 12 + 8) {
                throw bad("truncated: section SRC_ header missing at byte " + at);
            }
            long nameLength = buf.getInt(at + 12 + 4) & 0xFFFF_FFFFL;
            boolean isSource = buf.getInt(at) == ByteBuffer.wrap("SRC_".getBytes(StandardCharsets.US_ASCII))
                    .order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (isSource && (nameLength == 0 || nameLength > MAX_NAME)) {
                throw bad("inconsistent config: source tensor name of " + nameLength + " bytes (1.." + MAX_NAME + ")");
            }
            ByteBuffer src = section("SRC_", 8 + nameLength);
            int layoutCode = src.get() & 0xFF;
            TensorLayout layout = TensorLayout.ofCode(layoutCode);
            if (layout == null || src.get() != 0 || src.get() != 0 || src.get() != 0) {
                throw bad("inconsistent config: source layout " + layoutCode + " (0 bhsd, 1 bshd, 2 hsd; then 3 zero bytes)");
            }
            src.getInt();
            byte[] name = new byte[(int) nameLength];
            src.get(name);
            String decoded;
            try {
                decoded = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(name)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw bad("inconsistent config: the source tensor name is not valid UTF-8");
            }
            try {
                return new Source(decoded, layout);
            } catch (InvalidInputException e) {
                throw bad("inconsistent config: " + e.getMessage());
            }
        }

        /**
         * The payload of the next section, after checking its tag, that its length is the one the config
         * implies, that the file holds it, and its CRC; nothing is allocated before these checks.
         */
        private ByteBuffer section(String tag, long expected) {
            int at = buf.position();
            if (buf.remaining() < 12) {
                throw bad("truncated: section " + tag + " header missing at byte " + at);
            }
            byte[] tagBytes = new byte[4];
            buf.get(at, tagBytes);
            String found = new String(tagBytes, StandardCharsets.ISO_8859_1);
            if (!found.equals(tag)) {
                throw bad("expected section " + tag + " at byte " + at + ", found tag '" + printable(found) + "'");
            }
            long length = buf.getLong(at + 4);
            if (length != expected) {
                throw bad("size mismatch: section " + tag + " is " + Long.toUnsignedString(length)
                        + " bytes, the config and shape imply " + expected);
            }
            if (length > buf.remaining() - 12 - 4) {
                throw bad("truncated: section " + tag + " needs " + (length + 16) + " bytes at byte " + at
                        + ", the file holds " + buf.remaining());
            }
            int len = (int) length;
            CRC32C c = new CRC32C();
            c.update(buf.slice(at, 12 + len));
            if ((int) c.getValue() != buf.getInt(at + 12 + len)) {
                throw bad("bad CRC32C in section " + tag);
            }
            buf.position(at + 12 + len + 4);
            return buf.slice(at + 12, len).order(ByteOrder.LITTLE_ENDIAN);
        }

        private static String printable(String s) {
            StringBuilder out = new StringBuilder();
            for (char ch : s.toCharArray()) {
                out.append(ch >= 0x20 && ch < 0x7F ? String.valueOf(ch) : String.format("\\x%02x", (int) ch));
            }
            return out.toString();
        }
    }

    /** A size in bytes; an overflowing product saturates, so it can never equal a stored length by wrapping. */
    private static long product(long... factors) {
        long p = 1;
        for (long f : factors) {
            try {
                p = Math.multiplyExact(p, f);
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
        }
        return p;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
