package io.qvg4j.quant;

/**
 * Bytes of one quantized span, by component (SPEC §8): packed codes {@code S·H·D·b/8}, scales and zero
 * points {@code S·H·D/G} each (× 2 for bf16 storage), cluster ids {@code T·S·H}, bf16 centroids
 * {@code T·H·Kc·D·2}; all times B.
 */
public record MemoryFootprint(long elements, long codeBytes, long scaleBytes, long zeroBytes, long idBytes,
                              long centroidBytes) {

    public static MemoryFootprint of(long batch, long heads, long tokens, long dim, QuantConfig config) {
        long elements = batch * heads * tokens * dim;
        long rows = batch * heads * tokens;
        long scales = rows * (dim / config.groupSize()) * config.scaleFormat().bytes();
        return new MemoryFootprint(elements,
                elements * config.bits() / 8,
                scales,
                config.asymmetric() ? scales : 0,
                (long) config.stages() * rows,
                (long) config.stages() * batch * heads * config.centroids() * dim * 2);
    }

    public long totalBytes() {
        return codeBytes + scaleBytes + zeroBytes + idBytes + centroidBytes;
    }

    /** The same elements stored as bf16. */
    public long bf16Bytes() {
        return elements * 2;
    }

    public double bitsPerElement() {
        return 8.0 * totalBytes() / elements;
    }

    /** Bits per element spent on one component's bytes. */
    public double bitsPerElement(long componentBytes) {
        return 8.0 * componentBytes / elements;
    }

    public double compressionRatio() {
        return (double) bf16Bytes() / totalBytes();
    }

    /** Component-wise sum, e.g. K plus V, or several spans. */
    public MemoryFootprint plus(MemoryFootprint o) {
        return new MemoryFootprint(elements + o.elements, codeBytes + o.codeBytes, scaleBytes + o.scaleBytes,
                zeroBytes + o.zeroBytes, idBytes + o.idBytes, centroidBytes + o.centroidBytes);
    }

    /** This footprint repeated n times. */
    public MemoryFootprint times(long n) {
        return new MemoryFootprint(elements * n, codeBytes * n, scaleBytes * n, zeroBytes * n, idBytes * n,
                centroidBytes * n);
    }
}
