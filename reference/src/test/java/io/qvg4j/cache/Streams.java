package io.qvg4j.cache;

import io.qvg4j.numeric.Bf16;

import java.util.SplittableRandom;

/** Seeded synthetic K/V frames: Gaussian tokens around a few per-head cluster centres, as bf16. */
final class Streams {
    private Streams() {}

    static short[] frame(SplittableRandom rnd, int heads, int tokens, int dim) {
        short[] out = new short[heads * tokens * dim];
        for (int h = 0; h < heads; h++) {
            for (int t = 0; t < tokens; t++) {
                double centre = (rnd.nextInt(4) - 1.5) * 2;
                for (int d = 0; d < dim; d++) {
                    double x = centre * ((d % 7) - 3) / 3.0 + rnd.nextGaussian();
                    out[(h * tokens + t) * dim + d] = Bf16.fromFloat((float) x);
                }
            }
        }
        return out;
    }

    static float[] queries(SplittableRandom rnd, int count) {
        float[] q = new float[count];
        for (int i = 0; i < count; i++) {
            q[i] = Bf16.round((float) rnd.nextGaussian());
        }
        return q;
    }
}
