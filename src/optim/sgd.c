/* torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay, maximize. */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/sgd.h"
#include "core/error.h"

static const char *const sgd_keys[] = {"lr", "momentum", "dampening", "weight_decay",
                                       "nesterov", "maximize", "state", NULL};

static void sgd_defaults(rv_hparams *h) { h->lr = 1e-3; }

static rv_status sgd_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_open01(RV_ERR_MOMENTUM, "momentum", h->momentum)) ||
        (s = rv_check_closed01(RV_ERR_DAMPENING, "dampening", h->dampening)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)))
        return s;
    if (h->nesterov && (h->momentum <= 0.0 || h->dampening != 0.0))
        return rv_fail(RV_ERR_NESTEROV,
                       "nesterov=true needs momentum > 0 and dampening = 0, got momentum=%.9g, "
                       "dampening=%.9g",
                       h->momentum, h->dampening);
    return RV_OK;
}

static size_t sgd_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)shape;
    return h->momentum != 0.0;
}

static const char *sgd_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)shape;
    return i < sgd_state_count(h, shape) ? "momentum_buffer" : NULL;
}

static void sgd_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    *c = (rv_coeffs){0};
    c->neg_lr = (float)-h->lr;
    c->wd = (float)h->weight_decay;
    c->momentum = (float)h->momentum;
    c->one_minus_dampening = (float)(1.0 - h->dampening);
    c->maximize = h->maximize != 0;
    c->has_wd = h->weight_decay != 0.0;
    c->has_momentum = h->momentum != 0.0;
    c->nesterov = h->nesterov != 0;
    c->first = step == 1;
}

RV_INLINE void sgd_loop(const rv_coeffs *c, size_t n, float *restrict p, const float *restrict g,
                        float *const *s, int mx, int wd, int mom, int nest, int first)
{
    float *restrict buf = mom ? s[0] : NULL;
    for (size_t i = 0; i < n; i++)
        rv_sgd_elem(c, &p[i], g[i], mom ? &buf[i] : NULL, mx, wd, mom, nest, first, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void sgd_update(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *s)
{
    int key = c->maximize | c->has_wd << 1 | c->has_momentum << 2 | c->nesterov << 3 |
              c->first << 4;
#define SGD_CASE(k)                                                                        \
    case k:                                                                                \
        sgd_loop(c, n, p, g, s, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 1, ((k) >> 3) & 1,     \
                 ((k) >> 4) & 1);                                                          \
        break;
    switch (key) {
        RV_REP8(SGD_CASE, 0)
        RV_REP8(SGD_CASE, 8)
        RV_REP8(SGD_CASE, 16)
        RV_REP8(SGD_CASE, 24)
    }
#undef SGD_CASE
}

static void sgd_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_sgd_elem(c, p, g, c->has_momentum ? s[0] : NULL, c->maximize, c->has_wd, c->has_momentum,
                c->nesterov, c->first, tr);
}

static const rv_optim_type sgd_type = {
    .name = "sgd",
    .summary = "d = g (+ wd*p); buf = momentum*buf + (1-dampening)*d (buf = d on step 1); "
               "p -= lr*(nesterov ? d + momentum*buf : buf)",
    .keys = sgd_keys,
    .defaults = sgd_defaults,
    .validate = sgd_validate,
    .state_count = sgd_state_count,
    .state_name = sgd_state_name,
    .prepare = sgd_prepare,
    .update = sgd_update,
    .update_traced = sgd_traced,
};
const rv_optim_type *const rv_sgd = &sgd_type;
