package io.qvg4j.cache;

import io.qvg4j.quant.QuantConfig;
import io.qvg4j.tensor.InvalidInputException;

/**
 * When a {@link QuantizedKVCache} quantizes and what it keeps, in frames (a frame is a fixed number of
 * tokens, one latent frame of the video model).
 *
 * <p>Frames {@code [0, sinkFrames)} stay bf16 forever. After them the stream is cut into spans of
 * {@code spanFrames} frames; span j covers frames {@code [sink + j·span, sink + (j+1)·span)} and is
 * quantized as one {@link io.qvg4j.quant.QuantizedSpan} (one centroid table per stage and head) as soon
 * as it is complete and {@code keepRecentFrames} newer frames have been appended after it. Until then
 * its frames are bf16. {@code spanFrames = 0} never quantizes (a plain bf16 cache).
 *
 * <p>With {@code windowFrames > 0} the cache is a sliding window: after every append, frames
 * {@code [retainFrames, appended − (windowFrames − retainFrames))} are evicted, so at most
 * {@code windowFrames} frames stay live, the first {@code retainFrames} of them the attention sink.
 *
 * @param name             preset name, for reports
 * @param spanFrames       frames per quantized span (0: never quantize)
 * @param sinkFrames       leading frames never quantized
 * @param keepRecentFrames completed frames kept bf16 after a span is complete, before it is quantized
 * @param windowFrames     sliding window length in frames, 0 for none
 * @param retainFrames     leading frames the window never evicts (its attention sink)
 * @param config           the quantizer
 * @param seed             base seed of the k-means initial indices (see {@link QuantizedKVCache#spanSeed})
 * @param warmStart        start each span's k-means from the previous span's centroids (same K/V,
 *                         stage and head) instead of sampled tokens; the first span is always seeded
 * @param decay            how a span's residual bits step down with its age (SPEC §16.3); {@link AgeDecay#NONE}
 * @param salience         eviction by per-token salience instead of by age (SPEC §16.4); {@link SalienceEviction#NONE}
 */
