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

    /**
     * The bytes a draft of the first {@code stages} stages reads (SPEC §16.1): the ids and centroid tables of
     * those stages, no code, scale or zero point; {@code stages} = T reads the whole span, {@link #of}. The
     * element count is the span's, so bits per element compare with the full span's.
     */
    public static MemoryFootprint draft(long batch, long heads, long tokens, long dim, QuantConfig config, int stages) {
        if (stages < 1 || stages > config.stages()) {
            throw new IllegalArgumentException("draft of " + stages + " stages of a T = " + config.stages() + " config");
        }
        if (stages == config.stages()) {
            return of(batch, heads, tokens, dim, config);
        }
        return new MemoryFootprint(batch * heads * tokens * dim, 0, 0, 0, stages * batch * heads * tokens,
                stages * batch * heads * config.centroids() * dim * 2);
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
