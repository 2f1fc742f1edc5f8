package io.qvg4j.simd;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.golden.GoldenCheck;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Widths;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SIMD kernels reproduce every synthetic case and cache-attention stream of the golden file, at every width. */
class SimdGoldenTest {
    @BeforeEach
    void vectorApi() {
        Require.simd();
    }

    @Test
    void everyWidthEqualsTheGoldenFile() throws IOException {
        GoldenCheck check = new GoldenCheck(GoldenFile.read(GoldenFile.locate(Path.of(""))));
        List<String> failures = new ArrayList<>();
        for (int bits : Widths.BITS) {
            try (CpuCodec codec = new CpuCodec(SimdWidths.kernels(bits), 2)) {
                String width = bits + "-bit: ";
                check.synthetic(codec).forEach(d -> failures.add(width + d));
                check.attention(codec, SimdWidths.attention(bits)).forEach(d -> failures.add(width + d));
            }
        }
        assertTrue(failures.isEmpty(), () -> GoldenCheck.report("simd", failures));
    }
}
