package io.qvg4j.cache;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Attention over the draft view (SPEC §16.1): read from the codes' first s stages, it equals attention over the decoded draft. */
class DraftViewTest {
    static final int H = 2, D = 32, FRAME = 8;

    static QuantizedKVCache stream(QuantConfig config, CpuCodec codec, long seed) {
        QuantizedKVCache cache = new QuantizedKVCache(H, D, FRAME, new CachePolicy("t", 3, 1, 1, 0, 0, config, seed, false), codec);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int f = 0; f < 11; f++) {
            cache.append(Streams.frame(rnd, H, FRAME, D), Streams.frame(rnd, H, FRAME, D));
        }
        return cache;
    }

    @Test
    void draftViewEqualsTheDecodedDraftAndTIsTheFullView() {
        for (boolean asym : new boolean[]{false, true}) {
            QuantConfig config = new QuantConfig(asym ? 3 : 2, 8, 3, 8, asym, ScaleFormat.FP8_E4M3, 2, 1e-4f);
            try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
                QuantizedKVCache cache = stream(config, codec, asym ? 3 : 4);
                assertTrue(cache.spans().size() >= 2, "the stream has quantized spans");
                float[] q = Streams.queries(new SplittableRandom(9), H * 3 * D);
                CacheAttention attention = new CacheAttention(ScalarAttention.INSTANCE);
                float[] full = attention.attend(cache.view(), q, 3);
                for (int s = 1; s <= 3; s++) {
                    float[] direct = attention.attend(cache.draftView(s, ScalarAttention.INSTANCE), q, 3);
                    assertBits(attention.attend(cache.decodedDraftView(s), q, 3), direct, "draft of " + s + " stages");
                    if (s == 3) {
                        assertBits(full, direct, "s = T is the full view");
                    }
                }
                float[] one = attention.attend(cache.draftView(1, ScalarAttention.INSTANCE), q, 3);
                assertTrue(!java.util.Arrays.equals(one, full), "a one-stage draft differs from the full read");
            }
        }
    }

    @Test
    void draftDepthIsValidated() {
        QuantConfig config = new QuantConfig(2, 8, 2, 8, false, ScaleFormat.FP8_E4M3, 2, 1e-4f);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantizedKVCache cache = stream(config, codec, 1);
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> cache.draftView(3, ScalarAttention.INSTANCE));
            assertEquals("draft: stages s = 3 must be in 1..2 (the span's T; SPEC §16.1)", e.getMessage());
        }
    }
}
