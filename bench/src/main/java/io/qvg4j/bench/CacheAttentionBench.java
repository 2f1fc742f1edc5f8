package io.qvg4j.bench;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.spi.Implementations;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Attention of a chunk of queries (880 or 7 040 per head, a video model's frame or chunk of frames) over a
 * streaming KV cache of one head, D = 128, frames of 880 tokens: 8 frames = 7 040 tokens (K+V in bf16 3.4 MiB,
 * inside this machine's 8 MiB last-level cache) or 32 frames = 28 160 tokens (13.75 MiB, outside it). The
 * cache is held quantized (HY-WorldPlay policy, INT2 G = 64, spans of 8 frames, read straight from the codes)
 * or bf16; the same tokens, queries and kernels either way. One head keeps a call of the largest shape
 * under 10 s on 2 cores; the work per head does not depend on the head count.
 *
 * <p>A broken kernel must not report a fast time: before timing, the first 8 queries' output of the timed
 * attention must equal, bit for bit, the scalar attention of those 8 queries alone (each query's output
 * does not depend on the others, SPEC §12), and the last timed output is compared with the first after
 * every iteration.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
public class CacheAttentionBench {

    @Param({"quantized", "bf16"})
    public String cache;

    @Param({"simd"})
    public String kernels;

    /** Queries per head. */
    @Param({"880", "7040"})
    public int queries;

    /** Cached frames of 880 tokens. */
    @Param({"8", "32"})
    public int frames;

    /** Attention threads. */
    @Param({"1", "2"})
    public int threads;

    static final int HEADS = 1, DIM = 128, FRAME = 880, CHECKED = 8;

    private CacheAttention attention;
    private TokenSource source;
    private float[] q;
    private Object first;
    private float[] last;

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom rnd = new SplittableRandom(1);
        CachePolicy policy = cache.equals("bf16") ? CachePolicy.bf16() : CachePolicy.hyWorldPlay(QuantConfig.DEFAULT, 0);
        int cores = Runtime.getRuntime().availableProcessors();
        QuantizedKVCache kv;
        // Every codec gives the same spans; the fastest one keeps the setup short.
        try (QvgCodec codec = Implementations.byName("auto").open(cores, 0)) {
            kv = new QuantizedKVCache(HEADS, DIM, FRAME, policy, codec);
            for (int f = 0; f < frames; f++) {
                kv.append(frame(rnd), frame(rnd));
            }
        }
        if (kv.spans().size() != (cache.equals("bf16") ? 0 : frames / 8)) {
            throw new IllegalStateException("unexpected cache state: " + kv.spans().size() + " spans");
        }
        q = new float[HEADS * queries * DIM];
        for (int i = 0; i < q.length; i++) {
            q[i] = Bf16.round((float) rnd.nextGaussian());
        }
        AttentionKernels k = Implementations.attention(kernels);
        attention = new CacheAttention(k, threads);
        source = kv.view(k);
        float[] out = attention.attend(source, q, queries);
        float[] head = java.util.Arrays.copyOf(q, CHECKED * DIM);
        float[] scalar = new CacheAttention(ScalarAttention.INSTANCE).attend(kv.view(), head, CHECKED);
        Results.requireEqual(k.name() + " attention, first " + CHECKED + " queries", Results.snapshot(scalar),
                Results.snapshot(java.util.Arrays.copyOf(out, CHECKED * DIM)));
        first = Results.snapshot(out);
    }

    /** After each iteration, the last timed output must still be the first one. */
    @TearDown(Level.Iteration)
    public void checkTimedOutput() {
        if (last != null) {
            Results.requireEqual("attention (" + kernels + ", " + cache + ") after an iteration", first, Results.snapshot(last));
            last = null;
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        attention.close();
    }

    private static short[] frame(SplittableRandom rnd) {
        short[] out = new short[HEADS * FRAME * DIM];
        for (int i = 0; i < out.length; i++) {
            out[i] = Bf16.fromFloat((float) (rnd.nextGaussian() + ((i / DIM) % 4 - 1.5)));
        }
        return out;
    }

    @Benchmark
    public float[] attend() {
        float[] out = attention.attend(source, q, queries);
        last = out;
        return out;
    }
}
