package io.qvg4j.io;

import java.util.Arrays;

/**
 * A tensor as a file lists it, whether or not qvg4j reads its dtype: a file may hold a position or step
 * counter of a dtype qvg4j has no use for next to the K/V tensor asked for, and that must not stop the rest
 * of the file from being read.
 *
 * @param dtype      the dtype in the file's own vocabulary ({@code BF16}, {@code <i2}, ..)
 * @param array      the data, or null when qvg4j does not read this dtype
 * @param unreadable why {@code array} is null, or null when it is not
 */
public record TensorEntry(String name, String dtype, long[] shape, NpyArray array, String unreadable) {

    public TensorEntry {
        shape = shape.clone();
        if ((array == null) == (unreadable == null)) {
            throw new IllegalArgumentException(name + ": exactly one of array and unreadable must be given");
        }
    }

    static TensorEntry of(String name, String dtype, NpyArray array) {
        return new TensorEntry(name, dtype, array.shape(), array, null);
    }

    public boolean readable() {
        return array != null;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
