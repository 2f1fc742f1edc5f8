package io.qvg4j.cli;

import io.qvg4j.conformance.ConformanceCase;
import io.qvg4j.conformance.ConformanceRunner;
import io.qvg4j.conformance.VectorSuite;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code qvg conformance DIR}: checks an implementation against a corpus of official outputs. */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = {"Check an implementation against a corpus of official QVG outputs (cases.jsonl + CASE.npz).",
                "Per case: downstream of k-means bit for bit (packed, scales, zeros, dequantized SHA-256), the fake-quant "
                        + "baselines bit for bit, and the full pipeline's own k-means from the official initial indices "
                        + "(rel-L2 within 1 %% of the official, stage-1 id agreement and iteration counts reported).",
                "When DIR holds golden.tsv, every part of the own pipeline must also equal qvg4j's pinned bytes (SPEC §13).",
                "Then the known-answer vectors (VECTORS.md) of --vectors, by default the vectors directory beside DIR, must "
                        + "pass at every level."},
        footer = {"", "Exit status: 0 when every case passes, 1 when one fails, 2 for bad input."})
public final class ConformanceCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "Corpus directory holding cases.jsonl.")
    Path dir;

    @Mixin
    ImplOptions impl;

    @Option(names = "--case", description = "Run only the cases with these names.", split = ",")
    List<String> only;

    @Option(names = "--vectors", paramLabel = "DIR",
            description = "The vector suite to run after the cases (default: DIR/../vectors when it holds index.jsonl).")
    Path vectors;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path index = dir.resolve("cases.jsonl");
        if (!Files.isRegularFile(index)) {
            throw new InvalidInputException(dir + ": no cases.jsonl (not a conformance corpus directory)");
        }
        List<ConformanceCase> cases = ConformanceCase.readAll(index);
        if (only != null) {
            for (String name : only) {
                if (cases.stream().noneMatch(c -> c.name().equals(name))) {
                    throw new InvalidInputException("--case " + name + ": no such case in " + index);
                }
            }
            cases = cases.stream().filter(c -> only.contains(c.name())).toList();
        }
        PrintWriter out = spec.commandLine().getOut();
        Path goldenFile = dir.resolve(GoldenFile.NAME);
        Map<String, Map<String, String>> golden = Files.isRegularFile(goldenFile) ? GoldenFile.read(goldenFile) : null;
        int passed = 0;
        Path here = Path.of("").toAbsolutePath();
        Path suite = vectors != null ? vectors : here.relativize(dir.toAbsolutePath().normalize().resolveSibling("vectors"));
        if (vectors != null && !Files.isRegularFile(vectors.resolve("index.jsonl"))) {
            throw new InvalidInputException("--vectors " + vectors + ": no index.jsonl (not a vector suite directory)");
        }
        boolean vectorsOk = true;
        try (QvgCodec codec = impl.open()) {
            out.printf("conformance: %d cases in %s, impl %s; %s%n", cases.size(), dir, impl.describe(), golden == null ? "no " + GoldenFile.NAME + " (own bytes not pinned)"
                            : "own bytes checked against " + goldenFile);
            ConformanceRunner runner = new ConformanceRunner(codec, golden);
            for (ConformanceCase c : cases) {
                ConformanceRunner.Result r = runner.run(dir, c);
                passed += r.passed() ? 1 : 0;
                out.println(format(r));
                out.flush();
            }
            if (Files.isRegularFile(suite.resolve("index.jsonl"))) {
                vectorsOk = runVectors(suite, codec, out);
            } else {
                out.println("vectors: none run (no index.jsonl in " + suite + "; pass --vectors DIR)");
            }
        }
        out.printf("conformance: %d/%d cases pass%n", passed, cases.size());
        return passed == cases.size() && vectorsOk ? 0 : 1;
    }

    /** Every vector at every level (VECTORS.md); one line per failing vector, then the count. */
    private static boolean runVectors(Path suite, QvgCodec codec, PrintWriter out) throws java.io.IOException {
        List<VectorSuite.Stored> all = VectorSuite.read(suite);
        VectorSuite.Implementation i = VectorSuite.of(codec);
        int passed = 0;
        for (VectorSuite.Stored s : all) {
            VectorSuite.Result r = VectorSuite.check(s, i);
            passed += r.passed() ? 1 : 0;
            if (!r.passed()) {
                out.println("FAIL vector " + s.vector().id() + " (" + s.vector().section() + "): " + r.detail());
            }
        }
        out.printf("vectors: %d/%d pass in %s%n", passed, all.size(), suite);
        return passed == all.size();
    }

    static String format(ConformanceRunner.Result r) {
        StringBuilder s = new StringBuilder();
        s.append(r.passed() ? "PASS " : "FAIL ").append(r.testCase().name());
        s.append(" | downstream ").append(r.downstreamExact() ? "bit-exact" : "DIFFERS: " + String.join("; ", r.downstreamMismatches()));
        s.append(" | baselines ");
        if (r.baselinesChecked().isEmpty()) {
            s.append("none in case");
        } else if (r.baselinesMatch()) {
            s.append(r.baselinesChecked().size()).append("/").append(r.baselinesChecked().size()).append(" bit-exact");
        } else {
            s.append("DIFFER: ").append(String.join("; ", r.baselineMismatches()));
        }
        s.append(String.format(" | own k-means: ids %.1f%% = official, iters %s, rel_l2 %.6f vs official %.6f (%+.2f%%)",
                100 * r.idAgreement(), iterations(r.iterations(), r.testCase().officialIters()), r.relL2(),
                r.testCase().officialRelL2(), 100 * (r.relL2() - r.testCase().officialRelL2()) / r.testCase().officialRelL2()));
        s.append(" | sha256 ").append(r.sha256());
        if (r.goldenDifferences() != null) {
            s.append(r.goldenMatches() ? " | golden: " + r.ownParts().size() + "/" + r.ownParts().size() + " parts equal"
                    : " | golden DIFFERS: " + String.join("; ", r.goldenDifferences()));
        }
        s.append(String.format(" | %.1f s", r.seconds()));
        return s.toString();
    }

    /**
     * The own iteration counts beside the official ones: "[2] = official" or "[19] vs official [100] (−81)".
     * They may differ: the official assignment is noisy and rarely meets the stop test (SPEC §3.4).
     */
    static String iterations(int[] own, int[] official) {
        if (official == null) {
            return Arrays.toString(own) + " (official not recorded)";
        }
        if (Arrays.equals(own, official)) {
            return Arrays.toString(own) + " = official";
        }
        StringBuilder d = new StringBuilder();
        for (int t = 0; t < Math.min(own.length, official.length); t++) {
            d.append(t == 0 ? "" : ", ").append(String.format("%+d", own[t] - official[t]));
        }
        return Arrays.toString(own) + " vs official " + Arrays.toString(official) + " (" + d + ")";
    }
}
