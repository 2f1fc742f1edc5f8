package io.qvg4j.cli;

import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** qvg vectors: writing, checking the committed suite, a tampered copy, and qvg conformance running it. */
class VectorsCommandTest {
    static final Path SUITE = CliRun.corpus().resolveSibling("vectors");

    @TempDir
    Path dir;

    @Test
    void theCommittedSuitePassesAndATamperedCopyNamesTheVectorAndLevel() throws IOException {
        CliRun r = CliRun.of("vectors", "--check", SUITE.toString(), "--impl", "reference");
        assertEquals(0, r.exit(), r.out() + r.err());
        long vectors = Files.readAllLines(SUITE.resolve("index.jsonl")).size();
        assertEquals(vectors, r.out().lines().filter(l -> l.startsWith("PASS ") && l.contains("(§")).count(), r.out());
        assertTrue(r.out().strip().endsWith("PASS: " + vectors + "/" + vectors + " vectors"), r.out());

        Path copy = dir.resolve("suite");
        assertEquals(0, CliRun.of("vectors", copy.toString()).exit());
        Path f = copy.resolve("quant-int4-asym-fp8-g16-tie.npz");
        Map<String, NpyArray> a = new LinkedHashMap<>(Npy.readNpz(f));
        byte[] zeros = a.get("zeros").asUint8();
        zeros[5] ^= 1;
        a.put("zeros", NpyArray.ofUint8("zeros", zeros, a.get("zeros").shape()));
        Npy.writeNpz(f, a);
        r = CliRun.of("vectors", "--check", copy.toString());
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("FAIL quant-int4-asym-fp8-g16-tie (§2.4): zeros differ; zeros first differs at [0,0,2,1]: expected 0xbb, got 0xba"), r.out());
        assertTrue(r.out().strip().endsWith("FAIL: 1 of " + vectors + " vectors differ"), r.out());
    }

    @Test
    void conformanceRunsTheSuiteBesideTheCorpus() {
        CliRun r = CliRun.of("conformance", CliRun.corpus().toString(), "--case", "edge_int2_g64_t1");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("vectors: (\\d+)/\\1 pass in .*vectors")), r.out());
        CliRun bad = CliRun.of("conformance", CliRun.corpus().toString(), "--vectors", dir.toString());
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("no index.jsonl"), bad.err());
        CliRun notDir = CliRun.of("vectors", "--check", dir.resolve("missing").toString());
        assertEquals(2, notDir.exit());
    }
}
