// The QVG kernels (needs numeric.cl before it). Layouts are those of io.qvg4j.codec.QvgKernels for
// every head at once: x [heads, tokens, dim], centroids [heads, kc, dim], ids [heads, tokens] as bytes.
#pragma OPENCL FP_CONTRACT OFF

// KT (centroids per local-memory tile of the assignment; each work-item keeps KT running dot products)
// and CHUNK (tokens per chunk of the counting sort) are build options from DeviceKernels.

__kernel void widen_bf16(__global const ushort* in, __global float* out, long n) {
    long i = get_global_id(0);
    if (i < n) out[i] = bf16_value(in[i]);
}

__kernel void narrow_bf16(__global const float* in, __global ushort* out, long n) {
    long i = get_global_id(0);
    if (i < n) out[i] = bf16_bits(in[i]);
}

// Initial centroids: c[bh, k, :] = x[bh, init[bh, k], :] (SPEC §3.1). Work-item (d, k, bh).
__kernel void gather_rows(__global const float* x, int tokens, int dim, int kc,
                          __global const int* init, __global float* c) {
    int d = get_global_id(0);
    int k = get_global_id(1);
    int bh = get_global_id(2);
    if (d >= dim) return;
    long row = (long) bh * tokens + init[bh * kc + k];
    c[((long) bh * kc + k) * dim + d] = x[row * dim + d];
}

// norms[bh, k] = sum over d in order of c*c by fused multiply-adds from +0 (SPEC §3.2).
__kernel void norms(__global const float* c, int dim, int count, __global float* norms) {
    int k = get_global_id(0);
    if (k >= count) return;
    __global const float* row = c + (long) k * dim;
    float acc = 0.0f;
    for (int d = 0; d < dim; d++) {
        acc = fma(row[d], row[d], acc);
    }
    norms[k] = acc;
}

// Assignment (SPEC §3.2), GEMM-style: a work-group holds a tile of KT centroids in local memory,
// stored [d][KT] so that one vector load feeds four dot products; each work-item owns one token, reads
// its row four channels at a time and sums every (token, centroid) pair over d in ascending order by
// fused multiply-adds. score = norms[k] - 2*dot; the best starts at +inf with id 0 and only a strictly
// smaller score replaces it, in ascending k. Work-item (token, bh); local size along tokens only.
#define FMA_ROW(xv, d) \
    t = tile + (d) * KT; \
    a0 = fma(xv, vload4(0, t), a0); a1 = fma(xv, vload4(1, t), a1); \
    a2 = fma(xv, vload4(2, t), a2); a3 = fma(xv, vload4(3, t), a3); \
    a4 = fma(xv, vload4(4, t), a4); a5 = fma(xv, vload4(5, t), a5); \
    a6 = fma(xv, vload4(6, t), a6); a7 = fma(xv, vload4(7, t), a7);

__kernel void assign(__global const float* x, int tokens, int dim,
                     __global const float* c, __global const float* norms, int kc,
                     __global uchar* ids, __local float* tile) {
    int n = get_global_id(0);
    int bh = get_global_id(1);
    int lid = get_local_id(0);
    int lsize = get_local_size(0);
    int live = n < tokens;
    __global const float* xr = x + ((long) bh * tokens + (live ? n : 0)) * dim;
    __global const float* ch = c + (long) bh * kc * dim;
    __global const float* nh = norms + (long) bh * kc;
    float best = INFINITY;
    int best_k = 0;
    for (int k0 = 0; k0 < kc; k0 += KT) {
        int kt = min(KT, kc - k0);
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int i = lid; i < KT * dim; i += lsize) {
            int d = i / KT;
            int kk = i - d * KT;
            tile[i] = kk < kt ? ch[(long) (k0 + kk) * dim + d] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float4 a0 = (float4) (0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        __local const float* t;
        int d = 0;
        for (; d + 4 <= dim; d += 4) {
            float4 xv = vload4(0, xr + d);
            FMA_ROW((float4) (xv.x), d)
            FMA_ROW((float4) (xv.y), d + 1)
            FMA_ROW((float4) (xv.z), d + 2)
            FMA_ROW((float4) (xv.w), d + 3)
        }
        for (; d < dim; d++) {
            FMA_ROW((float4) (xr[d]), d)
        }
        float acc[KT];
        vstore4(a0, 0, acc); vstore4(a1, 1, acc); vstore4(a2, 2, acc); vstore4(a3, 3, acc);
        vstore4(a4, 4, acc); vstore4(a5, 5, acc); vstore4(a6, 6, acc); vstore4(a7, 7, acc);
        for (int kk = 0; kk < kt; kk++) {
            float score = nh[k0 + kk] - 2.0f * acc[kk];
            if (score < best) {
                best = score;
                best_k = k0 + kk;
            }
        }
    }
    if (live) ids[(long) bh * tokens + n] = (uchar) best_k;
}

// Number of positions where two id arrays differ: a per-group count, then one integer atomic add
// per group (integer sums are exact in any order). Local size must be a power of two.
__kernel void count_changed(__global const uchar* a, __global const uchar* b, long n,
                            __global int* changed, __local int* part) {
    long i = get_global_id(0);
    int lid = get_local_id(0);
    part[lid] = (i < n && a[i] != b[i]) ? 1 : 0;
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < s) part[lid] += part[lid + s];
    }
    if (lid == 0 && part[0] != 0) atomic_add(changed, part[0]);
}

