package io.qvg4j.cli;

import io.qvg4j.conformance.ConformanceCase;
import io.qvg4j.conformance.ConformanceRunner;
import io.qvg4j.golden.AttentionCases;
import io.qvg4j.golden.Digests;
import io.qvg4j.golden.GoldenCase;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.golden.SyntheticCases;
import io.qvg4j.spi.Implementations;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code qvg golden [DIR]}: checks or regenerates qvg4j's pinned bytes, {@code DIR/golden.tsv}. */
@Command(name = "golden", mixinStandardHelpOptions = true,
        description = {"Check qvg4j's own outputs against the golden file DIR/golden.tsv (SPEC §13), or regenerate it.",
                "Covers every case of DIR/cases.jsonl, the synthetic rule cases and the cache-attention streams: "
                        + "SHA-256 of the input, initial indices, per-stage ids and centroids, iteration counts, "
                        + "packed codes, scales, zero points, dequantized output and baselines."},
        footer = {"", "A deliberate change of bytes regenerates the file with --write in the same commit and says "
                + "why in CHANGES.md.", "Exit status: 0 when every case equals the file (or it was written), "
                + "1 when one differs, 2 for bad input."})
public final class GoldenCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", defaultValue = "conformance",
            description = "Corpus directory holding cases.jsonl and golden.tsv (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--write", description = "Regenerate DIR/golden.tsv from the scalar reference (--impl defaults to it).")
    boolean write;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (write && impl.impl.equals("auto")) {
            impl.impl = "reference";
        }
        if (write && !impl.impl.equals("reference")) {
            throw new InvalidInputException("--write --impl " + impl.impl + ": the golden file is written by the reference only");
        }
        Path index = dir.resolve("cases.jsonl");
        if (!Files.isRegularFile(index)) {
            throw new InvalidInputException(dir + ": no cases.jsonl (not a conformance corpus directory)");
        }
        Path file = dir.resolve(GoldenFile.NAME);
        Map<String, Map<String, String>> golden = write ? Map.of() : readGolden(file);
        PrintWriter out = spec.commandLine().getOut();
        Map<String, Map<String, String>> computed = new LinkedHashMap<>();
        int differing = 0;
        try (QvgCodec codec = impl.open()) {
            out.printf("golden: %s, impl %s%n", write ? "writing " + file : "checking against " + file, impl.describe());
            for (ConformanceCase c : ConformanceCase.readAll(index)) {
                differing += report(out, computed, golden, ConformanceRunner.goldenName(c),
                        Digests.of(codec, ConformanceRunner.goldenCase(dir, c)));
            }
            for (GoldenCase c : SyntheticCases.all()) {
                differing += report(out, computed, golden, c.name(), Digests.of(codec, c));
            }
            // The streams quantize with this implementation and attend with the fastest attention kernels.
            for (var e : AttentionCases.all(codec, Implementations.attention("auto")).entrySet()) {
                differing += report(out, computed, golden, e.getKey(), e.getValue());
            }
        }
        if (write) {
            GoldenFile.write(file, computed);
            out.printf("golden: wrote %d cases, %d parts to %s%n", computed.size(),
                    computed.values().stream().mapToInt(Map::size).sum(), file);
            return 0;
        }
        for (String name : golden.keySet()) {
            if (!computed.containsKey(name)) {
                out.println("DIFF " + name + ": in the golden file but no longer produced");
                differing++;
            }
        }
        out.printf("golden: %d/%d cases equal%n", computed.size() - differing, computed.size());
        return differing == 0 ? 0 : 1;
    }

    private static Map<String, Map<String, String>> readGolden(Path file) throws java.io.IOException {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": no golden file (regenerate with qvg golden --write)");
        }
        return GoldenFile.read(file);
    }

    /** Records a case's parts; unless writing, prints whether they equal the file's and returns 1 if not. */
    private int report(PrintWriter out, Map<String, Map<String, String>> computed, Map<String, Map<String, String>> golden,
                       String name, Map<String, String> parts) {
        computed.put(name, parts);
        if (write) {
            out.printf("  %s: %d parts%n", name, parts.size());
            out.flush();
            return 0;
        }
        Map<String, String> want = golden.get(name);
        List<String> diff = want == null ? List.of("not in the golden file") : GoldenFile.differences(want, parts);
        out.println((diff.isEmpty() ? "SAME " : "DIFF ") + name + (diff.isEmpty() ? " (" + parts.size() + " parts)"
                : ": " + String.join("; ", diff)));
        out.flush();
        return diff.isEmpty() ? 0 : 1;
    }
}
