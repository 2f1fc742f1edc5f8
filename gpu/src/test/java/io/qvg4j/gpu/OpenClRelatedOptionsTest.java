package io.qvg4j.gpu;

import io.qvg4j.algorithm.InitIndices;
import io.qvg4j.codec.CpuCodec;
import io.qvg4j.codec.ScalarKernels;
import io.qvg4j.quant.QuantConfig;
import io.qvg4j.quant.QuantizedSpan;
import io.qvg4j.quant.ScaleFormat;
import io.qvg4j.tensor.InvalidInputException;
import io.qvg4j.tensor.KvTensor;
import io.qvg4j.testkit.Inputs;
import io.qvg4j.testkit.Require;
import io.qvg4j.testkit.Seeds;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static io.qvg4j.testkit.Exact.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The options of SPEC §16 on the OpenCL codec: drafts decode as the reference's, the calibration η is refused. */
@ExtendWith(Seeds.OnFailure.class)
class OpenClRelatedOptionsTest {
    static final int DEVICE = Integer.getInteger("qvg4j.device", 0);

    @BeforeEach
    void needsOpenCl() {
        Require.openCl(OpenCl.available());
    }

    @Test
    void draftsDecodeAsTheReferenceAndEtaIsRefused() {
        KvTensor x = Inputs.tensor(Seeds.seed(), 2, 200, 32, 8, 3, false);
        QuantConfig config = new QuantConfig(2, 8, 3, 9, true, ScaleFormat.FP8_E4M3, 3, 1e-4f);
        try (CpuCodec ref = new CpuCodec(ScalarKernels.INSTANCE, 1); OpenClCodec gpu = OpenClCodec.open(1, DEVICE)) {
            int[][][] init = InitIndices.fromSeed(Seeds.seed(), 3, x.headCount(), 9, x.tokens());
            QuantizedSpan span = ref.encode(x, config, init);
            for (int s = 1; s <= 3; s++) {
                assertBits(ref.decode(span, s).bits(), gpu.decode(span, s).bits(), "draft of " + s + " stages");
            }
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> gpu.encode(x, config.withEta(0.25f), init));
            assertEquals("opencl: endpoint calibration η = 0.25 (SPEC §16.2) is not implemented on the device; use --impl simd or reference",
                    e.getMessage());
        }
    }
}
