package io.qvg4j.conformance;

import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.NpyDtype;
import io.qvg4j.io.Qkv;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The outputs of the implementation under test ("yours"), any subset of the levels of the pipeline, read
 * from a {@code .qkv}, a {@code .npz} / {@code .safetensors} file or a directory of {@code .npy} files and
 * checked against the input's shape and the configuration. Arrays are named as in the conformance corpus
 * and the vector suite: {@code init{t}}, {@code ids{t}}, {@code cent{t}}, {@code iters{t}} per stage
 * t = 0, 1, …; {@code packed} or {@code codes}; {@code scales}; {@code zeros}; {@code deq};
 * {@code deq_sha256}. A size or dtype that implies another configuration is reported as the option to pass.
 */
public final class Candidate {
    /** How the dequantized tensor was given; qvg4j's bf16 result is converted to it before the comparison. */
    public enum DeqType { BF16, F16, F32 }

    final String source;
    final QuantConfig config;
    /** Per stage, null where not given. */
    final int[][][] init;
    final byte[][] ids;
    final short[][] centroids;
    final int[] iterations;
    final boolean[] iterationsGiven;
    /** Packed bytes as given ({@code packed}), and per-element codes ({@code codes}); either may be null. */
    final byte[] packed;
    final int[] codes;
    final byte[] scales;
    final byte[] zeros;
    final DeqType deqType;
    /** The dequantized values as bit patterns of {@link #deqType} (bf16/f16 in the low 16 bits, or f32). */
    final int[] deq;
    final String deqSha256;
    /** The seed a {@code .qkv} records for its initial indices, or null. */
    final Long seed;
    final List<String> ignored;

    private Candidate(String source, QuantConfig config, int[][][] init, byte[][] ids, short[][] centroids, int[] iterations,
                      boolean[] iterationsGiven, byte[] packed, int[] codes, byte[] scales, byte[] zeros, DeqType deqType,
                      int[] deq, String deqSha256, Long seed, List<String> ignored) {
        this.source = source;
        this.config = config;
        this.init = init;
        this.ids = ids;
        this.centroids = centroids;
        this.iterations = iterations;
        this.iterationsGiven = iterationsGiven;
        this.packed = packed;
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
        this.deqType = deqType;
        this.deq = deq;
        this.deqSha256 = deqSha256;
        this.seed = seed;
        this.ignored = ignored;
    }

    /** The arrays of a file or directory, a {@code .qkv} converted to the same names; its config replaces {@code options}. */
    public static Candidate read(Path path, KvTensor x, QuantConfig options) throws IOException {
        if (path.getFileName().toString().endsWith(".qkv")) {
            Qkv.Contents c = Qkv.read(path);
            QuantizedSpan s = c.span();
            if (s.batch() != x.batch() || s.heads() != x.heads() || s.tokens() != x.tokens() || s.dim() != x.dim()) {
                throw new InvalidInputException(path + ": shape " + KvTensor.shapeString(s.batch(), s.heads(), s.tokens(), s.dim())
                        + ", the input is " + x.shapeString());
            }
            return of(path.toString(), arrays(c), x, s.config(), c.initIndices() != null ? c.seed() : null);
        }
        return of(path.toString(), readArrays(path), x, options, null);
    }

