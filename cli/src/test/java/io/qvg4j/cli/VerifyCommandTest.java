package io.qvg4j.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.Qkv;
import io.qvg4j.quant.QuantizedSpan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** qvg verify and qvg diff end to end, on the corpus and on containers written here. */
class VerifyCommandTest {
    @TempDir
    Path dir;

    static final String[] EDGE_INT2 = {"--centroids", "64", "--iters", "4"};
    static final String[] EDGE_INT4 = {"--bits", "4", "--group-size", "16", "--centroids", "64", "--asymmetric", "--iters", "4"};

    static String[] args(String[] config, String... rest) {
        String[] out = new String[config.length + rest.length];
        System.arraycopy(rest, 0, out, 0, rest.length);
        System.arraycopy(config, 0, out, rest.length, config.length);
        return out;
    }

    @Test
    void theCorpusPassesWithItsOwnKMeansAndFailsAtTheIdsUnderQvg4js() {
        for (var c : Map.of("edge_int2_g64_t1", EDGE_INT2, "edge_int4_g16_t1_asym", EDGE_INT4).entrySet()) {
            String npz = CliRun.corpus().resolve(c.getKey() + ".npz").toString();
            CliRun v = CliRun.of(args(c.getValue(), "verify", "--input", npz, "--tensor", "x", "--yours", npz));
            assertEquals(0, v.exit(), v.out() + v.err());
            assertTrue(v.out().contains("deq          PASS equal (65536 bf16 values; SPEC §7)"), v.out());
            assertTrue(v.out().contains("k-means      PASS your own k-means: rel-L2"), v.out());
            assertTrue(v.out().strip().endsWith("levels checked agree with qvg4j"), v.out());
            // The official k-means is not qvg4j's: exact k-means fails at the ids, and downstream still passes.
            v = CliRun.of(args(c.getValue(), "verify", "--input", npz, "--tensor", "x", "--yours", npz, "--kmeans", "qvg4j"));
            assertEquals(1, v.exit(), v.out() + v.err());
            assertTrue(v.out().contains("FAIL at ids0 ["), v.out());
            assertTrue(v.out().contains("packed       PASS"), v.out());
        }
        // Two stages, the input a separate .npy, the output known by its SHA-256.
        CliRun v = CliRun.of("verify", "--input", CliRun.corpus().resolve("city_a_k.npy").toString(), "--yours",
                CliRun.corpus().resolve("city_a_k_int2_g16_t2.npz").toString(), "--group-size", "16", "--stages", "2",
                "--iters", "4");
        assertEquals(0, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("deq_sha256   PASS"), v.out());
    }

    @Test
    void aTamperedCopyFailsAtTheTamperedLevel() throws IOException {
        Path npz = CliRun.corpus().resolve("edge_int2_g64_t1.npz");
        Map<String, NpyArray> arrays = Npy.readNpz(npz);
        arrays.remove("deq_sha256");
        short[] deq = arrays.get("deq").asUint16();
        deq[7 * 128 + 5] ^= 1;
        Map<String, NpyArray> tampered = new LinkedHashMap<>(arrays);
        tampered.put("deq", NpyArray.ofUint16("deq", deq, 1, 1, 512, 128));
        Path copy = dir.resolve("tampered.npz");
        Npy.writeNpz(copy, tampered);
        CliRun v = CliRun.of(args(EDGE_INT2, "verify", "--input", npz.toString(), "--tensor", "x", "--yours", copy.toString()));
        assertEquals(1, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("deq          FAIL 1 of 65536 bf16 values differ, first at [b,h,s,d] [0,0,7,5]"), v.out());
        assertTrue(v.out().contains("FAIL at deq [0,0,7,5]"), v.out());

        byte[] packed = arrays.get("packed").asUint8();
        packed[300 * 32 + 3] ^= 0x40; // token 300, byte 3: channels 12..15, the flipped bits are channel 12's
        tampered.put("packed", NpyArray.ofUint8("packed", packed, 1, 1, 512, 32));
        tampered.put("deq", arrays.get("deq"));
        Npy.writeNpz(copy, tampered);
        v = CliRun.of(args(EDGE_INT2, "verify", "--input", npz.toString(), "--tensor", "x", "--yours", copy.toString()));
        assertEquals(1, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("packed       FAIL 1 of 65536 codes differ, first at [b,h,s,d] [0,0,300,12], byte 3"), v.out());
        assertTrue(v.out().contains("FAIL at packed [0,0,300,12]"), v.out());
    }

