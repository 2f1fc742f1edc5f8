package io.qvg4j.simd;

import io.qvg4j.codec.QvgKernels;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import io.qvg4j.testkit.Widths;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.quicktheories.core.Gen;

import java.util.SplittableRandom;

import static io.qvg4j.properties.Theories.qt;
import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * Each SIMD kernel equals {@link ScalarKernels} bit for bit, at every width of {@link Widths}, over
 * generated shapes and {@link Inputs}' data: {@value #EXAMPLES} examples per property in CI.
 */
@ExtendWith(Seeds.OnFailure.class)
class KernelPropertiesTest {
    static final QvgKernels REF = ScalarKernels.INSTANCE;
    static final int EXAMPLES = 200;

    @BeforeAll
    static void needsVectorModule() {
        Require.simd(); // FallbackTest checks the reference is used where the Vector API is absent
    }

    /** A width of {@link Widths#BITS}, by index. */
    static Gen<Integer> widths() {
        return integers().between(0, Widths.BITS.size() - 1).map(Widths.BITS::get);
    }

    record KCase(int width, int dim, int tokens, int kc, int from) {
        @Override
        public String toString() {
            return "width=" + width + " D=" + dim + " S=" + tokens + " Kc=" + kc + " from=" + from;
        }
    }

    static Gen<KCase> kmeansCases() {
        return widths().zip(integers().between(4, 256), integers().between(1, 300),
                integers().between(1, 256), (w, d, s, k) -> new KCase(w, d, s, k, 0))
                .zip(integers().between(0, 299), (c, f) -> new KCase(c.width, c.dim, c.tokens, c.kc, f % c.tokens));
    }

    @Test
    void kmeansKernelsEqualReference() {
        qt(EXAMPLES).forAll(kmeansCases(), longs().all()).checkAssert((c, seed) -> {
            QvgKernels simd = SimdWidths.kernels(c.width);
            float[] x = Inputs.values(seed, c.tokens, c.dim, 1 + (int) Long.remainderUnsigned(seed, 8), 3);
            // Centroids: tokens of x (so some scores tie exactly) or fresh values.
            float[] cents = Inputs.values(~seed, c.kc, c.dim, 4, 1);
            SplittableRandom r = new SplittableRandom(seed);
            for (int k = 0; k < c.kc; k++) {
                if (r.nextBoolean()) {
                    System.arraycopy(x, r.nextInt(c.tokens) * c.dim, cents, k * c.dim, c.dim);
                }
            }
            float[] n1 = new float[c.kc];
            float[] n2 = new float[c.kc];
            REF.norms(cents, c.kc, c.dim, n1);
            simd.norms(cents, c.kc, c.dim, n2);
            assertBits(n1, n2, "norms");
            int[] ids1 = new int[c.tokens];
            int[] ids2 = new int[c.tokens];
            REF.assign(x, c.dim, c.from, c.tokens, cents, n1, c.kc, ids1);
            simd.assign(x, c.dim, c.from, c.tokens, cents, n1, c.kc, ids2);
            assertArrayEquals(ids1, ids2, "assign");
            for (int n = 0; n < c.from; n++) {
                ids1[n] = r.nextInt(c.kc);
            }
            float[] u1 = new float[c.kc * c.dim];
            float[] u2 = new float[c.kc * c.dim];
            int[] cnt1 = new int[c.kc];
            int[] cnt2 = new int[c.kc];
            REF.update(x, c.tokens, c.dim, ids1, cents, c.kc, u1, cnt1);
            simd.update(x, c.tokens, c.dim, ids1, cents, c.kc, u2, cnt2);
            assertBits(u1, u2, "update");
            assertArrayEquals(cnt1, cnt2, "update counts");
            float[] s1 = new float[x.length];
            REF.subtract(x, c.tokens, c.dim, ids1, u1, s1);
            simd.subtract(x, c.tokens, c.dim, ids1, u1, x);
            assertBits(s1, x, "subtract (in place)");
        });
    }

    record QCase(int width, QuantConfig config, int dim, int tokens) {
        @Override
        public String toString() {
            return "width=" + width + " D=" + dim + " S=" + tokens + " " + config;
        }
    }

