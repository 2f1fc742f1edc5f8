#pragma OPENCL FP_CONTRACT OFF

// Assignment (SPEC §3.2) through a filter: approximate scores of every (token, centroid) pair from a bf16
// matrix product, a bound on how far each can be from the reference's fp32 score, and the reference's
// in-order fma chain only for the centroids whose bound does not exclude them. The ids are those of
// `assign`: a centroid is left out only when its score provably exceeds another centroid's, so the
// lowest index among the smallest scores is always scored exactly.
//
// The bound. Tokens and centroids are bf16 values (SPEC §3.5, §3.3, §4), so the product's inputs are
// exact; with A = Σ_d |x_d·c_d| ≤ ‖x‖·‖c‖, the tensor cores' fp32 accumulation errs by less than
// 2^-20.5·A on the data measured (docs/gpu.md) and the reference's fma chain by at most γ_D·A
// (γ_D = D·2^-24 / (1 − D·2^-24) < 2^-17 for D ≤ FD = 128). Each score is norm − 2·dot, so
//   |approx − reference| ≤ 2·(ε + γ_D)·A + 2^-23·(|approx| + |reference|) + what underflow flushes,
// and the filter uses B = 2^-11·‖x‖·‖c‖ + 2^-18·|approx| + 2^-112·(1 + ‖x‖ + max‖c‖), which holds for any
// ε ≤ 2^-13 (some 180 times the error measured), the rounding of the norms and of B itself included. With
// T = min_k (approx_k + B_k), centroid k is a candidate when approx_k − B_k ≤ T; every other centroid's
// reference score exceeds T ≥ the smallest reference score. Tokens with more than RCAP candidates, with a
// non-finite T, with ‖x‖·max‖c‖ ≥ 2^60 (where products might overflow), or in a work-group whose tokens
// or whose head's centroids hold a value that is not bf16, take the full in-order scan instead.

// A work-group of FW sub-groups of 32 work-items scores FT = 16·FW tokens in one pass over the centroids,
// which stream through local memory KCH at a time from a bf16 copy that `pack_centroids` makes per launch.
// Sub-group w scores tokens w·16 .. w·16+15 against 8 centroids at a time with m16n8k16 products (QVG_PTX:
// the PTX mma.sync of NVIDIA devices; otherwise each work-item sums the same four results in fp32, which
// keeps the bound). Fragment layout of m16n8k16 (lane = 4·g + t): A rows g and g+8, channels 2t, 2t+1 and
// 2t+8, 2t+9 of each 16-channel step; B column (centroid) g, the same channels; the result rows g and g+8,
// columns 2t and 2t+1. T is not known until the pass ends, so each work-item lists every pair whose
// approx − B is at or below the smallest approx + B seen so far for that token (its own, and after each
// chunk the token's four work-items' together): that running minimum never falls below the final T, so
// every candidate is listed; the list is cut to the candidates at the end and written per token (at most
// RCAP ids, or FULL) for assign_exact, which scores them in the reference's arithmetic. Grid (token groups
// · FW·32, heads); kc ≤ KMAX, dim ≤ FD. `stats` counts the work (below) for the benchmark and for the tests
// that make sure both paths run.

// Build options from DeviceKernels (the launch code relies on them): FW sub-groups per work-group, KMAX
// centroids and FD channels at most, XW words (bf16 pairs) per packed centroid row (FD / 2 + 4: the + 4 puts
// rows g = 0..7 on distinct banks), RCAP candidates scored exactly per token before it falls back to the
// full scan, XSLOTS work-items per token and XT tokens per work-group of assign_exact.
#define FT (16 * FW)
#define KCH 32
#define LCAP 32            // pairs listed per token before it falls back to the full scan
#define FULL 255           // the candidate count that sends a token to the full scan
#define CHUNKS 16          // pieces of a full scan

