package io.qvg4j.simd;

import io.qvg4j.golden.GoldenCheck;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.kernel.KernelCodec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The SIMD kernels reproduce every synthetic case and cache-attention stream of the golden file, at every width. */
class SimdGoldenTest {
    @BeforeEach
    void vectorApi() {
        assumeTrue(Widths.vectorModulePresent(), "jdk.incubator.vector is not in this JVM: SIMD golden test skipped");
    }

    @Test
    void everyWidthEqualsTheGoldenFile() throws IOException {
        GoldenCheck check = new GoldenCheck(GoldenFile.read(GoldenFile.locate(Path.of(""))));
        List<String> failures = new ArrayList<>();
        for (VectorSpecies<Float> species : List.of(FloatVector.SPECIES_128, FloatVector.SPECIES_256, FloatVector.SPECIES_512)) {
            try (KernelCodec codec = new KernelCodec(SimdKernels.of(species), 2)) {
                String width = species.vectorBitSize() + "-bit: ";
                check.synthetic(codec).forEach(d -> failures.add(width + d));
                check.attention(codec, SimdAttention.of(species)).forEach(d -> failures.add(width + d));
            }
        }
        assertTrue(failures.isEmpty(), () -> GoldenCheck.report("simd", failures));
    }
}
