/* Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"),
   with lion-pytorch's defaults: half of AdamW's state, every step of size lr. */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/lion.h"
#include "core/error.h"

static const char *const lion_keys[] = {"lr", "betas", "weight_decay", "state", NULL};

static void lion_defaults(rv_hparams *h)
{
    h->lr = 1e-4;
    h->beta1 = 0.9;
    h->beta2 = 0.99;
}

static rv_status lion_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_closed01(RV_ERR_BETA1, "beta1", h->beta1)) ||
        (s = rv_check_closed01(RV_ERR_BETA2, "beta2", h->beta2)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)))
        return s;
    return RV_OK;
}

static size_t lion_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)h;
    (void)shape;
    return 1;
}

static const char *lion_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)h;
    (void)shape;
    return i == 0 ? "exp_avg" : NULL;
}

static void lion_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)step;
    (void)scalars;
    *c = (rv_coeffs){0};
    c->neg_lr = (float)-h->lr;
    c->decay_mul = (float)(1.0 - h->lr * h->weight_decay);
    c->beta1 = (float)h->beta1;
    c->one_minus_beta1 = (float)(1.0 - h->beta1);
    c->beta2 = (float)h->beta2;
    c->one_minus_beta2 = (float)(1.0 - h->beta2);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void lion_update(const rv_coeffs *c, size_t n, float *restrict p, const float *restrict g,
                        float *const *s)
{
    float *restrict m = s[0];
    for (size_t i = 0; i < n; i++)
        rv_lion_elem(c, &p[i], g[i], &m[i], NULL);
}

static void lion_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_lion_elem(c, p, g, s[0], tr);
}

static const rv_optim_type lion_type = {
    .name = "lion",
    .summary = "p *= 1 - lr*wd; p -= lr*sign(b1*m + (1-b1)*g); m = b2*m + (1-b2)*g",
    .keys = lion_keys,
    .defaults = lion_defaults,
    .validate = lion_validate,
    .state_count = lion_state_count,
    .state_name = lion_state_name,
    .prepare = lion_prepare,
    .update = lion_update,
    .update_traced = lion_traced,
};
const rv_optim_type *const rv_lion = &lion_type;
