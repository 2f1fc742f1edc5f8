// Centroid update (SPEC §3.3): needs double precision for the per-cluster sums.
#pragma OPENCL FP_CONTRACT OFF
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

// Work-group (UD channels of cluster k, head bh), one work-item per channel d. The cluster's members are
// listed in ascending token order (cluster_members); the group copies them UM at a time into local
// memory, and each work-item reads UB members' values before adding them, so that the loads overlap
// while the double sum still runs in the reference's order. Then (float) sum / (float) count, IEEE
// division (the program is built with correctly rounded divide), rounded to bf16. An empty cluster
// keeps its old centroid.
__kernel void update(__global const float* x, int tokens, int dim, int kc,
                     __global const int* members, __global const int* offsets,
                     __global const int* counts, __global const float* old_c,
                     __global float* new_c, __local int* list) {
    int d = get_global_id(0);
    int k = get_global_id(1);
    int bh = get_global_id(2);
    int lid = get_local_id(0);
    int lsize = get_local_size(0);
    long cell = ((long) bh * kc + k) * dim + d;
    int count = counts[bh * kc + k];  // the same for the whole group
    if (count == 0) {
        if (d < dim) new_c[cell] = old_c[cell];
        return;
    }
    __global const int* all = members + (long) bh * tokens + offsets[bh * kc + k];
    __global const float* xh = x + (long) bh * tokens * dim + (d < dim ? d : 0);
    double sum = 0.0;
    for (int j0 = 0; j0 < count; j0 += UM) {
        int m = min(UM, count - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = lid; j < m; j += lsize) {
            list[j] = all[j0 + j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int j = 0;
        for (; j + UB <= m; j += UB) {
            float v[UB];
            #pragma unroll
            for (int u = 0; u < UB; u++) {
                v[u] = xh[(long) list[j + u] * dim];
            }
            #pragma unroll
            for (int u = 0; u < UB; u++) {
                sum += (double) v[u];
            }
        }
        for (; j < m; j++) {
            sum += (double) xh[(long) list[j] * dim];
        }
    }
    if (d < dim) new_c[cell] = bf16_round((float) sum / (float) count);
}
