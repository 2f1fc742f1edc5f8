package io.qvg4j.cache;

import io.qvg4j.algorithm.BitPacking;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertBits;
import static io.qvg4j.testkit.Exact.assertSameSpan;
import static org.junit.jupiter.api.Assertions.*;

/** The age-decaying policy (SPEC §16.3) and salience eviction (SPEC §16.4) on small hand-computed streams. */
class CachePoliciesTest {
    static final int H = 2, D = 64, FRAME = 16;
    /** INT4, G = 32, Kc = 16, T = 1, FP8 scales. */
    static final QuantConfig INT4 = new QuantConfig(4, 32, 1, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);
    static final CpuCodec CODEC = new CpuCodec(ScalarKernels.INSTANCE, 1);

    @AfterAll
    static void close() {
        CODEC.close();
    }

    /** Sink 1 frame, spans of 2 frames quantized at INT4 as soon as complete; INT2 at age 2, ids+centroids at age 4. */
    static CachePolicy decaying() {
        return new CachePolicy("decay", 2, 1, 0, 0, 0, INT4, 3, false, new AgeDecay(new int[]{2, 4}, new int[]{2, 0}),
                SalienceEviction.NONE);
    }

    static int[] bitsOf(QuantizedKVCache c) {
        return c.spans().stream().mapToInt(QuantizedKVCache.Span::bits).toArray();
    }

    /**
     * Span j covers frames [1 + 2j, 3 + 2j) and is quantized when frame 3 + 2j has been appended (age 0); its age
     * after n appended frames is n − 3 − 2j. Written out by hand for n = 1 … 9.
     */
    @Test
    void spansStepDownAtTheirAges() {
        int[][] expected = {
                {}, {}, {4}, {4}, {2, 4}, {2, 4}, {0, 2, 4}, {0, 2, 4}, {0, 0, 2, 4}};
        QuantizedKVCache c = new QuantizedKVCache(H, D, FRAME, decaying(), CODEC);
        SplittableRandom rnd = new SplittableRandom(1);
        for (int n = 1; n <= expected.length; n++) {
            c.append(Streams.frame(rnd, H, FRAME, D), Streams.frame(rnd, H, FRAME, D));
            assertArrayEquals(expected[n - 1], bitsOf(c), "after " + n + " frames");
        }
        assertEquals(9 * FRAME, c.view().tokens(), "stepping down evicts nothing");
    }

    /**
     * Bytes after 7 frames, from SPEC §8 by hand: a span of 32 tokens × H = 2 × D = 64 holds, per tensor, INT4 codes
     * 2048 + scales 128 + ids 64 + centroids 4096 = 6336 bytes; INT2 codes 1024, so 5312; ids and centroids only
     * 4160. The bf16 sink frame is 2·2·16·64·2 = 8192 bytes (K+V).
     */
    @Test
    void memoryCountsEverySpanAtItsLevel() {
        QuantizedKVCache c = new QuantizedKVCache(H, D, FRAME, decaying(), CODEC);
        SplittableRandom rnd = new SplittableRandom(2);
        for (int n = 0; n < 7; n++) {
            c.append(Streams.frame(rnd, H, FRAME, D), Streams.frame(rnd, H, FRAME, D));
        }
        CacheMemory m = c.memory();
        assertEquals(8192, m.sinkBf16Bytes());
        assertEquals(0, m.recentBf16Bytes());
        assertEquals(2 * (4160 + 5312 + 6336), m.quantized().totalBytes());
        assertEquals(2 * (2048 + 1024), m.quantized().codeBytes());
        assertEquals(2 * (64 * 3), m.quantized().idBytes());
        assertEquals(8192 + 2 * (4160 + 5312 + 6336), m.totalBytes());
        assertEquals(7L * FRAME * H * D * 2 * 2, m.bf16Equivalent());
    }

