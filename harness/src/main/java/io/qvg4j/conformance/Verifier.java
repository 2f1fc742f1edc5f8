package io.qvg4j.conformance;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.golden.Digests;
import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.NpyDtype;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The verify engine behind {@code qvg verify}: another implementation's outputs for an input checked
 * against qvg4j's. With its per-stage clustering the downstream path is recomputed and must match bit for
 * bit (SPEC §11); with only its dequantized tensor, the own pipeline's output is compared statistically
 * (or bit for bit when exact).
 */
public final class Verifier {
    /** The verdict: whether every level given agrees, and the first differing element where one does not. */
    public record Report(boolean passed, String firstDifference) {}

    private final Path official;
    private final QuantConfig options;
    private final long seed;
    private final double relL2Tolerance;
    private final boolean exact;

    /**
     * @param official       the other implementation's outputs (named in every message)
     * @param options        the configuration given on the command line; what array sizes cannot tell comes from it
     * @param seed           the seed of the initial indices when the outputs hold none
     * @param relL2Tolerance dequantized-only check: the allowed relative deviation of the rel-L2
     * @param exact          dequantized-only check: require bit-exact output instead
     */
    public Verifier(Path official, QuantConfig options, long seed, double relL2Tolerance, boolean exact) {
        this.official = official;
        this.options = options;
        this.seed = seed;
        this.relL2Tolerance = relL2Tolerance;
        this.exact = exact;
    }

    /** Verifies the outputs against {@code codec}'s for input {@code x}, printing one line per level to {@code out}. */
    public Report verify(QvgCodec codec, KvTensor x, Map<String, NpyArray> arrays, PrintWriter out) {
        return arrays.containsKey("ids0") || arrays.containsKey("cent0")
                ? withClustering(codec, x, arrays, out) : dequantizedOnly(codec, x, arrays, out);
    }

