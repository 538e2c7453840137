/* Gradient clipping by global norm and by value, torch.nn.utils semantics.

   The norm is reduced over fixed blocks: block b's sum is computed by one
   thread in a fixed order, and the block sums are added in block order, so
   the result does not depend on how many threads share the blocks. */
#include "ravine/clip.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define BLOCK ((size_t)4096)
/* below this many elements everything runs on the calling thread */
#define PARALLEL_MIN ((size_t)1 << 16)

typedef struct block {
    size_t tensor, offset, len;
} block;

/* The tensors to work on: gradient buffers, sizes and names for messages. */
typedef struct grads {
    float *const *g;
    const size_t *n;
    const char *const *names;   /* NULL: "array <i>" */
    size_t count;
    int threads;                /* 0: OpenMP's default */
} grads;

#ifdef _OPENMP
static inline int threads_for(const grads *x, size_t total)
{
    if (total < PARALLEL_MIN)
        return 1;
    return x->threads > 0 ? x->threads : omp_get_max_threads();
}
#endif

/* Sum of |g|^p (or max |g| for p = inf) over one block, in double, with
   eight interleaved accumulators in a fixed pattern (fast, and the same
   order every time). NaN propagates. */
static double block_sum(const float *g, size_t n, double p)
{
    double acc[8] = {0};
    size_t i = 0;
    if (isinf(p)) {
        double m = 0;
        for (; i < n; i++) {
            double a = fabs((double)g[i]);
            if (a > m || isnan(a))
                m = a;
            if (isnan(m))
                break;
        }
        return m;
    }
    if (p == 2.0) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++)
                acc[k] += (double)g[i + k] * (double)g[i + k];
        for (; i < n; i++)
            acc[0] += (double)g[i] * (double)g[i];
    } else if (p == 1.0) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++)
                acc[k] += fabs((double)g[i + k]);
        for (; i < n; i++)
            acc[0] += fabs((double)g[i]);
    } else {
        for (; i < n; i++)
            acc[i & 7] += pow(fabs((double)g[i]), p);
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* The p-norm from a sum of |x|^p, rounded to float32 like a torch tensor. */
static float finish(double sum, double p)
{
    if (isinf(p) || p == 1.0)
        return (float)sum;
    if (p == 2.0)
        return (float)sqrt(sum);
    return (float)pow(sum, 1.0 / p);
}

static rv_status check_norm_type(double p)
{
    if (!(p > 0))   /* also NaN */
        return rv_fail(RV_ERR_ARG, "norm_type must be > 0 or inf, got %g", p);
    return RV_OK;
}

static rv_status check_grads(const grads *x)
{
    if (x->count && (!x->g || !x->n))
        return rv_fail(RV_ERR_NULL, "gradient clipping: grads or sizes is NULL");
    for (size_t i = 0; i < x->count; i++)
        if (x->n[i] && !x->g[i])
            return rv_fail(RV_ERR_NULL, "gradient clipping: array %zu is NULL", i);
    return RV_OK;
}

/* Total norm over all tensors: each tensor's norm as float32, then the norm
   of those norms as float32 (torch: norm(stack([norm(g) for g in grads]))). */
static rv_status total_norm(const grads *x, double p, float *out)
{
    size_t total = 0, n_blocks = 0;
    for (size_t t = 0; t < x->count; t++) {
        total += x->n[t];
        n_blocks += (x->n[t] + BLOCK - 1) / BLOCK;
    }
    block *blocks = malloc((n_blocks ? n_blocks : 1) * sizeof *blocks);
    double *part = malloc((n_blocks ? n_blocks : 1) * sizeof *part);
    if (!blocks || !part) {
        free(blocks);
        free(part);
        return rv_fail(RV_ERR_NOMEM, "out of memory computing the gradient norm");
    }
    size_t b = 0;
    for (size_t t = 0; t < x->count; t++)
        for (size_t off = 0; off < x->n[t]; off += BLOCK) {
            size_t rest = x->n[t] - off;
            blocks[b++] = (block){t, off, rest < BLOCK ? rest : BLOCK};
        }
    long nb = (long)n_blocks;
    (void)total;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads_for(x, total))
#endif
    for (long k = 0; k < nb; k++)
        part[k] = block_sum(x->g[blocks[k].tensor] + blocks[k].offset, blocks[k].len, p);

    double sum_of_norms = 0;   /* over tensors: norm_t^p, or max */
    b = 0;
    for (size_t t = 0; t < x->count; t++) {
        double s = 0;
        for (size_t off = 0; off < x->n[t]; off += BLOCK, b++) {
            if (isinf(p))
                s = isnan(part[b]) || part[b] > s ? part[b] : s;
            else
                s += part[b];
        }
        double norm_t = (double)finish(s, p);
        if (isinf(p))
            sum_of_norms = isnan(norm_t) || norm_t > sum_of_norms ? norm_t : sum_of_norms;
        else
            sum_of_norms += p == 2.0 ? norm_t * norm_t : p == 1.0 ? fabs(norm_t) : pow(fabs(norm_t), p);
    }
    free(blocks);
    free(part);
    *out = finish(sum_of_norms, p);
    return RV_OK;
}

