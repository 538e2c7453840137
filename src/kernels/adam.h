/* Adam and AdamW (torch.optim.Adam / AdamW, single-tensor path, float32).

   decay 1 (torch AdamW):  p *= 1 - lr*wd, then the Adam step.
   decay 2 (seed 000):     the Adam step, then p -= lr*wd*p.
   has_wd (Adam's L2):     g += wd*p before the moments. */
#ifndef RAVINE_KERNELS_ADAM_H
#define RAVINE_KERNELS_ADAM_H
#include "kernels/coeffs.h"
#include <math.h>

RV_INLINE void rv_adam_elem(const rv_coeffs *c, float *p, float g, float *m, float *v, float *vmax,
                            int maximize, int has_wd, int amsgrad, int decay, rv_trace *tr)
{
    float p0 = *p;
    float pv = decay == 1 ? p0 * c->decay_mul : p0;
    float gg = maximize ? -g : g;
    if (has_wd)
        gg = RV_FMA(pv, c->wd, gg);
    float mm = RV_FMA(gg, c->one_minus_beta1, *m * c->beta1);
    float vv = RV_FMA(c->one_minus_beta2 * gg, gg, *v * c->beta2);
    float vd = vv;
    if (amsgrad) {
        /* torch.maximum: NaN in either operand propagates */
        float old = *vmax;
        float mx = old > vv ? old : vv;
        mx = old != old ? old : mx;
        *vmax = mx;
        vd = mx;
    }
    float denom = sqrtf(vd) / c->bc2_sqrt + c->eps;   /* (v.sqrt() / sqrt(bc2)).add_(eps) */
    float pd = pv;
    pv = pv + (c->neg_lr * mm) / denom;
    if (decay == 2)
        pv = pv - c->decay_lr_wd * pv;
    *m = mm;
    *v = vv;
    *p = pv;
    if (tr) {
        tr->grad = g;
        tr->grad_used = gg;
        tr->m = mm;
        tr->v = vv;
        tr->vmax = vd;
        tr->denom = denom;
        tr->param_before = p0;
        tr->param_decayed = pd;
        tr->param_after = pv;
    }
}
#endif
