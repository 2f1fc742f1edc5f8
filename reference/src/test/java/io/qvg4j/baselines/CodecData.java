package io.qvg4j.baselines;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.KvTensor;

import java.util.Random;

/** Clustered bf16 data with a per-channel offset, batch 1, like a KV cache. */
final class CodecData {
    private CodecData() {}

    static KvTensor clustered(long seed, int h, int s, int d) {
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
        short[] bits = new short[h * s * d];
        for (int row = 0; row < h * s; row++) {
            float[] c = centres[r.nextInt(centres.length)];
            for (int i = 0; i < d; i++) {
                bits[row * d + i] = Bf16.fromFloat(offset[i] + c[i] + (float) (r.nextGaussian() * 0.3));
            }
        }
        return new KvTensor("x", 1, h, s, d, bits);
    }
}