    /**
     * A step keeps the clustering and re-quantizes the span's own dequantized values (SPEC §16.3): the INT2 span
     * after the step is the downstream path applied to the decoded INT4 span; the last level reads as §7 with codes
     * that decode to a zero residual.
     */
    @Test
    void aStepRequantizesTheDequantizedSpanWithTheSameClustering() {
        QuantizedKVCache c = new QuantizedKVCache(H, D, FRAME, decaying(), CODEC);
        SplittableRandom rnd = new SplittableRandom(3);
        List<QuantizedKVCache.Span> first = new ArrayList<>();
        for (int n = 1; n <= 7; n++) {
            c.append(Streams.frame(rnd, H, FRAME, D), Streams.frame(rnd, H, FRAME, D));
            first.add(c.spans().isEmpty() ? null : c.spans().get(0));
        }
        QuantizedSpan int4 = first.get(3).keys();
        QuantizedSpan int2 = first.get(4).keys();
        assertEquals(4, int4.config().bits());
        QuantizedSpan expected = CODEC.encodeWithClustering(CODEC.decode(int4), INT4.withBits(2), int4.clusterIds(), int4.centroids());
        assertEquals(2, int2.config().bits());
        assertArrayEquals(int4.iterations(), int2.iterations(), "the k-means counts of the span are kept");
        assertArrayEquals(int4.clusterIds()[0], int2.clusterIds()[0]);
        assertArrayEquals(expected.packed(), int2.packed());
        assertArrayEquals(expected.scales(), int2.scales());

        CentroidSpan only = first.get(6).keyCentroids();
        assertNull(first.get(6).keys());
        assertArrayEquals(int4.clusterIds()[0], only.clusterIds()[0]);
        assertBits(int4.centroids()[0], only.centroids()[0], "centroids kept");
        // Codes all m (= 1 for INT2) with scales +0 decode to a zero residual: §7 must then give the same bits.
        int rows = H * only.tokens();
        int[] ones = new int[rows * D];
        Arrays.fill(ones, 1);
        byte[] packed = new byte[rows * D * 2 / 8];
        BitPacking.pack(ones, 0, ones.length, 2, packed, 0);
        QuantizedSpan zeroResidual = new QuantizedSpan(INT4.withBits(2), 1, H, only.tokens(), D, only.clusterIds(),
                only.centroids(), packed, new byte[rows * 2], null, only.iterations());
        assertBits(CODEC.decode(zeroResidual).bits(), only.decode(), "ids and centroids only");
    }

    /** Attention reads a decaying cache straight from its spans with the bits of the decode-first path. */
    @Test
    void directReadEqualsDecodeFirstAtEveryLevel() {
        QuantizedKVCache c = new QuantizedKVCache(H, D, FRAME, decaying().withWarmStart(true), CODEC);
        SplittableRandom rnd = new SplittableRandom(4);
        for (int n = 0; n < 9; n++) {
            c.append(Streams.frame(rnd, H, FRAME, D), Streams.frame(rnd, H, FRAME, D));
        }
        assertArrayEquals(new int[]{0, 0, 2, 4}, bitsOf(c));
        float[] q = Streams.queries(rnd, H * 3 * D);
        CacheAttention attention = new CacheAttention(ScalarAttention.INSTANCE);
        assertBits(attention.attend(c.decodedView(), q, 3), attention.attend(c.view(), q, 3), "decaying cache");
        // The correction has no step for spans without a residual: their scores are untouched.
        assertBits(attention.attend(c.view(), q, 3, c.jensenCorrection()),
                attention.attend(c.decodedView(), q, 3, c.jensenCorrection()), "with the Jensen correction");
    }

