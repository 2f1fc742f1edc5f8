// Numeric primitives shared by every qvg4j kernel; each mirrors io.qvg4j.numeric bit for bit.
// Contraction of a*b+c into one fma would change results (the assignment score rounds 2*dot before the
// subtraction, SPEC §3.2): every source turns it off; the fused multiply-adds the rules ask for are fma().
#pragma OPENCL FP_CONTRACT OFF

// bf16 round to nearest even; every NaN becomes the canonical quiet NaN 0x7FC0 (SPEC §2.1).
inline ushort bf16_bits(float f) {
    uint b = as_uint(f);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) {
        return (ushort) 0x7FC0u;
    }
    return (ushort) ((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

#ifdef QVG_PTX
// The hardware's bf16 conversion of two values, a in the low half and b in the high: round to nearest even
// like bf16_bits, subnormals and overflow to infinity included, but a NaN comes out as 0x7FFF, not 0x7FC0.
inline uint bf16x2_rn(float a, float b) {
    uint d;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(b), "f"(a));
    return d;
}
#endif

inline float bf16_value(ushort h) {
    return as_float(((uint) h) << 16);
}

inline float bf16_round(float f) {
    return bf16_value(bf16_bits(f));
}

// Java's Math.max / Math.min: NaN wins, -0 orders below +0 (SPEC §2.6). OpenCL's fmax/fmin drop NaN.
inline float java_max(float a, float b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    if (a == 0.0f && b == 0.0f) return as_uint(a) == 0x80000000u ? b : a;
    return a >= b ? a : b;
}

inline float java_min(float a, float b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    if (a == 0.0f && b == 0.0f) return as_uint(b) == 0x80000000u ? b : a;
    return a <= b ? a : b;
}

// FP8 E4M3FN encode: round to nearest even, saturate to +-448, NaN -> 0x7F (SPEC §2.2).
inline uchar fp8_encode(float x) {
    uint bits = as_uint(x);
    uint sign = (bits >> 24) & 0x80u;
    uint abs_bits = bits & 0x7FFFFFFFu;
    if (abs_bits > 0x7F800000u) {
        return (uchar) 0x7F;
    }
    float a = as_float(abs_bits);
    uint magnitude;
    if (a > QVG_FP8_MAX) {
        magnitude = 0x7Eu;
    } else if (a < 0x1p-6f) {
        // Subnormal grid m * 2^-9: the scaling is exact, rint rounds half to even.
        magnitude = (uint) rint(a * 512.0f);
    } else {
        // 23 mantissa bits rounded to 3, ties to even; a carry moves into the exponent.
        magnitude = ((abs_bits + 0x7FFFFu + ((abs_bits >> 20) & 1u)) >> 20) - (120u << 3);
    }
    return (uchar) (sign | magnitude);
}

inline float fp8_decode(uchar code) {
    uint e = (code >> 3) & 0xFu;
    uint m = code & 7u;
    float magnitude;
    if (e == 15u && m == 7u) {
        magnitude = as_float(0x7FC00000u);
    } else if (e == 0u) {
        magnitude = (float) m * 0x1p-9f;
    } else {
        magnitude = as_float(((e + 120u) << 23) | (m << 20));
    }
    return (code & 0x80u) != 0u ? -magnitude : magnitude;
}

// A stored scale or zero point: FP8 (1 byte) or bf16 (2 bytes, little-endian).
inline float load_scale(__global const uchar* in, long block, int bf16_scales) {
    if (bf16_scales) {
        return bf16_value((ushort) (in[2 * block] | (in[2 * block + 1] << 8)));
    }
    return fp8_decode(in[block]);
}
