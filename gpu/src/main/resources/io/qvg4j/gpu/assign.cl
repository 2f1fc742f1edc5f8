// The assignment of k-means (SPEC §3.2) and its exact pruning (needs numeric.cl before it, and double
// precision for the pruning's bounds, as the update does). Layouts as in qvg.cl.
#pragma OPENCL FP_CONTRACT OFF
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

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
//
// The tokens scored are all of the head's, or (indirect) the first active[bh] entries of the head's
// list: the tokens the pruning test below could not settle. Besides the id, each scored token gets
// the distance bounds of that test from its best and second-best score (see prune).
#define BM (8 * AL)
#define BN (8 * AL)
#define XS (BM + 4)  // row stride of the staged slices: + 4 spreads the transposing stores over banks
#define LBUF (2 * ABK * XS > 3 * AL * BM ? 2 * ABK * XS : 3 * AL * BM)

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
// Rows past `limit` read as 0 (they are never kept). With `list`, row r of the tile is list[r].
#define STEP (AL * AL / ABK)
#define V4STEP (AL * AL * 4 / ABK)
inline long slice_row(__global const int* list, int r) {
    return list != 0 ? (long) list[r] : (long) r;
}

inline void slice_load(__global const float* h, __global const int* list, int r0, int limit, int dim, int d, int lid,
                       int vec, float p[BM / STEP]) {
    if (vec) {
        int col = lid % (ABK / 4) * 4;
        #pragma unroll
        for (int j = 0; j < BM / V4STEP; j++) {
            int r = r0 + lid / (ABK / 4) + j * V4STEP;
            float4 v = r < limit ? *(__global const float4*) (h + slice_row(list, r) * dim + d + col) : (float4) (0.0f);
            p[4 * j] = v.x; p[4 * j + 1] = v.y; p[4 * j + 2] = v.z; p[4 * j + 3] = v.w;
        }
    } else {
        int col = lid % ABK;
        #pragma unroll
        for (int j = 0; j < BM / STEP; j++) {
            int r = r0 + lid / ABK + j * STEP;
            p[j] = r < limit && d + col < dim ? h[slice_row(list, r) * dim + d + col] : 0.0f;
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

// The exact pruning of later assignments (SPEC §3.2, "Pruning"). For a token x and any centroid c,
// the computed score differs from the true s = |x - c|^2 - |x|^2 by at most E(x) = 2 (g (|x| + cmax)^2
// + (2D + 4) 2^-149), g = (D+1)u/(1-(D+1)u), u = 2^-24, cmax a bound on every centroid norm of the
// table: the in-order fma chains of the norm and the dot product and the final subtraction, with a
// factor 2 of margin for evaluating the bounds themselves in double.
inline double score_margin(double xnorm2, float cmax, int dim) {
    double u = 0x1p-24;
    double g = (dim + 1) * u / (1.0 - (dim + 1) * u);
    double r = sqrt(xnorm2) + (double) cmax;
    return 2.0 * (g * r * r + (2.0 * dim + 4.0) * 0x1p-149);
}

// Float bounds rounded outward from double: a float not below v, and one not above v (and >= 0).
inline float float_up(double v) {
    float f = (float) v;
    return (double) f < v ? nextafter(f, INFINITY) : f;
}

inline float float_down(double v) {
    float f = (float) v;
    f = (double) f > v ? nextafter(f, -INFINITY) : f;
    return f > 0.0f ? f : 0.0f;
}

__kernel __attribute__((reqd_work_group_size(AL * AL, 1, 1)))
void assign(__global const float* x, int tokens, int dim,
            __global const float* c, __global const float* norms, int kc,
            __global uchar* ids, int indirect, __global const int* lists, __global const int* active,
            __global const double* xnorm2, __global const float* cmax,
            __global float* upper, __global float* lower) {
    // The staged slices; after the last one, the same memory holds every work-item's best and
    // second-best scores and ids for the merge.
    __local float lbuf[LBUF] __attribute__((aligned(16)));
    __local float* xs = lbuf;
    __local float* cs = lbuf + ABK * XS;
    int lid = get_local_id(0);
    int tx = lid % AL;  // centroid column
    int ty = lid / AL;  // token row
    int bh = get_group_id(1);
    int n0 = get_group_id(0) * BM;
    int limit = indirect ? active[bh] : tokens;
    if (n0 >= limit) return;  // the whole group: no barrier is skipped by part of it
    __global const int* list = indirect ? lists + (long) bh * tokens : 0;
    __global const float* xh = x + (long) bh * tokens * dim;
    __global const float* ch = c + (long) bh * kc * dim;
    __global const float* nh = norms + (long) bh * kc;
    int vec = dim % ABK == 0;
    // This work-item's best score and id, and second-best score, for each of its 8 tokens.
    float best_s[8], second_s[8];
    int best_i[8];
    #pragma unroll
    for (int i = 0; i < 8; i++) {
        best_s[i] = INFINITY;
        second_s[i] = INFINITY;
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
        slice_load(xh, list, n0, limit, dim, 0, lid, vec, px);
        slice_load(ch, 0, k0, kc, dim, 0, lid, vec, pc);
        for (int d0 = 0; d0 < dim; d0 += ABK) {
            barrier(CLK_LOCAL_MEM_FENCE);
            slice_store(xs, lid, vec, px);
            slice_store(cs, lid, vec, pc);
            barrier(CLK_LOCAL_MEM_FENCE);
            // The next slice's reads overlap this one's arithmetic.
            if (d0 + ABK < dim) {
                slice_load(xh, list, n0, limit, dim, d0 + ABK, lid, vec, px);
                slice_load(ch, 0, k0, kc, dim, d0 + ABK, lid, vec, pc);
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
                if (k < kc) {
                    if (score < best_s[i]) {
                        second_s[i] = best_s[i];
                        best_s[i] = score;
                        best_i[i] = k;
                    } else if (score < second_s[i]) {
                        second_s[i] = score;
                    }
                }
            }
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    __local float* merge_s = lbuf;
    __local float* merge_2 = lbuf + AL * BM;
    __local int* merge_i = (__local int*) (lbuf + 2 * AL * BM);
    #pragma unroll
    for (int i = 0; i < 8; i++) {
        int t = tx * BM + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + i - 4);
        merge_s[t] = best_s[i];
        merge_2[t] = second_s[i];
        merge_i[t] = best_i[i];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int t = lid; t < BM; t += AL * AL) {
        float s = merge_s[t], s2 = merge_2[t];
        int k = merge_i[t];
        for (int col = 1; col < AL; col++) {
            float o = merge_s[col * BM + t], o2 = merge_2[col * BM + t];
            int ok = merge_i[col * BM + t];
            // The loser's best is a candidate for second best (no score here is NaN).
            s2 = min(s2, min(o2, max(s, o)));
            if (o < s || (o == s && ok < k)) {
                s = o;
                k = ok;
            }
        }
        if (n0 + t < limit) {
            long n = (long) bh * tokens + (indirect ? list[n0 + t] : n0 + t);
            ids[n] = (uchar) k;
            // |x - c_k| <= sqrt(|x|^2 + s + E); every other centroid is at least sqrt(|x|^2 + s2 - E) away.
            double x2 = xnorm2[n];
            double e = score_margin(x2, cmax[bh], dim);
            double up = sqrt(x2 + (double) s + e), low = sqrt(fmax(0.0, x2 + (double) s2 - e));
            int ok = isfinite(up) && isfinite(x2 + (double) s2) && isfinite(e);
            upper[n] = ok ? float_up(up) : INFINITY;
            lower[n] = ok ? float_down(low) : 0.0f;
        }
    }
}

// Before a later assignment: each token whose id provably cannot change keeps it, the others are listed
// for scoring. The centroid a a token had moved by at most move[a], and every other centroid by at
// most the largest move of the head's other centroids (moves[2 bh] is the largest, of centroid
// argmove[bh], moves[2 bh + 1] the second largest), so (triangle inequality) u = upper + move[a] bounds
// its distance to a and l = lower - that move its distance to every other centroid. If u^2 + 2E < l^2,
// a's computed score is below every other computed score (each within E of its true value) and the
// strict-less scan returns a again. Tokens that pass keep loosened bounds; the list's order (an atomic
// counter) does not matter, as every listed token is scored alone. Grid (tokens, heads).
__kernel void prune(__global const uchar* prev, __global uchar* ids, int tokens, int kc, int dim,
                    __global const double* xnorm2, __global const float* cmax, __global const float* move,
                    __global const float* moves, __global const int* argmove, __global float* upper,
                    __global float* lower, __global int* lists, __global int* active) {
    int t = get_global_id(0);
    int bh = get_global_id(1);
    if (t >= tokens) return;
    long n = (long) bh * tokens + t;
    int a = prev[n];
    double u = (double) upper[n] + (double) move[bh * kc + a];
    double l = (double) lower[n] - (double) moves[2 * bh + (a == argmove[bh] ? 1 : 0)];
    double e = score_margin(xnorm2[n], cmax[bh], dim);
    if (l > 0.0 && u * u + 2.0 * e < l * l) {
        ids[n] = (uchar) a;
        upper[n] = float_up(u);
        lower[n] = float_down(l);
    } else {
        lists[(long) bh * tokens + atomic_inc(&active[bh])] = t;
    }
}

// The largest and second-largest of two (largest, its centroid, second) triples; NaN taints both.
inline void top2(float* m1, int* i1, float* m2, float n1, int j1, float n2) {
    if (isnan(*m1) || isnan(*m2) || isnan(n1) || isnan(n2)) {
        *m1 = NAN;
        *m2 = NAN;
    } else if (n1 > *m1) {
        *m2 = max(*m1, n2);
        *m1 = n1;
        *i1 = j1;
    } else {
        *m2 = max(*m2, n1);
    }
}

// Per head: cmax, a float bound on every centroid norm of table c, and with `prev` the distance each
// centroid moved from its previous table (move, rounded up) with the two largest (moves, argmove).
// Double sums with a relative margin of 2^-20 for their rounding. One work-group of TB work-items per head.
#define TB 64
__kernel __attribute__((reqd_work_group_size(TB, 1, 1)))
void table_bounds(__global const float* c, __global const float* prev, int has_prev, int kc, int dim,
                  __global float* cmax, __global float* move, __global float* moves, __global int* argmove) {
    __local float part_c[TB], part_m1[TB], part_m2[TB];
    __local int part_i[TB];
    int bh = get_group_id(0);
    int lid = get_local_id(0);
    float mc = 0.0f, m1 = 0.0f, m2 = 0.0f;
    int i1 = 0;
    for (int k = lid; k < kc; k += TB) {
        __global const float* row = c + ((long) bh * kc + k) * dim;
        __global const float* old = prev + ((long) bh * kc + k) * dim;
        double cc = 0.0, dd = 0.0;
        for (int d = 0; d < dim; d++) {
            cc += (double) row[d] * (double) row[d];
            double diff = (double) row[d] - (double) old[d];
            dd += diff * diff;
        }
        float cn = float_up(sqrt(cc) * (1.0 + 0x1p-20));
        mc = isnan(cn) || isnan(mc) ? NAN : max(mc, cn);
        float m = float_up(sqrt(dd) * (1.0 + 0x1p-20));
        if (has_prev) move[bh * kc + k] = m;
        top2(&m1, &i1, &m2, m, k, 0.0f);
    }
    part_c[lid] = mc;
    part_m1[lid] = m1;
    part_m2[lid] = m2;
    part_i[lid] = i1;
    for (int s = TB / 2; s > 0; s >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < s) {
            part_c[lid] = isnan(part_c[lid + s]) ? NAN : max(part_c[lid], part_c[lid + s]);
            float a1 = part_m1[lid], a2 = part_m2[lid];
            int ai = part_i[lid];
            top2(&a1, &ai, &a2, part_m1[lid + s], part_i[lid + s], part_m2[lid + s]);
            part_m1[lid] = a1;
            part_m2[lid] = a2;
            part_i[lid] = ai;
        }
    }
    if (lid == 0) {
        cmax[bh] = part_c[0];
        if (has_prev) {
            moves[2 * bh] = part_m1[0];
            moves[2 * bh + 1] = part_m2[0];
            argmove[bh] = part_i[0];
        }
    }
}

// |x|^2 of every row, in double (for the pruning bounds; the assignment's own sums stay fp32 fma chains).
__kernel void row_norms(__global const float* x, int dim, long rows, __global double* out) {
    long r = get_global_id(0);
    if (r >= rows) return;
    __global const float* row = x + r * dim;
    double acc = 0.0;
    for (int d = 0; d < dim; d++) acc += (double) row[d] * (double) row[d];
    out[r] = acc;
}
