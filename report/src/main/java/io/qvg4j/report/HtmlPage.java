package io.qvg4j.report;

import io.qvg4j.baselines.Evaluation;
import io.qvg4j.baselines.Method;
import io.qvg4j.golden.Digests;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The report as one self-contained HTML page: every figure an embedded PNG beside its table, no external
 * resource. A small script marks the body with whether every image decoded and whether a script error
 * happened, which the headless-browser check reads back ({@code scripts/report-check.sh}).
 */
public final class HtmlPage {
    private HtmlPage() {}

    /** What the page says about how it was made. */
    public record Meta(String command, String implementation, QualityReport.Settings settings, String note) {}

    /** The qvg4j version this module was built as. */
    public static String version() {
        try (InputStream in = HtmlPage.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("report: version.properties missing from the build", e);
        }
    }

    public static String render(List<QualityReport.PairResult> results, Meta meta) {
        return render(results, meta, List.of(), null);
    }

    /**
     * As {@link #render(List, Meta)}, with the related-system options of SPEC §16.1–§16.2 after each pair they
     * belong to, and the section on cache policies over a long stream (§16.3–§16.4) when {@code streams} is given.
     */
    public static String render(List<QualityReport.PairResult> results, Meta meta, List<DraftAndCalibration.Result> related,
                                StreamPolicies.Result streams) {
        Page p = new Page();
        p.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>qvg4j quality report</title>\n");
        p.raw("<style>body{font-family:sans-serif;max-width:1500px;margin:1em auto;padding:0 1em;color:#222}"
                + "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
                + "th{background:#eef}td.l,th.l{text-align:left}.fig{display:flex;flex-wrap:wrap;gap:8px}img{border:1px solid #ddd}"
                + "code{background:#f4f4f4}</style>\n");
        p.raw("<script>window.qvgErrors=[];window.addEventListener('error',function(e){window.qvgErrors.push(String(e.message))});</script>\n");
        p.raw("</head><body>\n");
        p.raw("<h1>qvg4j quality report</h1>\n");
        p.raw("<p>qvg4j " + esc(version()) + ". Command: <code>" + esc(meta.command()) + "</code>. Quantizer implementation: "
                + esc(meta.implementation()) + ". Every number below is a pure function of the inputs and the seed "
                + meta.settings().seed() + " (SPEC §10); the method definitions are SPEC §14, the attention measurement §14.4, "
                + "the correction §12.1.</p>\n");
        if (!meta.note().isEmpty()) {
            p.raw("<p><b>" + esc(meta.note()) + "</b></p>\n");
        }
        p.raw("<h2>Inputs</h2>\n<table><tr><th class=l>pair</th><th class=l>tensor</th><th class=l>source</th><th>shape</th><th class=l>SHA-256 of the bf16 values</th></tr>\n");
        for (QualityReport.PairResult r : results) {
            input(p, r.pair().label(), "K", r.pair().keySource(), r.pair().keys());
            input(p, r.pair().label(), "V", r.pair().valueSource(), r.pair().values());
        }
        p.raw("</table>\n");
        QualityReport.Settings s = meta.settings();
        p.raw("<p>Attention (SPEC §14.4): the newest " + s.window() + " tokens of each head are the current chunk, read unquantized; "
                + "the queries are the K rows of the newest " + s.queries() + " tokens; error = rel-L2 of the attention output "
                + "against attention over the bf16 tensors; mass shift = mean attention mass on the quantized tokens minus the "
                + "exact one (positive: quantized keys take attention from the current chunk). \"+ correction\": the Jensen-bias "
                + "correction of SPEC §12.1 (NVFP4 has none: its grid is not uniform).</p>\n");
        for (int i = 0; i < results.size(); i++) {
            pair(p, results.get(i), s);
            if (i < related.size()) {
                draftAndCalibration(p, results.get(i).pair().label(), related.get(i));
            }
        }
        if (streams != null) {
            StreamPoliciesPage.append(streams, p::raw, p::img);
        }
        p.raw("<script>window.addEventListener('load',function(){var imgs=Array.prototype.slice.call(document.images);"
                + "var bad=imgs.filter(function(i){return !(i.complete&&i.naturalWidth>0)}).map(function(i){return i.alt});"
                + "document.body.setAttribute('data-figures',bad.length?'broken: '+bad.join(', '):'ok '+imgs.length);"
                + "document.body.setAttribute('data-script-errors',String(window.qvgErrors.length));});</script>\n");
        p.raw("</body></html>\n");
        return p.html().replace("<body>", "<body data-expected-figures=\"" + p.figures + "\">");
    }