    @Test
    void aContainerFromAnotherImplementationDiffsIdenticalAndOneChangedIdIsNamed() throws IOException {
        Path in = CliRun.corpus().resolve("edge_int4_g16_t1_asym.npz");
        Path ref = dir.resolve("reference.qkv");
        Path simd = dir.resolve("simd.qkv");
        String[] q = {"quantize", in.toString(), "--tensor", "x", "--bits", "4", "--group-size", "16", "--centroids", "64",
                "--asymmetric"};
        assertEquals(0, CliRun.of(args(new String[] {"--impl", "reference", "-o", ref.toString()}, q)).exit());
        assertEquals(0, CliRun.of(args(new String[] {"--impl", "simd", "-o", simd.toString()}, q)).exit());
        CliRun d = CliRun.of("diff", ref.toString(), simd.toString());
        assertEquals(0, d.exit(), d.out() + d.err());
        assertTrue(d.out().contains("IDENTICAL: all 9 sections equal"), d.out());
        CliRun v = CliRun.of("verify", "--input", in.toString(), "--tensor", "x", "--yours", simd.toString(), "--kmeans", "qvg4j");
        assertEquals(0, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("init         PASS equal to SplitMix64 seed 0"), v.out());

        // One stage-1 id changed, everything downstream recomputed from it: diff names the ids and the token, verify the id level.
        Qkv.Contents c = Qkv.read(ref);
        QuantizedSpan s = c.span();
        s.clusterIds()[0][200] = (byte) ((s.clusterIds()[0][200] + 1) % 64);
        QuantizedSpan down;
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            down = codec.encodeWithClustering(io.qvg4j.io.TensorFiles.load(in, "x").tensor(), s.config(), s.clusterIds(), s.centroids());
        }
        Path changed = dir.resolve("changed.qkv");
        Qkv.write(changed, new Qkv.Contents(new QuantizedSpan(s.config(), 1, 1, 512, 128, s.clusterIds(), s.centroids(),
                down.packed(), down.scales(), down.zeros(), s.iterations()), c.seed(), c.initIndices()));
        d = CliRun.of("diff", ref.toString(), changed.toString());
        assertEquals(1, d.exit(), d.out() + d.err());
        assertTrue(d.out().contains("ids0         DIFFERS 1 of 512 ids differ, first at token [b,h,s] [0,0,200]"), d.out());
        v = CliRun.of("verify", "--input", in.toString(), "--tensor", "x", "--yours", changed.toString(), "--kmeans", "qvg4j");
        assertEquals(1, v.exit(), v.out() + v.err());
        assertTrue(v.out().contains("FAIL at ids0 [0,0,200]: 1 of"), v.out());
        assertTrue(v.out().contains("ids0         FAIL 1 of 512 differ, first at stage 0 token [b,h,s] [0,0,200]"), v.out());
        for (String level : List.of("init ", "cent0", "iters0", "packed", "scales", "zeros")) {
            assertTrue(v.out().lines().anyMatch(l -> l.startsWith(level) && l.contains(" PASS ")), level + ": " + v.out());
        }
    }

    @Test
    void jsonReportAndBadOptions() throws IOException {
        String npz = CliRun.corpus().resolve("edge_int2_g64_t1.npz").toString();
        CliRun v = CliRun.of(args(EDGE_INT2, "verify", "--input", npz, "--tensor", "x", "--yours", npz, "--json", "--kmeans", "qvg4j"));
        assertEquals(1, v.exit(), v.err());
        try (JsonParser p = new JsonFactory().createParser(v.out())) {
            while (p.nextToken() != null) {
                // well-formed
            }
        }
        assertTrue(v.out().startsWith("{\"verdict\":\"fail\""), v.out());
        assertTrue(v.out().contains("\"first_failing_level\":\"ids0\""), v.out());
        for (String[] bad : List.of(new String[] {"--rel-l2-tolerance", "-1"}, new String[] {"--rel-l2-tolerance", "NaN"},
                new String[] {"--kmeans", "official"}, new String[] {"--group-size", "16"}, new String[] {"--scale-format", "bf16"})) {
            CliRun r = CliRun.of(args(bad, args(EDGE_INT2, "verify", "--input", npz, "--tensor", "x", "--yours", npz)));
            assertEquals(2, r.exit(), String.join(" ", bad) + ": " + r.out() + r.err());
            assertTrue(r.err().startsWith("qvg: ") && r.err().strip().lines().count() == 1, r.err());
        }
        CliRun r = CliRun.of("diff", npz, dir.resolve("missing.qkv").toString());
        assertEquals(2, r.exit());
        assertFalse(r.err().contains("\tat "), r.err());
        assertTrue(Files.notExists(dir.resolve("missing.qkv")));
    }
}
