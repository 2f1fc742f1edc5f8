package io.qvg4j.simd;

import io.qvg4j.cache.AttentionKernels;
import io.qvg4j.cache.ScalarAttention;
import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedObject;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The SIMD kernels still give the reference's bits once C2 has compiled them. The other tests call each
 * kernel a few hundred times at most, so they check the interpreter's and C1's code; a miscompilation by
 * C2 (or a Vector API intrinsic that differs from its Java fallback) would go unseen.
 * <p>
 * This test takes the kernels this JVM uses in production ({@code SimdKernels.create()} and
 * {@code SimdAttention.create()}, the preferred width, so the profile C2 sees is the monomorphic one of a
 * real run), calls every kernel on a set of small cases in rounds, and compares every single call with
 * the reference's output, while a JFR recording watches the JIT. It ends when every kernel has been
 * compiled by C2 (a {@code jdk.Compilation} at level 4, or a successful {@code jdk.CompilerInlining} of
 * the kernel into one) and then ran {@value #FINAL_ROUNDS} more rounds with no deoptimization of that
 * code: so the last rounds provably ran C2's code. It fails if that has not happened within
 * {@value #DEADLINE_SECONDS} s.
 * <p>
 * By hand ({@code -XX:+PrintCompilation}, 2 shared cores, AVX2): all 11 kernel methods show tier-4
 * compiles (standalone and OSR); the JFR check saw all of them in C2 code after 900–1 100 rounds of 57
 * calls, about 6 s, and the whole test takes about 8 s. Emulated widths (wider than the machine's) are
 * not warmed: production never runs them. CI's second run (-XX:MaxVectorSize=16) repeats this at 128 bits.
 */
@ExtendWith(Seeds.OnFailure.class)
class SimdAfterC2Test {
    static final int FINAL_ROUNDS = 200;
    static final int DEADLINE_SECONDS = 120;
    static final int ROUNDS_PER_CHECK = 100;

    static final String KERNELS_TYPE = "io.qvg4j.simd.SimdKernels";
    static final String ATTENTION_TYPE = "io.qvg4j.simd.SimdAttention";

    @BeforeAll
    static void needsVectorModule() {
        Require.simd();
    }

    /** One call of one kernel on fixed inputs, returning a fresh output. */
    record Call(String type, String kernel, String what, Function<Object, Object> run) {}

    @Test
    void everyKernelGivesTheReferenceBitsAfterC2CompiledIt() throws IOException {
        QvgKernels simd = SimdKernels.create();
        AttentionKernels attention = SimdAttention.create();
        List<Call> calls = calls(new SplittableRandom(Seeds.seed()));
        List<Object> expected = new ArrayList<>();
        for (Call c : calls) {
            expected.add(bits(c.run().apply(c.type().equals(KERNELS_TYPE) ? ScalarKernels.INSTANCE : ScalarAttention.INSTANCE)));
        }
        Set<String> kernels = new TreeSet<>();
        calls.forEach(c -> kernels.add(c.type() + "." + c.kernel()));

        long started = System.nanoTime();
        long deadline = started + DEADLINE_SECONDS * 1_000_000_000L;
        long firstCovered = -1;
        long round = 0;
        Path jfr = Files.createTempFile("qvg4j-c2-", ".jfr");
        try (Recording recording = new Recording()) {
            recording.enable("jdk.Compilation").withThreshold(Duration.ZERO);
            recording.enable("jdk.CompilerInlining");
            recording.enable("jdk.Deoptimization");
            recording.start();
            Jit jit = new Jit(kernels);
            long cleanFrom = -1; // first round of the current run of rounds after full C2 coverage
            Instant cleanSince = Instant.MAX;
            Set<Long> coveringCompiles = Set.of();
            while (true) {
                for (int i = 0; i < ROUNDS_PER_CHECK; i++, round++) {
                    for (int c = 0; c < calls.size(); c++) {
                        Call call = calls.get(c);
                        Object actual = bits(call.run().apply(call.type().equals(KERNELS_TYPE) ? simd : attention));
                        if (!Arrays.deepEquals(new Object[] {expected.get(c)}, new Object[] {actual})) {
                            fail(call.kernel() + " (" + call.what() + ", " + (call.type().equals(KERNELS_TYPE) ? simd : attention)
                                    + ") differs from the reference in round " + round + "; C2 had compiled "
                                    + jit.compiled.keySet() + " by the last check");
                        }
                    }
                }
                recording.dump(jfr);
                jit.read(jfr);
                boolean covered = jit.compiled.keySet().containsAll(kernels);
                firstCovered = covered && firstCovered < 0 ? round : firstCovered;
                boolean deoptimized = jit.deoptimizedAny(coveringCompiles, cleanSince);
                if (covered && cleanFrom >= 0 && !deoptimized && round - cleanFrom >= FINAL_ROUNDS) {
                    System.out.printf("SimdAfterC2Test: %s and %s: every kernel C2-compiled and bit-exact; %d rounds of %d calls "
                            + "in %.1f s, all %d kernels in C2 code from round %d on, the last %d rounds without deoptimization%n",
                            simd, attention, round, calls.size(), (System.nanoTime() - started) / 1e9, kernels.size(),
                            firstCovered, round - cleanFrom);
                    return;
                }
                if (covered && (cleanFrom < 0 || deoptimized)) {
                    cleanFrom = round; // (re)start the window from fully compiled code
                    cleanSince = Instant.now();
                    coveringCompiles = jit.allCompileIds();
                }
                if (System.nanoTime() > deadline) {
                    Set<String> missing = new TreeSet<>(kernels);
                    missing.removeAll(jit.compiled.keySet());
                    fail("after " + round + " rounds (" + DEADLINE_SECONDS + " s) C2 had not compiled " + missing
                            + (cleanFrom >= 0 ? " / the kernels kept being deoptimized" : "")
                            + "; every call so far was bit-exact");
                }
            }
        } finally {
            Files.deleteIfExists(jfr);
        }
    }

    /** What C2 did, from the JFR recording: kernels in C2 code (by compile id) and deoptimizations. */
    static final class Jit {
        final Set<String> kernels;
        final Map<String, Set<Long>> compiled = new LinkedHashMap<>();
        final Map<Long, Instant> lastDeopt = new HashMap<>();

        Jit(Set<String> kernels) {
            this.kernels = kernels;
        }

        void read(Path jfr) throws IOException {
            Set<Long> c2 = new HashSet<>();
            List<RecordedEvent> events = RecordingFile.readAllEvents(jfr);
            for (RecordedEvent e : events) {
                if (e.getEventType().getName().equals("jdk.Compilation") && e.getBoolean("succeded")
                        && e.getInt("compileLevel") == 4) {
                    long id = e.getLong("compileId");
                    c2.add(id);
                    RecordedMethod m = e.getValue("method");
                    note(m.getType().getName() + "." + m.getName(), id);
                }
            }
            for (RecordedEvent e : events) {
                switch (e.getEventType().getName()) {
                    case "jdk.CompilerInlining" -> {
                        long id = e.getLong("compileId");
                        RecordedObject callee = e.getValue("callee");
                        if (e.getBoolean("succeeded") && c2.contains(id)) {
                            note(callee.getString("type").replace('/', '.') + "." + callee.getString("name"), id);
                        }
                    }
                    case "jdk.Deoptimization" -> lastDeopt.merge(e.getLong("compileId"), e.getStartTime(),
                            (a, b) -> a.isAfter(b) ? a : b);
                    default -> { }
                }
            }
        }

        private void note(String method, long compileId) {
            if (kernels.contains(method)) {
                compiled.computeIfAbsent(method, k -> new HashSet<>()).add(compileId);
            }
        }

        Set<Long> allCompileIds() {
            Set<Long> all = new HashSet<>();
            compiled.values().forEach(all::addAll);
            return all;
        }

        /** Whether code of one of these compiles was deoptimized at or after {@code since}. */
        boolean deoptimizedAny(Set<Long> compiles, Instant since) {
            return compiles.stream().map(lastDeopt::get).anyMatch(t -> t != null && !t.isBefore(since));
        }
    }

    /** Where the preferred width's exponential is written: {@code SimdAttention.DoubleLanes}, or the base class. */
    static String expType() {
        try {
            return SimdAttention.create().getClass().getMethod("exp", float[].class, int.class, int.class, float.class)
                    .getDeclaringClass().getName();
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    /** Floats as raw bits, arrays of arrays element by element: a value {@code Arrays.deepEquals} compares exactly. */
    static Object bits(Object output) {
        return switch (output) {
            case null -> null;
            case float[] f -> {
                int[] raw = new int[f.length];
                Arrays.setAll(raw, i -> Float.floatToRawIntBits(f[i]));
                yield raw;
            }
            case Object[] parts -> Arrays.stream(parts).map(SimdAfterC2Test::bits).toArray();
            default -> output;
        };
    }

    /** Every kernel over a few shapes that leave vector tails, and one of whole vectors, on {@link Inputs}' data. */
    static List<Call> calls(SplittableRandom r) {
        List<Call> calls = new ArrayList<>();
        for (int dim : new int[] {12, 36, 100, 128}) {
            int tokens = 8 + r.nextInt(8);
            int kc = 3 + r.nextInt(6);
            float[] x = Inputs.values(r.nextLong(), tokens, dim, 1 + r.nextInt(8), 3);
            float[] c = Inputs.values(r.nextLong(), kc, dim, 4, 1);
            System.arraycopy(x, 0, c, 0, dim); // a centroid equal to a token: exact ties
            float[] norms = new float[kc];
            ScalarKernels.INSTANCE.norms(c, kc, dim, norms);
            int[] ids = new int[tokens];
            Arrays.setAll(ids, n -> r.nextInt(kc));
            String shape = "D=" + dim + " S=" + tokens + " Kc=" + kc;
            calls.add(new Call(KERNELS_TYPE, "norms", shape, k -> {
                float[] out = new float[kc];
                ((QvgKernels) k).norms(c, kc, dim, out);
                return out;
            }));
            calls.add(new Call(KERNELS_TYPE, "assign", shape, k -> {
                int[] out = new int[tokens];
                ((QvgKernels) k).assign(x, dim, 1, tokens, c, norms, kc, out);
                return out;
            }));
            calls.add(new Call(KERNELS_TYPE, "update", shape, k -> {
                float[] out = new float[kc * dim];
                int[] counts = new int[kc];
                ((QvgKernels) k).update(x, tokens, dim, ids, c, kc, out, counts);
                return new Object[] {out, counts};
            }));
            calls.add(new Call(KERNELS_TYPE, "subtract", shape, k -> {
                float[] out = new float[tokens * dim];
                ((QvgKernels) k).subtract(x, tokens, dim, ids, c, out);
                return out;
            }));
            // The softmax kernels on scores of that size: their maximum, then exp(s − m) (m itself on the scalar path).
            float[] sc = Inputs.values(r.nextLong(), 1, tokens, 8, 1);
            float top = ScalarAttention.INSTANCE.max(sc, 0, tokens, Float.NEGATIVE_INFINITY);
            calls.add(new Call(ATTENTION_TYPE, "max", shape, k -> new float[] {((AttentionKernels) k).max(sc, 0, tokens, Float.NEGATIVE_INFINITY)}));
            calls.add(new Call(expType(), "exp", shape, k -> {
                float[] e = sc.clone();
                ((AttentionKernels) k).exp(e, 0, tokens, top);
                return e;
            }));
            for (int bits : new int[] {2, 3, 4, 8}) {
                // D = 128: blocks of whole vectors (the packed-lane quantizer and dequantizer), G = 64 for INT2
                // as in the default config, 16 (some widths' two vectors, others' one) for the rest.
                int g = dim == 128 ? (bits == 2 ? 64 : 16) : dim % 12 == 0 ? 12 : 4;
                boolean asym = bits != 2;
                QuantConfig config = new QuantConfig(bits, g, 2, kc, asym, bits == 4 ? ScaleFormat.BF16 : ScaleFormat.FP8_E4M3, 2, 1e-4f);
                if (dim * bits % 8 != 0) {
                    continue;
                }
                int m = asym ? config.asymmetricMax() : config.symmetricMax();
                float[] residual = Inputs.values(r.nextLong(), tokens, dim, g, m);
                int scaleBytes = tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes();
                String what = shape + " " + config;
                calls.add(new Call(KERNELS_TYPE, "quantize", what, k -> {
                    byte[] packed = new byte[tokens * config.packedBytesPerRow(dim)];
                    byte[] scales = new byte[scaleBytes];
                    byte[] zeros = asym ? new byte[scaleBytes] : null;
                    ((QvgKernels) k).quantize(residual, tokens, dim, config, packed, 0, scales, 0, zeros, 0);
                    return new Object[] {packed, scales, zeros};
                }));
                byte[] packed = new byte[tokens * config.packedBytesPerRow(dim)];
                byte[] scales = new byte[scaleBytes];
                byte[] zeros = asym ? new byte[scaleBytes] : null;
                ScalarKernels.INSTANCE.quantize(residual, tokens, dim, config, packed, 0, scales, 0, zeros, 0);
                byte[][] spanIds = new byte[2][tokens];
                short[][] tables = new short[2][];
                for (int t = 0; t < 2; t++) {
                    for (int n = 0; n < tokens; n++) {
                        spanIds[t][n] = (byte) r.nextInt(kc);
                    }
                    tables[t] = Inputs.bf16(Inputs.values(r.nextLong(), kc, dim, g, 1));
                }
                QuantizedSpan span = new QuantizedSpan(config, 1, 1, tokens, dim, spanIds, tables, packed, scales, zeros, new int[2]);
                calls.add(new Call(KERNELS_TYPE, "dequantize", what, k -> {
                    short[] out = new short[tokens * dim];
                    ((QvgKernels) k).dequantize(span, 0, out, 0);
                    return out;
                }));
                short[] in = Inputs.bf16(Inputs.values(r.nextLong(), tokens, dim, g, m));
                calls.add(new Call(KERNELS_TYPE, "rtn", what, k -> {
                    short[] out = new short[in.length];
                    ((QvgKernels) k).rtn(in, out, 0, in.length, g, bits);
                    return out;
                }));
                calls.add(new Call(KERNELS_TYPE, "nvfp4", what, k -> {
                    short[] out = new short[in.length];
                    ((QvgKernels) k).nvfp4(in, out, 0, in.length, g);
                    return out;
                }));
            }
            // Attention: scores of one query over the tokens (keys transposed), accumulation, block dequantization.
            int ld = tokens + 3;
            float[] q = Inputs.values(r.nextLong(), 1, dim, 8, 1);
            float[] kT = Inputs.values(r.nextLong(), dim, ld, 8, 1);
            float[] p = Inputs.values(r.nextLong(), 1, tokens, 8, 1);
            float[] v = Inputs.values(r.nextLong(), tokens, dim, 8, 1);
            calls.add(new Call(ATTENTION_TYPE, "scores", shape, k -> {
                float[] out = new float[tokens];
                ((AttentionKernels) k).scores(q, 0, kT, ld, tokens, dim, 0.088388346f, out, 0);
                return out;
            }));
            calls.add(new Call(ATTENTION_TYPE, "accumulate", shape, k -> {
                float[] acc = q.clone();
                ((AttentionKernels) k).accumulate(p, 0, v, tokens, dim, acc, 0);
                return acc;
            }));
            int g = dim % 12 == 0 ? 12 : 4;
            int[] codes = new int[dim];
            Arrays.setAll(codes, i -> r.nextInt(16));
            float[][] tables = {Inputs.values(r.nextLong(), 1, dim + 8, g, 1), Inputs.values(r.nextLong(), 1, dim + 8, g, 1)};
            int[] base = {r.nextInt(8), r.nextInt(8)};
            float scale = 0.375f;
            calls.add(new Call(ATTENTION_TYPE, "dequantize", shape + " G=" + g, k -> {
                float[] out = new float[dim];
                for (int from = 0; from < dim; from += g) {
                    ((AttentionKernels) k).dequantize(codes, from, g, scale, -1.25f, 7, from % (2 * g) == 0, tables,
                            base, 2, out, from);
                }
                return out;
            }));
        }
        return calls;
    }
}
