package io.qvg4j.cache;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.algorithm.SplitMix64;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The streaming K and V cache of one attention layer, batch 1 (heads H, head dimension D), kept as the
 * official {@code ChunkedKVCache} keeps it: frame by frame, recent frames in bf16, completed spans
 * quantized with QVG, the sink in bf16 forever; when and what follows a {@link CachePolicy}.
 *
 * <p>A frame is {@code frameTokens} tokens of every head, given as {@code [H, frameTokens, D]} bf16
 * patterns. Eviction (a sliding window, or {@link #evictFrames}) frees bf16 frames one by one and drops a
 * quantized span only when every one of its frames is gone; attention reads the live frames of a span
 * straight from its codes.
 */
public final class QuantizedKVCache {

    /** A quantized span: the frames it covers (ascending; row block j of the span is frame {@code frames[j]}). */
    public record Span(int index, int[] frames, QuantizedSpan keys, QuantizedSpan values) {}

    private static final class Frame {
        short[] keys;
        short[] values;
        Span span;
        int spanRow;
        boolean evicted;
    }

    private final int heads;
    private final int dim;
    private final int frameTokens;
    private final CachePolicy policy;
    private final QvgCodec codec;
    private final List<Frame> frames = new ArrayList<>();
    private final List<Span> spans = new ArrayList<>();
    /** First frame of the next span. */
    private int nextSpanFrame;
    private int spansMade;
    /** The last span quantized, whose tables warm-start the next one. */
    private Span lastSpan;

    public QuantizedKVCache(int heads, int dim, int frameTokens, CachePolicy policy, QvgCodec codec) {
        KvTensor.checkShape("cache frame", 1, heads, frameTokens, dim);
        if (policy.spanFrames() > 0) {
            policy.config().requireCompatible("cache", dim);
        }
        this.heads = heads;
        this.dim = dim;
        this.frameTokens = frameTokens;
        this.policy = policy;
        this.codec = codec;
        this.nextSpanFrame = policy.sinkFrames();
    }

    public int heads() {
        return heads;
    }

    public int dim() {
        return dim;
    }

    public int frameTokens() {
        return frameTokens;
    }

    /** The stored quantized spans, oldest first. */
    public List<Span> spans() {
        return Collections.unmodifiableList(spans);
    }

    /**
     * The seed of span {@code span}'s initial k-means indices, for K ({@code values = false}) or V: the
     * SplitMix64 finalizer of {@code base + (2·span + kv + 1)·0x9E3779B97F4A7C15}, so every span and
     * tensor starts an unrelated SplitMix64 stream (seeds that differ by the golden gamma would give
     * the same stream shifted by one).
     */
    public static long spanSeed(long base, int span, boolean values) {
        return SplitMix64.mix(base + (2L * span + (values ? 1 : 0) + 1) * SplitMix64.GAMMA);
    }

    /** Appends one frame of K and V ({@code [H, frameTokens, D]} bf16 each, copied), then applies the policy. */
    public void append(short[] keys, short[] values) {
        int n = heads * frameTokens * dim;
        if (keys.length != n || values.length != n) {
            throw new InvalidInputException("cache frame " + frames.size() + ": K has " + keys.length + " and V "
                    + values.length + " values; a frame is [H,tokens,D] = " + KvTensor.shapeString(1, heads, frameTokens, dim)
                    + " = " + n);
        }
        Frame f = new Frame();
        f.keys = keys.clone();
        f.values = values.clone();
        frames.add(f);
        while (policy.spanReady(nextSpanFrame, frames.size())) {
            quantizeSpan(nextSpanFrame, nextSpanFrame + policy.spanFrames());
            nextSpanFrame += policy.spanFrames();
        }
        evictFrames(policy.retainFrames(), policy.evictBefore(frames.size()));
    }

    /** Appends whole frames from a K and V pair of shape {@code [1, H, S, D]}, S a multiple of the frame length. */
    public void appendTokens(KvTensor keys, KvTensor values) {
        if (keys.batch() != 1 || keys.heads() != heads || keys.dim() != dim || keys.tokens() % frameTokens != 0
                || values.batch() != 1 || values.heads() != heads || values.dim() != dim || values.tokens() != keys.tokens()) {
            throw new InvalidInputException("cache: K " + keys.shapeString() + " and V " + values.shapeString()
                    + " must both be [1," + heads + ",S," + dim + "] with S a multiple of " + frameTokens + " tokens");
        }
        for (int start = 0; start < keys.tokens(); start += frameTokens) {
            append(frameOf(keys, start), frameOf(values, start));
        }
    }

    private short[] frameOf(KvTensor x, int start) {
        short[] out = new short[heads * frameTokens * dim];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(x.bits(), x.headOffset(h) + start * dim, out, h * frameTokens * dim, frameTokens * dim);
        }
        return out;
    }

    /** Quantizes the live frames of [first, end) as one span, K and V each with its own tables. */
    private void quantizeSpan(int first, int end) {
        List<Frame> live = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        for (int i = first; i < end; i++) {
            if (!frames.get(i).evicted) {
                live.add(frames.get(i));
                ids.add(i);
            }
        }
        if (live.isEmpty()) {
            return;
        }
        int index = spansMade++;
        int tokens = live.size() * frameTokens;
        QuantizedSpan k = encode(gather(live, true, tokens), index, false);
        QuantizedSpan v = encode(gather(live, false, tokens), index, true);
        Span span = new Span(index, ids.stream().mapToInt(Integer::intValue).toArray(), k, v);
        for (int j = 0; j < live.size(); j++) {
            Frame f = live.get(j);
            f.keys = null;
            f.values = null;
            f.span = span;
            f.spanRow = j * frameTokens;
        }
        spans.add(span);
        lastSpan = span;
    }

    /** {@code [1, H, tokens, D]} from frames of {@code [H, frameTokens, D]}. */
    private KvTensor gather(List<Frame> live, boolean keys, int tokens) {
        short[] bits = new short[heads * tokens * dim];
        for (int j = 0; j < live.size(); j++) {
            short[] src = keys ? live.get(j).keys : live.get(j).values;
            for (int h = 0; h < heads; h++) {
                System.arraycopy(src, h * frameTokens * dim, bits, (h * tokens + j * frameTokens) * dim, frameTokens * dim);
            }
        }
        return new KvTensor(keys ? "cache K" : "cache V", 1, heads, tokens, dim, bits);
    }

    private QuantizedSpan encode(KvTensor x, int index, boolean values) {
        QuantConfig config = policy.config();
        if (policy.warmStart() && lastSpan != null) {
            QuantizedSpan previous = values ? lastSpan.values() : lastSpan.keys();
            float[][][] init = new float[config.stages()][heads][];
            for (int t = 0; t < config.stages(); t++) {
                for (int h = 0; h < heads; h++) {
                    init[t][h] = previous.centroidsAsFloats(t, h);
                }
            }
            return codec.encodeFromCentroids(x, config, init);
        }
        int[][][] init = InitIndices.fromSeed(spanSeed(policy.seed(), index, values), config.stages(), heads,
                config.centroids(), x.tokens());
        return codec.encode(x, config, init);
    }

    /**
     * Evicts frames [from, to) (clipped to the appended frames): bf16 frames are freed at once; a quantized
     * span is dropped when none of its frames is live any more.
     */
    public void evictFrames(int from, int to) {
        int end = Math.min(to, frames.size());
        for (int i = Math.max(0, from); i < end; i++) {
            Frame f = frames.get(i);
            if (f.evicted) {
                continue;
            }
            f.evicted = true;
            f.keys = null;
            f.values = null;
            if (f.span != null) {
                Span s = f.span;
                boolean anyLive = false;
                for (int id : s.frames()) {
                    anyLive |= !frames.get(id).evicted;
                }
                if (!anyLive) {
                    spans.remove(s);
                }
            }
        }
    }

    /** Live frames, oldest first. */
    private List<Frame> liveFrames() {
        List<Frame> live = new ArrayList<>();
        for (Frame f : frames) {
            if (!f.evicted) {
                live.add(f);
            }
        }
        return live;
    }

    /** Exact bytes held, by component. */
    public CacheMemory memory() {
        long frameBytes = 2L * heads * frameTokens * dim;
        long sink = 0;
        long recent = 0;
        int live = 0;
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            if (f.evicted) {
                continue;
            }
            live++;
            if (f.keys != null) {
                if (i < policy.sinkFrames()) {
                    sink += 2 * frameBytes;
                } else {
                    recent += 2 * frameBytes;
                }
            }
        }
        MemoryFootprint quantized = new MemoryFootprint(0, 0, 0, 0, 0, 0);
        for (Span s : spans) {
            quantized = quantized.plus(s.keys().footprint()).plus(s.values().footprint());
        }
        long warm = 0;
        if (policy.warmStart() && lastSpan != null && !spans.contains(lastSpan)) {
            QuantConfig c = policy.config();
            warm = 2L * c.stages() * heads * c.centroids() * dim * 2;
        }
        long tokens = (long) live * frameTokens;
        return new CacheMemory(live, tokens, sink, recent, quantized, warm, tokens * heads * dim * 2 * 2);
    }

    /** The live tokens as attention reads them: bf16 frames as stored, quantized frames dequantized row by row from their codes. */
    public TokenSource view() {
        return view(ScalarAttention.INSTANCE);
    }

    /** As {@link #view()}, the rows dequantized with the given kernels' {@link AttentionKernels#dequantize} (same bits, other speed). */
    public TokenSource view(AttentionKernels kernels) {
        return new View(liveFrames(), false, kernels);
    }

    /**
     * The same tokens, but every live span is first dequantized whole with {@link QvgCodec#decode} and
     * read as bf16: the official read path, and the reference the direct read must match bit for bit.
     */
    public TokenSource decodedView() {
        return new View(liveFrames(), true, ScalarAttention.INSTANCE);
    }

    /** All live tokens of K or V as a dense {@code [1, H, tokens, D]} tensor (bf16 frames as stored, spans decoded). */
    public KvTensor materialize(boolean values) {
        TokenSource src = decodedView();
        int tokens = src.tokens();
        short[] bits = new short[heads * tokens * dim];
        float[] row = new float[tokens * dim];
        for (int h = 0; h < heads; h++) {
            if (values) {
                src.values(h, 0, tokens, row);
            } else {
                src.keys(h, 0, tokens, row, tokens);
            }
            for (int t = 0; t < tokens; t++) {
                for (int d = 0; d < dim; d++) {
                    bits[(h * tokens + t) * dim + d] = Bf16.fromFloat(values ? row[t * dim + d] : row[d * tokens + t]);
                }
            }
        }
        return new KvTensor(values ? "cache V" : "cache K", 1, heads, tokens, dim, bits);
    }

    /**
     * The Jensen-bias correction (SPEC §12.1) for attention over {@link #view()} as it is now: a quantized key's
     * steps are its span's stored block scales, a bf16 token (sink, recent frames) has none.
     */
    public JensenCorrection jensenCorrection() {
        List<Frame> live = liveFrames();
        int g = policy.spanFrames() > 0 ? policy.config().groupSize() : dim;
        int blocks = dim / g;
        int tokens = live.size() * frameTokens;
        float[] steps = new float[heads * tokens * blocks];
        for (int i = 0; i < live.size(); i++) {
            Frame f = live.get(i);
            if (f.span == null) {
                continue;
            }
            QuantizedSpan s = f.span.keys();
            for (int h = 0; h < heads; h++) {
                for (int r = 0; r < frameTokens; r++) {
                    for (int j = 0; j < blocks; j++) {
                        steps[(h * tokens + i * frameTokens + r) * blocks + j] = s.scale((h * s.tokens() + f.spanRow + r) * blocks + j);
                    }
                }
            }
        }
        return new JensenCorrection(heads, tokens, dim, g, steps);
    }

    /** The decoded bf16 arrays of every span tensor with a live frame, by the cache's codec. */
    private java.util.Map<QuantizedSpan, short[]> decodeAll(List<Frame> live) {
        java.util.Map<QuantizedSpan, short[]> out = new java.util.IdentityHashMap<>();
        for (Frame f : live) {
            if (f.span != null && !out.containsKey(f.span.keys())) {
                out.put(f.span.keys(), codec.decode(f.span.keys()).bits());
                out.put(f.span.values(), codec.decode(f.span.values()).bits());
            }
        }
        return out;
    }

    private final class View implements TokenSource {
        private final Frame[] live;
        private final boolean decodeFirst;
        private final AttentionKernels kernels;
        /** Per span tensor: its row decoder (direct read) or its whole decoded bf16 array (decode first). */
        private final java.util.Map<QuantizedSpan, SpanRowDecoder> decoders = new java.util.IdentityHashMap<>();
        private final java.util.Map<QuantizedSpan, short[]> decoded;
        /** Row-major key rows of one tile, transposed into the caller's tile afterwards. */
        private float[] rows = new float[0];

        View(Frame[] live, boolean decodeFirst, AttentionKernels kernels, java.util.Map<QuantizedSpan, short[]> decoded) {
            this.live = live;
            this.decodeFirst = decodeFirst;
            this.kernels = kernels;
            this.decoded = decoded;
            for (Frame f : live) {
                if (f.span != null && !decodeFirst && !decoders.containsKey(f.span.keys())) {
                    decoders.put(f.span.keys(), new SpanRowDecoder(f.span.keys(), kernels));
                    decoders.put(f.span.values(), new SpanRowDecoder(f.span.values(), kernels));
                }
            }
        }

        View(List<Frame> live, boolean decodeFirst, AttentionKernels kernels) {
            this(live.toArray(new Frame[0]), decodeFirst, kernels, decodeFirst ? decodeAll(live) : null);
        }

        @Override
        public TokenSource reader() {
            // Decoders keep scratch: a new set; the decoded arrays are read only and shared.
            return new View(live, decodeFirst, kernels, decoded);
        }

        @Override
        public int heads() {
            return heads;
        }

        @Override
        public int dim() {
            return dim;
        }

        @Override
        public int tokens() {
            return live.length * frameTokens;
        }

        /** Rows of tokens [from, from+n) of head h, row-major from {@code out[offset]}; one frame's run of rows at a time. */
        private void rows(boolean values, int h, int from, int n, float[] out, int offset) {
            for (int t = from; t < from + n; ) {
                Frame f = live[t / frameTokens];
                int r = t % frameTokens;
                int run = Math.min(from + n - t, frameTokens - r);
                int at = offset + (t - from) * dim;
                if (f.span == null) {
                    Bf16.toFloats(values ? f.values : f.keys, (h * frameTokens + r) * dim, out, at, run * dim);
                } else {
                    QuantizedSpan s = values ? f.span.values() : f.span.keys();
                    if (decodeFirst) {
                        Bf16.toFloats(decoded.get(s), (h * s.tokens() + f.spanRow + r) * dim, out, at, run * dim);
                    } else {
                        SpanRowDecoder decoder = decoders.get(s);
                        for (int i = 0; i < run; i++) {
                            decoder.row(h, f.spanRow + r + i, out, at + i * dim);
                        }
                    }
                }
                t += run;
            }
        }

        @Override
        public void keys(int head, int from, int n, float[] out, int ld) {
            if (rows.length < n * dim) {
                rows = new float[n * dim];
            }
            rows(false, head, from, n, rows, 0);
            for (int d = 0; d < dim; d++) {
                for (int i = 0; i < n; i++) {
                    out[d * ld + i] = rows[i * dim + d];
                }
            }
        }

        @Override
        public void values(int head, int from, int n, float[] out) {
            rows(true, head, from, n, out, 0);
        }
    }
}