    @Test
    void badSchedulesAreRejected() {
        assertThrows(InvalidInputException.class, () -> new AgeDecay(new int[]{4, 4}, new int[]{2, 0}));
        assertThrows(InvalidInputException.class, () -> new AgeDecay(new int[]{0}, new int[]{2}));
        assertThrows(InvalidInputException.class, () -> new AgeDecay(new int[]{2, 4}, new int[]{0, 2}));
        assertThrows(InvalidInputException.class, () -> new AgeDecay(new int[]{2}, new int[]{5}));
        assertThrows(InvalidInputException.class, () -> decaying().withDecay(2, new AgeDecay(new int[]{2}, new int[]{2})));
        int[] initial = new int[1];
        assertEquals(new AgeDecay(new int[]{8, 24}, new int[]{2, 0}), AgeDecay.parse("4,8:2,24:0", initial));
        assertEquals(4, initial[0]);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> AgeDecay.parse("4,8-2", initial));
        assertTrue(e.getMessage().contains("B0,AGE:B"), e.getMessage());
        assertEquals(2, AgeDecay.NONE.bitsAt(2, 1000));
    }

    // ---- salience eviction (SPEC §16.4) ----

    static final int F4 = 4;

    /** bf16 frames of 4 tokens, the sink 1 frame, the newest frame protected, at most 12 live tokens. */
    static CachePolicy salient(int spanFrames, int protect, int budget) {
        return new CachePolicy("salience", spanFrames, 1, 0, 0, 0, INT4.withBits(2), 5, false, AgeDecay.NONE,
                new SalienceEviction(budget, protect));
    }

    /** Salience per frame of 4 tokens: ties within and across frames. */
    static final float[][] SCORES = {
            {0.0f, 0.0f, 0.0f, 0.0f},   // sink: never evicted however low
            {0.5f, 0.1f, 0.1f, 0.9f},
            {0.1f, 0.3f, 0.2f, 0.2f},
            {0.05f, 0.7f, 0.3f, 0.6f},
            {0.4f, 0.4f, 0.4f, 0.4f}};

    /**
     * After frame 3 (16 tokens, budget 12) the 4 lowest of frames 1–2 go (frame 3 protected): 0.1 at positions
     * 5, 6, 8 and, of the two 0.2 at 10 and 11, the older 10. After frame 4 (16 live, frames 1–3 candidates):
     * 0.05 at 12, 0.2 at 11, then the two 0.3 at 9 and 14 (the older 9 first); 0.5 at 4 stays.
     */
    @Test
    void evictsTheLeastSalientTokensOlderFirstAmongTies() {
        QuantizedKVCache c = new QuantizedKVCache(H, D, F4, salient(0, 1, 12), CODEC);
        SplittableRandom rnd = new SplittableRandom(6);
        short[][] ks = new short[5][], vs = new short[5][];
        int[][] live = {{0, 1, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                {0, 1, 2, 3, 4, 7, 9, 11, 12, 13, 14, 15}, {0, 1, 2, 3, 4, 7, 13, 15, 16, 17, 18, 19}};
        for (int f = 0; f < 5; f++) {
            ks[f] = Streams.frame(rnd, H, F4, D);
            vs[f] = Streams.frame(rnd, H, F4, D);
            c.append(ks[f], vs[f], SCORES[f]);
            TokenSource view = c.view();
            assertEquals(live[f].length, view.tokens(), "after frame " + f);
            assertArrayEquals(Arrays.stream(live[f]).asLongStream().toArray(), c.livePositions(), "after frame " + f);
            // Every live token reads back as the bf16 row at its stream position.
            float[] k = new float[D * view.tokens()];
            float[] v = new float[view.tokens() * D];
            for (int h = 0; h < H; h++) {
                view.keys(h, 0, view.tokens(), k, view.tokens());
                view.values(h, 0, view.tokens(), v);
                for (int i = 0; i < view.tokens(); i++) {
                    int pos = live[f][i], frame = pos / F4, r = pos % F4;
                    for (int d = 0; d < D; d++) {
                        assertEquals(ks[frame][(h * F4 + r) * D + d], Bf16.fromFloat(k[d * view.tokens() + i]), "K at " + pos);
                        assertEquals(vs[frame][(h * F4 + r) * D + d], Bf16.fromFloat(v[i * D + d]), "V at " + pos);
                    }
                }
            }
        }
        CacheMemory m = c.memory();
        assertEquals(12, m.liveTokens());
        assertEquals(4, m.liveFrames(), "frame 2 lost all four tokens");
        assertEquals(4L * 2 * H * D * 2, m.sinkBf16Bytes());
        assertEquals(8L * 2 * H * D * 2, m.recentBf16Bytes());
    }

    /**
     * With quantized spans (2 frames, the newest 2 frames protected) evicted tokens leave their span: its codes,
     * scales and ids shrink to the survivors (SPEC §8 for the remaining rows), the centroid tables stay, and the
     * survivors read with exactly their bits before the eviction.
     */
    @Test
    void evictedTokensLeaveTheirQuantizedSpan() {
        CachePolicy keepAll = salient(2, 2, 1000);
        CachePolicy evict = salient(2, 2, 14);
        QuantizedKVCache full = new QuantizedKVCache(H, D, F4, keepAll, CODEC);
        QuantizedKVCache cut = new QuantizedKVCache(H, D, F4, evict, CODEC);
        SplittableRandom rnd = new SplittableRandom(7);
        float[][] scores = {{0, 0, 0, 0}, {0.5f, 0.1f, 0.1f, 0.9f}, {0.1f, 0.3f, 0.2f, 0.2f}, {1, 1, 1, 1}, {1, 1, 1, 1}};
        for (int f = 0; f < 5; f++) {
            short[] k = Streams.frame(rnd, H, F4, D), v = Streams.frame(rnd, H, F4, D);
            full.append(k, v, scores[f]);
            cut.append(k, v, scores[f]);
        }
        // Spans [1,3) and [3,5); 20 tokens, budget 14: the 6 lowest of frames 1–2 go (positions 5, 6, 8, 10, 11, 9),
        // leaving 4 and 7 of span 0; frames 3–4 are protected.
        assertEquals(2, cut.spans().size());
        QuantizedSpan whole = full.spans().get(0).keys();
        QuantizedSpan rest = cut.spans().get(0).keys();
        assertEquals(2, rest.tokens());
        boolean[] drop = {false, true, true, false, true, true, true, true};
        assertSameSpan(SpanEdits.withoutRows(whole, drop), rest, "span 0 K without the evicted rows");
        for (int h = 0; h < H; h++) {
            for (int d = 0; d < D; d++) {
                assertEquals(whole.packed()[(h * 8) * D / 4 + d / 4], rest.packed()[(h * 2) * D / 4 + d / 4], "codes of position 4");
                assertEquals(whole.packed()[(h * 8 + 3) * D / 4 + d / 4], rest.packed()[(h * 2 + 1) * D / 4 + d / 4], "codes of position 7");
            }
        }
        QuantConfig int2 = INT4.withBits(2);
        assertEquals(2 * (MemoryFootprint.of(1, H, 2, D, int2).totalBytes() + MemoryFootprint.of(1, H, 8, D, int2).totalBytes()),
                cut.memory().quantized().totalBytes());
        assertEquals(2 * 2 * H * 16 * D * 2, cut.memory().quantized().centroidBytes(), "both spans keep their 16-centroid tables");
        assertEquals(14, cut.memory().liveTokens());
        // Survivors read as before: compare with the full cache's rows at positions 4 and 7.
        TokenSource a = full.view(), b = cut.view();
        float[] ka = new float[D * a.tokens()], kb = new float[D * b.tokens()];
        a.keys(1, 0, a.tokens(), ka, a.tokens());
        b.keys(1, 0, b.tokens(), kb, b.tokens());
        for (int d = 0; d < D; d++) {
            assertEquals(Float.floatToRawIntBits(ka[d * a.tokens() + 4]), Float.floatToRawIntBits(kb[d * b.tokens() + 4]));
            assertEquals(Float.floatToRawIntBits(ka[d * a.tokens() + 7]), Float.floatToRawIntBits(kb[d * b.tokens() + 5]));
        }
        float[] q = Streams.queries(rnd, H * 2 * D);
        CacheAttention attention = new CacheAttention(ScalarAttention.INSTANCE);
        assertBits(attention.attend(cut.decodedView(), q, 2), attention.attend(cut.view(), q, 2), "evicted cache");
    }

    /**
     * Salience equal to the stream position evicts the oldest tokens first; with spans of one frame that is exactly the
     * sliding window with the sink as its retained frame: the same live tokens, bytes and attention output.
     */
    @Test
    void ageAsSalienceIsTheSlidingWindow() {
        QuantConfig int2 = INT4.withBits(2);
        CachePolicy window = new CachePolicy("window", 1, 1, 0, 3, 1, int2, 8, false);
        CachePolicy byAge = new CachePolicy("age", 1, 1, 0, 0, 0, int2, 8, false).withSalience(new SalienceEviction(3 * FRAME, 1));
        QuantizedKVCache a = new QuantizedKVCache(H, D, FRAME, window, CODEC);
        QuantizedKVCache b = new QuantizedKVCache(H, D, FRAME, byAge, CODEC);
        SplittableRandom rnd = new SplittableRandom(9);
        for (int f = 0; f < 7; f++) {
            short[] k = Streams.frame(rnd, H, FRAME, D), v = Streams.frame(rnd, H, FRAME, D);
            float[] age = new float[FRAME];
            for (int r = 0; r < FRAME; r++) {
                age[r] = f * FRAME + r;
            }
            a.append(k, v);
            b.append(k, v, age);
            assertArrayEquals(a.livePositions(), b.livePositions(), "frame " + f);
            assertEquals(a.memory().totalBytes(), b.memory().totalBytes(), "frame " + f);
        }
        float[] q = Streams.queries(rnd, H * 2 * D);
        CacheAttention attention = new CacheAttention(ScalarAttention.INSTANCE);
        assertBits(attention.attend(a.view(), q, 2), attention.attend(b.view(), q, 2), "window and age as salience");
    }

    @Test
    void salienceOfHeadsIsTheirMeanPerToken() {
        assertArrayEquals(new double[]{2, 4.5}, SalienceEviction.perToken(new float[]{1, 3, 3, 6}, 2, 2, "x"));
        assertArrayEquals(new double[]{1, 3}, SalienceEviction.perToken(new float[]{1, 3}, 2, 2, "x"));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> SalienceEviction.perToken(new float[]{1, Float.NaN}, 2, 2, "x"));
        assertTrue(e.getMessage().contains("score 1 is NaN"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> SalienceEviction.perToken(new float[3], 2, 2, "x"));
    }

    @Test
    void badSaliencePoliciesAreRejected() {
        assertThrows(InvalidInputException.class, () -> salient(2, 1, 100), "protects fewer frames than a span");
        assertThrows(InvalidInputException.class, () -> new CachePolicy("w", 0, 0, 0, 8, 0, INT4, 0, false, AgeDecay.NONE,
                new SalienceEviction(10, 0)), "salience and a window");
        assertThrows(InvalidInputException.class, () -> new QuantizedKVCache(H, D, F4, salient(0, 2, 11), CODEC),
                "budget below sink + protected = 12 tokens");
        QuantizedKVCache c = new QuantizedKVCache(H, D, F4, salient(0, 1, 12), CODEC);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> c.append(new short[H * F4 * D], new short[H * F4 * D]));
        assertTrue(e.getMessage().contains("salience"), e.getMessage());
    }
}
