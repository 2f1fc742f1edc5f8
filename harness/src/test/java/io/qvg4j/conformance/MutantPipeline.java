package io.qvg4j.conformance;

import io.qvg4j.algorithm.SplitMix64;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.Fp8E4M3;
import io.qvg4j.numeric.Rounding;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;

/**
 * A copy of the whole pipeline (SPEC §2–§7) written from SPEC.md in one file, with a switch per deliberate
 * misreading of a rule. {@link Mutant#NONE} must give the reference's bytes on every vector (so the copy is
 * faithful); each other mutant must fail at least one vector (so the suite catches that misreading).
 */
final class MutantPipeline implements VectorSuite.Implementation {

    enum Mutant {
        NONE("", "the faithful copy"),
        BF16_TRUNCATE("§2.1", "bf16 by truncation instead of round to nearest even"),
        BF16_TIES_AWAY("§2.1", "bf16 ties rounded away from zero instead of to even"),
        FP8_NAN_ON_OVERFLOW("§2.2", "FP8 above 448 gives NaN (PyTorch's conversion) instead of saturating"),
        FP8_LOSES_NEGATIVE_ZERO("§2.2", "FP8 of −0 and of tiny negatives is 0x00 instead of 0x80"),
        FP8_TIES_AWAY("§2.2", "FP8 ties rounded away from zero instead of to even"),
        IEEE_DIVISION("§2.3", "in-kernel a ⊘ b as IEEE a / b instead of a · (1/b)"),
        ROUND_HALF_EVEN("§2.4", "integer rounding half to even (Math.rint)"),
        ROUND_HALF_UP("§2.4", "integer rounding half up (Math.round)"),
        SYM_NAN_TO_MINUS_M("§2.5", "symmetric clamp maps NaN to −m"),
        ASYM_NAN_TO_QMAX("§2.5", "asymmetric clamp maps NaN to qmax"),
        SCALE_FLOOR_FMAXF("§2.5", "the scale floor maps a NaN scale to 1e−10 (fmaxf)"),
        MINMAX_SKIP_NAN("§2.6", "block min/max skip NaN (fminf/fmaxf)"),
        MINMAX_ZEROS_UNORDERED("§2.6", "block min/max treat −0 and +0 as equal (the first one stays)"),
        INIT_SIGNED_REMAINDER("§3.1", "initial index floorMod(next, S) instead of the unsigned remainder"),
        INIT_HEAD_MAJOR("§3.1", "SplitMix64 draws head by head, then stage"),
        ASSIGN_TIES_TO_HIGHEST("§3.2", "assignment ties go to the highest index (<=)"),
        ASSIGN_MULTIPLY_ADD("§3.2", "k-means dot products as multiply-then-add instead of FMA"),
        ASSIGN_FUSED_SCORE("§3.2", "score fused: fma(−2, dot, norm)"),
        ASSIGN_REVERSED_SUM("§3.2", "dot products summed from d = D−1 down"),
        UPDATE_FLOAT_SUM("§3.3", "cluster sums in float instead of double"),
        UPDATE_EMPTY_TO_ZERO("§3.3", "an empty cluster's centroid becomes 0"),
        UPDATE_KERNEL_DIVISION("§3.3", "centroid mean as sum · (1/count) instead of IEEE division"),
        STOP_AT_OR_BELOW("§3.4", "stop when the change rate is <= tol instead of <"),
        STOP_ON_FIRST_HEAD("§3.4", "change rate of the first head instead of pooled over all heads"),
        STOP_FROM_FIRST_ITERATION("§3.4", "stop test from the first iteration"),
        STOP_RETURNS_UPDATED("§3.4", "on a stop, the centroids updated from the last ids"),
        EXHAUSTED_RETURNS_ASSIGNED("§3.4", "when iterations run out, the centroids the last ids were assigned to"),
        ITERATIONS_COUNT_IT("§3.4", "on a stop the count is it instead of it + 1"),
        RESIDUAL_UNROUNDED("§4", "residual kept in fp32, not rounded to bf16"),
        STAGES_CLUSTER_INPUT("§5", "every stage's k-means runs on X instead of the residual"),
        STAGES_SHARE_INIT("§5", "every stage starts from stage 1's initial indices"),
        BLOCKS_STRIDED("§6.1", "block j holds channels j, j + D/G, … instead of G consecutive ones"),
        SYM_UNROUNDED_SCALE("§6.2", "FP8 symmetric quantization with the unrounded scale"),
        SYM_FLOOR_2_POW_MINUS_9("§6.2", "scale floor 2^−9 (the baselines') instead of 1e−10"),
        ASYM_UNROUNDED_ZERO("§6.3", "asymmetric quantization with the unrounded minimum"),
        ASYM_SUBTRACT_AFTER("§6.3", "x·(1/s) − z·(1/s) instead of (x − z)·(1/s)"),
        BF16_SCALES_ROUNDED("§6.4", "bf16 scales: quantize with the rounded scale"),
        PACK_LSB_FIRST("§6.5", "codes packed LSB-first"),
        DEQ_ROUND_EACH_STAGE("§7", "dequantization rounds to bf16 after each stage"),
        DEQ_REVERSED_STAGES("§7", "dequantization adds the stages last to first"),
        DEQ_DISTRIBUTED("§7", "symmetric residual code·s − m·s instead of (code − m)·s");

