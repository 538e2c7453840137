/* Muon's element-wise part (torch.optim.Muon): the momentum buffer and the
   matrix the Newton-Schulz iteration orthogonalises,

       buf = lerp(buf, g, 1 - mu);   u = nesterov ? lerp(g, buf, mu) : buf

   and the final step p = p*(1 - lr*wd) - adjusted_lr * O. */
#ifndef RAVINE_KERNELS_MUON_H
#define RAVINE_KERNELS_MUON_H
#include "kernels/lerp.h"

RV_INLINE float rv_muon_momentum(const rv_coeffs *c, float g, float *buf, int nesterov)
{
    float b = rv_lerp(*buf, g, c->lerp_w);
    *buf = b;
    return nesterov ? rv_lerp(g, b, c->lerp_w2) : b;
}

RV_INLINE float rv_muon_apply(const rv_coeffs *c, float p, float o)
{
    return RV_FMA(o, c->neg_lr, p * c->decay_mul);
}
#endif
