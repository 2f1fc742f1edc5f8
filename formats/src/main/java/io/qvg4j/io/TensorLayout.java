package io.qvg4j.io;

import io.qvg4j.tensor.InvalidInputException;

import java.util.Locale;

/**
 * How the axes of a K/V tensor in a file are ordered. qvg4j works on [B,H,S,D]; flash-attention and many
 * PyTorch caches keep [B,S,H,D], and a single sequence is often [H,S,D]. The code is stored in a
 * {@code .qkv} container (FORMAT.md) so that dequantizing gives the tensor back in its own layout.
 */
public enum TensorLayout {
    BHSD(0, 4), BSHD(1, 4), HSD(2, 3);

    private final int code;
    private final int rank;

    TensorLayout(int code, int rank) {
        this.code = code;
        this.rank = rank;
    }

    public int code() {
        return code;
    }

    public int rank() {
        return rank;
    }

    /** The axes in file order, as {@code [B,S,H,D]}. */
    public String axes() {
        return "[" + String.join(",", name().split("")) + "]";
    }

    public static TensorLayout ofCode(int code) {
        for (TensorLayout l : values()) {
            if (l.code == code) {
                return l;
            }
        }
        return null;
    }

    /** {@code bhsd}, {@code bshd} or {@code hsd}, as the command line spells them. */
    public static TensorLayout parse(String s) {
        for (TensorLayout l : values()) {
            if (l.name().toLowerCase(Locale.ROOT).equals(s)) {
                return l;
            }
        }
        throw new InvalidInputException("--layout " + s + ": use bhsd, bshd or hsd");
    }

    /** The layout a tensor of this rank has when none is given: [B,H,S,D] for 4-D, [H,S,D] for 3-D. */
    public static TensorLayout defaultFor(int rank) {
        return rank == 3 ? HSD : BHSD;
    }

    /** The file shape of a [B,H,S,D] span in this layout. */
    public long[] fileShape(int b, int h, int s, int d) {
        return switch (this) {
            case BHSD -> new long[] {b, h, s, d};
            case BSHD -> new long[] {b, s, h, d};
            case HSD -> new long[] {h, s, d};
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
