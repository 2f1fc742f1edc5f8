package io.qvg4j.cli;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.golden.Digests;
import io.qvg4j.golden.GoldenCase;
import io.qvg4j.golden.GoldenFile;
import io.qvg4j.golden.SyntheticCases;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.spi.Implementations;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code qvg explain} on golden synthetic cases: the packed bytes, scales, zero points, stage ids and
 * dequantized values it prints for one token equal that token's part of the full encode, whose digests are
 * the ones {@code conformance/golden.tsv} pins (checked here first).
 */
class ExplainCommandTest {

    @ParameterizedTest
    @CsvSource({"pro_t4_g16, 1, 77", "int3_asym_bf16, 0, 5", "ties_int4_g16, 1, 100", "gauss_int2_g64, 0, 299"})
    void printedBytesAreTheGoldenEncodesBytes(String name, int head, int token, @TempDir Path dir) throws Exception {
        GoldenCase c = SyntheticCases.all().stream().filter(g -> g.name().equals("synthetic/" + name)).findFirst().orElseThrow();
        QuantConfig cfg = c.config();
        QuantizedSpan span;
        KvTensor decoded;
        try (QvgCodec codec = Implementations.open("reference", 1, 0)) {
            span = codec.encode(c.input(), cfg, c.init());
            decoded = codec.decode(span);
            Map<String, String> golden = GoldenFile.read(GoldenFile.locate(Path.of(""))).get(c.name());
            Map<String, String> parts = Digests.of(codec, c, span);
            for (String part : new String[]{"packed", "scales", "dequantized", "ids.0", "centroids.0"}) {
                assertEquals(golden.get(part), parts.get(part), c.name() + " " + part + " is not the golden part");
            }
        }
        Path input = dir.resolve("x.npy");
        TensorFiles.write(input, c.input(), "x");
        List<String> args = new ArrayList<>(List.of("explain", input.toString(), "--head", "" + head, "--token", "" + token,
                "--bits", "" + cfg.bits(), "--group-size", "" + cfg.groupSize(), "--stages", "" + cfg.stages(),
                "--centroids", "" + cfg.centroids(), "--iters", "" + cfg.maxIters(), "--tol", "" + cfg.tolerance(),
                "--scale-format", cfg.scaleFormat() == ScaleFormat.BF16 ? "bf16" : "fp8",
                "--seed", "" + SyntheticCases.seedOf(name), "--json"));
        if (cfg.asymmetric()) {
            args.add("--asymmetric");
        }
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, run.exit(), run.err());
        String json = run.out();

        int dim = c.input().dim(), row = head * c.input().tokens() + token;
        int rowBytes = cfg.packedBytesPerRow(dim), blocks = cfg.blocksPerRow(dim), sb = cfg.scaleFormat().bytes();
        HexFormat hex = HexFormat.of();
        assertEquals(hex.formatHex(span.packed(), row * rowBytes, (row + 1) * rowBytes), field(json, "packed bytes (hex)"));
        assertEquals(hex.formatHex(span.scales(), row * blocks * sb, (row + 1) * blocks * sb), field(json, "scale bytes (hex)"));
        if (cfg.asymmetric()) {
            assertEquals(hex.formatHex(span.zeros(), row * blocks * sb, (row + 1) * blocks * sb), field(json, "zero-point bytes (hex)"));
        }
        List<String> chosen = all(json, "\"chosen centroid\":(\\d+)");
        assertEquals(cfg.stages(), chosen.size());
        for (int t = 0; t < cfg.stages(); t++) {
            assertEquals(span.clusterId(t, row), Integer.parseInt(chosen.get(t)), "stage " + (t + 1) + " id");
        }
        List<String> deq = all(json, "\"dequantized\":\\{\"value\":[^,]+,\"format\":\"bf16\",\"bits\":\"0x([0-9A-F]{4})\"");
        assertEquals(dim, deq.size());
        for (int d = 0; d < dim; d++) {
            assertEquals(decoded.bits()[row * dim + d] & 0xFFFF, Integer.parseInt(deq.get(d), 16), "channel " + d);
        }
        // One block step per channel, each naming its SPEC section.
        assertEquals(blocks, all(json, "\"spec\":\"SPEC §6\\.[23] ").size());
    }

    @Test
    void tokenOutsideTheTensorIsOneLine(@TempDir Path dir) throws Exception {
        GoldenCase c = SyntheticCases.all().get(0);
        Path input = dir.resolve("x.npy");
        TensorFiles.write(input, c.input(), "x");
        CliRun run = CliRun.of("explain", input.toString(), "--head", "0", "--token", "100000");
        assertEquals(2, run.exit());
        assertTrue(run.err().strip().startsWith("qvg: x [1,2,300,128]: --head 0 --token 100000 is outside"), run.err());
        assertEquals(1, run.err().strip().lines().count());
    }

    private static String field(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\":\"([0-9a-f]*)\"").matcher(json);
        assertTrue(m.find(), key + " missing");
        return m.group(1);
    }

    private static List<String> all(String json, String regex) {
        Matcher m = Pattern.compile(regex).matcher(json);
        List<String> out = new ArrayList<>();
        while (m.find()) {
            out.add(m.group(1 <= m.groupCount() ? 1 : 0));
        }
        return out;
    }
}
