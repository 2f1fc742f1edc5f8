// The two limits GpuBenchmark measures the kernels against, by the device's own kernels in the same run.
#pragma OPENCL FP_CONTRACT OFF

// fp32 fused multiply-add rate: 16 independent fma() chains per work-item, `iterations` steps each
// (x = x*a + b with |a| < 1 stays finite); the sum is stored so that nothing is optimised away.
__kernel void fma_peak(__global float* out, int iterations, float a, float b) {
    float v[16];
    #pragma unroll
    for (int j = 0; j < 16; j++) {
        v[j] = (float) (get_global_id(0) + j) * 0x1p-20f;
    }
    for (int it = 0; it < iterations; it++) {
        #pragma unroll
        for (int j = 0; j < 16; j++) {
            v[j] = fma(v[j], a, b);
        }
    }
    float sum = 0.0f;
    #pragma unroll
    for (int j = 0; j < 16; j++) {
        sum += v[j];
    }
    out[get_global_id(0)] = sum;
}

// Copy bandwidth: one float4 read and written per work-item.
__kernel void copy_bandwidth(__global const float4* in, __global float4* out, long n) {
    long i = get_global_id(0);
    if (i < n) out[i] = in[i];
}
