package io.qvg4j.bench;

/**
 * The head slices the kernels are timed on: one (batch, head) point set of a real model's KV cache,
 * clustered with Kc centroids as the default configuration does.
 */
public enum Shape {
    /** LongCat-Video, one layer's head slice. */
    LONGCAT("longcat", 29640, 128),
    /** Self-Forcing, one streamed span of a head. */
    SELF_FORCING("self-forcing", 37440, 128),
    /** HY-WorldPlay, one streamed span of a head. */
    HY_WORLDPLAY("hy-worldplay", 7040, 256);

    /** Centroids per head, as in {@code QuantConfig.DEFAULT}. */
    public static final int KC = 256;

    /**
     * Tokens the scalar assignment is timed on: one k-means task tile. The scalar kernel runs at about one
     * FMA per cycle, so a whole head would take seconds per call; throughput is reported per FMA.
     */
    public static final int SCALAR_ASSIGN_TOKENS = 2048;

    public final String id;
    public final int tokens;
    public final int dim;

    Shape(String id, int tokens, int dim) {
        this.id = id;
        this.tokens = tokens;
        this.dim = dim;
    }

    public static Shape byId(String id) {
        for (Shape s : values()) {
            if (s.id.equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown shape '" + id + "'");
    }

    /** Tokens the assignment benchmark covers for an implementation. */
    public int assignTokens(String impl) {
        return impl.equals("reference") ? Math.min(tokens, SCALAR_ASSIGN_TOKENS) : tokens;
    }

    /** {@code [S,D]}, as the table prints it. */
    public String label() {
        return id + " [" + tokens + "," + dim + "]";
    }
}
