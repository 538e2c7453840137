/* Adamax (torch.optim.Adamax): Adam with the infinity norm,
   u = max(beta2*u, |g| + eps), p -= lr/(1 - beta1^t) * m / u. */
#ifndef RAVINE_KERNELS_ADAMAX_H
#define RAVINE_KERNELS_ADAMAX_H
#include "kernels/lerp.h"
#include <math.h>

RV_INLINE void rv_adamax_elem(const rv_coeffs *c, float *p, float g, float *m, float *u,
                              int maximize, int has_wd, rv_trace *tr)
{
    float p0 = *p;
    float gg = maximize ? -g : g;
    if (has_wd)
        gg = RV_FMA(p0, c->wd, gg);
    float mm = rv_lerp(*m, gg, c->lerp_w);
    float a = *u * c->beta2, b = fabsf(gg) + c->eps;
    /* torch.maximum: NaN in either operand propagates */
    float uu = a > b ? a : b;
    uu = a != a ? a : uu;
    float pv = p0 + (c->neg_lr * mm) / uu;
    *m = mm;
    *u = uu;
    *p = pv;
    if (tr) {
        tr->grad = g;
        tr->grad_used = gg;
        tr->m = mm;
        tr->vmax = uu;
        tr->denom = uu;
        tr->param_before = tr->param_decayed = p0;
        tr->param_after = pv;
    }
}
#endif
