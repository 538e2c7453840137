/* Adafactor's element-wise parts (torch.optim.Adafactor, torch >= 2.5).

   The second moment of a matrix is kept as its row and column means (a
   rank-1 factorisation, Shazeer & Stern 2018):
       row_var = lerp(row_var, mean_c g^2, 1 - beta2_t)
       col_var = lerp(col_var, mean_r g^2, 1 - beta2_t)
       v       = row_var * col_var / max(mean(row_var), eps1)
   A vector keeps v itself. The update is g / sqrt(max(v, eps1^2)), scaled
   down when its RMS exceeds d. */
#ifndef RAVINE_KERNELS_ADAFACTOR_H
#define RAVINE_KERNELS_ADAFACTOR_H
#include "kernels/lerp.h"
#include <math.h>

/* mean of g^2 over a row or column, computed as torch does: the norm,
   squared, divided by the count (each step rounded to float) */
RV_INLINE float rv_adafactor_mean_sq(double sum_sq, size_t count)
{
    float norm = (float)sqrt(sum_sq);
    return (norm * norm) / (float)count;
}

/* the update of one element, given its second-moment estimate */
RV_INLINE float rv_adafactor_scaled(float v, float g, float eps1_sq)
{
    float clamped = v < eps1_sq ? eps1_sq : v;
    clamped = v != v ? v : clamped;   /* clamp keeps NaN */
    return (1.0f / sqrtf(clamped)) * g;
}
#endif
