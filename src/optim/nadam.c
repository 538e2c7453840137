/* torch.optim.NAdam (torch >= 2.1): momentum_decay, decoupled weight decay,
   maximize. torch 1.13 multiplied mu_{t+1} into mu_product twice; this is
   the corrected rule of torch 2.0 on. */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/nadam.h"
#include "core/error.h"

#include <math.h>

static const char *const nadam_keys[] = {"lr", "betas", "eps", "weight_decay", "momentum_decay",
                                         "decoupled_weight_decay", "maximize", "state", NULL};
static const char *const nadam_scalars[] = {"mu_product"};

static void nadam_defaults(rv_hparams *h)
{
    h->lr = 2e-3;
    h->beta1 = 0.9;
    h->beta2 = 0.999;
    h->eps = 1e-8;
    h->momentum_decay = 4e-3;
}

static rv_status nadam_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_open01(RV_ERR_BETA1, "beta1", h->beta1)) ||
        (s = rv_check_open01(RV_ERR_BETA2, "beta2", h->beta2)) ||
        (s = rv_check_min(RV_ERR_EPS, "eps", h->eps, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)) ||
        (s = rv_check_min(RV_ERR_MOMENTUM_DECAY, "momentum_decay", h->momentum_decay, 0.0)))
        return s;
    return RV_OK;
}

static size_t nadam_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)h;
    (void)shape;
    return 2;
}

static const char *nadam_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)h;
    (void)shape;
    static const char *const names[] = {"exp_avg", "exp_avg_sq"};
    return i < 2 ? names[i] : NULL;
}

static void nadam_scalars_start(const rv_hparams *h, double *s)
{
    (void)h;
    s[0] = 1.0;
}

/* mu_t of torch's momentum schedule: beta1*(1 - 0.5*0.96^(t*psi)) */
double rv_nadam_mu(const rv_hparams *h, double t)
{
    return h->beta1 * (1.0 - 0.5 * pow(0.96, t * h->momentum_decay));
}

/* exp_avg is signed, exp_avg_sq is not */
static rv_buffer_kind nadam_kind(const rv_hparams *h, size_t i)
{
    (void)h;
    return i == 0 ? RV_BUF_SIGNED : RV_BUF_NONNEG;
}

static void nadam_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    *c = (rv_coeffs){0};
    double t = (double)step;
    double mu = rv_nadam_mu(h, t), mu_next = rv_nadam_mu(h, t + 1.0);
    /* torch keeps mu_product in a float32 tensor: mu_product *= mu rounds
       both the factor and the product to float */
    float mu_product = (float)scalars[0] * (float)mu;
    scalars[0] = mu_product;
    double mu_product_next = (double)mu_product * mu_next;
    c->neg_lr = (float)(-h->lr * (1.0 - mu) / (1.0 - (double)mu_product));
    c->neg_lr2 = (float)((-h->lr * mu_next) / (1.0 - mu_product_next));
    c->bc2 = (float)(1.0 - pow(h->beta2, t));
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

RV_INLINE void nadam_loop(const rv_coeffs *c, size_t n, float *restrict p, const float *restrict g,
                          float *const *s, int mx, int wd, int dec)
{
    float *restrict m = s[0];
    float *restrict v = s[1];
    for (size_t i = 0; i < n; i++)
        rv_nadam_elem(c, &p[i], g[i], &m[i], &v[i], mx, wd, dec, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void nadam_update(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *s)
{
    int key = c->maximize | c->has_wd << 1 | c->decoupled << 2;
#define NADAM_CASE(k)                                                                  \
    case k:                                                                            \
        nadam_loop(c, n, p, g, s, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 1);              \
        break;
    switch (key) { RV_REP8(NADAM_CASE, 0) }
#undef NADAM_CASE
}

static void nadam_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_nadam_elem(c, p, g, s[0], s[1], c->maximize, c->has_wd, c->decoupled, tr);
}

static const rv_optim_type nadam_type = {
    .name = "nadam",
    .summary = "m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g^2; d = sqrt(v/(1-b2^t)) + eps; "
               "p -= lr*(1-mu_t)/(1-prod mu)*g/d + lr*mu_{t+1}/(1-prod mu*mu_{t+1})*m/d",
    .keys = nadam_keys,
    .defaults = nadam_defaults,
    .validate = nadam_validate,
    .state_count = nadam_state_count,
    .state_name = nadam_state_name,
    .state_kind = nadam_kind,
    .n_scalars = 1,
    .scalar_names = nadam_scalars,
    .scalars_start = nadam_scalars_start,
    .prepare = nadam_prepare,
    .update = nadam_update,
    .update_traced = nadam_traced,
};
const rv_optim_type *const rv_nadam = &nadam_type;
