package io.qvg4j.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every command's {@code --help} renders cleanly: exit 0, a usage line, and no picocli warning on stderr. */
class HelpTest {
    @Test
    void everyCommandsHelpRendersWithoutWarnings() {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            for (String name : Qvg.commandLine().getSubcommands().keySet()) {
                if (name.equals("help")) {
                    continue;
                }
                CliRun run = CliRun.of(name, "--help");
                assertEquals(0, run.exit(), name + " --help: " + run.err());
                assertTrue(run.out().startsWith("Usage: qvg " + name), name + " --help:\n" + run.out());
                assertFalse(run.err().contains("WARN"), name + " --help: " + run.err());
            }
        } finally {
            System.setErr(saved);
        }
        String stderr = captured.toString(StandardCharsets.UTF_8);
        assertFalse(stderr.contains("picocli WARN"), stderr);
    }
}
