/* torch.optim.RMSprop: centered, momentum, L2 weight decay, maximize. */
#include "core/error.h"
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/rmsprop.h"

static const char *const rmsprop_keys[] = {"lr", "alpha", "eps", "weight_decay", "momentum",
                                           "centered", "maximize", "state", NULL};

static void rmsprop_defaults(rv_hparams *h)
{
    h->lr = 1e-2;
    h->alpha = 0.99;
    h->eps = 1e-8;
}

static rv_status rmsprop_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_closed01(RV_ERR_ALPHA, "alpha", h->alpha)) ||
        (s = rv_check_min(RV_ERR_EPS, "eps", h->eps, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)) ||
        (s = rv_check_open01(RV_ERR_MOMENTUM, "momentum", h->momentum)))
        return s;
    /* centered takes sqrt(square_avg - grad_avg^2): the two are rounded independently in bf16
       or int8, so the difference (the gradient's variance) is often negative after decoding */
    if (h->centered && h->state != RV_FP32)
        return rv_fail(RV_ERR_STATE_PRECISION,
                       "centered=true needs state=fp32 (square_avg - grad_avg^2 goes negative "
                       "when the two are stored in %s)",
                       h->state == RV_BF16 ? "bf16" : "int8");
    return RV_OK;
}

/* buffers: square_avg, then grad_avg if centered, then momentum_buffer if momentum > 0 */
static size_t rmsprop_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)shape;
    return 1 + (h->centered != 0) + (h->momentum > 0.0);
}

static const char *rmsprop_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)shape;
    if (i == 0)
        return "square_avg";
    if (h->centered && i == 1)
        return "grad_avg";
    if (h->momentum > 0.0 && i == (size_t)1 + (h->centered != 0))
        return "momentum_buffer";
    return NULL;
}

/* square_avg is non-negative; grad_avg and the momentum buffer are signed */
static rv_buffer_kind rmsprop_kind(const rv_hparams *h, size_t i)
{
    (void)h;
    return i == 0 ? RV_BUF_NONNEG : RV_BUF_SIGNED;
}

static void rmsprop_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    (void)step;
    *c = (rv_coeffs){0};
    c->neg_lr = (float)-h->lr;
    c->wd = (float)h->weight_decay;
    c->alpha = (float)h->alpha;
    c->one_minus_alpha = (float)(1.0 - h->alpha);
    c->eps = (float)h->eps;
    c->momentum = (float)h->momentum;
    c->maximize = h->maximize != 0;
    c->has_wd = h->weight_decay != 0.0;
    c->centered = h->centered != 0;
    c->has_momentum = h->momentum > 0.0;
}

RV_INLINE void rmsprop_loop(const rv_coeffs *c, size_t n, float *restrict p,
                            const float *restrict g, float *const *s, int mx, int wd, int cen,
                            int mom)
{
    float *restrict sq = s[0];
    float *restrict ga = cen ? s[1] : NULL;
    float *restrict buf = mom ? s[1 + cen] : NULL;
    for (size_t i = 0; i < n; i++)
        rv_rmsprop_elem(c, &p[i], g[i], &sq[i], cen ? &ga[i] : NULL, mom ? &buf[i] : NULL, mx, wd,
                        cen, mom, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void rmsprop_update(const rv_coeffs *c, size_t n, float *p, const float *g,
                           float *const *s)
{
    int key = c->maximize | c->has_wd << 1 | c->centered << 2 | c->has_momentum << 3;
#define RMS_CASE(k)                                                                           \
    case k:                                                                                   \
        rmsprop_loop(c, n, p, g, s, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 1, ((k) >> 3) & 1);   \
        break;
    switch (key) {
        RV_REP8(RMS_CASE, 0)
        RV_REP8(RMS_CASE, 8)
    }
#undef RMS_CASE
}

static void rmsprop_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_rmsprop_elem(c, p, g, s[0], c->centered ? s[1] : NULL,
                    c->has_momentum ? s[1 + c->centered] : NULL, c->maximize, c->has_wd,
                    c->centered, c->has_momentum, tr);
}

static const rv_optim_type rmsprop_type = {
    .name = "rmsprop",
    .summary = "sq = alpha*sq + (1-alpha)*g^2; avg = sqrt(sq [- ga^2]) + eps; "
               "p -= lr*g/avg (or via a momentum buffer)",
    .keys = rmsprop_keys,
    .defaults = rmsprop_defaults,
    .validate = rmsprop_validate,
    .state_count = rmsprop_state_count,
    .state_name = rmsprop_state_name,
    .state_kind = rmsprop_kind,
    .prepare = rmsprop_prepare,
    .update = rmsprop_update,
    .update_traced = rmsprop_traced,
};
const rv_optim_type *const rv_rmsprop = &rmsprop_type;
