package io.qvg4j.io;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp16;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tensor files by extension ({@code .npy}, {@code .npz}, {@code .safetensors}) and their conversion to {@link KvTensor}. */
public final class TensorFiles {
    private TensorFiles() {}

    /**
     * A K or V span taken from a file, with a note on any conversion (empty when the data was bf16 already).
     *
     * @param layout how the file ordered the axes; the span itself is always [B,H,S,D]
     */
    public record Loaded(KvTensor tensor, String sourceDtype, String conversion, TensorLayout layout) {}

    public static boolean isTensorFile(Path file) {
        String n = file.getFileName().toString();
        return n.endsWith(".npy") || n.endsWith(".npz") || n.endsWith(".safetensors");
    }

    /** Every tensor the file lists, of a dtype qvg4j reads or not ({@code .npy}: one, named after the file). */
    public static List<TensorEntry> list(Path file) throws IOException {
        String n = requireTensorFile(file);
        try {
            if (n.endsWith(".npy")) {
                return List.of(Npy.entry(file, npyName(file)));
            }
            return n.endsWith(".npz") ? Npy.listNpz(file) : Safetensors.list(file);
        } catch (IOException e) {
            throw FileErrors.named(file, e);
        }
    }

    /** Every tensor of the file of a dtype qvg4j reads, by name; the others are left out. */
    public static Map<String, NpyArray> readAll(Path file) throws IOException {
        Map<String, NpyArray> out = new LinkedHashMap<>();
        for (TensorEntry e : list(file)) {
            if (e.readable()) {
                out.put(e.name(), e.array());
            }
        }
        return out;
    }

    /**
     * The tensor {@code name} of the file, or its only tensor when name is null; of a {@code .npz} archive
     * only that member is read. One of a dtype qvg4j does not read is an error naming the dtype.
     */
    public static TensorEntry read(Path file, String name) throws IOException {
        String n = requireTensorFile(file);
        TensorEntry e;
        try {
            e = find(file, n, name);
        } catch (IOException ex) {
            throw FileErrors.named(file, ex);
        }
        if (!e.readable()) {
            throw new InvalidInputException(file + ": tensor '" + e.name() + "': " + e.unreadable());
        }
        return e;
    }

