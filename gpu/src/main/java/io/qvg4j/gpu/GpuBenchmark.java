package io.qvg4j.gpu;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Times encode and decode of one bf16 tensor on an OpenCL device, for the default (T=1, G=64, 2
 * k-means iterations) and QVG-Pro (T=4, G=16, 5 iterations) configurations: warm-up runs excluded,
 * the median of the timed runs, wall time and device time from profiling events (kernels and
 * transfers apart). With {@code --check} it also compares the device's bytes with the reference
 * codec's on all host threads.
 * <pre>java --enable-native-access=ALL-UNNAMED -cp qvg.jar io.qvg4j.gpu.GpuBenchmark [--device N]
 *     [--heads 32] [--tokens 29640] [--dim 128] [--warmup 2] [--reps 7] [--check] [--assign auto|plain|filtered]</pre>
 */
public final class GpuBenchmark {
    private GpuBenchmark() {}

    /** The official Triton figures for [1,32,29640,128] on an H200, ms: encode, decode. */
    private static final Map<String, double[]> OFFICIAL = Map.of("default", new double[]{2.5, 0.25}, "pro", new double[]{26.6, 0.31});

    public static void main(String[] args) {
        int device = 0;
        int heads = 32;
        int tokens = 29640;
        int dim = 128;
        int warmup = 2;
        int reps = 7;
        boolean check = false;
        DeviceKernels.Assignment assignment = DeviceKernels.Assignment.AUTO;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--device" -> device = Integer.parseInt(args[++i]);
                case "--heads" -> heads = Integer.parseInt(args[++i]);
                case "--tokens" -> tokens = Integer.parseInt(args[++i]);
                case "--dim" -> dim = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--check" -> check = true;
                case "--assign" -> assignment = DeviceKernels.Assignment.valueOf(args[++i].toUpperCase(java.util.Locale.ROOT));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        KvTensor x = clustered(1, heads, tokens, dim);
        try (OpenClCodec gpu = OpenClCodec.open(1, device, assignment)) {
            OpenCl.DeviceInfo d = gpu.device();
            System.out.printf("device %d: %s (%s, %s)%n", d.index(), d.name(), d.version(), d.driver());
            System.out.printf("assignment kernel: %s (--assign %s)%n", gpu.assignKernel(dim, QuantConfig.DEFAULT.centroids()),
                    assignment.name().toLowerCase(java.util.Locale.ROOT));
            System.out.printf("tensor %s bf16, synthetic clustered data (seed 1); %d warm-up + %d timed runs, medians%n",
                    x.shapeString(), warmup, reps);
            DeviceKernels.Roofline roof = gpu.roofline();
            System.out.printf("roofline (this device, its own kernels, medians of 5): fp32 FMA peak %.1f G FMA/s (%.2f TFLOP/s), "
                    + "copy bandwidth %.1f GB/s (read + written)%n", roof.fmaPerSecond() / 1e9, 2 * roof.fmaPerSecond() / 1e12,
                    roof.copyBytesPerSecond() / 1e9);
            run(gpu, x, "default", QuantConfig.DEFAULT, warmup, reps, check, roof);
            run(gpu, x, "pro", QuantConfig.PRO, warmup, reps, check, roof);
        }
    }

