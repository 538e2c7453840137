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
        gg = gg + c->wd * pv;
    float s = *sq * c->alpha + (c->one_minus_alpha * gg) * gg;
    *sq = s;
    float avg;
    float a = 0.0f;
    if (centered) {
        a = *ga * c->alpha + c->one_minus_alpha * gg;
        *ga = a;
        avg = sqrtf(s + (-1.0f * a) * a);
    } else {
        avg = sqrtf(s);
    }
    avg = avg + c->eps;
    float b = 0.0f;
    if (has_momentum) {
        b = *buf * c->momentum + gg / avg;
        *buf = b;
        pv = pv + c->neg_lr * b;
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
