package io.qvg4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The table {@code qvg bench} prints: every kernel's throughput, as a fraction of the machine limit it
 * is bound by, and the SIMD/scalar speedup. Markdown, so that it can be pasted into the docs as is.
 */
public final class ResultTable {
    private ResultTable() {}

    /**
     * One benchmark's result.
     *
     * @param group        what SIMD and reference rows are matched on (e.g. the shape id)
     * @param label        the shape as printed
     * @param opsPerSecond median calls per second over all measured iterations and forks
     * @param opsError     99.9 % confidence half-width of the mean, in calls per second (NaN if unknown)
     */
    public record Measurement(String kernel, String group, String label, String impl, int threads,
                              double opsPerSecond, double opsError, Workload work) {
        public double unitsPerSecond() {
            return opsPerSecond * work.unitsPerOp();
        }
    }

    /** The measured limits, in FMA/s and bytes/s (bytes read + bytes written). */
    public record Limits(double fmaOneThread, double fmaAllThreads, double copyOneThread, double copyAllThreads) {
        /**
         * The limit for a kernel on {@code threads} threads: the single-thread limit times the thread
         * count, but no more than what all threads together reached.
         */
        public double of(Workload.Limit limit, int threads) {
            double one = limit == Workload.Limit.FMA ? fmaOneThread : copyOneThread;
            double all = limit == Workload.Limit.FMA ? fmaAllThreads : copyAllThreads;
            return threads <= 1 ? one : Math.min(one * threads, all);
        }
    }

    /**
     * @param simdUnavailable why the SIMD kernels could not be run (null when they were): every reference
     *                        row then gets a SIMD row saying so
     */
    public static String format(List<Measurement> rows, Limits limits, String simdUnavailable) {
        List<String[]> cells = new ArrayList<>();
        cells.add(new String[] {"kernel", "shape", "impl", "threads", "time/op", "throughput", "fraction of limit",
                "SIMD/scalar speedup"});
        for (Measurement m : rows) {
            cells.add(new String[] {m.kernel(), m.label(), m.impl(), Integer.toString(m.threads()),
                    time(1 / m.opsPerSecond()), throughput(m), fraction(m, limits), speedup(m, rows)});
            if (simdUnavailable != null && m.impl().equals("reference")) {
                cells.add(new String[] {m.kernel(), m.label(), "simd", Integer.toString(m.threads()), "-",
                        "unavailable", "-", "-"});
            }
        }
        StringBuilder out = new StringBuilder();
        int[] width = new int[cells.get(0).length];
        for (String[] row : cells) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (int r = 0; r < cells.size(); r++) {
            appendRow(out, cells.get(r), width);
            if (r == 0) {
                String[] rule = new String[width.length];
                for (int i = 0; i < width.length; i++) {
                    rule[i] = "-".repeat(width[i]);
                }
                appendRow(out, rule, width);
            }
        }
        if (simdUnavailable != null) {
            out.append("SIMD kernels unavailable: ").append(simdUnavailable).append('\n');
        }
        return out.toString();
    }

    private static void appendRow(StringBuilder out, String[] row, int[] width) {
        out.append('|');
        for (int i = 0; i < row.length; i++) {
            out.append(' ').append(row[i]).append(" ".repeat(width[i] - row[i].length())).append(" |");
        }
        out.append('\n');
    }

    static String throughput(Measurement m) {
        double value = m.unitsPerSecond();
        int p = prefix(value);
        double scale = Math.pow(1000, p);
        String error = Double.isFinite(m.opsError()) ? " ± " + significant(m.opsError() * m.work().unitsPerOp() / scale) : "";
        return significant(value / scale) + error + " " + PREFIXES[p] + m.work().limit().unit;
    }

    static String fraction(Measurement m, Limits limits) {
        if (m.kernel().startsWith("limit:")) {
            return "= limit";
        }
        double f = m.unitsPerSecond() / limits.of(m.work().limit(), m.threads());
        String of = m.work().limit() == Workload.Limit.FMA ? "FMA peak" : "copy bw";
        return String.format(Locale.ROOT, "%.1f %% of %s", 100 * f, of);
    }

    static String speedup(Measurement m, List<Measurement> rows) {
        if (m.kernel().equals("attention")) {
            return cacheSpeedup(m, rows);
        }
        if (m.impl().equals("reference")) {
            return "";
        }
        for (Measurement r : rows) {
            if (r.impl().equals("reference") && r.kernel().equals(m.kernel()) && r.group().equals(m.group())
                    && r.threads() == m.threads()) {
                return String.format(Locale.ROOT, "%.1fx", m.unitsPerSecond() / r.unitsPerSecond());
            }
        }
        return "";
    }

    /** For a quantized-cache attention row: the time of the bf16-cache row of the same shape and threads over its own. */
    private static String cacheSpeedup(Measurement m, List<Measurement> rows) {
        if (!m.impl().endsWith(", quantized cache")) {
            return "";
        }
        String bf16 = m.impl().replace(", quantized cache", ", bf16 cache");
        for (Measurement r : rows) {
            if (r.kernel().equals("attention") && r.impl().equals(bf16) && r.group().equals(m.group()) && r.threads() == m.threads()) {
                return String.format(Locale.ROOT, "%.2fx vs bf16 cache", m.opsPerSecond() / r.opsPerSecond());
            }
        }
        return "";
    }

    private static final String[] PREFIXES = {"", "k", "M", "G", "T"};

    /** The SI prefix (index into {@link #PREFIXES}) that leaves 1 to 999 before it. */
    private static int prefix(double value) {
        int p = 0;
        for (double v = Math.abs(value); v >= 999.5 && p < PREFIXES.length - 1; v /= 1000) {
            p++;
        }
        return p;
    }

    /** A duration in s, ms or µs with three significant digits. */
    static String time(double seconds) {
        if (seconds >= 1) {
            return significant(seconds) + " s";
        }
        if (seconds >= 1e-3) {
            return significant(seconds * 1e3) + " ms";
        }
        return significant(seconds * 1e6) + " µs";
    }

    private static String significant(double v) {
        double a = Math.abs(v);
        String pattern = a >= 99.95 ? "%.0f" : a >= 9.995 ? "%.1f" : "%.2f";
        return String.format(Locale.ROOT, pattern, v);
    }
}
