package io.qvg4j.golden;

import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantizedSpan;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scalar reference reproduces every synthetic case and cache-attention stream of
 * {@code conformance/golden.tsv} part for part (SPEC §13); the corpus cases are checked where the corpus
 * files can be read (module cli). A deliberate change of bytes regenerates the file with
 * {@code ./qvg golden --write} and says why in CHANGES.md.
 */
class GoldenTest {
    static Map<String, Map<String, String>> golden() throws IOException {
        return GoldenFile.read(GoldenFile.locate(Path.of("")));
    }

    @Test
    void syntheticCasesAndStreamsEqualTheGoldenFile() throws IOException {
        GoldenCheck check = new GoldenCheck(golden());
        List<String> failures = new ArrayList<>();
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 2)) {
            failures.addAll(check.synthetic(codec));
            failures.addAll(check.attention(codec, ScalarAttention.INSTANCE));
        }
        assertTrue(failures.isEmpty(), () -> GoldenCheck.report("reference", failures));
    }

    @Test
    void goldenFileHoldsEveryCase() throws IOException {
        Map<String, Map<String, String>> golden = golden();
        long synthetic = golden.keySet().stream().filter(n -> n.startsWith("synthetic/")).count();
        assertTrue(synthetic >= 20, synthetic + " synthetic cases in the golden file; at least 20 pin the rules");
        for (GoldenCase c : SyntheticCases.all()) {
            assertTrue(golden.containsKey(c.name()), c.name() + " is not in the golden file");
        }
    }

    private static GoldenCase synthetic(String name) {
        return SyntheticCases.all().stream().filter(c -> c.name().equals("synthetic/" + name)).findFirst().orElseThrow();
    }

    private static boolean contains(byte[] a, int value) {
        for (byte b : a) {
            if ((b & 0xFF) == value) {
                return true;
            }
        }
        return false;
    }

    /** The cases built for a rule still reach it, so a change of the data generator cannot quietly empty them. */
    @Test
    void syntheticCasesHitTheirRules() {
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            GoldenCase converges = synthetic("converges_int2_g64");
            QuantizedSpan c = codec.encode(converges.input(), converges.config(), converges.init());
            assertTrue(c.iterations()[0] < converges.config().maxIters(), "converges_int2_g64 must stop on the §3.4 test");

            GoldenCase inf = synthetic("inf_residual");
            assertTrue(contains(codec.encode(inf.input(), inf.config(), inf.init()).scales(), 0x7E),
                    "inf_residual: an infinite residual saturates its block scale to 448 (0x7E)");

            GoldenCase nan = synthetic("nan_residual_t2");
            QuantizedSpan n = codec.encode(nan.input(), nan.config(), nan.init());
            assertTrue(contains(n.scales(), 0x7F) && contains(n.zeros(), 0x7F),
                    "nan_residual_t2: a NaN in a block makes its scale and zero point NaN (0x7F)");

            GoldenCase tiny = synthetic("tiny_negative_zero_point");
            byte[][] ids = new byte[1][tiny.input().headCount() * tiny.input().tokens()];
            short[][] zero = new short[1][tiny.input().headCount() * tiny.config().centroids() * tiny.input().dim()];
            assertTrue(contains(codec.encodeWithClustering(tiny.input(), tiny.config(), ids, zero).zeros(), 0x80),
                    "tiny_negative_zero_point: a block minimum in (−2^−10, 0) gives the zero point −0 (0x80)");
        }
    }
}
