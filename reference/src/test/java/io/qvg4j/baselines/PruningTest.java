package io.qvg4j.baselines;

import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Clustered;
import io.qvg4j.testkit.Exact;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static io.qvg4j.baselines.BaselinesTest.floats;
import static io.qvg4j.baselines.BaselinesTest.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Token pruning (SPEC §16.5) and ThinK's channel pruning (§16.6) on cases small enough to compute by hand. */
class PruningTest {

    /** INT2, G = 4, one centroid: the centroid of a head whose tokens sum to 0 is +0, so R₁ = X. */
    static final QuantConfig ONE = QuantConfig.DEFAULT.withGroupSize(4).withCentroids(1);

    /** Six tokens of D = 4 summing to 0; energies ‖x‖² = 0.25, 0.25, 4, 4, 1, 1. */
    static KvTensor six() {
        return tensor(1, 6, 4,
                0.5f, 0, 0, 0,
                -0.5f, 0, 0, 0,
                0, 0, 2, 0,
                0, 0, -2, 0,
                1, 0, 0, 0,
                -1, 0, 0, 0);
    }

    static TokenPruning pruning(CpuCodec codec, QuantConfig c, TokenPruning.Salience s, TokenPruning.Mode m, int keep,
                                int protect, int queries) {
        return new TokenPruning(new Qvg("QVG", c, 5, codec, new Qvg.Clusterings()), codec, 5, s, m, keep, protect, queries);
    }

    @Test
    void topTakesTheLargestScoresAndBreaksTiesToTheLowerIndex() {
        assertArrayEquals(new int[]{2, 1, 3}, TokenPruning.top(new double[]{0.5, 1, 3, 1, 0.5}, 3));
        assertArrayEquals(new int[]{0, 4}, TokenPruning.top(new double[]{2, 1, 1, 1, 2}, 2));
        assertArrayEquals(new int[0], TokenPruning.top(new double[]{1, 2}, 0));
    }

