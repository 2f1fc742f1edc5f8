package io.qvg4j.cli;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.io.AtomicFile;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.report.DraftAndCalibration;
import io.qvg4j.report.HtmlPage;
import io.qvg4j.report.QualityReport;
import io.qvg4j.report.StreamPolicies;
import io.qvg4j.spi.Implementations;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code qvg report}: every method on the same K and V, written as one offline HTML page with figures. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Compare QVG, QVG-Pro, RTN, NVFP4, KIVI and QuaRot at 2, 3 and 4 bits on the same K and V "
                + "(SPEC §14): bits per element, rel-L2 of K and V, attention output error and attention mass shift, with and "
                + "without the Jensen-bias correction; error per PRQ stage, smoothing per head, magnitude maps and k-means "
                + "convergence. Writes one self-contained HTML page (figures embedded as PNG) and prints the frontier table.",
                "INPUTs are taken in pairs, K then V, each FILE or FILE:TENSOR (.npy, .npz, .safetensors); "
                        + "default: the city K and V sample in conformance/."})
public final class ReportCommand implements Callable<Integer> {

    @Parameters(arity = "0..*", paramLabel = "INPUT", description = "K and V inputs in pairs, FILE[:TENSOR].")
    List<String> inputs = new ArrayList<>();

    @Option(names = {"-o", "--output"}, defaultValue = "report.html", description = "The page to write (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--max-tokens", defaultValue = "0",
            description = "Keep only the first N tokens of every head, 0 for all (default: ${DEFAULT-VALUE}); the page says so.")
    int maxTokens;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the k-means initial indices and the Hadamard signs (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--queries", defaultValue = "64", description = "Queries per head: the K rows of the newest tokens (default: ${DEFAULT-VALUE}).")
    int queries;

    @Option(names = "--window", defaultValue = "128", description = "Newest tokens per head read unquantized, the current chunk (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--kmeans-iterations", defaultValue = "10", description = "k-means iterations traced for the convergence figure, at least 2 (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--attention", defaultValue = "auto", description = "Attention kernels: auto, reference or simd (default: ${DEFAULT-VALUE}).")
    String attention;

    @Option(names = "--stream-passes", defaultValue = "4",
            description = "Times the first pair is streamed through the cache policies of SPEC §16.3–16.4 in frames of 880 tokens; "
                    + "0 leaves that section out (default: ${DEFAULT-VALUE}).")
    int streamPasses;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        if (inputs.size() % 2 != 0) {
            throw new InvalidInputException("report: " + inputs.size() + " inputs; give them in K, V pairs");
        }
        if (maxTokens < 0 || iterations < 2 || streamPasses < 0) {
            throw new InvalidInputException("report: --max-tokens and --stream-passes must be >= 0 and --kmeans-iterations >= 2");
        }
        List<String> files = inputs.isEmpty() ? List.of(DemoCommand.defaultDataDir().resolve("city_a_k.npy").toString(),
                DemoCommand.defaultDataDir().resolve("city_a_v.npy").toString()) : inputs;
        QualityReport.Settings settings = new QualityReport.Settings(seed, queries, window, maxTokens, iterations);
        AttentionKernels kernels = Implementations.attention(attention);
        PrintWriter out = spec.commandLine().getOut();
        List<QualityReport.Pair> pairs = new ArrayList<>();
        String note = "";
        for (int i = 0; i < files.size(); i += 2) {
            KvTensor k = load(files.get(i));
            KvTensor v = load(files.get(i + 1));
            KvTensor k2 = QualityReport.firstTokens(k, maxTokens), v2 = QualityReport.firstTokens(v, maxTokens);
            if (k2 != k) {
                note = "Subsampled: only the first " + maxTokens + " tokens of every head were used (--max-tokens).";
            }
            pairs.add(new QualityReport.Pair(name(files.get(i)) + " / " + name(files.get(i + 1)), k2, v2, files.get(i), files.get(i + 1)));
        }
        out.printf("qvg report: %d pair%s; quantizer %s; attention %s; seed %d%n", pairs.size(), pairs.size() == 1 ? "" : "s",
                impl.describe(), kernels.name(), seed);
        List<QualityReport.PairResult> results = new ArrayList<>();
        List<DraftAndCalibration.Result> related = new ArrayList<>();
        StreamPolicies.Result streams = null;
        long t0 = System.nanoTime();
        try (QvgCodec codec = impl.open()) {
            for (QualityReport.Pair p : pairs) {
                QualityReport.PairResult r = QualityReport.compute(p, codec, kernels, settings);
                results.add(r);
                printTable(out, r);
                DraftAndCalibration.Result dc = DraftAndCalibration.compute(r, codec, kernels, settings);
                related.add(dc);
                printRelated(out, dc);
            }
            QualityReport.Pair first = pairs.get(0);
            if (streamPasses > 0 && first.keys().tokens() % 880 != 0) {
                out.printf("%ncache policies: left out, %d tokens per head are not whole frames of 880%n", first.keys().tokens());
            } else if (streamPasses > 0) {
                long s0 = System.nanoTime();
                streams = StreamPolicies.compute(first.keys(), first.values(), codec, kernels,
                        new StreamPolicies.Settings(880, streamPasses, 16, 2, seed));
                printStreams(out, streams);
                out.printf("cache policies: %.1f s%n", (System.nanoTime() - s0) / 1e9);
            }
        }
        String command = "qvg report" + (inputs.isEmpty() ? "" : " " + String.join(" ", inputs))
                + (maxTokens > 0 ? " --max-tokens " + maxTokens : "") + (seed != 0 ? " --seed " + seed : "");
        String html = HtmlPage.render(results, new HtmlPage.Meta(command, impl.describe(), settings, note), related, streams);
        AtomicFile.write(output, o -> o.write(html.getBytes(StandardCharsets.UTF_8)));
        out.printf("wrote %s (%d bytes) in %.1f s%n", output, html.length(), (System.nanoTime() - t0) / 1e9);
        out.flush();
        return 0;
    }