    private static void run(OpenClCodec gpu, KvTensor x, String label, QuantConfig config, int warmup, int reps,
                            boolean check, DeviceKernels.Roofline roof) {
        int[][][] init = InitIndices.fromSeed(7, config.stages(), x.headCount(), config.centroids(), x.tokens());
        List<double[]> enc = new ArrayList<>();
        List<double[]> dec = new ArrayList<>();
        Profile lastEncode = null;
        Profile lastDecode = null;
        QuantizedSpan span = null;
        gpu.takeFilterStats();
        long assignments = 0;
        for (int i = 0; i < warmup + reps; i++) {
            long t0 = System.nanoTime();
            span = gpu.encode(x, config, init);
            long t1 = System.nanoTime();
            Profile pe = gpu.lastProfile();
            assignments += (long) Arrays.stream(span.iterations()).sum() * x.headCount() * x.tokens();
            gpu.decode(span);
            long t2 = System.nanoTime();
            Profile pd = gpu.lastProfile();
            if (i >= warmup) {
                enc.add(new double[]{(t1 - t0) / 1e6, pe.kernelNanos() / 1e6, pe.transferNanos() / 1e6});
                dec.add(new double[]{(t2 - t1) / 1e6, pd.kernelNanos() / 1e6, pd.transferNanos() / 1e6});
                lastEncode = pe;
                lastDecode = pd;
            }
        }
        double[] e = medians(enc);
        double[] d = medians(dec);
        // The official figures are for [1,32,29640,128] only.
        double[] official = x.shapeString().equals("[1,32,29640,128]") ? OFFICIAL.get(label) : null;
        System.out.printf("%n%s: %s; k-means iterations %s%n", label, config, Arrays.toString(span.iterations()));
        System.out.printf("  encode: wall %.2f ms | kernels %.2f ms | transfers %.2f ms%s%n", e[0], e[1], e[2], versus(e[1], official, 0));
        System.out.printf("  decode: wall %.2f ms | kernels %.2f ms | transfers %.2f ms%s%n", d[0], d[1], d[2], versus(d[1], official, 1));
        StringBuilder per = new StringBuilder("  encode kernels (last run, ms):");
        lastEncode.perKernelNanos().forEach((name, ns) -> per.append(String.format(" %s %.2f", name, ns / 1e6)));
        System.out.println(per);
        StringBuilder dper = new StringBuilder("  decode kernels (last run, ms):");
        lastDecode.perKernelNanos().forEach((name, ns) -> dper.append(String.format(" %s %.2f", name, ns / 1e6)));
        System.out.println(dper);
        long[] filter = gpu.takeFilterStats();
        if (filter[0] + filter[1] > 0) {
            System.out.printf("  filter (all runs): %.3f %% of the token assignments on the full scan, the others %.3f candidates "
                    + "scored exactly on average%n", 100.0 * filter[0] / assignments, (double) filter[1] / (assignments - filter[0]));
        }
        roofline(x, config, span, lastEncode, lastDecode, roof);
        if (check) {
            checkAgainstReference(gpu, x, config, init, span);
        }
    }

    /**
     * Each main kernel's share of the device's limits: the assignment's fused multiply-adds (every
     * token against every centroid over D, once per k-means iteration) against the FMA peak; the other
     * kernels' least traffic (every input byte read once, every output byte written once; the small
     * centroid tables not counted) against the copy bandwidth.
     */
    private static void roofline(KvTensor x, QuantConfig config, QuantizedSpan span, Profile encode, Profile decode,
                                 DeviceKernels.Roofline roof) {
        long rows = (long) x.headCount() * x.tokens();
        long n = rows * x.dim();
        long fmas = (long) Arrays.stream(span.iterations()).sum() * rows * config.centroids() * x.dim();
        long packed = span.packed().length;
        long scales = span.scales().length + (span.zeros() == null ? 0 : span.zeros().length);
        System.out.println("  roofline (last run; FMA peak and copy bandwidth above):");
        // The filtered assignment (three kernels) does fewer FMAs; its line gives the plain scan's FMAs per second of it.
        boolean filtered = encode.perKernelNanos().containsKey("assign_filtered");
        double assign = (encode.perKernelNanos().getOrDefault("assign", 0L) + encode.perKernelNanos().getOrDefault("pack_centroids", 0L)
                + encode.perKernelNanos().getOrDefault("assign_filtered", 0L) + encode.perKernelNanos().getOrDefault("assign_exact", 0L)) / 1e9;
        System.out.printf("    %-12s %6.1f G FMA   %7.3f ms  %8.1f G FMA/s  %5.1f %% of the FMA peak%s%n", "assign",
                fmas / 1e9, assign * 1e3, fmas / assign / 1e9, 100 * fmas / assign / roof.fmaPerSecond(),
                filtered ? " (filtered: pack_centroids + assign_filtered + assign_exact, counted as the plain scan's FMAs)" : "");
        bandwidth("widen_bf16", encode, n * 6, roof);
        bandwidth("update", encode, n * 4 + rows * 4, roof);
        bandwidth("subtract", encode, n * 8 + rows, roof);
        bandwidth("quantize", encode, n * 4 + rows + packed + scales, roof);
        bandwidth("dequantize", decode, packed + scales + config.stages() * rows + n * 2, roof);
    }

