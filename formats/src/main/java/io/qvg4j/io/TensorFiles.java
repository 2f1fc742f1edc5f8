package io.qvg4j.io;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp16;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Tensor files by extension ({@code .npy}, {@code .npz}, {@code .safetensors}) and their conversion to {@link KvTensor}. */
public final class TensorFiles {
    private TensorFiles() {}

    /** A K or V span taken from a file, with a note on any conversion (empty when the data was bf16 already). */
    public record Loaded(KvTensor tensor, String sourceDtype, String conversion) {}

    public static boolean isTensorFile(Path file) {
        String n = file.getFileName().toString();
        return n.endsWith(".npy") || n.endsWith(".npz") || n.endsWith(".safetensors");
    }

    /** Every tensor in the file, by name ({@code .npy}: one, named after the file). */
    public static Map<String, NpyArray> readAll(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": no such file");
        }
        String n = file.getFileName().toString();
        if (n.endsWith(".npy")) {
            Map<String, NpyArray> one = new LinkedHashMap<>();
            one.put(n.substring(0, n.length() - 4), Npy.read(file));
            return one;
        }
        if (n.endsWith(".npz")) {
            return Npy.readNpz(file);
        }
        if (n.endsWith(".safetensors")) {
            return Safetensors.read(file);
        }
        throw new InvalidInputException(file + ": unknown tensor file type; use .npy, .npz or .safetensors");
    }

    /** The dtype's name in the file's own vocabulary. */
    public static String dtypeName(Path file, NpyDtype t) {
        return file.getFileName().toString().endsWith(".safetensors") ? Safetensors.dtypeName(t)
                : t == NpyDtype.UINT16 ? "uint16 (bf16 bits)" : t.name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * The tensor {@code name} of the file (or its only tensor when name is null) as a KV span: shape
     * [B,H,S,D] or [H,S,D] (B = 1); bf16 (uint16 in NumPy files) taken as is, F16 and F32 rounded to bf16
     * to nearest even (SPEC §2.1).
     */
    public static Loaded load(Path file, String name) throws IOException {
        Map<String, NpyArray> all = readAll(file);
        NpyArray a;
        if (name != null) {
            a = all.get(name);
            if (a == null) {
                throw new InvalidInputException(file + ": no tensor '" + name + "'; it holds " + all.keySet());
            }
        } else if (all.size() == 1) {
            name = all.keySet().iterator().next();
            a = all.get(name);
        } else {
            throw new InvalidInputException(file + ": holds " + all.size() + " tensors " + all.keySet()
                    + "; choose one with --tensor");
        }
        return toKv(a, name, dtypeName(file, a.dtype()));
    }

    static Loaded toKv(NpyArray a, String name, String dtypeName) {
        long[] s = a.shape();
        long[] bhsd = switch (s.length) {
            case 4 -> s;
            case 3 -> new long[] {1, s[0], s[1], s[2]};
            default -> throw new InvalidInputException(a.name() + ": shape " + Arrays.toString(s)
                    + " is not [B,H,S,D] or [H,S,D]");
        };
        KvTensor.checkShape(a.name(), bhsd[0], bhsd[1], bhsd[2], bhsd[3]);
        short[] bits = new short[Math.toIntExact(a.elementCount())];
        String conversion = switch (a.dtype()) {
            case UINT16 -> {
                a.data().asShortBuffer().get(bits);
                yield "";
            }
            case FLOAT16 -> {
                ShortBuffer in = a.data().asShortBuffer();
                for (int i = 0; i < bits.length; i++) {
                    bits[i] = Bf16.fromFloat(Fp16.toFloat(in.get(i)));
                }
                yield dtypeName + " rounded to bf16 (round to nearest even)";
            }
            case FLOAT32 -> {
                ByteBuffer in = a.data();
                for (int i = 0; i < bits.length; i++) {
                    bits[i] = Bf16.fromFloat(in.getFloat(4 * i));
                }
                yield dtypeName + " rounded to bf16 (round to nearest even)";
            }
            case UINT8, INT32 -> throw new InvalidInputException(a.name() + ": dtype " + dtypeName
                    + " is not a floating-point tensor (need bf16/uint16, float16 or float32)");
        };
        return new Loaded(new KvTensor(name, (int) bhsd[0], (int) bhsd[1], (int) bhsd[2], (int) bhsd[3], bits),
                dtypeName, conversion);
    }

    /** Writes a span as bf16 [B,H,S,D]: a {@code .npy} of uint16 bit patterns or a {@code .safetensors} BF16 tensor. */
    public static void write(Path file, KvTensor t, String name) throws IOException {
        NpyArray a = NpyArray.ofUint16(name, t.bits(), t.batch(), t.heads(), t.tokens(), t.dim());
        String n = file.getFileName().toString();
        if (n.endsWith(".npy")) {
            Npy.write(file, a);
        } else if (n.endsWith(".safetensors")) {
            Safetensors.write(file, Map.of(name, a), Map.of("format", "pt"));
        } else {
            throw new InvalidInputException(file + ": output must end in .npy or .safetensors");
        }
    }
}
