package io.qvg4j.conformance;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.golden.SyntheticData;
import io.qvg4j.golden.SyntheticData.Block;
import io.qvg4j.io.AtomicFile;
import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The known-answer suite (VECTORS.md): small inputs, each aimed at one numbered SPEC rule, with qvg4j's
 * outputs at every level. A {@link Kind#PIPELINE} vector runs the whole encoder from initial indices drawn
 * from its seed (SPEC §3.1); a {@link Kind#DOWNSTREAM} vector gives the clustering of every stage and asks
 * for what follows it (SPEC §4–§7), the part every implementation must match whatever its k-means. Every
 * input is a pure function of the vector's id (SplitMix64 and {@link StrictMath} only), so the suite
 * regenerates byte for byte.
 */
public final class VectorSuite {
    private VectorSuite() {}

    public enum Kind { PIPELINE, DOWNSTREAM }

    /**
     * One vector.
     *
     * @param section the SPEC section of the rule it exercises, written {@code §N.M}
     * @param ids     {@link Kind#DOWNSTREAM}: every stage's given ids {@code [B·H·S]}; null for a pipeline vector
     * @param cent    {@link Kind#DOWNSTREAM}: every stage's given bf16 tables {@code [B·H·Kc·D]}
     */
    public record Vector(String id, String section, List<String> flags, Kind kind, QuantConfig config, long seed, KvTensor x,
                         byte[][] ids, short[][] cent) {
        public int[][][] init() {
            return InitIndices.fromSeed(seed, config.stages(), x.headCount(), config.centroids(), x.tokens());
        }
    }

    /** What an implementation produced for a vector: the initial indices it used (pipeline only), the span, the decoded tensor. */
    public record Outputs(int[][][] init, QuantizedSpan span, short[] deq) {}

    /** An implementation under test: outputs for a vector's input and config. */
    public interface Implementation {
        Outputs run(Vector v);
    }

    /** A codec as an implementation: the seed's initial indices (SPEC §3.1), {@code encode} or {@code encodeWithClustering}, {@code decode}. */
    public static Implementation of(QvgCodec codec) {
        return v -> {
            int[][][] init = v.kind() == Kind.PIPELINE ? v.init() : null;
            QuantizedSpan s = v.kind() == Kind.PIPELINE ? codec.encode(v.x(), v.config(), init)
                    : codec.encodeWithClustering(v.x(), v.config(), v.ids(), v.cent());
            return new Outputs(init, s, codec.decode(s).bits());
        };
    }

    // ---- the vectors ----

    private static final int B = 1, H = 2, S = 16, D = 32;

    /** Every vector, in a fixed order. */
    public static List<Vector> all() {
        List<Vector> v = new ArrayList<>();
        quantizerVectors(v);
        smoothingAndDequantizationVectors(v);
        cancellingStages(v);
        kmeansVectors(v);
        return v;
    }

    private static QuantConfig cfg(int bits, int g, int t, int kc, boolean asym, ScaleFormat f, int iters, float tol) {
        return new QuantConfig(bits, g, t, kc, asym, f, iters, tol);
    }

    private static long seedOf(String id) {
        return id.hashCode() * 0x9E3779B97F4A7C15L;
    }

    /**
     * The block quantizer on the input itself (one stage, every id 0, centroid +0): every bits, mode and scale
     * format, with blocks aimed at the numeric edges of SPEC §2 and §6.
     */
    private static void quantizerVectors(List<Vector> out) {
        Object[][] kinds = {
                {Block.GAUSS, "§6.2", "§6.3", "gauss"}, {Block.TIE, "§2.4", "§2.4", "tie"},
                {Block.SIGNED_ZERO, "§2.6", "§2.6", "signed-zero"}, {Block.SUBNORMAL, "§2.2", "§2.2", "subnormal"},
                {Block.NEAR_448M, "§2.2", "§2.2", "saturating-scale"}, {Block.NEAR_TINY, "§2.2", "§2.2", "tiny-scale"},
                {Block.CONSTANT, "§6.2", "§6.3", "constant-block"}, {Block.TINY_NEGATIVE, "§2.2", "§6.3", "negative-zero-point"},
                {Block.GAUSS, "§2.3", "§2.3", "kernel-division"}};
        int n = 0;
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (boolean asym : new boolean[] {false, true}) {
                for (ScaleFormat f : ScaleFormat.values()) {
                    for (Object[] k : kinds) {
                        if (!asym && k[0] == Block.TINY_NEGATIVE) {
                            continue;
                        }
                        int g = new int[] {8, 16, 32}[n++ % 3];
                        String section = f == ScaleFormat.BF16 && k[0] == Block.GAUSS && !k[1].equals("§2.3") ? "§6.4"
                                : bits == 3 && k[0] == Block.GAUSS && !k[1].equals("§2.3") ? "§6.5" : (String) k[asym ? 2 : 1];
                        String id = String.format(Locale.ROOT, "quant-int%d-%s-%s-g%d-%s", bits, asym ? "asym" : "sym",
                                f == ScaleFormat.BF16 ? "bf16" : "fp8", g, k[3]);
                        QuantConfig c = cfg(bits, g, 1, 1, asym, f, 1, 1e-4f);
                        int m = asym ? c.asymmetricMax() : c.symmetricMax();
                        short[] bits16 = new SyntheticData(seedOf(id)).tokens(B * H, S, D, g, m, 2, 0.5, 0.9, 0, (Block) k[0]);
                        out.add(downstream(id, section, flags(c, (String) k[3]), c, new KvTensor(id, B, H, S, D, bits16),
                                new byte[1][B * H * S], new short[1][B * H * D]));
                    }
                }
            }
        }
        // Saturated residuals: a finite input minus a given centroid overflows bf16 to ±inf (SPEC §2.1, §2.5, §4).
        for (int variant = 0; variant < 4; variant++) {
            boolean asym = variant % 2 == 1;
            ScaleFormat format = variant < 2 ? ScaleFormat.FP8_E4M3 : ScaleFormat.BF16;
            String id = "quant-inf-residual-" + (asym ? "asym" : "sym") + (variant < 2 ? "" : "-bf16");
            QuantConfig c = cfg(2, 16, 1, 2, asym, format, 1, 1e-4f);
            SyntheticData r = new SyntheticData(seedOf(id));
            short[] x = r.tokens(B * H, S, D, 16, 1, 2, 0.5, 0, 0);
            byte[] ids = new byte[B * H * S];
            short[] cent = new short[B * H * 2 * D];
            for (int bh = 0; bh < B * H; bh++) {
                for (int d = 0; d < D; d++) {
                    cent[(bh * 2 + 1) * D + d] = Bf16.fromFloat(d < 16 ? -3.0e38f : 1f);
                }
                for (int s = 0; s < S; s += 3) {
                    ids[bh * S + s] = 1;
                    for (int d = 0; d < 16; d++) {
                        x[(bh * S + s) * D + d] = Bf16.fromFloat(s % 2 == 0 ? 3.0e38f : -2.0e38f);
                    }
                }
            }
            // With bf16 scales an infinite scale is stored: (code − m)·inf, the subtraction in integers (SPEC §7).
            out.add(downstream(id, variant < 2 ? "§2.5" : "§7", flags(c, "inf-residual"), c, new KvTensor(id, B, H, S, D, x),
                    new byte[][] {ids}, new short[][] {cent}));
        }
    }

    /** Given clusterings with 1–4 stages: smoothing (SPEC §4), the stage order of the dequantization (§7). */
    private static void smoothingAndDequantizationVectors(List<Vector> out) {
        int n = 0;
        for (int t : new int[] {1, 2, 3, 4}) {
            for (int kc : new int[] {2, 5}) {
                for (boolean asym : new boolean[] {false, true}) {
                    for (int bits : new int[] {2, 4}) {
                        String id = String.format(Locale.ROOT, "given-t%d-kc%d-int%d-%s", t, kc, bits, asym ? "asym" : "sym");
                        QuantConfig c = cfg(bits, n++ % 2 == 0 ? 16 : 8, t, kc, asym, ScaleFormat.FP8_E4M3, 1, 1e-4f);
                        SyntheticData r = new SyntheticData(seedOf(id));
                        short[] x = r.tokens(B * H, S, D, c.groupSize(), 1, 3, 0.5, 0.2, 0.1, Block.GAUSS, Block.TIE);
                        byte[][] ids = new byte[t][B * H * S];
                        short[][] cent = new short[t][B * H * kc * D];
                        for (int st = 0; st < t; st++) {
                            for (int i = 0; i < ids[st].length; i++) {
                                ids[st][i] = (byte) r.below(kc);
                            }
                            for (int i = 0; i < cent[st].length; i++) {
                                // Magnitudes 2^-6 .. 2^6 so that the fp32 sums of §7 depend on their order and rounding.
                                double scale = StrictMath.scalb(1.0, r.below(13) - 6);
                                cent[st][i] = Bf16.fromFloat((float) (scale * r.gaussian()));
                            }
                        }
                        List<String> f = flags(c, t == 1 ? "smoothing" : "stage-order");
                        out.add(downstream(id, t == 1 ? "§4" : "§7", f, c, new KvTensor(id, B, H, S, D, x), ids, cent));
                    }
                }
            }
        }
    }

    /**
     * Stages that cancel: ±2^24 in the first two stages, small tables after. The fp32 sum of §7 then depends
     * on its order: (r + 2^24) − 2^24 loses r where (r + c₃) − 2^24 + 2^24 keeps part of it.
     */
    private static void cancellingStages(List<Vector> out) {
        for (int t : new int[] {3, 4}) {
            for (boolean asym : new boolean[] {false, true}) {
                for (int bits : new int[] {2, 8}) {
                    String id = String.format(Locale.ROOT, "given-cancelling-t%d-int%d-%s", t, bits, asym ? "asym" : "sym");
                    QuantConfig c = cfg(bits, 16, t, 2, asym, ScaleFormat.FP8_E4M3, 1, 1e-4f);
                    SyntheticData r = new SyntheticData(seedOf(id));
                    short[] x = r.tokens(B * H, S, D, 16, 1, 3, 0.5, 0, 0);
                    byte[][] ids = new byte[t][B * H * S];
                    short[][] cent = new short[t][B * H * 2 * D];
                    for (int st = 0; st < t; st++) {
                        for (int i = 0; i < ids[st].length; i++) {
                            ids[st][i] = (byte) r.below(2);
                        }
                        for (int i = 0; i < cent[st].length; i++) {
                            float v = st == 0 ? 0x1p24f : st == 1 ? -0x1p24f : (float) (0.75 * r.gaussian());
                            cent[st][i] = Bf16.fromFloat(i / D % 2 == 0 ? v : (float) r.gaussian());
                        }
                    }
                    out.add(downstream(id, "§7", flags(c, "stage-order", "cancelling-stages"), c, new KvTensor(id, B, H, S, D, x),
                            ids, cent));
                }
            }
        }
    }

    /** The whole encoder from seeded initial indices: k-means (SPEC §3), the stage loop (§5), and the edges of both. */
    private static void kmeansVectors(List<Vector> out) {
        QuantConfig base = cfg(2, 16, 1, 4, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);
        int[] kcs = {1, 2, 3, 4, 8, 16};
        int[] iters = {1, 2, 3, 6};
        for (int kc : kcs) {
            for (int it : iters) {
                String id = "kmeans-kc" + kc + "-iters" + it;
                QuantConfig c = base.withCentroids(kc).withMaxIters(it);
                String section = it == 1 ? "§3.4" : kc == 1 ? "§3.3" : "§3.2";
                out.add(pipeline(id, section, flags(c, "clustered"), c, clustered(id, B, H, S, D, 4, 0.5, 0, 0)));
            }
        }
        // Well separated clusters stop on the pooled test (the break branch); tol = 0 stops only when nothing changes.
        for (float tol : new float[] {1e-4f, 0f, 0.05f, 0.3f}) {
            for (int h : new int[] {1, 2, 3}) {
                String id = "kmeans-converges-tol" + tol + "-h" + h;
                QuantConfig c = base.withCentroids(4).withMaxIters(30);
                c = new QuantConfig(c.bits(), c.groupSize(), 1, 4, false, c.scaleFormat(), 30, tol);
                out.add(pipeline(id, "§3.4", flags(c, "converges", "pooled"), c, clustered(id, 2, h, S, D, 4, tol == 0 ? 0.05 : 0.3, 0, 0)));
            }
        }
        // Duplicate tokens (ties to the lowest index), Kc > S (repeated initial indices), empty clusters.
        for (int i = 0; i < 6; i++) {
            String id = "kmeans-duplicates-" + i;
            QuantConfig c = base.withCentroids(4 + 2 * i).withMaxIters(3);
            out.add(pipeline(id, "§3.2", flags(c, "duplicate-tokens", "tie"), c, clustered(id, B, H, S, D, 3, 0.5, 0, 0.6)));
        }
        for (int i = 0; i < 6; i++) {
            String id = "kmeans-kc-above-s-" + i;
            int s = 5 + i;
            QuantConfig c = base.withCentroids(s + 3 + i).withMaxIters(3);
            out.add(pipeline(id, "§3.1", flags(c, "kc>s", "duplicate-tokens"), c, clustered(id, B, H, s, D, 2, 0.5, 0, 0.3)));
        }
        for (int i = 0; i < 6; i++) {
            String id = "kmeans-empty-clusters-" + i;
            QuantConfig c = base.withCentroids(8).withMaxIters(2 + i);
            out.add(pipeline(id, "§3.3", flags(c, "empty-cluster", "duplicate-tokens"), c, clustered(id, B, H, S, D, 2, 0.5, 0, 0.85)));
        }
        // Ragged S and several heads: the order of SplitMix64 draws and the unsigned remainder (SPEC §3.1).
        for (int i = 0; i < 6; i++) {
            String id = "init-ragged-" + i;
            int s = new int[] {7, 13, 17, 19, 23, 29}[i];
            QuantConfig c = base.withCentroids(3).withStages(1 + i % 3).withMaxIters(2);
            out.add(pipeline(id, "§3.1", flags(c, "ragged-s"), c, clustered(id, 2, 3, s, D, 3, 0.5, 0, 0)));
        }
        // The centroid means round to bf16 at exact ties: pairs of neighbouring bf16 values (SPEC §2.1, §3.3).
        for (int i = 0; i < 4; i++) {
            String id = "bf16-mean-ties-" + i;
            QuantConfig c = base.withCentroids(1).withMaxIters(1 + i);
            short[] x = clustered(id, B, H, S, D, 1, 0.5, 0, 0).bits();
            for (int r = 1; r < B * H * S; r += 2) {
                for (int d = 0; d < D; d++) {
                    x[r * D + d] = (short) (x[(r - 1) * D + d] + 1);
                }
            }
            out.add(pipeline(id, "§2.1", flags(c, "tie"), c, new KvTensor(id, B, H, S, D, x)));
        }
        // Progressive residual quantization: 2–4 stages (SPEC §5), QVG-Pro's T = 4, G = 16.
        for (int t : new int[] {2, 3, 4}) {
            for (int i = 0; i < 4; i++) {
                String id = "prq-t" + t + "-" + i;
                QuantConfig c = cfg(i % 2 == 0 ? 2 : 4, 16, t, 2 + i, i >= 2, ScaleFormat.FP8_E4M3, 1 + i, 1e-4f);
                out.add(pipeline(id, "§5", flags(c, "T=" + t), c, clustered(id, B, H, S, D, 4, 0.5, 0.1, 0.05)));
            }
        }
        // Extreme inputs: 2·dot overflowing before the subtraction, inexact (subnormal) products (SPEC §3.2).
        for (int i = 0; i < 3; i++) {
            String id = "score-overflow-" + i;
            SyntheticData r = new SyntheticData(seedOf(id));
            short[] x = new short[B * H * S * D];
            for (int e = 0; e < x.length; e++) {
                x[e] = Bf16.fromFloat((float) ((1.0 + (e / D) % 3 * 0.5) * (1.6e18 + 0.6e18 * i) * (1 + 0.01 * r.gaussian())));
            }
            QuantConfig c = base.withCentroids(3 + i).withMaxIters(2);
            out.add(pipeline(id, "§3.2", flags(c, "score-overflow"), c, new KvTensor(id, B, H, S, D, x)));
        }
        for (int i = 0; i < 4; i++) {
            String id = "subnormal-products-" + i;
            SyntheticData r = new SyntheticData(seedOf(id));
            int s = 64;
            short[] x = new short[B * H * s * D];
            for (int e = 0; e < x.length; e++) {
                x[e] = Bf16.fromFloat((float) ((1e-20 + 2e-20 * i) * (1 + (e / D) % 4) * (1 + 0.3 * r.gaussian())));
            }
            QuantConfig c = base.withCentroids(8 + 4 * i).withMaxIters(2);
            out.add(pipeline(id, "§3.2", flags(c, "subnormal-products"), c, new KvTensor(id, B, H, s, D, x)));
        }
        // Huge tokens (3·10^20) against small ones whose products alternate −3·10^38, +5·10^38, −5·10^38, …: a product
        // alone overflows, the fused running sum stays finite (2·10^38), so only FMA chains give a finite dot (SPEC §3.2).
        for (int i = 0; i < 4; i++) {
            String id = "fma-overflow-" + i;
            SyntheticData r = new SyntheticData(seedOf(id));
            short[] x = new short[B * H * S * D];
            for (int row = 0; row < B * H * S; row++) {
                boolean huge = r.coin();
                for (int d = 0; d < D; d++) {
                    float v = huge ? 3e20f : d == 0 ? -1e18f : (d % 2 == 1 ? 1.6667e18f : -1.6667e18f);
                    x[row * D + d] = Bf16.fromFloat(v * (float) (1 + 0.02 * r.uniform()));
                }
            }
            QuantConfig c = base.withCentroids(3 + i).withMaxIters(1 + i % 2);
            out.add(pipeline(id, "§3.2", flags(c, "fma-overflow"), c, new KvTensor(id, B, H, S, D, x)));
        }
        // One large channel shared by every token, the clusters told apart by the small ones: the summation order
        // over d decides what survives (SPEC §3.2: d = 0, 1, … in that order).
        for (int i = 0; i < 4; i++) {
            String id = "dot-order-dynamic-range-" + i;
            SyntheticData r = new SyntheticData(seedOf(id));
            short[] x = new short[B * H * S * D];
            float[] centres = new float[2 * D];
            for (int k = 0; k < centres.length; k++) {
                centres[k] = (float) (0.5 * r.gaussian());
            }
            for (int row = 0; row < B * H * S; row++) {
                int k = r.below(2);
                x[row * D] = Bf16.fromFloat(4096f * (1 + i));
                for (int d = 1; d < D; d++) {
                    x[row * D + d] = Bf16.fromFloat((float) (centres[k * D + d] + 0.1 * r.gaussian()));
                }
            }
            QuantConfig c = base.withCentroids(2 + i).withMaxIters(2);
            out.add(pipeline(id, "§3.2", flags(c, "dynamic-range"), c, new KvTensor(id, B, H, S, D, x)));
        }
        // Cluster sums whose float rounding would differ from the double's: 1024, 4, then fourteen 2^-15, each below
        // half a float ulp of 1028; the mean 64.25 + ε rounds up to bf16 64.5 where 64.25 would tie to 64 (SPEC §3.3).
        for (int i = 0; i < 2; i++) {
            String id = "update-double-sum-" + i;
            short[] x = new short[B * H * S * D];
            for (int row = 0; row < B * H * S; row++) {
                int n = row % S;
                for (int d = 0; d < D; d++) {
                    float v = n == 0 ? 1024f : n == 1 ? 4f : 0x1p-15f;
                    x[row * D + d] = Bf16.fromFloat(StrictMath.scalb(v, d % 5 - 2 * i) * (d % 2 == 0 ? 1 : -1));
                }
            }
            QuantConfig c = base.withCentroids(1).withMaxIters(1 + i);
            out.add(pipeline(id, "§3.3", flags(c, "tie"), c, new KvTensor(id, B, H, S, D, x)));
        }
        // A centroid sum that overflows: an infinite residual (T = 1), then inf − inf = NaN inside a block (T = 2).
        for (int t = 1; t <= 2; t++) {
            for (boolean asym : new boolean[] {false, true}) {
                String id = "overflowing-residual-t" + t + "-" + (asym ? "asym" : "sym");
                QuantConfig c = cfg(2, 16, t, 1, asym, ScaleFormat.FP8_E4M3, 1, 1e-4f);
                short[] x = new SyntheticData(seedOf(id)).tokens(B * H, S, D, 16, 1, 2, 0.5, 0, 0);
                for (int bh = 0; bh < B * H; bh++) {
                    for (int s = 0; s < 8; s++) {
                        for (int d = 0; d < 16; d++) {
                            x[(bh * S + s) * D + d] = Bf16.fromFloat(s < 6 ? -3.0e38f : 3.0e38f);
                        }
                    }
                }
                out.add(pipeline(id, t == 1 ? "§6.2" : "§2.6", flags(c, t == 1 ? "inf-residual" : "nan-in-block"), c,
                        new KvTensor(id, B, H, S, D, x)));
            }
        }
    }

    private static KvTensor clustered(String id, int b, int h, int s, int d, int centres, double spread, double share, double dup) {
        short[] x = new SyntheticData(seedOf(id)).tokens(b * h, s, d, 16, 1, centres, spread, share, dup,
                Block.GAUSS, Block.TIE, Block.SIGNED_ZERO);
        return new KvTensor(id, b, h, s, d, x);
    }

    private static List<String> flags(QuantConfig c, String... own) {
        List<String> f = new ArrayList<>(List.of(own));
        f.add("int" + c.bits());
        f.add(c.asymmetric() ? "asym" : "sym");
        if (c.scaleFormat() == ScaleFormat.BF16) {
            f.add("bf16-scales");
        }
        if (c.stages() > 1) {
            f.add("T=" + c.stages());
        }
        return f.stream().distinct().toList();
    }

    private static Vector pipeline(String id, String section, List<String> flags, QuantConfig c, KvTensor x) {
        return new Vector(id, section, flags, Kind.PIPELINE, c, seedOf(id), new KvTensor(id, x.batch(), x.heads(), x.tokens(),
                x.dim(), x.bits()), null, null);
    }

    private static Vector downstream(String id, String section, List<String> flags, QuantConfig c, KvTensor x, byte[][] ids,
                                     short[][] cent) {
        return new Vector(id, section, flags, Kind.DOWNSTREAM, c, 0, x, ids, cent);
    }

    // ---- files ----

    /** The arrays of a vector's {@code .npz}: inputs first ({@code x}; given ids and centroids), then every level's output. */
    public static Map<String, NpyArray> arrays(Vector v, Outputs o) {
        KvTensor x = v.x();
        int bh = x.headCount();
        QuantConfig c = v.config();
        QuantizedSpan s = o.span();
        Map<String, NpyArray> a = new LinkedHashMap<>();
        a.put("x", NpyArray.ofUint16("x", x.bits(), x.batch(), x.heads(), x.tokens(), x.dim()));
        for (int t = 0; t < c.stages(); t++) {
            if (o.init() != null) {
                int[] flat = new int[bh * c.centroids()];
                for (int h = 0; h < bh; h++) {
                    System.arraycopy(o.init()[t][h], 0, flat, h * c.centroids(), c.centroids());
                }
                a.put("init" + t, NpyArray.ofInt32("init" + t, flat, bh, c.centroids()));
            }
            a.put("ids" + t, NpyArray.ofUint8("ids" + t, s.clusterIds()[t], x.batch(), x.heads(), x.tokens()));
            a.put("cent" + t, NpyArray.ofUint16("cent" + t, s.centroids()[t], x.batch(), x.heads(), c.centroids(), x.dim()));
            if (v.kind() == Kind.PIPELINE) {
                a.put("iters" + t, NpyArray.ofInt32("iters" + t, new int[] {s.iterations()[t]}));
            }
        }
        a.put("packed", NpyArray.ofUint8("packed", s.packed(), x.batch(), x.heads(), x.tokens(), c.packedBytesPerRow(x.dim())));
        a.put("scales", blocks("scales", s.scales(), c, x));
        if (c.asymmetric()) {
            a.put("zeros", blocks("zeros", s.zeros(), c, x));
        }
        a.put("deq", NpyArray.ofUint16("deq", o.deq(), x.batch(), x.heads(), x.tokens(), x.dim()));
        return a;
    }

    private static NpyArray blocks(String name, byte[] b, QuantConfig c, KvTensor x) {
        long[] shape = {x.batch(), x.heads(), x.tokens(), c.blocksPerRow(x.dim())};
        if (c.scaleFormat() == ScaleFormat.FP8_E4M3) {
            return NpyArray.ofUint8(name, b, shape);
        }
        short[] v = new short[b.length / 2];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(v);
        return NpyArray.ofUint16(name, v, shape);
    }

    /** The arrays a vector gives as input; the others are expected outputs. */
    public static List<String> inputs(Vector v) {
        List<String> in = new ArrayList<>(List.of("x"));
        for (int t = 0; t < v.config().stages() && v.kind() == Kind.DOWNSTREAM; t++) {
            in.add("ids" + t);
            in.add("cent" + t);
        }
        return in;
    }

    /** Writes the suite: one {@code ID.npz} per vector and {@code index.jsonl}, one vector a line. */
    public static void write(Path dir, List<Vector> vectors, Implementation impl) throws IOException {
        Files.createDirectories(dir);
        StringBuilder index = new StringBuilder();
        for (Vector v : vectors) {
            Map<String, NpyArray> a = arrays(v, impl.run(v));
            Npy.writeNpz(dir.resolve(v.id() + ".npz"), a);
            index.append(indexLine(v, a)).append('\n');
        }
        byte[] bytes = index.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(dir.resolve("index.jsonl"), o -> o.write(bytes));
    }

    static String indexLine(Vector v, Map<String, NpyArray> a) {
        StringWriter w = new StringWriter();
        QuantConfig c = v.config();
        try (JsonGenerator g = new JsonFactory().createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("id", v.id());
            g.writeStringField("section", v.section());
            g.writeArrayFieldStart("flags");
            for (String f : v.flags()) {
                g.writeString(f);
            }
            g.writeEndArray();
            g.writeStringField("kind", v.kind().name().toLowerCase(Locale.ROOT));
            g.writeObjectFieldStart("config");
            g.writeNumberField("bits", c.bits());
            g.writeNumberField("group_size", c.groupSize());
            g.writeNumberField("stages", c.stages());
            g.writeNumberField("centroids", c.centroids());
            g.writeBooleanField("asymmetric", c.asymmetric());
            g.writeStringField("scale_format", c.scaleFormat() == ScaleFormat.BF16 ? "bf16" : "fp8");
            g.writeNumberField("max_iters", c.maxIters());
            g.writeNumberField("tol", c.tolerance());
            g.writeEndObject();
            if (v.kind() == Kind.PIPELINE) {
                g.writeNumberField("seed", v.seed());
            }
            g.writeArrayFieldStart("shape");
            for (int d : new int[] {v.x().batch(), v.x().heads(), v.x().tokens(), v.x().dim()}) {
                g.writeNumber(d);
            }
            g.writeEndArray();
            List<String> in = inputs(v);
            g.writeArrayFieldStart("inputs");
            for (String n : in) {
                g.writeString(n);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("expected");
            for (String n : a.keySet()) {
                if (!in.contains(n)) {
                    g.writeString(n);
                }
            }
            g.writeEndArray();
            g.writeArrayFieldStart("files");
            g.writeString(v.id() + ".npz");
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /** A vector as stored: its definition and the arrays of its file. */
    public record Stored(Vector vector, Map<String, NpyArray> arrays) {}

    /** Reads a suite written by {@link #write}. */
    public static List<Stored> read(Path dir) throws IOException {
        Path index = dir.resolve("index.jsonl");
        if (!Files.isRegularFile(index)) {
            throw new InvalidInputException(dir + ": no index.jsonl (not a vector suite directory)");
        }
        List<Stored> out = new ArrayList<>();
        int line = 0;
        for (String text : Files.readAllLines(index, StandardCharsets.UTF_8)) {
            line++;
            if (text.isBlank()) {
                continue;
            }
            String where = index + ":" + line;
            Map<String, Object> o = object(text, where);
            try {
                out.add(stored(dir, o));
            } catch (RuntimeException e) {
                throw new InvalidInputException(where + ": " + e.getMessage());
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Stored stored(Path dir, Map<String, Object> o) throws IOException {
        String id = (String) o.get("id");
        Map<String, Object> c = (Map<String, Object>) o.get("config");
        QuantConfig config = new QuantConfig(num(c, "bits"), num(c, "group_size"), num(c, "stages"), num(c, "centroids"),
                (Boolean) c.get("asymmetric"), "bf16".equals(c.get("scale_format")) ? ScaleFormat.BF16 : ScaleFormat.FP8_E4M3,
                num(c, "max_iters"), Float.parseFloat(c.get("tol").toString()));
        Kind kind = Kind.valueOf(((String) o.get("kind")).toUpperCase(Locale.ROOT));
        Map<String, NpyArray> a = Npy.readNpz(dir.resolve(((List<String>) o.get("files")).get(0)));
        List<Number> shape = (List<Number>) o.get("shape");
        NpyArray xa = a.get("x");
        if (xa == null) {
            throw new InvalidInputException(id + ": the file has no 'x'");
        }
        KvTensor x = new KvTensor(id, shape.get(0).intValue(), shape.get(1).intValue(), shape.get(2).intValue(),
                shape.get(3).intValue(), xa.asUint16());
        byte[][] ids = null;
        short[][] cent = null;
        if (kind == Kind.DOWNSTREAM) {
            ids = new byte[config.stages()][];
            cent = new short[config.stages()][];
            for (int t = 0; t < config.stages(); t++) {
                ids[t] = a.get("ids" + t).asUint8();
                cent[t] = a.get("cent" + t).asUint16();
            }
        }
        long seed = o.containsKey("seed") ? ((Number) o.get("seed")).longValue() : 0;
        Vector v = new Vector(id, (String) o.get("section"), (List<String>) o.get("flags"), kind, config, seed, x, ids, cent);
        return new Stored(v, a);
    }

    private static int num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Number n)) {
            throw new InvalidInputException("config field '" + key + "' missing or not a number");
        }
        return n.intValue();
    }

    /** One JSON object of a line, values as Map, List, String, Long/Double/BigInteger, Boolean or null. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> object(String text, String where) {
        try (JsonParser p = new JsonFactory().createParser(text)) {
            Object v = value(p, p.nextToken());
            if (!(v instanceof Map)) {
                throw new InvalidInputException(where + ": not a JSON object");
            }
            return (Map<String, Object>) v;
        } catch (IOException e) {
            throw new InvalidInputException(where + ": bad JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static Object value(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    m.put(k, value(p, p.nextToken()));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    l.add(value(p, e));
                }
                yield l;
            }
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT -> p.getNumberValue();
            case VALUE_NUMBER_FLOAT -> p.getText();
            case VALUE_TRUE -> true;
            case VALUE_FALSE -> false;
            default -> null;
        };
    }

    // ---- checking ----

    /** A vector's check: the expected arrays that differ, each with its first differing element. */
    public record Result(Vector vector, List<String> differing, String detail) {
        public boolean passed() {
            return differing.isEmpty();
        }
    }

    /** Runs the implementation on a stored vector and compares every expected array bit for bit. */
    public static Result check(Stored s, Implementation impl) {
        Map<String, NpyArray> mine = arrays(s.vector(), impl.run(s.vector()));
        List<String> differing = new ArrayList<>();
        String detail = "";
        for (var e : s.arrays().entrySet()) {
            NpyArray m = mine.get(e.getKey());
            NpyArray theirs = e.getValue();
            if (m != null && m.data().equals(theirs.data()) && java.util.Arrays.equals(m.shape(), theirs.shape())) {
                continue;
            }
            differing.add(e.getKey());
            if (detail.isEmpty()) {
                detail = m == null ? e.getKey() + " not produced" : e.getKey() + " " + firstDifference(theirs, m);
            }
        }
        for (String n : mine.keySet()) {
            if (!s.arrays().containsKey(n)) {
                differing.add(n);
                detail = detail.isEmpty() ? n + " missing from the vector's file" : detail;
            }
        }
        return new Result(s.vector(), differing, detail);
    }

    private static String firstDifference(NpyArray expected, NpyArray got) {
        byte[] a = expected.bytes(), b = got.bytes();
        int i = java.util.Arrays.mismatch(a, b);
        if (i < 0 || a.length != b.length) {
            return "shape " + got.shapeString() + ", expected " + expected.shapeString();
        }
        int size = expected.dtype().size();
        int e = i / size;
        long[] shape = expected.shape();
        long[] at = new long[shape.length];
        long rest = e;
        for (int d = shape.length - 1; d >= 0; d--) {
            at[d] = rest % shape[d];
            rest /= shape[d];
        }
        return "first differs at " + Verifier.coordinates(at) + ": expected " + value(a, e, size) + ", got " + value(b, e, size);
    }

    private static String value(byte[] b, int e, int size) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        return switch (size) {
            case 1 -> String.format("0x%02x", b[e] & 0xFF);
            case 2 -> String.format("0x%04x", bb.getShort(2 * e) & 0xFFFF);
            default -> "" + bb.getInt(4 * e);
        };
    }
}
