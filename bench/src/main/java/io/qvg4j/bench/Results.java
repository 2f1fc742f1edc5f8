package io.qvg4j.bench;

import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.Arrays;

/** Bit-exact comparison of benchmark outputs, in a benchmark's set-up and after each of its iterations. */
final class Results {
    private Results() {}

    /** The benchmark method's simple name, e.g. {@code assign}. */
    static String methodName(BenchmarkParams params) {
        String full = params.getBenchmark();
        return full.substring(full.lastIndexOf('.') + 1);
    }

    /**
     * A copy of a kernel's output that later calls cannot change, with floats as their raw bits (so that
     * −0 differs from +0 and NaN payloads count), and spans as their arrays.
     */
    static Object snapshot(Object output) {
        return switch (output) {
            case null -> null;
            case float[] f -> {
                int[] raw = new int[f.length];
                for (int i = 0; i < f.length; i++) {
                    raw[i] = Float.floatToRawIntBits(f[i]);
                }
                yield raw;
            }
            case int[] a -> a.clone();
            case short[] a -> a.clone();
            case byte[] a -> a.clone();
            case byte[][] a -> Arrays.stream(a).map(byte[]::clone).toArray(byte[][]::new);
            case short[][] a -> Arrays.stream(a).map(short[]::clone).toArray(short[][]::new);
            case QuantizedSpan s -> new Object[] {s.config(), s.batch(), s.heads(), s.tokens(), s.dim(),
                    snapshot(s.clusterIds()), snapshot(s.centroids()), snapshot(s.packed()), snapshot(s.scales()),
                    snapshot(s.zeros()), snapshot(s.iterations())};
            case KvTensor t -> new Object[] {t.batch(), t.heads(), t.tokens(), t.dim(), t.bits().clone()};
            case Object[] parts -> Arrays.stream(parts).map(Results::snapshot).toArray();
            default -> output;
        };
    }

    static void requireEqual(String what, Object expected, Object actual) {
        if (!Arrays.deepEquals(new Object[] {expected}, new Object[] {actual})) {
            throw new IllegalStateException(what + ": output differs from the reference kernels' output; "
                    + "a kernel that gives other bytes is not benchmarked");
        }
    }
}
