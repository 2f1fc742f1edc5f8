package io.qvg4j.bench;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.spi.Implementations;
import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
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
 * One benchmark per kernel of {@link QvgKernels}, on one head of a realistic shape, single-threaded,
 * for the reference and the Vector API kernels. Inputs are the state a converged k-means leaves
 * (true clusters and centres of {@link SyntheticKv}). Before timing, the SIMD kernel's output is
 * compared bit for bit with the reference's on the same input; then the output buffers are poisoned, and
 * after every iteration (warm-up and measurement: by then C2 has compiled the kernel) what the timed
 * calls left in them is compared with the reference's output again. So a kernel that is broken, at
 * first or only once compiled, fails the benchmark instead of reporting a time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xss4m", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KernelBench {

    @Param({"longcat", "self-forcing", "hy-worldplay"})
    public String shape;

    @Param({"reference", "simd"})
    public String impl;

    private QvgKernels kernels;
    private int tokens;
    private int dim;
    private int assignTokens;

    // Inputs.
    private float[] x;
    private int[] trueIds;
    private float[] centroids;
    private float[] norms;
    private float[] residual;
    private QuantizedSpan span;
    private short[] bits;

    /** The benchmark method, and the reference kernel's output for it (null for the reference itself). */
    private String kernel;
    private Object expected;

    // Outputs.
    private float[] normsOut;
    private int[] idsOut;
    private float[] newCentroids;
    private int[] counts;
    private float[] residualOut;
    private byte[] packed;
    private byte[] scales;
    private byte[] zeros;
    private short[] valuesOut;

    @Setup
    public void setUp(BenchmarkParams params) {
        prepare(Results.methodName(params));
    }

    /** The set-up of benchmark method {@code kernel}: inputs, outputs and, for SIMD, the first check. */
    void prepare(String kernel) {
        this.kernel = kernel;
        kernels = Implementations.byName(impl).kernels();
        Shape s = Shape.byId(shape);
        tokens = s.tokens;
        dim = s.dim;
        assignTokens = s.assignTokens(impl);
        int kc = Shape.KC;
        SyntheticKv.Head head = SyntheticKv.head(SyntheticKv.SEED, tokens, dim, kc);
        x = head.x();
        trueIds = head.ids();
        centroids = head.centroids();
        norms = new float[kc];
        ScalarKernels.INSTANCE.norms(centroids, kc, dim, norms);
        residual = new float[tokens * dim];
        ScalarKernels.INSTANCE.subtract(x, tokens, dim, trueIds, centroids, residual);
        bits = new short[tokens * dim];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Bf16.fromFloat(x[i]);
        }
        span = oneHeadSpan(bits, trueIds, centroids);

        QuantConfig config = Workload.CONFIG;
        normsOut = new float[kc];
        idsOut = new int[tokens];
        newCentroids = new float[kc * dim];
        counts = new int[kc];
        residualOut = new float[tokens * dim];
        packed = new byte[tokens * config.packedBytesPerRow(dim)];
        scales = new byte[tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes()];
        zeros = config.asymmetric() ? new byte[scales.length] : null;
        valuesOut = new short[tokens * dim];

        if (!impl.equals("reference")) {
            expected = checkAgainstReference(kernel);
            poisonOutputs();
        }
    }

    /**
     * After each iteration: the outputs the timed calls wrote (the inputs never change, so every call
     * writes the same bytes) must be the reference's. Fills {@link #poisonOutputs} put in the buffers
     * would fail too, so a kernel that stopped writing cannot pass.
     */
    @TearDown(Level.Iteration)
    public void checkTimedOutput() {
        if (expected != null) {
            Results.requireEqual(kernel + " (" + impl + ", " + shape + ") after an iteration", expected,
                    Results.snapshot(outputs(kernel)));
        }
    }

    /** Overwrites every output buffer with a pattern no kernel writes there. */
    void poisonOutputs() {
        java.util.Arrays.fill(normsOut, Float.intBitsToFloat(0x7FA5A5A5));
        java.util.Arrays.fill(idsOut, -1);
        java.util.Arrays.fill(newCentroids, Float.intBitsToFloat(0x7FA5A5A5));
        java.util.Arrays.fill(counts, -1);
        java.util.Arrays.fill(residualOut, Float.intBitsToFloat(0x7FA5A5A5));
        java.util.Arrays.fill(packed, (byte) 0xA5);
        java.util.Arrays.fill(scales, (byte) 0xA5);
        if (zeros != null) {
            java.util.Arrays.fill(zeros, (byte) 0xA5);
        }
        java.util.Arrays.fill(valuesOut, (short) 0xA5A5);
    }

    /** The span {@code dequantize} reads: this head quantized with its true clustering, by the reference. */
    private QuantizedSpan oneHeadSpan(short[] values, int[] ids, float[] table) {
        byte[] idBytes = new byte[ids.length];
        for (int n = 0; n < ids.length; n++) {
            idBytes[n] = (byte) ids[n];
        }
        short[] tableBits = new short[table.length];
        for (int i = 0; i < table.length; i++) {
            tableBits[i] = Bf16.fromFloat(table[i]);
        }
        try (CpuCodec reference = new CpuCodec(ScalarKernels.INSTANCE, 1)) {
            return reference.encodeWithClustering(new KvTensor("head", 1, 1, tokens, dim, values), Workload.CONFIG,
                    new byte[][] {idBytes}, new short[][] {tableBits});
        }
    }

    /**
     * Runs {@code kernel} with these kernels and with the reference; throws unless the outputs are
     * identical, else returns the reference's output (a snapshot).
     */
    private Object checkAgainstReference(String kernel) {
        Object mine = Results.snapshot(run(kernel));
        QvgKernels tested = kernels;
        kernels = ScalarKernels.INSTANCE;
        try {
            Object reference = Results.snapshot(run(kernel));
            Results.requireEqual(kernel + " (" + impl + ", " + shape + ")", reference, mine);
            return reference;
        } finally {
            kernels = tested;
        }
    }

    /** One call of the benchmark method {@code kernel}; returns its output buffers. */
    Object run(String kernel) {
        switch (kernel) {
            case "norms" -> norms();
            case "assign" -> assign();
            case "update" -> update();
            case "subtract" -> subtract();
            case "quantize" -> quantize();
            case "dequantize" -> dequantize();
            case "rtn" -> rtn();
            case "nvfp4" -> nvfp4();
            default -> throw new IllegalArgumentException("no kernel benchmark '" + kernel + "'");
        }
        return outputs(kernel);
    }

    /** The buffers the benchmark method {@code kernel} writes, as they are now. */
    Object outputs(String kernel) {
        return switch (kernel) {
            case "norms" -> normsOut;
            case "assign" -> idsOut;
            case "update" -> new Object[] {newCentroids, counts};
            case "subtract" -> residualOut;
            case "quantize" -> new Object[] {packed, scales, zeros};
            case "dequantize", "rtn", "nvfp4" -> valuesOut;
            default -> throw new IllegalArgumentException("no kernel benchmark '" + kernel + "'");
        };
    }

    @Benchmark
    public float[] norms() {
        kernels.norms(centroids, Shape.KC, dim, normsOut);
        return normsOut;
    }

    /** The reference assigns the first {@link Shape#SCALAR_ASSIGN_TOKENS} tokens, SIMD the whole head. */
    @Benchmark
    public int[] assign() {
        kernels.assign(x, dim, 0, assignTokens, centroids, norms, Shape.KC, idsOut);
        return idsOut;
    }

    @Benchmark
    public float[] update() {
        kernels.update(x, tokens, dim, trueIds, centroids, Shape.KC, newCentroids, counts);
        return newCentroids;
    }

    @Benchmark
    public float[] subtract() {
        kernels.subtract(x, tokens, dim, trueIds, centroids, residualOut);
        return residualOut;
    }

    @Benchmark
    public byte[] quantize() {
        kernels.quantize(residual, tokens, dim, Workload.CONFIG, packed, 0, scales, 0, zeros, 0);
        return packed;
    }

    @Benchmark
    public short[] dequantize() {
        kernels.dequantize(span, 0, valuesOut, 0);
        return valuesOut;
    }

    @Benchmark
    public short[] rtn() {
        kernels.rtn(bits, valuesOut, 0, bits.length, Workload.RTN_GROUP, Workload.RTN_BITS);
        return valuesOut;
    }

    @Benchmark
    public short[] nvfp4() {
        kernels.nvfp4(bits, valuesOut, 0, bits.length, Workload.NVFP4_GROUP);
        return valuesOut;
    }
}
