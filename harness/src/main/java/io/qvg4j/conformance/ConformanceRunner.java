package io.qvg4j.conformance;

import io.qvg4j.golden.Digests;
import io.qvg4j.golden.GoldenCase;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Checks one implementation against a corpus case (SPEC §11): bit for bit downstream of k-means given
 * the official clustering, bit for bit on the fake-quant baselines, and statistically for the full
 * pipeline run from the official initial indices.
 */
public final class ConformanceRunner {
    /** The full pipeline's rel-L2 must lie within this fraction of the official one. */
    public static final double REL_L2_TOLERANCE = 0.01;

    private final QvgCodec codec;
    private final Map<String, Map<String, String>> golden;

    /**
     * @param golden the golden parts by case name (SPEC §13), or null when the corpus has no golden file;
     *               a case's own pipeline must then reproduce its parts exactly
     */
    public ConformanceRunner(QvgCodec codec, Map<String, Map<String, String>> golden) {
        this.codec = codec;
        this.golden = golden;
    }

    /** The golden file's key of a corpus case. */
    public static String goldenName(ConformanceCase c) {
        return "corpus/" + c.name();
    }

    /**
     * What one case gave.
     *
     * @param downstreamMismatches empty when packed codes, scales, zero points and the dequantized output
     *                             all equal the official bytes; otherwise what differed
     * @param baselinesChecked     names of the official baseline arrays compared
     * @param baselineMismatches   those that differed
     * @param idAgreement          fraction of stage-1 ids of the own pipeline equal to the official ones
     * @param ownParts             the golden parts of the own pipeline (SPEC §13)
     * @param goldenDifferences    the parts that differ from the golden file (empty when all equal), or null
     *                             when there is no golden file
     */
    public record Result(ConformanceCase testCase, List<String> downstreamMismatches, List<String> baselinesChecked,
                         List<String> baselineMismatches, double idAgreement, double relL2, int[] iterations,
                         Map<String, String> ownParts, List<String> goldenDifferences, double seconds) {

        public boolean downstreamExact() {
            return downstreamMismatches.isEmpty();
        }

        public boolean baselinesMatch() {
            return baselineMismatches.isEmpty();
        }

        /** Relative distance of the own rel-L2 from the official one. */
        public double relL2Deviation() {
            return Math.abs(relL2 - testCase.officialRelL2()) / testCase.officialRelL2();
        }

        public boolean goldenMatches() {
            return goldenDifferences == null || goldenDifferences.isEmpty();
        }

        /** SHA-256 of the own pipeline's dequantized output. */
        public String sha256() {
            return ownParts.get("dequantized");
        }

        public boolean passed() {
            return downstreamExact() && baselinesMatch() && relL2Deviation() <= REL_L2_TOLERANCE && goldenMatches();
        }

        /** What failed, one entry per rule of SPEC §11 and §13 (empty when the case passed). */
        public List<String> problems() {
            List<String> out = new ArrayList<>();
            downstreamMismatches.forEach(m -> out.add("downstream " + m));
            baselineMismatches.forEach(m -> out.add("baseline " + m));
            if (relL2Deviation() > REL_L2_TOLERANCE) {
                out.add(String.format("rel-L2 %.6f is %.2f%% from the official %.6f", relL2, 100 * relL2Deviation(),
                        testCase.officialRelL2()));
            }
            if (goldenDifferences != null) {
                goldenDifferences.forEach(d -> out.add("golden " + d));
            }
            return out;
        }
    }

    /**
     * Every case of the corpus in {@code dir} ({@code cases.jsonl}), checked against the corpus and, where
     * {@code dir} holds one, its golden file: what each implementation's tests run.
     */
    public static List<Result> runAll(QvgCodec codec, Path dir) throws IOException {
        Path golden = dir.resolve(GoldenFile.NAME);
        ConformanceRunner runner = new ConformanceRunner(codec, Files.isRegularFile(golden) ? GoldenFile.read(golden) : null);
        List<Result> out = new ArrayList<>();
        for (ConformanceCase c : ConformanceCase.readAll(dir.resolve("cases.jsonl"))) {
            out.add(runner.run(dir, c));
        }
        return out;
    }

