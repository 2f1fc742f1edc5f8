package io.qvg4j.cli;

import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.algorithm.Dequantization;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.algorithm.KMeans;
import io.qvg4j.algorithm.Smoothing;
import io.qvg4j.cli.Tree.Bits;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Rounding;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code qvg explain}: one token through every step of the encoder and decoder, each intermediate value
 * with its bits and the SPEC section of its rule. The whole tensor is encoded once with the reference
 * codec; the token's packed bytes, scales, ids and dequantized values printed are checked against that
 * encode (the bytes the golden file pins), so a mismatch is an error, not a silent difference.
 */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = {"Follow one token of one head through QVG: its input values; per k-means stage the centroid "
                + "chosen with its score, the runner-up and the tie rule, and the residual; per block the maximum (or minimum "
                + "and maximum), the scale in fp32 and as stored, and every code with its division, rounding and clamp; the "
                + "packed bytes; the dequantized values and their error. Each step names its SPEC section; --json prints "
                + "the same as one JSON object."})
public final class ExplainCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "INPUT", description = "A .npy, .npz or .safetensors file.")
    Path input;

    @Option(names = "--tensor", description = "The tensor's name in the file (needed when it holds several).")
    String tensor;

    @Option(names = "--head", required = true, description = "Head index bh = b·H + h.")
    int head;

    @Option(names = "--token", required = true, description = "Token index s within the head.")
    int token;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Mixin
    ConfigOptions configOptions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        KvTensor x = TensorFiles.load(input, tensor).tensor();
        QuantConfig config = configOptions.config();
        config.requireCompatible(x.name(), x.dim());
        x.requireFinite();
        if (head < 0 || head >= x.headCount() || token < 0 || token >= x.tokens()) {
            throw new InvalidInputException(x.name() + " " + x.shapeString() + ": --head " + head + " --token " + token
                    + " is outside heads 0.." + (x.headCount() - 1) + " and tokens 0.." + (x.tokens() - 1));
        }
        int[][][] init = InitIndices.fromSeed(configOptions.seed, config.stages(), x.headCount(), config.centroids(), x.tokens());
        QuantizedSpan span;
        KvTensor decoded;
        try (QvgCodec codec = Implementations.open("reference", 1, 0)) {
            span = codec.encode(x, config, init);
            decoded = codec.decode(span);
        }
        Map<String, Object> root = explain(x, config, init, span, decoded);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? Tree.json(root) + "\n" : Tree.text(root));
        out.flush();
        return 0;
    }

    private Map<String, Object> explain(KvTensor x, QuantConfig config, int[][][] init, QuantizedSpan span, KvTensor decoded) {
        int dim = x.dim(), tokens = x.tokens(), heads = x.headCount(), kc = config.centroids();
        int row = head * tokens + token;
        Map<String, Object> root = Tree.map();
        root.put("input", input.toString() + (tensor != null ? ":" + tensor : "") + " " + x.shapeString());
        root.put("config", config + ", seed " + configOptions.seed);
        root.put("head", head);
        root.put("token", token);
        Map<String, Object> in = Tree.map();
        in.put("spec", "SPEC §1: bf16 values of row [bh, s], channels d = 0..D-1");
        List<Object> values = new ArrayList<>();
        for (int d = 0; d < dim; d++) {
            values.add(Bits.bf16(Bf16.toFloat(x.bits()[row * dim + d]), x.bits()[row * dim + d]));
        }
        in.put("x", values);
        root.put("input values", in);

        // The stage loop of SPEC §5 over every head (k-means pools its stop test over heads), keeping for the
        // explained head the centroids its last assignment saw.
        float[][] r = new float[heads][];
        for (int bh = 0; bh < heads; bh++) {
            r[bh] = x.headAsFloats(bh);
        }
        List<Object> stages = new ArrayList<>();
        for (int t = 0; t < config.stages(); t++) {
            Stage st = kmeans(r, tokens, dim, kc, config, init[t]);
            Map<String, Object> s = Tree.map();
            s.put("spec", "SPEC §3.1-§3.4, §4: stage " + (t + 1) + " k-means (" + st.iterations + " iterations), then the residual");
            s.put("initial centroid of the chosen cluster is token", init[t][head][st.ids[head][token]]);
            float[] norms = new float[kc];
            KMeans.norms(st.seen, kc, dim, norms);
            float[] scores = new float[kc];
            for (int k = 0; k < kc; k++) {
                scores[k] = norms[k] - 2f * KMeans.dot(r[head], token * dim, st.seen, k * dim, dim);
            }
            // The scan of SPEC §3.2, then the same scan without the winner for the runner-up.
            int bestK = Math.max(0, scan(scores, -1)), secondK = scan(scores, bestK);
            float best = scores[bestK];
            require(bestK == st.ids[head][token], "stage " + (t + 1) + " id " + bestK + " recomputed, k-means gave " + st.ids[head][token]);
            require(bestK == span.clusterId(t, row), "stage " + (t + 1) + " id differs from the full encode");
            s.put("chosen centroid", bestK);
            s.put("score = |c|^2 - 2 x.c (fp32, FMA over d in order; SPEC §3.2)", Bits.fp32(best));
            s.put("norm |c|^2", Bits.fp32(norms[bestK]));
            if (secondK >= 0) {
                float second = scores[secondK];
                s.put("runner-up centroid", secondK);
                s.put("runner-up score", Bits.fp32(second));
                s.put("tie rule", second == best
                        ? "equal scores: the scan keeps the lower index (replaces only on a strictly smaller score, SPEC §3.2)"
                        : "no tie: the chosen score is strictly smaller");
            }
            float[] centroid = Arrays.copyOfRange(st.centroids[head], bestK * dim, (bestK + 1) * dim);
            float[] next = new float[tokens * dim];
            List<Object> cs = new ArrayList<>(), res = new ArrayList<>();
            for (int bh = 0; bh < heads; bh++) {
                float[] out = new float[tokens * dim];
                Smoothing.subtract(r[bh], tokens, dim, st.ids[bh], st.centroids[bh], out);
                if (bh == head) {
                    next = out;
                }
                r[bh] = out;
            }
            for (int d = 0; d < dim; d++) {
                require(Bf16.fromFloat(centroid[d]) == span.centroids()[t][(head * kc + bestK) * dim + d],
                        "stage " + (t + 1) + " centroid differs from the full encode");
                cs.add(Bits.bf16(centroid[d], Bf16.fromFloat(centroid[d])));
                res.add(Bits.bf16(next[token * dim + d], Bf16.fromFloat(next[token * dim + d])));
            }
            s.put("centroid (stored, bf16; SPEC §3.3)", cs);
            s.put("residual R = bf16(previous - centroid) (SPEC §4)", res);
            stages.add(s);
        }
        root.put("stages", stages);

        float[] residual = Arrays.copyOfRange(r[head], token * dim, (token + 1) * dim);
        int g = config.groupSize(), blocks = config.blocksPerRow(dim), sb = config.scaleFormat().bytes();
        int[] codes = new int[dim];
        List<Object> blockList = new ArrayList<>();
        for (int j = 0; j < blocks; j++) {
            blockList.add(block(residual, j, config, codes, span, row * blocks + j));
        }
        root.put("blocks", blockList);

        Map<String, Object> pack = Tree.map();
        pack.put("spec", "SPEC §6.5: the row's " + dim + " codes MSB first, " + config.bits() + " bits each");
        byte[] packed = new byte[config.packedBytesPerRow(dim)];
        BitPacking.pack(codes, 0, dim, config.bits(), packed, 0);
        int off = row * packed.length;
        require(Arrays.equals(packed, Arrays.copyOfRange(span.packed(), off, off + packed.length)), "packed bytes differ from the full encode");
        pack.put("packed bytes (hex)", HexFormat.of().formatHex(packed));
        pack.put("offset in the span's packed codes", off);
        pack.put("scale bytes (hex)", HexFormat.of().formatHex(span.scales(), row * blocks * sb, (row + 1) * blocks * sb));
        if (config.asymmetric()) {
            pack.put("zero-point bytes (hex)", HexFormat.of().formatHex(span.zeros(), row * blocks * sb, (row + 1) * blocks * sb));
        }
        pack.put("equal to the full encode", "yes (packed codes, scales" + (config.asymmetric() ? ", zero points" : "")
                + ", ids and centroids of this row; their SHA-256 over the whole span is what conformance/golden.tsv pins)");
        root.put("packing", pack);

        Map<String, Object> deq = Tree.map();
        deq.put("spec", "SPEC §7: acc = (code - m)·s or code·s + z in fp32, + centroid of stage 1, 2, ... in order, one bf16 rounding");
        List<Object> elems = new ArrayList<>();
        double num = 0, den = 0;
        for (int d = 0; d < dim; d++) {
            int b = row * blocks + d / g;
            float s = span.scale(b), z = config.asymmetric() ? span.zero(b) : 0f;
            float acc = Dequantization.residual(codes[d], s, z, config.symmetricMax(), config.asymmetric());
            Map<String, Object> e = Tree.map();
            e.put("d", d);
            e.put("code", codes[d]);
            e.put("residual", Bits.fp32(acc));
            for (int t = 0; t < config.stages(); t++) {
                acc += span.centroid(t, head, span.clusterId(t, row), d);
            }
            short out = Bf16.fromFloat(acc);
            require(out == decoded.bits()[row * dim + d], "dequantized value of channel " + d + " differs from the full decode");
            float xv = Bf16.toFloat(x.bits()[row * dim + d]);
            float o = Bf16.toFloat(out);
            e.put("+ centroids", Bits.fp32(acc));
            e.put("dequantized", Bits.bf16(o, out));
            e.put("error", (double) o - xv);
            num += ((double) o - xv) * ((double) o - xv);
            den += (double) xv * xv;
            elems.add(e);
        }
        deq.put("channels", elems);
        deq.put("row rel-L2 error", Math.sqrt(num / den));
        root.put("dequantization", deq);
        return root;
    }

    /** One block of the token's final residual, step by step (SPEC §6.2 or §6.3), checked against BlockQuantizer. */
    private static Map<String, Object> block(float[] x, int j, QuantConfig config, int[] codes, QuantizedSpan span, int blockIndex) {
        int g = config.groupSize(), from = j * g, sb = config.scaleFormat().bytes();
        ScaleFormat f = config.scaleFormat();
        Map<String, Object> m = Tree.map();
        m.put("channels", from + ".." + (from + g - 1));
        List<Object> steps = new ArrayList<>();
        byte[] sBytes = new byte[sb], zBytes = new byte[sb];
        if (config.asymmetric()) {
            int qmax = config.asymmetricMax();
            float mn = x[from], mx = x[from];
            for (int i = from + 1; i < from + g; i++) {
                mn = Math.min(mn, x[i]);
                mx = Math.max(mx, x[i]);
            }
            float scale = Math.max(Rounding.kernelDivide(mx - mn, qmax), BlockQuantizer.MIN_SCALE);
            float s = f.store(scale, sBytes, 0), z = f.store(mn, zBytes, 0);
            m.put("spec", "SPEC §6.3 asymmetric, qmax = " + qmax + "; §2.6 min/max; §2.3 division; §2.2 E4M3; §2.4 rounding; §2.5 clamp");
            m.put("min", Bits.fp32(mn));
            m.put("max", Bits.fp32(mx));
            m.put("scale = max((max - min) ⊘ qmax, 1e-10) (fp32)", Bits.fp32(scale));
            m.put("scale as stored", stored(f, s, sBytes));
            m.put("zero point as stored", stored(f, z, zBytes));
            float reciprocal = 1.0f / s;
            for (int i = from; i < from + g; i++) {
                float y = (x[i] - z) * reciprocal;
                float rounded = Rounding.roundHalfAway(y);
                codes[i] = y != y ? 0 : (int) Math.max(0, Math.min(qmax, rounded));
                steps.add(element(i, x[i], y, rounded, codes[i], y != y ? "NaN -> 0" : rounded < 0 || rounded > qmax ? "clamped" : ""));
            }
        } else {
            int mq = config.symmetricMax();
            float amax = 0f;
            for (int i = from; i < from + g; i++) {
                amax = Math.max(amax, Math.abs(x[i]));
            }
            float scale = Math.max(Rounding.kernelDivide(amax, mq), BlockQuantizer.MIN_SCALE);
            float s = f.store(scale, sBytes, 0);
            m.put("spec", "SPEC §6.2 symmetric, m = " + mq + "; §2.6 max; §2.3 division; §2.2 E4M3; §2.4 rounding; §2.5 clamp");
            m.put("max |x|", Bits.fp32(amax));
            m.put("scale = max(amax ⊘ m, 1e-10) (fp32)", Bits.fp32(scale));
            m.put("scale as stored", stored(f, s, sBytes));
            float reciprocal = 1.0f / s;
            for (int i = from; i < from + g; i++) {
                float y = x[i] * reciprocal;
                float rounded = Rounding.roundHalfAway(y);
                int q = y != y ? mq : (int) Math.max(-mq, Math.min(mq, rounded));
                codes[i] = q + mq;
                steps.add(element(i, x[i], y, rounded, codes[i], y != y ? "NaN -> +m" : Math.abs(rounded) > mq ? "clamped" : ""));
            }
        }
        int[] check = new int[x.length];
        byte[] cs = new byte[sb], cz = new byte[sb];
        BlockQuantizer.quantizeBlock(x, from, g, config, check, from, cs, 0, cz, 0);
        for (int i = from; i < from + g; i++) {
            require(check[i] == codes[i], "code of channel " + i + " differs from BlockQuantizer");
        }
        require(Arrays.equals(cs, Arrays.copyOfRange(span.scales(), blockIndex * sb, (blockIndex + 1) * sb)),
                "scale of block " + j + " differs from the full encode");
        m.put("codes: y = x ⊘ s (x · (1/s)), q = clamp(roundHalfAway(y)), code", steps);
        return m;
    }

    private static Object stored(ScaleFormat f, float value, byte[] bytes) {
        return f == ScaleFormat.FP8_E4M3 ? Bits.e4m3(value, bytes[0])
                : Bits.bf16(Bf16.toFloat((short) ((bytes[0] & 0xFF) | bytes[1] << 8)), (short) ((bytes[0] & 0xFF) | bytes[1] << 8));
    }

    private static Map<String, Object> element(int d, float x, float y, float rounded, int code, String note) {
        Map<String, Object> e = Tree.map();
        e.put("d", d);
        e.put("x", Bits.fp32(x));
        e.put("y", Bits.fp32(y));
        e.put("rounded", rounded);
        e.put("code", code);
        if (!note.isEmpty()) {
            e.put("note", note);
        }
        return e;
    }

    /** A stage's k-means with the explained head's centroids as its last assignment saw them. */
    private record Stage(int[][] ids, float[][] centroids, float[] seen, int iterations) {}

    private Stage kmeans(float[][] x, int tokens, int dim, int kc, QuantConfig config, int[][] init) {
        float[] seen = new float[kc * dim];
        KMeans.Result r = KMeans.cluster(x, tokens, dim, kc, config.maxIters(), config.tolerance(), init,
                centroids -> System.arraycopy(centroids[head], 0, seen, 0, seen.length));
        return new Stage(r.ids(), r.centroids(), seen, r.iterations());
    }

    /**
     * SPEC §3.2's scan over every k but {@code skip}: from a best of +∞, replace only on a strictly smaller
     * score (ties keep the lower index, NaN never wins); −1 when no score is below +∞.
     */
    private static int scan(float[] scores, int skip) {
        float best = Float.POSITIVE_INFINITY;
        int bestK = -1;
        for (int k = 0; k < scores.length; k++) {
            if (k != skip && scores[k] < best) {
                best = scores[k];
                bestK = k;
            }
        }
        return bestK;
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("explain disagrees with the full encode: " + what);
        }
    }
}
