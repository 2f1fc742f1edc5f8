package io.qvg4j.io;

/** The NumPy dtypes qvg4j reads and writes, all little-endian. */
public enum NpyDtype {
    UINT8("|u1", 1), UINT16("<u2", 2), INT32("<i4", 4), FLOAT16("<f2", 2), FLOAT32("<f4", 4);

    private final String descr;
    private final int size;

    NpyDtype(String descr, int size) {
        this.descr = descr;
        this.size = size;
    }

    public String descr() {
        return descr;
    }

    public int size() {
        return size;
    }

    /** The dtype of a header's {@code descr}, or null when qvg4j does not read it. */
    static NpyDtype of(String descr) {
        for (NpyDtype t : values()) {
            if (t.descr.equals(descr) || (t.size == 1 && descr.equals("<" + t.descr.substring(1)))) {
                return t;
            }
        }
        return null;
    }
}