    private static void input(Page p, String label, String t, String source, KvTensor x) {
        p.raw("<tr><td class=l>" + esc(label) + "</td><td class=l>" + t + "</td><td class=l>" + esc(source) + "</td><td>"
                + x.shapeString() + "</td><td class=l><code>" + Digests.sha256(x.bits()) + "</code></td></tr>\n");
    }

    private static void pair(Page p, QualityReport.PairResult r, QualityReport.Settings s) {
        String label = r.pair().label();
        p.raw("<h2>" + esc(label) + ": memory against error</h2>\n<div class=fig>\n");
        List<Charts.Point> kPts = new ArrayList<>(), vPts = new ArrayList<>(), aPts = new ArrayList<>();
        for (Evaluation.Row row : r.rows()) {
            String f = row.method().family();
            kPts.add(new Charts.Point(f, row.keys().bitsPerElement(), row.keyError()));
            vPts.add(new Charts.Point(f, row.values().bitsPerElement(), row.valueError()));
            aPts.add(new Charts.Point(f, row.bitsPerElement(), row.attentionError()));
        }
        List<Charts.Point> cPts = new ArrayList<>();
        for (Evaluation.Row row : r.rows()) {
            cPts.add(new Charts.Point(row.method().family(), row.bitsPerElement(), row.correctedAttentionError()));
        }
        p.img(Charts.lines("K: rel-L2 against bits per element", "bits per element (K)", "rel-L2 of K", kPts, true), label + " K frontier");
        p.img(Charts.lines("V: rel-L2 against bits per element", "bits per element (V)", "rel-L2 of V", vPts, true), label + " V frontier");
        p.img(Charts.lines("Attention output error against bits per element", "bits per element (K+V)",
                "rel-L2 of the attention output", aPts, true), label + " attention frontier");
        p.img(Charts.lines("Attention output error with the Jensen correction", "bits per element (K+V)",
                "rel-L2 of the attention output", cPts, true), label + " attention frontier, corrected");
        p.raw("</div>\n<table><tr><th class=l>method</th><th>bits</th><th>bits/element K+V</th><th class=l>K bits by component</th>"
                + "<th>rel-L2 K</th><th>rel-L2 V</th><th>attention error</th><th>+ correction</th><th>mass shift</th><th>+ correction</th></tr>\n");
        for (Evaluation.Row row : r.rows()) {
            p.raw("<tr><td class=l>" + esc(row.method().name()) + "</td><td>" + row.method().bits() + "</td><td>"
                    + f4(row.bitsPerElement()) + "</td><td class=l>" + esc(row.keys().components()) + "</td><td>"
                    + f4(row.keyError()) + "</td><td>" + f4(row.valueError()) + "</td><td>" + f4(row.attentionError())
                    + "</td><td>" + f4(row.correctedAttentionError()) + "</td><td>" + signed(row.massShift()) + "</td><td>"
                    + signed(row.correctedMassShift()) + "</td></tr>\n");
        }
        p.raw("</table>\n<p>Exact attention puts " + f4(r.rows().get(0).exactQuantizedMass())
                + " of its mass (mean over heads and queries) on the tokens the methods quantize.</p>\n");
        p.raw("<details><summary>Configuration of every method</summary><table><tr><th class=l>method</th><th class=l>configuration</th></tr>\n");
        for (Method m : r.methods()) {
            p.raw("<tr><td class=l>" + esc(m.name()) + "</td><td class=l>" + esc(m.config()) + "</td></tr>\n");
        }
        p.raw("</table></details>\n");
        Pruning.render(r, s, p::raw, p::img);

        p.raw("<h2>" + esc(label) + ": error after each PRQ stage</h2>\n<p>QVG-Pro's clustering (" + esc(r.stageConfig().toString())
                + ", seed " + s.seed() + "), the INT2 G = 16 quantizer after t stages (t = 0: the quantizer on the input; SPEC §5).</p>\n<div class=fig>\n");
        List<Charts.Point> st = new ArrayList<>();
        for (int t = 0; t < r.stagesK().length; t++) {
            st.add(new Charts.Point("K", t, r.stagesK()[t]));
            st.add(new Charts.Point("V", t, r.stagesV()[t]));
        }
        p.img(Charts.lines("rel-L2 after t stages", "stages T", "rel-L2", st, false), label + " PRQ stages");
        p.raw("</div>\n<table><tr><th>T</th><th>rel-L2 K</th><th>rel-L2 V</th></tr>\n");
        for (int t = 0; t < r.stagesK().length; t++) {
            p.raw("<tr><td>" + t + "</td><td>" + f4(r.stagesK()[t]) + "</td><td>" + f4(r.stagesV()[t]) + "</td></tr>\n");
        }
        p.raw("</table>\n");

        p.raw("<h2>" + esc(label) + ": what smoothing does per head</h2>\n<p>QVG (" + esc(r.smoothingConfig().toString())
                + "): ‖R₁‖/‖X‖ after subtracting each token's centroid (SPEC §4), and the rel-L2 of the same quantizer on the input "
                + "(direct) and on the residual (smoothed).</p>\n<div class=fig>\n");
        int n = r.smoothing().size();
        String[] heads = new String[n];
        double[][] vals = new double[4][n];
        for (int h = 0; h < n; h++) {
            QualityReport.HeadSmoothing hs = r.smoothing().get(h);
            heads[h] = "head " + h;
            vals[0][h] = hs.keyDirect();
            vals[1][h] = hs.keySmoothed();
            vals[2][h] = hs.valueDirect();
            vals[3][h] = hs.valueSmoothed();
        }
        p.img(Charts.bars("Quantizer rel-L2 per head, direct and smoothed", "head", "rel-L2",
                new String[]{"K direct", "K smoothed", "V direct", "V smoothed"}, heads, vals), label + " smoothing per head");
        p.raw("</div>\n<table><tr><th>head</th><th>K ‖R₁‖/‖X‖</th><th>K direct</th><th>K smoothed</th><th>reduction</th>"
                + "<th>V ‖R₁‖/‖X‖</th><th>V direct</th><th>V smoothed</th><th>reduction</th></tr>\n");
        for (QualityReport.HeadSmoothing hs : r.smoothing()) {
            p.raw("<tr><td>" + hs.head() + "</td><td>" + f4(hs.keyResidual()) + "</td><td>" + f4(hs.keyDirect()) + "</td><td>"
                    + f4(hs.keySmoothed()) + "</td><td>" + f2(hs.keyDirect() / hs.keySmoothed()) + "×</td><td>"
                    + f4(hs.valueResidual()) + "</td><td>" + f4(hs.valueDirect()) + "</td><td>" + f4(hs.valueSmoothed())
                    + "</td><td>" + f2(hs.valueDirect() / hs.valueSmoothed()) + "×</td></tr>\n");
        }
        p.raw("</table>\n");

        p.raw("<h2>" + esc(label) + ": magnitude maps before and after smoothing</h2>\n");
        for (String tensor : new String[]{"K", "V"}) {
            p.raw("<h3>" + tensor + "</h3>\n<div class=fig>\n");
            for (QualityReport.MagnitudeMap m : r.maps()) {
                if (!m.tensor().equals(tensor)) {
                    continue;
                }
                double max = 0;
                for (float f : m.before()) {
                    max = Math.max(max, f);
                }
                String rows = "token bin (" + m.binTokens() + " tokens)";
                p.img(Charts.heatMap(tensor + " head " + m.head() + ": X", m.bins(), m.dim(), m.before(), max, rows),
                        label + " " + tensor + " head " + m.head() + " before");
                p.img(Charts.heatMap(tensor + " head " + m.head() + ": R1 = X - C[id]", m.bins(), m.dim(), m.after(), max, rows),
                        label + " " + tensor + " head " + m.head() + " after");
            }
            p.raw("</div>\n");
        }
        p.raw("<p>Mean |x| over bins of " + r.maps().get(0).binTokens()
                + " consecutive tokens, per channel; both maps of a head share one colour scale (the input's maximum).</p>\n");

        p.raw("<h2>" + esc(label) + ": k-means convergence</h2>\n<p>Stage 1 of QVG's k-means (Kc = 256, seed " + s.seed()
                + ", tolerance 0 so that it never stops early): the fraction of tokens, over all heads, whose id changed at each "
                + "iteration (SPEC §3.4 stops when it falls below 1e-4). Iterations where none changed are left off the log axis.</p>\n<div class=fig>\n");
        List<Charts.Point> cv = new ArrayList<>();
        for (int i = 0; i < r.changedK().length; i++) {
            cv.add(new Charts.Point("K", i + 2, r.changedK()[i]));
            cv.add(new Charts.Point("V", i + 2, r.changedV()[i]));
        }
        p.img(Charts.lines("Changed-id rate per iteration", "iteration", "fraction of ids changed", cv, true), label + " convergence");
        p.raw("</div>\n<table><tr><th>iteration</th><th>K changed</th><th>V changed</th></tr>\n");
        for (int i = 0; i < r.changedK().length; i++) {
            p.raw("<tr><td>" + (i + 2) + "</td><td>" + f6(r.changedK()[i]) + "</td><td>" + f6(r.changedV()[i]) + "</td></tr>\n");
        }
        p.raw("</table>\n");
    }

