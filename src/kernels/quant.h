/* Block-wise dynamic 8-bit quantization of optimizer state (after Dettmers
   et al. 2022, "8-bit Optimizers via Block-wise Quantization").

   A state buffer is cut into blocks of RV_QUANT_BLOCK values; each block
   keeps one float32 scale, its largest magnitude, and one byte per value:
   a code of a fixed map of [-1, 1] (first moments, signed) or [0, 1]
   (second moments, non-negative) in units of that scale.

   The maps are dynamic: each code has an exponent and a fraction, so the
   relative precision is the same over a wide range of magnitudes, which is
   what moments spanning many orders of magnitude need. The paper's maps put
   the exponent in decimal decades; these use binary exponents, eight-bit
   floating-point codes, so that encoding and decoding are a few integer
   operations on the float's bits and vectorise, instead of a search in a
   table:

   - signed map, first moments: a sign bit, then 4 exponent bits e and 3
     fraction bits m: (1 + m/8) 2^(e-15) for e >= 1, m/8 * 2^-14 for e = 0.
     Magnitudes from 2^-17 (7.6e-6 of the block's scale) to 1, 6.3-12.5%
     apart; 1 (the block's largest value) is exact.
   - unsigned map, second moments: 5 exponent bits and 3 fraction bits,
     (1 + m/8) 2^(e-31) for e >= 1, m/8 * 2^-30 for e = 0: from 2^-33
     (1.2e-10) to 1, the range squared gradients need.

   Encoding rounds to the nearest code, ties to even; values above 1 (none,
   after scaling by the block's largest magnitude) would be clamped to 1. */
#ifndef RAVINE_KERNELS_QUANT_H
#define RAVINE_KERNELS_QUANT_H
#include "kernels/coeffs.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef RV_QUANT_BLOCK
#define RV_QUANT_BLOCK 256
#endif

/* Blocks (one scale each) of an int8 buffer of len values. */
static inline size_t rv_quant_blocks(size_t len) { return (len + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK; }

/* the two maps: exponent bias, and whether the top bit is a sign */
#define RV_QUANT_SIGNED_BIAS 15
#define RV_QUANT_UNSIGNED_BIAS 31

/* Code of a magnitude m in [0, 1] (3 fraction bits, exponent bias `bias`). */
RV_INLINE uint32_t rv_quant_magnitude_code(float m, int bias)
{
    uint32_t u;
    memcpy(&u, &m, sizeof u);
    /* normal codes: the float's exponent and top 3 fraction bits, rounded
       to nearest even (a carry moves into the exponent, as it should) */
    uint32_t r = u + 0x7ffffu + ((u >> 20) & 1u);
    int32_t normal = (int32_t)(r >> 20) - ((127 - bias) << 3);
    /* below the smallest normal code the grid is linear, steps of
       2^-(bias+2): adding a power of two whose last fraction bit is that
       step rounds m to the grid (to nearest even) and leaves the count in
       the low bits. Only taken under 8; for larger m it is discarded. */
    float step_unit = bias == RV_QUANT_SIGNED_BIAS ? 64.0f : 0.0009765625f; /* 2^6, 2^-10 */
    float sum = m + step_unit;
    uint32_t su, ku;
    memcpy(&su, &sum, sizeof su);
    memcpy(&ku, &step_unit, sizeof ku);
    int32_t linear = (int32_t)(su - ku);
    int32_t code = normal < 8 ? linear : normal;
    return (uint32_t)(code > (bias << 3) ? bias << 3 : code);
}

/* Magnitude of a code (sign bit removed). */
RV_INLINE float rv_quant_magnitude(uint32_t code, int bias)
{
    uint32_t u = (code + ((uint32_t)(127 - bias) << 3)) << 20;
    float normal;
    memcpy(&normal, &u, sizeof normal);
    float linear = (float)code * (bias == RV_QUANT_SIGNED_BIAS ? 1.0f / 131072.0f
                                                               : 1.0f / 8589934592.0f);
    return code < 8 ? linear : normal;
}

/* The code (0-255) of x in a block whose scale has reciprocal inv_scale;
   codes travel as 32-bit integers so that loops mixing them with floats
   vectorise with one lane width. */
RV_INLINE uint32_t rv_quant_encode(int nonnegative, float x, float inv_scale)
{
    float a = x * inv_scale;
    if (nonnegative)   /* the magnitude: a -0 (or a stray negative) must not read as huge */
        return rv_quant_magnitude_code(fabsf(a), RV_QUANT_UNSIGNED_BIAS);
    return rv_quant_magnitude_code(fabsf(a), RV_QUANT_SIGNED_BIAS) | (a < 0.0f ? 0x80u : 0u);
}

/* Magnitude bits of x: magnitudes compare as these, NaN above infinity. */
RV_INLINE uint32_t rv_quant_magnitude_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & 0x7fffffffu;
}

/* A block's scale from the largest magnitude bits of its values, and the
   reciprocal encoding multiplies by. A block holding NaN or infinity cannot
   be scaled: its scale is NaN (its codes are stored as 0), so it stays
   non-finite rather than turning wrong. A block whose largest magnitude is
   below the smallest normal float (1.2e-38), whose reciprocal would
   overflow, is stored as zeros (scale 0). */
RV_INLINE float rv_quant_scale(uint32_t top, float *inv)
{
    if (top >= 0x7f800000u) {
        *inv = 0.0f;
        return NAN;
    }
    if (top < 0x00800000u) {
        *inv = 0.0f;
        return 0.0f;
    }
    float absmax;
    memcpy(&absmax, &top, sizeof absmax);
    *inv = 1.0f / absmax;
    return absmax;
}

RV_INLINE float rv_quant_decode(int nonnegative, uint32_t code, float scale)
{
    if (nonnegative)
        return rv_quant_magnitude(code, RV_QUANT_UNSIGNED_BIAS) * scale;
    float m = rv_quant_magnitude(code & 0x7fu, RV_QUANT_SIGNED_BIAS) * scale;
    return code & 0x80u ? -m : m;
}
#endif