        final String section;
        final String misreading;

        Mutant(String section, String misreading) {
            this.section = section;
            this.misreading = misreading;
        }
    }

    private final Mutant m;

    MutantPipeline(Mutant m) {
        this.m = m;
    }

    // ---- §2 primitives ----

    float bf16(float f) {
        if (f != f) {
            return Bf16.toFloat(Bf16.CANONICAL_NAN);
        }
        int b = Float.floatToRawIntBits(f);
        return switch (m) {
            case BF16_TRUNCATE -> Float.intBitsToFloat(b & 0xFFFF0000);
            case BF16_TIES_AWAY -> Float.intBitsToFloat((b + 0x8000) & 0xFFFF0000);
            default -> Bf16.round(f);
        };
    }

    static short bits(float bf16Value) {
        return Bf16.fromFloat(bf16Value);
    }

    byte fp8(float x) {
        byte c = Fp8E4M3.encode(x);
        if (m == Mutant.FP8_NAN_ON_OVERFLOW && Math.abs(x) > 448f) {
            return 0x7F;
        }
        if (m == Mutant.FP8_LOSES_NEGATIVE_ZERO && c == (byte) 0x80) {
            return 0;
        }
        if (m == Mutant.FP8_TIES_AWAY && Float.isFinite(x) && Math.abs(x) <= 448f) {
            int mag = c & 0x7F;
            for (int k = Math.max(0, mag - 1); k <= mag && k < 0x7E; k++) {
                double mid = ((double) Fp8E4M3.decode((byte) k) + Fp8E4M3.decode((byte) (k + 1))) / 2;
                if (Math.abs((double) x) == mid) {
                    return (byte) ((c & 0x80) | (k + 1));
                }
            }
        }
        return c;
    }

    float div(float a, float b) {
        return m == Mutant.IEEE_DIVISION ? a / b : a * (1.0f / b);
    }

    float round(float y) {
        return switch (m) {
            case ROUND_HALF_EVEN -> (float) Math.rint(y);
            case ROUND_HALF_UP -> (float) Math.floor((double) y + 0.5);
            default -> Rounding.roundHalfAway(y);
        };
    }

    float max(float a, float b) {
        if (m == Mutant.MINMAX_SKIP_NAN) {
            return a != a ? b : b != b ? a : Math.max(a, b);
        }
        if (m == Mutant.MINMAX_ZEROS_UNORDERED) {
            return a != a || b != b ? Float.NaN : b > a ? b : a;
        }
        return Math.max(a, b);
    }

    float min(float a, float b) {
        if (m == Mutant.MINMAX_SKIP_NAN) {
            return a != a ? b : b != b ? a : Math.min(a, b);
        }
        if (m == Mutant.MINMAX_ZEROS_UNORDERED) {
            return a != a || b != b ? Float.NaN : b < a ? b : a;
        }
        return Math.min(a, b);
    }

    float floor(float scale, float floor) {
        return m == Mutant.SCALE_FLOOR_FMAXF && scale != scale ? floor : Math.max(scale, floor);
    }

    // ---- the pipeline ----

