package io.qvg4j.simd;

import io.qvg4j.baselines.DroppedTokens;
import io.qvg4j.baselines.Evaluation;
import io.qvg4j.baselines.Method;
import io.qvg4j.baselines.Quantized;
import io.qvg4j.baselines.Qvg;
import io.qvg4j.baselines.ThinK;
import io.qvg4j.baselines.TokenPruning;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.cache.ScoreCorrection;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Clustered;
import io.qvg4j.testkit.Exact;
import io.qvg4j.testkit.Require;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Token pruning (SPEC §16.5) and ThinK (§16.6) run the codec they are given: with the SIMD kernels at every width and
 * on two threads they give the scalar reference's bytes (salience and channel choice are plain Java beside it).
 */
class SimdPruningTest {

    static List<Method> methods(QvgCodec codec) {
        QuantConfig c = QuantConfig.DEFAULT.withGroupSize(16).withCentroids(8);
        Qvg qvg = new Qvg("QVG", c, 7, codec, new Qvg.Clusterings());
        List<Method> out = new ArrayList<>();
        for (TokenPruning.Salience s : TokenPruning.Salience.values()) {
            for (TokenPruning.Mode m : TokenPruning.Mode.values()) {
                out.add(new TokenPruning(qvg, codec, 7, s, m, 40, 32, 16));
            }
        }
        out.add(new ThinK(qvg, codec, 7, 32, 16, new ThinK.Shared()));
        return out;
    }

    @Test
    void pruningGivesTheReferenceBytesAtEveryWidth() {
        Require.simd();
        KvTensor k = Clustered.tensor(21, 1, 3, 300, 64), v = Clustered.tensor(22, 1, 3, 300, 64);
        List<Method.Pair> want = new ArrayList<>();
        try (CpuCodec scalar = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            for (Method m : methods(scalar)) {
                want.add(m.apply(k, v));
            }
        }
        for (QvgKernels kernels : SimdWidths.all()) {
            try (CpuCodec simd = new CpuCodec(kernels, 2)) {
                List<Method> ms = methods(simd);
                for (int i = 0; i < ms.size(); i++) {
                    Method.Pair got = ms.get(i).apply(k, v);
                    String what = ms.get(i).name() + ", " + kernels.name();
                    same(want.get(i).keys(), got.keys(), what + " K");
                    same(want.get(i).values(), got.values(), what + " V");
                }
            }
        }
    }

    @Test
    void maskedAttentionIsWidthIndependent() {
        Require.simd();
        int h = 2, s = 333, d = 64, q = 5;
        KvTensor k = Clustered.tensor(23, 1, h, s, d), v = Clustered.tensor(24, 1, h, s, d);
        boolean[] dropped = new boolean[h * s];
        for (int i = 0; i < dropped.length; i++) {
            dropped[i] = i % 3 == 1 || i % 7 == 0;
        }
        float[] queries = Evaluation.newestKeys(k, q);
        ScoreCorrection mask = new DroppedTokens(dropped, s, s - 64, null);
        float[] scalar = new CacheAttention(ScalarAttention.INSTANCE).attend(TokenSource.of(k, v), queries, q, mask);
        for (SimdAttention simd : SimdWidths.attention()) {
            Exact.assertBits(scalar, new CacheAttention(simd).attend(TokenSource.of(k, v), queries, q, mask), simd.name());
        }
    }

    private static void same(Quantized want, Quantized got, String what) {
        Exact.assertBits(want.dequantized().bits(), got.dequantized().bits(), what);
        Exact.assertBits(want.noise().steps(), got.noise().steps(), what + " steps");
        assertArrayEquals(want.dropped(), got.dropped(), what + " dropped");
        assertEquals(want.accounting(), got.accounting(), what + " accounting");
    }
}
