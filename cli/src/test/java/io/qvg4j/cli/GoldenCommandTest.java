package io.qvg4j.cli;

import io.qvg4j.conformance.ConformanceCase;
import io.qvg4j.golden.GoldenFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code qvg golden}: the committed golden file is exactly what the reference and SIMD produce, corpus included. */
class GoldenCommandTest {

    /** The reference is checked by {@link #writeRegeneratesTheFileByteForByte}; here the SIMD kernels. */
    @Test
    void simdReproducesTheCommittedFile() throws Exception {
        Path corpus = CliRun.corpus();
        Map<String, Map<String, String>> golden = GoldenFile.read(corpus.resolve("golden.tsv"));
        for (ConformanceCase c : ConformanceCase.readAll(corpus.resolve("cases.jsonl"))) {
            assertTrue(golden.containsKey("corpus/" + c.name()), c.name() + " is missing from the golden file");
        }
        CliRun run = CliRun.of("golden", corpus.toString(), "--impl", "simd");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertEquals("golden: " + golden.size() + "/" + golden.size() + " cases equal", last(run.out()), run.out());
    }

    @Test
    void aChangedPartIsNamedAndExitsOne(@TempDir Path dir) throws Exception {
        String name = "edge_int4_g16_t1_asym";
        Path corpus = CliRun.corpus();
        Files.copy(corpus.resolve(name + ".npz"), dir.resolve(name + ".npz"));
        Files.writeString(dir.resolve("cases.jsonl"), Files.readAllLines(corpus.resolve("cases.jsonl")).stream()
                .filter(l -> l.contains("\"" + name + "\"")).findFirst().orElseThrow() + "\n");
        List<String> lines = Files.readAllLines(corpus.resolve("golden.tsv")).stream()
                .map(l -> l.startsWith("corpus/" + name + "\tzeros\t") ? "corpus/" + name + "\tzeros\t" + "0".repeat(64) : l)
                .toList();
        Files.write(dir.resolve("golden.tsv"), lines);
        CliRun run = CliRun.of("golden", dir.toString());
        assertEquals(1, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("DIFF corpus/" + name + ": zeros: "), run.out());
        assertTrue(run.out().contains("≠ golden 000000000000…"), run.out());
        assertTrue(run.out().contains("SAME synthetic/kc1 (13 parts)"), run.out());
    }

    @Test
    void writeRegeneratesTheFileByteForByte(@TempDir Path dir) throws Exception {
        Path corpus = CliRun.corpus();
        for (Path p : Files.list(corpus).toList()) {
            Files.copy(p, dir.resolve(p.getFileName()));
        }
        Files.delete(dir.resolve("golden.tsv"));
        CliRun run = CliRun.of("golden", dir.toString(), "--write");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertEquals(Files.readString(corpus.resolve("golden.tsv")), Files.readString(dir.resolve("golden.tsv")));
        assertEquals(2, CliRun.of("golden", dir.toString(), "--write", "--impl", "simd").exit(), "only the reference writes");
    }

    private static String last(String out) {
        List<String> l = out.lines().toList();
        return l.get(l.size() - 1);
    }
}
