package io.qvg4j.golden;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Golden streams through the quantized KV cache (SPEC §12): seeded frames appended under a policy, then
 * a fixed query set attending the cache straight from its codes. Parts: the live keys and values as
 * attention reads them ({@code keys}, {@code values}, bf16) and the attention output ({@code attention},
 * fp32).
 */
public final class AttentionCases {
    private AttentionCases() {}

    private record Stream(String name, CachePolicy policy, int heads, int dim, int frameTokens, int frames, int queries) {}

    private static final Stream[] STREAMS = {
            new Stream("attention/hy_worldplay_int2", CachePolicy.hyWorldPlay(
                    new QuantConfig(2, 64, 1, 16, false, ScaleFormat.FP8_E4M3, 2, 1e-4f), 7), 2, 64, 16, 20, 5),
            new Stream("attention/window_warm_int4_asym_t2", new CachePolicy("window", 3, 2, 2, 14, 3,
                    new QuantConfig(4, 16, 2, 8, true, ScaleFormat.FP8_E4M3, 3, 1e-4f), 11, true), 2, 64, 12, 25, 3),
    };

    /** Every stream's parts, computed with the given pipeline kernels and attention kernels. */
    public static Map<String, Map<String, String>> all(QvgCodec codec, AttentionKernels attention) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (Stream s : STREAMS) {
            SyntheticData r = new SyntheticData(s.name().hashCode());
            QuantizedKVCache cache = new QuantizedKVCache(s.heads(), s.dim(), s.frameTokens(), s.policy(), codec);
            for (int f = 0; f < s.frames(); f++) {
                short[] k = r.tokens(s.heads(), s.frameTokens(), s.dim(), 16, 1, 3, 0.5, 0, 0);
                short[] v = r.tokens(s.heads(), s.frameTokens(), s.dim(), 16, 1, 3, 0.5, 0, 0);
                cache.append(k, v);
            }
            float[] q = new float[s.heads() * s.queries() * s.dim()];
            for (int i = 0; i < q.length; i++) {
                q[i] = Bf16.round((float) r.gaussian());
            }
            Map<String, String> parts = new LinkedHashMap<>();
            parts.put("keys", Digests.sha256(cache.materialize(false).bits()));
            parts.put("values", Digests.sha256(cache.materialize(true).bits()));
            parts.put("attention", Digests.sha256(new CacheAttention(attention).attend(cache.view(attention), q, s.queries())));
            out.put(s.name(), parts);
        }
        return out;
    }
}
