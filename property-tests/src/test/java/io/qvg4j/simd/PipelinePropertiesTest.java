package io.qvg4j.simd;

import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.quicktheories.core.Gen;

import static io.qvg4j.properties.Theories.qt;
import static io.qvg4j.testkit.Exact.assertBits;
import static io.qvg4j.testkit.Exact.assertSameSpan;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * The whole CPU pipeline, {@code CpuCodec(simd at some width, 1–4 threads)} against
 * {@code CpuCodec(reference, 1 thread)}: encode from seeded initial indices, encode with the
 * reference's clustering, decode and both baselines give identical bytes: {@value #EXAMPLES} examples in CI.
 */
@ExtendWith(Seeds.OnFailure.class)
class PipelinePropertiesTest {
    static final int EXAMPLES = 50;
    /** Scalar multiply-adds one example may spend in k-means (heads·S·Kc·D·T·iterations); Kc shrinks to fit. */
    static final long BUDGET = 6_000_000L;
    /**
     * Elements (heads·S·D) of one example: past it the example keeps one head and as many tokens as fit.
     * Every kernel runs over every element, at 512 bits emulated (slowly) where the machine has no
     * AVX-512; S up to 3000 still crosses k-means' token tiles (KMeans.TOKEN_TILE = 2048) for D ≤ 146.
     */
    static final long MAX_ELEMENTS = 300_000L;

    @BeforeAll
    static void needsVectorModule() {
        Require.simd(); // FallbackTest checks the reference is used where the Vector API is absent
    }

    record PCase(KernelPropertiesTest.QCase q, int threads, int heads, int iterations) {
        @Override
        public String toString() {
            return q + " threads=" + threads + " heads=" + heads + " iterations=" + iterations;
        }
    }

    static Gen<PCase> cases() {
        return KernelPropertiesTest.quantCases(3000, 4).zip(integers().between(1, 4), integers().between(1, 3),
                integers().between(1, 3), (q, threads, h, iters) -> {
                    int heads = h;
                    int tokens = q.tokens();
                    if ((long) heads * tokens * q.dim() > MAX_ELEMENTS) {
                        heads = 1;
                        tokens = (int) Math.min(tokens, MAX_ELEMENTS / q.dim());
                    }
                    QuantConfig c = q.config();
                    long perCentroid = (long) heads * tokens * q.dim() * c.stages() * iters;
                    int kc = (int) Math.max(1, Math.min(c.centroids(), BUDGET / perCentroid));
                    QuantConfig fitted = c.withCentroids(kc).withMaxIters(iters);
                    return new PCase(new KernelPropertiesTest.QCase(q.width(), fitted, q.dim(), tokens), threads, heads, iters);
                });
    }

    @Test
    void pipelineEqualsReference() {
        qt(EXAMPLES).forAll(cases(), longs().all()).checkAssert((p, seed) -> {
            QuantConfig config = p.q().config();
            int tokens = p.q().tokens();
            int dim = p.q().dim();
            int m = config.asymmetric() ? config.asymmetricMax() : config.symmetricMax();
            KvTensor x = new KvTensor("x", 1, p.heads(), tokens, dim,
                    Inputs.bf16(Inputs.values(seed, p.heads() * tokens, dim, config.groupSize(), m)));
            int[][][] init = InitIndices.fromSeed(seed, config.stages(), p.heads(), config.centroids(), tokens);
            try (CpuCodec ref = new CpuCodec(ScalarKernels.INSTANCE, 1);
                 CpuCodec simd = new CpuCodec(SimdWidths.kernels(p.q().width()), p.threads())) {
                QuantizedSpan a = ref.encode(x, config, init);
                QuantizedSpan b = simd.encode(x, config, init);
                assertSameSpan(a, b, "encode");
                assertSameSpan(ref.encodeWithClustering(x, config, a.clusterIds(), a.centroids()),
                        simd.encodeWithClustering(x, config, a.clusterIds(), a.centroids()), "encodeWithClustering");
                assertBits(ref.decode(a).bits(), simd.decode(a).bits(), "decode");
                assertBits(ref.rtnBaseline(x, config.bits(), config.groupSize()).bits(),
                        simd.rtnBaseline(x, config.bits(), config.groupSize()).bits(), "rtn baseline");
                assertBits(ref.nvfp4Baseline(x, config.groupSize()).bits(),
                        simd.nvfp4Baseline(x, config.groupSize()).bits(), "nvfp4 baseline");
            }
        });
    }
}