    /** The official arrays: members of a .npz / .safetensors file, or the .npy files of a directory. */
    public static Map<String, NpyArray> readOfficial(Path path) throws IOException {
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

    private Report withClustering(QvgCodec codec, KvTensor x, Map<String, NpyArray> a, PrintWriter out) {
        int t = 0;
        while (a.containsKey("ids" + t) || a.containsKey("cent" + t)) {
            t++;
        }
        long rows = (long) x.headCount() * x.tokens();
        byte[][] ids = new byte[t][];
        short[][] cent = new short[t][];
        for (int i = 0; i < t; i++) {
            ids[i] = array(a, "ids" + i, NpyDtype.UINT8).asUint8();
            if (ids[i].length != rows) {
                throw new InvalidInputException(official + ": ids" + i + " has " + ids[i].length + " ids, the input has B*H*S = " + rows);
            }
            cent[i] = array(a, "cent" + i, NpyDtype.UINT16).asUint16();
        }
        // The configuration follows from the array sizes; what they cannot tell comes from the options.
        QuantConfig opt = options;
        long perHead = (long) x.headCount() * x.dim();
        if (cent[0].length % perHead != 0) {
            throw new InvalidInputException(official + ": cent0 has " + cent[0].length + " values, not a multiple of B*H*D = " + perHead);
        }
        int kc = (int) (cent[0].length / perHead);
        int bits = a.containsKey("packed") ? derive("packed", a.get("packed").data().remaining() * 8L, rows * x.dim()) : opt.bits();
        int groupSize = opt.groupSize();
        if (a.containsKey("scales")) {
            int blocks = derive("scales", a.get("scales").data().remaining(), rows * opt.scaleFormat().bytes());
            groupSize = derive("scales", x.dim(), blocks);
        }
        QuantConfig cfg = new QuantConfig(bits, groupSize, t, kc, a.containsKey("zeros") || opt.asymmetric(),
                opt.scaleFormat(), opt.maxIters(), opt.tolerance());
        out.printf("official clustering given for %d stage%s: recomputing downstream with %s (impl %s)%n", t, t == 1 ? "" : "s",
                cfg, codec.name());
        QuantizedSpan ours = codec.encodeWithClustering(x, cfg, ids, cent);
        boolean ok = true;
        String first = null;
        int rowBytes = cfg.packedBytesPerRow(x.dim());
        int scaleRow = cfg.blocksPerRow(x.dim()) * cfg.scaleFormat().bytes();
        for (String name : new String[] {"packed", "scales", "zeros"}) {
            byte[] mine = switch (name) {
                case "packed" -> ours.packed();
                case "scales" -> ours.scales();
                default -> ours.zeros();
            };
            if (mine == null || !a.containsKey(name)) {
                continue;
            }
            byte[] theirs = a.get(name).bytes();
            int perRow = name.equals("packed") ? rowBytes : scaleRow;
            int i = Arrays.mismatch(mine, theirs);
            if (i < 0) {
                out.printf("%-12s bit-exact (%d bytes)%n", name, mine.length);
                continue;
            }
            ok = false;
            if (theirs.length != mine.length) {
                out.printf("%-12s DIFFERS: %d bytes, ours %d%n", name, theirs.length, mine.length);
                continue;
            }
            long count = 0;
            for (int j = 0; j < mine.length; j++) {
                count += mine[j] != theirs[j] ? 1 : 0;
            }
            String where = rowIndex(x, i / perRow) + (name.equals("packed")
                    ? " byte " + i % perRow + " (channels " + i % perRow * 8 / cfg.bits() + ".." + ((i % perRow + 1) * 8 / cfg.bits() - 1) + ")"
                    : " block " + i % perRow / cfg.scaleFormat().bytes());
            out.printf("%-12s DIFFERS: %d of %d bytes, first at %s: official 0x%02x, ours 0x%02x%n", name, count, mine.length,
                    where, theirs[i] & 0xFF, mine[i] & 0xFF);
            if (first == null && name.equals("packed")) {
                first = x.indexString(i / rowBytes * x.dim() + i % rowBytes * 8 / cfg.bits());
            }
        }
        KvTensor deq = codec.decode(ours);
        if (a.containsKey("deq")) {
            String d = compareDequantized(x, deq, a.get("deq"), out);
            ok &= d == null;
            first = d != null ? d : first;
        } else if (a.containsKey("deq_sha256")) {
            String sha = new String(a.get("deq_sha256").bytes(), StandardCharsets.US_ASCII);
            String mine = Digests.sha256(deq.bits());
            boolean same = mine.equals(sha);
            ok &= same;
            out.printf("%-12s %s%n", "deq_sha256", same ? "bit-exact (SHA-256 " + sha + ")" : "DIFFERS: official " + sha + ", ours " + mine);
        }
        return new Report(ok, first);
    }

    private Report dequantizedOnly(QvgCodec codec, KvTensor x, Map<String, NpyArray> a, PrintWriter out) {
        if (!a.containsKey("deq")) {
            throw new InvalidInputException(official + ": holds neither ids0/cent0 nor deq; nothing to verify");
        }
        QuantConfig cfg = options;
        int heads = x.headCount();
        int[][][] init;
        if (a.containsKey("init0")) {
            init = new int[cfg.stages()][heads][];
            for (int t = 0; t < cfg.stages(); t++) {
                int[] flat = array(a, "init" + t, NpyDtype.INT32).asInt32();
                if (flat.length != (long) heads * cfg.centroids()) {
                    throw new InvalidInputException(official + ": init" + t + " has " + flat.length + " indices, expected B*H*Kc = "
                            + (long) heads * cfg.centroids());
                }
                for (int bh = 0; bh < heads; bh++) {
                    init[t][bh] = Arrays.copyOfRange(flat, bh * cfg.centroids(), (bh + 1) * cfg.centroids());
                }
            }
        } else {
            init = InitIndices.fromSeed(seed, cfg.stages(), heads, cfg.centroids(), x.tokens());
        }
        out.printf("official dequantized output only: running the own pipeline with %s (impl %s, initial indices %s)%n",
                cfg, codec.name(), a.containsKey("init0") ? "from init{t}" : "from seed " + seed);
        KvTensor ours = codec.decode(codec.encode(x, cfg, init));
        String first = compareDequantized(x, ours, a.get("deq"), out);
        double theirs = relativeL2(toKv(x, a.get("deq")), x);
        double mine = relativeL2(ours, x);
        double deviation = Math.abs(theirs - mine) / mine;
        out.printf("%-12s official %.6f, ours %.6f (%+.3f%%, tolerance %.3f%%)%n", "rel-L2 vs x", theirs, mine,
                100 * (theirs - mine) / mine, 100 * relL2Tolerance);
        boolean ok = exact ? first == null : deviation <= relL2Tolerance;
        return new Report(ok, ok ? null : first);
    }

    /** Prints bit-exact count, max bf16 ulp distance and rel-L2; returns the first differing index, or null. */
    private String compareDequantized(KvTensor x, KvTensor ours, NpyArray officialDeq, PrintWriter out) {
        short[] theirs = toKv(x, officialDeq).bits();
        short[] mine = ours.bits();
        long same = 0;
        long maxUlp = 0;
        int first = -1;
        double diff = 0, ref = 0;
        for (int i = 0; i < mine.length; i++) {
            if (mine[i] == theirs[i]) {
                same++;
            } else if (first < 0) {
                first = i;
            }
            maxUlp = Math.max(maxUlp, Math.abs(ordered(mine[i]) - ordered(theirs[i])));
            double d = (double) Bf16.toFloat(theirs[i]) - Bf16.toFloat(mine[i]);
            diff += d * d;
            ref += (double) Bf16.toFloat(mine[i]) * Bf16.toFloat(mine[i]);
        }
        out.printf("%-12s %d/%d bit-exact, max ulp %d, rel-L2 vs ours %.3e%s%n", "dequantized", same, mine.length, maxUlp,
                ref == 0 ? (diff == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(diff / ref),
                first < 0 ? "" : String.format(", first difference at %s: official 0x%04x, ours 0x%04x", x.indexString(first),
                        theirs[first] & 0xFFFF, mine[first] & 0xFFFF));
        return first < 0 ? null : x.indexString(first);
    }

    /** bf16 patterns on a line where neighbours differ by 1 (sign-magnitude to two's complement); ±0 coincide. */
    static long ordered(short bits) {
        int b = bits & 0xFFFF;
        return (b & 0x8000) != 0 ? -(long) (b & 0x7FFF) : b;
    }

    private KvTensor toKv(KvTensor x, NpyArray deq) {
        short[] bits = array(Map.of("deq", deq), "deq", NpyDtype.UINT16).asUint16();
        if (bits.length != x.elementCount()) {
            throw new InvalidInputException(official + ": deq has " + bits.length + " values, the input " + x.elementCount());
        }
        return new KvTensor("official deq", x.batch(), x.heads(), x.tokens(), x.dim(), bits);
    }

    private static double relativeL2(KvTensor a, KvTensor x) {
        return ConformanceRunner.relativeL2(a, x);
    }

    private NpyArray array(Map<String, NpyArray> a, String name, NpyDtype dtype) {
        NpyArray v = a.get(name);
        if (v == null) {
            throw new InvalidInputException(official + ": array '" + name + "' is missing");
        }
        if (v.dtype() != dtype) {
            throw new InvalidInputException(official + ": array '" + name + "' has dtype " + v.dtype().descr() + ", expected " + dtype.descr());
        }
        return v;
    }

    /** {@code total / per}, which must be a whole number. */
    private int derive(String what, long total, long per) {
        if (per == 0 || total % per != 0 || total / per > Integer.MAX_VALUE || total / per == 0) {
            throw new InvalidInputException(official + ": the size of '" + what + "' does not fit the input shape");
        }
        return (int) (total / per);
    }

    /** [b,h,s] of a token row b·H·S + h·S + s. */
    private static String rowIndex(KvTensor x, int row) {
        int s = row % x.tokens();
        int bh = row / x.tokens();
        return "[" + bh / x.heads() + "," + bh % x.heads() + "," + s + "]";
    }
}
