package io.qvg4j.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.qvg4j.tensor.InvalidInputException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes {@code .safetensors} files: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype": .., "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}),
 * then the data, offsets counted from the end of the header. Dtypes BF16, F16, F32, F64, F8_E4M3, U8, I32 and
 * I64 map to {@link NpyDtype} UINT16 (bf16 bits), FLOAT16, FLOAT32, FLOAT64, FLOAT8_E4M3, UINT8, INT32 and
 * INT64; a tensor of another dtype is listed without data ({@link TensorEntry}). Only the header is read;
 * each tensor's data region is mapped on its own and is a view of the file.
 */
public final class Safetensors {
    private Safetensors() {}

    /** Largest JSON header accepted (the safetensors library's own limit is 100 MB). */
    static final long MAX_HEADER = 16L << 20;
    /** The header key of the file's string metadata; no tensor may have this name. */
    public static final String METADATA = "__metadata__";
    private static final int MAX_DIMS = 64;
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxStringLength(1 << 16)
                    .maxNumberLength(32).build())
            .build();

    /** The safetensors dtype name of an array dtype. */
    public static String dtypeName(NpyDtype t) {
        return switch (t) {
            case UINT16 -> "BF16";
            case FLOAT16 -> "F16";
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case UINT8 -> "U8";
            case INT32 -> "I32";
            case INT64 -> "I64";
            case FLOAT8_E4M3 -> "F8_E4M3";
        };
    }

    private static NpyDtype dtypeOf(String name) {
        for (NpyDtype t : NpyDtype.values()) {
            if (dtypeName(t).equals(name)) {
                return t;
            }
        }
        return null;
    }

    /**
     * Element sizes of the safetensors dtypes qvg4j lists but does not read, so that their data_offsets can
     * still be checked; a dtype not named here (a newer sub-byte one) is only checked to lie inside the file.
     * U16 is not read because qvg4j's uint16 means bf16 bits.
     */
    private static final Map<String, Integer> OTHER_SIZES = Map.of("BOOL", 1, "I8", 1, "F8_E5M2", 1, "F8_E8M0", 1,
            "I16", 2, "U16", 2, "U32", 4, "U64", 8, "C64", 8);

    /** What the header says of one tensor; {@code dtype} is null when qvg4j does not read {@code dtypeName}. */
    record Entry(String name, String dtypeName, NpyDtype dtype, long[] shape, long begin, long end) {
        boolean tooLarge() {
            return end - begin > Integer.MAX_VALUE - 8;
        }

        String unreadable() {
            return dtype == null ? "dtype " + dtypeName + " is not read by qvg4j (" + READ + ")"
                    : tooLarge() ? (end - begin) + " bytes: a tensor over 2 GiB is not read" : null;
        }
    }

    private static final String READ = "BF16, F16, F32, F64, F8_E4M3, U8, I32, I64";

    /** A region of the file's data section, as a little-endian buffer. */
    private interface Data {
        ByteBuffer slice(long offset, long length) throws IOException;
    }

    /** Every tensor of a file of a dtype qvg4j reads, in header order; each one's data is mapped on its own. */
    public static Map<String, NpyArray> read(Path file) throws IOException {
        return readable(list(file));
    }

    /**
     * Every tensor of a file, in header order, readable or not. Only the header is read; each readable
     * tensor's data region is mapped on its own, so a file of any size serves tensors below 2 GiB each.
     */
    public static List<TensorEntry> list(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            String name = file.toString();
            ByteBuffer len = ByteBuffer.allocate((int) Math.min(8, size)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long n = headerLength(len.flip(), size, name);
            ByteBuffer json = ByteBuffer.allocate((int) n);
            readFully(ch, json, 8);
            long dataStart = 8 + n;
            return entries(json.array(), size - dataStart, name,
                    (offset, length) -> ch.map(FileChannel.MapMode.READ_ONLY, dataStart + offset, length));
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer into, long at) throws IOException {
        while (into.hasRemaining()) {
            if (ch.read(into, at + into.position()) < 0) {
                throw new java.io.EOFException();
            }
        }
    }

    /** Parses a whole {@code .safetensors} image; arrays of the dtypes qvg4j reads, as views of it. */
    public static Map<String, NpyArray> parse(ByteBuffer image, String name) {
        return readable(listImage(image, name));
    }

    /** Every tensor of a whole {@code .safetensors} image, readable or not. */
    public static List<TensorEntry> listImage(ByteBuffer image, String name) {
        ByteBuffer buf = image.slice().order(ByteOrder.LITTLE_ENDIAN);
        long n = headerLength(buf, buf.remaining(), name);
        byte[] json = new byte[(int) n];
        buf.get(8, json);
        int dataStart = 8 + (int) n;
        try {
            return entries(json, buf.remaining() - dataStart, name,
                    (offset, length) -> buf.slice(dataStart + (int) offset, (int) length));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // slicing a buffer does no I/O
        }
    }

    private static Map<String, NpyArray> readable(List<TensorEntry> entries) {
        Map<String, NpyArray> out = new LinkedHashMap<>();
        for (TensorEntry e : entries) {
            if (e.readable()) {
                out.put(e.name(), e.array());
            }
        }
        return out;
    }

    /** The header length N of the first 8 bytes, checked against the file size. */
    private static long headerLength(ByteBuffer first, long fileSize, String name) {
        if (first.remaining() < 8) {
            throw new InvalidInputException(name + ": truncated: a .safetensors file starts with an 8-byte header length");
        }
        long n = first.getLong(first.position());
        if (n < 2 || n > MAX_HEADER) {
            throw new InvalidInputException(name + ": header length " + Long.toUnsignedString(n)
                    + " is outside 2.." + MAX_HEADER + " bytes (not a .safetensors file?)");
        }
        if (8 + n > fileSize) {
            throw new InvalidInputException(name + ": truncated: header of " + n + " bytes, file holds " + (fileSize - 8));
        }
        return n;
    }

    private static List<TensorEntry> entries(byte[] json, long dataLength, String name, Data data) throws IOException {
        List<Entry> entries = parseHeader(json, name);
        // Tensors must lie inside the data section, without overlapping one another (as the format requires).
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin));
        long end = 0;
        for (Entry e : byOffset) {
            if (e.begin < end) {
                throw new InvalidInputException(name + ": tensor '" + e.name + "' data_offsets [" + e.begin + ", " + e.end
                        + "] overlap the previous tensor (ending at " + end + ")");
            }
            end = e.end;
        }
        if (end > dataLength) {
            throw new InvalidInputException(name + ": truncated: tensors need " + end + " data bytes, file holds " + dataLength);
        }
        List<TensorEntry> out = new ArrayList<>();
        for (Entry e : entries) {
            String why = e.unreadable();
            out.add(why != null ? new TensorEntry(e.name, e.dtypeName, e.shape, null, why)
                    : TensorEntry.of(e.name, e.dtypeName, new NpyArray(name + ":" + e.name, e.dtype, e.shape,
                            data.slice(e.begin, e.end - e.begin))));
        }
        return out;
    }

    /** Parses the JSON header with Jackson's streaming parser; every entry is checked for type, shape and size. */
    static List<Entry> parseHeader(byte[] json, String name) {
        List<Entry> entries = new ArrayList<>();
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new InvalidInputException(name + ": header is not a JSON object");
            }
            java.util.Set<String> seen = new java.util.HashSet<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String tensor = p.currentName();
                if (!seen.add(tensor)) {
                    throw new InvalidInputException(name + ": tensor '" + tensor + "' appears twice in the header");
                }
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new InvalidInputException(name + ": header entry '" + tensor + "' is not a JSON object");
                }
                if (tensor.equals(METADATA)) {
                    skipMetadata(p, name);
                } else {
                    entries.add(parseEntry(p, tensor, name));
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new InvalidInputException(name + ": header has trailing content after its JSON object");
            }
        } catch (IOException e) {
            throw new InvalidInputException(name + ": header is not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
        return entries;
    }

    private static void skipMetadata(JsonParser p, String name) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw new InvalidInputException(name + ": __metadata__ values must be strings");
            }
        }
    }

    private static Entry parseEntry(JsonParser p, String tensor, String name) throws IOException {
        String where = name + ": tensor '" + tensor + "'";
        String dtypeName = null;
        long[] shape = null, offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (v != JsonToken.VALUE_STRING) {
                        throw new InvalidInputException(where + ": dtype must be a string");
                    }
                    dtypeName = p.getText();
                }
                case "shape" -> shape = longs(p, where + ": shape", MAX_DIMS, Integer.MAX_VALUE);
                // 64-bit offsets: a file may be far larger than any one tensor in it.
                case "data_offsets" -> offsets = longs(p, where + ": data_offsets", 2, Long.MAX_VALUE);
                default -> throw new InvalidInputException(where + ": unknown field '" + field + "'");
            }
        }
        if (dtypeName == null || shape == null || offsets == null || offsets.length != 2) {
            throw new InvalidInputException(where + ": needs dtype, shape and data_offsets [begin, end]");
        }
        NpyDtype dtype = dtypeOf(dtypeName);
        Integer size = dtype != null ? Integer.valueOf(dtype.size()) : OTHER_SIZES.get(dtypeName);
        long count = Npy.elementCount(shape, where);
        if (offsets[1] < offsets[0] || (size != null && offsets[1] - offsets[0] != count * size)) {
            throw new InvalidInputException(where + ": data_offsets [" + offsets[0] + ", " + offsets[1] + "] do not span the "
                    + (size == null ? "" : count * size + " bytes of ") + "shape " + Arrays.toString(shape) + " " + dtypeName);
        }
        return new Entry(tensor, dtypeName, dtype, shape, offsets[0], offsets[1]);
    }

    /** An array of at most {@code max} integers in 0..{@code limit}. */
    private static long[] longs(JsonParser p, String what, int max, long limit) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new InvalidInputException(what + " must be an array of integers");
        }
        List<Long> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || out.size() == max) {
                throw new InvalidInputException(what + " must be an array of at most " + max + " integers");
            }
            long v = p.getValueAsLong(-1);
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || v < 0 || v > limit) {
                throw new InvalidInputException(what + ": " + p.getText() + " is not an integer in 0.." + limit);
            }
            out.add(v);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "malformed";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    // ---- writing ----

    /** The complete file image: header padded with spaces to a multiple of 8 bytes, tensors in map order. */
    public static byte[] encode(Map<String, NpyArray> tensors, Map<String, String> metadata) {
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        long offset = 0;
        try (JsonGenerator g = JSON.createGenerator(json)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (var m : metadata.entrySet()) {
                    g.writeStringField(m.getKey(), m.getValue());
                }
                g.writeEndObject();
            }
            for (var e : tensors.entrySet()) {
                if (e.getKey().equals(METADATA)) {
                    throw new InvalidInputException("tensor name '" + e.getKey() + "' is reserved in .safetensors files");
                }
                NpyArray a = e.getValue();
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("dtype", dtypeName(a.dtype()));
                g.writeArrayFieldStart("shape");
                for (long d : a.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                long size = a.data().remaining();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + size);
                g.writeEndArray();
                g.writeEndObject();
                offset += size;
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        byte[] header = json.toString(StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(header);
        for (int i = header.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (NpyArray a : tensors.values()) {
            out.put(a.data().duplicate());
        }
        return out.array();
    }

    /** Writes a file atomically (see {@link AtomicFile}). */
    public static void write(Path file, Map<String, NpyArray> tensors, Map<String, String> metadata) throws IOException {
        byte[] image = encode(tensors, metadata);
        AtomicFile.write(file, out -> out.write(image));
    }
}
