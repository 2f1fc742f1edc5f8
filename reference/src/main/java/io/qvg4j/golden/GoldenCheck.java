package io.qvg4j.golden;

import io.qvg4j.cache.AttentionKernels;

import io.qvg4j.codec.QvgCodec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Compares an implementation with the golden file: every differing part of every case, one line each
 * ({@code case part: value ≠ golden value}), so one run shows the whole extent of a change. Empty means
 * the implementation reproduces qvg4j's pinned bytes. Used by each implementation's tests.
 */
public final class GoldenCheck {
    private final Map<String, Map<String, String>> golden;

    public GoldenCheck(Map<String, Map<String, String>> golden) {
        this.golden = golden;
    }

    /** The differences of one case's parts from the file's. */
    public List<String> differences(String name, Map<String, String> parts) {
        Map<String, String> want = golden.get(name);
        List<String> diff = want == null ? List.of("not in the golden file") : GoldenFile.differences(want, parts);
        return diff.stream().map(d -> name + " " + d).toList();
    }

    /** Every synthetic case encoded, decoded and baselined by {@code codec}. */
    public List<String> synthetic(QvgCodec codec) {
        List<String> out = new ArrayList<>();
        for (GoldenCase c : SyntheticCases.all()) {
            out.addAll(differences(c.name(), Digests.of(codec, c)));
        }
        return out;
    }

    /** Every cache-attention stream, quantized by {@code codec} and attended with {@code attention}. */
    public List<String> attention(QvgCodec codec, AttentionKernels attention) {
        List<String> out = new ArrayList<>();
        for (var e : AttentionCases.all(codec, attention).entrySet()) {
            out.addAll(differences(e.getKey(), e.getValue()));
        }
        return out;
    }

    /** A failure message for a list of differences. */
    public static String report(String who, List<String> differences) {
        return who + ": " + differences.size() + " golden parts differ (regenerate the file only for a deliberate "
                + "change, with a CHANGES.md entry):\n  " + String.join("\n  ", differences);
    }
}
