package io.qvg4j.gpu;

import io.qvg4j.golden.GoldenCheck;
import io.qvg4j.golden.GoldenFile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The OpenCL codec reproduces every synthetic case of the golden file (the cache streams run on the CPU). */
class OpenClGoldenTest {
    @Test
    void syntheticCasesEqualTheGoldenFile() throws IOException {
        assumeTrue(OpenCl.available(), "no OpenCL platform: the GPU tests are skipped");
        GoldenCheck check = new GoldenCheck(GoldenFile.read(GoldenFile.locate(Path.of(""))));
        try (OpenClCodec codec = OpenClCodec.open(2, Integer.getInteger("qvg4j.device", 0))) {
            List<String> failures = check.synthetic(codec);
            assertTrue(failures.isEmpty(), () -> GoldenCheck.report("opencl", failures));
        }
    }
}
