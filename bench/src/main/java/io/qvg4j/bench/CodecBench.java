package io.qvg4j.bench;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.spi.Implementations;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.concurrent.TimeUnit;

/**
 * The whole pipeline on one LongCat tensor {@code [1, 32, 29640, 128]} with {@code QuantConfig.DEFAULT}
 * (INT2, G = 64, Kc = 256, 2 k-means iterations): encode from seeded initial indices, and decode, on
 * {@code threads} worker threads. The scalar encode runs on 2 of the 32 heads (see
 * {@link Workload#SCALAR_ENCODE_HEADS}). Before timing, the SIMD codec's span (on the 2-head tensor) and
 * decoded tensor (on the full one) are compared with the reference's bit for bit. After every iteration
 * (warm-up and measurement, so with the kernels C2 has compiled) the last timed result is checked too:
 * a decode against the reference's decode; an encode against the same codec's encode of the same input
 * before timing, and the warm codec's encode of the 2-head tensor against the reference's again. So a
 * codec broken once compiled fails the benchmark instead of reporting a time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xss4m", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
public class CodecBench {

    @Param({"reference", "simd"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    private CpuCodec codec;
    private KvTensor input;
    private int[][][] init;
    private QuantizedSpan span;

    // The checks after each iteration (SIMD only): the last timed result and what it must equal.
    private Object last;
    private Object expected;
    private KvTensor small;
    private int[][][] smallInit;
    private Object smallExpected;

    @Setup
    public void setUp(BenchmarkParams params) {
        codec = new CpuCodec(Implementations.byName(impl).kernels(), threads);
        Shape s = Shape.LONGCAT;
        int cores = Runtime.getRuntime().availableProcessors();
        boolean checked = !impl.equals("reference");
        switch (Results.methodName(params)) {
            case "encode" -> {
                SyntheticKv.Tensor t = SyntheticKv.tensor(Workload.encodeHeads(impl), s.tokens, s.dim, Shape.KC);
                input = t.x();
                init = initIndices(input);
                if (checked) {
                    small = SyntheticKv.tensor(Workload.SCALAR_ENCODE_HEADS, s.tokens, s.dim, Shape.KC).x();
                    smallInit = initIndices(small);
                    try (CpuCodec reference = new CpuCodec(ScalarKernels.INSTANCE, cores)) {
                        smallExpected = Results.snapshot(reference.encode(small, Workload.CONFIG, smallInit));
                        Results.requireEqual("encode (" + impl + ", " + small.shapeString() + ")", smallExpected,
                                Results.snapshot(codec.encode(small, Workload.CONFIG, smallInit)));
                    }
                    expected = Results.snapshot(codec.encode(input, Workload.CONFIG, init));
                }
            }
            case "decode" -> {
                SyntheticKv.Tensor t = SyntheticKv.tensor(Workload.TENSOR_HEADS, s.tokens, s.dim, Shape.KC);
                try (CpuCodec reference = new CpuCodec(ScalarKernels.INSTANCE, cores)) {
                    span = reference.encodeWithClustering(t.x(), Workload.CONFIG, t.clusterIds(), t.centroids());
                    if (checked) {
                        expected = Results.snapshot(reference.decode(span));
                        Results.requireEqual("decode (" + impl + ")", expected, Results.snapshot(codec.decode(span)));
                    }
                }
            }
            default -> throw new IllegalArgumentException("no codec benchmark '" + params.getBenchmark() + "'");
        }
    }

    private static int[][][] initIndices(KvTensor x) {
        return InitIndices.fromSeed(SyntheticKv.SEED, Workload.CONFIG.stages(), x.headCount(), Shape.KC, x.tokens());
    }

    /** After each iteration: the last timed result, and for encode the warm codec on the 2-head tensor. */
    @TearDown(Level.Iteration)
    public void checkTimedOutput() {
        if (expected == null) {
            return;
        }
        Results.requireEqual("the last timed call (" + impl + ", " + threads + " threads)", expected, Results.snapshot(last));
        if (small != null) {
            Results.requireEqual("encode (" + impl + ", " + small.shapeString() + ") after an iteration", smallExpected,
                    Results.snapshot(codec.encode(small, Workload.CONFIG, smallInit)));
        }
        last = null;
    }

    @TearDown
    public void tearDown() {
        codec.close();
    }

    @Benchmark
    public QuantizedSpan encode() {
        QuantizedSpan out = codec.encode(input, Workload.CONFIG, init);
        last = out;
        return out;
    }

    @Benchmark
    public KvTensor decode() {
        KvTensor out = codec.decode(span);
        last = out;
        return out;
    }
}
