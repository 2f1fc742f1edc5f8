package io.qvg4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** Runs the {@code qvg} command line in-process and keeps what it printed. */
record CliRun(int exit, String out, String err) {

    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Qvg.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    /** The repository's copy of the conformance corpus (set by the build, see the cli pom). */
    static Path corpus() {
        return Path.of(System.getProperty("qvg4j.corpus", "../conformance"));
    }
}
