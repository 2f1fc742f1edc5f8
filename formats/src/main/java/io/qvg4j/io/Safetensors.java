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
 * then the data, offsets counted from the end of the header. Dtypes BF16, F16, F32, U8 and I32 map to
 * {@link NpyDtype} UINT16 (bf16 bits), FLOAT16, FLOAT32, UINT8 and INT32. Files are memory-mapped; every
 * tensor's data is a view of the file.
 */
public final class Safetensors {
    private Safetensors() {}

    /** Largest JSON header accepted (the safetensors library's own limit is 100 MB). */
    static final long MAX_HEADER = 16L << 20;
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
            case UINT8 -> "U8";
            case INT32 -> "I32";
        };
    }

    private static NpyDtype dtypeOf(String name) {
        return switch (name) {
            case "BF16" -> NpyDtype.UINT16;
            case "F16" -> NpyDtype.FLOAT16;
            case "F32" -> NpyDtype.FLOAT32;
            case "U8" -> NpyDtype.UINT8;
            case "I32" -> NpyDtype.INT32;
            default -> null;
        };
    }

    /** Reads every tensor of a file, in header order, by mapping it. */
    public static Map<String, NpyArray> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new InvalidInputException(file + ": " + size + " bytes; .safetensors files over 2 GiB are not supported");
            }
            return parse(ch.map(FileChannel.MapMode.READ_ONLY, 0, size), file.toString());
        }
    }

    /** Parses a whole {@code .safetensors} image; arrays are views of it. */
    public static Map<String, NpyArray> parse(ByteBuffer image, String name) {
        ByteBuffer buf = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int base = buf.position();
        if (buf.remaining() < 8) {
            throw new InvalidInputException(name + ": truncated: a .safetensors file starts with an 8-byte header length");
        }
        long n = buf.getLong(base);
        if (n < 2 || n > MAX_HEADER) {
            throw new InvalidInputException(name + ": header length " + Long.toUnsignedString(n)
                    + " is outside 2.." + MAX_HEADER + " bytes (not a .safetensors file?)");
        }
        if (8 + n > buf.remaining()) {
            throw new InvalidInputException(name + ": truncated: header of " + n + " bytes, file holds " + (buf.remaining() - 8));
        }
        byte[] json = new byte[(int) n];
        buf.get(base + 8, json);
        List<Entry> entries = parseHeader(json, name);
        long dataLength = buf.remaining() - 8 - n;
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
        Map<String, NpyArray> out = new LinkedHashMap<>();
        int dataStart = base + 8 + (int) n;
        for (Entry e : entries) {
            out.put(e.name, new NpyArray(name + ":" + e.name, e.dtype, e.shape,
                    buf.slice(dataStart + (int) e.begin, (int) (e.end - e.begin))));
        }
        return out;
    }

    record Entry(String name, NpyDtype dtype, long[] shape, long begin, long end) {}

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
                if (tensor.equals("__metadata__")) {
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
        NpyDtype dtype = null;
        long[] shape = null, offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (v != JsonToken.VALUE_STRING) {
                        throw new InvalidInputException(where + ": dtype must be a string");
                    }
                    dtype = dtypeOf(p.getText());
                    if (dtype == null) {
                        throw new InvalidInputException(where + ": dtype " + p.getText()
                                + " is not supported (BF16, F16, F32, U8, I32)");
                    }
                }
                case "shape" -> shape = longs(p, where + ": shape", MAX_DIMS);
                case "data_offsets" -> offsets = longs(p, where + ": data_offsets", 2);
                default -> throw new InvalidInputException(where + ": unknown field '" + field + "'");
            }
        }
        if (dtype == null || shape == null || offsets == null || offsets.length != 2) {
            throw new InvalidInputException(where + ": needs dtype, shape and data_offsets [begin, end]");
        }
        long bytes = Npy.elementCount(shape, where) * dtype.size();
        if (offsets[1] < offsets[0] || offsets[1] - offsets[0] != bytes) {
            throw new InvalidInputException(where + ": data_offsets [" + offsets[0] + ", " + offsets[1] + "] do not span the "
                    + bytes + " bytes of shape " + Arrays.toString(shape) + " " + dtypeName(dtype));
        }
        return new Entry(tensor, dtype, shape, offsets[0], offsets[1]);
    }

    /** An array of at most {@code max} non-negative integers below 2^31. */
    private static long[] longs(JsonParser p, String what, int max) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new InvalidInputException(what + " must be an array of integers");
        }
        List<Long> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || out.size() == max) {
                throw new InvalidInputException(what + " must be an array of at most " + max + " integers");
            }
            long v = p.getValueAsLong(-1);
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || v < 0 || v > Integer.MAX_VALUE) {
                throw new InvalidInputException(what + ": " + p.getText() + " is not an integer in 0..2^31-1");
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
