/* Polyak momentum as an exponential moving average (seed 000):
   v = beta*v + (1-beta)*g, p -= lr*v, v starting at 0. */
#ifndef RAVINE_KERNELS_POLYAK_H
#define RAVINE_KERNELS_POLYAK_H
#include "kernels/coeffs.h"

RV_INLINE void rv_polyak_elem(const rv_coeffs *c, float *p, float g, float *vel, int has_wd,
                              rv_trace *tr)
{
    float pv = *p;
    float d = has_wd ? RV_FMA(pv, c->wd, g) : g;
    float v = RV_FMA(d, c->one_minus_beta1, *vel * c->beta1);
    *vel = v;
    *p = RV_FMA(v, c->neg_lr, pv);
    if (tr) {
        tr->grad = g;
        tr->grad_used = d;
        tr->buf = v;
        tr->param_before = tr->param_decayed = pv;
        tr->param_after = *p;
    }
}
#endif