// The bf16 pairs of every centroid row, XW words a row (first channel in the low half, zeros past dim), and
// per row whether any of its values has bits no bf16 value has. Grid (kc, heads).
__kernel void pack_centroids(__global const float* c, int dim, int kc, __global uint* packed, __global uint* low) {
    int k = get_global_id(0), bh = get_global_id(1);
    if (k < kc) {
        __global const float* row = c + ((long) bh * kc + k) * dim;
        __global uint* out = packed + ((long) bh * kc + k) * XW;
        uint bits = 0u;
        for (int i = 0; i < XW; i++) {
            int d = 2 * i;
            uint a = d < dim ? as_uint(row[d]) : 0u;
            uint b = d + 1 < dim ? as_uint(row[d + 1]) : 0u;
            bits |= (a | b) & 0xFFFFu;
            out[i] = (a >> 16) | (b & 0xFFFF0000u);
        }
        low[(long) bh * kc + k] = bits;
    }
}

// The reference's score of one pair (SPEC §3.2): an fma chain over d in order from +0, then norm − 2·dot.
// `xr` in any address space through `X`; float4 reads where dim is a multiple of 4 (rows then start 16-byte aligned).
#define EXACT_SCORE(name, X)                                                                    \
inline float name(X const float* xr, __global const float* cr, float nk, int dim) {           \
    float dot = 0.0f;                                                                           \
    if ((dim & 3) == 0) {                                                                       \
        for (int d = 0; d < dim; d += 4) {                                                      \
            float4 a = *(X const float4*) (xr + d), b = *(__global const float4*) (cr + d);     \
            dot = fma(a.x, b.x, dot);                                                           \
            dot = fma(a.y, b.y, dot);                                                           \
            dot = fma(a.z, b.z, dot);                                                           \
            dot = fma(a.w, b.w, dot);                                                           \
        }                                                                                       \
    } else {                                                                                    \
        for (int d = 0; d < dim; d++) {                                                         \
            dot = fma(xr[d], cr[d], dot);                                                       \
        }                                                                                       \
    }                                                                                           \
    return nk - 2.0f * dot;                                                                     \
}
EXACT_SCORE(exact_score, __global)
EXACT_SCORE(exact_score_local, __local)

// B of one pair from ‖x‖, cs = 2^-11·‖c‖ and tiny = 2^-112·(1 + ‖x‖ + max ‖c‖); its own rounding is far inside
// the margins.
inline float filter_bound(float approx, float xn, float cs, float tiny) {
    return fma(xn, cs, fma(0x1p-18f, fabs(approx), tiny));
}

// Channels d, d+1 of a token row as one bf16 pair, 0 past the row; `low` collects bits no bf16 value has.
inline uint token_pair(__global const float* row, int d, int dim, int valid, uint* low, float* sq) {
    float a = valid && d < dim ? row[d] : 0.0f;
    float b = valid && d + 1 < dim ? row[d + 1] : 0.0f;
    *low |= (as_uint(a) | as_uint(b)) & 0xFFFFu;
    *sq = fma(a, a, fma(b, b, *sq));
    return (as_uint(a) >> 16) | (as_uint(b) & 0xFFFF0000u);
}

