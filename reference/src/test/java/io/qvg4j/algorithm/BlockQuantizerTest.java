package io.qvg4j.algorithm;

import io.qvg4j.quant.MemoryFootprint;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.ScaleFormat;

import io.qvg4j.numeric.Fp8E4M3;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The block quantizer's rules (SPEC §6), one special case at a time. */
class BlockQuantizerTest {

    private static final QuantConfig INT2 = QuantConfig.DEFAULT;

    private static int[] quantize(float[] x, QuantConfig config, byte[] scales, byte[] zeros) {
        int[] codes = new int[x.length];
        BlockQuantizer.quantizeBlock(x, 0, x.length, config, codes, 0, scales, 0, zeros, 0);
        return codes;
    }

    @Test
    void workedInt2Example() {
        float[] x = new float[64];
        x[0] = 1.5f;
        x[1] = 0.75f;
        x[2] = -0.75f;
        x[3] = 0.375f;
        byte[] scale = new byte[1];
        int[] codes = quantize(x, INT2, scale, null);
        assertEquals(0x3C, scale[0] & 0xFF, "scale 1.5 is exact in E4M3");
        assertArrayEquals(new int[]{2, 2, 0, 1}, Arrays.copyOf(codes, 4));
        byte[] packed = new byte[16];
        BitPacking.pack(codes, 0, 64, 2, packed, 0);
        assertEquals(0xA1, packed[0] & 0xFF);
    }

    @Test
    void allZeroBlockGivesTopCodesAndZeroScale() {
        for (int bits : new int[]{2, 3, 4, 8}) {
            QuantConfig c = INT2.withBits(bits);
            byte[] scale = new byte[1];
            int[] codes = quantize(new float[16], c.withGroupSize(16), scale, null);
            assertEquals(0, scale[0], "1e-10 rounds to FP8 zero");
            int m = c.symmetricMax();
            assertArrayEquals(filled(16, 2 * m), codes, "0/0 = NaN clamps to +m");
            // −0 too: −0 · inf = NaN.
            float[] negZero = new float[16];
            Arrays.fill(negZero, -0f);
            assertArrayEquals(filled(16, 2 * m), quantize(negZero, c.withGroupSize(16), scale, null));
        }
    }

    @Test
    void tinyScaleSendsNonZeroValuesToTheEnds() {
        float[] x = {1e-6f, -1e-6f, 0f, 0f};
        byte[] scale = new byte[1];
        int[] codes = quantize(x, INT2.withGroupSize(4), scale, null);
        assertEquals(0, scale[0]);
        assertArrayEquals(new int[]{2, 0, 2, 2}, codes, "±inf clamp to ±m, 0·inf = NaN → +m");
    }

    @Test
    void saturatingScaleClipsLargeValues() {
        float[] x = {1000f, -1000f, 448f, 100f};
        byte[] scale = new byte[1];
        int[] codes = quantize(x, INT2.withGroupSize(4), scale, null);
        assertEquals(0x7E, scale[0] & 0xFF, "scale 1000 saturates to 448");
        assertArrayEquals(new int[]{2, 0, 2, 1}, codes, "|x| > 448·m clips to ±m");
    }

    @Test
    void asymmetricUsesRoundedZeroPointAndOrdersSignedZeros() {
        QuantConfig asym = INT2.withAsymmetric(true).withGroupSize(4);
        byte[] scale = new byte[1];
        byte[] zero = new byte[1];
        int[] codes = quantize(new float[]{-0f, 0f, 0f, -0f}, asym, scale, zero);
        assertEquals(0x80, zero[0] & 0xFF, "min of ±0 is −0 (SPEC §2.6)");
        assertArrayEquals(new int[]{0, 0, 0, 0}, codes, "(x − z)·inf with x = z is NaN → 0");
        codes = quantize(new float[]{1f, 2f, 3f, 4f}, asym, scale, zero);
        assertEquals(1f, Fp8E4M3.decode(scale[0]));
        assertEquals(1f, Fp8E4M3.decode(zero[0]));
        assertArrayEquals(new int[]{0, 1, 2, 3}, codes);
    }

    @Test
    void bf16ScalesQuantizeWithTheUnroundedScale() {
        QuantConfig c = INT2.withBits(4).withGroupSize(2).withScaleFormat(ScaleFormat.BF16);
        byte[] scale = new byte[2];
        // amax = 1.01 → scale 1.01·RN(1/7), stored rounded to bf16, used unrounded.
        float[] x = {1.01f, 0.505f};
        int[] codes = quantize(x, c, scale, null);
        float s = 1.01f * (1f / 7f);
        assertEquals(io.qvg4j.numeric.Bf16.fromFloat(s), (short) ((scale[0] & 0xFF) | (scale[1] << 8)));
        assertEquals(7 + 7, codes[0]);
        assertEquals(7 + Math.round(0.505f * (1f / s)), codes[1]);
    }

    @Test
    void packingRoundTripsEveryByte() {
        for (int bits : new int[]{2, 3, 4, 8}) {
            int perByteGroup = bits == 3 ? 8 : 8 / bits;
            int bytesPerGroup = bits == 3 ? 3 : 1;
            for (int b = 0; b < 256; b++) {
                byte[] in = new byte[bytesPerGroup];
                Arrays.fill(in, (byte) b);
                int[] codes = new int[perByteGroup];
                BitPacking.unpack(in, 0, perByteGroup, bits, codes, 0);
                byte[] out = new byte[bytesPerGroup];
                BitPacking.pack(codes, 0, perByteGroup, bits, out, 0);
                assertArrayEquals(in, out, bits + "-bit byte " + b);
            }
        }
        int[] codes = {1, 2, 3, 0};
        byte[] out = new byte[1];
        BitPacking.pack(codes, 0, 4, 2, out, 0);
        assertEquals(0b01_10_11_00, out[0] & 0xFF, "first code in the top bits");
        BitPacking.pack(new int[]{0xA, 0x5}, 0, 2, 4, out, 0);
        assertEquals(0xA5, out[0] & 0xFF);
        byte[] three = new byte[3];
        BitPacking.pack(new int[]{1, 2, 3, 4, 5, 6, 7, 0}, 0, 8, 3, three, 0);
        assertArrayEquals(new byte[]{(byte) 0b001_010_01, (byte) 0b1_100_101_1, (byte) 0b10_111_000}, three);
    }

    @Test
    void memoryFootprintReproducesTheOfficialReadmeFigures() {
        double mib = 1024.0 * 1024.0;
        // Per layer, K + V, INT2, G = 64, Kc = 256, T = 1, bf16 centroids.
        MemoryFootprint longCat = MemoryFootprint.of(1, 32, 29640, 128, INT2).times(2);
        assertEquals(70_587_904L, longCat.totalBytes());
        assertEquals("67.32", String.format("%.2f", longCat.totalBytes() / mib));
        MemoryFootprint selfForcing = MemoryFootprint.of(1, 12, 37440, 128, INT2).times(7 * 2);
        assertEquals(231_157_248L, selfForcing.totalBytes());
        assertEquals("220.45", String.format("%.2f", selfForcing.totalBytes() / mib));
        MemoryFootprint hy = MemoryFootprint.of(1, 12, 7040, 256, INT2).times(10 * 2);
        assertEquals(148_039_680L, hy.totalBytes());
        assertEquals("141.18", String.format("%.2f", hy.totalBytes() / mib));
        // Asymptote 16 / 2.1875 for very long spans.
        assertEquals(16 / 2.1875, MemoryFootprint.of(1, 1, 1 << 24, 128, INT2).compressionRatio(), 0.01);
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }
}
