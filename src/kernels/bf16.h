/* bfloat16 <-> float32, the one conversion in each direction every caller
   uses. bf16 is the top half of a float32: widening is exact; narrowing
   rounds to nearest, ties to even, as torch's .to(torch.bfloat16) does
   (c10::round_to_nearest_even), and every NaN becomes the quiet NaN 0x7fc0. */
#ifndef RAVINE_KERNELS_BF16_H
#define RAVINE_KERNELS_BF16_H
#include "kernels/coeffs.h"
#include <stdint.h>
#include <string.h>

RV_INLINE float rv_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

RV_INLINE uint16_t rv_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return 0x7fc0;
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* 1 if h is NaN or infinite */
RV_INLINE int rv_bf16_nonfinite(uint16_t h) { return (h & 0x7f80u) == 0x7f80u; }
#endif
