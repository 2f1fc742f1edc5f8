package io.qvg4j.cli;

import io.qvg4j.conformance.QkvDiff;
import io.qvg4j.io.Qkv;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import io.qvg4j.tensor.InvalidInputException;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code qvg diff A.qkv B.qkv}: two containers section by section. */
@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Compare two .qkv files section by section: config, shape, iterations, initial indices, per-stage ids "
                + "and centroids, codes, scales, zero points.",
                "Each section prints 'equal' or the count of differences and the first differing index in the tensor's own "
                        + "coordinates ([b,h,s] for ids, [stage,b,h,k,d] for centroids, [b,h,s,d] for codes, [b,h,s,block] "
                        + "for scales and zero points)."},
        footer = {"", "Exit status: 0 when identical, 1 when a section differs, 2 for bad input."})
public final class DiffCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "A", description = "The first .qkv file.")
    Path a;

    @Parameters(index = "1", paramLabel = "B", description = "The second .qkv file.")
    Path b;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        for (Path p : List.of(a, b)) {
            if (!Files.isRegularFile(p)) {
                throw new InvalidInputException(p + ": no such file");
            }
        }
        Qkv.Contents ca = Qkv.read(a);
        Qkv.Contents cb = Qkv.read(b);
        List<QkvDiff.Section> sections = QkvDiff.compare(ca, cb);
        PrintWriter out = spec.commandLine().getOut();
        out.println("diff: A " + a + ", B " + b);
        long differing = 0;
        for (QkvDiff.Section s : sections) {
            out.printf("%-12s %-7s %s%n", s.name(), s.equal() ? "equal" : "DIFFERS", s.detail());
            differing += s.equal() ? 0 : 1;
        }
        out.println(differing == 0 ? "IDENTICAL: all " + sections.size() + " sections equal"
                : "DIFFERENT: " + differing + " of " + sections.size() + " sections differ, first "
                + sections.stream().filter(s -> !s.equal()).findFirst().orElseThrow().name());
        out.flush();
        return differing == 0 ? 0 : 1;
    }
}