    /** The arrays of a {@code .npz} / {@code .safetensors} / {@code .npy} file, or the {@code .npy} files of a directory. */
    public static Map<String, NpyArray> readArrays(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            return TensorFiles.readAll(path);
        }
        Map<String, NpyArray> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(path)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".npy")).sorted().toList()) {
                String n = f.getFileName().toString();
                out.put(n.substring(0, n.length() - 4), Npy.read(f));
            }
        }
        if (out.isEmpty()) {
            throw new InvalidInputException(path + ": directory holds no .npy files");
        }
        return out;
    }

    /** A {@code .qkv}'s content under the array names (iteration counts only when the clustering was computed). */
    static Map<String, NpyArray> arrays(Qkv.Contents c) {
        QuantizedSpan s = c.span();
        Map<String, NpyArray> a = new LinkedHashMap<>();
        int kc = s.config().centroids();
        boolean computed = false;
        for (int it : s.iterations()) {
            computed |= it != 0;
        }
        for (int t = 0; t < s.config().stages(); t++) {
            if (c.initIndices() != null) {
                int[] flat = new int[s.headCount() * kc];
                for (int bh = 0; bh < s.headCount(); bh++) {
                    System.arraycopy(c.initIndices()[t][bh], 0, flat, bh * kc, kc);
                }
                a.put("init" + t, NpyArray.ofInt32("init" + t, flat, s.headCount(), kc));
            }
            a.put("ids" + t, NpyArray.ofUint8("ids" + t, s.clusterIds()[t], s.batch(), s.heads(), s.tokens()));
            a.put("cent" + t, NpyArray.ofUint16("cent" + t, s.centroids()[t], s.batch(), s.heads(), kc, s.dim()));
            if (computed) {
                a.put("iters" + t, NpyArray.ofInt32("iters" + t, new int[] {s.iterations()[t]}));
            }
        }
        a.put("packed", NpyArray.ofUint8("packed", s.packed(), s.packed().length));
        a.put("scales", scaleArray("scales", s.scales(), s.config().scaleFormat()));
        if (s.zeros() != null) {
            a.put("zeros", scaleArray("zeros", s.zeros(), s.config().scaleFormat()));
        }
        return a;
    }

    private static NpyArray scaleArray(String name, byte[] b, ScaleFormat f) {
        if (f == ScaleFormat.FP8_E4M3) {
            return NpyArray.ofUint8(name, b, b.length);
        }
        short[] v = new short[b.length / 2];
        ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(v);
        return NpyArray.ofUint16(name, v, v.length);
    }

    /** Checks and converts the arrays against the input's shape and the configuration. */
    public static Candidate of(String source, Map<String, NpyArray> a, KvTensor x, QuantConfig cfg, Long seed) {
        Reader r = new Reader(source, a, x, cfg);
        return r.read(seed);
    }

    /** The arrays present that no level reads (the input {@code x}, say). */
    public List<String> ignored() {
        return ignored;
    }

    /** Whether any stage's ids or centroids were given. */
    boolean hasClustering() {
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] != null || centroids[t] != null) {
                return true;
            }
        }
        return false;
    }

    boolean hasDownstream() {
        return packed != null || codes != null || scales != null || zeros != null;
    }

    private static final class Reader {
        final String source;
        final Map<String, NpyArray> a;
        final KvTensor x;
        final QuantConfig cfg;
        final long rows;
        final List<String> used = new ArrayList<>();

        Reader(String source, Map<String, NpyArray> a, KvTensor x, QuantConfig cfg) {
            this.source = source;
            this.a = a;
            this.x = x;
            this.cfg = cfg;
            rows = (long) x.headCount() * x.tokens();
        }

        InvalidInputException error(String what) {
            return new InvalidInputException(source + ": " + what);
        }

        Candidate read(Long seed) {
            int t = cfg.stages();
            for (String name : a.keySet()) {
                String stem = name.replaceAll("[0-9]+$", "");
                if (!stem.equals(name) && List.of("ids", "cent", "init", "iters").contains(stem)) {
                    int stage = Integer.parseInt(name.substring(stem.length()));
                    if (stage >= t) {
                        throw error("holds " + name + " (stage " + stage + ", counted from 0), so at least " + (stage + 1)
                                + " stages: pass --stages " + (stage + 1) + " (the config has T = " + t + ")");
                    }
                }
            }
            int[][][] init = new int[t][][];
            byte[][] ids = new byte[t][];
            short[][] cent = new short[t][];
            int[] iters = new int[t];
            boolean[] itersGiven = new boolean[t];
            for (int s = 0; s < t; s++) {
                init[s] = init(s);
                ids[s] = ids(s);
                cent[s] = centroids(s);
                if (a.containsKey("iters" + s)) {
                    long[] v = integers("iters" + s);
                    if (v.length != 1 || v[0] < 0 || v[0] > Integer.MAX_VALUE) {
                        throw error("iters" + s + " must hold one non-negative count, holds " + v.length + " values");
                    }
                    iters[s] = (int) v[0];
                    itersGiven[s] = true;
                }
            }
            if (a.containsKey("zeros") && !cfg.asymmetric()) {
                throw error("holds zero points ('zeros'), which only the asymmetric quantizer has: pass --asymmetric");
            }
            byte[] packed = packed();
            int[] codes = codes();
            byte[] scales = scales("scales");
            byte[] zeros = scales("zeros");
            DeqType deqType = null;
            int[] deq = null;
            NpyArray d = take("deq");
            if (d != null) {
                if (d.elementCount() != x.elementCount()) {
                    throw error("deq holds " + d.elementCount() + " values, the input B*H*S*D = " + x.elementCount());
                }
                deq = new int[x.elementCount()];
                ByteBuffer b = d.data();
                deqType = switch (d.dtype()) {
                    case UINT16 -> DeqType.BF16;
                    case FLOAT16 -> DeqType.F16;
                    case FLOAT32 -> DeqType.F32;
                    default -> throw error("deq has dtype " + dtype(d) + "; give bf16 (uint16 bits), float16 or float32");
                };
                for (int i = 0; i < deq.length; i++) {
                    deq[i] = deqType == DeqType.F32 ? b.getInt(4 * i) : b.getShort(2 * i) & 0xFFFF;
                }
            }
            String sha = null;
            NpyArray h = take("deq_sha256");
            if (h != null) {
                sha = new String(h.bytes(), StandardCharsets.US_ASCII);
                if (!sha.matches("[0-9a-f]{64}")) {
                    throw error("deq_sha256 must hold 64 lower-case hex digits");
                }
            }
            List<String> ignored = new ArrayList<>(a.keySet());
            ignored.removeAll(used);
            return new Candidate(source, cfg, init, ids, cent, iters, itersGiven, packed, codes, scales, zeros, deqType, deq,
                    sha, seed, ignored);
        }

        NpyArray take(String name) {
            NpyArray v = a.get(name);
            if (v != null) {
                used.add(name);
            }
            return v;
        }

        /** Any integer array as longs; int64 ids are what {@code argmin} returns in PyTorch. */
        long[] integers(String name) {
            NpyArray v = take(name);
            int n = Math.toIntExact(v.elementCount());
            long[] out = new long[n];
            ByteBuffer b = v.data();
            switch (v.dtype()) {
                case UINT8 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.get(i) & 0xFF;
                    }
                }
                case UINT16 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.getShort(2 * i) & 0xFFFF;
                    }
                }
                case INT32 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.getInt(4 * i);
                    }
                }
                case INT64 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b.getLong(8 * i);
                    }
                }
                default -> throw error(name + " has dtype " + dtype(v) + "; give an integer array (uint8, int32 or int64)");
            }
            return out;
        }

        int[][] init(int t) {
            String name = "init" + t;
            if (!a.containsKey(name)) {
                return null;
            }
            long[] v = integers(name);
            int kc = cfg.centroids();
            if (v.length != (long) x.headCount() * kc) {
                if (v.length % x.headCount() == 0) {
                    throw error(name + " holds " + v.length / x.headCount() + " initial indices per head: pass --centroids "
                            + v.length / x.headCount() + " (the config has Kc = " + kc + ")");
                }
                throw error(name + " holds " + v.length + " indices, B*H*Kc = " + (long) x.headCount() * kc);
            }
            int[][] out = new int[x.headCount()][kc];
            for (int i = 0; i < v.length; i++) {
                if (v[i] < 0 || v[i] >= x.tokens()) {
                    throw error(name + " index " + v[i] + " of head " + i / kc + " is outside [0, S) = [0, " + x.tokens()
                            + ") (SPEC §3.5)");
                }
                out[i / kc][i % kc] = (int) v[i];
            }
            return out;
        }

        byte[] ids(int t) {
            String name = "ids" + t;
            if (!a.containsKey(name)) {
                return null;
            }
            long[] v = integers(name);
            if (v.length != rows) {
                throw error(name + " holds " + v.length + " ids, the input has B*H*S = " + rows);
            }
            byte[] out = new byte[v.length];
            for (int i = 0; i < v.length; i++) {
                if (v[i] < 0 || v[i] >= cfg.centroids()) {
                    throw error(name + " id " + v[i] + " at " + Verifier.row(x, i) + " is not in [0, Kc) = [0, " + cfg.centroids()
                            + "): pass --centroids " + Math.max(v[i] + 1, 1) + " or more");
                }
                out[i] = (byte) v[i];
            }
            return out;
        }

        short[] centroids(int t) {
            String name = "cent" + t;
            NpyArray v = take(name);
            if (v == null) {
                return null;
            }
            long perKc = (long) x.headCount() * x.dim();
            long n = v.elementCount();
            if (n != perKc * cfg.centroids()) {
                if (n % perKc == 0) {
                    throw error(name + " holds " + n / perKc + " centroids per head: pass --centroids " + n / perKc
                            + " (the config has Kc = " + cfg.centroids() + ")");
                }
                throw error(name + " holds " + n + " values, B*H*Kc*D = " + perKc * cfg.centroids());
            }
            short[] out = new short[(int) n];
            ByteBuffer b = v.data();
            switch (v.dtype()) {
                case UINT16 -> b.asShortBuffer().get(out);
                case FLOAT32 -> {
                    for (int i = 0; i < n; i++) {
                        float f = b.getFloat(4 * i);
                        out[i] = Bf16.fromFloat(f);
                        if (Float.floatToRawIntBits(Bf16.toFloat(out[i])) != Float.floatToRawIntBits(f)) {
                            throw error(name + " value " + f + " at " + Verifier.centroid(x, cfg, t, i)
                                    + " is not a bf16 value; centroid tables are bf16 (SPEC §3.3)");
                        }
                    }
                }
                default -> throw error(name + " has dtype " + dtype(v) + "; give bf16 (uint16 bits) or float32");
            }
            return out;
        }

        byte[] packed() {
            NpyArray v = take("packed");
            if (v == null) {
                return null;
            }
            if (v.dtype() != NpyDtype.UINT8) {
                throw error("packed has dtype " + dtype(v) + "; packed codes are bytes (uint8); give one code per "
                        + "element as 'codes' instead");
            }
            long elements = rows * x.dim();
            long n = v.elementCount();
            if (n * 8 != elements * cfg.bits()) {
                if (n * 8 % elements == 0 && List.of(2L, 3L, 4L, 8L).contains(n * 8 / elements)) {
                    throw error("packed holds " + n * 8 / elements + " bits per element: pass --bits " + n * 8 / elements
                            + " (the config has " + cfg.bits() + ")");
                }
                throw error("packed holds " + n + " bytes, B*H*S*D*bits/8 = " + elements * cfg.bits() / 8);
            }
            return v.bytes();
        }

        int[] codes() {
            if (!a.containsKey("codes")) {
                return null;
            }
            long[] v = integers("codes");
            if (v.length != rows * x.dim()) {
                throw error("codes holds " + v.length + " values, one per element is B*H*S*D = " + rows * x.dim()
                        + " (packed bytes go in 'packed')");
            }
            int max = cfg.asymmetric() ? cfg.asymmetricMax() : 2 * cfg.symmetricMax();
            int[] out = new int[v.length];
            for (int i = 0; i < v.length; i++) {
                if (v[i] < 0 || v[i] > max) {
                    int bits = 2;
                    while (bits < 8 && (cfg.asymmetric() ? (1 << bits) - 1 : 2 * ((1 << (bits - 1)) - 1)) < v[i]) {
                        bits = bits == 4 ? 8 : bits + 1;
                    }
                    throw error("code " + v[i] + " at " + x.indexString(i) + " is outside [0, " + max + "] of INT" + cfg.bits()
                            + (v[i] > max && v[i] <= 255 ? ": pass --bits " + bits + " or more" : ""));
                }
                out[i] = (int) v[i];
            }
            return out;
        }

        /** Scale or zero-point bytes in the config's storage format. */
        byte[] scales(String name) {
            NpyArray v = take(name);
            if (v == null) {
                return null;
            }
            ScaleFormat f = cfg.scaleFormat();
            // float8_e4m3fn holds the FP8 codes themselves, as uint8 does.
            int size = v.dtype() == NpyDtype.UINT8 || v.dtype() == NpyDtype.FLOAT8_E4M3 ? 1 : v.dtype() == NpyDtype.UINT16 ? 2 : -1;
            if (size < 0) {
                throw error(name + " has dtype " + dtype(v) + "; give FP8 E4M3 codes as uint8 or float8_e4m3fn, or bf16 (uint16 bits)");
            }
            if (size != f.bytes()) {
                throw error(size == 2
                        ? "these " + name + " are 2 bytes each (bf16): pass --scale-format bf16"
                        : "these " + name + " are 1 byte each (FP8 E4M3 codes), but --scale-format bf16 was given: pass --scale-format fp8");
            }
            long perRow = cfg.blocksPerRow(x.dim());
            long n = v.elementCount();
            if (n != rows * perRow) {
                if (n % rows == 0 && n > 0 && x.dim() % (n / rows) == 0) {
                    long g = x.dim() / (n / rows);
                    throw error(name + " hold " + n / rows + " per token, D/G with G = " + g + ": pass --group-size " + g
                            + " (the config has G = " + cfg.groupSize() + ")");
                }
                throw error(name + " hold " + n + " values, B*H*S*D/G = " + rows * perRow);
            }
            return v.bytes();
        }
    }

    private static String dtype(NpyArray v) {
        return v.dtype().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Codes of the packed bytes, one per element (SPEC §6.5). */
    static int[] unpack(byte[] packed, QuantConfig cfg, int rows, int dim) {
        int[] out = new int[rows * dim];
        int rowBytes = cfg.packedBytesPerRow(dim);
        for (int r = 0; r < rows; r++) {
            BitPacking.unpack(packed, r * rowBytes, dim, cfg.bits(), out, r * dim);
        }
        return out;
    }

    static byte[] pack(int[] codes, QuantConfig cfg, int rows, int dim) {
        int rowBytes = cfg.packedBytesPerRow(dim);
        byte[] out = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++) {
            BitPacking.pack(codes, r * dim, dim, cfg.bits(), out, r * rowBytes);
        }
        return out;
    }
}
