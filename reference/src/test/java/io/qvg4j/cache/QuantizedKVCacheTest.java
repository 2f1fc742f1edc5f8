package io.qvg4j.cache;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertSameSpan;
import static org.junit.jupiter.api.Assertions.*;

class QuantizedKVCacheTest {
    static final int H = 2, D = 64, FRAME = 16;
    static final QuantConfig SMALL = new QuantConfig(2, 32, 1, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);
    static final CpuCodec CODEC = new CpuCodec(ScalarKernels.INSTANCE, 1);

    @AfterAll
    static void close() {
        CODEC.close();
    }

    static QuantizedKVCache stream(CachePolicy policy, int frames, long seed) {
        QuantizedKVCache cache = new QuantizedKVCache(H, D, FRAME, policy, CODEC);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int f = 0; f < frames; f++) {
            cache.append(Streams.frame(rnd, H, FRAME, D), Streams.frame(rnd, H, FRAME, D));
        }
        return cache;
    }

    @Test
    void selfForcingQuantizesTwentyFourFramesAtOnce() {
        CachePolicy p = CachePolicy.selfForcing(SMALL, 1);
        assertEquals(0, stream(p, 23, 5).spans().size());
        QuantizedKVCache c = stream(p, 50, 5);
        assertEquals(2, c.spans().size());
        assertArrayEquals(range(0, 24), c.spans().get(0).frames());
        assertArrayEquals(range(24, 48), c.spans().get(1).frames());
        assertEquals(24 * FRAME, c.spans().get(0).keys().tokens());
        assertEquals(2 * 2L * H * FRAME * D * 2, c.memory().recentBf16Bytes());
    }

    @Test
    void hyWorldPlayQuantizesEightFrames() {
        QuantizedKVCache c = stream(CachePolicy.hyWorldPlay(SMALL, 1), 17, 6);
        assertEquals(2, c.spans().size());
        assertArrayEquals(range(8, 16), c.spans().get(1).frames());
        assertEquals(17, c.memory().liveFrames());
    }

    @Test
    void lingBotKeepsSinkAndRecentChunkAndSlides() {
        CachePolicy p = CachePolicy.lingBotV2(SMALL, 1);
        QuantizedKVCache c = stream(p, 11, 7);
        assertEquals(0, c.spans().size(), "span [4,8) waits for one newer complete chunk");
        c = stream(p, 12, 7);
        assertEquals(1, c.spans().size());
        assertArrayEquals(range(4, 8), c.spans().get(0).frames());
        c = stream(p, 100, 7);
        CacheMemory m = c.memory();
        assertEquals(68, m.liveFrames());
        assertEquals(4L * 2 * H * FRAME * D * 2, m.sinkBf16Bytes());
        // Frames 6 and 7 are evicted, 4 and 5 are live in the sink: span [4,8) stays whole.
        assertArrayEquals(range(4, 8), c.spans().get(0).frames());
        // Next live span starts at the first frame of the window's recent part, 100 − 62 = 38 → span [36,40).
        assertArrayEquals(range(36, 40), c.spans().get(1).frames());
        assertEquals(68 * FRAME, c.view().tokens());
    }

    @Test
    void evictionDropsASpanOnlyWithItsLastFrame() {
        QuantizedKVCache c = stream(CachePolicy.hyWorldPlay(SMALL, 1), 20, 8);
        assertEquals(2, c.spans().size());
        MemoryFootprint before = c.memory().quantized();
        c.evictFrames(0, 7);
        assertEquals(2, c.spans().size());
        assertEquals(before, c.memory().quantized());
        assertEquals(13 * FRAME, c.view().tokens());
        c.evictFrames(7, 8);
        assertEquals(1, c.spans().size());
        assertEquals(8, c.spans().get(0).frames()[0]);
        c.evictFrames(16, 18);
        assertEquals(2L * 2 * H * FRAME * D * 2, c.memory().recentBf16Bytes());
    }

    /**
     * The seeds of span 1 with base seed 42, written out from the documented derivation (docs/cache.md:
     * {@code mix(base + (2i + kv + 1)·0x9E3779B97F4A7C15)}, mix the SplitMix64 finalizer of SPEC §3.1),
     * computed outside Java: mix(42 + 3·γ) for K and mix(42 + 4·γ) for V. That is also the 3rd and 4th
     * draw of SplitMix64 seeded with 42.
     */
    static final long SPAN1_K_SEED = 0x47526757130F9F52L;
    static final long SPAN1_V_SEED = 0x581CE1FF0E4AE394L;

    @Test
    void spansAreTheCodecOfTheirFramesWithDerivedSeeds() {
        QuantizedKVCache c = stream(CachePolicy.hyWorldPlay(SMALL, 42), 16, 9);
        assertEquals(SPAN1_K_SEED, QuantizedKVCache.spanSeed(42, 1, false));
        assertEquals(SPAN1_V_SEED, QuantizedKVCache.spanSeed(42, 1, true));
        // Re-encode span 1's K and V from the stream, from the written-out seeds, and compare every byte.
        SplittableRandom rnd = new SplittableRandom(9);
        short[][] ks = new short[16][];
        short[][] vs = new short[16][];
        for (int f = 0; f < 16; f++) {
            ks[f] = Streams.frame(rnd, H, FRAME, D);
            vs[f] = Streams.frame(rnd, H, FRAME, D);
        }
        QuantizedKVCache.Span span = c.spans().get(1);
        assertArrayEquals(range(8, 16), span.frames());
        assertSameSpan(CODEC.encode(framesOf(ks, 8), SMALL, InitIndices.fromSeed(SPAN1_K_SEED, 1, H, SMALL.centroids(),
                8 * FRAME)), span.keys(), "span 1 K");
        assertSameSpan(CODEC.encode(framesOf(vs, 8), SMALL, InitIndices.fromSeed(SPAN1_V_SEED, 1, H, SMALL.centroids(),
                8 * FRAME)), span.values(), "span 1 V");
        assertEquals(16 * FRAME, c.materialize(false).tokens());
    }

    /** Frames {@code from..from+7} of {@code [H, FRAME, D]} each, as one {@code [1, H, 8·FRAME, D]} tensor. */
    private static KvTensor framesOf(short[][] frames, int from) {
        short[] bits = new short[H * 8 * FRAME * D];
        for (int j = 0; j < 8; j++) {
            for (int h = 0; h < H; h++) {
                System.arraycopy(frames[from + j], h * FRAME * D, bits, (h * 8 * FRAME + j * FRAME) * D, FRAME * D);
            }
        }
        return new KvTensor("span", 1, H, 8 * FRAME, D, bits);
    }

    @Test
    void warmStartBeginsFromThePreviousSpansTables() {
        QuantConfig two = SMALL.withStages(2);
        QuantizedKVCache c = stream(CachePolicy.hyWorldPlay(two, 3).withWarmStart(true), 16, 10);
        QuantizedSpan first = c.spans().get(0).values();
        QuantizedSpan second = c.spans().get(1).values();
        // Span 1 re-encoded from its original frames, read from a bf16 cache fed the same stream.
        QuantizedKVCache twin = stream(CachePolicy.bf16(), 16, 10);
        KvTensor all = twin.materialize(true);
        short[] bits = new short[H * 8 * FRAME * D];
        for (int h = 0; h < H; h++) {
            System.arraycopy(all.bits(), (h * 16 * FRAME + 8 * FRAME) * D, bits, h * 8 * FRAME * D, 8 * FRAME * D);
        }
        float[][][] init = new float[2][H][];
        for (int t = 0; t < 2; t++) {
            for (int h = 0; h < H; h++) {
                init[t][h] = first.centroidsAsFloats(t, h);
            }
        }
        QuantizedSpan expected = CODEC.encodeFromCentroids(new KvTensor("v", 1, H, 8 * FRAME, D, bits), two, init);
        assertArrayEquals(expected.packed(), second.packed());
        assertArrayEquals(expected.centroids()[1], second.centroids()[1]);
    }

    @Test
    void centroidStartFromGatheredTokensEqualsIndexStart() {
        SplittableRandom rnd = new SplittableRandom(11);
        QuantConfig two = SMALL.withStages(2).withMaxIters(4);
        KvTensor x = new KvTensor("x", 1, H, 96, D, Streams.frame(rnd, H, 96, D));
        int[][][] idx = InitIndices.fromSeed(5, 1, H, two.centroids(), 96);
        QuantizedSpan a = CODEC.encode(x, two.withStages(1), idx);
        float[][][] init = new float[1][H][two.centroids() * D];
        for (int h = 0; h < H; h++) {
            float[] head = x.headAsFloats(h);
            for (int k = 0; k < two.centroids(); k++) {
                System.arraycopy(head, idx[0][h][k] * D, init[0][h], k * D, D);
            }
        }
        QuantizedSpan b = CODEC.encodeFromCentroids(x, two.withStages(1), init);
        assertArrayEquals(a.packed(), b.packed());
        assertArrayEquals(a.centroids()[0], b.centroids()[0]);
        assertArrayEquals(a.iterations(), b.iterations());
        float[] copy = init[0][0].clone();
        assertArrayEquals(copy, init[0][0], "initial centroids are not modified");
        init[0][1][3] = Float.NaN;
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> CODEC.encodeFromCentroids(x, two.withStages(1), init));
        assertTrue(e.getMessage().contains("head 1, value 3"), e.getMessage());
    }

    /**
     * 1,200 frames through a cache that quantizes every 8 frames: the bytes held grow by one span's K+V
     * footprint per 8 frames (the quantized amount), never by the bf16 amount, and match the formula
     * sink + spans·footprint + pending bf16 exactly after every frame.
     */
    @Test
    void memoryGrowsByTheQuantizedAmount() {
        CachePolicy p = new CachePolicy("test", 8, 2, 1, 0, 0, SMALL, 1, false);
        QuantizedKVCache c = new QuantizedKVCache(H, D, FRAME, p, CODEC);
        SplittableRandom rnd = new SplittableRandom(12);
        long frameBf16 = 2L * H * FRAME * D * 2;
        long spanBytes = 2 * MemoryFootprint.of(1, H, 8 * FRAME, D, SMALL).totalBytes();
        long first = 0;
        int frames = 1200;
        for (int f = 1; f <= frames; f++) {
            c.append(Streams.frame(rnd, H, FRAME, D), Streams.frame(rnd, H, FRAME, D));
            int spans = Math.max(0, (f - 2 - 1) / 8);
            int pending = Math.max(0, f - 2 - 8 * spans);
            CacheMemory m = c.memory();
            assertEquals(spans, c.spans().size(), "frame " + f);
            assertEquals(Math.min(f, 2) * frameBf16, m.sinkBf16Bytes(), "frame " + f);
            assertEquals(pending * frameBf16, m.recentBf16Bytes(), "frame " + f);
            assertEquals(spans * spanBytes, m.quantized().totalBytes(), "frame " + f);
            assertEquals((long) f * frameBf16, m.bf16Equivalent());
            if (f == 200) {
                first = m.totalBytes();
            }
        }
        long growth = c.memory().totalBytes() - first;
        assertEquals((frames - 200) / 8 * spanBytes, growth);
        assertTrue(growth * 3 < (frames - 200) * frameBf16, "grows by " + growth + " bytes over 1000 frames");
        System.out.printf("cache memory over 1000 frames: +%d bytes (bf16 cache: +%d), %.3f x smaller%n",
                growth, (frames - 200) * frameBf16, (double) (frames - 200) * frameBf16 / growth);
    }

    @Test
    void badFramesAreRejected() {
        QuantizedKVCache c = new QuantizedKVCache(H, D, FRAME, CachePolicy.hyWorldPlay(SMALL, 1), CODEC);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> c.append(new short[3], new short[3]));
        assertTrue(e.getMessage().startsWith("cache frame 0"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> CachePolicy.preset("nope", SMALL, 0));
        assertThrows(InvalidInputException.class, () -> new CachePolicy("w", 4, 0, 4, 8, 0, SMALL, 0, false));
    }

    static int[] range(int from, int to) {
        int[] r = new int[to - from];
        Arrays.setAll(r, i -> from + i);
        return r;
    }
}
