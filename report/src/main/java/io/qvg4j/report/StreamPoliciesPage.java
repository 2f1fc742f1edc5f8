package io.qvg4j.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/** The report's section on the cache policies of SPEC §16.3 and §16.4: figures and tables of {@link StreamPolicies}. */
final class StreamPoliciesPage {
    private StreamPoliciesPage() {}

    static void append(StreamPolicies.Result r, Consumer<String> raw, BiConsumer<String, String> img) {
        StreamPolicies.Settings s = r.settings();
        int h = r.heads(), d = r.dim();
        raw.accept("<h2>Cache policies on a long stream: PackCache bit schedules (SPEC §16.3)</h2>\n<p>The first pair streamed "
                + s.passes() + " times in a row, " + r.frames() + " frames of " + s.frameTokens() + " tokens, through caches that "
                + "share one cut (" + HtmlPage.esc(r.cut()) + "; the sink is PackCache's anchor, kept bf16). A schedule "
                + "re-quantizes a span's residual from its own dequantized values at fewer bits, with the same ids and centroids, "
                + "once it is that many frames old, and finally drops the residual (ids+centroids). Every " + s.every()
                + " frames: the bytes held (K+V, CacheMemory) and the rel-L2 of attention over the cache (the K rows of the newest "
                + s.queries() + " tokens as queries) against attention over the whole bf16 stream. Spans that share frames and seeds "
                + "share one k-means (the clustering does not depend on the bits, SPEC §14.1).</p>\n<div class=fig>\n");
        List<Charts.Point> mem = new ArrayList<>(), err = new ArrayList<>();
        for (StreamPolicies.Curve c : r.decay()) {
            for (int i = 0; i < c.frames().length; i++) {
                mem.add(new Charts.Point(c.name(), c.frames()[i], c.bytes()[i] / MIB));
                err.add(new Charts.Point(c.name(), c.frames()[i], c.error()[i]));
            }
        }
        // bf16 last, so that every policy has the same colour in both figures.
        for (int i = 0; i < r.bf16().frames().length; i++) {
            mem.add(new Charts.Point("bf16", r.bf16().frames()[i], r.bf16().bytes()[i] / MIB));
        }
        img.accept(Charts.lines("Memory held against frames appended", "frames appended", "MiB held (K+V)", mem, false),
                "stream memory against frames");
        img.accept(Charts.lines("Attention error against frames appended", "frames appended",
                "rel-L2 of the attention output", err, true), "stream attention error against frames");
        raw.accept("</div>\n<table><tr><th class=l>policy</th><th class=l>bits by age</th><th>MiB held at the end</th>"
                + "<th>bits/element at the end</th><th>mean bits/element</th><th>attention error at the end</th>"
                + "<th>mean attention error</th></tr>\n");
        List<StreamPolicies.Curve> sorted = new ArrayList<>(r.decay());
        sorted.sort(Comparator.comparingDouble(c -> c.bitsPerElement(c.last(), h, d)));
        for (StreamPolicies.Curve c : sorted) {
            double meanBits = 0;
            for (int i = 0; i < c.frames().length; i++) {
                meanBits += c.bitsPerElement(i, h, d) / c.frames().length;
            }
            raw.accept("<tr><td class=l>" + HtmlPage.esc(c.name()) + "</td><td class=l>" + HtmlPage.esc(c.description())
                    + "</td><td>" + f3(c.bytes()[c.last()] / MIB) + "</td><td>" + f3(c.bitsPerElement(c.last(), h, d)) + "</td><td>"
                    + f3(meanBits) + "</td><td>" + f4(c.error()[c.last()]) + "</td><td>" + f4(c.meanError()) + "</td></tr>\n");
        }
        StreamPolicies.Curve b = r.bf16();
        raw.accept("<tr><td class=l>bf16</td><td class=l>no quantization</td><td>" + f3(b.bytes()[b.last()] / MIB)
                + "</td><td>16.000</td><td>16.000</td><td>0</td><td>0</td></tr>\n</table>\n<p>Rows in order of bits per element "
                + "held at the end (bytes × 8 over the live K and V elements, bf16 sink and recent frames included), so that "
                + "neighbouring rows compare at matched bits.</p>\n");

        raw.accept("<h2>Cache policies: eviction by salience or by age (SPEC §16.4)</h2>\n<p>One pass of the pair ("
                + r.passFrames() + " frames; repeated passes would let any window of one pass hold a copy of every token), sink "
                + "1 frame, every frame its own span, quantized at once (QVG INT2). After the last frame at most B frames' worth of "
                + "tokens are live. By age: a sliding window of B frames whose first frame is the sink. By salience: the "
                + "tokens of lowest salience leave first, the older first among ties, the sink and the newest frame protected; "
                + "an evicted token's codes, scales and ids are freed, its span's centroid tables kept while any token is left. "
                + "qvg4j has no trained salience head, so two proxies stand in: the attention mass each token receives from "
                + "32 K rows of its own frame (causal: known when the frame is appended), and the mass the evaluation queries "
                + "give it over the whole bf16 pass (an oracle: it knows the queries it is judged by). Attention: the K rows of the newest "
                + s.queries() + " tokens as queries, against attention over the whole bf16 pass.</p>\n<div class=fig>\n");
        List<Charts.Point> ee = new ArrayList<>(), em = new ArrayList<>();
        for (StreamPolicies.Eviction e : r.eviction()) {
            ee.add(new Charts.Point(e.policy(), e.budgetFrames() * s.frameTokens(), e.error()));
            em.add(new Charts.Point(e.policy(), e.budgetFrames() * s.frameTokens(), e.bytes() / MIB));
        }
        img.accept(Charts.lines("Attention error at a token budget", "token budget (live tokens)", "rel-L2 of the attention output",
                ee, true), "eviction attention error against budget");
        img.accept(Charts.lines("Memory held at a token budget", "token budget (live tokens)", "MiB held (K+V)", em, false),
                "eviction memory against budget");
        raw.accept("</div>\n<table><tr><th>budget (frames)</th><th>budget (tokens)</th><th class=l>evict by</th><th>live tokens</th>"
                + "<th>MiB held</th><th>bits/element</th><th>attention error</th></tr>\n");
        for (StreamPolicies.Eviction e : r.eviction()) {
            raw.accept("<tr><td>" + e.budgetFrames() + "</td><td>" + e.budgetFrames() * s.frameTokens() + "</td><td class=l>"
                    + HtmlPage.esc(e.policy()) + "</td><td>" + e.liveTokens() + "</td><td>" + f3(e.bytes() / MIB) + "</td><td>"
                    + f3(8.0 * e.bytes() / (2.0 * e.liveTokens() * h * d)) + "</td><td>" + f4(e.error()) + "</td></tr>\n");
        }
        raw.accept("</table>\n");
    }

    private static final double MIB = 1024.0 * 1024.0;

    private static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String f4(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
