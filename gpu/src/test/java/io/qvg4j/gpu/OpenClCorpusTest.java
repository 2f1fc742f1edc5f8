package io.qvg4j.gpu;

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

/** The OpenCL codec passes every case of the official corpus (SPEC §11) and reproduces its golden parts (SPEC §13). */
class OpenClCorpusTest {
    @Test
    void everyCorpusCasePasses() throws IOException {
        Require.openCl(OpenCl.available());
        Path corpus = GoldenFile.locate(Path.of("")).getParent();
        List<String> failures = new ArrayList<>();
        List<ConformanceRunner.Result> results;
        try (OpenClCodec codec = OpenClCodec.open(2, Integer.getInteger("qvg4j.device", 0))) {
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
