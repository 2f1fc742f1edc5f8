package io.qvg4j.bench;

import io.qvg4j.spi.Implementations;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Runs every benchmark through JMH's Runner API in this JVM (forks inherit its flags) and prints the
 * table of {@link ResultTable}. {@code --quick}: one fork, short iterations, the LongCat shape only and
 * the 2-thread pipeline; the default is 2 forks × 5 iterations, which on 2 shared cores is the least
 * that gives error bars narrower than the score. {@code --attention}: only the machine limits and
 * {@link CacheAttentionBench}.
 */
public final class BenchRunner {
    private static final List<String> KERNELS = List.of("norms", "assign", "update",
            "subtract", "quantize", "dequantize", "rtn", "nvfp4");

    private BenchRunner() {}

    public static void main(String[] args) throws RunnerException {
        boolean quick = false;
        boolean attentionOnly = false;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--attention" -> attentionOnly = true;
                case "--json" -> {
                    if (i + 1 == args.length) {
                        System.err.println("benchmarks: --json needs a file name");
                        System.exit(2);
                    }
                    json = Path.of(args[++i]);
                }
                default -> {
                    System.err.println("benchmarks: unknown argument '" + args[i] + "'; use [--quick] [--attention] [--json FILE]");
                    System.exit(2);
                }
            }
        }
        PrintWriter out = new PrintWriter(System.out, true);
        System.exit(run(quick, attentionOnly, json, out));
    }

    /** Runs the benchmarks; returns the exit status (0, or 2 when this JVM cannot run them). */
    public static int run(boolean quick, boolean attentionOnly, Path json, PrintWriter out) throws RunnerException {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            out.println("benchmarks: the JVM needs --add-modules jdk.incubator.vector (the FMA peak uses the Vector API)");
            return 2;
        }
        // unavailable() is null when SIMD can run, so no Optional.map here (it would turn null into "missing").
        java.util.Optional<io.qvg4j.spi.Implementation> simd = Implementations.all().stream()
                .filter(i -> i.name().equals("simd")).findFirst();
        String simdUnavailable = simd.isEmpty() ? "the kernels-simd module is not on the class path" : simd.get().unavailable();
        String[] impls = simdUnavailable == null ? new String[] {"reference", "simd"} : new String[] {"reference"};
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(MachineLimits.class.getName() + "\\.")
                .include(CacheAttentionBench.class.getName() + "\\.");
        if (!attentionOnly) {
            options.include(KernelBench.class.getName() + "\\.").include(CodecBench.class.getName() + "\\.");
        }
        options.param("impl", impls)
                .param("kernels", impls[impls.length - 1])
                .forks(quick ? 1 : 2)
                .warmupIterations(quick ? 2 : 3)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(quick ? 3 : 5)
                .measurementTime(TimeValue.seconds(1));
        if (quick) {
            options.param("shape", Shape.LONGCAT.id).param("threads", "2").param("queries", "880");
        }
        if (json != null) {
            options.resultFormat(ResultFormatType.JSON).result(json.toString());
        }
        Collection<RunResult> results = new Runner(options.build()).run();

        List<ResultTable.Measurement> rows = measurements(results);
        ResultTable.Limits limits = limits(rows);
        out.println();
        out.println(String.format(Locale.ROOT, "qvg4j benchmarks: %s, Java %s (%s), %d processors, %s",
                (quick ? "quick" : "full") + (attentionOnly ? ", attention only" : ""), Runtime.version(), System.getProperty("java.vm.name"),
                Runtime.getRuntime().availableProcessors(), MachineLimits.speciesDescription()));
        out.print(ResultTable.format(rows, limits, simdUnavailable));
        out.println("Throughput: median of all measured iterations ± JMH's 99.9 % confidence half-width. "
                + "FMA-bound rows count one FMA per (token, centroid, d); memory-bound rows count bytes read + "
                + "bytes written (byte model in io.qvg4j.bench.Workload), like the copy limit. Attention counts its "
                + "2·Q·T·D FMAs (scores and accumulation; the Q·T exponentials are not counted); its last column is "
                + "bf16-cache time / quantized-cache time.");
        return 0;
    }

    static List<ResultTable.Measurement> measurements(Collection<RunResult> results) {
        List<ResultTable.Measurement> rows = new ArrayList<>();
        for (RunResult r : results) {
            BenchmarkParams p = r.getParams();
            String full = p.getBenchmark();
            String type = full.substring(0, full.lastIndexOf('.'));
            String method = full.substring(full.lastIndexOf('.') + 1);
            Statistics st = r.getPrimaryResult().getStatistics();
            double median = st.getPercentile(50);
            double error = st.getN() > 2 ? st.getMeanErrorAt(0.999) : Double.NaN;
            if (type.equals(MachineLimits.class.getName())) {
                boolean fma = method.startsWith("fma");
                Workload work = fma ? Workload.fma(MachineLimits.fmasPerOp())
                        : Workload.bytes(MachineLimits.COPY_BUFFER_BYTES, MachineLimits.COPY_BUFFER_BYTES);
                rows.add(new ResultTable.Measurement(fma ? "limit: fp32 FMA" : "limit: copy", "machine",
                        fma ? MachineLimits.speciesDescription() : (MachineLimits.COPY_BUFFER_BYTES >> 20) + " MiB arraycopy",
                        "-", p.getThreads(), median, error, work));
            } else if (type.equals(KernelBench.class.getName())) {
                Shape shape = Shape.byId(p.getParam("shape"));
                String impl = p.getParam("impl");
                String label = shape.label();
                if (method.equals("assign") && shape.assignTokens(impl) < shape.tokens) {
                    label += ", first " + shape.assignTokens(impl) + " tokens";
                }
                rows.add(new ResultTable.Measurement(method, shape.id, label, impl, 1, median, error,
                        Workload.kernel(method, shape, impl)));
            } else if (type.equals(CacheAttentionBench.class.getName())) {
                int queries = Integer.parseInt(p.getParam("queries"));
                int tokens = Integer.parseInt(p.getParam("frames")) * CacheAttentionBench.FRAME;
                String label = "Q=" + queries + " over " + tokens + " tokens, D=" + CacheAttentionBench.DIM;
                rows.add(new ResultTable.Measurement("attention", "q" + queries + "-t" + tokens, label,
                        p.getParam("kernels") + ", " + p.getParam("cache") + " cache", Integer.parseInt(p.getParam("threads")),
                        median, error, Workload.attention(CacheAttentionBench.HEADS, queries, tokens, CacheAttentionBench.DIM)));
            } else if (type.equals(CodecBench.class.getName())) {
                String impl = p.getParam("impl");
                boolean encode = method.equals("encode");
                int heads = encode ? Workload.encodeHeads(impl) : Workload.TENSOR_HEADS;
                String label = "[1," + heads + "," + Shape.LONGCAT.tokens + "," + Shape.LONGCAT.dim + "]";
                rows.add(new ResultTable.Measurement(method, "longcat-tensor", label, impl,
                        Integer.parseInt(p.getParam("threads")), median, error,
                        encode ? Workload.encode(impl) : Workload.decode()));
            }
        }
        rows.sort(Comparator.comparingInt(BenchRunner::order)
                .thenComparing(ResultTable.Measurement::threads)
                .thenComparing(m -> shapeOrder(m.group()))
                .thenComparing(ResultTable.Measurement::group)
                .thenComparing(ResultTable.Measurement::impl, Comparator.comparing(i -> i.equals("reference") ? 0 : 1))
                .thenComparing(ResultTable.Measurement::impl));
        return rows;
    }

    private static int order(ResultTable.Measurement m) {
        return switch (m.kernel()) {
            case "limit: fp32 FMA" -> 0;
            case "limit: copy" -> 1;
            case "encode" -> 100;
            case "decode" -> 101;
            case "attention" -> 102;
            default -> 10 + KERNELS.indexOf(m.kernel());
        };
    }

    private static int shapeOrder(String group) {
        for (Shape s : Shape.values()) {
            if (s.id.equals(group)) {
                return s.ordinal();
            }
        }
        return -1;
    }

    /** The limits from the limit rows; a limit that was not measured is NaN. */
    static ResultTable.Limits limits(List<ResultTable.Measurement> rows) {
        double fma1 = Double.NaN, fmaAll = Double.NaN, copy1 = Double.NaN, copyAll = Double.NaN;
        int cores = Runtime.getRuntime().availableProcessors();
        for (ResultTable.Measurement m : rows) {
            boolean all = m.threads() == cores && cores > 1;
            switch (m.kernel()) {
                case "limit: fp32 FMA" -> {
                    if (m.threads() == 1) fma1 = m.unitsPerSecond();
                    if (all || cores == 1) fmaAll = m.unitsPerSecond();
                }
                case "limit: copy" -> {
                    if (m.threads() == 1) copy1 = m.unitsPerSecond();
                    if (all || cores == 1) copyAll = m.unitsPerSecond();
                }
                default -> { }
            }
        }
        return new ResultTable.Limits(fma1, fmaAll, copy1, copyAll);
    }
}