/* Name the first non-finite element, for the error message. */
static void first_nonfinite(const grads *x, char *buf, size_t size)
{
    for (size_t t = 0; t < x->count; t++)
        for (size_t i = 0; i < x->n[t]; i++)
            if (!isfinite(x->g[t][i])) {
                if (x->names)
                    snprintf(buf, size, "tensor %zu ('%s') has %g at index %zu", t, x->names[t],
                             (double)x->g[t][i], i);
                else
                    snprintf(buf, size, "array %zu has %g at index %zu", t, (double)x->g[t][i], i);
                return;
            }
    snprintf(buf, size, "every element is finite; the sum overflowed");
}

static rv_status clip_norm(const grads *x, double max_norm, const rv_clip_options *options,
                           double *total_out)
{
    rv_clip_options o = options ? *options : rv_clip_defaults();
    rv_status s;
    if ((s = check_norm_type(o.norm_type)) || (s = check_grads(x)))
        return s;
    if (!(max_norm >= 0))
        return rv_fail(RV_ERR_ARG, "max_norm must be >= 0, got %g", max_norm);
    if (o.error_if_nonfinite != 0 && o.error_if_nonfinite != 1)
        return rv_fail(RV_ERR_ARG, "error_if_nonfinite must be 0 or 1, got %d", o.error_if_nonfinite);
    if (!x->count) {   /* torch returns tensor(0.) for no gradients */
        if (total_out)
            *total_out = 0;
        return RV_OK;
    }
    float total;
    if ((s = total_norm(x, o.norm_type, &total)))
        return s;
    if (o.error_if_nonfinite && !isfinite(total)) {
        char where[256];
        first_nonfinite(x, where, sizeof where);
        return rv_fail(RV_ERR_NONFINITE_GRAD,
                       "the total gradient norm of order %g is %g, so it cannot be clipped (%s); "
                       "nothing was changed",
                       o.norm_type, (double)total, where);
    }
    /* torch: clip_coef = max_norm / (total + 1e-6), evaluated as
       (total + 1e-6).reciprocal() * max_norm in float32, then clamp(max=1) */
    float coef = (1.0f / (total + 1e-6f)) * (float)max_norm;
    if (!(coef <= 1.0f) && !isnan(coef))
        coef = 1.0f;
    if (coef != 1.0f) {
        size_t all = 0;
        for (size_t t = 0; t < x->count; t++)
            all += x->n[t];
        (void)all;
        for (size_t t = 0; t < x->count; t++) {
            float *g = x->g[t];
            long n = (long)x->n[t];
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads_for(x, all))
#endif
            for (long i = 0; i < n; i++)
                g[i] *= coef;
        }
    }
    if (total_out)
        *total_out = (double)total;
    return RV_OK;
}

