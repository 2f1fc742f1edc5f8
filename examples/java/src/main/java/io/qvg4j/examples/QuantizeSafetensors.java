package io.qvg4j.examples;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.codec.QvgCodec;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.Safetensors;
import io.qvg4j.io.TensorFiles;
import io.qvg4j.numeric.Bf16;
import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.spi.Implementations;
import io.qvg4j.tensor.KvTensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/** Loads a K tensor from a .safetensors file, quantizes it with QVG's defaults, decodes it, prints the footprint. */
public final class QuantizeSafetensors {
    public static void main(String[] args) throws Exception {
        Path file = args.length > 0 ? Path.of(args[0]) : sample();
        KvTensor k = TensorFiles.load(file, "k").tensor(); // [B,H,S,D] or [H,S,D]; BF16, F16, F32 or F64
        QuantConfig config = QuantConfig.DEFAULT;          // INT2, G = 64, one k-means stage of 256 centroids
        int[][][] init = InitIndices.fromSeed(0, config.stages(), k.headCount(), config.centroids(), k.tokens());
        try (QvgCodec codec = Implementations.REFERENCE.open(1, 0)) {
            QuantizedSpan span = codec.encode(k, config, init);
            KvTensor back = codec.decode(span);
            MemoryFootprint f = span.footprint();
            System.out.printf("%s %s: %s%n", file.getFileName(), k.shapeString(), config);
            System.out.printf("%d bytes instead of %d as bf16: %.4f bits/element, %.3fx smaller; rel-L2 error %.4f%n",
                    f.totalBytes(), f.bf16Bytes(), f.bitsPerElement(), f.compressionRatio(), relL2(k, back));
        }
    }

    /** A Gaussian [H=4, S=1024, D=128] float32 tensor named "k", as PyTorch's safetensors would write it. */
    private static Path sample() throws Exception {
        Random r = new Random(1);
        float[] v = new float[4 * 1024 * 128];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        Path dir = Files.createTempDirectory("qvg4j-example");
        Path file = dir.resolve("kv.safetensors");
        Safetensors.write(file, Map.of("k", NpyArray.ofFloat32("k", v, 4, 1024, 128)), Map.of("format", "pt"));
        dir.toFile().deleteOnExit();
        file.toFile().deleteOnExit();
        return file;
    }

    private static double relL2(KvTensor a, KvTensor b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.bits().length; i++) {
            double x = Bf16.toFloat(a.bits()[i]), y = Bf16.toFloat(b.bits()[i]);
            num += (x - y) * (x - y);
            den += x * x;
        }
        return Math.sqrt(num / den);
    }
}
