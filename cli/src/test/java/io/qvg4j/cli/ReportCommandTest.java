package io.qvg4j.cli;

import io.qvg4j.io.TensorFiles;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code qvg report} on a small K/V pair: the page holds every figure as a PNG that decodes, and every method's row. */
class ReportCommandTest {

    static Path write(Path dir, String name, long seed) throws Exception {
        Random r = new Random(seed);
        short[] bits = new short[2 * 320 * 64];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Bf16.fromFloat((float) (r.nextGaussian() + (i % 64 == 3 ? 6 : 0)));
        }
        Path f = dir.resolve(name + ".npy");
        TensorFiles.write(f, new KvTensor(name, 1, 2, 320, 64, bits), name);
        return f;
    }

    @Test
    void writesASelfContainedPageWhoseFiguresDecode(@TempDir Path dir) throws Exception {
        Path k = write(dir, "k", 1), v = write(dir, "v", 2);
        Path page = dir.resolve("r.html");
        CliRun run = CliRun.of("report", k.toString(), v.toString(), "-o", page.toString(), "--queries", "8",
                "--window", "64", "--kmeans-iterations", "3", "--impl", "reference", "--attention", "reference");
        assertEquals(0, run.exit(), run.err());
        String html = Files.readString(page);
        Matcher expected = Pattern.compile("data-expected-figures=\"(\\d+)\"").matcher(html);
        assertTrue(expected.find());
        Matcher img = Pattern.compile("<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\" alt=\"([^\"]*)\"").matcher(html);
        int n = 0;
        while (img.find()) {
            BufferedImage im = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(img.group(1))));
            assertNotNull(im, "figure " + img.group(2) + " does not decode");
            assertTrue(im.getWidth() > 100 && im.getHeight() > 100, img.group(2));
            n++;
        }
        // 4 frontier figures, 2 token-budget figures, PRQ stages, smoothing, 2 maps per head and tensor (2 heads),
        // convergence; the draft views and the calibration (SPEC §16.1, §16.2), 2 each.
        assertEquals(4 + 2 + 1 + 1 + 2 * 2 * 2 + 1 + 2 + 2, n);
        assertEquals(Integer.parseInt(expected.group(1)), n);
        assertFalse(html.contains("src=\"http"), "the page must not fetch anything");
        for (String method : new String[]{"RTN-2 G64", "KIVI-3", "QuaRot-4 asym G16", "QVG-2", "QVG-Pro-4", "NVFP4 G16",
                "QVG-2 id-only 50%", "QVG-2 pruned 25%", "XStreamVGGT-2 75%", "ThinK-3 64ch"}) {
            assertTrue(html.contains(">" + method + "<"), method + " missing from the page");
            assertTrue(run.out().contains(method), method + " missing from the printed table");
        }
        assertTrue(html.contains("qvg4j 0.1.0"));
        for (String row : new String[]{">draft s=1/4<", ">draft s=4/4<", ">QVG-2 G64<", "Synthetic input", ">layer 3<"}) {
            assertTrue(html.contains(row), row + " missing from the page");
        }
        assertTrue(run.out().contains("cross-layer sharing"), run.out());
    }

    @Test
    void badInputIsOneLineAndNoFile(@TempDir Path dir) throws Exception {
        Path k = write(dir, "k", 1);
        Path page = dir.resolve("r.html");
        CliRun odd = CliRun.of("report", k.toString(), "-o", page.toString());
        assertEquals(2, odd.exit());
        assertEquals("qvg: report: 1 inputs; give them in K, V pairs", odd.err().strip());
        CliRun missing = CliRun.of("report", k.toString(), dir.resolve("none.npy").toString(), "-o", page.toString());
        assertEquals(2, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertFalse(Files.exists(page));
    }
}
