/* torch.optim.RAdam (torch >= 2.1): variance rectification, decoupled
   weight decay, maximize. */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/radam.h"
#include "core/error.h"

#include <math.h>

static const char *const radam_keys[] = {"lr", "betas", "eps", "weight_decay",
                                         "decoupled_weight_decay", "maximize", "state", NULL};

static void radam_defaults(rv_hparams *h)
{
    h->lr = 1e-3;
    h->beta1 = 0.9;
    h->beta2 = 0.999;
    h->eps = 1e-8;
}

static rv_status radam_validate(const rv_hparams *h)
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

static size_t radam_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)h;
    (void)shape;
    return 2;
}

static const char *radam_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)h;
    (void)shape;
    static const char *const names[] = {"exp_avg", "exp_avg_sq"};
    return i < 2 ? names[i] : NULL;
}

/* exp_avg is signed, exp_avg_sq is not */
static rv_buffer_kind radam_kind(const rv_hparams *h, size_t i)
{
    (void)h;
    return i == 0 ? RV_BUF_SIGNED : RV_BUF_NONNEG;
}

/* The current length of the approximated SMA at update t (its maximum is
   2/(1-beta2) - 1). */
double rv_radam_rho(const rv_hparams *h, double t)
{
    double rho_inf = 2.0 / (1.0 - h->beta2) - 1.0, b2t = pow(h->beta2, t);
    return rho_inf - 2.0 * t * b2t / (1.0 - b2t);
}

static void radam_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    *c = (rv_coeffs){0};
    double t = (double)step;
    double bc1 = 1.0 - pow(h->beta1, t), bc2 = 1.0 - pow(h->beta2, t);
    double rho_inf = 2.0 / (1.0 - h->beta2) - 1.0;
    double rho_t = rv_radam_rho(h, t);
    c->rectify = rho_t > 5.0;
    if (c->rectify)
        c->rect = (float)pow((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                 ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t),
                             0.5);
    c->bc1 = (float)bc1;
    c->sqrt_bc2 = (float)pow(bc2, 0.5);
    c->lr = (float)h->lr;
    c->lerp_w = (float)(1.0 - h->beta1);
    c->beta2 = (float)h->beta2;
    c->one_minus_beta2 = (float)(1.0 - h->beta2);
    c->eps = (float)h->eps;
    c->wd = (float)h->weight_decay;
    c->decay_mul = (float)(1.0 - h->lr * h->weight_decay);
    c->maximize = h->maximize != 0;
    c->has_wd = h->weight_decay != 0.0;
    c->decoupled = h->decoupled_weight_decay != 0;
}

RV_INLINE void radam_loop(const rv_coeffs *c, size_t n, float *restrict p, const float *restrict g,
                          float *const *s, int mx, int wd, int dec, int rect)
{
    float *restrict m = s[0];
    float *restrict v = s[1];
    for (size_t i = 0; i < n; i++)
        rv_radam_elem(c, &p[i], g[i], &m[i], &v[i], mx, wd, dec, rect, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void radam_update(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *s)
{
    int key = c->maximize | c->has_wd << 1 | c->decoupled << 2 | c->rectify << 3;
#define RADAM_CASE(k)                                                                      \
    case k:                                                                                \
        radam_loop(c, n, p, g, s, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 1, ((k) >> 3) & 1);  \
        break;
    switch (key) {
        RV_REP8(RADAM_CASE, 0)
        RV_REP8(RADAM_CASE, 8)
    }
#undef RADAM_CASE
}

static void radam_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_radam_elem(c, p, g, s[0], s[1], c->maximize, c->has_wd, c->decoupled, c->rectify, tr);
}

static const rv_optim_type radam_type = {
    .name = "radam",
    .summary = "m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g^2; rho_t > 5: "
               "p -= lr*m/(1-b1^t) * sqrt(1-b2^t)/(sqrt(v)+eps) * r_t, else p -= lr*m/(1-b1^t)",
    .keys = radam_keys,
    .defaults = radam_defaults,
    .validate = radam_validate,
    .state_count = radam_state_count,
    .state_name = radam_state_name,
    .state_kind = radam_kind,
    .prepare = radam_prepare,
    .update = radam_update,
    .update_traced = radam_traced,
};
const rv_optim_type *const rv_radam = &radam_type;