    /** One memory-bound kernel's line: {@code bytes} per launch, every launch of the profile. */
    private static void bandwidth(String kernel, Profile p, long bytes, DeviceKernels.Roofline roof) {
        int launches = p.launches().getOrDefault(kernel, 0);
        if (launches == 0) {
            return;
        }
        double seconds = p.perKernelNanos().get(kernel) / 1e9;
        double total = (double) bytes * launches;
        System.out.printf("    %-10s  %6.3f GB x %-2d %7.3f ms  %8.1f GB/s    %5.1f %% of the copy bandwidth%n",
                kernel, bytes / 1e9, launches, seconds * 1e3, total / seconds / 1e9, 100 * total / seconds / roof.copyBytesPerSecond());
    }

    private static void checkAgainstReference(OpenClCodec gpu, KvTensor x, QuantConfig config, int[][][] init,
                                              QuantizedSpan span) {
        {
            long t0 = System.nanoTime();
            try (CpuCodec ref = new CpuCodec(ScalarKernels.INSTANCE, Runtime.getRuntime().availableProcessors())) {
                QuantizedSpan expected = ref.encode(x, config, init);
                boolean same = Arrays.equals(expected.packed(), span.packed()) && Arrays.equals(expected.scales(), span.scales())
                        && Arrays.equals(expected.iterations(), span.iterations())
                        && IntStream.range(0, config.stages()).allMatch(t -> Arrays.equals(expected.clusterIds()[t], span.clusterIds()[t])
                                && Arrays.equals(expected.centroids()[t], span.centroids()[t]));
                boolean decodeSame = Arrays.equals(ref.decode(expected).bits(), gpu.decode(span).bits());
                System.out.printf("  check against the reference (%d host threads, %.1f s): encode %s, decode %s%n",
                        ref.threads(), (System.nanoTime() - t0) / 1e9, same ? "bit-identical" : "DIFFERS",
                        decodeSame ? "bit-identical" : "DIFFERS");
            }
        }
    }

    private static String versus(double kernelMs, double[] official, int which) {
        return official == null ? "" : String.format(" | official Triton %.2f ms -> kernels %.1fx official",
                official[which], kernelMs / official[which]);
    }

    /** Per column, the median of the rows. */
    private static double[] medians(List<double[]> rows) {
        double[] out = new double[rows.get(0).length];
        for (int c = 0; c < out.length; c++) {
            int col = c;
            double[] v = rows.stream().mapToDouble(r -> r[col]).sorted().toArray();
            out[c] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
        return out;
    }

    /** bf16 data around 64 random centres per head with a per-channel offset, like a KV cache. */
    static KvTensor clustered(long seed, int heads, int tokens, int dim) {
        short[] bits = new short[heads * tokens * dim];
        IntStream.range(0, heads).parallel().forEach(h -> {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003 + h);
            float[][] centres = new float[64][dim];
            for (float[] c : centres) {
                for (int i = 0; i < dim; i++) {
                    c[i] = (float) (r.nextDouble() * 6 - 3);
                }
            }
            for (int n = 0; n < tokens; n++) {
                float[] c = centres[r.nextInt(centres.length)];
                int base = (h * tokens + n) * dim;
                for (int i = 0; i < dim; i++) {
                    bits[base + i] = Bf16.fromFloat(c[i] + (float) (r.nextDouble() - 0.5));
                }
            }
        });
        return new KvTensor("bench", 1, heads, tokens, dim, bits);
    }
}
