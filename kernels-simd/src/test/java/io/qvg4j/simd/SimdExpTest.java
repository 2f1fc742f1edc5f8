package io.qvg4j.simd;

import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link SimdAttention#exp} against {@code (float) StrictMath.exp((double) (s − m))} bit for bit, at 64 bits
 * and every width of {@code io.qvg4j.testkit.Widths}: special values and every bound of fdlibm's branches, and
 * deterministic subsets of all floats; {@link #SWEEP} ({@code -Dqvg4j.exp.sweep=full}) takes every float whose
 * result is not trivially 0, 1 or +∞ at every width. {@link SimdExpSweepTest} takes every such float at the
 * preferred width in every run (see docs/cache.md).
 */
class SimdExpTest {
    /** {@code full}: {@link #mainRangeAtEveryWidth} takes every float instead of every 4 099th. */
    static final String SWEEP = "qvg4j.exp.sweep";

    /** The floats whose exponential is neither 0, 1 nor +∞ as a float: [−104, 89] without (−2^−25, 2^−25). */
    static final int POSITIVE_FROM = Float.floatToRawIntBits(0x1.0p-25f);
    static final int POSITIVE_TO = Float.floatToRawIntBits(89f);
    static final int NEGATIVE_FROM = Float.floatToRawIntBits(-0x1.0p-25f);
    static final int NEGATIVE_TO = Float.floatToRawIntBits(-104f);

    @BeforeEach
    void vectorApi() {
        Require.simd();
    }

    /**
     * The main range at every width: every 4 099th float (every float with {@link #SWEEP} = {@code full}).
     * Widths other than the preferred one are slow where the machine lacks them (emulated, or without
     * masks of 2 double lanes on AVX2), hence the subset.
     */
    @Test
    void mainRangeAtEveryWidth() throws Exception {
        sweepMainRange(SimdWidths.attention(), "full".equals(System.getProperty(SWEEP)) ? 1 : 4099);
    }

    /** Every 251st bit pattern of all 2^32 (both signs, NaNs, subnormals, the trivial results), from two offsets. */
    @Test
    void everyFloatPatternSampled() {
        for (int start : new int[]{0, 97}) {
            check(List.of(SimdAttention.create()), patterns(start, 251), 0f, "every 251st pattern from " + start);
        }
        check(SimdWidths.attention(), patterns(5, 65521), 0f, "every 65 521st pattern");
    }

    static float[] patterns(int start, int stride) {
        float[] x = new float[(int) ((0x1_0000_0000L - start + stride - 1) / stride)];
        for (int i = 0; i < x.length; i++) {
            x[i] = Float.intBitsToFloat((int) (start + (long) stride * i));
        }
        return x;
    }

    static void sweepMainRange(List<SimdAttention> widths, int stride) throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<Long> positive = pool.submit(() -> sweep(widths, POSITIVE_FROM, POSITIVE_TO, stride));
            Future<Long> negative = pool.submit(() -> sweep(widths, NEGATIVE_FROM, NEGATIVE_TO, stride));
            long checked = positive.get() + negative.get();
            // The range holds 528 M floats; a wrong bound would check far fewer or more.
            assertEquals((POSITIVE_TO - POSITIVE_FROM) / stride + 1 + (NEGATIVE_TO - NEGATIVE_FROM) / stride + 1,
                    checked, "floats checked");
        }
    }

    /**
     * ±0, subnormals, ±∞, NaNs of both signs (quiet, signalling, payloads), and 2 000 floats around each bound of
     * fdlibm's branches and of the float result (overflow, underflow to subnormal and to 0, the 1 + x path).
     */
    @Test
    void specialValuesAndEveryBound() {
        List<Float> x = new ArrayList<>(List.of(0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
                -Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY));
        for (int bits : new int[]{0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7fffffff, 0xffffffff,
                0x7fc12345, 0xff812345, 0x7fa00000}) {
            x.add(Float.intBitsToFloat(bits));
        }
        for (int bits = 1; bits < 0x00800000; bits += 4093) {
            x.add(Float.intBitsToFloat(bits));
            x.add(-Float.intBitsToFloat(bits));
        }
        double ln2 = Math.log(2);
        double[] bounds = {
                0x1.0p-28, 0x1.0p-25, 0x1.0p-24, // fdlibm's 1 + x path; the float result leaves 1
                Double.longBitsToDouble(0x3fd62e43_00000000L), 0.5 * ln2, // reduction from |x| > ln2 / 2
                Double.longBitsToDouble(0x3ff0a2b2_00000000L), 1.5 * ln2, // k = ±1 below, (int) (x/ln2 ± 0.5) above
                Double.longBitsToDouble(0x40862e42_00000000L), // fdlibm's filter of |x| ≥ 709.78
                0x1.62e42fefa39efp9, -0x1.74910d52d3051p9, // overflow and underflow thresholds
                -1021.5 * ln2, -1022.5 * ln2, // k < −1021: scaled by 2^(k+1000), then by 2^−1000
                Math.log(Float.MAX_VALUE), Math.log(0x1.0p-126), Math.log(0x1.0p-149), Math.log(0x1.0p-150), // float bounds
                1, 2, 10, 80, 100, 104, 700};
        for (double b : bounds) {
            for (float centre : new float[]{(float) b, (float) -b}) {
                float below = centre, above = centre;
                for (int i = 0; i < 1000; i++) {
                    x.add(below = Math.nextDown(below));
                    x.add(above = Math.nextUp(above));
                }
                x.add(centre);
            }
        }
        float[] values = new float[x.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = x.get(i);
        }
        check(SimdWidths.attention(), values, 0f, "special values and bounds");
        // The same through the subtraction of a maximum: s − m rounds once in fp32, then exp.
        check(SimdWidths.attention(), values, 1.75f, "special values and bounds, m = 1.75");
    }

    /** Floats {@code from, from ± stride, …} up to {@code to} (same sign) through every width; returns how many. */
    static long sweep(List<SimdAttention> widths, int from, int to, int stride) {
        int step = from < to ? stride : -stride; // bits grow with |x| for either sign
        float[] chunk = new float[1 << 16];
        long checked = 0;
        long bits = from;
        while (step > 0 ? bits <= to : bits >= to) {
            int n = 0;
            for (; n < chunk.length && (step > 0 ? bits <= to : bits >= to); n++, bits += step) {
                chunk[n] = Float.intBitsToFloat((int) bits);
            }
            check(widths, n == chunk.length ? chunk : Arrays.copyOf(chunk, n), 0f,
                    "sweep from " + Integer.toHexString(from));
            checked += n;
        }
        return checked;
    }

    /**
     * {@code exp} of each width over s (at offset 3, so that lanes start off the vector alignment and a tail
     * remains) against {@code (float) StrictMath.exp((double) (s − m))}.
     */
    static void check(List<SimdAttention> widths, float[] s, float m, String what) {
        int[] expected = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            expected[i] = Float.floatToRawIntBits((float) StrictMath.exp((double) (s[i] - m)));
        }
        float[] out = new float[s.length + 3];
        for (SimdAttention simd : widths) {
            System.arraycopy(s, 0, out, 3, s.length);
            simd.exp(out, 3, s.length, m);
            for (int i = 0; i < s.length; i++) {
                int actual = Float.floatToRawIntBits(out[3 + i]);
                if (actual != expected[i]) {
                    throw new AssertionError(what + ", " + simd.name() + ": exp(" + Float.toHexString(s[i]) + " − "
                            + Float.toHexString(m) + ") is 0x" + Integer.toHexString(actual) + ", expected 0x"
                            + Integer.toHexString(expected[i]));
                }
            }
        }
    }
}
