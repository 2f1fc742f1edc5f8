package io.qvg4j.algorithm;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.numeric.E2M1;
import io.qvg4j.numeric.Fp8E4M3;

/**
 * The fake-quant baselines of the official code (SPEC §9), one block at a time. Unlike the real path,
 * every intermediate is rounded to bf16, divisions are IEEE, and integer rounding is half to even.
 */
public final class Baselines {
    private Baselines() {}

    /** {@code naive-int<bits>} on elements [from, to) of a bf16 array whose blocks of G are consecutive. */
    public static void rtn(short[] in, short[] out, int from, int to, int groupSize, int bits) {
        for (int b = from; b < to; b += groupSize) {
            rtnBlock(in, out, b, groupSize, bits);
        }
    }

    /** {@code naive-fp4} on elements [from, to), same layout. */
    public static void nvfp4(short[] in, short[] out, int from, int to, int groupSize) {
        for (int b = from; b < to; b += groupSize) {
            nvfp4Block(in, out, b, groupSize);
        }
    }

    private static final float MIN_SCALE = 1e-10f;
    private static final float SCALE_FLOOR = 1f / 512f;

    /**
     * The block's scale: {@code bf16(max(amax / divisor, 1e-10))}, rounded to E4M3 with ties away
     * (SPEC §9.3), to bf16, clamped to [2^−9, 448] and rounded to bf16 again.
     */
    public static float blockScale(short[] in, int offset, int g, float divisor) {
        float amax = 0f;
        for (int i = 0; i < g; i++) {
            amax = Math.max(amax, Math.abs(Bf16.toFloat(in[offset + i])));
        }
        float scale = Bf16.round(Math.max(amax / divisor, MIN_SCALE));
        scale = Bf16.round(Fp8E4M3.roundRna(scale));
        return Bf16.round(Math.max(SCALE_FLOOR, Math.min(Fp8E4M3.MAX, scale)));
    }

    /**
     * {@code naive-int<bits>} (SPEC §9.1): m = 2^(bits−1) − 1, y = bf16(x / s), q = clamp(round half even
     * (y), −m, m), out = bf16(q · s).
     */
    public static void rtnBlock(short[] in, short[] out, int offset, int g, int bits) {
        int m = (1 << (bits - 1)) - 1;
        float s = blockScale(in, offset, g, m);
        for (int i = offset; i < offset + g; i++) {
            float y = Bf16.round(Bf16.toFloat(in[i]) / s);
            float q = Math.max(-m, Math.min(m, (float) Math.rint(y)));
            out[i] = Bf16.fromFloat(q * s);
        }
    }

    /** {@code naive-fp4}, NVFP4 (SPEC §9.2): y = bf16(x / s), q = bf16(E2M1 round ties away(y)), out = bf16(q·s). */
    public static void nvfp4Block(short[] in, short[] out, int offset, int g) {
        float s = blockScale(in, offset, g, 6f);
        for (int i = offset; i < offset + g; i++) {
            float y = Bf16.round(Bf16.toFloat(in[i]) / s);
            float q = Bf16.round(E2M1.roundRna(y));
            out[i] = Bf16.fromFloat(q * s);
        }
    }
}
