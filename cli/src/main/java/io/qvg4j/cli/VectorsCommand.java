package io.qvg4j.cli;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.conformance.VectorSuite;
import io.qvg4j.tensor.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code qvg vectors DIR}: writes the known-answer suite; {@code --check} re-checks one against an implementation. */
@Command(name = "vectors", mixinStandardHelpOptions = true,
        description = {"Write the known-answer vector suite (VECTORS.md) to DIR: one NAME.npz per vector with its input and "
                + "the expected outputs at every level, and index.jsonl, one vector a line (id, SPEC section, flags, config, "
                + "files). The expected outputs come from the scalar reference.",
                "With --check, run an implementation (--impl) on every vector of DIR and compare every level bit for bit."},
        footer = {"", "Exit status: 0 when written or every vector passes, 1 when one fails, 2 for bad input."})
public final class VectorsCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "Where to write the suite, or with --check the suite to check.")
    Path dir;

    @Option(names = "--check", description = "Check the suite in DIR instead of writing one.")
    boolean check;

    @Mixin
    ImplOptions impl;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!check) {
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new InvalidInputException(dir + ": exists and is not a directory");
            }
            List<VectorSuite.Vector> all = VectorSuite.all();
            try (QvgCodec reference = new CpuCodec(ScalarKernels.INSTANCE, impl.threads())) {
                VectorSuite.write(dir, all, VectorSuite.of(reference));
            }
            out.println("vectors: wrote " + all.size() + " vectors and index.jsonl to " + dir);
            return 0;
        }
        List<VectorSuite.Stored> suite = VectorSuite.read(dir);
        int failed = 0;
        out.println("vectors: checking " + suite.size() + " vectors of " + dir + " with impl " + impl.describe());
        try (QvgCodec codec = impl.open()) {
            VectorSuite.Implementation i = VectorSuite.of(codec);
            for (VectorSuite.Stored s : suite) {
                VectorSuite.Result r = VectorSuite.check(s, i);
                failed += r.passed() ? 0 : 1;
                out.printf("%s %s (%s)%s%n", r.passed() ? "PASS" : "FAIL", s.vector().id(), s.vector().section(),
                        r.passed() ? "" : ": " + String.join(", ", r.differing()) + " differ; " + r.detail());
            }
        }
        out.println(failed == 0 ? "PASS: " + suite.size() + "/" + suite.size() + " vectors"
                : "FAIL: " + failed + " of " + suite.size() + " vectors differ");
        return failed == 0 ? 0 : 1;
    }
}