    /**
     * What failed over a whole corpus run, {@code case: problem} per line; a case the golden file did not
     * cover counts as a problem, so a corpus without its golden file cannot pass.
     */
    public static List<String> problems(List<Result> results) {
        List<String> out = new ArrayList<>();
        for (Result r : results) {
            r.problems().forEach(p -> out.add(r.testCase().name() + ": " + p));
            if (r.goldenDifferences() == null) {
                out.add(r.testCase().name() + ": not checked against a golden file");
            }
        }
        return out;
    }

    /** A corpus case as a golden case: its input, configuration and the official initial indices. */
    public static GoldenCase goldenCase(Path dir, ConformanceCase c) throws IOException {
        Map<String, NpyArray> arrays = Npy.readNpz(npz(dir, c));
        KvTensor x = input(dir, c, arrays);
        return asGolden(c, x, initIndices(arrays, c, x));
    }

    private static GoldenCase asGolden(ConformanceCase c, KvTensor x, int[][][] init) {
        return new GoldenCase(goldenName(c), "official corpus case", x, c.config(), init);
    }

    private static Path npz(Path dir, ConformanceCase c) {
        Path npz = dir.resolve(c.name() + ".npz");
        if (!Files.isRegularFile(npz)) {
            throw new InvalidInputException(c.name() + ": " + npz + " is missing");
        }
        return npz;
    }

    private static int[][][] initIndices(Map<String, NpyArray> arrays, ConformanceCase c, KvTensor x) {
        int heads = x.headCount();
        int[][][] init = new int[c.stages()][][];
        for (int t = 0; t < c.stages(); t++) {
            int[] flat = require(arrays, "init" + t, c).requireShape(heads, c.centroids()).asInt32();
            init[t] = new int[heads][];
            for (int bh = 0; bh < heads; bh++) {
                init[t][bh] = Arrays.copyOfRange(flat, bh * c.centroids(), (bh + 1) * c.centroids());
            }
        }
        return init;
    }

    public Result run(Path dir, ConformanceCase c) throws IOException {
        long start = System.nanoTime();
        Map<String, NpyArray> arrays = Npy.readNpz(npz(dir, c));
        KvTensor x = input(dir, c, arrays);
        QuantConfig config = c.config();
        int[][][] init = initIndices(arrays, c, x);

        // 1. Downstream of k-means, from the official clustering: every byte must match.
        byte[][] ids = new byte[c.stages()][];
        short[][] centroids = new short[c.stages()][];
        for (int t = 0; t < c.stages(); t++) {
            ids[t] = require(arrays, "ids" + t, c).requireShape(x.batch(), x.heads(), x.tokens()).asUint8();
            centroids[t] = require(arrays, "cent" + t, c)
                    .requireShape(x.batch(), x.heads(), c.centroids(), x.dim()).asUint16();
        }
        QuantizedSpan downstream = codec.encodeWithClustering(x, config, ids, centroids);
        List<String> mismatches = new ArrayList<>();
        compare("packed", downstream.packed(), require(arrays, "packed", c).asUint8(), mismatches);
        compare("scales", downstream.scales(), require(arrays, "scales", c).asUint8(), mismatches);
        if (c.asymmetric()) {
            compare("zeros", downstream.zeros(), require(arrays, "zeros", c).asUint8(), mismatches);
        }
        KvTensor deq = codec.decode(downstream);
        String deqSha = Digests.sha256(deq.bits());
        if (!deqSha.equals(c.deqSha256())) {
            NpyArray official = arrays.get("deq");
            mismatches.add("dequantized SHA-256 " + deqSha.substring(0, 12) + "… ≠ official "
                    + c.deqSha256().substring(0, 12) + "…"
                    + (official == null ? "" : firstDifference(deq, official.asUint16())));
        }

        // 2. The fake-quant baselines, where the case carries them.
        List<String> checked = new ArrayList<>();
        List<String> baselineMismatches = new ArrayList<>();
        for (var e : arrays.entrySet()) {
            String key = e.getKey();
            if (!key.startsWith("sim_")) {
                continue;
            }
            KvTensor ours = baseline(x, key);
            checked.add(key);
            if (!Arrays.equals(ours.bits(), e.getValue().asUint16())) {
                baselineMismatches.add(key + firstDifference(ours, e.getValue().asUint16()));
            }
        }

        // 3. The full pipeline with the implementation's own k-means from the official initial indices.
        QuantizedSpan own = codec.encode(x, config, init);
        KvTensor ownDeq = codec.decode(own);
        long agree = 0;
        for (int i = 0; i < ids[0].length; i++) {
            agree += own.clusterIds()[0][i] == ids[0][i] ? 1 : 0;
        }

        // 4. qvg4j's own bytes: every part of the own pipeline equals the golden file (SPEC §13).
        Map<String, String> parts = Digests.of(codec, asGolden(c, x, init), own);
        List<String> goldenDifferences = null;
        if (golden != null) {
            Map<String, String> want = golden.get(goldenName(c));
            goldenDifferences = want == null ? List.of("the case is not in the golden file")
                    : GoldenFile.differences(want, parts);
        }
        return new Result(c, mismatches, checked, baselineMismatches, (double) agree / ids[0].length,
                relativeL2(ownDeq, x), own.iterations(), parts, goldenDifferences, (System.nanoTime() - start) / 1e9);
    }

