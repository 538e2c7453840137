/* torch.optim.Adamax: Adam with the infinity norm (L2 weight decay, maximize). */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/adamax.h"
#include "core/error.h"

#include <math.h>

static const char *const adamax_keys[] = {"lr", "betas", "eps", "weight_decay", "maximize", "state", NULL};

static void adamax_defaults(rv_hparams *h)
{
    h->lr = 2e-3;
    h->beta1 = 0.9;
    h->beta2 = 0.999;
    h->eps = 1e-8;
}

static rv_status adamax_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_open01(RV_ERR_BETA1, "beta1", h->beta1)) ||
        (s = rv_check_open01(RV_ERR_BETA2, "beta2", h->beta2)) ||
        (s = rv_check_min(RV_ERR_EPS, "eps", h->eps, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)))
        return s;
    return RV_OK;
}

static size_t adamax_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)h;
    (void)shape;
    return 2;
}

static const char *adamax_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)h;
    (void)shape;
    static const char *const names[] = {"exp_avg", "exp_inf"};
    return i < 2 ? names[i] : NULL;
}

/* exp_avg is signed, exp_inf (a running maximum of |g|) is not */
static rv_buffer_kind adamax_kind(const rv_hparams *h, size_t i)
{
    (void)h;
    return i == 0 ? RV_BUF_SIGNED : RV_BUF_NONNEG;
}

static void adamax_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    *c = (rv_coeffs){0};
    c->neg_lr = (float)-(h->lr / (1.0 - pow(h->beta1, (double)step)));
    c->lerp_w = (float)(1.0 - h->beta1);
    c->beta2 = (float)h->beta2;
    c->eps = (float)h->eps;
    c->wd = (float)h->weight_decay;
    c->maximize = h->maximize != 0;
    c->has_wd = h->weight_decay != 0.0;
}

RV_INLINE void adamax_loop(const rv_coeffs *c, size_t n, float *restrict p,
                           const float *restrict g, float *const *s, int mx, int wd)
{
    float *restrict m = s[0];
    float *restrict u = s[1];
    for (size_t i = 0; i < n; i++)
        rv_adamax_elem(c, &p[i], g[i], &m[i], &u[i], mx, wd, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void adamax_update(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *s)
{
    switch (c->maximize | c->has_wd << 1) {
    case 0: adamax_loop(c, n, p, g, s, 0, 0); break;
    case 1: adamax_loop(c, n, p, g, s, 1, 0); break;
    case 2: adamax_loop(c, n, p, g, s, 0, 1); break;
    case 3: adamax_loop(c, n, p, g, s, 1, 1); break;
    }
}

static void adamax_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_adamax_elem(c, p, g, s[0], s[1], c->maximize, c->has_wd, tr);
}

static const rv_optim_type adamax_type = {
    .name = "adamax",
    .summary = "m = lerp(m, g, 1-b1); u = max(b2*u, |g| + eps); p -= lr/(1-b1^t) * m/u",
    .keys = adamax_keys,
    .defaults = adamax_defaults,
    .validate = adamax_validate,
    .state_count = adamax_state_count,
    .state_name = adamax_state_name,
    .state_kind = adamax_kind,
    .prepare = adamax_prepare,
    .update = adamax_update,
    .update_traced = adamax_traced,
};
const rv_optim_type *const rv_adamax = &adamax_type;
