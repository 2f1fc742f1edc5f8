package io.qvg4j.bench;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.CacheAttention;
import io.qvg4j.cache.CachePolicy;
import io.qvg4j.cache.QuantizedKVCache;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.cache.TokenSource;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
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
 * Attention of a block of queries over a streaming KV cache of the city sample's shape (H = 4, D = 128,
 * frames of 880 tokens; 8 frames = 7 040 tokens, 64 frames = 56 320) held quantized (HY-WorldPlay
 * policy, INT2 G = 64: spans of 8 frames, read straight from the codes) or held bf16, with the scalar or
 * Vector API kernels. Both caches hold the same tokens; the quantized one is 5.8x smaller. The SIMD
 * attention is compared with the scalar one bit for bit before timing and, on the last timed result,
 * after every iteration (when C2 has compiled it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class CacheAttentionBench {

    @Param({"quantized", "bf16"})
    public String cache;

    @Param({"reference", "simd"})
    public String kernels;

    @Param({"1", "16"})
    public int queries;

    @Param({"8", "64"})
    public int frames;

    static final int HEADS = 4, DIM = 128, FRAME = 880;

    private CacheAttention attention;
    private QuantizedKVCache kv;
    private TokenSource source;
    private float[] q;
    /** The scalar attention's output (raw bits), for the SIMD kernels only; and the last timed output. */
    private Object expected;
    private float[] last;

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom rnd = new SplittableRandom(1);
        CachePolicy policy = cache.equals("bf16") ? CachePolicy.bf16() : CachePolicy.hyWorldPlay(QuantConfig.DEFAULT, 0);
        try (CpuCodec codec = new CpuCodec(ScalarKernels.INSTANCE, Runtime.getRuntime().availableProcessors())) {
            QuantizedKVCache c = new QuantizedKVCache(HEADS, DIM, FRAME, policy, codec);
            for (int f = 0; f < frames; f++) {
                c.append(frame(rnd), frame(rnd));
            }
            if (c.spans().size() != (cache.equals("bf16") ? 0 : frames / 8)) {
                throw new IllegalStateException("unexpected cache state: " + c.spans().size() + " spans");
            }
            kv = c;
        }
        q = new float[HEADS * queries * DIM];
        for (int i = 0; i < q.length; i++) {
            q[i] = Bf16.round((float) rnd.nextGaussian());
        }
        AttentionKernels k = Implementations.attention(kernels);
        attention = new CacheAttention(k);
        source = kv.view(k);
        // A broken kernel must not report a fast time: the kernels agree bit for bit.
        if (kernels.equals("simd")) {
            expected = Results.snapshot(new CacheAttention(ScalarAttention.INSTANCE).attend(kv.view(), q, queries));
            Results.requireEqual(k.name() + " attention", expected, Results.snapshot(attention.attend(source, q, queries)));
        }
    }

    /** After each iteration, the last timed output must still be the scalar attention's. */
    @TearDown(Level.Iteration)
    public void checkTimedOutput() {
        if (expected != null) {
            Results.requireEqual("attention (" + kernels + ", " + cache + ") after an iteration", expected, Results.snapshot(last));
            last = null;
        }
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