// The centroid update's stable counting sort of tokens by cluster id, in three steps over chunks of
// CHUNK tokens so that many work-items share the scan. Members of a cluster end up in ascending token
// order: chunk by chunk, and in token order inside a chunk.

// Work-item (k, chunk, bh): members of cluster k among the chunk's tokens.
__kernel void cluster_counts(__global const uchar* ids, int tokens, int kc, __global int* chunk_counts) {
    int k = get_global_id(0);
    int chunk = get_global_id(1);
    int bh = get_global_id(2);
    int chunks = get_global_size(1);
    if (k >= kc) return;
    __global const uchar* h = ids + (long) bh * tokens;
    int end = min(tokens, (chunk + 1) * CHUNK);
    int count = 0;
    for (int n = chunk * CHUNK; n < end; n++) {
        count += h[n] == k ? 1 : 0;
    }
    chunk_counts[((long) bh * kc + k) * chunks + chunk] = count;
}

// Work-item (k, bh): the size of cluster k.
__kernel void cluster_totals(__global const int* chunk_counts, int kc, int chunks, __global int* counts) {
    int k = get_global_id(0);
    int bh = get_global_id(1);
    if (k >= kc) return;
    __global const int* row = chunk_counts + ((long) bh * kc + k) * chunks;
    int sum = 0;
    for (int c = 0; c < chunks; c++) {
        sum += row[c];
    }
    counts[bh * kc + k] = sum;
}

// Work-item bh: where each cluster starts, the exclusive prefix sums of the sizes.
__kernel void cluster_offsets(__global const int* counts, int kc, __global int* offsets) {
    int bh = get_global_id(0);
    int sum = 0;
    for (int k = 0; k < kc; k++) {
        offsets[bh * kc + k] = sum;
        sum += counts[bh * kc + k];
    }
}

// Work-item (k, bh): where each chunk's members of cluster k start.
__kernel void chunk_offsets(__global const int* chunk_counts, int kc, int chunks, __global const int* offsets,
                            __global int* chunk_starts) {
    int k = get_global_id(0);
    int bh = get_global_id(1);
    if (k >= kc) return;
    long row = ((long) bh * kc + k) * chunks;
    int sum = offsets[bh * kc + k];
    for (int c = 0; c < chunks; c++) {
        chunk_starts[row + c] = sum;
        sum += chunk_counts[row + c];
    }
}

// Work-item (k, chunk, bh): writes the chunk's members of cluster k, in token order, to their place.
__kernel void cluster_members(__global const uchar* ids, int tokens, int kc,
                              __global const int* chunk_offsets, __global int* members) {
    int k = get_global_id(0);
    int chunk = get_global_id(1);
    int bh = get_global_id(2);
    int chunks = get_global_size(1);
    if (k >= kc) return;
    __global const uchar* h = ids + (long) bh * tokens;
    __global int* out = members + (long) bh * tokens + chunk_offsets[((long) bh * kc + k) * chunks + chunk];
    int end = min(tokens, (chunk + 1) * CHUNK);
    int j = 0;
    for (int n = chunk * CHUNK; n < end; n++) {
        if (h[n] == k) out[j++] = n;
    }
}

// Semantic-Aware Smoothing (SPEC §4): r = bf16(x - c[ids[n]]), in place allowed. Work-item per element.
__kernel void subtract(__global const float* x, int tokens, int dim, int kc,
                                 __global const uchar* ids, __global const float* c,
                                 __global float* r, long n_elems) {
    long e = get_global_id(0);
    if (e >= n_elems) return;
    long row = e / dim;
    int d = (int) (e - row * dim);
    long bh = row / tokens;
    r[e] = bf16_round(x[e] - c[(bh * kc + ids[row]) * dim + d]);
}

// Stores a scale or zero point; returns what the quantizer divides by: the decoded FP8 value
// (SPEC §6.2) or, for bf16 storage, the unrounded value (SPEC §6.4).
inline float store_scale(float v, int bf16_scales, __global uchar* out, long block) {
    if (bf16_scales) {
        ushort h = bf16_bits(v);
        out[2 * block] = (uchar) h;
        out[2 * block + 1] = (uchar) (h >> 8);
        return v;
    }
    uchar code = fp8_encode(v);
    out[block] = code;
    return fp8_decode(code);
}

