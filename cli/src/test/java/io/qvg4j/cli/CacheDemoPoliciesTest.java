package io.qvg4j.cli;

import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code qvg cache-demo} with an age schedule (SPEC §16.3) and with eviction by salience (SPEC §16.4). */
class CacheDemoPoliciesTest {

    /**
     * 16 frames of 440 tokens, sink 1, spans [1,5), [5,9), [9,13) quantized at INT4 when complete (after frames 5, 9
     * and 13), schedule INT2 at age 2, ids+centroids at age 6: at the end their ages are 11, 7 and 3. Bytes by hand
     * (SPEC §8, K+V): sink 2·4·440·128·2 = 901 120; recent frames 13–15, 2 703 360; per tensor a 1 760-token span holds
     * ids 7 040 + centroids 262 144 = 269 184, plus codes 225 280 and scales 14 080 at INT2 = 508 544; so
     * 2·(2·269 184 + 508 544) = 2 093 824 quantized, 5 698 304 bytes = 5.434 MiB in all.
     */
    @Test
    void spansStepDownWithAge() {
        CliRun run = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "packcache", "--decay", "4,2:2,6:0",
                "--frame-tokens", "440", "--queries", "4", "--impl", "reference", "--attention", "reference", "--threads", "2");
        assertEquals(0, run.exit(), run.err());
        String out = run.out();
        assertTrue(out.contains("age schedule: age 2 -> INT2, age 6 -> ids+centroids"), out);
        assertTrue(out.contains("span 0 frames [1,4] (ids+centroids only): "), out);
        assertTrue(out.contains("span 1 frames [5,8] (ids+centroids only): "), out);
        assertTrue(out.contains("span 2 frames [9,12] (INT2): "), out);
        assertTrue(out.contains("5.434 MiB held vs 13.750 MiB"), out);
        assertTrue(out.contains("bf16 sink 0.859 MiB + bf16 recent 2.578 MiB + quantized 1.997 MiB"), out);
    }

    @Test
    void evictsBySalienceFromAFileOrTheProxy(@TempDir Path dir) throws Exception {
        Path scores = npyFloat32(dir.resolve("s.npy"), 7040, 1);
        CliRun run = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "hy-worldplay", "--span-frames", "2",
                "--frame-tokens", "880", "--queries", "4", "--salience", scores.toString(), "--token-budget", "3520",
                "--impl", "reference", "--attention", "reference", "--threads", "2");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("eviction by salience: 3520 tokens, newest 2 frames protected"), run.out());
        assertTrue(run.out().contains("(K+V, 4 live frames = 3520 tokens)"), run.out());
        assertTrue(run.out().contains("over all 7040 streamed tokens"), run.out());
        CliRun proxy = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "bf16", "--frame-tokens", "880",
                "--queries", "4", "--salience-proxy", "own-frame", "--token-budget", "2640", "--attention", "reference");
        assertEquals(0, proxy.exit(), proxy.err());
        assertTrue(proxy.out().contains("= 2640 tokens)"), proxy.out());
    }

    @Test
    void badSalienceIsOneLineExitTwo(@TempDir Path dir) throws Exception {
        String[][] cases = {
                {npyFloat32(dir.resolve("short.npy"), 7000, 1).toString(), "salience is float32 [7000]; expected float32 [7040] or [4, 7040]"},
                {npyFloat32(dir.resolve("nan.npy"), 7040, Float.NaN).toString(), "salience score 0 is NaN; scores must be finite"}};
        for (String[] c : cases) {
            CliRun run = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "bf16", "--frame-tokens", "880",
                    "--salience", c[0], "--token-budget", "2640");
            assertEquals(2, run.exit(), run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertTrue(run.err().contains(c[1]), run.err());
        }
        CliRun noBudget = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--salience-proxy", "own-frame");
        assertEquals(2, noBudget.exit());
        assertTrue(noBudget.err().contains("needs --token-budget"), noBudget.err());
        CliRun badSchedule = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--decay", "2,4:4");
        assertEquals(2, badSchedule.exit());
        assertTrue(badSchedule.err().contains("first step to 4 bits must be below the 2 bits"), badSchedule.err());
    }

    /** A float32 .npy of n scores: {@code first} then 1, 2, 3, … */
    private static Path npyFloat32(Path file, int n, float first) throws Exception {
        float[] s = new float[n];
        for (int i = 1; i < n; i++) {
            s[i] = i;
        }
        s[0] = first;
        Npy.write(file, NpyArray.ofFloat32("s", s, n));
        return file;
    }
}
