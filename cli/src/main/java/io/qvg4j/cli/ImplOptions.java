package io.qvg4j.cli;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.spi.Implementation;
import io.qvg4j.spi.Implementations;
import picocli.CommandLine.Option;

/** {@code --impl}, {@code --threads}, {@code --device}: which implementation runs, on how many threads. */
final class ImplOptions {
    @Option(names = "--impl", defaultValue = "auto",
            description = "Implementation: auto (the fastest available), reference, simd or opencl; all give the same bytes "
                    + "(default: ${DEFAULT-VALUE}).")
    String impl;

    @Option(names = "--threads", defaultValue = "0",
            description = "Worker threads, 0 for every core; results do not depend on it (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--device", defaultValue = "0", description = "OpenCL device index, see 'qvg devices' (default: ${DEFAULT-VALUE}).")
    int device;

    /** The implementation asked for, checked: an unknown or unavailable one is a one-line error. */
    Implementation implementation() {
        return Implementations.byName(impl);
    }

    int threads() {
        return Implementations.threads(threads);
    }

    QvgCodec open() {
        return implementation().open(threads(), device);
    }

    /** What runs, for the first line a command prints: {@code simd (Vector API, 512-bit), 2 threads}. */
    String describe() {
        Implementation i = implementation();
        int n = threads();
        return i.name() + " (" + i.describe() + "), " + n + " thread" + (n == 1 ? "" : "s");
    }
}
