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
 * C-order arrays of the dtypes in {@link NpyDtype} are accepted; anything else is one clear error. A
 * {@code .npy} file is memory-mapped, not read whole: its array's data is a view of the file.
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

    /** What a header declares: the data starts {@code prefix + headerLength} bytes into the file. */
    private record Header(NpyDtype dtype, long[] shape, int dataOffset, int dataBytes) {}

    /** Reads one {@code .npy} file by mapping it; the returned array's data is a read-only view of the file. */
    public static NpyArray read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new InvalidInputException(file + ": " + size + " bytes; .npy files over 2 GiB are not supported");
            }
            return parse(ch.map(FileChannel.MapMode.READ_ONLY, 0, size), file.toString());
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
        Header h = header(start[6], headerBytes, lenBytes, name);
        long available = buf.remaining() - (long) h.dataOffset;
        if (h.dataBytes > available) {
            throw new InvalidInputException(name + ": truncated: header declares " + h.dataBytes
                    + " data bytes, file holds " + available);
        }
        ByteBuffer data = buf.slice(buf.position() + h.dataOffset, h.dataBytes);
        return new NpyArray(name, h.dtype, h.shape, data);
    }

    /** Reads every member of a {@code .npz} archive, keyed by name without the {@code .npy} suffix. */
    public static Map<String, NpyArray> readNpz(Path file) throws IOException {
        Map<String, NpyArray> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                if (e.isDirectory()) {
                    continue;
                }
                String key = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
                if (out.containsKey(key)) {
                    throw new InvalidInputException(file + ": member '" + key + "' appears twice");
                }
                // Deflate expands at most 1032:1, so a member claiming more is lying; with this bound no
                // member can make the reader allocate more than its compressed bytes justify.
                if (e.getSize() < 0 || (e.getMethod() == ZipEntry.DEFLATED && e.getSize() > 1032 * e.getCompressedSize() + 1024)) {
                    throw new InvalidInputException(file + ":" + e.getName() + ": member size " + e.getSize()
                            + " is unknown or impossible for " + e.getCompressedSize() + " compressed bytes");
                }
                try (InputStream in = zip.getInputStream(e)) {
                    out.put(key, read(in, file + ":" + e.getName(), e.getSize()));
                } catch (java.util.zip.ZipException | java.io.EOFException ex) {
                    // A member whose compressed stream is cut short or corrupt: bad input, not an I/O failure.
                    throw new InvalidInputException(file + ":" + e.getName() + ": corrupt archive member (" + ex.getMessage() + ")");
                }
            }
        } catch (java.util.zip.ZipException | java.io.EOFException | IllegalArgumentException e) {
            // ZipFile reports malformed archives with these: a damaged directory, one that runs past the end
            // of the file, undecodable entry names.
            if (e instanceof InvalidInputException iie) {
                throw iie;
            }
            throw new InvalidInputException(file + ": not a readable .npz archive (" + e.getMessage() + ")");
        }
        return out;
    }

    /**
     * Reads an array from a stream.
     *
     * @param available bytes the source holds, or −1 when unknown; a header that claims more data than
     *                  this is rejected before anything is allocated
     */
    public static NpyArray read(InputStream in, String name, long available) throws IOException {
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
        if (available >= 0 && (long) h.dataOffset + h.dataBytes > available) {
            throw new InvalidInputException(name + ": truncated: header declares " + h.dataBytes + " data bytes, file holds "
                    + Math.max(0, available - h.dataOffset));
        }
        // readNBytes grows its buffer as data arrives, so a lying header cannot force a large allocation.
        byte[] data = in.readNBytes(h.dataBytes);
        if (data.length < h.dataBytes) {
            throw new InvalidInputException(name + ": truncated: " + data.length + " of " + h.dataBytes + " data bytes present");
        }
        return new NpyArray(name, h.dtype, h.shape, ByteBuffer.wrap(data));
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
        NpyDtype dtype = parseDtype(header, name);
        long[] shape = parseShape(header, name);
        long bytes = elementCount(shape, name) * dtype.size();
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException(name + ": array of " + bytes + " bytes is too large");
        }
        return new Header(dtype, shape, 8 + lenBytes + headerBytes.length, (int) bytes);
    }

    private static NpyDtype parseDtype(String header, String name) {
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
        NpyDtype dtype = NpyDtype.of(descr.group(1));
        if (dtype == null) {
            throw new InvalidInputException(name + ": dtype '" + descr.group(1)
                    + "' is not supported (uint8, uint16 = bf16 bits, int32, float16, float32, little-endian)");
        }
        return dtype;
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

    /** Writes a {@code .npz} archive (stored, uncompressed, as {@code numpy.savez} does) atomically. */
    public static void writeNpz(Path file, Map<String, NpyArray> arrays) throws IOException {
        AtomicFile.write(file, out -> writeNpz(out, arrays));
    }

    private static void writeNpz(OutputStream out, Map<String, NpyArray> arrays) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(out);
        for (var e : arrays.entrySet()) {
            byte[] image = encode(e.getValue());
            ZipEntry entry = new ZipEntry(e.getKey() + ".npy");
            entry.setMethod(ZipEntry.STORED);
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
