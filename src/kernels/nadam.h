/* NAdam (torch.optim.NAdam, torch >= 2.1): Nesterov momentum folded into
   Adam, with torch's momentum schedule mu_t = beta1*(1 - 0.5*0.96^(t*psi)).

   neg_lr:  -lr*(1 - mu_t)/(1 - mu_product_t)       (the gradient's share)
   neg_lr2: -lr*mu_{t+1}/(1 - mu_product_t*mu_{t+1}) (the momentum's share)
   decoupled: p *= 1 - lr*wd first; else g += wd*p (L2). */
#ifndef RAVINE_KERNELS_NADAM_H
#define RAVINE_KERNELS_NADAM_H
#include "kernels/lerp.h"
#include <math.h>

RV_INLINE void rv_nadam_elem(const rv_coeffs *c, float *p, float g, float *m, float *v,
                             int maximize, int has_wd, int decoupled, rv_trace *tr)
{
    float p0 = *p;
    float pv = has_wd && decoupled ? p0 * c->decay_mul : p0;
    float pd = pv;
    float gg = maximize ? -g : g;
    if (has_wd && !decoupled)
        gg = RV_FMA(pv, c->wd, gg);
    float mm = rv_lerp(*m, gg, c->lerp_w);
    float vv = RV_FMA(c->one_minus_beta2 * gg, gg, *v * c->beta2);
    float denom = sqrtf(vv / c->bc2) + c->eps;
    pv = pv + (c->neg_lr * gg) / denom;
    pv = pv + (c->neg_lr2 * mm) / denom;
    *m = mm;
    *v = vv;
    *p = pv;
    if (tr) {
        tr->grad = g;
        tr->grad_used = gg;
        tr->m = mm;
        tr->v = vv;
        tr->denom = denom;
        tr->param_before = p0;
        tr->param_decayed = pd;
        tr->param_after = pv;
    }
}
#endif
