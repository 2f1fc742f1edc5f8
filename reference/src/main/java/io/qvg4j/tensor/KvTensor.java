package io.qvg4j.tensor;

import io.qvg4j.numeric.Bf16;

/**
 * One K or V span as bf16 bit patterns in row-major {@code [B, H, S, D]} order: {@code B·H} heads, each
 * a point set of S tokens in R^D. The array is shared, not copied: treat it as read-only.
 */
public record KvTensor(String name, int batch, int heads, int tokens, int dim, short[] bits) {

    public KvTensor {
        checkShape(name, batch, heads, tokens, dim);
        if (bits.length != (long) batch * heads * tokens * dim) {
            throw new InvalidInputException(name + ": " + bits.length + " values do not fill shape "
                    + shapeString(batch, heads, tokens, dim));
        }
    }

    /** Rejects empty dimensions and shapes whose element count does not fit an int index. */
    public static void checkShape(String name, long batch, long heads, long tokens, long dim) {
        if (batch < 1 || heads < 1 || tokens < 1 || dim < 1) {
            throw new InvalidInputException(name + ": shape " + shapeString(batch, heads, tokens, dim)
                    + " has an empty dimension (every one of B, H, S, D must be at least 1)");
        }
        long count = batch * heads;
        if (count > Integer.MAX_VALUE || (count *= tokens) > Integer.MAX_VALUE
                || (count *= dim) > Integer.MAX_VALUE) {
            throw new InvalidInputException(name + ": shape " + shapeString(batch, heads, tokens, dim)
                    + " has more than 2^31-1 elements; split the span");
        }
    }

    public static String shapeString(long batch, long heads, long tokens, long dim) {
        return "[" + batch + "," + heads + "," + tokens + "," + dim + "]";
    }

    public String shapeString() {
        return shapeString(batch, heads, tokens, dim);
    }

    /** Number of independent (b, h) point sets. */
    public int headCount() {
        return batch * heads;
    }

    public int elementCount() {
        return bits.length;
    }

    /** Offset of token 0 of head {@code bh = b·H + h}. */
    public int headOffset(int bh) {
        return bh * tokens * dim;
    }

    /**
     * Throws unless every value is finite; the message names the first offending element by its
     * [b,h,s,d] index (the quantizer's inputs must be finite: SPEC §3.5).
     */
    public void requireFinite() {
        for (int i = 0; i < bits.length; i++) {
            if (Bf16.isNonFinite(bits[i])) {
                throw new InvalidInputException(name + ": value at " + indexString(i) + " is "
                        + Bf16.toFloat(bits[i]) + "; inputs must be finite");
            }
        }
    }

    /** The [b,h,s,d] index of a flat element offset. */
    public String indexString(int flat) {
        int d = flat % dim;
        int rest = flat / dim;
        int s = rest % tokens;
        rest /= tokens;
        return "[" + rest / heads + "," + rest % heads + "," + s + "," + d + "]";
    }

    /** Widens head {@code bh} to floats ({@code tokens × dim}, row-major). */
    public float[] headAsFloats(int bh) {
        float[] out = new float[tokens * dim];
        Bf16.toFloats(bits, headOffset(bh), out, 0, out.length);
        return out;
    }
}
