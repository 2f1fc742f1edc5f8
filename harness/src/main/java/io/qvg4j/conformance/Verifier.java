package io.qvg4j.conformance;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qvg4j.algorithm.BlockQuantizer;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.algorithm.KMeans;
import io.qvg4j.algorithm.Smoothing;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.golden.Digests;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The verify engine behind {@code qvg verify}: your implementation's outputs for an input, level by level,
 * against qvg4j's. Every level is checked against what qvg4j computes from <em>your</em> levels above it, so
 * a fault shows at the level where it is and nowhere above it:
 * <ul>
 *   <li>k-means, stage by stage (ids, centroids, iteration count): with {@link KMeansMode#QVG4J} exactly
 *       against qvg4j's deterministic k-means (SPEC §3) run on your residual of the stage before; with
 *       {@link KMeansMode#OWN} (an independent k-means) statistically: id agreement reported, and the
 *       reconstruction error against the input within a tolerance of qvg4j's own pipeline (SPEC §11);</li>
 *   <li>downstream (codes, scales, zero points) exactly, recomputed from your ids and centroids (SPEC §4–§6) by the
 *       reference's functions;</li>
 *   <li>the dequantized tensor exactly, decoded from your codes, scales, zero points, ids and centroids (§7).</li>
 * </ul>
 * Levels you do not give are taken from qvg4j (your ids, say, with qvg4j's centroids) where that is defined.
 */
public final class Verifier {
    /** Whose k-means the outputs claim to follow. */
    public enum KMeansMode {
        /** qvg4j's deterministic k-means (SPEC §3): every level exact. */
        QVG4J,
        /** An independent k-means (the official one): compared statistically, everything downstream exactly. */
        OWN
    }

    public enum Status { PASS, FAIL, INFO }

    /**
     * One level's verdict.
     *
     * @param first the first differing index in the level's tensor coordinates, or null
     * @param count differing elements (0 when equal), of {@code total}
     */
    public record Level(String name, Status status, String detail, long[] first, long count, long total, String yours,
                        String qvg4j) {
        static Level info(String name, String detail) {
            return new Level(name, Status.INFO, detail, null, 0, 0, null, null);
        }
    }

    /** Every level checked, in pipeline order. */
    public record Report(String source, String config, KMeansMode kmeans, List<Level> levels) {
        public boolean passed() {
            return levels.stream().noneMatch(l -> l.status() == Status.FAIL);
        }

        /** The first failing level, or null. */
        public Level firstFailure() {
            return levels.stream().filter(l -> l.status() == Status.FAIL).findFirst().orElse(null);
        }

        public Level level(String name) {
            return levels.stream().filter(l -> l.name().equals(name)).findFirst().orElse(null);
        }

        /** One line per level, then the verdict. */
        public String text() {
            StringBuilder b = new StringBuilder();
            for (Level l : levels) {
                b.append(String.format(Locale.ROOT, "%-12s %-4s %s%n", l.name(), l.status(), l.detail()));
            }
            Level f = firstFailure();
            long checked = levels.stream().filter(l -> l.status() != Status.INFO).count();
            b.append(f == null ? "PASS: all " + checked + " levels checked agree with qvg4j"
                    : "FAIL at " + f.name() + (f.first() == null ? "" : " " + coordinates(f.first())) + ": "
                    + levels.stream().filter(l -> l.status() == Status.FAIL).count() + " of " + checked + " levels differ");
            return b.append(System.lineSeparator()).toString();
        }

        /** The same report as one JSON object. */
        public String json() {
            StringWriter w = new StringWriter();
            try (JsonGenerator g = new JsonFactory().createGenerator(w)) {
                g.writeStartObject();
                g.writeStringField("verdict", passed() ? "pass" : "fail");
                g.writeStringField("yours", source);
                g.writeStringField("config", config);
                g.writeStringField("kmeans", kmeans.name().toLowerCase(Locale.ROOT));
                Level f = firstFailure();
                if (f == null) {
                    g.writeNullField("first_failing_level");
                } else {
                    g.writeStringField("first_failing_level", f.name());
                }
                g.writeArrayFieldStart("levels");
                for (Level l : levels) {
                    g.writeStartObject();
                    g.writeStringField("level", l.name());
                    g.writeStringField("status", l.status().name().toLowerCase(Locale.ROOT));
                    g.writeStringField("detail", l.detail());
                    if (l.status() != Status.INFO) {
                        g.writeNumberField("differing", l.count());
                        g.writeNumberField("of", l.total());
                    }
                    if (l.first() != null) {
                        g.writeArrayFieldStart("first");
                        for (long i : l.first()) {
                            g.writeNumber(i);
                        }
                        g.writeEndArray();
                        g.writeStringField("yours_value", l.yours());
                        g.writeStringField("qvg4j_value", l.qvg4j());
                    }
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return w + System.lineSeparator();
        }
    }

    private final QvgCodec codec;
    private final KMeansMode mode;
    private final double relL2Tolerance;

    /**
     * @param relL2Tolerance {@link KMeansMode#OWN}: the allowed relative deviation of your reconstruction error
     *                       from qvg4j's, in [0, 1]
     */
    public Verifier(QvgCodec codec, KMeansMode mode, double relL2Tolerance) {
        if (!(relL2Tolerance >= 0 && relL2Tolerance <= 1)) {
            throw new InvalidInputException("--rel-l2-tolerance " + relL2Tolerance + ": must be in [0, 1] (0.01 is 1 %)");
        }
        this.codec = codec;
        this.mode = mode;
        this.relL2Tolerance = relL2Tolerance;
    }

    /**
     * Verifies your outputs for input {@code x}. Initial indices come from yours, else from {@code seed}
     * (SPEC §3.1).
     */
    public Report verify(KvTensor x, Candidate c, long seed) {
        QuantConfig cfg = c.config;
        int T = cfg.stages();
        int heads = x.headCount();
        int S = x.tokens();
        int D = x.dim();
        int kc = cfg.centroids();
        List<Level> levels = new ArrayList<>();
        boolean clustering = c.hasClustering();
        if (!clustering && !c.hasDownstream() && c.deq == null && c.deqSha256 == null) {
            throw new InvalidInputException(c.source + ": holds none of ids{t}, cent{t}, packed, codes, scales, zeros, deq, "
                    + "deq_sha256; nothing to verify");
        }
        if (mode == KMeansMode.OWN && !clustering && c.hasDownstream()) {
            throw new InvalidInputException(c.source + ": codes, scales or zero points without ids{t} and cent{t}: with "
                    + "--kmeans own they are checked against qvg4j's recomputation from your clustering; give ids{t} and "
                    + "cent{t}, or pass --kmeans qvg4j");
        }
        for (int t = 0; t < T && mode == KMeansMode.OWN && clustering; t++) {
            if ((c.ids[t] == null) != (c.centroids[t] == null)) {
                throw new InvalidInputException(c.source + ": stage " + t + " has " + (c.ids[t] == null ? "cent" : "ids") + t
                        + " without " + (c.ids[t] == null ? "ids" : "cent") + t + "; with --kmeans own both are needed");
            }
        }

        // §3.1: your initial indices, else the seed's.
        int[][][] seeded = InitIndices.fromSeed(c.seed != null ? c.seed : seed, T, heads, kc, S);
        int[][][] init = new int[T][][];
        boolean anyInit = false;
        for (int t = 0; t < T; t++) {
            init[t] = c.init[t] != null ? c.init[t] : seeded[t];
            anyInit |= c.init[t] != null;
        }
        if (c.seed != null) {
            levels.add(compareInit(init, seeded, c.seed));
        } else {
            levels.add(Level.info("init", anyInit ? "yours (" + T + "x" + heads + "x" + kc + "), the start of qvg4j's k-means"
                    : "not given: qvg4j's k-means starts from seed " + seed + " (SPEC §3.1)"));
        }

        // k-means stage by stage, each on the residual your clustering of the stages before leaves (§3, §4, §5).
        float[][] residual = new float[heads][];
        for (int bh = 0; bh < heads; bh++) {
            residual[bh] = x.headAsFloats(bh);
        }
        byte[][] useIds = new byte[T][];
        short[][] useCent = new short[T][];
        // With --kmeans own and no clustering of yours there is nothing to compare stage by stage.
        for (int t = 0; t < T && (clustering || mode == KMeansMode.QVG4J); t++) {
            Stage stage = kmeans(x, residual, cfg, init[t]);
            if (mode == KMeansMode.QVG4J) {
                if (c.ids[t] != null) {
                    levels.add(compareIds(x, t, c.ids[t], stage.ids()));
                }
                if (c.centroids[t] != null) {
                    levels.add(compareCentroids(x, cfg, t, c.centroids[t], stage.centroids()));
                }
                if (c.iterationsGiven[t]) {
                    int mine = stage.iterations();
                    int yours = c.iterations[t];
                    levels.add(yours == mine
                            ? new Level("iters" + t, Status.PASS, "equal: " + mine + " (SPEC §3.4)", null, 0, 1, null, null)
                            : new Level("iters" + t, Status.FAIL, "yours " + yours + ", qvg4j " + mine + " (SPEC §3.4)",
                            new long[] {t}, 1, 1, "" + yours, "" + mine));
                }
            } else if (c.ids[t] != null) {
                double agreement = agreement(c.ids[t], stage.ids());
                levels.add(Level.info("ids" + t, String.format(Locale.ROOT, "your own k-means: %.1f%% of ids equal qvg4j's "
                        + "on the same residual", 100 * agreement)));
                if (c.iterationsGiven[t]) {
                    levels.add(Level.info("iters" + t, "yours " + c.iterations[t] + ", qvg4j " + stage.iterations()));
                }
            }
            useIds[t] = c.ids[t] != null ? c.ids[t] : stage.ids();
            useCent[t] = c.centroids[t] != null ? c.centroids[t] : stage.centroids();
            // §4: the residual the next stage clusters, and after the last stage the quantizer's input.
            for (int bh = 0; bh < heads; bh++) {
                float[] table = new float[kc * D];
                Bf16.toFloats(useCent[t], bh * kc * D, table, 0, table.length);
                int[] rowIds = new int[S];
                for (int n = 0; n < S; n++) {
                    rowIds[n] = useIds[t][bh * S + n] & 0xFF;
                }
                Smoothing.subtract(residual[bh], S, D, rowIds, table, residual[bh]);
            }
        }

        // Downstream of your clustering (§4, §6), then the dequantized tensor from your stored levels (§7).
        QuantizedSpan mine = clustering || mode == KMeansMode.QVG4J ? quantize(x, cfg, residual, useIds, useCent) : null;
        KvTensor expected = null;
        List<Level> downstream = new ArrayList<>();
        if (mine != null) {
            int rows = heads * S;
            int[] myCodes = Candidate.unpack(mine.packed(), cfg, rows, D);
            if (c.packed != null) {
                downstream.add(compareCodes("packed", x, cfg, Candidate.unpack(c.packed, cfg, rows, D), myCodes));
            }
            if (c.codes != null) {
                downstream.add(compareCodes("codes", x, cfg, c.codes, myCodes));
            }
            if (c.scales != null) {
                downstream.add(compareBlocks("scales", x, cfg, c.scales, mine.scales()));
            }
            if (c.zeros != null) {
                downstream.add(compareBlocks("zeros", x, cfg, c.zeros, mine.zeros()));
            }
            byte[] packed = c.packed != null ? c.packed : c.codes != null ? Candidate.pack(c.codes, cfg, rows, D) : mine.packed();
            QuantizedSpan yours = new QuantizedSpan(cfg, x.batch(), x.heads(), S, D, useIds, useCent, packed,
                    c.scales != null ? c.scales : mine.scales(), cfg.asymmetric() ? (c.zeros != null ? c.zeros : mine.zeros()) : null,
                    mine.iterations());
            expected = codec.decode(yours);
        }
        if (mode == KMeansMode.OWN) {
            // §11: your reconstruction error beside qvg4j's own pipeline's, from the same initial indices.
            KvTensor own = codec.decode(codec.encode(x, cfg, init));
            KvTensor recon = c.deq != null ? deqAsBf16(x, c.deqType, c.deq) : expected;
            if (recon != null) {
                levels.add(compareRelL2(x, recon, own));
            }
        }
        levels.addAll(downstream);
        if (expected != null || mode == KMeansMode.QVG4J) {
            if (c.deq != null) {
                levels.add(compareDeq(x, c.deqType, c.deq, expected));
            }
            if (c.deqSha256 != null) {
                String sha = Digests.sha256(expected.bits());
                levels.add(sha.equals(c.deqSha256)
                        ? new Level("deq_sha256", Status.PASS, "equal: " + sha, null, 0, 1, null, null)
                        : new Level("deq_sha256", Status.FAIL, "yours " + c.deqSha256 + ", qvg4j " + sha, null, 1, 1,
                        c.deqSha256, sha));
            }
        }
        return new Report(c.source, cfg.toString(), mode, levels);
    }

    /**
     * The block quantizer (§6) on the final residual, by the reference's functions: a clustering of yours may
     * hold non-finite centroids (a sum that overflowed, SPEC §2.6), which no codec accepts as given.
     */
    private static QuantizedSpan quantize(KvTensor x, QuantConfig cfg, float[][] residual, byte[][] ids, short[][] cent) {
        int S = x.tokens(), D = x.dim(), heads = x.headCount();
        int rowBytes = cfg.packedBytesPerRow(D);
        int scaleRow = cfg.blocksPerRow(D) * cfg.scaleFormat().bytes();
        byte[] packed = new byte[heads * S * rowBytes];
        byte[] scales = new byte[heads * S * scaleRow];
        byte[] zeros = cfg.asymmetric() ? new byte[scales.length] : null;
        for (int bh = 0; bh < heads; bh++) {
            BlockQuantizer.quantize(residual[bh], S, D, cfg, packed, bh * S * rowBytes, scales, bh * S * scaleRow, zeros, bh * S * scaleRow);
        }
        return new QuantizedSpan(cfg, x.batch(), x.heads(), S, D, ids, cent, packed, scales, zeros, new int[cfg.stages()]);
    }

    /** One stage of qvg4j's k-means: ids {@code [B·H·S]}, bf16 tables {@code [B·H·Kc·D]}, the iteration count. */
    private record Stage(byte[] ids, short[] centroids, int iterations) {}

    /** qvg4j's k-means of one stage on a residual (T = 1 from the stage's initial indices). */
    private Stage kmeans(KvTensor x, float[][] residual, QuantConfig cfg, int[][] init) {
        int heads = residual.length;
        short[] bits = new short[x.elementCount()];
        boolean finite = true;
        int headSize = x.tokens() * x.dim();
        for (int bh = 0; bh < heads; bh++) {
            for (int i = 0; i < headSize; i++) {
                bits[bh * headSize + i] = Bf16.fromFloat(residual[bh][i]);
                finite &= Float.isFinite(residual[bh][i]);
            }
        }
        if (finite) {
            KvTensor r = new KvTensor("residual", x.batch(), x.heads(), x.tokens(), x.dim(), bits);
            QuantizedSpan s = codec.encode(r, cfg.withStages(1), new int[][][] {init});
            return new Stage(s.clusterIds()[0], s.centroids()[0], s.iterations()[0]);
        }
        // A non-finite residual (SPEC §2.6) is no codec input; the plain k-means takes it as it is.
        KMeans.Result k = KMeans.cluster(residual, x.tokens(), x.dim(), cfg.centroids(), cfg.maxIters(), cfg.tolerance(), init);
        byte[] ids = new byte[heads * x.tokens()];
        short[] cent = new short[heads * cfg.centroids() * x.dim()];
        for (int bh = 0; bh < heads; bh++) {
            for (int n = 0; n < x.tokens(); n++) {
                ids[bh * x.tokens() + n] = (byte) k.ids()[bh][n];
            }
            for (int i = 0; i < k.centroids()[bh].length; i++) {
                cent[bh * k.centroids()[bh].length + i] = Bf16.fromFloat(k.centroids()[bh][i]);
            }
        }
        return new Stage(ids, cent, k.iterations());
    }

    private static Level compareInit(int[][][] yours, int[][][] seeded, long seed) {
        long count = 0;
        long total = 0;
        long[] first = null;
        String y = null, q = null;
        for (int t = 0; t < yours.length; t++) {
            for (int bh = 0; bh < yours[t].length; bh++) {
                for (int k = 0; k < yours[t][bh].length; k++) {
                    total++;
                    if (yours[t][bh][k] != seeded[t][bh][k]) {
                        if (count++ == 0) {
                            first = new long[] {t, bh, k};
                            y = "" + yours[t][bh][k];
                            q = "" + seeded[t][bh][k];
                        }
                    }
                }
            }
        }
        return count == 0 ? new Level("init", Status.PASS, "equal to SplitMix64 seed " + seed + " (SPEC §3.1)", null, 0, total, null, null)
                : new Level("init", Status.FAIL, count + " of " + total + " differ from SplitMix64 seed " + seed + ", first at [t,bh,k] "
                + coordinates(first) + ": yours " + y + ", qvg4j " + q + " (SPEC §3.1)", first, count, total, y, q);
    }

    private static Level compareIds(KvTensor x, int t, byte[] yours, byte[] mine) {
        long count = 0;
        int first = -1;
        for (int i = 0; i < mine.length; i++) {
            if (yours[i] != mine[i]) {
                count++;
                first = first < 0 ? i : first;
            }
        }
        String name = "ids" + t;
        if (count == 0) {
            return new Level(name, Status.PASS, "equal (" + mine.length + " ids; SPEC §3.2)", null, 0, mine.length, null, null);
        }
        long[] at = rowCoordinates(x, first);
        String y = "" + (yours[first] & 0xFF), q = "" + (mine[first] & 0xFF);
        return new Level(name, Status.FAIL, String.format(Locale.ROOT, "%d of %d differ, first at stage %d token [b,h,s] %s: "
                + "yours %s, qvg4j %s (SPEC §3.2)", count, mine.length, t, coordinates(at), y, q), at, count, mine.length, y, q);
    }

    private static Level compareCentroids(KvTensor x, QuantConfig cfg, int t, short[] yours, short[] mine) {
        long count = 0;
        int first = -1;
        long maxUlp = 0;
        for (int i = 0; i < mine.length; i++) {
            if (yours[i] != mine[i]) {
                count++;
                first = first < 0 ? i : first;
                maxUlp = Math.max(maxUlp, Math.abs(ordered(yours[i]) - ordered(mine[i])));
            }
        }
        String name = "cent" + t;
        if (count == 0) {
            return new Level(name, Status.PASS, "equal (" + mine.length + " bf16 values; SPEC §3.3)", null, 0, mine.length, null, null);
        }
        int kc = cfg.centroids(), D = x.dim();
        int bh = first / (kc * D);
        long[] at = {t, bh / x.heads(), bh % x.heads(), first / D % kc, first % D};
        String y = hex16(yours[first]), q = hex16(mine[first]);
        return new Level(name, Status.FAIL, String.format(Locale.ROOT, "%d of %d differ, first at [stage,b,h,k,d] %s: yours %s, "
                        + "qvg4j %s (%d ulp; max %d ulp) (SPEC §3.3)", count, mine.length, coordinates(at), y, q,
                Math.abs(ordered(yours[first]) - ordered(mine[first])), maxUlp), at, count, mine.length, y, q);
    }

    private static Level compareCodes(String name, KvTensor x, QuantConfig cfg, int[] yours, int[] mine) {
        long count = 0;
        int first = -1;
        for (int i = 0; i < mine.length; i++) {
            if (yours[i] != mine[i]) {
                count++;
                first = first < 0 ? i : first;
            }
        }
        if (count == 0) {
            return new Level(name, Status.PASS, "equal (" + mine.length + " codes of INT" + cfg.bits() + "; SPEC §6, §6.5)", null, 0,
                    mine.length, null, null);
        }
        long[] at = elementCoordinates(x, first);
        String where = name.equals("packed") ? ", byte " + first % x.dim() * cfg.bits() / 8 + " of the token's row" : "";
        return new Level(name, Status.FAIL, String.format(Locale.ROOT, "%d of %d codes differ, first at [b,h,s,d] %s%s: yours %d, "
                        + "qvg4j %d (SPEC §6)", count, mine.length, coordinates(at), where, yours[first], mine[first]), at, count,
                mine.length, "" + yours[first], "" + mine[first]);
    }

    private static Level compareBlocks(String name, KvTensor x, QuantConfig cfg, byte[] yours, byte[] mine) {
        int size = cfg.scaleFormat().bytes();
        int blocks = mine.length / size;
        long count = 0;
        int first = -1;
        for (int b = 0; b < blocks; b++) {
            for (int j = 0; j < size; j++) {
                if (yours[b * size + j] != mine[b * size + j]) {
                    count++;
                    first = first < 0 ? b : first;
                    break;
                }
            }
        }
        String section = name.equals("scales") ? "SPEC §6.2-§6.4" : "SPEC §6.3";
        if (count == 0) {
            return new Level(name, Status.PASS, "equal (" + blocks + " " + (size == 1 ? "FP8" : "bf16") + " values; " + section + ")",
                    null, 0, blocks, null, null);
        }
        int perRow = cfg.blocksPerRow(x.dim());
        long[] row = rowCoordinates(x, first / perRow);
        long[] at = {row[0], row[1], row[2], first % perRow};
        int g = cfg.groupSize();
        String y = block(yours, first, size), q = block(mine, first, size);
        return new Level(name, Status.FAIL, String.format(Locale.ROOT, "%d of %d differ, first at [b,h,s,block] %s (channels "
                + "%d..%d): yours %s, qvg4j %s (%s)", count, blocks, coordinates(at), first % perRow * g, (first % perRow + 1) * g - 1,
                y, q, section), at, count, blocks, y, q);
    }

    private static String block(byte[] b, int block, int size) {
        return size == 1 ? String.format("0x%02x", b[block] & 0xFF)
                : hex16((short) ((b[2 * block] & 0xFF) | (b[2 * block + 1] << 8)));
    }

    /** Your dequantized values against qvg4j's bf16 tensor converted to your dtype; bit patterns compared. */
    private static Level compareDeq(KvTensor x, Candidate.DeqType type, int[] yours, KvTensor expected) {
        short[] mine = expected.bits();
        long count = 0;
        int first = -1;
        long maxUlp = 0;
        double diff = 0, ref = 0;
        for (int i = 0; i < mine.length; i++) {
            float q = Bf16.toFloat(mine[i]);
            int qBits = switch (type) {
                case BF16 -> mine[i] & 0xFFFF;
                case F16 -> Fp16.fromFloat(q) & 0xFFFF;
                case F32 -> Float.floatToRawIntBits(q);
            };
            float y = switch (type) {
                case BF16 -> Bf16.toFloat((short) yours[i]);
                case F16 -> Fp16.toFloat((short) yours[i]);
                case F32 -> Float.intBitsToFloat(yours[i]);
            };
            if (Float.isFinite(q)) {
                ref += (double) q * q;
            }
            if (yours[i] == qBits) {
                continue;
            }
            count++;
            first = first < 0 ? i : first;
            diff += Float.isFinite(q) && Float.isFinite(y) ? ((double) y - q) * ((double) y - q) : Double.POSITIVE_INFINITY;
            if (type == Candidate.DeqType.BF16) {
                maxUlp = Math.max(maxUlp, Math.abs(ordered((short) yours[i]) - ordered(mine[i])));
            }
        }
        String dtype = type.name().toLowerCase(Locale.ROOT);
        if (count == 0) {
            return new Level("deq", Status.PASS, "equal (" + mine.length + " " + dtype + " values; SPEC §7)", null, 0, mine.length, null, null);
        }
        long[] at = elementCoordinates(x, first);
        String y = type == Candidate.DeqType.F32 ? String.format("0x%08x", yours[first]) : hex16((short) yours[first]);
        String q = type == Candidate.DeqType.F32 ? String.format("0x%08x", Float.floatToRawIntBits(Bf16.toFloat(mine[first])))
                : hex16(type == Candidate.DeqType.BF16 ? mine[first] : Fp16.fromFloat(Bf16.toFloat(mine[first])));
        return new Level("deq", Status.FAIL, String.format(Locale.ROOT, "%d of %d %s values differ, first at [b,h,s,d] %s: yours %s, "
                        + "qvg4j %s%s; rel-L2 %s (SPEC §7)", count, mine.length, dtype, coordinates(at), y, q,
                type == Candidate.DeqType.BF16 ? ", max " + maxUlp + " ulp" : "", relL2String(diff, ref)), at, count, mine.length, y, q);
    }

    /** SPEC §11: your reconstruction error against the input, within the tolerance of qvg4j's own pipeline's. */
    private Level compareRelL2(KvTensor x, KvTensor yours, KvTensor own) {
        double y = relativeL2(yours, x);
        double q = relativeL2(own, x);
        double deviation = y == q ? 0 : Math.abs(y - q) / q;
        boolean ok = deviation <= relL2Tolerance;
        return new Level("k-means", ok ? Status.PASS : Status.FAIL, String.format(Locale.ROOT, "your own k-means: rel-L2 vs the input "
                        + "yours %s, qvg4j %s (%s, tolerance %.3f%%; SPEC §11)", fmt(y), fmt(q),
                        Double.isFinite(100 * (y - q) / q) ? String.format(Locale.ROOT, "%+.3f%%", 100 * (y - q) / q) : "n/a",
                        100 * relL2Tolerance),
                null, ok ? 0 : 1, 1, fmt(y), fmt(q));
    }

    /** ‖a − x‖ / ‖x‖ in double; a non-finite value of {@code a} makes it +inf. */
    static double relativeL2(KvTensor a, KvTensor x) {
        double err = 0, ref = 0;
        for (int i = 0; i < x.elementCount(); i++) {
            double xv = Bf16.toFloat(x.bits()[i]);
            float av = Bf16.toFloat(a.bits()[i]);
            double d = Float.isFinite(av) ? av - xv : Double.POSITIVE_INFINITY;
            err += d * d;
            ref += xv * xv;
        }
        return err == 0 ? 0 : ref == 0 ? Double.POSITIVE_INFINITY : Math.sqrt(err / ref);
    }

    private static String relL2String(double diff, double ref) {
        return diff == 0 ? "0" : ref == 0 || Double.isInfinite(diff) ? "inf" : String.format(Locale.ROOT, "%.3e", Math.sqrt(diff / ref));
    }

    private static String fmt(double v) {
        return Double.isInfinite(v) ? "inf" : String.format(Locale.ROOT, "%.6f", v);
    }

    private static double agreement(byte[] a, byte[] b) {
        long same = 0;
        for (int i = 0; i < a.length; i++) {
            same += a[i] == b[i] ? 1 : 0;
        }
        return (double) same / a.length;
    }

    /** Your dequantized tensor as bf16 (f16 and f32 rounded to nearest even, SPEC §2.1), for its error against the input. */
    private static KvTensor deqAsBf16(KvTensor x, Candidate.DeqType type, int[] deq) {
        short[] bits = new short[deq.length];
        for (int i = 0; i < deq.length; i++) {
            bits[i] = switch (type) {
                case BF16 -> (short) deq[i];
                case F16 -> Bf16.fromFloat(Fp16.toFloat((short) deq[i]));
                case F32 -> Bf16.fromFloat(Float.intBitsToFloat(deq[i]));
            };
        }
        return new KvTensor("yours", x.batch(), x.heads(), x.tokens(), x.dim(), bits);
    }

    /** bf16 patterns on a line where neighbours differ by 1 (sign-magnitude to two's complement); ±0 coincide. */
    static long ordered(short bits) {
        int b = bits & 0xFFFF;
        return (b & 0x8000) != 0 ? -(long) (b & 0x7FFF) : b;
    }

    static String hex16(short v) {
        return String.format("0x%04x", v & 0xFFFF);
    }

    static String coordinates(long[] at) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < at.length; i++) {
            b.append(i == 0 ? "" : ",").append(at[i]);
        }
        return b.append(']').toString();
    }

    /** [b,h,s] of token row b·H·S + h·S + s. */
    static long[] rowCoordinates(KvTensor x, long row) {
        return rowCoordinates(x.heads(), x.tokens(), row);
    }

    static long[] rowCoordinates(int heads, int tokens, long row) {
        long bh = row / tokens;
        return new long[] {bh / heads, bh % heads, row % tokens};
    }

    static String row(KvTensor x, long row) {
        return coordinates(rowCoordinates(x, row));
    }

    static long[] elementCoordinates(KvTensor x, long i) {
        return elementCoordinates(x.heads(), x.tokens(), x.dim(), i);
    }

    static long[] elementCoordinates(int heads, int tokens, int dim, long i) {
        long[] r = rowCoordinates(heads, tokens, i / dim);
        return new long[] {r[0], r[1], r[2], i % dim};
    }

    /** [stage,b,h,k,d] of centroid value i of stage t. */
    static String centroid(KvTensor x, QuantConfig cfg, int t, long i) {
        long per = (long) cfg.centroids() * x.dim();
        long bh = i / per;
        return coordinates(new long[] {t, bh / x.heads(), bh % x.heads(), i / x.dim() % cfg.centroids(), i % x.dim()});
    }
}