__kernel __attribute__((reqd_work_group_size(FW * 32, 1, 1)))
void assign_filtered(__global const float* x, int tokens, int dim,
                     __global const uint* packed, __global const uint* packed_low,
                     __global const float* norms, int kc, __global uchar* cand_count, __global uchar* cand_k,
                     __global int* stats) {
    __local uint cs[KCH * XW];
    __local float run[FT * 4];           // per token, its four work-items' running minima of approx + B
    __local float xnorm[FT * 4];         // per token, its four work-items' partial sums of squares
    __local float cnorm2[KMAX];          // the norms, ‖c‖² (SPEC §3.2)
    __local float cscale[KMAX];          // 2^-11·‖c‖
    __local float list_lower[FT * LCAP];
    __local uchar list_k[FT * LCAP];
    __local int listed[FT];
    __local int counted[FT];
    __local int cmax_bits;
    __local uint low_bits;
    __local int group_full, group_candidates;

    int lid = get_local_id(0);
    int w = lid / 32;
    int lane = lid % 32;
    int g = lane / 4;
    int t = lane % 4;
    int bh = get_group_id(1);
    int n0 = get_group_id(0) * FT;
    __global const float* xh = x + (long) bh * tokens * dim;
    __global const uint* ph = packed + (long) bh * kc * XW;
    __global const float* nh = norms + (long) bh * kc;
    int steps = (dim + 15) / 16;

    if (lid == 0) {
        cmax_bits = 0;
        low_bits = 0u;
        group_full = 0;
        group_candidates = 0;
    }
    if (lid < FT) {
        listed[lid] = 0;
        counted[lid] = 0;
    }
    uint low = 0u;
    for (int k = lid; k < kc; k += FW * 32) {
        float cn = sqrt(nh[k]);
        cn = cn < INFINITY ? cn : INFINITY;  // a NaN norm counts as +inf: its head takes the full scan
        cnorm2[k] = nh[k];
        cscale[k] = 0x1p-11f * cn;
        low |= packed_low[(long) bh * kc + k];
    }
    // This work-item's A fragments (its quarter of the channels of tokens r0 and r0 + 8), and their squares.
    int r0 = w * 16 + g;
    int v0 = n0 + r0 < tokens;
    int v1 = n0 + r0 + 8 < tokens;
    __global const float* x0 = xh + (long) (n0 + r0) * dim;
    __global const float* x1 = xh + (long) (n0 + r0 + 8) * dim;
    float sq0 = 0.0f, sq1 = 0.0f;
    uint af[FD / 16][4];
    #pragma unroll
    for (int s = 0; s < FD / 16; s++) {
        int d = s * 16 + 2 * t;
        af[s][0] = token_pair(x0, d, dim, v0 && s < steps, &low, &sq0);
        af[s][1] = token_pair(x1, d, dim, v1 && s < steps, &low, &sq1);
        af[s][2] = token_pair(x0, d + 8, dim, v0 && s < steps, &low, &sq0);
        af[s][3] = token_pair(x1, d + 8, dim, v1 && s < steps, &low, &sq1);
    }
    xnorm[r0 * 4 + t] = sq0;
    xnorm[(r0 + 8) * 4 + t] = sq1;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = lid; k < kc; k += FW * 32) {
        atomic_max(&cmax_bits, as_int(0x1p11f * cscale[k]));  // non-negative floats order as their bits
    }
    // ‖x‖ of this work-item's two tokens (any order: it only feeds the bound).
    float xn0 = sqrt(xnorm[r0 * 4] + xnorm[r0 * 4 + 1] + xnorm[r0 * 4 + 2] + xnorm[r0 * 4 + 3]);
    float xn1 = sqrt(xnorm[(r0 + 8) * 4] + xnorm[(r0 + 8) * 4 + 1] + xnorm[(r0 + 8) * 4 + 2] + xnorm[(r0 + 8) * 4 + 3]);

    float m0 = INFINITY, m1 = INFINITY;  // running minima of approx + B of tokens r0 and r0 + 8
    for (int k0 = 0; k0 < kc; k0 += KCH) {
        barrier(CLK_LOCAL_MEM_FENCE);
        int rows = min(KCH, kc - k0);
        for (int i = lid; i < rows * XW; i += FW * 32) {
            cs[i] = ph[(long) k0 * XW + i];
        }
        if (k0 > 0) {
            // The token's four work-items share their minima once per chunk.
            m0 = fmin(fmin(run[r0 * 4], run[r0 * 4 + 1]), fmin(run[r0 * 4 + 2], run[r0 * 4 + 3]));
            m1 = fmin(fmin(run[(r0 + 8) * 4], run[(r0 + 8) * 4 + 1]), fmin(run[(r0 + 8) * 4 + 2], run[(r0 + 8) * 4 + 3]));
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float tiny0 = 0x1p-112f * (1.0f + xn0 + as_float(cmax_bits));
        float tiny1 = 0x1p-112f * (1.0f + xn1 + as_float(cmax_bits));
        for (int nt = 0; nt * 8 < rows; nt++) {
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#ifdef QVG_PTX
            #pragma unroll
            for (int s = 0; s < FD / 16; s++) {
                if (s < steps) {
                    uint b0 = cs[(nt * 8 + g) * XW + s * 8 + t];
                    uint b1 = cs[(nt * 8 + g) * XW + s * 8 + 4 + t];
                    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                                 : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
                                 : "r"(af[s][0]), "r"(af[s][1]), "r"(af[s][2]), "r"(af[s][3]), "r"(b0), "r"(b1));
                }
            }
#else
            // The same four results, each summed by this work-item over the token's fp32 values (bf16 unless
            // the tile takes the full scan) and the staged bf16 centroid pairs.
            for (int j = 0; j < 4; j++) {
                __global const float* xr = j < 2 ? x0 : x1;
                int valid = j < 2 ? v0 : v1;
                __local const uint* cr = cs + (nt * 8 + 2 * t + (j & 1)) * XW;
                for (int i = 0; valid && i < steps * 8; i++) {
                    uint cp = cr[i];
                    float a = 2 * i < dim ? xr[2 * i] : 0.0f;
                    float b = 2 * i + 1 < dim ? xr[2 * i + 1] : 0.0f;
                    acc[j] = fma(b, as_float(cp & 0xFFFF0000u), fma(a, as_float(cp << 16), acc[j]));
                }
            }
#endif
            for (int j = 0; j < 4; j++) {
                int kk = nt * 8 + 2 * t + (j & 1);
                int k = k0 + kk;
                if (kk < rows) {
                    float approx = cnorm2[k] - 2.0f * acc[j];
                    float b = j < 2 ? filter_bound(approx, xn0, cscale[k], tiny0) : filter_bound(approx, xn1, cscale[k], tiny1);
                    float lo = approx - b;
                    float m;
                    if (j < 2) {
                        m0 = fmin(m0, approx + b);
                        m = m0;
                    } else {
                        m1 = fmin(m1, approx + b);
                        m = m1;
                    }
                    if (lo <= m) {
                        int r = r0 + (j >> 1) * 8;
                        int slot = atomic_inc(&listed[r]);
                        if (slot < LCAP) {
                            list_lower[r * LCAP + slot] = lo;
                            list_k[r * LCAP + slot] = (uchar) k;
                        }
                    }
                }
            }
        }
        run[r0 * 4 + t] = m0;
        run[(r0 + 8) * 4 + t] = m1;
    }
    atomic_or(&low_bits, low);
    barrier(CLK_LOCAL_MEM_FENCE);

    // The candidates among the listed pairs, two work-items a token (each half of its list), into the token's
    // slots in global memory; a token takes the full scan when the filter cannot vouch for it (see the top of
    // this file) or its lists overflowed.
    int r = w * 16 + lane % 16;
    float T = fmin(fmin(run[r * 4], run[r * 4 + 1]), fmin(run[r * 4 + 2], run[r * 4 + 3]));
    float xn = sqrt(xnorm[r * 4] + xnorm[r * 4 + 1] + xnorm[r * 4 + 2] + xnorm[r * 4 + 3]);
    int full = low_bits != 0u || !(fabs(T) < 0x1p100f) || !(xn * as_float(cmax_bits) < 0x1p60f) || listed[r] > LCAP;
    long token = (long) bh * tokens + n0 + r;
    for (int i = lane / 16; !full && n0 + r < tokens && i < listed[r]; i += 2) {
        if (list_lower[r * LCAP + i] <= T) {
            int slot = atomic_inc(&counted[r]);
            if (slot < RCAP) {
                cand_k[token * RCAP + slot] = list_k[r * LCAP + i];
            }
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane < 16 && n0 + r < tokens) {
        full = full || counted[r] > RCAP;
        cand_count[token] = full ? FULL : (uchar) counted[r];
        atomic_add(full ? &group_full : &group_candidates, full ? 1 : counted[r]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    // stats[0]: tokens that took the full scan; stats[1]: candidates scored exactly for the others.
    if (lid == 0) {
        atomic_add(&stats[0], group_full);
        atomic_add(&stats[1], group_candidates);
    }
}

// The exact scores of assign_filtered's candidates and the id (SPEC §3.2): XSLOTS work-items per token, each
// taking every XSLOTS-th of its candidates, or of the CHUNKS pieces of its full scan (ascending k, the first
// strictly smaller score from +inf and id 0); then merged by (score, k): the lower score, on equal scores the
// lower k, which is the reference's scan (no score below +inf leaves id 0). A work-group takes XT tokens
// and, where dim is a multiple of 4, first copies their rows (contiguous in x) to local memory, coalesced;
// rows XR floats apart put the float4 reads of 8 rows on distinct banks. Grid (tokens · XSLOTS, heads),
// work-group XT · XSLOTS.
#define XR (FD + 4)
__kernel __attribute__((reqd_work_group_size(XT * XSLOTS, 1, 1)))
void assign_exact(__global const float* x, int tokens, int dim, __global const float* c,
                  __global const float* norms, int kc, __global const uchar* cand_count,
                  __global const uchar* cand_k, __global uchar* ids) {
    __local float xs[XT * XR] __attribute__((aligned(16)));
    __local float merge_s[XT * XSLOTS];
    __local int merge_k[XT * XSLOTS];
    int lid = get_local_id(0);
    int tt = lid / XSLOTS;
    int slot = lid % XSLOTS;
    int n0 = get_group_id(0) * XT;
    int n = n0 + tt;
    int bh = get_group_id(1);
    int staged = (dim & 3) == 0 && dim <= FD;
    __global const float* xh = x + (long) bh * tokens * dim;
    if (staged) {
        int rows = min(XT, tokens - n0);
        for (int i = lid; i < rows * dim / 4; i += XT * XSLOTS) {
            int r = i / (dim / 4), q = i % (dim / 4);
            *(__local float4*) (xs + r * XR + 4 * q) = *(__global const float4*) (xh + (long) (n0 + r) * dim + 4 * q);
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float best = INFINITY;
    int id = 0;
    if (n < tokens) {
        long token = (long) bh * tokens + n;
        __global const float* ch = c + (long) bh * kc * dim;
        __global const float* nh = norms + (long) bh * kc;
        int count = cand_count[token];
        int per = (kc + CHUNKS - 1) / CHUNKS;
        for (int q = slot; q < (count == FULL ? CHUNKS : count); q += XSLOTS) {
            int from = count == FULL ? q * per : cand_k[token * RCAP + q];
            int to = count == FULL ? min(kc, from + per) : from + 1;
            for (int k = from; k < to; k++) {
                float s = staged ? exact_score_local(xs + tt * XR, ch + (long) k * dim, nh[k], dim)
                                 : exact_score(xh + (long) n * dim, ch + (long) k * dim, nh[k], dim);
                if (s < best || (s == best && k < id)) {
                    best = s;
                    id = k;
                }
            }
        }
    }
    merge_s[lid] = best;
    merge_k[lid] = id;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (slot == 0 && n < tokens) {
        for (int j = 1; j < XSLOTS; j++) {
            float s2 = merge_s[lid + j];
            int k2 = merge_k[lid + j];
            if (s2 < best || (s2 == best && k2 < id)) {
                best = s2;
                id = k2;
            }
        }
        ids[(long) bh * tokens + n] = (uchar) id;
    }
}
