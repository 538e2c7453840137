/* Lion (Chen et al. 2023, as lion-pytorch writes it): the step is the sign
   of an interpolation of momentum and gradient, so every element moves by
   exactly lr; the momentum itself decays with a second, slower beta.

   p *= 1 - lr*wd; p -= lr*sign(beta1*m + (1-beta1)*g); m = beta2*m + (1-beta2)*g */
#ifndef RAVINE_KERNELS_LION_H
#define RAVINE_KERNELS_LION_H
#include "kernels/coeffs.h"

RV_INLINE void rv_lion_elem(const rv_coeffs *c, float *p, float g, float *m, rv_trace *tr)
{
    float p0 = *p;
    float pd = p0 * c->decay_mul;
    float m0 = *m;
    float mix = RV_FMA(g, c->one_minus_beta1, m0 * c->beta1);
    /* torch.sign: +1, -1, or 0 for zero (and NaN) */
    float sign = (float)(mix > 0.0f) - (float)(mix < 0.0f);
    float pv = RV_FMA(sign, c->neg_lr, pd);
    float mm = RV_FMA(g, c->one_minus_beta2, m0 * c->beta2);
    *m = mm;
    *p = pv;
    if (tr) {
        tr->grad = tr->grad_used = g;
        tr->buf = mix;
        tr->m = mm;
        tr->param_before = p0;
        tr->param_decayed = pd;
        tr->param_after = pv;
    }
}
#endif
