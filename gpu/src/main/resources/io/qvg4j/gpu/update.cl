// Centroid update (SPEC §3.3): needs double precision for the per-cluster sums.
#pragma OPENCL FP_CONTRACT OFF
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

// SPEC §3.3 sums a cluster's values of one channel in double in ascending token order. When every
// partial sum of those values is a double, no addition rounds and every order gives that same sum:
// the values are integer multiples of 2^low (low: the lowest set bit of any of them) and every partial
// sum is below count * 2^(top+1) in magnitude (top: the highest exponent), so it suffices that
// bits(count) + top + 1 - low <= 53. Then the members are split over UL lanes that sum in any order;
// otherwise (a wide spread of exponents, an infinity or a NaN) lane 0 repeats the sum in token order.
//
// Work-group (UD channels, UL member lanes; build options) of cluster k, head bh: grid (D, Kc * UL, heads). Then
// (float) sum / (float) count, IEEE division (the program is built with correctly rounded divide),
// rounded to bf16. An empty cluster keeps its old centroid.

// The exponent of the lowest set bit of a nonzero finite float's value, and a bound on its highest:
// |v| < 2^(top - 126).
inline int lowest_bit(uint b) {
    uint e = b >> 23;
    uint m = e != 0 ? (b & 0x7FFFFFu) | 0x800000u : b;
    return (int) max(e, 1u) - 150 + (31 - (int) clz(m & (0u - m)));
}

__kernel void update(__global const float* x, int tokens, int dim, int kc,
                     __global const int* members, __global const int* offsets,
                     __global const int* counts, __global const float* old_c,
                     __global float* new_c) {
    __local double part_sum[UL * UD];
    __local int part_top[UL * UD], part_low[UL * UD];
    int lc = get_local_id(0);
    int lane = get_local_id(1);
    int ud = UD;
    int d = get_group_id(0) * ud + lc;
    int k = get_group_id(1);
    int bh = get_group_id(2);
    long cell = ((long) bh * kc + k) * dim + d;
    int count = counts[bh * kc + k];  // the same for the whole group
    __global const int* all = members + (long) bh * tokens + offsets[bh * kc + k];
    __global const float* xh = x + (long) bh * tokens * dim + (d < dim ? d : 0);
    double sum = 0.0;
    int top = 0, low = 1 << 20;
    for (int j = lane; j < count; j += UL) {
        float v = xh[(long) all[j] * dim];
        sum += (double) v;
        uint b = as_uint(v) & 0x7FFFFFFFu;
        if (b != 0) {
            top = max(top, (int) max(b >> 23, 1u));  // 255 for an infinity or a NaN
            low = min(low, lowest_bit(b));
        }
    }
    int slot = lane * ud + lc;
    part_sum[slot] = sum;
    part_top[slot] = top;
    part_low[slot] = low;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane != 0 || d >= dim) return;
    if (count == 0) {
        new_c[cell] = old_c[cell];
        return;
    }
    for (int l = 1; l < UL; l++) {
        sum += part_sum[l * ud + lc];
        top = max(top, part_top[l * ud + lc]);
        low = min(low, part_low[l * ud + lc]);
    }
    int bits = 32 - (int) clz((uint) count);
    if (top == 255 || bits + (top - 126) - low > 53) {
        sum = 0.0;
        for (int j = 0; j < count; j++) {
            sum += (double) xh[(long) all[j] * dim];
        }
    }
    new_c[cell] = bf16_round((float) sum / (float) count);
}
