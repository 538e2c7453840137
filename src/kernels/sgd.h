/* SGD with momentum, dampening, Nesterov, L2 decay and maximize (torch.optim.SGD). */
#ifndef RAVINE_KERNELS_SGD_H
#define RAVINE_KERNELS_SGD_H
#include "kernels/coeffs.h"

/* buf may be NULL when has_momentum is 0. On the first step torch's buffer
   is a copy of the (decayed) gradient; later buf = momentum*buf + (1-dampening)*d. */
RV_INLINE void rv_sgd_elem(const rv_coeffs *c, float *p, float g, float *buf, int maximize,
                           int has_wd, int has_momentum, int nesterov, int first, rv_trace *tr)
{
    float pv = *p;
    float d = maximize ? -g : g;
    if (has_wd)
        d = RV_FMA(pv, c->wd, d);               /* grad.add(param, alpha=wd) */
    if (tr) {
        tr->grad = g;
        tr->grad_used = d;
        tr->param_before = tr->param_decayed = pv;
    }
    if (has_momentum) {
        float b = first ? d : RV_FMA(d, c->one_minus_dampening, *buf * c->momentum);
        *buf = b;
        if (tr)
            tr->buf = b;
        d = nesterov ? RV_FMA(b, c->momentum, d) : b;
    }
    *p = RV_FMA(d, c->neg_lr, pv);              /* param.add_(d_p, alpha=-lr) */
    if (tr)
        tr->param_after = *p;
}
#endif
