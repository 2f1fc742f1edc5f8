package io.qvg4j.io;

import io.qvg4j.tensor.InvalidInputException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads NumPy {@code .npy} files (format versions 1–3) and {@code .npz} archives of them. Only
 * C-order arrays of the dtypes in {@link NpyDtype} are accepted; anything else is one clear error.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Largest header accepted; NumPy itself writes a few hundred bytes. */
    static final int MAX_HEADER = 1 << 16;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** Reads one {@code .npy} file. */
    public static NpyArray read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString(), Files.size(file));
        }
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
                try (InputStream in = zip.getInputStream(e)) {
                    out.put(key, read(in, file + ":" + e.getName(), e.getSize()));
                }
            }
        } catch (java.util.zip.ZipException e) {
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
        byte[] magic = in.readNBytes(8);
        if (magic.length < 8 || !java.util.Arrays.equals(magic, 0, 6, MAGIC, 0, 6)) {
            throw new InvalidInputException(name + ": not a .npy file (bad magic)");
        }
        int major = magic[6];
        int headerLength;
        if (major == 1) {
            byte[] len = in.readNBytes(2);
            if (len.length < 2) {
                throw new InvalidInputException(name + ": truncated .npy header");
            }
            headerLength = (len[0] & 0xFF) | (len[1] & 0xFF) << 8;
        } else if (major == 2 || major == 3) {
            byte[] len = in.readNBytes(4);
            if (len.length < 4) {
                throw new InvalidInputException(name + ": truncated .npy header");
            }
            long l = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFF_FFFFL;
            if (l > MAX_HEADER) {
                throw new InvalidInputException(name + ": .npy header of " + l + " bytes exceeds the " + MAX_HEADER + "-byte limit");
            }
            headerLength = (int) l;
        } else {
            throw new InvalidInputException(name + ": unsupported .npy format version " + major);
        }
        byte[] headerBytes = in.readNBytes(headerLength);
        if (headerBytes.length < headerLength) {
            throw new InvalidInputException(name + ": truncated .npy header");
        }
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        NpyDtype dtype = parseDtype(header, name);
        long[] shape = parseShape(header, name);
        long bytes = Math.multiplyExact(elementCount(shape, name), dtype.size());
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException(name + ": array of " + bytes + " bytes is too large");
        }
        long headerTotal = 8 + (major == 1 ? 2 : 4) + headerLength;
        if (available >= 0 && headerTotal + bytes > available) {
            throw new InvalidInputException(name + ": truncated: header declares " + bytes + " data bytes, file holds "
                    + Math.max(0, available - headerTotal));
        }
        byte[] data = in.readNBytes((int) bytes);
        if (data.length < bytes) {
            throw new InvalidInputException(name + ": truncated: " + data.length + " of " + bytes + " data bytes present");
        }
        return new NpyArray(name, dtype, shape, ByteBuffer.wrap(data));
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
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static long elementCount(long[] shape, String name) {
        long n = 1;
        for (long d : shape) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new InvalidInputException(name + ": shape " + java.util.Arrays.toString(shape) + " overflows");
            }
        }
        return n;
    }
}
