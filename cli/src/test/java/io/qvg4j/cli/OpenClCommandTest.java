package io.qvg4j.cli;

import io.qvg4j.gpu.OpenCl;
import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code qvg devices} and the corpus through {@code --impl opencl}; skipped where no OpenCL platform
 * exists, failed there under {@code -Dqvg4j.require=opencl}.
 */
class OpenClCommandTest {

    @BeforeEach
    void needsOpenCl() {
        Require.openCl(OpenCl.available());
    }

    @Test
    void devicesListsEveryDeviceWithItsIndex() {
        CliRun run = CliRun.of("devices");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("  device 0: "), run.out());
        assertTrue(run.out().contains("fp64 "), run.out());
    }

    @Test
    void everyCorpusCasePassesWithOpenCl() throws Exception {
        CliRun run = CliRun.of("conformance", CliRun.corpus().toString(), "--impl", "opencl", "--device", "0");
        List<String> lines = run.out().lines().toList();
        assertEquals(0, run.exit(), run.out() + run.err());
        long cases = Files.readAllLines(CliRun.corpus().resolve("cases.jsonl")).stream().filter(l -> !l.isBlank()).count();
        assertEquals("conformance: " + cases + "/" + cases + " cases pass", lines.get(lines.size() - 1));
        assertEquals(cases, lines.stream().filter(l -> l.startsWith("PASS ") && l.contains("downstream bit-exact")).count(), run.out());
        assertEquals(cases, lines.stream().filter(l -> l.matches("PASS .* \\| golden: (\\d+)/\\1 parts equal \\|.*")).count(),
                "OpenCL's own bytes equal the golden file on every corpus case:\n" + run.out());
    }

    @Test
    void aMissingDeviceIsOneLineAndExitTwo() {
        CliRun run = CliRun.of("conformance", CliRun.corpus().toString(), "--impl", "opencl", "--device", "99");
        assertEquals(2, run.exit());
        assertEquals(1, run.err().lines().count(), run.err());
        assertTrue(run.err().startsWith("qvg: --device 99: no such OpenCL device"), run.err());
    }
}
