package io.qvg4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache demo on the shipped city sample. */
class CacheDemoCommandTest {

    @Test
    void streamsTheSampleThroughAQuantizedCache() {
        CliRun run = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "hy-worldplay",
                "--frame-tokens", "440", "--queries", "4", "--impl", "reference", "--attention", "reference", "--threads", "2");
        assertEquals(0, run.exit(), run.err());
        String out = run.out();
        assertTrue(out.contains("stream: 16 frames of 440 tokens"), out);
        assertTrue(out.contains("span 0 frames [0,7]: k-means iterations K [2] V [2]"), out);
        assertTrue(out.contains("span 1 frames [8,15]"), out);
        // Two spans of 3 520 tokens, K and V each: 2·2·(450 560 codes + 28 160 scales + 14 080 ids + 262 144 centroids)
        // = 3 019 776 bytes, against 2·7 040·4·128·2 bytes of bf16.
        assertTrue(out.contains("memory (K+V, 16 live frames = 7040 tokens): 2.880 MiB held vs 13.750 MiB for a bf16 cache, 4.77x smaller"), out);
        assertTrue(out.matches("(?s).*worst error/bound 0\\.[0-9]{3}.*"), out);
    }

    @Test
    void unknownPolicyIsOneLine() {
        CliRun run = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "nope");
        assertEquals(2, run.exit());
        assertTrue(run.err().startsWith("qvg: cache policy 'nope': unknown"), run.err());
    }
}
