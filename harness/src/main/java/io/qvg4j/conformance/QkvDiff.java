package io.qvg4j.conformance;

import io.qvg4j.io.Qkv;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Two {@code .qkv} containers compared section by section (FORMAT.md): config and shape field by field;
 * initial indices, per-stage ids and centroids, iteration counts, codes, scales and zero points element by
 * element, each with the count of differences and the first one in the tensor's own coordinates.
 */
public final class QkvDiff {
    private QkvDiff() {}

    /** One section's comparison; {@code equal} is false also when only one file has the section. */
    public record Section(String name, boolean equal, String detail) {}

    public static List<Section> compare(Qkv.Contents a, Qkv.Contents b) {
        List<Section> out = new ArrayList<>();
        QuantizedSpan x = a.span(), y = b.span();
        QuantConfig ca = x.config(), cb = y.config();
        List<String> conf = new ArrayList<>();
        field(conf, "bits", ca.bits(), cb.bits());
        field(conf, "mode", ca.asymmetric() ? "asymmetric" : "symmetric", cb.asymmetric() ? "asymmetric" : "symmetric");
        field(conf, "scale format", ca.scaleFormat(), cb.scaleFormat());
        field(conf, "G", ca.groupSize(), cb.groupSize());
        field(conf, "T", ca.stages(), cb.stages());
        field(conf, "Kc", ca.centroids(), cb.centroids());
        field(conf, "iteration cap", ca.maxIters(), cb.maxIters());
        field(conf, "tolerance", ca.tolerance(), cb.tolerance());
        field(conf, "seed", a.seed(), b.seed());
        out.add(new Section("config", conf.isEmpty(), conf.isEmpty() ? ca.toString() : String.join("; ", conf)));
        boolean sameShape = x.batch() == y.batch() && x.heads() == y.heads() && x.tokens() == y.tokens() && x.dim() == y.dim();
        String sa = KvTensor.shapeString(x.batch(), x.heads(), x.tokens(), x.dim());
        out.add(new Section("shape", sameShape, sameShape ? sa
                : "A " + sa + ", B " + KvTensor.shapeString(y.batch(), y.heads(), y.tokens(), y.dim())));
        if (!sameShape) {
            out.add(new Section("data", false, "not compared: the shapes differ"));
            return out;
        }
        int heads = x.headCount(), S = x.tokens(), D = x.dim();
        // iterations, one per stage
        int stages = Math.min(ca.stages(), cb.stages());
        List<String> it = new ArrayList<>();
        for (int t = 0; t < Math.max(ca.stages(), cb.stages()); t++) {
            String ia = t < ca.stages() ? "" + x.iterations()[t] : "-";
            String ib = t < cb.stages() ? "" + y.iterations()[t] : "-";
            if (!ia.equals(ib)) {
                it.add("stage " + t + ": A " + ia + ", B " + ib);
            }
        }
        out.add(new Section("iterations", it.isEmpty(), it.isEmpty() ? java.util.Arrays.toString(x.iterations())
                : String.join("; ", it)));
        if (a.initIndices() == null || b.initIndices() == null) {
            boolean none = a.initIndices() == null && b.initIndices() == null;
            out.add(new Section("init", none, none ? "absent in both" : "only in " + (a.initIndices() == null ? "B" : "A")));
        } else if (ca.centroids() != cb.centroids()) {
            out.add(new Section("init", false, "not compared: Kc differs"));
        } else {
            Diff d = new Diff();
            for (int t = 0; t < stages; t++) {
                for (int bh = 0; bh < heads; bh++) {
                    for (int k = 0; k < ca.centroids(); k++) {
                        d.add(a.initIndices()[t][bh][k], b.initIndices()[t][bh][k], t, bh / x.heads(), bh % x.heads(), k);
                    }
                }
            }
            out.add(d.section("init", "[t,b,h,k]", "indices"));
        }
        for (int t = 0; t < stages; t++) {
            Diff d = new Diff();
            for (int r = 0; r < heads * S; r++) {
                long[] c = Verifier.rowCoordinates(x.heads(), S, r);
                d.add(x.clusterIds()[t][r] & 0xFF, y.clusterIds()[t][r] & 0xFF, c[0], c[1], c[2]);
            }
            out.add(d.section("ids" + t, "token [b,h,s]", "ids"));
        }
        for (int t = 0; t < stages; t++) {
            if (ca.centroids() != cb.centroids()) {
                out.add(new Section("cent" + t, false, "not compared: Kc differs"));
                continue;
            }
            Diff d = new Diff();
            int kc = ca.centroids();
            for (int i = 0; i < x.centroids()[t].length; i++) {
                int bh = i / (kc * D);
                d.addHex(x.centroids()[t][i], y.centroids()[t][i], t, bh / x.heads(), bh % x.heads(), i / D % kc, i % D);
            }
            out.add(d.section("cent" + t, "[stage,b,h,k,d]", "bf16 values"));
        }
        if (ca.stages() != cb.stages()) {
            out.add(new Section("stages", false, "A has " + ca.stages() + ", B " + cb.stages() + "; the extra stages are not compared"));
        }
        if (ca.bits() != cb.bits()) {
            out.add(new Section("codes", false, "not compared: bits differ"));
        } else {
            int[] pa = Candidate.unpack(x.packed(), ca, heads * S, D);
            int[] pb = Candidate.unpack(y.packed(), cb, heads * S, D);
            Diff d = new Diff();
            for (int i = 0; i < pa.length; i++) {
                long[] c = Verifier.elementCoordinates(x.heads(), S, D, i);
                d.add(pa[i], pb[i], c);
            }
            out.add(d.section("codes", "[b,h,s,d]", "codes"));
        }
        blocks(out, "scales", x, y, x.scales(), y.scales());
        if (ca.asymmetric() || cb.asymmetric()) {
            if (x.zeros() == null || y.zeros() == null) {
                out.add(new Section("zeros", false, "only in " + (x.zeros() == null ? "B" : "A") + " (asymmetric)"));
            } else {
                blocks(out, "zeros", x, y, x.zeros(), y.zeros());
            }
        }
        return out;
    }

