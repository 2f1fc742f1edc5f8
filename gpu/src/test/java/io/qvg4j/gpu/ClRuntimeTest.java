package io.qvg4j.gpu;

import io.qvg4j.testkit.Require;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Host ↔ device copies round-trip bit for bit, also through the pinned staging buffers: below their
 * threshold, inside one staging chunk, and over several chunks with a ragged end.
 */
class ClRuntimeTest {
    @Test
    void copiesRoundTripThroughTheStagingBuffers() {
        Require.openCl(OpenCl.available());
        SplittableRandom r = new SplittableRandom(11);
        try (ClRuntime cl = new ClRuntime(Integer.getInteger("qvg4j.device", 0))) {
            for (int n : new int[]{1000, (1 << 20) + 3, (70 << 20) + 5}) {
                byte[] bytes = new byte[n];
                for (int i = 0; i < n; i++) {
                    bytes[i] = (byte) r.nextInt();
                }
                cl_mem m = cl.upload(bytes);
                byte[] back = new byte[n];
                cl.read(m, back);
                ClRuntime.release(m);
                assertArrayEquals(bytes, back, n + " bytes");
            }
            for (int n : new int[]{1000, (1 << 19) + 1, (35 << 20) + 7}) {
                short[] shorts = new short[n];
                for (int i = 0; i < n; i++) {
                    shorts[i] = (short) r.nextInt();
                }
                cl_mem m = cl.upload(shorts);
                short[] back = new short[n];
                cl.read(m, back);
                ClRuntime.release(m);
                assertArrayEquals(shorts, back, n + " shorts");
            }
        }
    }
}
