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
 * straight from its codes. A policy may also step a span's bits down as it ages ({@link AgeDecay}, SPEC §16.3)
 * or evict single tokens by salience ({@link SalienceEviction}, SPEC §16.4; {@link #append(short[], short[], float[])}).
 */
public final class QuantizedKVCache {

    /**
     * A quantized span: the frames it covers (ascending; their live tokens are the span's rows, frame by frame),
     * K and V either with their residual ({@code keys}, {@code values}) or, once an age schedule dropped it, as
     * ids and centroids only ({@code keyCentroids}, {@code valueCentroids}; {@code keys} and {@code values} null).
     *
     * @param quantizedAt frames appended when the span was quantized; its age is the frames appended since
     */
    public record Span(int index, int[] frames, QuantizedSpan keys, QuantizedSpan values, CentroidSpan keyCentroids,
                       CentroidSpan valueCentroids, int quantizedAt) {

        /** The residual bits of the span now, 0 when only ids and centroids are left. */
        public int bits() {
            return keys == null ? 0 : keys.config().bits();
        }

        /** Rows per head: the span's live tokens. */
        public int tokens() {
            return keys == null ? keyCentroids.tokens() : keys.tokens();
        }

        /** Bytes held, K plus V (SPEC §8; ids and centroids only when the residual is dropped). */
        public MemoryFootprint footprint() {
            return keys == null ? keyCentroids.footprint().plus(valueCentroids.footprint())
                    : keys.footprint().plus(values.footprint());
        }

        private Span with(QuantizedSpan k, QuantizedSpan v, CentroidSpan kc, CentroidSpan vc) {
            return new Span(index, frames, k, v, kc, vc, quantizedAt);
        }
    }

    private static final class Frame {
        /** bf16 rows of the live tokens, {@code [H, rows.length, D]}, until the frame is quantized. */
        short[] keys;
        short[] values;
        Span span;
        /** Row of this frame's first live token in its span. */
        int spanRow;
        boolean evicted;
        /** Offsets in the frame of its live tokens, ascending. */
        int[] rows;
        /** Per offset in the frame, the token's salience; null unless the policy evicts by salience. */
        double[] salience;
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
            policy.decay().requireCompatible(policy.config(), dim);
        }
        SalienceEviction se = policy.salience();
        long protectedTokens = (long) (policy.sinkFrames() + se.protectRecentFrames()) * frameTokens;
        if (!se.isNone() && se.tokenBudget() < protectedTokens) {
            throw new InvalidInputException("cache policy " + policy.name() + ": token budget " + se.tokenBudget()
                    + " is below the " + protectedTokens + " tokens of the sink and protected frames");
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

    /** The policy this cache follows. */
    public CachePolicy policy() {
        return policy;
    }

    /** The stream positions ({@code frame·frameTokens + offset}) of the live tokens, in the order attention reads them. */
    public long[] livePositions() {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            for (int r = 0; !f.evicted && r < f.rows.length; r++) {
                out.add((long) i * frameTokens + f.rows[r]);
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Appends one frame of K and V ({@code [H, frameTokens, D]} bf16 each, copied), then applies the policy. */
    public void append(short[] keys, short[] values) {
        if (!policy.salience().isNone()) {
            throw new InvalidInputException("cache policy " + policy.name()
                    + " evicts by salience: append each frame with its tokens' salience scores");
        }
        add(keys, values, null);
    }

    /**
     * Appends one frame with the salience of its tokens ({@code [frameTokens]} or {@code [H, frameTokens]} finite
     * floats; per token the mean over heads, SPEC §16.4), then applies the policy. Salience is only used by a policy
     * that evicts by it, and fixed at append.
     */
    public void append(short[] keys, short[] values, float[] salience) {
        add(keys, values, SalienceEviction.perToken(salience, heads, frameTokens, "cache frame " + frames.size()));
    }

    private void add(short[] keys, short[] values, double[] salience) {
        int n = heads * frameTokens * dim;
        if (keys.length != n || values.length != n) {
            throw new InvalidInputException("cache frame " + frames.size() + ": K has " + keys.length + " and V "
                    + values.length + " values; a frame is [H,tokens,D] = " + KvTensor.shapeString(1, heads, frameTokens, dim)
                    + " = " + n);
        }
        Frame f = new Frame();
        f.keys = keys.clone();
        f.values = values.clone();
        f.rows = new int[frameTokens];
        for (int r = 0; r < frameTokens; r++) {
            f.rows[r] = r;
        }
        f.salience = salience;
        frames.add(f);
        while (policy.spanReady(nextSpanFrame, frames.size())) {
            quantizeSpan(nextSpanFrame, nextSpanFrame + policy.spanFrames());
            nextSpanFrame += policy.spanFrames();
        }
        stepDown();
        evictFrames(policy.retainFrames(), policy.evictBefore(frames.size()));
        if (!policy.salience().isNone()) {
            evictBySalience();
        }
    }

    /** SPEC §16.3: every span whose age reached a step of the schedule is re-quantized (or loses its residual). */
    private void stepDown() {
        if (policy.decay().isNone()) {
            return;
        }
        for (int i = 0; i < spans.size(); i++) {
            Span s = spans.get(i);
            int target = policy.decay().bitsAt(policy.config().bits(), frames.size() - s.quantizedAt());
            if (target < s.bits()) {
                replace(s, target == 0 ? s.with(null, null, CentroidSpan.of(s.keys()), CentroidSpan.of(s.values()))
                        : s.with(SpanEdits.requantize(codec, s.keys(), target), SpanEdits.requantize(codec, s.values(), target),
                        null, null));
            }
        }
    }

    /** Puts {@code now} where {@code old} was: in the span list, in its frames and as the warm-start source. */
    private void replace(Span old, Span now) {
        spans.set(spans.indexOf(old), now);
        int row = 0;
        for (int id : now.frames()) {
            Frame f = frames.get(id);
            if (f.span == old) {
                f.span = now;
                f.spanRow = row;
                row += f.rows.length;
            }
        }
        if (lastSpan == old) {
            lastSpan = now;
        }
    }

    /**
     * SPEC §16.4: while more than the budget of tokens is live, evict the unprotected live token of lowest
     * salience, the older first among equal scores. Evicted bf16 rows are freed; a quantized span loses the
     * evicted rows' codes, scales, zero points and ids and keeps its centroid tables while any row is left.
     */
    private void evictBySalience() {
        long live = 0;
        for (Frame f : frames) {
            live += f.evicted ? 0 : f.rows.length;
        }
        int excess = (int) (live - policy.salience().tokenBudget());
        if (excess <= 0) {
            return;
        }
        int end = frames.size() - policy.salience().protectRecentFrames();
        List<long[]> candidates = new ArrayList<>();
        for (int i = policy.sinkFrames(); i < end; i++) {
            Frame f = frames.get(i);
            if (!f.evicted) {
                for (int r : f.rows) {
                    candidates.add(new long[]{i, r});
                }
            }
        }
        candidates.sort((a, b) -> {
            int c = Double.compare(frames.get((int) a[0]).salience[(int) a[1]], frames.get((int) b[0]).salience[(int) b[1]]);
            return c != 0 ? c : Long.compare(a[0] * frameTokens + a[1], b[0] * frameTokens + b[1]);
        });
        java.util.Map<Integer, boolean[]> drop = new java.util.TreeMap<>();
        for (int j = 0; j < Math.min(excess, candidates.size()); j++) {
            long[] c = candidates.get(j);
            drop.computeIfAbsent((int) c[0], k -> new boolean[frameTokens])[(int) c[1]] = true;
        }
        evictTokens(drop);
    }

    /** Evicts, per frame, the live tokens at the marked offsets. */
    private void evictTokens(java.util.Map<Integer, boolean[]> drop) {
        java.util.Map<Span, boolean[]> spanDrop = new java.util.IdentityHashMap<>();
        for (var e : drop.entrySet()) {
            Frame f = frames.get(e.getKey());
            boolean[] gone = e.getValue();
            boolean[] rowGone = new boolean[f.rows.length];
            for (int j = 0; j < f.rows.length; j++) {
                rowGone[j] = gone[f.rows[j]];
            }
            if (f.span != null) {
                boolean[] sd = spanDrop.computeIfAbsent(f.span, s -> new boolean[s.tokens()]);
                for (int j = 0; j < rowGone.length; j++) {
                    sd[f.spanRow + j] |= rowGone[j];
                }
            } else {
                f.keys = keepRows(f.keys, f.rows.length, rowGone);
                f.values = keepRows(f.values, f.rows.length, rowGone);
            }
            f.rows = keep(f.rows, rowGone);
            if (f.rows.length == 0) {
                f.evicted = true;
                f.keys = null;
                f.values = null;
            }
        }
        for (var e : spanDrop.entrySet()) {
            Span s = e.getKey();
            boolean anyLive = false;
            for (boolean d : e.getValue()) {
                anyLive |= !d;
            }
            if (!anyLive) {
                spans.remove(s);
            } else if (s.keys() != null) {
                replace(s, s.with(SpanEdits.withoutRows(s.keys(), e.getValue()), SpanEdits.withoutRows(s.values(), e.getValue()),
                        null, null));
            } else {
                replace(s, s.with(null, null, SpanEdits.withoutRows(s.keyCentroids(), e.getValue()),
                        SpanEdits.withoutRows(s.valueCentroids(), e.getValue())));
            }
        }
    }

    private static int[] keep(int[] rows, boolean[] gone) {
        int[] out = new int[rows.length];
        int n = 0;
        for (int j = 0; j < rows.length; j++) {
            if (!gone[j]) {
                out[n++] = rows[j];
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** {@code [H, rows, D]} bf16 without the gone rows. */
    private short[] keepRows(short[] src, int rows, boolean[] gone) {
        int kept = 0;
        for (boolean g : gone) {
            kept += g ? 0 : 1;
        }
        short[] out = new short[heads * kept * dim];
        int o = 0;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < rows; j++) {
                if (!gone[j]) {
                    System.arraycopy(src, (h * rows + j) * dim, out, o, dim);
                    o += dim;
                }
            }
        }
        return out;
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
        Span span = new Span(index, ids.stream().mapToInt(Integer::intValue).toArray(), k, v, null, null, frames.size());
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
            short[][] previous = lastSpan.keys() == null ? (values ? lastSpan.valueCentroids() : lastSpan.keyCentroids()).centroids()
                    : (values ? lastSpan.values() : lastSpan.keys()).centroids();
            int n = config.centroids() * dim;
            float[][][] init = new float[config.stages()][heads][n];
            for (int t = 0; t < config.stages(); t++) {
                for (int h = 0; h < heads; h++) {
                    Bf16.toFloats(previous[t], h * n, init[t][h], 0, n);
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
        long sink = 0;
        long recent = 0;
        int live = 0;
        long tokens = 0;
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            if (f.evicted) {
                continue;
            }
            live++;
            tokens += f.rows.length;
            if (f.keys != null) {
                long bytes = 2 * 2L * heads * f.rows.length * dim;
                if (i < policy.sinkFrames()) {
                    sink += bytes;
                } else {
                    recent += bytes;
                }
            }
        }
        MemoryFootprint quantized = new MemoryFootprint(0, 0, 0, 0, 0, 0);
        for (Span s : spans) {
            quantized = quantized.plus(s.footprint());
        }
        long warm = 0;
        if (policy.warmStart() && lastSpan != null && !spans.contains(lastSpan)) {
            QuantConfig c = policy.config();
            warm = 2L * c.stages() * heads * c.centroids() * dim * 2;
        }
        return new CacheMemory(live, tokens, sink, recent, quantized, warm, tokens * heads * dim * 2 * 2);
    }

    /** The live tokens as attention reads them: bf16 frames as stored, quantized frames dequantized row by row from their codes. */
    public TokenSource view() {
        return view(ScalarAttention.INSTANCE);
    }

    /** As {@link #view()}, the rows dequantized with the given kernels' {@link AttentionKernels#dequantize} (same bits, other speed). */
    public TokenSource view(AttentionKernels kernels) {
        return openView(liveFrames(), false, kernels, policy.config().stages());
    }

    /**
     * The draft view (SPEC §16.1): as {@link #view(AttentionKernels)}, but every quantized frame is read from the
     * first {@code stages} stages of its span only (1 … T; T is {@link #view(AttentionKernels)}); bf16 frames as stored.
     */
    public TokenSource draftView(int stages, AttentionKernels kernels) {
        io.qvg4j.algorithm.Dequantization.requireDraftStages(policy.config(), stages);
        return openView(liveFrames(), false, kernels, stages);
    }

    /** As {@link #draftView}, every live span first decoded whole by {@link QvgCodec#decode(QuantizedSpan, int)}: its reference. */
    public TokenSource decodedDraftView(int stages) {
        io.qvg4j.algorithm.Dequantization.requireDraftStages(policy.config(), stages);
        return openView(liveFrames(), true, ScalarAttention.INSTANCE, stages);
    }

    /**
     * The same tokens, but every live span is first dequantized whole with {@link QvgCodec#decode} and
     * read as bf16: the official read path, and the reference the direct read must match bit for bit.
     */
    public TokenSource decodedView() {
        return openView(liveFrames(), true, ScalarAttention.INSTANCE, policy.config().stages());
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
        int tokens = 0;
        for (Frame f : live) {
            tokens += f.rows.length;
        }
        float[] steps = new float[heads * tokens * blocks];
        int first = 0;
        for (Frame f : live) {
            // bf16 tokens and spans without a residual (SPEC §16.3) have no rounding step.
            QuantizedSpan s = f.span == null ? null : f.span.keys();
            for (int r = 0; s != null && r < f.rows.length; r++) {
                for (int h = 0; h < heads; h++) {
                    for (int j = 0; j < blocks; j++) {
                        steps[(h * tokens + first + r) * blocks + j] = s.scale((h * s.tokens() + f.spanRow + r) * blocks + j);
                    }
                }
            }
            first += f.rows.length;
        }
        return new JensenCorrection(heads, tokens, dim, g, steps);
    }

    /** The decoded bf16 arrays of every span tensor with a live frame, by the cache's codec. */
    /**
     * A view of the live frames: per live token its frame and its row among the frame's live tokens; quantized
     * frames read from their first {@code stages} stages, row by row or (decodeFirst) from their spans decoded whole.
     */
    private View openView(List<Frame> live, boolean decodeFirst, AttentionKernels kernels, int stages) {
        int tokens = 0;
        for (Frame f : live) {
            tokens += f.rows.length;
        }
        Frame[] frameOf = new Frame[tokens];
        int[] rowOf = new int[tokens];
        int t = 0;
        for (Frame f : live) {
            for (int r = 0; r < f.rows.length; r++, t++) {
                frameOf[t] = f;
                rowOf[t] = r;
            }
        }
        return new View(frameOf, rowOf, kernels, stages, decodeFirst ? decodeAll(live, stages) : null);
    }

    /** Every live span tensor decoded whole (its first {@code stages} stages); spans without codes from their centroids. */
    private java.util.Map<Object, short[]> decodeAll(List<Frame> live, int stages) {
        java.util.Map<Object, short[]> out = new java.util.IdentityHashMap<>();
        for (Frame f : live) {
            if (f.span == null) {
                continue;
            }
            if (f.span.keys() == null) {
                if (!out.containsKey(f.span.keyCentroids())) {
                    out.put(f.span.keyCentroids(), f.span.keyCentroids().decode());
                    out.put(f.span.valueCentroids(), f.span.valueCentroids().decode());
                }
            } else if (!out.containsKey(f.span.keys())) {
                out.put(f.span.keys(), codec.decode(f.span.keys(), stages).bits());
                out.put(f.span.values(), codec.decode(f.span.values(), stages).bits());
            }
        }
        return out;
    }

    private final class View implements TokenSource {
        private final Frame[] frameOf;
        private final int[] rowOf;
        private final AttentionKernels kernels;
        private final int stages;
        /** Per span tensor: its row decoder (direct read), or (decoded not null) its whole decoded bf16 array. */
        private final java.util.Map<QuantizedSpan, SpanRowDecoder> decoders = new java.util.IdentityHashMap<>();
        private final java.util.Map<Object, short[]> decoded;
        /** Row-major key rows of one tile, transposed into the caller's tile afterwards. */
        private float[] rows = new float[0];

        View(Frame[] frameOf, int[] rowOf, AttentionKernels kernels, int stages, java.util.Map<Object, short[]> decoded) {
            this.frameOf = frameOf;
            this.rowOf = rowOf;
            this.kernels = kernels;
            this.stages = stages;
            this.decoded = decoded;
            for (Frame f : frameOf) {
                if (decoded == null && f.span != null && f.span.keys() != null && !decoders.containsKey(f.span.keys())) {
                    decoders.put(f.span.keys(), new SpanRowDecoder(f.span.keys(), kernels, stages));
                    decoders.put(f.span.values(), new SpanRowDecoder(f.span.values(), kernels, stages));
                }
            }
        }

        @Override
        public TokenSource reader() {
            // Decoders keep scratch: a new set; the decoded arrays are read only and shared.
            return new View(frameOf, rowOf, kernels, stages, decoded);
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
            return frameOf.length;
        }

        /** Rows of tokens [from, from+n) of head h, row-major from {@code out[offset]}; one frame's run of rows at a time. */
        private void rows(boolean values, int h, int from, int n, float[] out, int offset) {
            for (int t = from; t < from + n; ) {
                Frame f = frameOf[t];
                int r = rowOf[t];
                int run = Math.min(from + n - t, f.rows.length - r);
                int at = offset + (t - from) * dim;
                if (f.span == null) {
                    Bf16.toFloats(values ? f.values : f.keys, (h * f.rows.length + r) * dim, out, at, run * dim);
                } else if (f.span.keys() == null) {
                    CentroidSpan c = values ? f.span.valueCentroids() : f.span.keyCentroids();
                    if (decoded != null) {
                        Bf16.toFloats(decoded.get(c), (h * c.tokens() + f.spanRow + r) * dim, out, at, run * dim);
                    } else {
                        for (int i = 0; i < run; i++) {
                            c.row(h, f.spanRow + r + i, out, at + i * dim);
                        }
                    }
                } else {
                    QuantizedSpan s = values ? f.span.values() : f.span.keys();
                    if (decoded != null) {
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
