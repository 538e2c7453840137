/* torch's lerp (ATen/native/Lerp.h), the form newer torch.optim code writes
   moving averages in (exp_avg.lerp_(grad, 1 - beta1)): two formulas, chosen
   by the weight, so that both ends are exact. */
#ifndef RAVINE_KERNELS_LERP_H
#define RAVINE_KERNELS_LERP_H
#include "kernels/coeffs.h"

RV_INLINE float rv_lerp(float a, float b, float w)
{
    float aw = w < 0.0f ? -w : w;
    return aw < 0.5f ? RV_FMA(w, b - a, a) : RV_FMA(w - 1.0f, b - a, b);
}
#endif