    @Test
    void idOnlyTokensReadAsTheirCentroidAndStoreNoCodesOrScales() {
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            KvTensor x = six();
            // Newest 2 protected, P = 4 prunable, ⌊4·50/100⌋ = 2 keep codes: the energies 4 and 4 (tokens 2, 3).
            TokenPruning m = pruning(codec, ONE, TokenPruning.Salience.RESIDUAL, TokenPruning.Mode.ID_ONLY, 50, 2, 1);
            assertArrayEquals(new boolean[]{false, false, true, true, true, true}, m.select(x, x));
            Quantized q = m.apply(x, Method.Role.KEYS);
            // Tokens 0 and 1 are their centroid +0; blocks {0,0,±2,0} and {±1,0,0,0} are exact at INT2 (scale = amax).
            assertArrayEquals(new float[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, -2, 0, 1, 0, 0, 0, -1, 0, 0, 0}, floats(q.dequantized()));
            assertArrayEquals(new float[]{0, 0, 2, 2, 1, 1}, q.noise().steps());
            assertNull(q.dropped());
            // 4 rows of codes (1 byte each) and scales (1 byte each), ids for all 6 rows, one bf16 centroid of 4
            // channels, a bitmap of ⌈6/8⌉ = 1 byte.
            Accounting a = q.accounting();
            assertEquals(4, a.quantized().codeBytes());
            assertEquals(4, a.quantized().scaleBytes());
            assertEquals(6, a.quantized().idBytes());
            assertEquals(8, a.quantized().centroidBytes());
            assertEquals(1, a.indexBytes());
            assertEquals(23, a.totalBytes());
            assertEquals(24, a.elements());
            // 25 %: ⌊4·25/100⌋ = 1; tokens 2 and 3 tie at 4, the lower index keeps its codes.
            TokenPruning quarter = pruning(codec, ONE, TokenPruning.Salience.RESIDUAL, TokenPruning.Mode.ID_ONLY, 25, 2, 1);
            assertArrayEquals(new boolean[]{false, false, true, false, true, true}, quarter.select(x, x));
        }
    }

    @Test
    void droppedTokensStoreNothingAndAreMasked() {
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            KvTensor x = six();
            Quantized q = pruning(codec, ONE, TokenPruning.Salience.RESIDUAL, TokenPruning.Mode.DROP, 50, 2, 1)
                    .apply(x, Method.Role.KEYS);
            assertArrayEquals(new boolean[]{true, true, false, false, false, false}, q.dropped());
            Accounting a = q.accounting();
            assertEquals(4, a.quantized().idBytes(), "ids of the kept rows only");
            assertEquals(4 + 4 + 4 + 8 + 1, a.totalBytes());
        }
    }

    @Test
    void keyAndValueEnergiesWeighEquallyInTheJointSalience() {
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            // K energies of tokens 0–3: 0.25, 0.25, 4, 4 (shares 1/34.. of 8.5); V: token 0 carries everything.
            KvTensor k = six();
            KvTensor v = tensor(1, 6, 4,
                    3, 0, 0, 0,
                    0, 0, 0, 0,
                    0, 0, 0, 0,
                    0, 0, 0, 0,
                    -1, 0, 0, 0,
                    -2, 0, 0, 0);
            // Shares: token 0 = 0.25/8.5 + 1, tokens 2, 3 = 4/8.5 each: token 0 first, then token 2.
            TokenPruning m = pruning(codec, ONE, TokenPruning.Salience.RESIDUAL, TokenPruning.Mode.DROP, 50, 2, 1);
            assertArrayEquals(new boolean[]{true, false, true, false, true, true}, m.select(k, v));
            Method.Pair out = m.apply(k, v);
            assertArrayEquals(out.keys().dropped(), out.values().dropped());
        }
    }

    @Test
    void xStreamVggtScoresTokensByThePooledQueryOverHeadAveragedKeys() {
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            // H = 2, S = 5, queries = the newest 2 rows (one pool group). q̄ = mean over heads of the rows' mean:
            // head 0 (0,2,0,0), head 1 (0,0,2,0) → (0,1,1,0). k̄: t0 (.5,0,0,0) → 0; t1 (0,0,0,0) → 0; t2 (0,0,.5,.5) → .5.
            KvTensor k = tensor(2, 5, 4,
                    1, 0, 0, 0,
                    0, 1, 0, 0,
                    0, 0, 1, 0,
                    0, 2, 0, 0,
                    0, 2, 0, 0,

                    0, 0, 0, 0,
                    0, -1, 0, 0,
                    0, 0, 0, 1,
                    0, 0, 2, 0,
                    0, 0, 2, 0);
            QuantConfig c = ONE;
            TokenPruning third = pruning(codec, c, TokenPruning.Salience.QUERY, TokenPruning.Mode.DROP, 34, 2, 2);
            assertArrayEquals(new double[]{0, 0, 0.5}, third.queryScore(k, 3));
            // ⌊3·34/100⌋ = 1: token 2, in both heads.
            assertArrayEquals(new boolean[]{false, false, true, true, true, false, false, true, true, true}, third.select(k, k));
            // ⌊3·67/100⌋ = 2: token 2, then tokens 0 and 1 tie at 0 and token 0 wins.
            TokenPruning twoThirds = pruning(codec, c, TokenPruning.Salience.QUERY, TokenPruning.Mode.DROP, 67, 2, 2);
            assertArrayEquals(new boolean[]{true, false, true, true, true, true, false, true, true, true}, twoThirds.select(k, k));
            // Dropped before k-means: the span holds the 3 kept tokens per head; one bitmap for both heads.
            Quantized q = third.apply(k, Method.Role.KEYS);
            assertEquals(1 * 2 * 3, q.accounting().quantized().idBytes());
            assertEquals(2 * 3, q.accounting().quantized().codeBytes());
            assertEquals(1, q.accounting().indexBytes());
            assertEquals(40, q.accounting().elements());
            float[] deq = floats(q.dequantized());
            for (int i : new int[]{0, 1, 5, 6}) {
                for (int d = 0; d < 4; d++) {
                    assertEquals(0f, deq[i * 4 + d], "a dropped row is +0");
                }
            }
        }
    }

    @Test
    void everyTokenKeptIsPlainQvgPlusItsBitmap() {
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            KvTensor x = Clustered.tensor(3, 1, 2, 40, 8);
            QuantConfig c = QuantConfig.DEFAULT.withGroupSize(4).withCentroids(4);
            Quantized plain = new Qvg("QVG", c, 5, codec, new Qvg.Clusterings()).apply(x, Method.Role.KEYS);
            for (TokenPruning.Mode mode : TokenPruning.Mode.values()) {
                Quantized all = pruning(codec, c, TokenPruning.Salience.RESIDUAL, mode, 100, 8, 4).apply(x, Method.Role.KEYS);
                Exact.assertBits(plain.dequantized().bits(), all.dequantized().bits(), mode + " at 100 %");
                Exact.assertBits(plain.noise().steps(), all.noise().steps(), mode + " steps at 100 %");
                assertEquals(plain.accounting().totalBytes() + 2 * 5, all.accounting().totalBytes(), mode + ": + 2 heads × ⌈40/8⌉");
            }
        }
    }

    @Test
    void maskedAttentionIsAttentionOverTheKeptTokensAlone() {
        Random r = new Random(11);
        int h = 2, s = 150, d = 8, q = 3, exactFrom = 140;
        KvTensor k = Clustered.tensor(4, 1, h, s, d), v = Clustered.tensor(5, 1, h, s, d);
        boolean[] dropped = new boolean[h * s];
        for (int i = 0; i < dropped.length; i++) {
            dropped[i] = r.nextInt(3) == 0;
        }
        float[] queries = Evaluation.newestKeys(k, q);
        CacheAttention attention = new CacheAttention(ScalarAttention.INSTANCE);
        float[] masked = attention.attend(TokenSource.of(k, v), queries, q, new DroppedTokens(dropped, s, exactFrom, null));
        for (int head = 0; head < h; head++) {
            int n = 0;
            for (int t = 0; t < s; t++) {
                n += dropped[head * s + t] && t < exactFrom ? 0 : 1;
            }
            short[] kb = new short[n * d], vb = new short[n * d];
            for (int t = 0, i = 0; t < s; t++) {
                if (!(dropped[head * s + t] && t < exactFrom)) {
                    System.arraycopy(k.bits(), k.headOffset(head) + t * d, kb, i * d, d);
                    System.arraycopy(v.bits(), v.headOffset(head) + t * d, vb, i * d, d);
                    i++;
                }
            }
            float[] hq = java.util.Arrays.copyOfRange(queries, head * q * d, (head + 1) * q * d);
            float[] alone = attention.attend(TokenSource.of(new KvTensor("k", 1, 1, n, d, kb), new KvTensor("v", 1, 1, n, d, vb)), hq, q);
            Exact.assertBits(alone, java.util.Arrays.copyOfRange(masked, head * q * d, (head + 1) * q * d), "head " + head);
        }
    }

    @Test
    void thinKKeepsTheChannelsOfLargestQueryTimesKeyEnergy() {
        // S = 2, queries = 1 (token 1). a = t1²: 1,1,1,0,1,4,1,1; b = t0² + t1²: 2,5,1,1,10,4,2,2;
        // a·b: 2,5,1,0,10,16,2,2 → 5, 4, 1, then channels 0, 6, 7 tie at 2 and channel 0 is kept.
        KvTensor x = tensor(1, 2, 8,
                1, 2, 0, 1, 3, 0, 1, 1,
                1, 1, 1, 0, 1, 2, 1, 1);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            QuantConfig c = QuantConfig.DEFAULT.withGroupSize(4).withCentroids(1);
            ThinK think = new ThinK(new Qvg("QVG", c, 5, codec, new Qvg.Clusterings()), codec, 5, 4, 1, new ThinK.Shared());
            assertArrayEquals(new int[]{0, 1, 4, 5}, think.channels(x)[0]);
            Quantized q = think.apply(x, Method.Role.KEYS);
            float[] deq = floats(q.dequantized());
            for (int t = 0; t < 2; t++) {
                for (int dropped : new int[]{2, 3, 6, 7}) {
                    assertEquals(0f, deq[t * 8 + dropped], "dropped channel " + dropped + " reads +0");
                    assertEquals(0f, q.noise().steps()[t * 8 + dropped]);
                }
            }
            // The kept channels are QVG of the [1,1,2,4] thin keys, stored at 4 channels; a D-bit channel mask per head.
            KvTensor thin = tensor(1, 2, 4, 1, 2, 3, 0, 1, 1, 1, 2);
            Quantized direct = new Qvg("QVG", c, 5, codec, new Qvg.Clusterings()).apply(thin, Method.Role.KEYS);
            float[] want = floats(direct.dequantized());
            int[] kept = {0, 1, 4, 5};
            for (int t = 0; t < 2; t++) {
                for (int j = 0; j < 4; j++) {
                    assertEquals(Float.floatToRawIntBits(want[t * 4 + j]), Float.floatToRawIntBits(deq[t * 8 + kept[j]]));
                }
            }
            assertEquals(direct.accounting().quantized().totalBytes(), q.accounting().quantized().totalBytes());
            assertEquals(1, q.accounting().indexBytes());
            assertEquals(16, q.accounting().elements());
            // Values are plain QVG.
            Exact.assertBits(new Qvg("QVG", c, 5, codec, new Qvg.Clusterings()).apply(x, Method.Role.VALUES).dequantized().bits(),
                    think.apply(x, Method.Role.VALUES).dequantized().bits(), "values");
            // G = 4 must divide the kept channels.
            ThinK odd = new ThinK(new Qvg("QVG", c, 5, codec, new Qvg.Clusterings()), codec, 5, 6, 1, new ThinK.Shared());
            assertThrows(InvalidInputException.class, () -> odd.apply(x, Method.Role.KEYS));
        }
    }
}
