/* torch.optim.Adafactor (torch >= 2.5): relative step size
   rho_t = min(lr, 1/sqrt(t)) times max(eps2, RMS(p)), a factored second
   moment for tensors of two or more dimensions (the last two; earlier ones
   are a batch), 1 - beta2_t = t^beta2_decay, update clipping by d, and
   decoupled weight decay. */
#include "optim/type.h"
#include "kernels/adafactor.h"
#include "core/error.h"

#include <float.h>
#include <math.h>

static const char *const adafactor_keys[] = {"lr", "beta2_decay", "eps_pair", "d",
                                             "weight_decay", "maximize", NULL};

static void adafactor_defaults(rv_hparams *h)
{
    h->lr = 1e-2;
    h->beta2_decay = -0.8;
    h->eps_none = 1;
    h->eps2 = 1e-3;
    h->d = 1.0;
}

static rv_status adafactor_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_finite(RV_ERR_BETA2_DECAY, "beta2_decay", h->beta2_decay)) ||
        (!h->eps_none && (s = rv_check_min(RV_ERR_EPS, "eps1", h->eps, 0.0))) ||
        (s = rv_check_min(RV_ERR_EPS2, "eps2", h->eps2, 0.0)) ||
        (s = rv_check_min(RV_ERR_D, "d", h->d, 1.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)))
        return s;
    if (h->beta2_decay > 0.0)
        return rv_fail(RV_ERR_BETA2_DECAY, "beta2_decay must be <= 0, got %.9g", h->beta2_decay);
    return RV_OK;
}

static int factored(const rv_shape *s) { return !s || s->ndim >= 2; }

static size_t adafactor_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)h;
    return factored(shape) ? 2 : 1;
}

static const char *adafactor_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)h;
    if (!factored(shape))
        return i == 0 ? "variance" : NULL;
    static const char *const names[] = {"row_var", "col_var"};
    return i < 2 ? names[i] : NULL;
}

/* The product of the dimensions, leaving dimension `skip` out (a skip past
   the last dimension leaves none out). */
static size_t product_without(const rv_shape *s, size_t skip)
{
    size_t n = 1;
    for (size_t d = 0; d < s->ndim; d++)
        if (d != skip)
            n *= s->dims[d];
    return n;
}

/* row_var has one entry per row of every matrix of the batch, col_var one per column */
static size_t adafactor_state_len(const rv_hparams *h, const rv_shape *s, size_t i)
{
    (void)h;
    if (!factored(s))
        return s->n;
    return product_without(s, i == 0 ? s->ndim - 1 : s->ndim - 2);
}

static double eps1_of(const rv_hparams *h)
{
    return h->eps_none ? (double)FLT_EPSILON : h->eps;
}

static void adafactor_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    *c = (rv_coeffs){0};
    double t = (double)step;
    c->omb2 = pow(t, h->beta2_decay);
    double inv_sqrt_t = 1.0 / pow(t, 0.5);
    c->rho = h->lr < inv_sqrt_t ? h->lr : inv_sqrt_t;
    c->decay_mul = (float)(1.0 - h->lr * h->weight_decay);
    c->has_wd = h->weight_decay != 0.0;
    c->maximize = h->maximize != 0;
    c->eps = (float)eps1_of(h);
}

static double sum_sq(const float *x, size_t n, size_t stride)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i * stride] * x[i * stride];
    return s;
}

static double sum_plain(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

static void adafactor_update_tensor(const rv_coeffs *c, const rv_tensor_ctx *t, float *p,
                                    const float *g, float *const *state)
{
    const rv_hparams *h = t->h;
    const rv_shape *s = t->shape;
    size_t n = s->n;
    float sign = c->maximize ? -1.0f : 1.0f;
    float omb2 = (float)c->omb2;
    double eps1 = eps1_of(h);
    float eps1_sq = (float)(eps1 * eps1);

    /* alpha from the RMS of the parameters before weight decay */
    double rms = (double)(float)sqrt(sum_sq(p, n, 1)) / sqrt((double)n);
    double alpha = (rms > h->eps2 ? rms : h->eps2) * c->rho;
    if (c->has_wd)
        for (size_t i = 0; i < n; i++)
            p[i] = p[i] * c->decay_mul;

    size_t cols = rv_shape_cols(s), rows = rv_shape_rows(s);
    size_t batch = factored(s) && rows && cols ? n / (rows * cols) : 1;
    if (factored(s)) {
        float *row_var = state[0], *col_var = state[1];
        for (size_t b = 0; b < batch; b++) {
            const float *gb = g + b * rows * cols;
            for (size_t r = 0; r < rows; r++)
                row_var[b * rows + r] =
                    rv_lerp(row_var[b * rows + r],
                            rv_adafactor_mean_sq(sum_sq(gb + r * cols, cols, 1), cols), omb2);
            for (size_t k = 0; k < cols; k++)
                col_var[b * cols + k] =
                    rv_lerp(col_var[b * cols + k],
                            rv_adafactor_mean_sq(sum_sq(gb + k, rows, cols), rows), omb2);
        }
    } else {
        float *var = state[0];
        for (size_t i = 0; i < n; i++) {
            float gi = sign * g[i];
            var[i] = rv_lerp(var[i], gi * gi, omb2);
        }
    }

    /* the update u = g / sqrt(v), visited twice: its RMS first, then the step */
    double u_sq = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        float step = 0.0f;
        if (pass == 1) {
            double norm = (double)(float)sqrt(u_sq);
            double ratio = norm / (sqrt((double)n) * h->d);
            step = (float)(-alpha / (ratio > 1.0 ? ratio : 1.0));
        }
        for (size_t b = 0; b < batch; b++) {
            float denom = 1.0f;
            if (factored(s)) {
                const float *rv = state[0] + b * rows;
                float mean = (float)(sum_plain(rv, rows) / (double)rows);
                denom = mean < c->eps ? c->eps : mean;
            }
            size_t len = factored(s) ? rows * cols : n;
            for (size_t i = 0; i < len; i++) {
                size_t at = b * len + i;
                float v = factored(s) ? (state[0][b * rows + i / cols] * state[1][b * cols + i % cols]) / denom
                                      : state[0][at];
                float u = rv_adafactor_scaled(v, sign * g[at], eps1_sq);
                if (pass == 0)
                    u_sq += (double)u * u;
                else
                    p[at] = RV_FMA(u, step, p[at]);   /* param.add_(update, alpha=...) */
            }
        }
    }
}

static const rv_optim_type adafactor_type = {
    .name = "adafactor",
    .summary = "v = row_var*col_var/mean(row_var) (factored) or lerp(v, g^2, t^beta2_decay); "
               "u = g/sqrt(v); p -= min(lr, 1/sqrt(t))*max(eps2, RMS(p)) * u/max(1, RMS(u)/d)",
    .keys = adafactor_keys,
    .defaults = adafactor_defaults,
    .validate = adafactor_validate,
    .state_count = adafactor_state_count,
    .state_name = adafactor_state_name,
    .state_len = adafactor_state_len,
    .prepare = adafactor_prepare,
    .shape_need = RV_SHAPE_KNOWN,
    .update_tensor = adafactor_update_tensor,
};
const rv_optim_type *const rv_adafactor = &adafactor_type;