    private static void blocks(List<Section> out, String name, QuantizedSpan x, QuantizedSpan y, byte[] a, byte[] b) {
        QuantConfig ca = x.config(), cb = y.config();
        if (ca.groupSize() != cb.groupSize() || ca.scaleFormat() != cb.scaleFormat()) {
            out.add(new Section(name, false, "not compared: G or the scale format differs"));
            return;
        }
        int size = ca.scaleFormat().bytes();
        int perRow = ca.blocksPerRow(x.dim());
        Diff d = new Diff();
        for (int i = 0; i < a.length / size; i++) {
            int va = size == 1 ? a[i] & 0xFF : (a[2 * i] & 0xFF) | (a[2 * i + 1] & 0xFF) << 8;
            int vb = size == 1 ? b[i] & 0xFF : (b[2 * i] & 0xFF) | (b[2 * i + 1] & 0xFF) << 8;
            long[] r = Verifier.rowCoordinates(x.heads(), x.tokens(), i / perRow);
            if (size == 1) {
                d.addHex8(va, vb, r[0], r[1], r[2], i % perRow);
            } else {
                d.addHex((short) va, (short) vb, r[0], r[1], r[2], i % perRow);
            }
        }
        out.add(d.section(name, "[b,h,s,block]", size == 1 ? "FP8 values" : "bf16 values"));
    }

    private static void field(List<String> out, String name, Object a, Object b) {
        if (!java.util.Objects.equals(a, b)) {
            out.add(name + ": A " + a + ", B " + b);
        }
    }

    /** Count of differences and the first one. */
    private static final class Diff {
        long total, count;
        long[] first;
        String va, vb;

        void add(long a, long b, long... at) {
            note(a != b, "" + a, "" + b, at);
        }

        void addHex(short a, short b, long... at) {
            note(a != b, Verifier.hex16(a), Verifier.hex16(b), at);
        }

        void addHex8(int a, int b, long... at) {
            note(a != b, String.format("0x%02x", a), String.format("0x%02x", b), at);
        }

        private void note(boolean differs, String a, String b, long[] at) {
            total++;
            if (differs && count++ == 0) {
                first = at.clone();
                va = a;
                vb = b;
            }
        }

        Section section(String name, String coordinates, String what) {
            return count == 0 ? new Section(name, true, total + " " + what)
                    : new Section(name, false, String.format(Locale.ROOT, "%d of %d %s differ, first at %s %s: A %s, B %s", count, total,
                    what, coordinates, Verifier.coordinates(first), va, vb));
        }
    }
}
