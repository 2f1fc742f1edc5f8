package io.qvg4j.gpu;

import io.qvg4j.golden.GoldenCheck;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.spi.Implementations;
import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenCL codec reproduces every synthetic case of the golden file, and the cache streams quantized by
 * it (attended by the reference attention kernels: attention runs on the CPU).
 */
class OpenClGoldenTest {
    @Test
    void syntheticCasesAndStreamsEqualTheGoldenFile() throws IOException {
        Require.openCl(OpenCl.available());
        GoldenCheck check = new GoldenCheck(GoldenFile.read(GoldenFile.locate(Path.of(""))));
        try (OpenClCodec codec = OpenClCodec.open(2, Integer.getInteger("qvg4j.device", 0))) {
            List<String> failures = new ArrayList<>(check.synthetic(codec));
            failures.addAll(check.attention(codec, Implementations.REFERENCE.attention()));
            assertTrue(failures.isEmpty(), () -> GoldenCheck.report("opencl", failures));
        }
    }
}
