package io.qvg4j.cli;

import io.qvg4j.tensor.InvalidInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** The {@code qvg} command: quantize, inspect and verify QVG KV tensors. */
@Command(name = "qvg", mixinStandardHelpOptions = true, version = "qvg4j 0.1.0",
        description = "Quant VideoGen KV-cache quantizer: bit-exact reference, SIMD and OpenCL implementations.",
        subcommands = {QuantizeCommand.class, DequantizeCommand.class, InspectCommand.class, VerifyCommand.class, DiffCommand.class, VectorsCommand.class,
                DemoCommand.class, ReportCommand.class, ExplainCommand.class, ConformanceCommand.class, GoldenCommand.class, CacheDemoCommand.class, DevicesCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Qvg implements Runnable {

    /** Exit status for usage and input errors. */
    public static final int EXIT_USAGE = 2;

    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces of errors.")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests call {@code execute} on it with their own writers. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Qvg());
        cl.setExecutionExceptionHandler(Qvg::handleError);
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("qvg: " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return EXIT_USAGE;
        });
        return cl;
    }

    /** One line for bad input (exit 2), a short line for anything else (exit 1); stack traces only with --debug. */
    private static int handleError(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        boolean debug = parsed.hasMatchedOption("--debug")
                || (parsed.subcommand() != null && parsed.subcommand().hasMatchedOption("--debug"));
        if (debug) {
            ex.printStackTrace(err);
        }
        if (ex instanceof InvalidInputException || ex instanceof java.io.UncheckedIOException
                || ex instanceof java.io.IOException) {
            err.println("qvg: " + ex.getMessage());
            return EXIT_USAGE;
        }
        err.println("qvg: internal error: " + ex + (debug ? "" : " (run with --debug for the stack trace)"));
        return 1;
    }
}
