package io.qvg4j.report;

import io.qvg4j.baselines.Evaluation;
import io.qvg4j.baselines.Method;
import io.qvg4j.baselines.Qvg;
import io.qvg4j.baselines.ThinK;
import io.qvg4j.baselines.TokenPruning;
import io.qvg4j.codec.QvgCodec;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The related-system options of the report (SPEC §16.5, §16.6): token pruning to a budget after XStreamVGGT (id-only
 * and dropped tokens) and ThinK's key-channel pruning, each around the plain QVG method it composes with, so that
 * they run on the same inputs as every other method; and their section of the page.
 */
final class Pruning {
    private Pruning() {}

    /** Token budgets: percent of the prunable tokens that keep residual codes. */
    static final int[] KEEP = {75, 50, 25};

    /**
     * ThinK's kept key channels per head: ThinK's pruning ratio 0.5, D/2, rounded down to a multiple of G (which must
     * divide it), at least G: 64 of 128 with QVG's G = 64 (at D = 64 nothing is pruned).
     */
    static int thinkChannels(int dim, int groupSize) {
        return Math.max(groupSize, dim / 2 / groupSize * groupSize);
    }

    /** The options for tensors of head dimension {@code dim}, built on the plain QVG methods of {@code methods}. */
    static List<Method> methods(List<Method> methods, QvgCodec codec, QualityReport.Settings settings, int dim) {
        Qvg two = find(methods, "QVG-2");
        int channels = thinkChannels(dim, two.quantConfig().groupSize());
        List<Method> out = new ArrayList<>();
        for (int p : KEEP) {
            out.add(new TokenPruning(two, codec, settings.seed(), TokenPruning.Salience.RESIDUAL, TokenPruning.Mode.ID_ONLY,
                    p, settings.window(), settings.queries()));
            out.add(new TokenPruning(two, codec, settings.seed(), TokenPruning.Salience.RESIDUAL, TokenPruning.Mode.DROP,
                    p, settings.window(), settings.queries()));
            out.add(new TokenPruning(two, codec, settings.seed(), TokenPruning.Salience.QUERY, TokenPruning.Mode.DROP,
                    p, settings.window(), settings.queries()));
        }
        ThinK.Shared shared = new ThinK.Shared();
        for (String base : new String[]{"QVG-2", "QVG-3"}) {
            out.add(new ThinK(find(methods, base), codec, settings.seed(), channels, settings.queries(), shared));
        }
        return out;
    }

    private static Qvg find(List<Method> methods, String name) {
        for (Method m : methods) {
            if (m.name().equals(name) && m instanceof Qvg q) {
                return q;
            }
        }
        throw new IllegalStateException("no method " + name);
    }