    private static KvTensor load(String input) throws java.io.IOException {
        int colon = input.lastIndexOf(':');
        Path file = Path.of(colon > 0 ? input.substring(0, colon) : input);
        return TensorFiles.load(file, colon > 0 ? input.substring(colon + 1) : null).tensor();
    }

    private static String name(String input) {
        return Path.of(input).getFileName().toString();
    }

    /** The draft views, calibration and cross-layer sharing of SPEC §16.1–§16.2, in short. */
    static void printRelated(PrintWriter out, DraftAndCalibration.Result r) {
        out.printf("%n%-16s %9s %9s %9s %9s   %-14s %9s %9s %9s %9s%n", "draft (§16.1)", "bits/el", "relL2 K", "relL2 V", "attn err",
                "nearest plain", "bits/el", "relL2 K", "relL2 V", "attn err");
        for (DraftAndCalibration.Match m : r.matches()) {
            var d = m.draft();
            var q = m.plain();
            out.printf(java.util.Locale.ROOT, "%-16s %9.4f %9.4f %9.4f %9.4f   %-14s %9.4f %9.4f %9.4f %9.4f%n", d.method().name(),
                    d.bitsPerElement(), d.keyError(), d.valueError(), d.attentionError(), q.method().name(), q.bitsPerElement(),
                    q.keyError(), q.valueError(), q.attentionError());
        }
        var etaConfigs = DraftAndCalibration.etaConfigs();
        out.printf("%n%-6s", "η");
        for (var c : etaConfigs) {
            String b = DraftAndCalibration.etaLabel(c).replace(" bf16 scales", "bf");
            out.printf(" %11s %11s %11s", b + " relL2 K", b + " relL2 V", b + " attn");
        }
        out.println("   (§16.2, QVG asym G=64 T=1; INT2bf: bf16 scales)");
        for (int j = 0; j < DraftAndCalibration.ETAS.length; j++) {
            out.printf(java.util.Locale.ROOT, "%-6.2f", DraftAndCalibration.ETAS[j]);
            for (int i = 0; i < etaConfigs.size(); i++) {
                var row = r.eta().get(i).get(j);
                out.printf(java.util.Locale.ROOT, " %11.4f %11.4f %11.4f", row.keyError(), row.valueError(), row.attentionError());
            }
            out.println();
        }
        var c = r.crossLayer();
        out.printf(java.util.Locale.ROOT, "%ncross-layer sharing (§16.2), synthetic %d layers, rho %.2f: %d -> %d bytes (%.4f -> %.4f bits/el)%n",
                c.layers(), c.rho(), c.separate().totalBytes(), c.sharing().totalBytes(), c.separate().bitsPerElement(),
                c.sharing().bitsPerElement());
        for (var l : c.higher()) {
            out.printf(java.util.Locale.ROOT, "  layer %d: relL2 K %.4f -> %.4f, V %.4f -> %.4f, attn err %.4f -> %.4f%n", l.layer(),
                    l.own().keyError(), l.shared().keyError(), l.own().valueError(), l.shared().valueError(),
                    l.own().attentionError(), l.shared().attentionError());
        }
        out.flush();
    }

    /** The cache-policy tables of SPEC §16.3–16.4, as the page shows them. */
    static void printStreams(PrintWriter out, StreamPolicies.Result r) {
        out.printf("%ncache policies over %d frames of %d tokens (%s)%n", r.frames(), r.settings().frameTokens(), r.cut());
        out.printf("%-48s %10s %9s %10s %10s%n", "policy", "MiB held", "bits/el", "attn err", "mean err");
        for (StreamPolicies.Curve c : r.decay()) {
            out.printf(java.util.Locale.ROOT, "%-48s %10.3f %9.3f %10.4f %10.4f%n", c.name(), c.bytes()[c.last()] / 1048576.0,
                    c.bitsPerElement(c.last(), r.heads(), r.dim()), c.error()[c.last()], c.meanError());
        }
        out.printf("%-8s %-42s %10s %10s %10s%n", "budget", "evict by", "live tok", "MiB held", "attn err");
        for (StreamPolicies.Eviction e : r.eviction()) {
            out.printf(java.util.Locale.ROOT, "%-8d %-42s %10d %10.3f %10.4f%n", e.budgetFrames() * r.settings().frameTokens(),
                    e.policy(), e.liveTokens(), e.bytes() / 1048576.0, e.error());
        }
        out.flush();
    }

    /** The frontier table, as the page shows it. */
    static void printTable(PrintWriter out, QualityReport.PairResult r) {
        out.printf("%n%s %s%n", r.pair().label(), r.pair().keys().shapeString());
        out.printf("%-20s %5s %9s %9s %9s %9s %9s %10s %10s%n", "method", "bits", "bits/el", "relL2 K", "relL2 V",
                "attn err", "+corr", "mass", "+corr");
        for (var row : r.rows()) {
            out.printf(java.util.Locale.ROOT, "%-20s %5d %9.4f %9.4f %9.4f %9.4f %9s %+10.5f %10s%n", row.method().name(),
                    row.method().bits(), row.bitsPerElement(), row.keyError(), row.valueError(), row.attentionError(),
                    Double.isNaN(row.correctedAttentionError()) ? "-" : String.format(java.util.Locale.ROOT, "%.4f", row.correctedAttentionError()),
                    row.massShift(),
                    Double.isNaN(row.correctedMassShift()) ? "-" : String.format(java.util.Locale.ROOT, "%+.5f", row.correctedMassShift()));
        }
        out.flush();
    }
}
