package io.qvg4j.cli;

import io.qvg4j.bench.BenchRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code qvg bench}: the JMH benchmarks of every kernel, measured against this machine's limits. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Runs the JMH benchmarks (every kernel, reference and SIMD, plus the full LongCat encode and "
                + "decode) with this machine's fp32 FMA peak and copy bandwidth measured in the same run, and prints "
                + "a table: kernel, impl, threads, throughput, fraction of limit, SIMD/scalar speedup.",
                "The full run (2 forks x 5 iterations, all shapes) takes about half an hour on 2 cores."})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "One fork, short iterations, the LongCat shape only, 2 threads: a few minutes.")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write JMH's results as JSON to FILE.")
    Path json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return BenchRunner.run(quick, json, spec.commandLine().getOut());
    }
}