    /** SPEC §16.1 (QuantSpec draft views) and §16.2 (XQuant calibration and cross-layer sharing) for one pair. */
    private static void draftAndCalibration(Page p, String label, DraftAndCalibration.Result r) {
        p.raw("<h2>" + esc(label) + ": QuantSpec draft views (SPEC §16.1)</h2>\n<p>QVG-Pro (" + esc(r.draftConfig().toString())
                + ") read from its first s stages: s &lt; T sums the centroids of s stages and reads no code, scale or zero point; "
                + "s = T is the full decode. Bits per element are those a draft reads (ids and centroid tables of s stages), "
                + "beside plain QVG (T = 1, Kc = 256) at INT2/3/4 and G = 128, 64, 32, 16 on the same clustering. Attention as "
                + "above (SPEC §14.4), without the correction.</p>\n<div class=fig>\n");
        List<Charts.Point> err = new ArrayList<>(), att = new ArrayList<>();
        for (Evaluation.Row row : r.drafts()) {
            err.add(new Charts.Point("draft K", row.keys().bitsPerElement(), row.keyError()));
            err.add(new Charts.Point("draft V", row.values().bitsPerElement(), row.valueError()));
            att.add(new Charts.Point("QVG-Pro draft, s = 1 … T", row.bitsPerElement(), row.attentionError()));
        }
        for (Evaluation.Row row : r.plain()) {
            err.add(new Charts.Point("plain QVG K", row.keys().bitsPerElement(), row.keyError()));
            err.add(new Charts.Point("plain QVG V", row.values().bitsPerElement(), row.valueError()));
            att.add(new Charts.Point("plain QVG (T = 1)", row.bitsPerElement(), row.attentionError()));
        }
        p.img(Charts.lines("Draft views: rel-L2 against bits read", "bits per element read", "rel-L2", err, true), label + " draft error");
        p.img(Charts.lines("Draft views: attention error against bits read", "bits per element read (K+V)",
                "rel-L2 of the attention output", att, true), label + " draft attention error");
        p.raw("</div>\n<table><tr><th class=l>draft</th><th>bits/element read K+V</th><th class=l>K bits by component</th><th>rel-L2 K</th>"
                + "<th>rel-L2 V</th><th>attention error</th><th class=l>plain QVG nearest in bits</th><th>bits/element K+V</th>"
                + "<th>rel-L2 K</th><th>rel-L2 V</th><th>attention error</th></tr>\n");
        for (DraftAndCalibration.Match m : r.matches()) {
            Evaluation.Row d = m.draft(), q = m.plain();
            p.raw("<tr><td class=l>" + esc(d.method().name()) + "</td><td>" + f4(d.bitsPerElement()) + "</td><td class=l>"
                    + esc(d.keys().components()) + "</td><td>" + f4(d.keyError()) + "</td><td>" + f4(d.valueError()) + "</td><td>"
                    + f4(d.attentionError()) + "</td><td class=l>" + esc(q.method().name()) + "</td><td>" + f4(q.bitsPerElement())
                    + "</td><td>" + f4(q.keyError()) + "</td><td>" + f4(q.valueError()) + "</td><td>" + f4(q.attentionError()) + "</td></tr>\n");
        }
        p.raw("</table>\n<details><summary>Every plain QVG configuration</summary><table><tr><th class=l>method</th>"
                + "<th>bits/element K+V</th><th>rel-L2 K</th><th>rel-L2 V</th><th>attention error</th></tr>\n");
        for (Evaluation.Row q : r.plain()) {
            p.raw("<tr><td class=l>" + esc(q.method().name()) + "</td><td>" + f4(q.bitsPerElement()) + "</td><td>" + f4(q.keyError())
                    + "</td><td>" + f4(q.valueError()) + "</td><td>" + f4(q.attentionError()) + "</td></tr>\n");
        }
        p.raw("</table></details>\n");

        p.raw("<h2>" + esc(label) + ": XQuant endpoint calibration (SPEC §16.2)</h2>\n<p>QVG asymmetric (" + esc(r.etaConfig().toString())
                + ") with the stored scale and zero point calibrated to ŝ = (1 − 2η)·s, ẑ = z + η·s·qmax; the codes do not change, "
                + "so bits per element do not either. η = 0 is §6.3. With FP8 scales ŝ and ẑ are rounded to E4M3 once more, and the "
                + "zero point's rounding error is a shift of the whole block that the codes no longer absorb; the bf16-scale series "
                + "(SPEC §6.4) shows the calibration with less of that second rounding.</p>\n<div class=fig>\n");
        List<Charts.Point> rel = new ArrayList<>(), etaAtt = new ArrayList<>();
        List<QuantConfig> etaConfigs = DraftAndCalibration.etaConfigs();
        for (int i = 0; i < etaConfigs.size(); i++) {
            String b = DraftAndCalibration.etaLabel(etaConfigs.get(i));
            for (int j = 0; j < DraftAndCalibration.ETAS.length; j++) {
                Evaluation.Row row = r.eta().get(i).get(j);
                double e = DraftAndCalibration.ETAS[j];
                rel.add(new Charts.Point(b + " K", e, row.keyError()));
                rel.add(new Charts.Point(b + " V", e, row.valueError()));
                etaAtt.add(new Charts.Point(b, e, row.attentionError()));
            }
        }
        p.img(Charts.lines("Calibration: rel-L2 against η", "η", "rel-L2", rel, true), label + " eta rel-L2");
        p.img(Charts.lines("Calibration: attention error against η", "η", "rel-L2 of the attention output", etaAtt, true),
                label + " eta attention error");
        p.raw("</div>\n<table><tr><th>η</th>");
        for (QuantConfig c : etaConfigs) {
            String b = DraftAndCalibration.etaLabel(c);
            p.raw("<th>" + b + " rel-L2 K</th><th>" + b + " rel-L2 V</th><th>" + b + " attention error</th>");
        }
        p.raw("</tr>\n");
        for (int j = 0; j < DraftAndCalibration.ETAS.length; j++) {
            p.raw("<tr><td>" + DraftAndCalibration.ETAS[j] + "</td>");
            for (int i = 0; i < etaConfigs.size(); i++) {
                Evaluation.Row row = r.eta().get(i).get(j);
                p.raw("<td>" + f4(row.keyError()) + "</td><td>" + f4(row.valueError()) + "</td><td>" + f4(row.attentionError()) + "</td>");
            }
            p.raw("</tr>\n");
        }
        p.raw("</table>\n");

        CrossLayerSharing.Result c = r.crossLayer();
        p.raw("<h2>" + esc(label) + ": XQuant cross-layer sharing (SPEC §16.2), on a synthetic multi-layer input</h2>\n<p><b>Synthetic "
                + "input:</b> " + c.layers() + " layers; layer 0 is this pair's K (and V), layer l + 1 = bf16(ρ·layer l + √(1 − ρ²)·σ·ε) "
                + "with ρ = " + c.rho() + ", σ the standard deviation of layer 0's channel per head, ε standard normal (SplitMix64, "
                + "Box–Muller; seeded). Every layer is quantized with " + esc(c.config().toString()) + " and its own clustering; in "
                + "the pairs (0, 1), (2, 3), … the higher layer keeps its own ids, centroids, scales and zero points and is decoded "
                + "with the lower layer's codes.</p>\n<table><tr><th class=l>higher layer</th><th>bits/element K+V</th>"
                + "<th>rel-L2 K</th><th>rel-L2 V</th><th>attention error</th><th>shared: bits/element K+V</th><th>rel-L2 K</th>"
                + "<th>rel-L2 V</th><th>attention error</th></tr>\n");
        for (CrossLayerSharing.Layer l : c.higher()) {
            p.raw("<tr><td class=l>layer " + l.layer() + "</td><td>" + f4(l.own().bitsPerElement()) + "</td><td>" + f4(l.own().keyError())
                    + "</td><td>" + f4(l.own().valueError()) + "</td><td>" + f4(l.own().attentionError()) + "</td><td>"
                    + f4(l.shared().bitsPerElement()) + "</td><td>" + f4(l.shared().keyError()) + "</td><td>" + f4(l.shared().valueError())
                    + "</td><td>" + f4(l.shared().attentionError()) + "</td></tr>\n");
        }
        p.raw("</table>\n<p>All " + c.layers() + " layers, K and V: " + c.separate().totalBytes() + " bytes ("
                + f4(c.separate().bitsPerElement()) + " bits/element) with every layer's codes; " + c.sharing().totalBytes()
                + " bytes (" + f4(c.sharing().bitsPerElement()) + " bits/element) sharing, saving "
                + (c.separate().totalBytes() - c.sharing().totalBytes()) + " bytes of codes ("
                + f2(100.0 * (c.separate().totalBytes() - c.sharing().totalBytes()) / c.separate().totalBytes()) + " %).</p>\n");
    }

    private static final class Page {
        private final StringBuilder html = new StringBuilder();
        int figures;

        void raw(String s) {
            html.append(s);
        }

        void img(String base64Png, String alt) {
            figures++;
            html.append("<img src=\"data:image/png;base64,").append(base64Png).append("\" alt=\"").append(esc(alt)).append("\">\n");
        }

        String html() {
            return html.toString();
        }
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String f4(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f6(double v) {
        return String.format(Locale.ROOT, "%.6f", v);
    }

    private static String signed(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%+.5f", v);
    }
}
