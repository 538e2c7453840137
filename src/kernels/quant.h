/* Block-wise dynamic 8-bit quantization of optimizer state (Dettmers et al.
   2022, "8-bit Optimizers via Block-wise Quantization").

   A state buffer is cut into blocks of RV_QUANT_BLOCK values; each block
   keeps one float32 scale, its largest magnitude, and one byte per value: the
   index of the nearest entry of a fixed map of 256 values in [-1, 1] (first
   moments, signed) or [0, 1] (second moments, non-negative).

   The maps are dynamic-tree maps: a magnitude code of B bits (7 for the
   signed map, whose top bit is the sign; 8 for the unsigned map) starts with
   e zero bits, then a 1, then f = B - 1 - e fraction bits k; its value is
       10^-e * (0.1 + 0.9 * (k + 1) / 2^f),
   a linear grid over the decade [10^-(e+1), 10^-e] that ends on its top
   edge; the all-zero code is 0. So the largest magnitude of a block (1 after
   scaling) is stored exactly, values a decade smaller get half as many
   levels, and the smallest non-zero levels are 1e-6 (signed) and 1e-7
   (unsigned): the exponent adapts to each value, the fraction to the
   decade. Encoding picks the nearest level (ties to the larger one). */
#ifndef RAVINE_KERNELS_QUANT_H
#define RAVINE_KERNELS_QUANT_H
#include "kernels/coeffs.h"
#include <stdint.h>
#include <string.h>

#ifndef RV_QUANT_BLOCK
#define RV_QUANT_BLOCK 256
#endif
#define RV_QUANT_BUCKETS (28 << 8)

/* A map and its encoder tables (src/optim/quant.c builds them once). */
typedef struct rv_quant_map {
    float value[256];      /* code -> value in [-1, 1] */
    /* magnitude encoding: levels sorted ascending, with the midpoints
       between neighbours and a bucket table over float32 bit patterns */
    int n_levels;          /* 128 (signed) or 256 (unsigned) */
    float level[256];
    float mid[256];        /* mid[i] = boundary between level i and i + 1 */
    uint8_t first[RV_QUANT_BUCKETS]; /* bucket -> lowest level index it can hold */
    int sign_bit;          /* 0x80 for the signed map, 0 for the unsigned */
} rv_quant_map;

/* The map for first moments (signed) or second moments (nonnegative = 1),
   built on first use. */
const rv_quant_map *rv_quant_maps(int nonnegative);

/* bucket of a magnitude a in [0, 1]: its float32 exponent and top 8
   mantissa bits, from 2^-27 up (smaller magnitudes all round to the zero
   code; 1.0 is the last bucket) */
RV_INLINE int rv_quant_bucket(float a)
{
    uint32_t u;
    memcpy(&u, &a, sizeof u);
    int b = (int)(u >> 15) - ((127 - 27) << 8);
    return b < 0 ? 0 : b > RV_QUANT_BUCKETS - 1 ? RV_QUANT_BUCKETS - 1 : b;
}

/* nearest level index of a magnitude in [0, 1]: the bucket's first level,
   then at most two steps up (no bucket spans more than one boundary; the
   map builder checks it) */
RV_INLINE int rv_quant_level(const rv_quant_map *q, float a)
{
    int i = q->first[rv_quant_bucket(a)];
    i += a >= q->mid[i];
    i += a >= q->mid[i];
    return i;
}

RV_INLINE uint8_t rv_quant_encode(const rv_quant_map *q, float x, float inv_scale)
{
    float a = x * inv_scale;
    int neg = a < 0.0f;
    int level = rv_quant_level(q, neg ? -a : a);
    return (uint8_t)(level | (neg ? q->sign_bit : 0));
}

RV_INLINE float rv_quant_decode(const rv_quant_map *q, uint8_t code, float scale)
{
    return q->value[code] * scale;
}
#endif