static rv_status clip_value(const grads *x, double clip_value)
{
    rv_status s = check_grads(x);
    if (s)
        return s;
    if (!(clip_value >= 0))
        return rv_fail(RV_ERR_ARG, "clip_value must be >= 0, got %g", clip_value);
    /* torch clamps with the value as float32; NaN stays NaN */
    float hi = (float)clip_value, lo = -hi;
    for (size_t t = 0; t < x->count; t++) {
        float *g = x->g[t];
        for (size_t i = 0; i < x->n[t]; i++)
            g[i] = g[i] < lo ? lo : g[i] > hi ? hi : g[i];
    }
    return RV_OK;
}

/* ---- the optimizer's gradients -------------------------------------- */

typedef struct opt_grads {
    grads x;
    float **g;
    size_t *n;
    const char **names;
} opt_grads;

static rv_status gather(const rv_optim *opt, opt_grads *o)
{
    memset(o, 0, sizeof *o);
    if (!opt)
        return rv_fail(RV_ERR_NULL, "gradient clipping: optimizer is NULL");
    size_t count = rv_optim_param_count(opt);
    o->g = malloc((count ? count : 1) * sizeof *o->g);
    o->n = malloc((count ? count : 1) * sizeof *o->n);
    o->names = malloc((count ? count : 1) * sizeof *o->names);
    if (!o->g || !o->n || !o->names) {
        free(o->g);
        free(o->n);
        free(o->names);
        return rv_fail(RV_ERR_NOMEM, "out of memory in gradient clipping");
    }
    for (size_t i = 0; i < count; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        o->g[i] = v.grad;
        o->n[i] = v.n;
        o->names[i] = v.name;
    }
    o->x = (grads){o->g, o->n, o->names, count, rv_optim_get_threads(opt)};
    return RV_OK;
}

static void release(opt_grads *o)
{
    free(o->g);
    free(o->n);
    free(o->names);
}

rv_clip_options rv_clip_defaults(void) { return (rv_clip_options){2.0, 0}; }

rv_status rv_grad_norm(const rv_optim *opt, double norm_type, double *total_out)
{
    if (!total_out)
        return rv_fail(RV_ERR_NULL, "rv_grad_norm: total_norm is NULL");
    rv_status s = check_norm_type(norm_type);
    opt_grads o;
    if (s || (s = gather(opt, &o)))
        return s;
    float total = 0;
    if (o.x.count && !(s = check_grads(&o.x)))
        s = total_norm(&o.x, norm_type, &total);
    if (!s)
        *total_out = (double)total;
    release(&o);
    return s;
}

rv_status rv_clip_grad_norm(rv_optim *opt, double max_norm, const rv_clip_options *options,
                            double *total_norm_out)
{
    opt_grads o;
    rv_status s = gather(opt, &o);
    if (s)
        return s;
    s = clip_norm(&o.x, max_norm, options, total_norm_out);
    release(&o);
    return s;
}

rv_status rv_clip_grad_norm_arrays(float *const *g, const size_t *sizes, size_t count,
                                   double max_norm, const rv_clip_options *options,
                                   double *total_norm_out)
{
    grads x = {g, sizes, NULL, count, 0};
    return clip_norm(&x, max_norm, options, total_norm_out);
}

rv_status rv_clip_grad_value(rv_optim *opt, double v)
{
    opt_grads o;
    rv_status s = gather(opt, &o);
    if (s)
        return s;
    s = clip_value(&o.x, v);
    release(&o);
    return s;
}

rv_status rv_clip_grad_value_arrays(float *const *g, const size_t *sizes, size_t count, double v)
{
    grads x = {g, sizes, NULL, count, 0};
    return clip_value(&x, v);
}
