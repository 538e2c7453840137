/* Schedule-Free AdamW (Defazio et al. 2024, schedule_free's
   AdamWScheduleFree): no momentum buffer and no schedule. The parameters
   hold y, where gradients are taken; z takes plain normalised gradient
   steps; x, the weighted average of the z's, is what one evaluates. y is
   updated in place without forming x:

       v = beta2*v + (1-beta2)*g^2;  n = g / (sqrt(v/bc2) + eps)  (+ wd*y)
       y = lerp(y, z, ckp1) + lr*(beta1*(1 - ckp1) - 1) * n
       z = z - lr*n

   ckp1 = weight/weight_sum is the averaging weight of this step (lerp_w),
   y_coef the coefficient of n in y's update. */
#ifndef RAVINE_KERNELS_SFADAMW_H
#define RAVINE_KERNELS_SFADAMW_H
#include "kernels/lerp.h"
#include <math.h>

RV_INLINE void rv_sfadamw_elem(const rv_coeffs *c, float *y, float g, float *z, float *v,
                               int has_wd, rv_trace *tr)
{
    float y0 = *y, z0 = *z;
    float vv = RV_FMA(c->one_minus_beta2 * g, g, *v * c->beta2);
    float denom = sqrtf(vv / c->bc2) + c->eps;
    float n = g / denom;
    if (has_wd)
        n = RV_FMA(y0, c->wd, n);
    float yy = rv_lerp(y0, z0, c->lerp_w);
    yy = RV_FMA(n, c->y_coef, yy);
    float zz = RV_FMA(n, -c->lr, z0);           /* z.sub_(n, alpha=lr) */
    *v = vv;
    *z = zz;
    *y = yy;
    if (tr) {
        tr->grad = g;
        tr->grad_used = n;
        tr->m = zz;
        tr->v = vv;
        tr->denom = denom;
        tr->param_before = tr->param_decayed = y0;
        tr->param_after = yy;
    }
}
#endif