public record CachePolicy(String name, int spanFrames, int sinkFrames, int keepRecentFrames, int windowFrames,
                          int retainFrames, QuantConfig config, long seed, boolean warmStart, AgeDecay decay,
                          SalienceEviction salience) {

    /** A policy whose spans keep their bits and whose frames leave by age only. */
    public CachePolicy(String name, int spanFrames, int sinkFrames, int keepRecentFrames, int windowFrames,
                       int retainFrames, QuantConfig config, long seed, boolean warmStart) {
        this(name, spanFrames, sinkFrames, keepRecentFrames, windowFrames, retainFrames, config, seed, warmStart,
                AgeDecay.NONE, SalienceEviction.NONE);
    }

    public CachePolicy {
        if (decay == null || salience == null) {
            throw new InvalidInputException("cache policy " + name + ": age schedule or salience eviction missing");
        }
        if (!decay.isNone() && spanFrames == 0) {
            throw new InvalidInputException("cache policy " + name + ": an age schedule needs quantized spans (span frames > 0)");
        }
        if (!decay.isNone() && decay.bits()[0] >= config.bits()) {
            throw new InvalidInputException("cache policy " + name + ": the age schedule's first step to " + decay.bits()[0]
                    + " bits must be below the " + config.bits() + " bits spans are quantized at");
        }
        if (!salience.isNone() && windowFrames > 0) {
            throw new InvalidInputException("cache policy " + name + ": evict either by salience or by a sliding window, not both");
        }
        if (!salience.isNone() && spanFrames > 0 && salience.protectRecentFrames() < spanFrames + keepRecentFrames) {
            throw new InvalidInputException("cache policy " + name + ": salience eviction must protect at least the newest "
                    + (spanFrames + keepRecentFrames) + " frames (span + keep-recent), or tokens would be evicted before "
                    + "their span is quantized; got " + salience.protectRecentFrames());
        }
        if (spanFrames < 0 || sinkFrames < 0 || keepRecentFrames < 0 || windowFrames < 0 || retainFrames < 0) {
            throw new InvalidInputException("cache policy " + name + ": frame counts must be >= 0");
        }
        if (config == null) {
            throw new InvalidInputException("cache policy " + name + ": quantizer config missing");
        }
        if (windowFrames > 0 && windowFrames <= retainFrames + spanFrames + keepRecentFrames) {
            throw new InvalidInputException("cache policy " + name + ": window of " + windowFrames
                    + " frames must exceed retained " + retainFrames + " + span " + spanFrames + " + keep-recent "
                    + keepRecentFrames + " frames, or spans would be evicted before they are quantized");
        }
    }

    /**
     * Whether the span of {@link #spanFrames} frames starting at frame {@code first} is due once
     * {@code stored} frames have been appended: it is complete and {@link #keepRecentFrames} newer frames
     * exist. Never, for a policy that does not quantize.
     */
    public boolean spanReady(int first, int stored) {
        return spanFrames > 0 && stored >= first + spanFrames + keepRecentFrames;
    }

    /**
     * The end of the frames the sliding window evicts once {@code stored} frames exist: frames
     * [{@link #retainFrames}, end) go, the window's newest frames stay. Without a window nothing goes.
     */
    public int evictBefore(int stored) {
        return windowFrames == 0 ? 0 : stored - (windowFrames - retainFrames);
    }

    /**
     * Self-Forcing ({@code causal_inference.py}): blocks of 3 frames; at block i ≥ 8 with i % 8 = 0 the
     * previous 8 blocks (24 frames) become one span. No sink, no window.
     */
    public static CachePolicy selfForcing(QuantConfig config, long seed) {
        return new CachePolicy("self-forcing", 8 * 3, 0, 0, 0, 0, config, seed, false);
    }

    /**
     * HY-WorldPlay ({@code pipeline_wan_w_mem_relative_rope.py}): chunks of 4 frames; at chunk i ≥ 2 with
     * i % 2 = 0 the previous 2 chunks (8 frames) become one span. No sink, no window.
     */
    public static CachePolicy hyWorldPlay(QuantConfig config, long seed) {
        return new CachePolicy("hy-worldplay", 2 * 4, 0, 0, 0, 0, config, seed, false);
    }

    /**
     * LingBot-v2 ({@code image2video.py}, released script): chunks of 4 frames, every completed chunk its
     * own span ({@code quant_factor = 1}) once one newer chunk exists ({@code keep_recent = 1}); the first
     * chunk never quantized ({@code sink_keep = 1}); a 68-frame window whose first 6 frames are the sink.
     * A span that straddles the sink boundary loses its evicted frames but keeps its tables while any of
     * its frames is live, as {@code evict_range} does.
     */
    public static CachePolicy lingBotV2(QuantConfig config, long seed) {
        return new CachePolicy("lingbot-v2", 4, 4, 4, 68, 6, config, seed, false);
    }

    /** Never quantizes: the bf16 cache the quantized ones are measured against. */
    public static CachePolicy bf16() {
        return new CachePolicy("bf16", 0, 0, 0, 0, 0, QuantConfig.DEFAULT, 0, false);
    }

    /**
     * PackCache (arXiv 2601.04359) as a bit schedule (SPEC §16.3): the first frame is the anchor and stays bf16;
     * spans of 4 frames are quantized at INT4, stepped down to INT2 at 8 frames of age and to ids and centroids
     * only at 24. The given config's bits are replaced by 4.
     */
    public static CachePolicy packCache(QuantConfig config, long seed) {
        return new CachePolicy("packcache", 4, 1, 0, 0, 0, config.withBits(4), seed, false,
                new AgeDecay(new int[]{8, 24}, new int[]{2, 0}), SalienceEviction.NONE);
    }

    /**
     * A preset by name: {@code self-forcing}, {@code hy-worldplay}, {@code lingbot-v2}, {@code packcache} or
     * {@code bf16}.
     */
    public static CachePolicy preset(String name, QuantConfig config, long seed) {
        return switch (name) {
            case "self-forcing" -> selfForcing(config, seed);
            case "hy-worldplay" -> hyWorldPlay(config, seed);
            case "lingbot-v2" -> lingBotV2(config, seed);
            case "packcache" -> packCache(config, seed);
            case "bf16" -> bf16();
            default -> throw new InvalidInputException("cache policy '" + name
                    + "': unknown; use self-forcing, hy-worldplay, lingbot-v2, packcache or bf16");
        };
    }

    public CachePolicy withWarmStart(boolean warm) {
        return new CachePolicy(name, spanFrames, sinkFrames, keepRecentFrames, windowFrames, retainFrames, config, seed, warm,
                decay, salience);
    }

    public CachePolicy withSpanFrames(int frames) {
        return new CachePolicy(name, frames, sinkFrames, keepRecentFrames, windowFrames, retainFrames, config, seed, warmStart,
                decay, salience);
    }

    /** This policy with spans quantized at {@code initialBits} and stepped down by {@code schedule} (SPEC §16.3). */
    public CachePolicy withDecay(int initialBits, AgeDecay schedule) {
        return new CachePolicy(name, spanFrames, sinkFrames, keepRecentFrames, windowFrames, retainFrames,
                config.withBits(initialBits), seed, warmStart, schedule, salience);
    }

    /** This policy evicting by salience (SPEC §16.4); the cache's appends must then carry salience scores. */
    public CachePolicy withSalience(SalienceEviction eviction) {
        return new CachePolicy(name, spanFrames, sinkFrames, keepRecentFrames, windowFrames, retainFrames, config, seed,
                warmStart, decay, eviction);
    }
}
