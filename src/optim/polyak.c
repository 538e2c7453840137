/* Polyak momentum as an EMA of gradients (seed 000): v = beta*v + (1-beta)*g; p -= lr*v. */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/polyak.h"

static const char *const polyak_keys[] = {"lr", "beta", "weight_decay", "state", NULL};

static void polyak_defaults(rv_hparams *h)
{
    h->lr = 1e-3;
    h->beta = 0.9;
}

static rv_status polyak_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_open01(RV_ERR_BETA, "beta", h->beta)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)))
        return s;
    return RV_OK;
}

static size_t polyak_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)shape;
    (void)h;
    return 1;
}

static const char *polyak_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)shape;
    (void)h;
    return i == 0 ? "velocity" : NULL;
}

static void polyak_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    (void)step;
    *c = (rv_coeffs){0};
    c->neg_lr = (float)-h->lr;
    c->wd = (float)h->weight_decay;
    c->has_wd = h->weight_decay != 0.0;
    c->beta1 = (float)h->beta;
    c->one_minus_beta1 = (float)(1.0 - h->beta);
}

RV_INLINE void polyak_loop(const rv_coeffs *c, size_t n, float *restrict p,
                           const float *restrict g, float *restrict v, int wd)
{
    for (size_t i = 0; i < n; i++)
        rv_polyak_elem(c, &p[i], g[i], &v[i], wd, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void polyak_update(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *s)
{
    if (c->has_wd)
        polyak_loop(c, n, p, g, s[0], 1);
    else
        polyak_loop(c, n, p, g, s[0], 0);
}

static void polyak_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_polyak_elem(c, p, g, s[0], c->has_wd, tr);
}

static const rv_optim_type polyak_type = {
    .name = "polyak",
    .summary = "v = beta*v + (1-beta)*g; p -= lr*v (v starts at 0)",
    .keys = polyak_keys,
    .defaults = polyak_defaults,
    .validate = polyak_validate,
    .state_count = polyak_state_count,
    .state_name = polyak_state_name,
    .prepare = polyak_prepare,
    .update = polyak_update,
    .update_traced = polyak_traced,
};
const rv_optim_type *const rv_polyak = &polyak_type;
