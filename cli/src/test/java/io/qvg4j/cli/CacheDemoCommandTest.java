package io.qvg4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache demo on the shipped city sample: everything before the speed figures is deterministic and pinned. */
class CacheDemoCommandTest {

    /**
     * Two spans of 3 520 tokens, K and V each: 2·2·(450 560 codes + 28 160 scales + 14 080 ids + 262 144
     * centroids) = 3 019 776 bytes, against 2·7 040·4·128·2 bytes of bf16. The errors are pinned exactly.
     */
    static final String EXPECTED = """
            qvg cache-demo: policy hy-worldplay (span 8 frames, sink 0, keep-recent 0, window none), INT2 sym, G=64, T=1, Kc=256, 2 iter, tol=1.0E-4, warm start off
            stream: 16 frames of 440 tokens (1 pass over [1,4,7040,128]), H=4, D=128; quantizer reference (scalar Java), 2 threads; attention reference
            span 0 frames [0,7]: k-means iterations K [2] V [2]; rel-L2 K 0.3426 V 0.3572
            span 1 frames [8,15]: k-means iterations K [2] V [2]; rel-L2 K 0.3443 V 0.3613
            mean over 2 spans: stage-1 iterations K 2.00 V 2.00; rel-L2 K 0.3435 V 0.3592

            memory (K+V, 16 live frames = 7040 tokens): 2.880 MiB held vs 13.750 MiB for a bf16 cache, 4.77x smaller
              bf16 sink 0.000 MiB + bf16 recent 0.000 MiB + quantized 2.880 MiB (codes 1.719 MiB, scales 0.107 MiB, zeros 0.000 MiB, ids 0.054 MiB, centroids 1.000 MiB)

            attention (4 queries/head = K of the newest 4 tokens, over 7040 keys/head):
              vs full-precision bf16 attention: rel-L2 0.0170, max abs error 0.02056 (bound 6.918; worst error/bound 0.006)

            """;

    @Test
    void streamsTheSampleThroughAQuantizedCache() {
        CliRun run = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "hy-worldplay",
                "--frame-tokens", "440", "--queries", "4", "--impl", "reference", "--attention", "reference", "--threads", "2");
        assertEquals(0, run.exit(), run.err());
        String out = run.out();
        int speed = out.indexOf("speed: ingest ");
        assertTrue(speed > 0, out);
        assertEquals(EXPECTED, out.substring(0, speed), out);
    }

    @Test
    void unknownPolicyIsOneLine() {
        CliRun run = CliRun.of("cache-demo", "--data", CliRun.corpus().toString(), "--policy", "nope");
        assertEquals(2, run.exit());
        assertTrue(run.err().startsWith("qvg: cache policy 'nope': unknown"), run.err());
    }
}
