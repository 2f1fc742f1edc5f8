package io.qvg4j.cli;

import io.qvg4j.conformance.ConformanceRunner;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code qvg demo}: quantizes the city K and V sample shipped with qvg4j and reports size, error and time. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Quantize the shipped city K and V sample ([1,4,7040,128] bf16) with the default QVG config "
                + "(INT2, G=64, Kc=256, T=1, 2 k-means iterations) and print, per tensor: compression against bf16, "
                + "bits per element by component, rel-L2 error, the RTN INT2 baseline's error, and the wall time."})
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--data", description = "Directory holding city_a_k.npy and city_a_v.npy (default: the repository's conformance/).")
    Path data;

    @Mixin
    ImplOptions impl;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the k-means initial indices (default: ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path dir = data != null ? data : defaultDataDir();
        QuantConfig config = QuantConfig.DEFAULT;
        PrintWriter out = spec.commandLine().getOut();
        out.printf("qvg demo: config %s; impl %s, seed %d%n", config, impl.describe(), seed);
        try (QvgCodec codec = impl.open()) {
            MemoryFootprint total = null;
            for (String name : new String[]{"city_a_k", "city_a_v"}) {
                KvTensor x = loadSample(dir, name);
                int[][][] init = InitIndices.fromSeed(seed, config.stages(), x.headCount(), config.centroids(), x.tokens());

                long t0 = System.nanoTime();
                QuantizedSpan span = codec.encode(x, config, init);
                long t1 = System.nanoTime();
                KvTensor deq = codec.decode(span);
                long t2 = System.nanoTime();
                KvTensor rtn = codec.rtnBaseline(x, 2, config.groupSize());

                MemoryFootprint f = span.footprint();
                total = total == null ? f : total.plus(f);
                out.printf("%n%s %s: bf16 %s -> quantized %s, %.2fx compression%n", name, x.shapeString(),
                        mib(f.bf16Bytes()), mib(f.totalBytes()), f.compressionRatio());
                out.printf("  bits/element %.4f = codes %.4f + scales %.4f + ids %.4f + centroids %.4f%s%n",
                        f.bitsPerElement(), f.bitsPerElement(f.codeBytes()), f.bitsPerElement(f.scaleBytes()),
                        f.bitsPerElement(f.idBytes()), f.bitsPerElement(f.centroidBytes()),
                        f.zeroBytes() > 0 ? String.format(" + zeros %.4f", f.bitsPerElement(f.zeroBytes())) : "");
                out.printf("  rel-L2 error %.4f (k-means iterations %s); RTN INT2 G=%d baseline %.4f (%.3f bits/element)%n",
                        ConformanceRunner.relativeL2(deq, x), java.util.Arrays.toString(span.iterations()),
                        config.groupSize(), ConformanceRunner.relativeL2(rtn, x), 2 + 8.0 / config.groupSize());
                out.printf("  wall time: encode %.3f s, decode %.3f s%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9);
                out.flush();
            }
            out.printf("%nK+V: %s instead of %s, %.2fx compression%n", mib(total.totalBytes()), mib(total.bf16Bytes()),
                    total.compressionRatio());
        }
        return 0;
    }

    private static String mib(long bytes) {
        return String.format("%.3f MiB", bytes / (1024.0 * 1024.0));
    }

    /** One tensor of the shipped sample, {@code DIR/NAME.npy}, read as any tensor file is. */
    static KvTensor loadSample(Path dir, String name) throws java.io.IOException {
        Path file = dir.resolve(name + ".npy");
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": sample input missing (use --data DIR)");
        }
        return TensorFiles.load(file, name).tensor();
    }

    /** The repository's conformance/ folder: from QVG_HOME (set by the launcher), else the working directory. */
    static Path defaultDataDir() {
        String home = System.getenv("QVG_HOME");
        return (home != null ? Path.of(home) : Path.of("")).resolve("conformance").toAbsolutePath();
    }
}
