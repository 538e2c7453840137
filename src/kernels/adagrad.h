/* Adagrad with lr decay, L2 decay and maximize (torch.optim.Adagrad). */
#ifndef RAVINE_KERNELS_ADAGRAD_H
#define RAVINE_KERNELS_ADAGRAD_H
#include "kernels/coeffs.h"
#include <math.h>

RV_INLINE void rv_adagrad_elem(const rv_coeffs *c, float *p, float g, float *sum, int maximize,
                               int has_wd, rv_trace *tr)
{
    float pv = *p;
    float gg = maximize ? -g : g;
    if (has_wd)
        gg = RV_FMA(pv, c->wd, gg);
    float s = RV_FMA(gg, gg, *sum);             /* state_sum.addcmul_(g, g, value=1) */
    *sum = s;
    float std = sqrtf(s) + c->eps;
    *p = pv + (c->neg_lr * gg) / std;
    if (tr) {
        tr->grad = g;
        tr->grad_used = gg;
        tr->v = s;
        tr->denom = std;
        tr->param_before = tr->param_decayed = pv;
        tr->param_after = *p;
    }
}
#endif
