package io.qvg4j.cli;

import io.qvg4j.tensor.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code qvg bench}: the JMH benchmarks of module {@code bench}, run from its {@code benchmarks.jar} in a
 * JVM of their own (JMH is not part of the command line's jar).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Runs the JMH benchmarks (every kernel, reference and SIMD, plus the full LongCat encode and "
                + "decode, and attention over a quantized against a bf16 KV cache at chunk shapes) with this machine's fp32 FMA peak and copy bandwidth measured in the same run, and prints "
                + "a table: kernel, impl, threads, throughput, fraction of limit, SIMD/scalar speedup.",
                "The full run (2 forks x 5 iterations, all shapes) takes about half an hour on 2 cores.",
                "Runs bench/target/benchmarks.jar of the qvg4j checkout (QVG_HOME); the qvg launcher builds it."})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "One fork, short iterations, the LongCat shape only, 2 threads: a few minutes.")
    boolean quick;

    @Option(names = "--attention", description = "Only the machine limits and the cache attention benchmark "
            + "(quantized against bf16 cache at chunk shapes).")
    boolean attention;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write JMH's results as JSON to FILE.")
    Path json;

    @Override
    public Integer call() throws Exception {
        String home = System.getenv("QVG_HOME");
        Path jar = Path.of(home == null ? "." : home, "bench", "target", "benchmarks.jar");
        if (!Files.isRegularFile(jar)) {
            throw new InvalidInputException(jar + " is missing: build it with 'mvn -pl bench -am package' "
                    + "(the qvg launcher does this for 'qvg bench')");
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-jar", jar.toString()));
        if (quick) {
            command.add("--quick");
        }
        if (attention) {
            command.add("--attention");
        }
        if (json != null) {
            command.addAll(List.of("--json", json.toString()));
        }
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
