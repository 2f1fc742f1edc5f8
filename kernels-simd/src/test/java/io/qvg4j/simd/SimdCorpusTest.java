package io.qvg4j.simd;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.conformance.ConformanceRunner;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SIMD kernels pass every case of the official corpus (SPEC §11) and reproduce its golden parts (SPEC §13). */
class SimdCorpusTest {
    @Test
    void everyCorpusCasePasses() throws IOException {
        Require.simd();
        List<ConformanceRunner.Result> results;
        try (CpuCodec codec = new CpuCodec(SimdKernels.create(), 2)) {
            results = ConformanceRunner.runAll(codec, GoldenFile.locate(Path.of("")).getParent());
        }
        assertEquals(7, results.size(), "cases in the corpus");
        List<String> problems = ConformanceRunner.problems(results);
        assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
    }
}
