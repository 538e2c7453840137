/* torch.optim.Muon (torch >= 2.9): momentum, then the update matrix is
   orthogonalised by a quintic Newton-Schulz iteration and applied with an
   lr scaled for the matrix's shape. torch runs the iteration in bfloat16;
   here it runs in float32 through BLAS.

   The iteration, on X = U / max(|U|_F, eps) with U (or its transpose) wide:
       A = X X^T;  B = b A + c A A;  X = a X + B X      (ns_steps times) */
#include "optim/type.h"
#include "optim/matmul.h"
#include "kernels/muon.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

static const char *const muon_keys[] = {"lr", "weight_decay", "momentum", "nesterov",
                                        "ns_coefficients", "eps", "ns_steps", "adjust_lr_fn",
                                        NULL};

static void muon_defaults(rv_hparams *h)
{
    h->lr = 1e-3;
    h->weight_decay = 0.1;
    h->momentum = 0.95;
    h->nesterov = 1;
    h->ns_coefficients[0] = 3.4445;
    h->ns_coefficients[1] = -4.775;
    h->ns_coefficients[2] = 2.0315;
    h->eps = 1e-7;
    h->ns_steps = 5;
    h->adjust_lr_fn = RV_ADJUST_LR_ORIGINAL;
}

static rv_status muon_validate(const rv_hparams *h)
{
    rv_status s;
    if ((s = rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0)) ||
        (s = rv_check_min(RV_ERR_WEIGHT_DECAY, "weight_decay", h->weight_decay, 0.0)) ||
        (s = rv_check_min(RV_ERR_MOMENTUM, "momentum", h->momentum, 0.0)) ||
        (s = rv_check_min(RV_ERR_EPS, "eps", h->eps, 0.0)) ||
        (s = rv_check_whole(RV_ERR_NS_STEPS, "ns_steps", h->ns_steps, 0, 99)))
        return s;
    for (int i = 0; i < 3; i++)
        if (!isfinite(h->ns_coefficients[i]))
            return rv_fail(RV_ERR_NS_COEFFICIENTS, "ns_coefficients[%d] must be finite, got %.9g",
                           i, h->ns_coefficients[i]);
    if (h->adjust_lr_fn != RV_ADJUST_LR_ORIGINAL && h->adjust_lr_fn != RV_ADJUST_LR_MATCH_RMS_ADAMW)
        return rv_fail(RV_ERR_ADJUST_LR, "adjust_lr_fn must be original or match_rms_adamw, got %d",
                       (int)h->adjust_lr_fn);
    return RV_OK;
}

static size_t muon_state_count(const rv_hparams *h, const rv_shape *shape)
{
    (void)h;
    (void)shape;
    return 1;
}

static const char *muon_state_name(const rv_hparams *h, const rv_shape *shape, size_t i)
{
    (void)h;
    (void)shape;
    return i == 0 ? "momentum_buffer" : NULL;
}

/* X, the next X, A and B */
static size_t muon_work(const rv_hparams *h, const rv_shape *s)
{
    (void)h;
    size_t r = rv_shape_rows(s), c = rv_shape_cols(s), m = r < c ? r : c;
    return 2 * s->n + 2 * m * m;
}

static void muon_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)step;
    (void)scalars;
    *c = (rv_coeffs){0};
    c->lerp_w = (float)(1.0 - h->momentum);
    c->lerp_w2 = (float)h->momentum;
    c->nesterov = h->nesterov != 0;
    c->decay_mul = (float)(1.0 - h->lr * h->weight_decay);
    c->eps = (float)h->eps;
}

/* torch's _adjust_lr: the update's RMS made comparable across shapes */
static double adjusted_lr(const rv_hparams *h, size_t rows, size_t cols)
{
    double a = (double)rows, b = (double)cols;
    double ratio = h->adjust_lr_fn == RV_ADJUST_LR_MATCH_RMS_ADAMW ? 0.2 * sqrt(a > b ? a : b)
                                                                    : sqrt(a / b > 1.0 ? a / b : 1.0);
    return h->lr * ratio;
}

/* ns_steps iterations on X (m x k, m <= k) in place; Y, A, B scratch. The
   Gram matrix A and A A are symmetric products (half a general product's
   work); the results alternate between X and Y instead of being copied. */
static void newton_schulz(const rv_hparams *h, size_t m, size_t k, float *X, float *Y, float *A,
                          float *B)
{
    float a = (float)h->ns_coefficients[0], b = (float)h->ns_coefficients[1],
          c = (float)h->ns_coefficients[2];
    float *in = X, *out = Y;
    for (int it = 0; it < (int)h->ns_steps; it++) {
        rv_matmul_gram(m, k, 1.0f, in, 0.0f, A);             /* A = X X^T */
        memcpy(B, A, m * m * sizeof *B);
        rv_matmul_gram(m, m, c, A, b, B);                    /* B = b A + c A A^T (= A A) */
        memcpy(out, in, m * k * sizeof *out);
        rv_matmul(0, m, k, m, 1.0f, B, in, a, out);          /* X' = a X + B X */
        float *t = in;
        in = out;
        out = t;
    }
    if (in != X)
        memcpy(X, in, m * k * sizeof *X);
}

static void muon_update_tensor(const rv_coeffs *c, const rv_tensor_ctx *t, float *p,
                               const float *g, float *const *state)
{
    size_t rows = t->shape->dims[0], cols = t->shape->dims[1], n = rows * cols;
    int tall = rows > cols;   /* iterate on the wide orientation, as torch does */
    size_t m = tall ? cols : rows, k = tall ? rows : cols;
    float *X = t->work, *Y = X + n, *A = Y + n, *B = A + m * m;
    float *buf = state[0];

    double sumsq = 0.0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            size_t at = i * cols + j;
            float u = rv_muon_momentum(c, g[at], &buf[at], c->nesterov);
            X[tall ? j * rows + i : at] = u;
            sumsq += (double)u * u;
        }
    float norm = (float)sqrt(sumsq);
    float scale = norm > c->eps ? norm : c->eps;   /* norm().clamp(min=eps) */
    for (size_t i = 0; i < n; i++)
        X[i] = X[i] / scale;
    newton_schulz(t->h, m, k, X, Y, A, B);

    rv_coeffs apply = *c;
    apply.neg_lr = (float)-adjusted_lr(t->h, rows, cols);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            p[i * cols + j] = rv_muon_apply(&apply, p[i * cols + j], X[tall ? j * rows + i : i * cols + j]);
}

static const rv_optim_type muon_type = {
    .name = "muon",
    .summary = "buf = lerp(buf, g, 1-mu); u = nesterov ? lerp(g, buf, mu) : buf; "
               "O = NewtonSchulz(u/|u|); p *= 1 - lr*wd; p -= lr*sqrt(max(1, rows/cols))*O",
    .keys = muon_keys,
    .defaults = muon_defaults,
    .validate = muon_validate,
    .state_count = muon_state_count,
    .state_name = muon_state_name,
    .prepare = muon_prepare,
    .shape_need = RV_SHAPE_MATRIX,
    .work_floats = muon_work,
    .update_tensor = muon_update_tensor,
};
const rv_optim_type *const rv_muon = &muon_type;
