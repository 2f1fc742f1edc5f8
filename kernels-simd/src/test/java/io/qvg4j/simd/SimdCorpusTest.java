package io.qvg4j.simd;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.conformance.ConformanceRunner;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SIMD kernels pass every case of the official corpus (SPEC §11) and reproduce its golden parts (SPEC §13). */
class SimdCorpusTest {
    @Test
    void everyCorpusCasePasses() throws IOException {
        Require.simd();
        Path corpus = GoldenFile.locate(Path.of("")).getParent();
        List<String> failures = new ArrayList<>();
        List<ConformanceRunner.Result> results;
        try (CpuCodec codec = new CpuCodec(SimdKernels.create(), 2)) {
            results = ConformanceRunner.runAll(codec, corpus);
        }
        for (ConformanceRunner.Result r : results) {
            r.problems().forEach(p -> failures.add(r.testCase().name() + ": " + p));
            assertTrue(r.goldenDifferences() != null, "the corpus has a golden file");
        }
        assertEquals(7, results.size(), "cases in the corpus");
        assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
    }
}