// Block quantizer (SPEC §6): one work-item per block of g values; codes as one byte each.
// Kernel division a (/) b is a * (1.0f / b) (SPEC §2.3); rounding is half away from zero, which is
// OpenCL's round() (SPEC §2.4); NaN gives q = +m, code 2m (symmetric), or code 0 (asymmetric) (SPEC §2.5).
__kernel void quantize(__global const float* r, int g, int bits, int asym, int bf16_scales,
                              long n_blocks, __global uchar* codes, __global uchar* scales,
                              __global uchar* zeros) {
    long b = get_global_id(0);
    if (b >= n_blocks) return;
    __global const float* x = r + b * g;
    __global uchar* q = codes + b * g;
    if (!asym) {
        int m = (1 << (bits - 1)) - 1;
        float amax = 0.0f;
        for (int i = 0; i < g; i++) {
            amax = java_max(amax, fabs(x[i]));
        }
        float scale = java_max(amax * (1.0f / (float) m), QVG_MIN_SCALE);
        float s = store_scale(scale, bf16_scales, scales, b);
        float reciprocal = 1.0f / s;
        for (int i = 0; i < g; i++) {
            float y = x[i] * reciprocal;
            int v = isnan(y) ? m : (int) fmax((float) -m, fmin((float) m, round(y)));
            q[i] = (uchar) (v + m);
        }
    } else {
        int qmax = (1 << bits) - 1;
        float lo = x[0];
        float hi = x[0];
        for (int i = 1; i < g; i++) {
            lo = java_min(lo, x[i]);
            hi = java_max(hi, x[i]);
        }
        float scale = java_max((hi - lo) * (1.0f / (float) qmax), QVG_MIN_SCALE);
        float s = store_scale(scale, bf16_scales, scales, b);
        float z = store_scale(lo, bf16_scales, zeros, b);
        float reciprocal = 1.0f / s;
        for (int i = 0; i < g; i++) {
            float y = (x[i] - z) * reciprocal;
            q[i] = (uchar) (isnan(y) ? 0 : (int) fmax(0.0f, fmin((float) qmax, round(y))));
        }
    }
}

// Packing (SPEC §6.5): each row's codes as one MSB-first bit stream. Work-item per output byte.
__kernel void pack(__global const uchar* codes, int dim, int bits, long n_bytes,
                         __global uchar* packed) {
    long o = get_global_id(0);
    if (o >= n_bytes) return;
    int row_bytes = dim * bits / 8;
    long row = o / row_bytes;
    int first_bit = (int) (o - row * row_bytes) * 8;
    __global const uchar* c = codes + row * dim;
    uint byte = 0;
    for (int j = 0; j < 8; j++) {
        int p = first_bit + j;
        int i = p / bits;
        int within = p - i * bits;
        byte = (byte << 1) | ((c[i] >> (bits - 1 - within)) & 1u);
    }
    packed[o] = (uchar) byte;
}

// Dequantization (SPEC §7): the residual (code - m)*s or code*s + z in fp32, plus the centroid of
// stage 1, 2, ... in that order in fp32, one bf16 rounding. Work-item per element.
// ids [stages][heads*tokens], centroids [stages][heads*kc*dim] bf16.
__kernel void dequantize(__global const uchar* packed, __global const uchar* scales,
                         __global const uchar* zeros, __global const uchar* ids,
                         __global const ushort* centroids, int tokens, int dim, int g, int bits,
                         int asym, int bf16_scales, int kc, int stages, long n_elems,
                         __global ushort* out) {
    long e = get_global_id(0);
    if (e >= n_elems) return;
    long row = e / dim;
    int i = (int) (e - row * dim);
    long rows = n_elems / dim;
    // Code i of the row's MSB-first bit stream.
    __global const uchar* p = packed + row * (dim * bits / 8);
    int first = i * bits;
    uint window = ((uint) p[first >> 3] << 8) | (((first + bits - 1) >> 3) != (first >> 3) ? p[(first >> 3) + 1] : 0u);
    int code = (int) ((window >> (16 - bits - (first & 7))) & ((1u << bits) - 1u));
    long block = row * (dim / g) + i / g;
    float scale = load_scale(scales, block, bf16_scales);
    float acc;
    if (asym) {
        acc = (float) code * scale + load_scale(zeros, block, bf16_scales);
    } else {
        acc = (float) (code - ((1 << (bits - 1)) - 1)) * scale;
    }
    long heads = rows / tokens;
    long bh = row / tokens;
    for (int t = 0; t < stages; t++) {
        int k = ids[t * rows + row];
        acc += bf16_value(centroids[((t * heads + bh) * kc + k) * dim + i]);
    }
    out[e] = bf16_bits(acc);
}
