package io.qvg4j.testkit;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.KvTensor;

import java.util.Random;

/** Clustered test tensors, rebuilt exactly from their seed. */
public final class Clustered {
    private Clustered() {}

    /**
     * {@code [b, h, s, d]} bf16 tokens around 16 seeded centres with a per-channel offset (like a KV cache),
     * so that k-means has clusters to find.
     */
    public static KvTensor tensor(long seed, int b, int h, int s, int d) {
        Random r = new Random(seed);
        float[] offset = new float[d];
        for (int i = 0; i < d; i++) {
            offset[i] = (float) (r.nextGaussian() * 3);
        }
        float[][] centres = new float[16][d];
        for (float[] c : centres) {
            for (int i = 0; i < d; i++) {
                c[i] = (float) r.nextGaussian();
            }
        }
        short[] bits = new short[b * h * s * d];
        for (int row = 0; row < b * h * s; row++) {
            float[] c = centres[r.nextInt(centres.length)];
            for (int i = 0; i < d; i++) {
                bits[row * d + i] = Bf16.fromFloat(offset[i] + c[i] + (float) (r.nextGaussian() * 0.3));
            }
        }
        return new KvTensor("x", b, h, s, d, bits);
    }
}
