package io.qvg4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo on the shipped city sample. */
class DemoCommandTest {

    @Test
    void demoReportsCompressionErrorAndBaseline() {
        CliRun run = CliRun.of("demo", "--data", CliRun.corpus().toString(), "--impl", "reference", "--threads", "2");
        assertEquals(0, run.exit(), run.err());
        String out = run.out();
        for (String tensor : new String[]{"city_a_k [1,4,7040,128]", "city_a_v [1,4,7040,128]"}) {
            assertTrue(out.contains(tensor + ": bf16 6.875 MiB -> quantized 1.190 MiB, 5.78x compression"), out);
        }
        assertTrue(out.contains("bits/element 2.7693 = codes 2.0000 + scales 0.1250 + ids 0.0625 + centroids 0.5818"), out);
        // QVG's error must beat RTN INT2 at a similar bit budget by a wide margin on this data.
        var m = java.util.regex.Pattern.compile("rel-L2 error ([0-9.]+) .*baseline ([0-9.]+)").matcher(out);
        int seen = 0;
        while (m.find()) {
            double qvg = Double.parseDouble(m.group(1));
            double rtn = Double.parseDouble(m.group(2));
            assertTrue(qvg < 0.75 * rtn, "QVG " + qvg + " vs RTN " + rtn);
            seen++;
        }
        assertEquals(2, seen, out);
    }
}
