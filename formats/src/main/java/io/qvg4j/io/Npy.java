package io.qvg4j.io;

import io.qvg4j.tensor.InvalidInputException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1–3) and {@code .npz} archives of them. Only
 * C-order arrays are accepted. An array of a dtype not in {@link NpyDtype} is listed as a
 * {@link TensorEntry} without data, so an archive's other members stay readable; asking for it is one
 * clear error. A {@code .npy} file's data region is memory-mapped, not read: the array is a view of the file.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Largest header accepted; NumPy itself writes a few hundred bytes. */
    static final int MAX_HEADER = 1 << 16;
    /** Most dimensions accepted in a shape (NumPy's own limit is 64). */
    static final int MAX_DIMS = 64;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /**
     * What a header declares: the data starts {@code dataOffset} bytes into the file; {@code dtype} is null
     * (and {@code dataBytes} −1) when qvg4j does not read {@code descr}.
     */
    private record Header(String descr, NpyDtype dtype, long[] shape, int dataOffset, long dataBytes) {
        NpyArray array(String name, ByteBuffer data) {
            return new NpyArray(name, dtype, shape, data);
        }

        TensorEntry entry(String key, String name, ByteBuffer data) {
            return dtype == null ? new TensorEntry(key, descr, shape, null, unsupported(descr))
                    : TensorEntry.of(key, dtypeLabel(dtype), array(name, data));
        }

        Header requireReadable(String name) {
            if (dtype == null) {
                throw new InvalidInputException(name + ": " + unsupported(descr));
            }
            if (dataBytes > Integer.MAX_VALUE - 8) {
                throw new InvalidInputException(name + ": array of " + dataBytes + " bytes is too large (at most 2 GiB per array)");
            }
            return this;
        }
    }

    /** How inspect and errors name a NumPy dtype. */
    static String dtypeLabel(NpyDtype t) {
        return t == NpyDtype.UINT16 ? "uint16 (bf16 bits)" : t.name().toLowerCase(java.util.Locale.ROOT);
    }

    private static String unsupported(String descr) {
        return "dtype '" + descr + "' is not read by qvg4j (uint8, uint16 = bf16 bits, int32, int64, float16, float32, "
                + "float64, little-endian)";
    }

    /**
     * Reads one {@code .npy} file: the header is read, the data region mapped (so a file of any size works
     * as long as the array itself is below 2 GiB); the array's data is a read-only view of the file.
     */
    public static NpyArray read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = header(ch, file.toString()).requireReadable(file.toString());
            return h.array(file.toString(), ch.map(FileChannel.MapMode.READ_ONLY, h.dataOffset, h.dataBytes));
        }
    }

    /** The file's one array as listed: readable or not. */
    static TensorEntry entry(Path file, String key) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = header(ch, file.toString());
            if (h.dtype == null) {
                return h.entry(key, file.toString(), null);
            }
            h.requireReadable(file.toString());
            return h.entry(key, file.toString(), ch.map(FileChannel.MapMode.READ_ONLY, h.dataOffset, h.dataBytes));
        }
    }

    /** Reads and checks the header of a file; the data it declares must be present. */
    private static Header header(FileChannel ch, String name) throws IOException {
        long size = ch.size();
        ByteBuffer prefix = ByteBuffer.allocate((int) Math.min(size, 12));
        readFully(ch, prefix, 0);
        byte[] start = prefix.array();
        int headerLength = headerLength(start, name);
        int lenBytes = start[6] == 1 ? 2 : 4;
        if (8L + lenBytes + headerLength > size) {
            throw new InvalidInputException(name + ": truncated .npy header");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate(headerLength);
        readFully(ch, headerBytes, 8 + lenBytes);
        Header h = header(start[6], headerBytes.array(), lenBytes, name);
        long available = size - h.dataOffset;
        if (h.dtype != null && h.dataBytes > available) {
            throw new InvalidInputException(name + ": truncated: header declares " + h.dataBytes
                    + " data bytes, file holds " + available);
        }
        return h;
    }

    private static void readFully(FileChannel ch, ByteBuffer into, long at) throws IOException {
        while (into.hasRemaining()) {
            if (ch.read(into, at + into.position()) < 0) {
                throw new java.io.EOFException();
            }
        }
    }

    /** Parses a whole {@code .npy} image; the array's data is a view of {@code image}. */
    public static NpyArray parse(ByteBuffer image, String name) {
        ByteBuffer buf = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int prefix = Math.min(buf.remaining(), 12);
        byte[] start = new byte[prefix];
        buf.get(buf.position(), start);
        int headerLength = headerLength(start, name);
        int lenBytes = start[6] == 1 ? 2 : 4;
        if (8L + lenBytes + headerLength > buf.remaining()) {
            throw new InvalidInputException(name + ": truncated .npy header");
        }
        byte[] headerBytes = new byte[headerLength];
        buf.get(buf.position() + 8 + lenBytes, headerBytes);
        Header h = header(start[6], headerBytes, lenBytes, name).requireReadable(name);
        long available = buf.remaining() - (long) h.dataOffset;
        if (h.dataBytes > available) {
            throw new InvalidInputException(name + ": truncated: header declares " + h.dataBytes
                    + " data bytes, file holds " + available);
        }
        return h.array(name, buf.slice(buf.position() + h.dataOffset, (int) h.dataBytes));
    }

    /** Reads every member of a {@code .npz} archive of a dtype qvg4j reads, keyed by name without {@code .npy}. */
    public static Map<String, NpyArray> readNpz(Path file) throws IOException {
        Map<String, NpyArray> out = new LinkedHashMap<>();
        for (TensorEntry e : listNpz(file)) {
            if (e.readable()) {
                out.put(e.name(), e.array());
            }
        }
        return out;
    }

    /** Every member of a {@code .npz} archive, readable or not, each member's CRC-32 checked. */
    public static List<TensorEntry> listNpz(Path file) throws IOException {
        List<TensorEntry> out = new ArrayList<>();
        withNpz(file, zip -> {
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                if (e.isDirectory()) {
                    continue;
                }
                String key = memberKey(e);
                if (!seen.add(key)) {
                    throw new InvalidInputException(file + ": member '" + key + "' appears twice");
                }
                out.add(member(zip, e, file));
            }
            return null;
        });
        return out;
    }

    /** One member of a {@code .npz} archive (only that member is read), or null when there is none of that name. */
    public static TensorEntry readNpzMember(Path file, String key) throws IOException {
        return withNpz(file, zip -> {
            ZipEntry found = null;
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                if (!e.isDirectory() && memberKey(e).equals(key)) {
                    if (found != null) {
                        throw new InvalidInputException(file + ": member '" + key + "' appears twice");
                    }
                    found = e;
                }
            }
            return found == null ? null : member(zip, found, file);
        });
    }

    /** The names of an archive's members, without reading them. */
    public static List<String> npzNames(Path file) throws IOException {
        return withNpz(file, zip -> java.util.Collections.list(zip.entries()).stream()
                .filter(e -> !e.isDirectory()).map(Npy::memberKey).toList());
    }

    private static String memberKey(ZipEntry e) {
        return e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
    }

    private interface ZipAction<T> {
        T apply(ZipFile zip) throws IOException;
    }

    private static <T> T withNpz(Path file, ZipAction<T> action) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return action.apply(zip);
        } catch (java.util.zip.ZipException | java.io.EOFException | IllegalArgumentException e) {
            // ZipFile reports malformed archives with these: a damaged directory, one that runs past the end
            // of the file, undecodable entry names.
            if (e instanceof InvalidInputException iie) {
                throw iie;
            }
            throw new InvalidInputException(file + ": not a readable .npz archive (" + e.getMessage() + ")");
        }
    }

    private static TensorEntry member(ZipFile zip, ZipEntry e, Path file) throws IOException {
        String name = file + ":" + e.getName();
        // Deflate expands at most 1032:1, so a member claiming more is lying; with this bound no
        // member can make the reader allocate more than its compressed bytes justify.
        if (e.getSize() < 0 || (e.getMethod() == ZipEntry.DEFLATED && e.getSize() > 1032 * e.getCompressedSize() + 1024)) {
            throw new InvalidInputException(name + ": member size " + e.getSize()
                    + " is unknown or impossible for " + e.getCompressedSize() + " compressed bytes");
        }
        // java.util.zip checks no CRC of a stored member (and NumPy's reader does), so it is checked here.
        CRC32 crc = new CRC32();
        TensorEntry entry;
        try (InputStream in = new java.util.zip.CheckedInputStream(zip.getInputStream(e), crc)) {
            entry = readEntry(in, name, memberKey(e), e.getSize());
            in.transferTo(OutputStream.nullOutputStream());
        } catch (java.util.zip.ZipException | java.io.EOFException ex) {
            // A member whose compressed stream is cut short or corrupt: bad input, not an I/O failure.
            throw new InvalidInputException(name + ": corrupt archive member (" + ex.getMessage() + ")");
        }
        if (e.getCrc() != -1 && crc.getValue() != e.getCrc()) {
            throw new InvalidInputException(name + ": bad CRC-32 (archive says " + String.format("%08x", e.getCrc())
                    + ", the member's bytes give " + String.format("%08x", crc.getValue()) + ")");
        }
        return entry;
    }

    /**
     * Reads an array from a stream.
     *
     * @param available bytes the source holds, or −1 when unknown; a header that claims more data than
     *                  this is rejected before anything is allocated
     */
    public static NpyArray read(InputStream in, String name, long available) throws IOException {
        TensorEntry e = readEntry(in, name, name, available);
        if (!e.readable()) {
            throw new InvalidInputException(name + ": " + e.unreadable());
        }
        return e.array();
    }

    /** Reads an array from a stream; one of a dtype qvg4j does not read is listed with its data skipped. */
    private static TensorEntry readEntry(InputStream in, String name, String key, long available) throws IOException {
        byte[] start = in.readNBytes(8);
        if (start.length == 8 && Arrays.equals(start, 0, 6, MAGIC, 0, 6) && (start[6] >= 1 && start[6] <= 3)) {
            start = Arrays.copyOf(start, 8 + (start[6] == 1 ? 2 : 4));
            int got = in.readNBytes(start, 8, start.length - 8);
            if (got < start.length - 8) {
                throw new InvalidInputException(name + ": truncated .npy header");
            }
        }
        int headerLength = headerLength(start, name);
        byte[] headerBytes = in.readNBytes(headerLength);
        if (headerBytes.length < headerLength) {
            throw new InvalidInputException(name + ": truncated .npy header");
        }
        Header h = header(start[6], headerBytes, start.length - 8, name);
        if (h.dtype == null) {
            return h.entry(key, name, null);
        }
        h.requireReadable(name);
        if (available >= 0 && (long) h.dataOffset + h.dataBytes > available) {
            throw new InvalidInputException(name + ": truncated: header declares " + h.dataBytes + " data bytes, file holds "
                    + Math.max(0, available - h.dataOffset));
        }
        // readNBytes grows its buffer as data arrives, so a lying header cannot force a large allocation.
        byte[] data = in.readNBytes((int) h.dataBytes);
        if (data.length < h.dataBytes) {
            throw new InvalidInputException(name + ": truncated: " + data.length + " of " + h.dataBytes + " data bytes present");
        }
        return h.entry(key, name, ByteBuffer.wrap(data));
    }

    /** The header length field of the magic + version + length prefix ({@code start}: 10 or 12 bytes). */
    private static int headerLength(byte[] start, String name) {
        if (start.length < 8 || !Arrays.equals(start, 0, 6, MAGIC, 0, 6)) {
            throw new InvalidInputException(name + ": not a .npy file (bad magic)");
        }
        int major = start[6];
        if (major < 1 || major > 3) {
            throw new InvalidInputException(name + ": unsupported .npy format version " + major);
        }
        int lenBytes = major == 1 ? 2 : 4;
        if (start.length < 8 + lenBytes) {
            throw new InvalidInputException(name + ": truncated .npy header");
        }
        ByteBuffer len = ByteBuffer.wrap(start, 8, lenBytes).order(ByteOrder.LITTLE_ENDIAN);
        long l = lenBytes == 2 ? len.getShort() & 0xFFFFL : len.getInt() & 0xFFFF_FFFFL;
        if (l > MAX_HEADER) {
            throw new InvalidInputException(name + ": .npy header of " + l + " bytes exceeds the " + MAX_HEADER + "-byte limit");
        }
        return (int) l;
    }

    private static Header header(int major, byte[] headerBytes, int lenBytes, String name) {
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = parseDescr(header, name);
        NpyDtype dtype = NpyDtype.of(descr);
        long[] shape = parseShape(header, name);
        long count = elementCount(shape, name);
        return new Header(descr, dtype, shape, 8 + lenBytes + headerBytes.length, dtype == null ? -1 : count * dtype.size());
    }

    private static String parseDescr(String header, String name) {
        Matcher fortran = FORTRAN.matcher(header);
        if (!fortran.find()) {
            throw new InvalidInputException(name + ": .npy header lacks 'fortran_order'");
        }
        if (fortran.group(1).equals("True")) {
            throw new InvalidInputException(name + ": Fortran-order arrays are not supported; save with C order");
        }
        Matcher descr = DESCR.matcher(header);
        if (!descr.find()) {
            throw new InvalidInputException(name + ": .npy header lacks 'descr'");
        }
        return descr.group(1);
    }

    private static long[] parseShape(String header, String name) {
        Matcher m = SHAPE.matcher(header);
        if (!m.find()) {
            throw new InvalidInputException(name + ": .npy header lacks 'shape'");
        }
        List<Long> dims = new ArrayList<>();
        for (String part : m.group(1).split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            try {
                long d = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
                if (d < 0) {
                    throw new NumberFormatException();
                }
                dims.add(d);
            } catch (NumberFormatException e) {
                throw new InvalidInputException(name + ": bad dimension '" + p + "' in .npy shape");
            }
            if (dims.size() > MAX_DIMS) {
                throw new InvalidInputException(name + ": .npy shape has more than " + MAX_DIMS + " dimensions");
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** Product of the dimensions; anything past 2^31 elements is rejected (no tensor qvg4j handles is that large). */
    static long elementCount(long[] shape, String name) {
        long n = 1;
        for (long d : shape) {
            n *= d;
            if (d > Integer.MAX_VALUE || n > Integer.MAX_VALUE) {
                throw new InvalidInputException(name + ": shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
            }
        }
        return n;
    }

    // ---- writing ----

    /** The complete {@code .npy} image (format 1.0) of an array, as NumPy writes it: header padded to 64 bytes. */
    public static byte[] encode(NpyArray a) {
        if (a.dtype().descr() == null) {
            throw new InvalidInputException(a.name() + ": NumPy has no dtype for " + a.dtype() + "; a .npy file cannot hold it");
        }
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < a.shape().length; i++) {
            shape.append(a.shape()[i]).append(a.shape().length == 1 ? "," : i + 1 < a.shape().length ? ", " : "");
        }
        shape.append(')');
        String dict = "{'descr': '" + a.dtype().descr() + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int unpadded = 10 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        ByteBuffer data = a.data().duplicate();
        byte[] out = new byte[10 + header.length() + data.remaining()];
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1));
        b.put(data);
        return out;
    }

    /** Writes one {@code .npy} file atomically (see {@link AtomicFile}). */
    public static void write(Path file, NpyArray a) throws IOException {
        byte[] image = encode(a);
        AtomicFile.write(file, out -> out.write(image));
    }

    /**
     * Writes a {@code .npz} archive (stored, uncompressed, as {@code numpy.savez} does) atomically; the
     * bytes are a function of the arrays alone.
     */
    public static void writeNpz(Path file, Map<String, NpyArray> arrays) throws IOException {
        AtomicFile.write(file, out -> writeNpz(out, arrays));
    }

    private static void writeNpz(OutputStream out, Map<String, NpyArray> arrays) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(out);
        for (var e : arrays.entrySet()) {
            byte[] image = encode(e.getValue());
            ZipEntry entry = new ZipEntry(e.getKey() + ".npy");
            entry.setMethod(ZipEntry.STORED);
            // A fixed time (the zip epoch, in local time, so no time zone enters): the same arrays give the same bytes.
            entry.setTimeLocal(java.time.LocalDateTime.of(1980, 1, 1, 0, 0));
            entry.setSize(image.length);
            CRC32 crc = new CRC32();
            crc.update(image);
            entry.setCrc(crc.getValue());
            zip.putNextEntry(entry);
            zip.write(image);
            zip.closeEntry();
        }
        zip.finish();
    }

    /** Bytes of a {@code .npz} image, for tests and fuzz seeds. */
    static byte[] encodeNpz(Map<String, NpyArray> arrays) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeNpz(out, arrays);
        return out.toByteArray();
    }
}
