/* torch.optim.Adagrad: lr decay, initial accumulator, L2 weight decay, maximize. */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/adagrad.h"

static const char *const adagrad_keys[] = {"lr", "lr_decay", "weight_decay",
                                           "initial_accumulator_value", "eps", "maximize", "state", NULL};

static void adagrad_defaults(rv_hparams *h)
{
    h->lr = 1e-2;
    h->eps = 1e-10;
}

static rv_status adagrad_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_min(RV_ERR_LR_DECAY, "lr_decay", h->lr_decay, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)) ||
        (s = rv_check_min(RV_ERR_INITIAL_ACCUMULATOR, "initial_accumulator_value",
                          h->initial_accumulator_value, 0.0)) ||
        (s = rv_check_min(RV_ERR_EPS, "eps", h->eps, 0.0)))   /* torch allows 0 */
        return s;
    return RV_OK;
}

static size_t adagrad_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)shape;
    (void)h;
    return 1;
}

static const char *adagrad_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)shape;
    (void)h;
    return i == 0 ? "sum" : NULL;
}

static rv_state_fill adagrad_fill(const rv_hparams *h, size_t i)
{
    (void)i;
    return (rv_state_fill){.value = (float)h->initial_accumulator_value};
}

static rv_buffer_kind adagrad_kind(const rv_hparams *h, size_t i)
{
    (void)h;
    (void)i;
    return RV_BUF_NONNEG;   /* a sum of squares */
}

static void adagrad_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    *c = (rv_coeffs){0};
    c->neg_lr = (float)-(h->lr / (1.0 + (double)(step - 1) * h->lr_decay));
    c->wd = (float)h->weight_decay;
    c->eps = (float)h->eps;
    c->maximize = h->maximize != 0;
    c->has_wd = h->weight_decay != 0.0;
}

RV_INLINE void adagrad_loop(const rv_coeffs *c, size_t n, float *restrict p,
                            const float *restrict g, float *restrict sum, int mx, int wd)
{
    for (size_t i = 0; i < n; i++)
        rv_adagrad_elem(c, &p[i], g[i], &sum[i], mx, wd, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void adagrad_update(const rv_coeffs *c, size_t n, float *p, const float *g,
                           float *const *s)
{
    switch (c->maximize | c->has_wd << 1) {
    case 0: adagrad_loop(c, n, p, g, s[0], 0, 0); break;
    case 1: adagrad_loop(c, n, p, g, s[0], 1, 0); break;
    case 2: adagrad_loop(c, n, p, g, s[0], 0, 1); break;
    default: adagrad_loop(c, n, p, g, s[0], 1, 1); break;
    }
}

static void adagrad_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_adagrad_elem(c, p, g, s[0], c->maximize, c->has_wd, tr);
}

static const rv_optim_type adagrad_type = {
    .name = "adagrad",
    .summary = "sum += g^2; p -= lr/(1+(t-1)*lr_decay) * g / (sqrt(sum) + eps)",
    .keys = adagrad_keys,
    .defaults = adagrad_defaults,
    .validate = adagrad_validate,
    .state_count = adagrad_state_count,
    .state_name = adagrad_state_name,
    .state_fill = adagrad_fill,
    .state_kind = adagrad_kind,
    .prepare = adagrad_prepare,
    .update = adagrad_update,
    .update_traced = adagrad_traced,
};
const rv_optim_type *const rv_adagrad = &adagrad_type;
