package io.qvg4j.gpu;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The quantizer's division by multiplication ({@link DeviceKernels.Divisor}, qvg.cl's {@code quotient},
 * the same unsigned arithmetic) equals integer division for every dividend below 2^31: each divisor is
 * checked at every multiple's neighbours in its range ends, at the top of the range and at random points.
 */
class DivisorTest {
    private static long quotient(long a, DeviceKernels.Divisor d) {
        return (a * Integer.toUnsignedLong(d.magic())) >>> d.shift();
    }

    private static void check(int d, long a) {
        assertEquals(a / d, quotient(a, DeviceKernels.Divisor.of(d)), a + " / " + d);
    }

    @Test
    void equalsIntegerDivisionBelow2To31() {
        SplittableRandom r = new SplittableRandom(5);
        int[] fixed = {1, 2, 3, 4, 5, 7, 100, 127, 128, 129, 1000, 7040, 29640, 65535, 65536, 65537, 1 << 20,
                (1 << 30) + 1, Integer.MAX_VALUE - 1, Integer.MAX_VALUE};
        int[] divisors = new int[fixed.length + 200];
        System.arraycopy(fixed, 0, divisors, 0, fixed.length);
        for (int i = fixed.length; i < divisors.length; i++) {
            divisors[i] = 1 + r.nextInt(i % 2 == 0 ? 1 << 16 : Integer.MAX_VALUE);
        }
        long top = Integer.MAX_VALUE;
        for (int d : divisors) {
            for (long k = 0; k <= 2000; k++) {
                for (long a : new long[]{k * d - 1, k * d, k * d + 1, top / d * d - k * d, top / d * d - k * d - 1}) {
                    if (a >= 0 && a <= top) {
                        check(d, a);
                    }
                }
            }
            check(d, top);
            for (int i = 0; i < 2000; i++) {
                check(d, r.nextLong(top + 1));
            }
        }
    }
}
