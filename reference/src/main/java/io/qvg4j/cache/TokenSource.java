package io.qvg4j.cache;

import io.qvg4j.numeric.Bf16;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;

/**
 * The keys and values attention reads, token by token in stream order, as floats holding bf16 values.
 * A source may keep scratch buffers: use one from one thread at a time, and {@link #reader()} for another.
 */
public interface TokenSource {

    int heads();

    int dim();

    int tokens();

    /** Keys of tokens [from, from+n) of a head, transposed: channel d of token from+i at {@code out[d·ld + i]}. */
    void keys(int head, int from, int n, float[] out, int ld);

    /** Values of tokens [from, from+n) of a head, row-major: channel d of token from+i at {@code out[i·dim + d]}. */
    void values(int head, int from, int n, float[] out);

    /**
     * The K rows of the newest {@code q} tokens of every head, {@code [H, q, D]} row-major: the queries of SPEC §14.4
     * where a sample holds no Q.
     */
    default float[] newestKeys(int q) {
        int dim = dim();
        float[] out = new float[heads() * q * dim];
        float[] kT = new float[dim * q];
        for (int h = 0; h < heads(); h++) {
            keys(h, tokens() - q, q, kT, q);
            for (int i = 0; i < q; i++) {
                for (int d = 0; d < dim; d++) {
                    out[(h * q + i) * dim + d] = kT[d * q + i];
                }
            }
        }
        return out;
    }

    /** A reader of the same tokens with scratch of its own, for use on another thread. */
    TokenSource reader();

    /** A dense bf16 K and V pair of batch 1, e.g. the unquantized stream. */
    static TokenSource of(KvTensor keys, KvTensor values) {
        if (keys.batch() != 1 || values.batch() != 1 || keys.heads() != values.heads() || keys.tokens() != values.tokens()
                || keys.dim() != values.dim()) {
            throw new InvalidInputException("attention: K " + keys.shapeString() + " and V " + values.shapeString()
                    + " must have the same shape with batch 1");
        }
        return new TokenSource() {
            @Override
            public TokenSource reader() {
                return this;
            }

            @Override
            public int heads() {
                return keys.heads();
            }

            @Override
            public int dim() {
                return keys.dim();
            }

            @Override
            public int tokens() {
                return keys.tokens();
            }

            @Override
            public void keys(int head, int from, int n, float[] out, int ld) {
                int dim = keys.dim();
                for (int i = 0; i < n; i++) {
                    int src = keys.headOffset(head) + (from + i) * dim;
                    for (int d = 0; d < dim; d++) {
                        out[d * ld + i] = Bf16.toFloat(keys.bits()[src + d]);
                    }
                }
            }

            @Override
            public void values(int head, int from, int n, float[] out) {
                Bf16.toFloats(values.bits(), values.headOffset(head) + from * values.dim(), out, 0, n * values.dim());
            }
        };
    }
}
