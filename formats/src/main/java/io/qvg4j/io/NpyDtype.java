package io.qvg4j.io;

/**
 * The array dtypes qvg4j reads and writes, all little-endian. {@link #FLOAT8_E4M3} (safetensors
 * {@code F8_E4M3}, PyTorch's {@code float8_e4m3fn}) has no NumPy dtype: a {@code .npy} file cannot hold it.
 */
public enum NpyDtype {
    UINT8("|u1", 1), UINT16("<u2", 2), INT32("<i4", 4), INT64("<i8", 8), FLOAT16("<f2", 2), FLOAT32("<f4", 4),
    FLOAT64("<f8", 8), FLOAT8_E4M3(null, 1);

    private final String descr;
    private final int size;

    NpyDtype(String descr, int size) {
        this.descr = descr;
        this.size = size;
    }

    /** The NumPy {@code descr}, or null for a dtype NumPy lacks. */
    public String descr() {
        return descr;
    }

    public int size() {
        return size;
    }

    /** True for the floating-point dtypes a K/V tensor may have (uint16 holds bf16 bits by convention). */
    public boolean isFloatingPoint() {
        return this == UINT16 || this == FLOAT16 || this == FLOAT32 || this == FLOAT64 || this == FLOAT8_E4M3;
    }

    /** The dtype of a header's {@code descr}, or null when qvg4j does not read it. */
    static NpyDtype of(String descr) {
        for (NpyDtype t : values()) {
            if (t.descr != null && (t.descr.equals(descr) || (t.size == 1 && descr.equals("<" + t.descr.substring(1))))) {
                return t;
            }
        }
        return null;
    }
}