    private static TensorEntry find(Path file, String n, String name) throws IOException {
        TensorEntry e;
        if (n.endsWith(".npy")) {
            // A .npy file holds one unnamed array: --tensor names it (the name a .qkv keeps), it does not choose.
            e = Npy.entry(file, name != null ? name : npyName(file));
        } else if (n.endsWith(".npz") && name != null) {
            e = Npy.readNpzMember(file, name);
            if (e == null) {
                throw new InvalidInputException(file + ": no tensor '" + name + "'; it holds " + Npy.npzNames(file));
            }
        } else {
            List<TensorEntry> all = list(file);
            List<String> names = all.stream().map(TensorEntry::name).toList();
            if (name != null) {
                e = all.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() ->
                        new InvalidInputException(file + ": no tensor '" + name + "'; it holds " + names));
            } else if (all.size() == 1) {
                e = all.get(0);
            } else {
                throw new InvalidInputException(file + ": holds " + all.size() + " tensors " + names
                        + "; choose one with --tensor");
            }
        }
        return e;
    }

    private static String npyName(Path file) {
        String n = file.getFileName().toString();
        return n.substring(0, n.length() - 4);
    }

    /** The file name, after checking the file is a regular tensor file (see {@link FileErrors#requireReadable}). */
    private static String requireTensorFile(Path file) throws IOException {
        FileErrors.requireReadable(file);
        String n = file.getFileName().toString();
        if (!isTensorFile(file)) {
            throw new InvalidInputException(file + ": unknown tensor file type; use .npy, .npz or .safetensors");
        }
        return n;
    }

    /** The dtype's name in the file's own vocabulary. */
    public static String dtypeName(Path file, NpyDtype t) {
        return file.getFileName().toString().endsWith(".safetensors") ? Safetensors.dtypeName(t) : Npy.dtypeLabel(t);
    }

    /** {@link #load(Path, String, TensorLayout)} with the layout the tensor's rank implies. */
    public static Loaded load(Path file, String name) throws IOException {
        return load(file, name, null);
    }

    /**
     * The tensor {@code name} of the file (or its only tensor when name is null) as a KV span. The layout
     * (null: {@link TensorLayout#defaultFor} the rank) orders the axes; the span is [B,H,S,D]. bf16 (uint16
     * in NumPy files) is taken as is; F16, F32, F8_E4M3 and F64 are rounded to bf16 to nearest even
     * (SPEC §2.1; every F16 and F8_E4M3 value is exact in F32, and F64 is rounded once, directly).
     */
    public static Loaded load(Path file, String name, TensorLayout layout) throws IOException {
        TensorEntry e = read(file, name);
        return toKv(e.array(), e.name(), e.dtype(), layout);
    }

    static Loaded toKv(NpyArray a, String name, String dtypeName, TensorLayout layout) {
        if (!a.dtype().isFloatingPoint()) {
            throw new InvalidInputException(a.name() + ": dtype " + dtypeName
                    + " is not a floating-point tensor (need bf16/uint16, float16, float32, float64 or F8_E4M3)");
        }
        long[] s = a.shape();
        TensorLayout l = layout != null ? layout : TensorLayout.defaultFor(s.length);
        if (s.length != l.rank()) {
            throw new InvalidInputException(a.name() + ": shape " + Arrays.toString(s) + (layout == null
                    ? " is not [B,H,S,D] or [H,S,D] (for [B,S,H,D] give --layout bshd)"
                    : " is not " + l.axes() + " as --layout " + l + " needs"));
        }
        long[] bhsd = switch (l) {
            case BHSD -> s;
            case BSHD -> new long[] {s[0], s[2], s[1], s[3]};
            case HSD -> new long[] {1, s[0], s[1], s[2]};
        };
        KvTensor.checkShape(a.name(), bhsd[0], bhsd[1], bhsd[2], bhsd[3]);
        short[] bits = new short[Math.toIntExact(a.elementCount())];
        ByteBuffer in = a.data();
        int width = a.dtype().size();
        for (int from = 0; from < bits.length; from += COPY_CHUNK) {
            int to = Math.min(bits.length, from + COPY_CHUNK);
            if (a.dtype() == NpyDtype.UINT16) {
                in.slice(2 * from, 2 * (to - from)).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(bits, from, to - from);
            } else {
                for (int i = from; i < to; i++) {
                    bits[i] = switch (a.dtype()) {
                        case FLOAT16 -> Bf16.fromFloat(Fp16.toFloat(in.getShort(2 * i)));
                        case FLOAT32 -> Bf16.fromFloat(in.getFloat(4 * i));
                        case FLOAT64 -> bf16(in.getDouble(8 * i));
                        case FLOAT8_E4M3 -> Bf16.fromFloat(Fp8E4M3.decode(in.get(i)));
                        default -> throw new AssertionError(a.dtype());
                    };
                }
            }
            release(in, from * width, (to - from) * width);
        }
        if (l == TensorLayout.BSHD) {
            bits = bshdToBhsd(bits, (int) bhsd[0], (int) bhsd[1], (int) bhsd[2], (int) bhsd[3]);
        }
        String conversion = a.dtype() == NpyDtype.UINT16 ? "" : dtypeName + " rounded to bf16 (round to nearest even)";
        return new Loaded(new KvTensor(name, (int) bhsd[0], (int) bhsd[1], (int) bhsd[2], (int) bhsd[3], bits),
                dtypeName, conversion, l);
    }

    /** Elements converted between two {@link #release} calls (8 MiB of bf16). */
    private static final int COPY_CHUNK = 1 << 22;

    /**
     * Drops the pages of a region of a mapped file from this process once it is copied (a no-op for heap
     * data): without it the file's pages stay resident, and counted in the process's memory, beside the
     * copy until a collection happens to unmap the buffer. The pages are read again if touched again.
     */
    private static void release(ByteBuffer data, int offset, int length) {
        MemorySegment s = MemorySegment.ofBuffer(data);
        if (s.isMapped()) {
            s.asSlice(offset, length).unload();
        }
    }

    /**
     * A double rounded to bf16, ties to even, in one rounding: the double is first rounded to float with
     * round-to-odd (truncate, then set the last bit when inexact), which keeps every bit the second
     * rounding needs because float carries more than two bits beyond bf16's eight (SPEC §2.1).
     */
    static short bf16(double d) {
        float f = (float) d;
        if (Double.isNaN(d) || Float.isInfinite(f) || (double) f == d) {
            return Bf16.fromFloat(f);
        }
        if (Math.abs((double) f) > Math.abs(d)) {
            f = Math.nextAfter(f, 0.0);
        }
        return Bf16.fromFloat(Float.intBitsToFloat(Float.floatToRawIntBits(f) | 1));
    }

    private static short[] bshdToBhsd(short[] src, int b, int h, int s, int d) {
        short[] out = new short[src.length];
        for (int ib = 0; ib < b; ib++) {
            for (int is = 0; is < s; is++) {
                for (int ih = 0; ih < h; ih++) {
                    System.arraycopy(src, ((ib * s + is) * h + ih) * d, out, ((ib * h + ih) * s + is) * d, d);
                }
            }
        }
        return out;
    }

    /**
     * Writes a [B,H,S,D] span as one tensor in {@code layout} (null: [B,H,S,D]) and {@code dtype}:
     * {@code UINT16} is bf16 (a {@code BF16} safetensors tensor, uint16 bit patterns in NumPy files, which
     * have no bf16), {@code FLOAT16} and {@code FLOAT32} the bf16 values converted (exact for float32,
     * rounded to nearest even for float16). {@code .npy}, {@code .npz} (one member named {@code name}) or
     * {@code .safetensors} by the file's extension.
     */
    public static void write(Path file, KvTensor t, String name, TensorLayout layout, NpyDtype dtype) throws IOException {
        TensorLayout l = layout == null ? TensorLayout.BHSD : layout;
        if (l == TensorLayout.HSD && t.batch() != 1) {
            throw new InvalidInputException(file + ": a span of batch " + t.batch() + " cannot be written as [H,S,D]");
        }
        short[] bits = l == TensorLayout.BSHD ? bhsdToBshd(t.bits(), t.batch(), t.heads(), t.tokens(), t.dim()) : t.bits();
        long[] shape = l.fileShape(t.batch(), t.heads(), t.tokens(), t.dim());
        NpyArray a = switch (dtype) {
            case UINT16 -> NpyArray.ofUint16(name, bits, shape);
            case FLOAT16 -> {
                short[] h = new short[bits.length];
                for (int i = 0; i < h.length; i++) {
                    h[i] = Fp16.fromFloat(Bf16.toFloat(bits[i]));
                }
                yield NpyArray.ofFloat16Bits(name, h, shape);
            }
            case FLOAT32 -> {
                float[] f = new float[bits.length];
                Bf16.toFloats(bits, 0, f, 0, f.length);
                yield NpyArray.ofFloat32(name, f, shape);
            }
            default -> throw new InvalidInputException(file + ": output dtype " + dtype + " is not bf16, f16 or f32");
        };
        String n = file.getFileName().toString();
        if (n.endsWith(".npy")) {
            Npy.write(file, a);
        } else if (n.endsWith(".npz")) {
            Npy.writeNpz(file, Map.of(name, a));
        } else if (n.endsWith(".safetensors")) {
            Safetensors.write(file, Map.of(name, a), Map.of("format", "pt"));
        } else {
            throw new InvalidInputException(file + ": output must end in .npy, .npz or .safetensors");
        }
    }

    /** {@link #write(Path, KvTensor, String, TensorLayout, NpyDtype)} as bf16 [B,H,S,D]. */
    public static void write(Path file, KvTensor t, String name) throws IOException {
        write(file, t, name, TensorLayout.BHSD, NpyDtype.UINT16);
    }

    private static short[] bhsdToBshd(short[] src, int b, int h, int s, int d) {
        short[] out = new short[src.length];
        for (int ib = 0; ib < b; ib++) {
            for (int ih = 0; ih < h; ih++) {
                for (int is = 0; is < s; is++) {
                    System.arraycopy(src, ((ib * h + ih) * s + is) * d, out, ((ib * s + is) * h + ih) * d, d);
                }
            }
        }
        return out;
    }
}
