// The QVG kernels (needs numeric.cl before it). Layouts are those of io.qvg4j.codec.QvgKernels for
// every head at once: x [heads, tokens, dim], centroids [heads, kc, dim], ids [heads, tokens] as bytes.
#pragma OPENCL FP_CONTRACT OFF

// Vector accesses whose offset is a multiple of the vector length are written as vector-pointer
// dereferences (buffers and the local arrays used so are 16-byte aligned): vloadN/vstoreN promise only
// element alignment, so a compiler may split them into scalar accesses.

// AL (the assignment's work-group is AL x AL work-items), ABK (channels per staged slice of the
// assignment) and CHUNK (tokens per chunk of the counting sort) are build options from DeviceKernels.

// Work-item i widens values 8i .. 8i+7: one 16-byte read (two bf16 per uint, little-endian) and two
// 16-byte writes; a short tail one by one.
__kernel void widen_bf16(__global const ushort* in, __global float* out, long n) {
    long i = (long) get_global_id(0) * 8;
    if (i + 8 <= n) {
        uint4 u = *(__global const uint4*) (in + i);
        *(__global float4*) (out + i) = (float4) (as_float(u.x << 16), as_float(u.x & 0xFFFF0000u),
                                                  as_float(u.y << 16), as_float(u.y & 0xFFFF0000u));
        *(__global float4*) (out + i + 4) = (float4) (as_float(u.z << 16), as_float(u.z & 0xFFFF0000u),
                                                      as_float(u.w << 16), as_float(u.w & 0xFFFF0000u));
    } else {
        for (long j = i; j < n; j++) out[j] = bf16_value(in[j]);
    }
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

// Assignment (SPEC §3.2), register-tiled like a GEMM. A work-group of AL*AL work-items scores a tile of
// BM = 8*AL tokens against BN = 8*AL centroids at a time; each work-item owns 8 tokens x 8 centroids
// (two runs of 4, AL*4 apart, so that its float4 reads of local memory hit distinct banks) and keeps
// their 64 dot products, and its best score and id per token, in registers. The channels are staged ABK at a time in local memory, the next
// slice read from global memory while the current one is used. Every dot product is still one fma()
// chain over d = 0, 1, ... from +0 (the slices run in order and the accumulator is carried across
// them), never split. Per centroid tile, score = norms[k] - 2*dot (2*dot rounded first, contraction
// off); each work-item keeps the first strictly smaller score in ascending k from +inf and id 0, and
// the AL work-items sharing a token are merged by (score, k): the lower score, on equal scores the
// lower k, which is the reference's strict-less scan (a NaN score is never taken; no score below +inf
// leaves id 0). Grid (token tiles, heads).
#define BM (8 * AL)
#define BN (8 * AL)
#define XS (BM + 4)  // row stride of the staged slices: + 4 spreads the transposing stores over banks
#define LBUF (2 * ABK * XS > 2 * AL * BM ? 2 * ABK * XS : 2 * AL * BM)

// One channel of the assignment's micro-tile: 8 tokens x 8 centroids, one fma() each.
inline void assign_step(__local const float* xr, __local const float* cr, int tx, int ty, float acc[8][8]) {
    float4 xa = *(__local const float4*) (xr + ty * 4), xb = *(__local const float4*) (xr + BM / 2 + ty * 4);
    float4 ca = *(__local const float4*) (cr + tx * 4), cb = *(__local const float4*) (cr + BN / 2 + tx * 4);
    float xv[8] = {xa.x, xa.y, xa.z, xa.w, xb.x, xb.y, xb.z, xb.w};
    float cv[8] = {ca.x, ca.y, ca.z, ca.w, cb.x, cb.y, cb.z, cb.w};
    #pragma unroll
    for (int i = 0; i < 8; i++) {
        #pragma unroll
        for (int j = 0; j < 8; j++) {
            acc[i][j] = fma(xv[i], cv[j], acc[i][j]);
        }
    }
}

// The staging of one slice (channels d .. d+ABK-1) of BM rows from global memory into registers, and
// from there, transposed, into local memory. When D is a multiple of ABK, work-item lid reads 4
// channels of rows lid/(ABK/4) + j*V4STEP as one float4; otherwise one channel of rows lid/ABK + j*STEP.
// Rows past `limit` read as 0 (they are never kept).
#define STEP (AL * AL / ABK)
#define V4STEP (AL * AL * 4 / ABK)
inline void slice_load(__global const float* h, int r0, int limit, int dim, int d, int lid, int vec, float p[BM / STEP]) {
    if (vec) {
        int col = lid % (ABK / 4) * 4;
        #pragma unroll
        for (int j = 0; j < BM / V4STEP; j++) {
            int r = r0 + lid / (ABK / 4) + j * V4STEP;
            float4 v = r < limit ? *(__global const float4*) (h + (long) r * dim + d + col) : (float4) (0.0f);
            p[4 * j] = v.x; p[4 * j + 1] = v.y; p[4 * j + 2] = v.z; p[4 * j + 3] = v.w;
        }
    } else {
        int col = lid % ABK;
        #pragma unroll
        for (int j = 0; j < BM / STEP; j++) {
            int r = r0 + lid / ABK + j * STEP;
            p[j] = r < limit && d + col < dim ? h[(long) r * dim + d + col] : 0.0f;
        }
    }
}

inline void slice_store(__local float* s, int lid, int vec, const float p[BM / STEP]) {
    if (vec) {
        int col = lid % (ABK / 4) * 4;
        #pragma unroll
        for (int j = 0; j < BM / V4STEP; j++) {
            int r = lid / (ABK / 4) + j * V4STEP;
            #pragma unroll
            for (int q = 0; q < 4; q++) s[(col + q) * XS + r] = p[4 * j + q];
        }
    } else {
        #pragma unroll
        for (int j = 0; j < BM / STEP; j++) s[lid % ABK * XS + lid / ABK + j * STEP] = p[j];
    }
}

__kernel __attribute__((reqd_work_group_size(AL * AL, 1, 1)))
void assign(__global const float* x, int tokens, int dim,
            __global const float* c, __global const float* norms, int kc,
            __global uchar* ids) {
    // The staged slices; after the last one, the same memory holds every work-item's best scores and
    // ids for the merge.
    __local float lbuf[LBUF] __attribute__((aligned(16)));
    __local float* xs = lbuf;
    __local float* cs = lbuf + ABK * XS;
    int lid = get_local_id(0);
    int tx = lid % AL;  // centroid column
    int ty = lid / AL;  // token row
    int bh = get_group_id(1);
    int n0 = get_group_id(0) * BM;
    __global const float* xh = x + (long) bh * tokens * dim;
    __global const float* ch = c + (long) bh * kc * dim;
    __global const float* nh = norms + (long) bh * kc;
    int vec = dim % ABK == 0;
    // This work-item's best score and id for each of its 8 tokens.
    float best_s[8];
    int best_i[8];
    #pragma unroll
    for (int i = 0; i < 8; i++) {
        best_s[i] = INFINITY;
        best_i[i] = 0;
    }
    for (int k0 = 0; k0 < kc; k0 += BN) {
        float acc[8][8];
        #pragma unroll
        for (int i = 0; i < 8; i++) {
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                acc[i][j] = 0.0f;
            }
        }
        float px[BM / STEP];
        float pc[BN / STEP];
        slice_load(xh, n0, tokens, dim, 0, lid, vec, px);
        slice_load(ch, k0, kc, dim, 0, lid, vec, pc);
        for (int d0 = 0; d0 < dim; d0 += ABK) {
            barrier(CLK_LOCAL_MEM_FENCE);
            slice_store(xs, lid, vec, px);
            slice_store(cs, lid, vec, pc);
            barrier(CLK_LOCAL_MEM_FENCE);
            // The next slice's reads overlap this one's arithmetic.
            if (d0 + ABK < dim) {
                slice_load(xh, n0, tokens, dim, d0 + ABK, lid, vec, px);
                slice_load(ch, k0, kc, dim, d0 + ABK, lid, vec, pc);
            }
            int dn = min(ABK, dim - d0);
            if (dn == ABK) {
                #pragma unroll
                for (int dd = 0; dd < ABK; dd++) assign_step(xs + dd * XS, cs + dd * XS, tx, ty, acc);
            } else {
                for (int dd = 0; dd < dn; dd++) assign_step(xs + dd * XS, cs + dd * XS, tx, ty, acc);
            }
        }
        // This tile's centroids in ascending k: tx*4 + 0..3, then BN/2 + tx*4 + 0..3.
        #pragma unroll
        for (int j = 0; j < 8; j++) {
            int k = k0 + (j < 4 ? tx * 4 + j : BN / 2 + tx * 4 + j - 4);
            float nk = k < kc ? nh[k] : 0.0f;
            #pragma unroll
            for (int i = 0; i < 8; i++) {
                float score = nk - 2.0f * acc[i][j];
                if (k < kc && score < best_s[i]) {
                    best_s[i] = score;
                    best_i[i] = k;
                }
            }
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    __local float* merge_s = lbuf;
    __local int* merge_i = (__local int*) (lbuf + AL * BM);
    #pragma unroll
    for (int i = 0; i < 8; i++) {
        int t = tx * BM + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + i - 4);
        merge_s[t] = best_s[i];
        merge_i[t] = best_i[i];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int t = lid; t < BM; t += AL * AL) {
        float s = merge_s[t];
        int k = merge_i[t];
        for (int col = 1; col < AL; col++) {
            float s2 = merge_s[col * BM + t];
            int k2 = merge_i[col * BM + t];
            if (s2 < s || (s2 == s && k2 < k)) {
                s = s2;
                k = k2;
            }
        }
        if (n0 + t < tokens) ids[(long) bh * tokens + n0 + t] = (uchar) k;
    }
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

// The chunk's ids, copied by the whole work-group into local memory (4-byte aligned there, so that
// the scans below read 4 ids at a time); returns how many there are.
inline int stage_chunk(__global const uchar* h, int tokens, int chunk, __local uchar* local_ids) {
    int start = chunk * CHUNK;
    int len = min(tokens - start, CHUNK);
    for (int i = get_local_id(0); i < len; i += get_local_size(0)) {
        local_ids[i] = h[start + i];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return len;
}

// Work-item (k, chunk, bh): members of cluster k among the chunk's tokens.
__kernel void cluster_counts(__global const uchar* ids, int tokens, int kc, __global int* chunk_counts) {
    __local uchar local_ids[CHUNK] __attribute__((aligned(4)));
    int k = get_global_id(0);
    int chunk = get_global_id(1);
    int bh = get_global_id(2);
    int chunks = get_global_size(1);
    int len = stage_chunk(ids + (long) bh * tokens, tokens, chunk, local_ids);
    if (k >= kc) return;
    int count = 0;
    int n = 0;
    for (; n + 4 <= len; n += 4) {
        uchar4 v = *(__local const uchar4*) (local_ids + n);
        count += (v.x == k ? 1 : 0) + (v.y == k ? 1 : 0) + (v.z == k ? 1 : 0) + (v.w == k ? 1 : 0);
    }
    for (; n < len; n++) {
        count += local_ids[n] == k ? 1 : 0;
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
    __local uchar local_ids[CHUNK] __attribute__((aligned(4)));
    int k = get_global_id(0);
    int chunk = get_global_id(1);
    int bh = get_global_id(2);
    int chunks = get_global_size(1);
    int len = stage_chunk(ids + (long) bh * tokens, tokens, chunk, local_ids);
    if (k >= kc) return;
    __global int* out = members + (long) bh * tokens + chunk_offsets[((long) bh * kc + k) * chunks + chunk];
    int first = chunk * CHUNK;
    int j = 0;
    int n = 0;
    for (; n + 4 <= len; n += 4) {
        uchar4 v = *(__local const uchar4*) (local_ids + n);
        if (v.x == k) out[j++] = first + n;
        if (v.y == k) out[j++] = first + n + 1;
        if (v.z == k) out[j++] = first + n + 2;
        if (v.w == k) out[j++] = first + n + 3;
    }
    for (; n < len; n++) {
        if (local_ids[n] == k) out[j++] = first + n;
    }
}

// Semantic-Aware Smoothing (SPEC §4): r = bf16(x - c[ids[n]]), in place allowed. Work-item (4 channels,
// token, head): the token's centroid row is found once, and rows of a multiple of 4 channels move as
// float4.
__kernel void subtract(__global const float* x, int tokens, int dim, int kc, __global const uchar* ids,
                       __global const float* c, __global float* r) {
    int i = get_global_id(0) * 4;
    int n = get_global_id(1);
    int bh = get_global_id(2);
    if (i >= dim || n >= tokens) return;
    long row = (long) bh * tokens + n;
    __global const float* cr = c + ((long) bh * kc + ids[row]) * dim + i;
    long e = row * dim + i;
    if ((dim & 3) == 0) {
        float4 v = *(__global const float4*) (x + e) - *(__global const float4*) cr;
        *(__global float4*) (r + e) = (float4) (bf16_round(v.x), bf16_round(v.y), bf16_round(v.z), bf16_round(v.w));
    } else {
        for (int j = 0; j < min(4, dim - i); j++) {
            r[e + j] = bf16_round(x[e + j] - cr[j]);
        }
    }
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

// Block quantizer and packing (SPEC §6, §6.5) for any bits and g, fused with the last stage's smoothing
// (SPEC §4) when `subtract` is set: a work-group takes `group_rows` whole token rows. (a) It reads them coalesced into
// local memory, r = bf16(r - c[ids[row]]) when subtracting; (b) one work-item per block of g values
// finds the scale (and zero) and writes the block's codes, one byte each, to local memory; (c) one
// work-item per output byte packs the codes MSB-first (rows fill whole bytes, so the group's rows form
// one bit stream) and writes it coalesced. In (b) work-item b starts its block at channel b % g: the
// block maximum and minimum do not depend on the order (Java's max/min are order-free, NaN absorbing,
// -0 below +0; a NaN's payload never reaches the output) and the codes are element-wise, so the
// rotation only spreads the reads over local memory banks.
// Kernel division a (/) b is a * (1.0f / b) (SPEC §2.3); rounding is half away from zero, which is
// OpenCL's round() (SPEC §2.4); NaN gives q = +m, code 2m (symmetric), or code 0 (asymmetric) (SPEC §2.5).
__kernel void quantize_rows(__global const float* r, int subtract, int tokens, int kc, __global const uchar* ids,
                       __global const float* c, int dim, int g, int bits, int asym, int bf16_scales,
                       long rows, int group_rows, __global uchar* packed, __global uchar* scales,
                       __global uchar* zeros, __local float* v, __local uchar* q, __local int* cbase) {
    int lid = get_local_id(0);
    int lsize = get_local_size(0);
    long row0 = (long) get_group_id(0) * group_rows;
    int nr = (int) min((long) group_rows, rows - row0);
    int n = nr * dim;
    __global const float* rg = r + row0 * dim;
    if (subtract) {
        for (int rr = lid; rr < nr; rr += lsize) {
            long row = row0 + rr;
            cbase[rr] = (int) ((row / tokens * kc + ids[row]) * dim);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int i = lid; i < n; i += lsize) {
            int rr = i / dim;
            v[i] = bf16_round(rg[i] - c[cbase[rr] + i - rr * dim]);
        }
    } else {
        for (int i = lid; i < n; i += lsize) {
            v[i] = rg[i];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    int bpr = dim / g;
    int nb = nr * bpr;
    long b0 = row0 * bpr;
    for (int b = lid; b < nb; b += lsize) {
        __local const float* x = v + b * g;
        __local uchar* qb = q + b * g;
        int first = b % g;
        if (!asym) {
            int m = (1 << (bits - 1)) - 1;
            float amax = 0.0f;
            for (int i = 0, j = first; i < g; i++, j = j + 1 == g ? 0 : j + 1) {
                amax = java_max(amax, fabs(x[j]));
            }
            float scale = java_max(amax * (1.0f / (float) m), QVG_MIN_SCALE);
            float s = store_scale(scale, bf16_scales, scales, b0 + b);
            float reciprocal = 1.0f / s;
            for (int i = 0, j = first; i < g; i++, j = j + 1 == g ? 0 : j + 1) {
                float y = x[j] * reciprocal;
                int code = isnan(y) ? m : (int) fmax((float) -m, fmin((float) m, round(y)));
                qb[j] = (uchar) (code + m);
            }
        } else {
            int qmax = (1 << bits) - 1;
            float lo = x[first];
            float hi = x[first];
            for (int i = 1, j = first + 1 == g ? 0 : first + 1; i < g; i++, j = j + 1 == g ? 0 : j + 1) {
                lo = java_min(lo, x[j]);
                hi = java_max(hi, x[j]);
            }
            float scale = java_max((hi - lo) * (1.0f / (float) qmax), QVG_MIN_SCALE);
            float s = store_scale(scale, bf16_scales, scales, b0 + b);
            float z = store_scale(lo, bf16_scales, zeros, b0 + b);
            float reciprocal = 1.0f / s;
            for (int i = 0, j = first; i < g; i++, j = j + 1 == g ? 0 : j + 1) {
                float y = (x[j] - z) * reciprocal;
                qb[j] = (uchar) (isnan(y) ? 0 : (int) fmax(0.0f, fmin((float) qmax, round(y))));
            }
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    int n_bytes = n * bits / 8;
    __global uchar* out = packed + row0 * (dim * bits / 8);
    if (8 % bits == 0) {
        int per_byte = 8 / bits;
        for (int o = lid; o < n_bytes; o += lsize) {
            uint byte = 0;
            for (int j = 0; j < per_byte; j++) {
                byte = (byte << bits) | q[o * per_byte + j];
            }
            out[o] = (uchar) byte;
        }
    } else {
        for (int o = lid; o < n_bytes; o += lsize) {
            uint byte = 0;
            for (int j = 0; j < 8; j++) {
                int p = o * 8 + j;
                int i = p / bits;
                byte = (byte << 1) | ((q[i] >> (bits - 1 - (p - i * bits))) & 1u);
            }
            out[o] = (uchar) byte;
        }
    }
}

// The quantizer's usual path (DeviceKernels picks it when 4 codes fill whole bytes, bits 2, 4 or 8, and g
// is a power of two from 4 to 4*QL dividing D): the rows are one flat stream of values whose blocks are
// g consecutive values. Work-item i of the launch takes values 8i .. 8i+7, read as two float4 (a warp's
// reads cover 1 KiB together), with the smoothing of SPEC §4 when `subtract` is set. When g >= 8 the
// g/8 work-items of a block combine their maxima (and minima) in a butterfly; max and min are order-free
// (see above), so every one of them ends with the block's; when g = 4 each float4 is a block. Each then
// writes its 8 codes as one store of `bits` bytes (MSB-first, SPEC §6.5); the block's first work-item
// stores the scale (and zero). The kernel is bound by its instructions more than by its reads, hence one
// scale per work-item, the integer maximum, the divisions by multiplication and, where the program is
// built with QVG_PTX (NVIDIA), the butterfly by warp shuffles and the bf16 rounding by the hardware's
// conversion.

// bf16 rounding of 4 values whose results are only used as values (a NaN's payload is not kept), two at a
// time by the hardware's conversion where the program has it.
inline float4 bf16_round4(float4 d) {
#ifdef QVG_PTX
    uint p = bf16x2_rn(d.x, d.y), q = bf16x2_rn(d.z, d.w);
    return (float4) (as_float(p << 16), as_float(p & 0xFFFF0000u), as_float(q << 16), as_float(q & 0xFFFF0000u));
#else
    return (float4) (bf16_round(d.x), bf16_round(d.y), bf16_round(d.z), bf16_round(d.w));
#endif
}

// a / d for a < 2^31 as (a * magic) >> shift, magic = ceil(2^shift / d), shift = 31 + ceil(log2 d) (from
// DeviceKernels.Divisor): the product's excess a*(magic*d - 2^shift)/(d*2^shift) is below 1/d, so the floor
// is exact.
inline uint quotient(uint a, uint magic, int shift) {
    return (uint) (((ulong) a * magic) >> shift);
}

// The value of work-item lid ^ s (s < QL): a warp shuffle within a warp of 32, else through local memory
// (every work-item of the group takes part, as the barriers need).
inline uint xor_partner(uint a, int s, __local uint* part, int lid) {
#ifdef QVG_PTX
    if (s < 32) {
        uint o;
        asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(o) : "r"(a), "r"(s));
        return o;
    }
#endif
    part[lid] = a;
    barrier(CLK_LOCAL_MEM_FENCE);
    uint o = part[lid ^ s];
    barrier(CLK_LOCAL_MEM_FENCE);
    return o;
}

#if QH != 2
#error "quantize takes two float4 per work-item (DeviceKernels.QUANTIZE_HALVES)"
#endif

// The 8 codes of a work-item from value `base` on, MSB-first (SPEC §6.5): one store of their bits bytes
// (aligned to their size) when all 8 lie inside the stream, else the 4 codes of each float4 inside it.
inline void store_codes(__global uchar* packed, long base, long n, int bits, uint4 codes[2]) {
    int per4 = bits / 2;  // bytes of 4 codes
    uchar b[8];
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        uint4 q = codes[h];
        if (bits == 2) {
            b[h] = (uchar) ((q.x << 6) | (q.y << 4) | (q.z << 2) | q.w);
        } else if (bits == 4) {
            b[2 * h] = (uchar) ((q.x << 4) | q.y);
            b[2 * h + 1] = (uchar) ((q.z << 4) | q.w);
        } else {
            b[4 * h] = (uchar) q.x; b[4 * h + 1] = (uchar) q.y; b[4 * h + 2] = (uchar) q.z; b[4 * h + 3] = (uchar) q.w;
        }
    }
    __global uchar* at = packed + base / 4 * per4;
    if (base + 8 <= n) {
        if (bits == 2) {
            *(__global uchar2*) at = (uchar2) (b[0], b[1]);
        } else if (bits == 4) {
            *(__global uchar4*) at = (uchar4) (b[0], b[1], b[2], b[3]);
        } else {
            *(__global uchar8*) at = (uchar8) (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
        }
    } else {
        for (int j = 0; j < per4; j++) at[j] = b[j];  // only the first float4 lies inside (n is a multiple of 4)
    }
}

__kernel __attribute__((reqd_work_group_size(QL, 1, 1)))
void quantize(__global const float* r, int subtract, int tokens, int kc, __global const uchar* ids,
               __global const float* c, int dim, uint dim_magic, int dim_shift, uint tokens_magic,
               int tokens_shift, int g, int bits, int asym, int bf16_scales, long n,
               __global uchar* packed, __global uchar* scales, __global uchar* zeros) {
    __local uint part[QL];
    int lid = get_local_id(0);
    long base = ((long) get_group_id(0) * QL + lid) * (4 * QH);
    float4 v[QH];
    #pragma unroll
    for (int h = 0; h < QH; h++) {
        long e = base + 4 * h;
        v[h] = (float4) (0.0f);
        if (e < n) {
            v[h] = *(__global const float4*) (r + e);
            if (subtract) {
                long row = n <= INT_MAX ? (long) quotient((uint) e, dim_magic, dim_shift) : e / dim;
                long head = n <= INT_MAX ? (long) quotient((uint) row, tokens_magic, tokens_shift) : row / tokens;
                float4 cv = *(__global const float4*) (c + (head * kc + ids[row]) * dim + (e - row * dim));
                v[h] = bf16_round4(v[h] - cv);
            }
        }
    }
    // Work-items per block; 0 when a block is one float4 (g = 4), so that each float4 has its own block.
    int lanes = g / (4 * QH);
    int g_shift = 31 - clz(g);
    uint4 codes[QH];
    if (!asym) {
        // |x| as bits: for values >= +0 the unsigned order is the float order and every NaN is above +inf,
        // so an unsigned maximum is Math.max with NaN absorbing (the NaN's payload never reaches the output).
        uint hb[QH];
        #pragma unroll
        for (int h = 0; h < QH; h++) {
            uint4 a = as_uint4(v[h]) & 0x7FFFFFFFu;
            hb[h] = max(max(a.x, a.y), max(a.z, a.w));
        }
        if (lanes > 0) {
            uint b = hb[0];
            #pragma unroll
            for (int h = 1; h < QH; h++) b = max(b, hb[h]);
            for (int s = 1; s < lanes; s <<= 1) b = max(b, xor_partner(b, s, part, lid));
            #pragma unroll
            for (int h = 0; h < QH; h++) hb[h] = b;
        }
        int m = (1 << (bits - 1)) - 1;
        float reciprocal[QH];
        #pragma unroll
        for (int h = 0; h < QH; h++) {
            long e = base + 4 * h;
            if (h > 0 && lanes > 0) {
                reciprocal[h] = reciprocal[0];  // the same block
                continue;
            }
            float scale = java_max(as_float(hb[h]) * (1.0f / (float) m), QVG_MIN_SCALE);
            float s = bf16_scales ? scale : fp8_decode(fp8_encode(scale));
            if (e < n && (lanes == 0 || (lid & (lanes - 1)) == 0)) store_scale(scale, bf16_scales, scales, e >> g_shift);
            reciprocal[h] = 1.0f / s;
        }
        #pragma unroll
        for (int h = 0; h < QH; h++) {
            // Clamping before rounding equals rounding before clamping (the bounds are integers), and fmin
            // returns the other operand for a NaN, so a NaN quotient becomes +m (SPEC §2.5). For m = 1 the
            // rounding half away from zero (SPEC §2.4) is two comparisons: q = 1 from +0.5, -1 to -0.5.
            float4 y = fmin((float4) (m), v[h] * reciprocal[h]);
            codes[h] = m == 1 ? as_uint4(-((y >= (float4) (0.5f)) + (y > (float4) (-0.5f))))
                              : convert_uint4(convert_int4(round(fmax((float4) (-m), y))) + m);
        }
    } else {
        float hi[QH], lo[QH];
        #pragma unroll
        for (int h = 0; h < QH; h++) {
            hi[h] = java_max(java_max(java_max(v[h].x, v[h].y), v[h].z), v[h].w);
            lo[h] = java_min(java_min(java_min(v[h].x, v[h].y), v[h].z), v[h].w);
        }
        if (lanes > 0) {
            float bh = hi[0], bl = lo[0];
            #pragma unroll
            for (int h = 1; h < QH; h++) {
                bh = java_max(bh, hi[h]);
                bl = java_min(bl, lo[h]);
            }
            for (int s = 1; s < lanes; s <<= 1) {
                float oh = as_float(xor_partner(as_uint(bh), s, part, lid));
                float ol = as_float(xor_partner(as_uint(bl), s, part, lid));
                bh = java_max(bh, oh);
                bl = java_min(bl, ol);
            }
            #pragma unroll
            for (int h = 0; h < QH; h++) {
                hi[h] = bh;
                lo[h] = bl;
            }
        }
        int qmax = (1 << bits) - 1;
        #pragma unroll
        for (int h = 0; h < QH; h++) {
            long e = base + 4 * h;
            float scale = java_max((hi[h] - lo[h]) * (1.0f / (float) qmax), QVG_MIN_SCALE);
            float s = bf16_scales ? scale : fp8_decode(fp8_encode(scale));
            float z = bf16_scales ? lo[h] : fp8_decode(fp8_encode(lo[h]));
            if (e < n && (lanes == 0 ? 1 : h == 0 && (lid & (lanes - 1)) == 0)) {
                store_scale(scale, bf16_scales, scales, e >> g_shift);
                store_scale(lo[h], bf16_scales, zeros, e >> g_shift);
            }
            float reciprocal = 1.0f / s;
            float q[4] = {v[h].x, v[h].y, v[h].z, v[h].w};
            uint cq[4];
            #pragma unroll
            for (int j = 0; j < 4; j++) {
                float y = (q[j] - z) * reciprocal;
                cq[j] = isnan(y) ? 0u : (uint) fmax(0.0f, fmin((float) qmax, round(y)));
            }
            codes[h] = (uint4) (cq[0], cq[1], cq[2], cq[3]);
        }
    }
    if (base < n) store_codes(packed, base, n, bits, codes);
}

// Dequantization (SPEC §7), fused: the residual (code - m)*s or code*s + z in fp32, plus the centroid of
// stage 1, 2, ... in that order in fp32, one bf16 rounding. A work-item decodes DQ runs of 8 channels of
// one token (below): each stage's id is read once for all its runs, and rows of a multiple of 8 channels
// read the centroids and write the result as 16-byte vectors.
// ids [stages][heads*tokens], centroids [stages][heads*kc*dim] bf16.

// The residual of the run of 8 channels from i0 (fewer at the row's end). Blocks of a power of two
// are found by shifts: the dequantizer, like the quantizer, is bound by its instructions.
inline void residual8(__global const uchar* packed, __global const uchar* scales, __global const uchar* zeros,
                      long row, int dim, int g, int bits, int asym, int bf16_scales, int i0, float acc[8]) {
    int count = min(8, dim - i0);
    int g_shift = (g & (g - 1)) == 0 ? 31 - clz(g) : -1;
    long block0 = row * (g_shift >= 0 ? dim >> g_shift : dim / g);
    // Code i of the row's MSB-first bit stream.
    __global const uchar* p = packed + row * (dim * bits / 8);
    if ((dim & 7) == 0 && (g & 7) == 0 && (bits == 2 || bits == 4 || bits == 8)) {
        // bits 2, 4 or 8: the 8 codes fill `bits` whole bytes, aligned to their size, and share one block.
        __global const uchar* pb = p + i0 * bits / 8;
        long block = block0 + (g_shift >= 0 ? i0 >> g_shift : i0 / g);
        float scale = load_scale(scales, block, bf16_scales);
        float zero = asym ? load_scale(zeros, block, bf16_scales) : 0.0f;
        int m = (1 << (bits - 1)) - 1;
        uint code[8];
        if (bits == 2) {
            uchar2 b = *(__global const uchar2*) pb;
            uint w = (uint) b.x << 8 | b.y;
            #pragma unroll
            for (int j = 0; j < 8; j++) code[j] = (w >> (14 - 2 * j)) & 3u;
        } else if (bits == 4) {
            uchar4 b = *(__global const uchar4*) pb;
            code[0] = b.x >> 4; code[1] = b.x & 15u; code[2] = b.y >> 4; code[3] = b.y & 15u;
            code[4] = b.z >> 4; code[5] = b.z & 15u; code[6] = b.w >> 4; code[7] = b.w & 15u;
        } else {
            uchar8 b = *(__global const uchar8*) pb;
            code[0] = b.s0; code[1] = b.s1; code[2] = b.s2; code[3] = b.s3;
            code[4] = b.s4; code[5] = b.s5; code[6] = b.s6; code[7] = b.s7;
        }
        #pragma unroll
        for (int j = 0; j < 8; j++) {
            acc[j] = asym ? (float) code[j] * scale + zero : (float) ((int) code[j] - m) * scale;
        }
    } else {
        #pragma unroll
        for (int j = 0; j < 8; j++) {
            int i = i0 + j;
            if (j < count) {
                int first = i * bits;
                uint window = ((uint) p[first >> 3] << 8)
                        | (((first + bits - 1) >> 3) != (first >> 3) ? p[(first >> 3) + 1] : 0u);
                int code = (int) ((window >> (16 - bits - (first & 7))) & ((1u << bits) - 1u));
                long block = block0 + i / g;
                float scale = load_scale(scales, block, bf16_scales);
                acc[j] = asym ? (float) code * scale + load_scale(zeros, block, bf16_scales)
                              : (float) (code - ((1 << (bits - 1)) - 1)) * scale;
            }
        }
    }
}

// bf16_bits of two values as one little-endian word (a in the low half): with QVG_PTX one hardware
// conversion, unless a NaN needs bf16_bits' canonical form.
inline uint bf16_pair(float a, float b) {
#ifdef QVG_PTX
    if (!isnan(a) && !isnan(b)) {
        return bf16x2_rn(a, b);
    }
#endif
    return (uint) bf16_bits(a) | (uint) bf16_bits(b) << 16;
}

// Work-item (j, token, head) of L = get_global_size(0) along the row decodes DQ runs of 8 channels (DQ a
// build option), run h from channel 8*(j + h*L): fewer, longer work-items keep more loads in flight, and
// the interleaving lets each load and store of a warp take whole lines.
__kernel void dequantize(__global const uchar* packed, __global const uchar* scales,
                         __global const uchar* zeros, __global const uchar* ids,
                         __global const ushort* centroids, int heads, int tokens, int dim, int g, int bits,
                         int asym, int bf16_scales, int kc, int stages, __global ushort* out) {
    int n = get_global_id(1);
    int bh = get_global_id(2);
    if (n >= tokens) return;
    long row = (long) bh * tokens + n;
    long rows = (long) heads * tokens;
    int wide = (dim & 7) == 0;
    int stride = (int) get_global_size(0) * 8;
    int first = get_global_id(0) * 8;
    float acc[DQ][8];
    #pragma unroll
    for (int h = 0; h < DQ; h++) {
        if (first + h * stride < dim) {
            residual8(packed, scales, zeros, row, dim, g, bits, asym, bf16_scales, first + h * stride, acc[h]);
        }
    }
    for (int t = 0; t < stages; t++) {
        int k = ids[t * rows + row];
        __global const ushort* cr = centroids + (((long) t * heads + bh) * kc + k) * dim;
        #pragma unroll
        for (int h = 0; h < DQ; h++) {
            int i0 = first + h * stride;
            if (i0 < dim) {
                if (wide) {
                    ushort8 cv = *(__global const ushort8*) (cr + i0);
                    acc[h][0] += bf16_value(cv.s0); acc[h][1] += bf16_value(cv.s1);
                    acc[h][2] += bf16_value(cv.s2); acc[h][3] += bf16_value(cv.s3);
                    acc[h][4] += bf16_value(cv.s4); acc[h][5] += bf16_value(cv.s5);
                    acc[h][6] += bf16_value(cv.s6); acc[h][7] += bf16_value(cv.s7);
                } else {
                    #pragma unroll
                    for (int j = 0; j < 8; j++) {
                        if (j < dim - i0) acc[h][j] += bf16_value(cr[i0 + j]);
                    }
                }
            }
        }
    }
    #pragma unroll
    for (int h = 0; h < DQ; h++) {
        int i0 = first + h * stride;
        if (i0 < dim) {
            __global ushort* o = out + row * dim + i0;
            if (wide) {
                *(__global uint4*) o = (uint4) (bf16_pair(acc[h][0], acc[h][1]), bf16_pair(acc[h][2], acc[h][3]),
                                                bf16_pair(acc[h][4], acc[h][5]), bf16_pair(acc[h][6], acc[h][7]));
            } else {
                #pragma unroll
                for (int j = 0; j < 8; j++) {
                    if (j < dim - i0) o[j] = bf16_bits(acc[h][j]);
                }
            }
        }
    }
}
