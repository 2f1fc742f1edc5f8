package io.qvg4j.cli;

import io.qvg4j.conformance.VectorSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A .qkv written by an implementation that shares no code with qvg4j (the NumPy example of VECTORS.md,
 * writing FORMAT.md byte by byte) diffs identical to what {@code qvg quantize} writes for the same input and
 * config. CI installs python3-numpy (.ci/run), so the test runs there; where Python is missing it fails
 * with one line saying so.
 */
class IndependentQkvTest {
    @TempDir
    Path dir;

    @Test
    void theNumPyImplementationsContainersDiffIdentical() throws IOException, InterruptedException {
        Path root = CliRun.corpus().toAbsolutePath().getParent();
        Path suite = root.resolve("vectors");
        Path out = dir.resolve("numpy");
        Process p = new ProcessBuilder("python3", root.resolve("examples/python/check_vectors.py").toString(), suite.toString(),
                "prq-", "--qkv", out.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "python3 did not finish: " + log);
        assertEquals(0, p.exitValue(), "python3 examples/python/check_vectors.py (needs python3 and numpy): " + log);
        int compared = 0;
        for (VectorSuite.Stored s : VectorSuite.read(suite)) {
            VectorSuite.Vector v = s.vector();
            if (!v.id().startsWith("prq-")) {
                continue;
            }
            Path mine = dir.resolve(v.id() + ".qkv");
            var c = v.config();
            List<String> args = new ArrayList<>(List.of("quantize", suite.resolve(v.id() + ".npz").toString(), "--tensor", "x",
                    "--bits", "" + c.bits(), "--group-size", "" + c.groupSize(), "--stages", "" + c.stages(),
                    "--centroids", "" + c.centroids(), "--iters", "" + c.maxIters(), "--tol", String.format(Locale.ROOT, "%s", c.tolerance()),
                    "--seed", "" + v.seed(), "--scale-format", c.scaleFormat() == io.qvg4j.quant.ScaleFormat.BF16 ? "bf16" : "fp8",
                    "--force", "-o", mine.toString()));
            if (c.asymmetric()) {
                args.add("--asymmetric");
            }
            // --force: these tiny spans hold more centroid bytes than bf16 input bytes, which quantize refuses by default.
            CliRun q = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, q.exit(), q.err());
            CliRun d = CliRun.of("diff", out.resolve(v.id() + ".qkv").toString(), mine.toString());
            assertEquals(0, d.exit(), v.id() + ":\n" + d.out() + d.err());
            assertTrue(d.out().contains("IDENTICAL"), d.out());
            compared++;
        }
        assertEquals(12, compared);
        assertTrue(Files.size(out.resolve("prq-t4-0.qkv")) > 16);
    }
}
