/* Schedule-Free AdamW (Defazio et al. 2024), as schedule_free's
   AdamWScheduleFree computes it: warmup as a factor on lr, lr_max the
   running maximum of the warmed-up lr, averaging weights
   (k+1)^r * lr_max^weight_lr_power, and train/eval switching of the
   parameters between y and x. lr_max and weight_sum are the group values
   upstream keeps; here each tensor keeps them (they agree while a group's
   tensors step together). */
#include "optim/type.h"
#include "optim/fused.h"
#include "kernels/sfadamw.h"
#include "core/error.h"

#include <math.h>

static const char *const sfadamw_keys[] = {"lr", "betas", "eps", "weight_decay", "warmup_steps",
                                           "r", "weight_lr_power", "state", NULL};
static const char *const sfadamw_scalars[] = {"lr_max", "weight_sum"};

static void sfadamw_defaults(rv_hparams *h)
{
    h->lr = 0.0025;
    h->beta1 = 0.9;
    h->beta2 = 0.999;
    h->eps = 1e-8;
    h->weight_lr_power = 2.0;
}

static rv_status sfadamw_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_open01(RV_ERR_BETA1, "beta1", h->beta1)) ||
        (s = rv_check_open01(RV_ERR_BETA2, "beta2", h->beta2)) ||
        (s = rv_check_min(RV_ERR_EPS, "eps", h->eps, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)) ||
        (s = rv_check_whole(RV_ERR_WARMUP_STEPS, "warmup_steps", h->warmup_steps, 0, 1e15)) ||
        (s = rv_check_min(RV_ERR_R, "r", h->r, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_LR_POWER, "weight_lr_power", h->weight_lr_power, 0.0)))
        return s;
    /* x = (y - (1 - beta1) z) / beta1 divides by beta1 */
    if (h->beta1 == 0.0)
        return rv_fail(RV_ERR_BETA1, "beta1 must be > 0 for schedule-free averaging, got 0");
    return RV_OK;
}

static size_t sfadamw_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)h;
    (void)shape;
    return 2;
}

static const char *sfadamw_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)h;
    (void)shape;
    static const char *const names[] = {"z", "exp_avg_sq"};
    return i < 2 ? names[i] : NULL;
}

/* z starts at the parameters, exp_avg_sq at zero */
static rv_state_fill sfadamw_fill(const rv_hparams *h, size_t i)
{
    (void)h;
    return (rv_state_fill){.from_param = i == 0};
}

/* z is a sequence of parameters, kept in float32; exp_avg_sq is a statistic */
static rv_buffer_kind sfadamw_kind(const rv_hparams *h, size_t i)
{
    (void)h;
    return i == 0 ? RV_BUF_EXACT : RV_BUF_NONNEG;
}

static void sfadamw_scalars_start(const rv_hparams *h, double *s)
{
    (void)h;
    s[0] = -1.0;   /* lr_max */
    s[1] = 0.0;    /* weight_sum */
}

static void sfadamw_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    *c = (rv_coeffs){0};
    double k = (double)(step - 1);
    double sched = k < h->warmup_steps ? (k + 1.0) / h->warmup_steps : 1.0;
    double lr = h->lr * sched;
    double lr_max = scalars[0] = lr > scalars[0] ? lr : scalars[0];
    double weight = pow(k + 1.0, h->r) * pow(lr_max, h->weight_lr_power);
    double weight_sum = scalars[1] = scalars[1] + weight;
    double ckp1 = weight_sum != 0.0 ? weight / weight_sum : 0.0;
    c->bc2 = (float)(1.0 - pow(h->beta2, k + 1.0));
    c->lerp_w = (float)ckp1;
    c->y_coef = (float)(lr * (h->beta1 * (1.0 - ckp1) - 1.0));
    c->lr = (float)lr;
    c->beta2 = (float)h->beta2;
    c->one_minus_beta2 = (float)(1.0 - h->beta2);
    c->eps = (float)h->eps;
    c->wd = (float)h->weight_decay;
    c->has_wd = h->weight_decay != 0.0;
}

RV_INLINE void sfadamw_loop(const rv_coeffs *c, size_t n, float *restrict y,
                            const float *restrict g, float *const *s, int wd)
{
    float *restrict z = s[0];
    float *restrict v = s[1];
    for (size_t i = 0; i < n; i++)
        rv_sfadamw_elem(c, &y[i], g[i], &z[i], &v[i], wd, NULL);
}

/* one fused pass per range; see optim/fused.h */
RV_FUSED
static void sfadamw_update(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *s)
{
    if (c->has_wd)
        sfadamw_loop(c, n, p, g, s, 1);
    else
        sfadamw_loop(c, n, p, g, s, 0);
}

static void sfadamw_traced(const rv_coeffs *c, float *p, float g, float *const *s, rv_trace *tr)
{
    rv_sfadamw_elem(c, p, g, s[0], s[1], c->has_wd, tr);
}

/* schedule_free's eval(): y -> x = lerp(y, z, 1 - 1/beta1); train(): x -> y = lerp(x, z, 1 - beta1) */
static void move(size_t n, float *p, const float *z, float w)
{
    for (size_t i = 0; i < n; i++)
        p[i] = rv_lerp(p[i], z[i], w);
}
static void sfadamw_to_eval(const rv_hparams *h, size_t n, float *p, float *const *s)
{
    move(n, p, s[0], (float)(1.0 - 1.0 / h->beta1));
}
static void sfadamw_to_train(const rv_hparams *h, size_t n, float *p, float *const *s)
{
    move(n, p, s[0], (float)(1.0 - h->beta1));
}

static const rv_optim_type sfadamw_type = {
    .name = "sfadamw",
    .summary = "v = b2*v + (1-b2)*g^2; n = g/(sqrt(v/(1-b2^t)) + eps) + wd*y; "
               "y = lerp(y, z, c) + lr*(b1*(1-c) - 1)*n; z -= lr*n; x = lerp(y, z, 1 - 1/b1)",
    .keys = sfadamw_keys,
    .defaults = sfadamw_defaults,
    .validate = sfadamw_validate,
    .state_count = sfadamw_state_count,
    .state_name = sfadamw_state_name,
    .state_fill = sfadamw_fill,
    .state_kind = sfadamw_kind,
    .n_scalars = 2,
    .scalar_names = sfadamw_scalars,
    .scalars_start = sfadamw_scalars_start,
    .prepare = sfadamw_prepare,
    .update = sfadamw_update,
    .update_traced = sfadamw_traced,
    .to_eval = sfadamw_to_eval,
    .to_train = sfadamw_to_train,
};
const rv_optim_type *const rv_sfadamw = &sfadamw_type;
