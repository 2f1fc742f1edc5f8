package io.qvg4j.gpu;

import java.util.Map;

/**
 * Device time of one codec call, from OpenCL profiling events (start to end of each command).
 *
 * @param kernelNanos    summed kernel execution time
 * @param transferNanos  summed host-to-device and device-to-host copy time
 * @param kernels        kernel launches
 * @param transfers      copies
 * @param perKernelNanos summed time per kernel name
 * @param launches       launches per kernel name
 */
public record Profile(long kernelNanos, long transferNanos, int kernels, int transfers, Map<String, Long> perKernelNanos,
                      Map<String, Integer> launches) {
    static final Profile NONE = new Profile(0, 0, 0, 0, Map.of(), Map.of());
}