    @Override
    public VectorSuite.Outputs run(VectorSuite.Vector v) {
        KvTensor x = v.x();
        QuantConfig c = v.config();
        int heads = x.headCount(), S = x.tokens(), D = x.dim(), kc = c.centroids(), T = c.stages();
        int[][][] init = v.kind() == VectorSuite.Kind.PIPELINE ? init(v.seed(), T, heads, kc, S) : null;
        float[][] residual = new float[heads][];
        float[][] input = new float[heads][];
        for (int bh = 0; bh < heads; bh++) {
            residual[bh] = x.headAsFloats(bh);
            input[bh] = x.headAsFloats(bh);
        }
        byte[][] keptIds = new byte[T][heads * S];
        short[][] keptCent = new short[T][heads * kc * D];
        int[] iterations = new int[T];
        for (int t = 0; t < T; t++) {
            int[][] ids = new int[heads][S];
            float[][] cent = new float[heads][kc * D];
            if (init == null) {
                for (int bh = 0; bh < heads; bh++) {
                    for (int n = 0; n < S; n++) {
                        ids[bh][n] = v.ids()[t][bh * S + n] & 0xFF;
                    }
                    Bf16.toFloats(v.cent()[t], bh * kc * D, cent[bh], 0, kc * D);
                }
            } else {
                float[][] points = m == Mutant.STAGES_CLUSTER_INPUT ? input : residual;
                iterations[t] = kmeans(points, S, D, kc, c.maxIters(), c.tolerance(), init[m == Mutant.STAGES_SHARE_INIT ? 0 : t],
                        ids, cent);
            }
            for (int bh = 0; bh < heads; bh++) {
                for (int n = 0; n < S; n++) {
                    keptIds[t][bh * S + n] = (byte) ids[bh][n];
                    for (int d = 0; d < D; d++) {
                        float r = residual[bh][n * D + d] - cent[bh][ids[bh][n] * D + d];
                        residual[bh][n * D + d] = m == Mutant.RESIDUAL_UNROUNDED ? r : bf16(r);
                    }
                }
                for (int i = 0; i < kc * D; i++) {
                    keptCent[t][bh * kc * D + i] = bits(cent[bh][i]);
                }
            }
        }
        int rowBytes = c.packedBytesPerRow(D);
        int blocks = c.blocksPerRow(D);
        int sb = c.scaleFormat().bytes();
        byte[] packed = new byte[heads * S * rowBytes];
        byte[] scales = new byte[heads * S * blocks * sb];
        byte[] zeros = c.asymmetric() ? new byte[scales.length] : null;
        int[] codes = new int[D];
        for (int bh = 0; bh < heads; bh++) {
            for (int n = 0; n < S; n++) {
                int row = bh * S + n;
                for (int j = 0; j < blocks; j++) {
                    block(residual[bh], n * D, D, j, c, codes, scales, zeros, (row * blocks + j) * sb);
                }
                pack(codes, c.bits(), packed, row * rowBytes);
            }
        }
        QuantizedSpan span = new QuantizedSpan(c, x.batch(), x.heads(), S, D, keptIds, keptCent, packed, scales, zeros,
                init == null ? new int[T] : iterations);
        return new VectorSuite.Outputs(init, span, dequantize(span));
    }

    /** §3.1. */
    int[][][] init(long seed, int T, int heads, int kc, int S) {
        SplitMix64 rng = new SplitMix64(seed);
        int[][][] init = new int[T][heads][kc];
        for (int a = 0; a < (m == Mutant.INIT_HEAD_MAJOR ? heads : T); a++) {
            for (int b = 0; b < (m == Mutant.INIT_HEAD_MAJOR ? T : heads); b++) {
                for (int k = 0; k < kc; k++) {
                    long next = rng.next();
                    int index = (int) (m == Mutant.INIT_SIGNED_REMAINDER ? Math.floorMod(next, (long) S) : Long.remainderUnsigned(next, S));
                    if (m == Mutant.INIT_HEAD_MAJOR) {
                        init[b][a][k] = index;
                    } else {
                        init[a][b][k] = index;
                    }
                }
            }
        }
        return init;
    }

    float dot(float[] a, int ao, float[] b, int bo, int D) {
        float acc = 0f;
        for (int i = 0; i < D; i++) {
            int d = m == Mutant.ASSIGN_REVERSED_SUM ? D - 1 - i : i;
            acc = m == Mutant.ASSIGN_MULTIPLY_ADD ? acc + a[ao + d] * b[bo + d] : Math.fma(a[ao + d], b[bo + d], acc);
        }
        return acc;
    }

