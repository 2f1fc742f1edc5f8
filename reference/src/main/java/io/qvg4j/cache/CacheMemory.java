package io.qvg4j.cache;

import io.qvg4j.quant.MemoryFootprint;

/**
 * Bytes a {@link QuantizedKVCache} holds for K and V together, by component (payload bytes: the arrays'
 * contents, without JVM object headers).
 *
 * @param liveFrames      frames attention reads
 * @param liveTokens      tokens attention reads
 * @param sinkBf16Bytes   bf16 frames of the sink (never quantized)
 * @param recentBf16Bytes bf16 frames waiting to be quantized (or, for a bf16 policy, all non-sink frames)
 * @param quantized       every stored quantized span, K plus V (SPEC §8); a span with some frames evicted
 *                        still counts whole, since it is stored whole until its last frame goes
 * @param warmTableBytes  bf16 centroid tables kept only to warm-start the next span (the span they came
 *                        from was evicted); 0 otherwise
 * @param bf16Equivalent  the same live tokens as a bf16 K and V cache
 */
public record CacheMemory(int liveFrames, long liveTokens, long sinkBf16Bytes, long recentBf16Bytes,
                          MemoryFootprint quantized, long warmTableBytes, long bf16Equivalent) {

    public long totalBytes() {
        return sinkBf16Bytes + recentBf16Bytes + quantized.totalBytes() + warmTableBytes;
    }

    /** bf16 bytes of the live tokens over the bytes actually held. */
    public double compressionRatio() {
        return (double) bf16Equivalent / totalBytes();
    }
}