    /** The section of one pair: the budget sweep, ThinK, and every option beside plain QVG at matched bits. */
    static void render(QualityReport.PairResult r, QualityReport.Settings s, Consumer<String> raw, BiConsumer<String, String> img) {
        String label = r.pair().label();
        Evaluation.Row plain = null;
        List<Evaluation.Row> tokens = new ArrayList<>(), channels = new ArrayList<>(), plains = new ArrayList<>();
        for (Evaluation.Row row : r.rows()) {
            Method m = row.method();
            if (m instanceof TokenPruning) {
                tokens.add(row);
            } else if (m instanceof ThinK) {
                channels.add(row);
            } else if (m instanceof Qvg) {
                plains.add(row);
                plain = m.name().equals("QVG-2") ? row : plain;
            }
        }
        if (plain == null || tokens.isEmpty()) {
            return;
        }
        raw.accept("<h2>" + HtmlPage.esc(label) + ": token pruning to a budget (XStreamVGGT, SPEC §16.5)</h2>\n<p>QVG-2's clustering; "
                + "of each head's tokens before the newest " + s.window() + " (the current chunk, always kept), the given percent "
                + "keep their residual codes. <i>id-only</i>: the rest keep their ids and read as "
                + "their centroid; <i>pruned</i>: the rest are dropped from storage and attention (both by residual energy "
                + "‖R_T‖², K and V together, per head); <i>XStreamVGGT</i>: dropped by XStreamVGGT's pooled-query score, one token set "
                + "for all heads, before k-means. 100 % is plain QVG-2.</p>\n<div class=fig>\n");
        List<Charts.Point> err = new ArrayList<>(), bits = new ArrayList<>();
        List<String> families = new ArrayList<>();
        for (Evaluation.Row row : tokens) {
            if (!families.contains(row.method().family())) {
                families.add(row.method().family());
            }
        }
        for (String f : families) {
            err.add(new Charts.Point(f, 100, plain.attentionError()));
            bits.add(new Charts.Point(f, 100, plain.bitsPerElement()));
            for (int p : KEEP) {
                for (Evaluation.Row row : tokens) {
                    if (row.method().family().equals(f) && ((TokenPruning) row.method()).keepPercent() == p) {
                        err.add(new Charts.Point(f, p, row.attentionError()));
                        bits.add(new Charts.Point(f, p, row.bitsPerElement()));
                    }
                }
            }
        }
        img.accept(Charts.lines("Attention output error against the token budget", "tokens kept with residual codes (%)",
                "rel-L2 of the attention output", err, true), label + " pruning budget error");
        img.accept(Charts.lines("Memory against the token budget", "tokens kept with residual codes (%)",
                "bits per element (K+V)", bits, false), label + " pruning budget memory");
        raw.accept("</div>\n<table><tr><th class=l>method</th><th>bits/element K+V</th><th class=l>K bits by component</th>"
                + "<th>rel-L2 K</th><th>rel-L2 V</th><th>attention error</th><th>+ correction</th><th>mass shift</th></tr>\n");
        List<Evaluation.Row> sweep = new ArrayList<>();
        sweep.add(plain);
        sweep.addAll(tokens);
        for (Evaluation.Row row : sweep) {
            raw.accept(rowCells(row) + "<td>" + f4(row.correctedAttentionError()) + "</td><td>" + signed(row.massShift()) + "</td></tr>\n");
        }
        raw.accept("</table>\n");

        if (!channels.isEmpty()) {
            int kept = ((ThinK) channels.get(0).method()).keptChannels();
            raw.accept("<h2>" + HtmlPage.esc(label) + ": ThinK key-channel pruning (SPEC §16.6)</h2>\n<p>Per head, the "
                    + kept + " of " + r.pair().keys().dim() + " key channels with the largest ‖Q_j‖²·‖K_j‖² (queries: the K rows "
                    + "of the newest tokens, SPEC §14.4) are kept and the rest dropped before smoothing; values are plain QVG. "
                    + "The k-means assignment costs S·Kc·D multiply-adds per iteration and head, so the keys' k-means does "
                    + f2((double) kept / r.pair().keys().dim()) + "× the work of plain QVG's.</p>\n"
                    + "<table><tr><th class=l>method</th><th>bits/element K+V</th><th class=l>K bits by component</th>"
                    + "<th>rel-L2 K</th><th>rel-L2 V</th><th>attention error</th></tr>\n");
            for (Evaluation.Row row : channels) {
                raw.accept(rowCells(row) + "</tr>\n");
            }
            raw.accept("</table>\n");
        }

        raw.accept("<h3>Each option beside plain QVG at matched bits</h3>\n<p>Each option row is paired with the plain QVG or "
                + "QVG-Pro row (2, 3 or 4 bits) nearest in bits per element (K+V), ties to the fewer bits.</p>\n"
                + "<table><tr><th class=l>option</th><th>bits/element</th><th>attention error</th><th>rel-L2 K</th><th>rel-L2 V</th>"
                + "<th class=l>nearest plain</th><th>bits/element</th><th>attention error</th><th>rel-L2 K</th><th>rel-L2 V</th>"
                + "<th>error ratio option/plain</th></tr>\n");
        List<Evaluation.Row> options = new ArrayList<>(tokens);
        options.addAll(channels);
        for (Evaluation.Row o : options) {
            Evaluation.Row m = nearest(o, plains);
            raw.accept("<tr><td class=l>" + HtmlPage.esc(o.method().name()) + "</td><td>" + f4(o.bitsPerElement()) + "</td><td>"
                    + f4(o.attentionError()) + "</td><td>" + f4(o.keyError()) + "</td><td>" + f4(o.valueError()) + "</td><td class=l>"
                    + HtmlPage.esc(m.method().name()) + "</td><td>" + f4(m.bitsPerElement()) + "</td><td>" + f4(m.attentionError())
                    + "</td><td>" + f4(m.keyError()) + "</td><td>" + f4(m.valueError()) + "</td><td>"
                    + f2(o.attentionError() / m.attentionError()) + "×</td></tr>\n");
        }
        raw.accept("</table>\n<p>rel-L2 of a pruned method counts a dropped token as lost (read as 0); attention skips it.</p>\n");
    }

    /** The plain row nearest in bits per element, ties to the fewer bits. */
    static Evaluation.Row nearest(Evaluation.Row option, List<Evaluation.Row> plains) {
        Evaluation.Row best = null;
        for (Evaluation.Row p : plains) {
            if (best == null) {
                best = p;
                continue;
            }
            double d = Math.abs(p.bitsPerElement() - option.bitsPerElement());
            double b = Math.abs(best.bitsPerElement() - option.bitsPerElement());
            if (d < b || d == b && p.bitsPerElement() < best.bitsPerElement()) {
                best = p;
            }
        }
        return best;
    }

    private static String rowCells(Evaluation.Row row) {
        return "<tr><td class=l>" + HtmlPage.esc(row.method().name()) + "</td><td>" + f4(row.bitsPerElement()) + "</td><td class=l>"
                + HtmlPage.esc(row.keys().components()) + "</td><td>" + f4(row.keyError()) + "</td><td>" + f4(row.valueError())
                + "</td><td>" + f4(row.attentionError()) + "</td>";
    }

    private static String f4(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String signed(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%+.5f", v);
    }
}