    /** §3.2–§3.4 over all heads; returns the iteration count, writes the ids and the centroid tables. */
    int kmeans(float[][] x, int S, int D, int kc, int maxIters, float tol, int[][] init, int[][] idsOut, float[][] centOut) {
        int heads = x.length;
        float[][] c = new float[heads][kc * D];
        for (int bh = 0; bh < heads; bh++) {
            for (int k = 0; k < kc; k++) {
                System.arraycopy(x[bh], init[bh][k] * D, c[bh], k * D, D);
            }
        }
        int[][][] ids = new int[2][heads][S];
        float perToken = 1.0f / (float) ((long) heads * S);
        int slot = 0;
        float[][] assignedTo = c;
        for (int it = 0; it < maxIters; it++) {
            assign(x, S, D, kc, c, ids[slot]);
            assignedTo = c;
            if (it > 0 || m == Mutant.STOP_FROM_FIRST_ITERATION) {
                long changed = 0;
                for (int bh = 0; bh < (m == Mutant.STOP_ON_FIRST_HEAD ? 1 : heads); bh++) {
                    for (int n = 0; n < S; n++) {
                        changed += ids[0][bh][n] != ids[1][bh][n] ? 1 : 0;
                    }
                }
                float rate = (float) changed * (m == Mutant.STOP_ON_FIRST_HEAD ? 1.0f / (float) S : perToken);
                if (m == Mutant.STOP_AT_OR_BELOW ? rate <= tol : rate < tol) {
                    float[][] result = m == Mutant.STOP_RETURNS_UPDATED ? update(x, S, D, kc, c, ids[slot]) : c;
                    copy(ids[slot], result, idsOut, centOut);
                    return m == Mutant.ITERATIONS_COUNT_IT ? it : it + 1;
                }
            }
            c = update(x, S, D, kc, c, ids[slot]);
            slot = 1 - slot;
        }
        copy(ids[1 - slot], m == Mutant.EXHAUSTED_RETURNS_ASSIGNED ? assignedTo : c, idsOut, centOut);
        return maxIters;
    }

    private static void copy(int[][] ids, float[][] c, int[][] idsOut, float[][] centOut) {
        for (int bh = 0; bh < ids.length; bh++) {
            System.arraycopy(ids[bh], 0, idsOut[bh], 0, ids[bh].length);
            System.arraycopy(c[bh], 0, centOut[bh], 0, c[bh].length);
        }
    }

    void assign(float[][] x, int S, int D, int kc, float[][] c, int[][] ids) {
        for (int bh = 0; bh < x.length; bh++) {
            float[] norms = new float[kc];
            for (int k = 0; k < kc; k++) {
                norms[k] = dot(c[bh], k * D, c[bh], k * D, D);
            }
            for (int n = 0; n < S; n++) {
                float best = Float.POSITIVE_INFINITY;
                int bestK = 0;
                for (int k = 0; k < kc; k++) {
                    float dot = dot(x[bh], n * D, c[bh], k * D, D);
                    float score = m == Mutant.ASSIGN_FUSED_SCORE ? Math.fma(-2f, dot, norms[k]) : norms[k] - 2f * dot;
                    if (m == Mutant.ASSIGN_TIES_TO_HIGHEST ? score <= best : score < best) {
                        best = score;
                        bestK = k;
                    }
                }
                ids[bh][n] = bestK;
            }
        }
    }

    float[][] update(float[][] x, int S, int D, int kc, float[][] c, int[][] ids) {
        float[][] next = new float[x.length][kc * D];
        for (int bh = 0; bh < x.length; bh++) {
            double[] sums = new double[kc * D];
            float[] fsums = new float[kc * D];
            int[] counts = new int[kc];
            for (int n = 0; n < S; n++) {
                int k = ids[bh][n];
                counts[k]++;
                for (int d = 0; d < D; d++) {
                    sums[k * D + d] += x[bh][n * D + d];
                    fsums[k * D + d] += x[bh][n * D + d];
                }
            }
            for (int k = 0; k < kc; k++) {
                for (int d = 0; d < D; d++) {
                    int i = k * D + d;
                    if (counts[k] == 0) {
                        next[bh][i] = m == Mutant.UPDATE_EMPTY_TO_ZERO ? 0f : c[bh][i];
                        continue;
                    }
                    float sum = m == Mutant.UPDATE_FLOAT_SUM ? fsums[i] : (float) sums[i];
                    float count = counts[k];
                    next[bh][i] = bf16(m == Mutant.UPDATE_KERNEL_DIVISION ? sum * (1.0f / count) : sum / count);
                }
            }
        }
        return next;
    }

