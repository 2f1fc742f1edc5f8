package io.qvg4j.gpu;

import io.qvg4j.conformance.ConformanceRunner;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenCL codec passes every case of the official corpus (SPEC §11) and reproduces its golden parts (SPEC §13). */
class OpenClCorpusTest {
    @Test
    void everyCorpusCasePasses() throws IOException {
        Require.openCl(OpenCl.available());
        List<ConformanceRunner.Result> results;
        try (OpenClCodec codec = OpenClCodec.open(2, Integer.getInteger("qvg4j.device", 0))) {
            results = ConformanceRunner.runAll(codec, GoldenFile.locate(Path.of("")).getParent());
        }
        assertEquals(7, results.size(), "cases in the corpus");
        List<String> problems = ConformanceRunner.problems(results);
        assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
    }
}
