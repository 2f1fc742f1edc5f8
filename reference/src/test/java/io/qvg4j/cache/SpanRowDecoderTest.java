package io.qvg4j.cache;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.KvTensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Rows read straight from the codes have the bits of {@code ScalarKernels.dequantize}. */
class SpanRowDecoderTest {

    @Test
    void rowsEqualTheReferenceDequantization() {
        QuantConfig[] configs = {QuantConfig.DEFAULT.withCentroids(16), QuantConfig.PRO.withCentroids(8),
                new QuantConfig(4, 16, 2, 8, true, ScaleFormat.FP8_E4M3, 3, 1e-4f),
                new QuantConfig(3, 32, 1, 4, false, ScaleFormat.BF16, 2, 1e-4f),
                new QuantConfig(8, 64, 3, 5, true, ScaleFormat.BF16, 2, 1e-4f)};
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            for (int c = 0; c < configs.length; c++) {
                long seed = 100 + c;
                SplittableRandom rnd = new SplittableRandom(seed);
                int heads = 3, tokens = 40, dim = 128;
                KvTensor x = new KvTensor("x", 1, heads, tokens, dim, Streams.frame(rnd, heads, tokens, dim));
                QuantConfig config = configs[c];
                QuantizedSpan span = codec.encode(x, config,
                        InitIndices.fromSeed(seed, config.stages(), heads, config.centroids(), tokens));
                short[] expected = codec.decode(span).bits();
                SpanRowDecoder decoder = new SpanRowDecoder(span, ScalarAttention.INSTANCE);
                float[] row = new float[dim + 1];
                for (int h = 0; h < heads; h++) {
                    for (int n = 0; n < tokens; n++) {
                        decoder.row(h, n, row, 1);
                        for (int d = 0; d < dim; d++) {
                            assertEquals(expected[(h * tokens + n) * dim + d], Bf16.fromFloat(row[1 + d]),
                                    config + " seed " + seed + " head " + h + " token " + n + " channel " + d);
                        }
                    }
                }
            }
        }
    }
}
