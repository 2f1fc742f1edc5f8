package io.qvg4j.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole conformance corpus through the command, with the reference implementation. */
class ConformanceCommandTest {

    @Test
    void everyCorpusCasePassesWithTheReference() throws Exception {
        CliRun run = CliRun.of("conformance", CliRun.corpus().toString(), "--impl", "reference", "--threads", "2");
        List<String> lines = run.out().lines().toList();
        assertEquals(0, run.exit(), run.out() + run.err());
        long cases = Files.readAllLines(CliRun.corpus().resolve("cases.jsonl")).stream().filter(l -> !l.isBlank()).count();
        assertEquals("conformance: " + cases + "/" + cases + " cases pass", lines.get(lines.size() - 1));
        long exact = lines.stream().filter(l -> l.startsWith("PASS ") && l.contains("downstream bit-exact")).count();
        assertEquals(cases, exact, run.out());
        assertTrue(run.out().contains("baselines 9/9 bit-exact"), "the baseline arrays were compared");
        long pinned = lines.stream().filter(l -> l.matches("PASS .* \\| golden: (\\d+)/\\1 parts equal \\|.*")).count();
        assertEquals(cases, pinned, "every case's own bytes equal the golden file:\n" + run.out());
        assertTrue(lines.get(0).endsWith("own bytes checked against " + CliRun.corpus().resolve("golden.tsv")), lines.get(0));
    }

    @Test
    void officialIterationCountsArePrintedBesideOurs() {
        assertEquals("[2] = official", ConformanceCommand.iterations(new int[]{2}, new int[]{2}));
        assertEquals("[19, 4] vs official [100, 4] (-81, +0)", ConformanceCommand.iterations(new int[]{19, 4}, new int[]{100, 4}));
        CliRun run = CliRun.of("conformance", CliRun.corpus().toString(), "--case", "edge_int2_g64_t1");
        assertTrue(run.out().contains("iters [4] = official,"), run.out());
    }

    @Test
    void ownBytesThatLeaveTheGoldenFileFailTheCase(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String name = "edge_int2_g64_t1";
        Files.copy(CliRun.corpus().resolve(name + ".npz"), dir.resolve(name + ".npz"));
        Files.writeString(dir.resolve("cases.jsonl"), Files.readAllLines(CliRun.corpus().resolve("cases.jsonl")).stream()
                .filter(l -> l.contains("\"" + name + "\"")).findFirst().orElseThrow() + "\n");
        // The golden line of stage-1 ids with one hex digit changed: as if our k-means had drifted.
        List<String> golden = Files.readAllLines(CliRun.corpus().resolve("golden.tsv")).stream()
                .map(l -> l.startsWith("corpus/" + name + "\tids.0\t") ? l.substring(0, l.length() - 1)
                        + (l.endsWith("0") ? "1" : "0") : l).toList();
        Files.write(dir.resolve("golden.tsv"), golden);
        CliRun run = CliRun.of("conformance", dir.toString());
        assertEquals(1, run.exit(), run.out());
        assertTrue(run.out().contains("FAIL " + name + " | downstream bit-exact"), run.out());
        assertTrue(run.out().contains("| golden DIFFERS: ids.0: "), run.out());
    }

    @Test
    void sameBytesForOneAndThreeThreads() {
        String one = CliRun.of("conformance", CliRun.corpus().toString(), "--case", "edge_int4_g16_t1_asym,gauss_int2_g64_t1",
                "--threads", "1").out();
        String three = CliRun.of("conformance", CliRun.corpus().toString(), "--case", "edge_int4_g16_t1_asym,gauss_int2_g64_t1",
                "--threads", "3").out();
        assertEquals(shas(one), shas(three));
        assertEquals(2, shas(one).size());
    }

    private static List<String> shas(String out) {
        return out.lines().filter(l -> l.contains("sha256 ")).map(l -> l.replaceAll(".*sha256 ([0-9a-f]{64}).*", "$1")).toList();
    }

    @Test
    void tamperedCorpusFailsAndNamesWhatDiffers(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String name = "edge_int2_g64_t1";
        // Copy the case with one packed byte flipped: the official codes no longer match ours.
        try (var in = new java.util.zip.ZipFile(CliRun.corpus().resolve(name + ".npz").toFile());
             var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(dir.resolve(name + ".npz")))) {
            for (var e : java.util.Collections.list(in.entries())) {
                byte[] bytes = in.getInputStream(e).readAllBytes();
                if (e.getName().equals("packed.npy")) {
                    int dataStart = 10 + ((bytes[8] & 0xFF) | (bytes[9] & 0xFF) << 8);
                    bytes[dataStart + 1000] ^= 0x40;
                }
                out.putNextEntry(new java.util.zip.ZipEntry(e.getName()));
                out.write(bytes);
                out.closeEntry();
            }
        }
        Files.writeString(dir.resolve("cases.jsonl"), Files.readAllLines(CliRun.corpus().resolve("cases.jsonl")).stream()
                .filter(l -> l.contains("\"" + name + "\"")).findFirst().orElseThrow() + "\n");
        CliRun run = CliRun.of("conformance", dir.toString());
        assertEquals(1, run.exit());
        assertTrue(run.out().contains("FAIL " + name + " | downstream DIFFERS: packed: 1 bytes differ, first at byte 1000"), run.out());
        assertTrue(run.out().strip().endsWith("conformance: 0/1 cases pass"), run.out());
    }

    @Test
    void badInputIsOneLineAndExitTwo(@org.junit.jupiter.api.io.TempDir Path dir) {
        CliRun missing = CliRun.of("conformance", dir.toString());
        assertEquals(2, missing.exit());
        assertEquals(1, missing.err().lines().count(), missing.err());
        assertTrue(missing.err().startsWith("qvg: ") && missing.err().contains("cases.jsonl"), missing.err());

        CliRun impl = CliRun.of("conformance", CliRun.corpus().toString(), "--impl", "cuda");
        assertEquals(2, impl.exit());
        assertTrue(impl.err().contains("unknown implementation"), impl.err());

        CliRun usage = CliRun.of("conformance", "--threads");
        assertEquals(2, usage.exit());

    }
}
