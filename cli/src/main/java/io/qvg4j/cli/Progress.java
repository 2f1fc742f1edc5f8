package io.qvg4j.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on standard error while a command works through its steps, shown only when the JVM
 * talks to a terminal: since JDK 22 {@code System.console()} exists even when output is piped, so
 * {@code Console.isTerminal()} decides.
 */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    static Progress start(String task, int steps) {
        java.io.Console console = System.console();
        if (console == null || !console.isTerminal()) {
            return new Progress(null);
        }
        return new Progress(new ProgressBarBuilder().setTaskName(task).setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err))
                .continuousUpdate().build());
    }

    /** Marks the previous step done and names the next one. */
    void step(String next) {
        if (bar != null) {
            bar.step();
            bar.setExtraMessage(next);
        }
    }

    void begin(String first) {
        if (bar != null) {
            bar.setExtraMessage(first);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