    /** §6.1–§6.4: block j of one token row; codes into {@code codes} at the block's channels. */
    void block(float[] r, int rowOffset, int D, int j, QuantConfig c, int[] codes, byte[] scales, byte[] zeros, int at) {
        int g = c.groupSize();
        int[] ch = new int[g];
        for (int i = 0; i < g; i++) {
            ch[i] = m == Mutant.BLOCKS_STRIDED ? j + i * (D / g) : j * g + i;
        }
        float floorValue = m == Mutant.SYM_FLOOR_2_POW_MINUS_9 ? 0x1p-9f : 1e-10f;
        boolean fp8 = c.scaleFormat() == ScaleFormat.FP8_E4M3;
        if (!c.asymmetric()) {
            int mm = c.symmetricMax();
            float amax = 0f;
            for (int i = 0; i < g; i++) {
                amax = max(amax, Math.abs(r[rowOffset + ch[i]]));
            }
            float scale = floor(div(amax, mm), floorValue);
            float s = store(scale, fp8, scales, at, m == Mutant.SYM_UNROUNDED_SCALE);
            for (int i = 0; i < g; i++) {
                float y = div(r[rowOffset + ch[i]], s);
                codes[ch[i]] = (y != y ? (m == Mutant.SYM_NAN_TO_MINUS_M ? -mm : mm) : clamp(round(y), -mm, mm)) + mm;
            }
            return;
        }
        int qmax = c.asymmetricMax();
        float mn = r[rowOffset + ch[0]], mx = mn;
        for (int i = 1; i < g; i++) {
            mn = min(mn, r[rowOffset + ch[i]]);
            mx = max(mx, r[rowOffset + ch[i]]);
        }
        float scale = floor(div(mx - mn, qmax), floorValue);
        float s = store(scale, fp8, scales, at, false);
        float z = store(mn, fp8, zeros, at, m == Mutant.ASYM_UNROUNDED_ZERO);
        float recip = 1.0f / s;
        for (int i = 0; i < g; i++) {
            float xv = r[rowOffset + ch[i]];
            float y = m == Mutant.ASYM_SUBTRACT_AFTER ? xv * recip - z * recip : div(xv - z, s);
            codes[ch[i]] = y != y ? (m == Mutant.ASYM_NAN_TO_QMAX ? qmax : 0) : clamp(round(y), 0, qmax);
        }
    }

    /** Stores a scale or zero point and returns the value the quantizer uses (§6.2, §6.4). */
    float store(float v, boolean fp8, byte[] out, int at, boolean unrounded) {
        if (fp8) {
            byte code = fp8(v);
            out[at] = code;
            return unrounded ? v : Fp8E4M3.decode(code);
        }
        short b = bits(bf16(v));
        out[at] = (byte) b;
        out[at + 1] = (byte) (b >>> 8);
        return m == Mutant.BF16_SCALES_ROUNDED ? Bf16.toFloat(b) : v;
    }

    private static int clamp(float rounded, int lo, int hi) {
        return (int) Math.max(lo, Math.min(hi, rounded));
    }

    /** §6.5: one token's codes as a bit stream, MSB-first. */
    void pack(int[] codes, int bits, byte[] out, int at) {
        int bit = 0;
        for (int code : codes) {
            for (int k = 0; k < bits; k++) {
                int value = m == Mutant.PACK_LSB_FIRST ? (code >>> k) & 1 : (code >>> (bits - 1 - k)) & 1;
                int pos = at * 8 + bit++;
                int shift = m == Mutant.PACK_LSB_FIRST ? pos % 8 : 7 - pos % 8;
                out[pos / 8] |= (byte) (value << shift);
            }
        }
    }

    /** §7. */
    short[] dequantize(QuantizedSpan s) {
        QuantConfig c = s.config();
        int D = s.dim(), T = c.stages(), blocks = c.blocksPerRow(D), g = c.groupSize(), mm = c.symmetricMax();
        short[] out = new short[s.headCount() * s.tokens() * D];
        int[] codes = new int[D];
        for (int row = 0; row < s.headCount() * s.tokens(); row++) {
            int bh = row / s.tokens();
            io.qvg4j.algorithm.BitPacking.unpack(s.packed(), row * c.packedBytesPerRow(D), D, c.bits(), codes, 0);
            for (int d = 0; d < D; d++) {
                int b = row * blocks + d / g;
                float sc = s.scale(b);
                float acc = c.asymmetric() ? codes[d] * sc + s.zero(b)
                        : m == Mutant.DEQ_DISTRIBUTED ? codes[d] * sc - mm * sc : (codes[d] - mm) * sc;
                for (int i = 0; i < T; i++) {
                    int t = m == Mutant.DEQ_REVERSED_STAGES ? T - 1 - i : i;
                    acc += s.centroid(t, bh, s.clusterId(t, row), d);
                    if (m == Mutant.DEQ_ROUND_EACH_STAGE) {
                        acc = bf16(acc);
                    }
                }
                out[row * D + d] = bits(bf16(acc));
            }
        }
        return out;
    }
}
