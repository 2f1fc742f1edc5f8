package io.qvg4j.baselines;

import io.qvg4j.quant.MemoryFootprint;

/**
 * Exact storage of one quantized tensor: the quantized part in the components of {@link MemoryFootprint}
 * (SPEC §8; its element count is the whole tensor's), plus tokens kept in bf16 (KIVI's residual window), plus
 * index bytes: which tokens or channels a pruning method kept (SPEC §16.5, §16.6).
 */
public record Accounting(MemoryFootprint quantized, long bf16Bytes, long indexBytes) {

    /** Storage without index bytes. */
    public Accounting(MemoryFootprint quantized, long bf16Bytes) {
        this(quantized, bf16Bytes, 0);
    }

    public long elements() {
        return quantized.elements();
    }

    public long totalBytes() {
        return quantized.totalBytes() + bf16Bytes + indexBytes;
    }

    public double bitsPerElement() {
        return 8.0 * totalBytes() / elements();
    }

    /** Bits per element by component, in a fixed order; components of zero bytes are left out. */
    public String components() {
        StringBuilder s = new StringBuilder();
        add(s, "codes", quantized.codeBytes());
        add(s, "scales", quantized.scaleBytes());
        add(s, "zeros", quantized.zeroBytes());
        add(s, "ids", quantized.idBytes());
        add(s, "centroids", quantized.centroidBytes());
        add(s, "bf16 window", bf16Bytes);
        add(s, "index", indexBytes);
        return s.toString();
    }

    private void add(StringBuilder s, String what, long bytes) {
        if (bytes > 0) {
            s.append(s.isEmpty() ? "" : " + ").append(what).append(' ')
                    .append(String.format(java.util.Locale.ROOT, "%.4f", 8.0 * bytes / elements()));
        }
    }

    /** Component-wise sum (K plus V). */
    public Accounting plus(Accounting o) {
        return new Accounting(quantized.plus(o.quantized), bf16Bytes + o.bf16Bytes, indexBytes + o.indexBytes);
    }
}
