package io.qvg4j.numeric;

import org.junit.jupiter.api.Test;

import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exhaustive checks of the number formats against independent oracles: every bf16 pattern, every FP8
 * and E2M1 code, and every midpoint between neighbouring codes with its float neighbours.
 */
class NumericFormatsTest {

    /** All finite bf16 values as floats, both signs. */
    private static float[] allFiniteBf16() {
        float[] out = new float[65536 - 256];
        int n = 0;
        for (int b = 0; b < 65536; b++) {
            if (!Bf16.isNonFinite((short) b)) {
                out[n++] = Bf16.toFloat((short) b);
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Nearest value of a sorted non-negative grid to |v|, ties broken by {@code evenTies} (even index) or away. */
    private static double nearestOnGrid(double[] grid, double a, boolean evenTies) {
        int hi = 0;
        while (hi < grid.length && grid[hi] < a) {
            hi++;
        }
        if (hi == 0) {
            return grid[0];
        }
        if (hi == grid.length) {
            return grid[grid.length - 1];
        }
        double dLo = a - grid[hi - 1];
        double dHi = grid[hi] - a;
        if (dLo < dHi) {
            return grid[hi - 1];
        }
        if (dHi < dLo) {
            return grid[hi];
        }
        return evenTies ? ((hi % 2 == 0) ? grid[hi] : grid[hi - 1]) : grid[hi];
    }

    @Test
    void bf16RoundTripsEveryPattern() {
        for (int b = 0; b < 65536; b++) {
            short bits = (short) b;
            float f = Bf16.toFloat(bits);
            if (Float.isNaN(f)) {
                assertEquals(0x7FC0, Bf16.fromFloat(f) & 0xFFFF, "every NaN is canonical: " + Integer.toHexString(b));
            } else {
                assertEquals(b, Bf16.fromFloat(f) & 0xFFFF, "pattern " + Integer.toHexString(b));
            }
        }
    }

    @Test
    void bf16RoundsToNearestEvenAroundEveryMidpoint() {
        for (int b = 0; b < 0x7F80; b++) {
            float lo = Bf16.toFloat((short) b);
            float hi = Bf16.toFloat((short) (b + 1));
            float mid = Float.intBitsToFloat(Float.floatToRawIntBits(lo) + 0x8000);
            int even = (b & 1) == 0 ? b : b + 1;
            for (int sign : new int[]{0, 0x8000}) {
                float s = sign == 0 ? 1f : -1f;
                assertEquals(even | sign, Bf16.fromFloat(s * mid) & 0xFFFF, "tie at " + mid);
                assertEquals(b | sign, Bf16.fromFloat(s * Math.nextDown(mid)) & 0xFFFF, "below " + mid);
                assertEquals((b + 1) | sign, Bf16.fromFloat(s * Math.nextUp(mid)) & 0xFFFF, "above " + mid);
                assertEquals(b | sign, Bf16.fromFloat(s * lo) & 0xFFFF);
                assertEquals((b + 1) | sign, Bf16.fromFloat(s * hi) & 0xFFFF);
            }
        }
        assertEquals(0x7F80, Bf16.fromFloat(Float.MAX_VALUE) & 0xFFFF, "overflow rounds to +inf");
    }

    @Test
    void fp8DecodesEveryCode() {
        for (int c = 0; c < 256; c++) {
            int e = (c >> 3) & 15;
            int m = c & 7;
            double expected = e == 15 && m == 7 ? Double.NaN
                    : e == 0 ? m * Math.pow(2, -9) : (1 + m / 8.0) * Math.pow(2, e - 7);
            expected = (c & 0x80) != 0 ? -expected : expected;
            float got = Fp8E4M3.decode((byte) c);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(got));
            } else {
                assertEquals(Float.floatToRawIntBits((float) expected), Float.floatToRawIntBits(got), "code " + c);
                assertEquals(c, Fp8E4M3.encode(got) & 0xFF, "encode(decode(" + c + "))");
            }
        }
        assertEquals(448f, Fp8E4M3.decode((byte) 0x7E));
    }

    private static double[] fp8Grid() {
        double[] grid = new double[127];
        for (int c = 0; c < 127; c++) {
            grid[c] = Fp8E4M3.decode((byte) c);
        }
        return grid;
    }

    /** Every bf16 value, every midpoint between FP8 codes and the floats next to it, and the specials. */
    private static TreeSet<Float> fp8Probes() {
        TreeSet<Float> probes = new TreeSet<>();
        for (float f : allFiniteBf16()) {
            probes.add(f);
        }
        double[] grid = fp8Grid();
        for (int c = 0; c < grid.length; c++) {
            float mid = (float) ((grid[c] + (c + 1 < grid.length ? grid[c + 1] : 480.0)) / 2);
            for (float p : new float[]{mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                probes.add(p);
                probes.add(-p);
            }
        }
        probes.add(Float.MAX_VALUE);
        probes.add(-Float.MAX_VALUE);
        probes.add(Float.MIN_VALUE);
        return probes;
    }

    @Test
    void fp8EncodeIsRoundToNearestEvenSaturating() {
        double[] grid = fp8Grid();
        for (float x : fp8Probes()) {
            double a = Math.abs((double) x);
            double nearest = a > 448 ? 448 : nearestOnGrid(grid, a, true);
            int code = Fp8E4M3.encode(x) & 0xFF;
            assertEquals(Math.copySign(nearest, x), Fp8E4M3.decode((byte) code), 0.0, "encode(" + x + ")");
            assertEquals(Float.floatToRawIntBits(x) < 0 ? 0x80 : 0, code & 0x80, "sign of " + x);
        }
        assertEquals(0x7E, Fp8E4M3.encode(Float.POSITIVE_INFINITY) & 0xFF);
        assertEquals(0xFE, Fp8E4M3.encode(Float.NEGATIVE_INFINITY) & 0xFF);
        assertEquals(0x7F, Fp8E4M3.encode(Float.NaN) & 0xFF);
        assertEquals(0x80, Fp8E4M3.encode(-0f) & 0xFF);
        assertEquals(0x00, Fp8E4M3.encode(0x1p-10f) & 0xFF, "2^-10 ties to even zero");
        assertEquals(0x01, Fp8E4M3.encode(Math.nextUp(0x1p-10f)) & 0xFF);
        assertEquals(0x7E, Fp8E4M3.encode(464f) & 0xFF, "464 ties to even 448");
        assertEquals(0x7E, Fp8E4M3.encode(1e30f) & 0xFF);
    }

    @Test
    void fp8RnaRoundsTiesAwayFromZero() {
        double[] grid = fp8Grid();
        for (float x : fp8Probes()) {
            double a = Math.abs((double) x);
            double expected = Math.copySign(a >= 448 ? 448 : nearestOnGrid(grid, a, false), x);
            assertEquals(Float.floatToRawIntBits((float) expected), Float.floatToRawIntBits(Fp8E4M3.roundRna(x)),
                    "roundRna(" + x + ")");
        }
        assertEquals(0.5f + 1 / 16f, Fp8E4M3.roundRna(0.53125f), "tie away from zero");
    }

    @Test
    void e2m1CodesAndTiesAway() {
        double[] grid = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
        for (int c = 0; c < 16; c++) {
            float v = E2M1.decode(c);
            assertEquals((c & 8) != 0 ? -grid[c & 7] : grid[c & 7], v, 0.0);
            assertEquals(c, E2M1.encode(v), "encode(decode(" + c + "))");
        }
        for (float x : allFiniteBf16()) {
            double a = Math.abs((double) x);
            double expected = Math.copySign(a >= 6 ? 6 : nearestOnGrid(grid, a, false), x);
            assertEquals(Float.floatToRawIntBits((float) expected), Float.floatToRawIntBits(E2M1.roundRna(x)),
                    "roundRna(" + x + ")");
        }
        assertEquals(0.5f, E2M1.roundRna(0.25f));
        assertEquals(3f, E2M1.roundRna(2.5f));
        assertEquals(6f, E2M1.roundRna(5f));
    }

    @Test
    void fp16RoundTripsEveryPattern() {
        for (int b = 0; b < 65536; b++) {
            float f = Fp16.toFloat((short) b);
            if (!Float.isNaN(f)) {
                assertEquals(b, Fp16.fromFloat(f) & 0xFFFF);
            }
        }
    }

    @Test
    void roundHalfAwayFromZero() {
        float[][] cases = {{0.5f, 1}, {-0.5f, -1}, {1.5f, 2}, {2.5f, 3}, {-2.5f, -3}, {0.49999997f, 0},
                {-0.49999997f, -0f}, {0f, 0f}, {-0f, -0f}, {8388607.5f, 8388608f}, {1e30f, 1e30f}};
        for (float[] c : cases) {
            assertEquals(Float.floatToRawIntBits(c[1]), Float.floatToRawIntBits(Rounding.roundHalfAway(c[0])), "round(" + c[0] + ")");
        }
        assertTrue(Float.isNaN(Rounding.roundHalfAway(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, Rounding.roundHalfAway(Float.POSITIVE_INFINITY));
    }

    @Test
    void kernelDivisionRoundsTwice() {
        assertEquals(Float.POSITIVE_INFINITY, Rounding.kernelDivide(1f, 0f));
        assertTrue(Float.isNaN(Rounding.kernelDivide(0f, 0f)));
        // 1/3 rounds first, so 3 ⊘ 3 is 3·RN(1/3) = 1 while 0.3 ⊘ 3 ≠ 0.3 / 3 in the last bit.
        assertEquals(1f, Rounding.kernelDivide(3f, 3f));
        int differ = 0;
        for (int i = 1; i < 1000; i++) {
            float a = i * 0.37f;
            differ += Rounding.kernelDivide(a, 3f) != a / 3f ? 1 : 0;
        }
        assertTrue(differ > 0, "a·RN(1/b) must differ from IEEE a/b for some a");
    }
}