    /** D from 4 to 256, rounded up so D·bits fills whole bytes; G one of D's divisors. */
    static Gen<QCase> quantCases(int maxTokens, int maxStages) {
        Gen<int[]> shape = widths().zip(integers().between(4, 256), integers().between(0, 3),
                integers().between(0, 63), (w, d, b, gi) -> new int[] {w, d, b, gi});
        Gen<int[]> rest = integers().between(0, 3).zip(integers().between(1, maxStages), integers().between(1, 256),
                integers().between(1, maxTokens), (flags, t, kc, s) -> new int[] {flags, t, kc, s});
        return shape.zip(rest, (a, b) -> {
            int bits = new int[] {2, 3, 4, 8}[a[2]];
            int step = 8 / gcd(bits, 8);
            int dim = Math.min(256, (a[1] + step - 1) / step * step);
            int[] divisors = java.util.stream.IntStream.rangeClosed(1, dim).filter(g -> dim % g == 0).toArray();
            int g = divisors[a[3] % divisors.length];
            boolean asym = (b[0] & 1) != 0;
            // Asymmetric cases also cover the endpoint calibration η (SPEC §16.2), η = 0 included.
            float eta = asym ? new float[] {0f, 0.0625f, 0.1f, 0.25f, 0.5f}[b[2] % 5] : 0f;
            QuantConfig config = new QuantConfig(bits, g, b[1], b[2], asym,
                    (b[0] & 2) != 0 ? ScaleFormat.BF16 : ScaleFormat.FP8_E4M3, 2, 1e-4f, eta);
            return new QCase(a[0], config, dim, b[3]);
        });
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    @Test
    void quantizeAndDequantizeEqualReference() {
        qt(EXAMPLES).forAll(quantCases(64, 4), longs().all()).checkAssert((c, seed) -> {
            QvgKernels simd = SimdWidths.kernels(c.width);
            QuantConfig config = c.config;
            int tokens = c.tokens;
            int dim = c.dim;
            int m = config.asymmetric() ? config.asymmetricMax() : config.symmetricMax();
            float[] x = Inputs.values(seed, tokens, dim, config.groupSize(), m);
            int rowBytes = config.packedBytesPerRow(dim);
            int scaleBytes = tokens * config.blocksPerRow(dim) * config.scaleFormat().bytes();
            byte[] p1 = new byte[2 * tokens * rowBytes];
            byte[] p2 = p1.clone();
            byte[] sc1 = new byte[2 * scaleBytes];
            byte[] sc2 = sc1.clone();
            byte[] z1 = config.asymmetric() ? new byte[2 * scaleBytes] : null;
            byte[] z2 = config.asymmetric() ? z1.clone() : null;
            REF.quantize(x, tokens, dim, config, p1, tokens * rowBytes, sc1, scaleBytes, z1, scaleBytes);
            simd.quantize(x, tokens, dim, config, p2, tokens * rowBytes, sc2, scaleBytes, z2, scaleBytes);
            assertArrayEquals(p1, p2, "packed codes");
            assertArrayEquals(sc1, sc2, "scales");
            assertArrayEquals(z1, z2, "zero points");

            SplittableRandom r = new SplittableRandom(seed);
            int kc = config.centroids();
            byte[][] ids = new byte[config.stages()][2 * tokens];
            short[][] centroids = new short[config.stages()][];
            for (int t = 0; t < config.stages(); t++) {
                for (int i = 0; i < ids[t].length; i++) {
                    ids[t][i] = (byte) r.nextInt(kc);
                }
                centroids[t] = Inputs.bf16(Inputs.values(seed + t + 1, 2 * kc, dim, config.groupSize(), 1));
            }
            QuantizedSpan span = new QuantizedSpan(config, 2, 1, tokens, dim, ids, centroids, p1, sc1, z1,
                    new int[config.stages()]);
            short[] o1 = new short[2 * tokens * dim];
            short[] o2 = new short[2 * tokens * dim];
            for (int bh = 0; bh < 2; bh++) {
                REF.dequantize(span, bh, o1, bh * tokens * dim);
                simd.dequantize(span, bh, o2, bh * tokens * dim);
            }
            assertBits(o1, o2, "dequantized");

            short[] in = Inputs.bf16(x);
            short[] b1 = new short[in.length];
            short[] b2 = new short[in.length];
            REF.rtn(in, b1, 0, in.length, config.groupSize(), config.bits());
            simd.rtn(in, b2, 0, in.length, config.groupSize(), config.bits());
            assertBits(b1, b2, "rtn baseline");
            REF.nvfp4(in, b1, 0, in.length, config.groupSize());
            simd.nvfp4(in, b2, 0, in.length, config.groupSize());
            assertBits(b1, b2, "nvfp4 baseline");
        });
    }
}
