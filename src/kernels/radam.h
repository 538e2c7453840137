/* RAdam (torch.optim.RAdam, torch >= 2.1): Adam whose adaptive step is
   switched on, and scaled by the variance rectification r_t, once the
   approximated moving-average length rho_t exceeds 5; before that, a plain
   bias-corrected momentum step.

   bc1 = 1 - beta1^t; sqrt_bc2 = sqrt(1 - beta2^t); rect = r_t; lr.
   The operations and their order are torch's:
   p -= ((m/bc1)*lr) * ((1/(sqrt(v) + eps))*sqrt_bc2) * rect. */
#ifndef RAVINE_KERNELS_RADAM_H
#define RAVINE_KERNELS_RADAM_H
#include "kernels/lerp.h"
#include <math.h>

RV_INLINE void rv_radam_elem(const rv_coeffs *c, float *p, float g, float *m, float *v,
                             int maximize, int has_wd, int decoupled, int rectify, rv_trace *tr)
{
    float p0 = *p;
    float pv = has_wd && decoupled ? p0 * c->decay_mul : p0;
    float pd = pv;
    float gg = maximize ? -g : g;
    if (has_wd && !decoupled)
        gg = RV_FMA(pv, c->wd, gg);
    float mm = rv_lerp(*m, gg, c->lerp_w);
    float vv = RV_FMA(c->one_minus_beta2 * gg, gg, *v * c->beta2);
    float step = (mm / c->bc1) * c->lr;
    float denom = 0.0f;
    if (rectify) {
        denom = sqrtf(vv) + c->eps;
        step = (step * ((1.0f / denom) * c->sqrt_bc2)) * c->rect;
    }
    pv = pv - step;
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
