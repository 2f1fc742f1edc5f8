package io.qvg4j.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The arithmetic behind the table (work models, limits, fractions, speedups) and its layout; runs no benchmark. */
class ResultTableTest {

    private static final ResultTable.Limits LIMITS = new ResultTable.Limits(50e9, 80e9, 20e9, 24e9);

    @Test
    void assignmentCountsOneFmaPerTokenCentroidAndChannel() {
        assertEquals(29640.0 * 256 * 128, Workload.kernel("assign", Shape.LONGCAT, "simd").unitsPerOp());
        assertEquals(2048.0 * 256 * 128, Workload.kernel("assign", Shape.LONGCAT, "reference").unitsPerOp());
        assertEquals(7040.0 * 256 * 256, Workload.kernel("assign", Shape.HY_WORLDPLAY, "simd").unitsPerOp());
        assertEquals(256.0 * 128, Workload.kernel("norms", Shape.LONGCAT, "simd").unitsPerOp());
        // Two k-means iterations of the default config over 32 heads, or 2 heads for the scalar encode.
        assertEquals(32 * 2 * 29640.0 * 256 * 128, Workload.encode("simd").unitsPerOp());
        assertEquals(2 * 2 * 29640.0 * 256 * 128, Workload.encode("reference").unitsPerOp());
    }

    @Test
    void byteModelsCountBytesInPlusBytesOut() {
        double elements = 29640.0 * 128;
        // INT2 codes (1/4 byte) and one FP8 scale per 64 values out, fp32 residual in.
        assertEquals(elements * 4 + elements / 4 + elements / 64,
                Workload.kernel("quantize", Shape.LONGCAT, "simd").unitsPerOp());
        // Codes, scales, one id byte per token and the bf16 centroid table in; bf16 values out.
        assertEquals(elements / 4 + elements / 64 + 29640 + 256 * 128 * 2 + elements * 2,
                Workload.kernel("dequantize", Shape.LONGCAT, "simd").unitsPerOp());
        assertEquals(elements * 4, Workload.kernel("nvfp4", Shape.LONGCAT, "simd").unitsPerOp());
        assertEquals(32 * Workload.kernel("dequantize", Shape.LONGCAT, "simd").unitsPerOp(),
                Workload.decode().unitsPerOp());
        assertEquals(Workload.Limit.COPY, Workload.kernel("subtract", Shape.SELF_FORCING, "simd").limit());
    }

    @Test
    void limitForThreadsScalesTheSingleThreadFigureUpToTheAllThreadsFigure() {
        assertEquals(50e9, LIMITS.of(Workload.Limit.FMA, 1));
        assertEquals(80e9, LIMITS.of(Workload.Limit.FMA, 2));
        assertEquals(20e9, LIMITS.of(Workload.Limit.COPY, 1));
        assertEquals(24e9, LIMITS.of(Workload.Limit.COPY, 4));
    }

    @Test
    void tableShowsFractionOfLimitAndSpeedup() {
        Workload assign = Workload.kernel("assign", Shape.LONGCAT, "simd");
        Workload scalarAssign = Workload.kernel("assign", Shape.LONGCAT, "reference");
        // 25 calls/s of the whole head = 24.3 GFMA/s, 48.6 % of 50 GFMA/s; the reference does 16 calls/s of 2048 tokens.
        var simd = new ResultTable.Measurement("assign", "longcat", "longcat [29640,128]", "simd", 1, 25, 0.5, assign);
        var ref = new ResultTable.Measurement("assign", "longcat", "longcat [29640,128]", "reference", 1, 16, Double.NaN,
                scalarAssign);
        String table = ResultTable.format(List.of(ref, simd), LIMITS, null);
        String[] lines = table.split("\n");
        assertEquals(4, lines.length, table);
        assertTrue(lines[0].startsWith("| kernel "), table);
        assertTrue(lines[1].matches("\\|[-| ]+\\|"), table);
        assertTrue(lines[2].contains("| 62.5 ms ") && lines[2].contains("| 1.07 GFMA/s "), table);
        assertTrue(lines[3].contains("| 40.0 ms ") && lines[3].contains("| 24.3 ± 0.49 GFMA/s ")
                && lines[3].contains("| 48.6 % of FMA peak ") && lines[3].contains("| 22.6x "), table);
        for (String line : lines) {
            assertEquals(lines[0].length(), line.length(), "columns line up:\n" + table);
        }
    }

    @Test
    void missingSimdKernelsAreShownAsUnavailable() {
        var ref = new ResultTable.Measurement("nvfp4", "longcat", "longcat [29640,128]", "reference", 1, 20, 1,
                Workload.kernel("nvfp4", Shape.LONGCAT, "reference"));
        String table = ResultTable.format(List.of(ref), LIMITS, "no Vector API here");
        assertTrue(table.contains("| simd ") && table.contains("| unavailable "), table);
        assertTrue(table.endsWith("SIMD kernels unavailable: no Vector API here\n"), table);
    }

    @Test
    void unitsAndDurationsKeepThreeSignificantDigits() {
        assertEquals("1.50 s", ResultTable.time(1.5));
        assertEquals("62.5 ms", ResultTable.time(0.0625));
        assertEquals("22.0 µs", ResultTable.time(22e-6));
    }

    /** Attention counts 2·Q·T·D FMAs; a quantized-cache row shows the bf16-cache row's time over its own. */
    @Test
    void attentionRowComparesTheQuantizedCacheWithTheBf16Cache() {
        Workload w = Workload.attention(1, 880, 7040, 128);
        assertEquals(2.0 * 880 * 7040 * 128, w.unitsPerOp());
        // 2 calls/s = 3.17 GFMA/s, 4.0 % of 80 GFMA/s on 2 threads; bf16 at 1.6 calls/s is 1.25x slower.
        var quantized = new ResultTable.Measurement("attention", "q880-t7040", "Q=880 over 7040 tokens", "simd, quantized cache",
                2, 2, Double.NaN, w);
        var bf16 = new ResultTable.Measurement("attention", "q880-t7040", "Q=880 over 7040 tokens", "simd, bf16 cache",
                2, 1.6, Double.NaN, w);
        String table = ResultTable.format(List.of(bf16, quantized), LIMITS, null);
        String[] lines = table.split("\n");
        assertEquals(4, lines.length, table);
        assertTrue(lines[3].contains("| 4.0 % of FMA peak |") && lines[3].contains("| 1.25x vs bf16 cache |"), table);
        assertTrue(lines[2].contains("| 3.2 % of FMA peak |") && lines[2].replace(" ", "").endsWith("||"), table);
    }
}
