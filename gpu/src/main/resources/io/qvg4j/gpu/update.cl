// Centroid update (SPEC §3.3): needs double precision for the per-cluster sums.
#pragma OPENCL FP_CONTRACT OFF
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

// One work-item per (channel d, cluster k, head bh). The cluster's members are listed in ascending
// token order (cluster_members), so the double sum runs in the reference's order; then
// (float) sum / (float) count, IEEE division (the program is built with correctly rounded divide),
// rounded to bf16. An empty cluster keeps its old centroid.
__kernel void update(__global const float* x, int tokens, int dim, int kc,
                              __global const int* members, __global const int* offsets,
                              __global const int* counts, __global const float* old_c,
                              __global float* new_c) {
    int d = get_global_id(0);
    int k = get_global_id(1);
    int bh = get_global_id(2);
    if (d >= dim) return;
    long cell = ((long) bh * kc + k) * dim + d;
    int count = counts[bh * kc + k];
    if (count == 0) {
        new_c[cell] = old_c[cell];
        return;
    }
    __global const int* list = members + (long) bh * tokens + offsets[bh * kc + k];
    __global const float* xh = x + (long) bh * tokens * dim + d;
    double sum = 0.0;
    for (int j = 0; j < count; j++) {
        sum += (double) xh[(long) list[j] * dim];
    }
    new_c[cell] = bf16_round((float) sum / (float) count);
}
