/* RMSprop with centering, momentum, L2 decay and maximize (torch.optim.RMSprop). */
#ifndef RAVINE_KERNELS_RMSPROP_H
#define RAVINE_KERNELS_RMSPROP_H
#include "kernels/coeffs.h"
#include <math.h>

/* ga (grad_avg) may be NULL unless centered; buf may be NULL unless has_momentum. */
RV_INLINE void rv_rmsprop_elem(const rv_coeffs *c, float *p, float g, float *sq, float *ga,
                               float *buf, int maximize, int has_wd, int centered,
                               int has_momentum, rv_trace *tr)
{
    float pv = *p;
    float gg = maximize ? -g : g;
    if (has_wd)
        gg = RV_FMA(pv, c->wd, gg);
    float s = RV_FMA(c->one_minus_alpha * gg, gg, *sq * c->alpha);
    *sq = s;
    float avg;
    float a = 0.0f;
    if (centered) {
        a = RV_FMA(gg, c->one_minus_alpha, *ga * c->alpha);
        *ga = a;
        avg = sqrtf(RV_FMA(-a, a, s));          /* square_avg.addcmul(ga, ga, value=-1) */
    } else {
        avg = sqrtf(s);
    }
    avg = avg + c->eps;
    float b = 0.0f;
    if (has_momentum) {
        b = *buf * c->momentum + gg / avg;      /* buf.mul_(momentum).addcdiv_(g, avg) */
        *buf = b;
        pv = RV_FMA(b, c->neg_lr, pv);
    } else {
        pv = pv + (c->neg_lr * gg) / avg;
    }
    if (tr) {
        tr->grad = g;
        tr->grad_used = gg;
        tr->v = s;
        tr->m = a;
        tr->buf = b;
        tr->denom = avg;
        tr->param_before = tr->param_decayed = *p;
        tr->param_after = pv;
    }
    *p = pv;
}
#endif
