package io.qvg4j.cache;

import io.qvg4j.codec.QvgCodec;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.tensor.KvTensor;

/**
 * The two changes a stored span can undergo after it was quantized: its residual re-quantized at fewer bits as
 * it ages (SPEC §16.3) and token rows removed when they are evicted (SPEC §16.4). Both keep every surviving
 * token's clustering; neither needs the bf16 originals, which are gone.
 */
final class SpanEdits {
    private SpanEdits() {}

    /**
     * The span with its residual re-quantized at {@code bits}: the span's own dequantized values x̂ (§7) through
     * the downstream path with the same ids and centroids, {@code encodeWithClustering(x̂, config.withBits(bits), …)}
     * (§4 residual {@code bf16(x̂ − C[id])}, §6 quantizer). The k-means iteration counts are kept.
     */
    static QuantizedSpan requantize(QvgCodec codec, QuantizedSpan s, int bits) {
        KvTensor decoded = codec.decode(s);
        QuantizedSpan r = codec.encodeWithClustering(decoded, s.config().withBits(bits), s.clusterIds(), s.centroids());
        return new QuantizedSpan(r.config(), r.batch(), r.heads(), r.tokens(), r.dim(), r.clusterIds(), r.centroids(),
                r.packed(), r.scales(), r.zeros(), s.iterations());
    }

    /** The span without the token rows {@code drop[n]} (the same positions in every head); the centroid tables stay. */
    static QuantizedSpan withoutRows(QuantizedSpan s, boolean[] drop) {
        QuantConfig c = s.config();
        int kept = kept(drop);
        int heads = s.headCount(), dim = s.dim();
        int codeBytes = c.packedBytesPerRow(dim);
        int scaleBytes = c.blocksPerRow(dim) * c.scaleFormat().bytes();
        byte[][] ids = new byte[c.stages()][];
        for (int t = 0; t < c.stages(); t++) {
            ids[t] = rows(s.clusterIds()[t], heads, s.tokens(), 1, drop, kept);
        }
        return new QuantizedSpan(c, 1, heads, kept, dim, ids, s.centroids(),
                rows(s.packed(), heads, s.tokens(), codeBytes, drop, kept),
                rows(s.scales(), heads, s.tokens(), scaleBytes, drop, kept),
                s.zeros() == null ? null : rows(s.zeros(), heads, s.tokens(), scaleBytes, drop, kept), s.iterations());
    }

    static CentroidSpan withoutRows(CentroidSpan s, boolean[] drop) {
        int kept = kept(drop);
        byte[][] ids = new byte[s.config().stages()][];
        for (int t = 0; t < ids.length; t++) {
            ids[t] = rows(s.clusterIds()[t], s.heads(), s.tokens(), 1, drop, kept);
        }
        return new CentroidSpan(s.config(), s.heads(), kept, s.dim(), ids, s.centroids(), s.iterations());
    }

    private static int kept(boolean[] drop) {
        int n = 0;
        for (boolean d : drop) {
            n += d ? 0 : 1;
        }
        return n;
    }

    /** {@code [heads][tokens][width]} bytes without the dropped token rows. */
    private static byte[] rows(byte[] src, int heads, int tokens, int width, boolean[] drop, int kept) {
        byte[] out = new byte[heads * kept * width];
        int o = 0;
        for (int h = 0; h < heads; h++) {
            for (int n = 0; n < tokens; n++) {
                if (!drop[n]) {
                    System.arraycopy(src, (h * tokens + n) * width, out, o, width);
                    o += width;
                }
            }
        }
        return out;
    }
}
