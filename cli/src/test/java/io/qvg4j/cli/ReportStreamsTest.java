package io.qvg4j.cli;

import io.qvg4j.io.TensorFiles;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** {@code qvg report}'s section on the cache policies of SPEC §16.3–16.4, on a pair of two 880-token frames. */
class ReportStreamsTest {

    static Path write(Path dir, String name, long seed) throws Exception {
        Random r = new Random(seed);
        short[] bits = new short[2 * 1760 * 64];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Bf16.fromFloat((float) (r.nextGaussian() + (i % 64 == 5 ? 4 : 0)));
        }
        Path f = dir.resolve(name + ".npy");
        TensorFiles.write(f, new KvTensor(name, 1, 2, 1760, 64, bits), name);
        return f;
    }

    @Test
    void streamsThePairThroughEveryPolicy(@TempDir Path dir) throws Exception {
        Path k = write(dir, "k", 3), v = write(dir, "v", 4);
        Path page = dir.resolve("r.html");
        CliRun run = CliRun.of("report", k.toString(), v.toString(), "-o", page.toString(), "--queries", "8", "--window", "64",
                "--kmeans-iterations", "2", "--stream-passes", "6");
        assertEquals(0, run.exit(), run.err());
        String html = Files.readString(page);
        assertTrue(run.out().contains("cache policies over 12 frames of 880 tokens"), run.out());
        for (String policy : new String[]{"QVG INT2", "QVG INT4", "PackCache INT4, INT2 at 8, ids+centroids at 24",
                "age: sliding window", "salience: own-frame mass (causal proxy)", "salience: newest-query mass (oracle)"}) {
            assertTrue(html.contains(policy), policy + " missing from the page");
            assertTrue(run.out().contains(policy), policy + " missing from the printed tables");
        }
        for (String figure : new String[]{"stream memory against frames", "stream attention error against frames",
                "eviction attention error against budget", "eviction memory against budget"}) {
            assertTrue(html.contains("alt=\"" + figure + "\""), figure);
        }
        Matcher expected = Pattern.compile("data-expected-figures=\"(\\d+)\"").matcher(html);
        assertTrue(expected.find());
        assertEquals(Integer.parseInt(expected.group(1)), html.split("<img src=\"data:image/png;base64,", -1).length - 1);
        CliRun none = CliRun.of("report", k.toString(), v.toString(), "-o", dir.resolve("n.html").toString(), "--queries", "8",
                "--window", "64", "--kmeans-iterations", "2", "--stream-passes", "0");
        assertEquals(0, none.exit(), none.err());
        assertFalse(Files.readString(dir.resolve("n.html")).contains("PackCache"));
    }
}