    /** The case's input tensor, from its {@code x} array or the {@code .npy} its {@code input} field names. */
    static KvTensor input(Path dir, ConformanceCase c, Map<String, NpyArray> arrays) throws IOException {
        NpyArray x = arrays.get("x");
        if (x == null) {
            if (c.input() == null) {
                throw new InvalidInputException(c.name() + ": the .npz has no 'x' and the case names no input file");
            }
            x = Npy.read(dir.resolve(c.input()));
        }
        long[] s = c.shape();
        x.requireShape(s);
        return new KvTensor(c.name(), (int) s[0], (int) s[1], (int) s[2], (int) s[3], x.asUint16());
    }

    private KvTensor baseline(KvTensor x, String key) {
        // sim_int{bits}_g{G} or sim_nvfp4_g{G}
        String[] parts = key.split("_");
        int g = Integer.parseInt(parts[2].substring(1));
        if (parts[1].equals("nvfp4")) {
            return codec.nvfp4Baseline(x, g);
        }
        return codec.rtnBaseline(x, Integer.parseInt(parts[1].substring(3)), g);
    }

    private static NpyArray require(Map<String, NpyArray> arrays, String key, ConformanceCase c) {
        NpyArray a = arrays.get(key);
        if (a == null) {
            throw new InvalidInputException(c.name() + ": the .npz lacks the array '" + key + "'");
        }
        return a;
    }

    private static void compare(String what, byte[] ours, byte[] official, List<String> mismatches) {
        if (Arrays.equals(ours, official)) {
            return;
        }
        int i = Arrays.mismatch(ours, official);
        int count = 0;
        for (int j = 0; j < Math.min(ours.length, official.length); j++) {
            count += ours[j] != official[j] ? 1 : 0;
        }
        mismatches.add(what + ": " + count + " bytes differ, first at byte " + i);
    }

    private static String firstDifference(KvTensor ours, short[] official) {
        int i = Arrays.mismatch(ours.bits(), official);
        if (i < 0) {
            return "";
        }
        if (i >= official.length || i >= ours.bits().length) {
            return " (lengths differ)";
        }
        return String.format(" (first at %s: 0x%04x vs official 0x%04x)", ours.indexString(i),
                ours.bits()[i] & 0xFFFF, official[i] & 0xFFFF);
    }

    /** ‖a − x‖ / ‖x‖ in double. */
    public static double relativeL2(KvTensor a, KvTensor x) {
        double err = 0;
        double ref = 0;
        for (int i = 0; i < x.elementCount(); i++) {
            double xv = io.qvg4j.numeric.Bf16.toFloat(x.bits()[i]);
            double d = io.qvg4j.numeric.Bf16.toFloat(a.bits()[i]) - xv;
            err += d * d;
            ref += xv * xv;
        }
        return Math.sqrt(err / ref);
    }
}
