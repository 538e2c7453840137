/* Gradient clipping by global norm and by value, torch.nn.utils semantics.

   The norm's sums follow the fixed order of clip/norm_tree.h: blocks are
   summed by one thread each and folded per tensor in order, so the result
   does not depend on the thread count, and a sharded optimizer (src/dist/)
   gets the same bits from its ranks' parts. */
#include "ravine/clip.h"
#include "clip/norm_tree.h"
#include "core/error.h"
#include "optim/precision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* below this many elements everything runs on the calling thread */
#define PARALLEL_MIN ((size_t)1 << 16)

/* A block of one tensor (see clip/norm_tree.h). */
typedef struct block {
    size_t tensor, at, len;
} block;

/* The tensors to work on: gradient buffers, sizes and names for messages. */
typedef struct grads {
    float *const *g;
    const size_t *n;
    const char *const *names;   /* NULL: "array <i>" */
    size_t count;
    int threads;                /* 0: OpenMP's default */
    /* optimizer form: a NULL buffer is a tensor left out of steps (torch
       skips a .grad of None); it takes no part but keeps its place in the
       index space */
    int skip_null;
} grads;

#ifdef _OPENMP
static inline int threads_for(const grads *x, size_t total)
{
    if (total < PARALLEL_MIN)
        return 1;
    return x->threads > 0 ? x->threads : omp_get_max_threads();
}
#endif

static rv_status check_grads(const grads *x)
{
    if (x->count && (!x->g || !x->n))
        return rv_fail(RV_ERR_NULL, "gradient clipping: grads or sizes is NULL");
    for (size_t i = 0; !x->skip_null && i < x->count; i++)
        if (x->n[i] && !x->g[i])
            return rv_fail(RV_ERR_NULL, "gradient clipping: array %zu is NULL", i);
    return RV_OK;
}

/* Total norm over all tensors: each tensor's norm as float32, then the norm
   of those norms as float32 (torch: norm(stack([norm(g) for g in grads]))).
   Blocks are summed in parallel, then folded per tensor in order. */
static rv_status total_norm(const grads *x, double p, float *out)
{
    size_t total = 0, n_blocks = 0;
    for (size_t t = 0; t < x->count; t++) {
        total += x->n[t];
        n_blocks += x->g[t] ? (x->n[t] + RV_NORM_BLOCK - 1) / RV_NORM_BLOCK : 0;
    }
    block *blocks = malloc((n_blocks ? n_blocks : 1) * sizeof *blocks);
    double *part = malloc((n_blocks ? n_blocks : 1) * sizeof *part);
    double *sums = malloc((x->count ? x->count : 1) * sizeof *sums);
    if (!blocks || !part || !sums) {
        free(blocks);
        free(part);
        free(sums);
        return rv_fail(RV_ERR_NOMEM, "out of memory computing the gradient norm");
    }
    size_t b = 0;
    for (size_t t = 0; t < x->count; t++)
        for (size_t at = 0; x->g[t] && at < x->n[t]; at = rv_norm_block_end(at, x->n[t]))
            blocks[b++] = (block){t, at, rv_norm_block_end(at, x->n[t]) - at};
    long nb = (long)n_blocks;
    (void)total;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads_for(x, total))
#endif
    for (long k = 0; k < nb; k++) {
        const block *q = &blocks[k];
        part[k] = rv_norm_block(x->g[q->tensor] + q->at, q->at, q->len, p);
    }
    b = 0;
    for (size_t t = 0; t < x->count; t++) {
        sums[t] = 0;
        for (; b < n_blocks && blocks[b].tensor == t; b++)
            sums[t] = rv_norm_fold(sums[t], part[b], p);
    }
    *out = rv_norm_total(sums, x->count, p);
    free(blocks);
    free(part);
    free(sums);
    return RV_OK;
}

/* Name the first non-finite element, for the error message. */
static void first_nonfinite(const grads *x, char *buf, size_t size)
{
    for (size_t t = 0; t < x->count; t++)
        for (size_t i = 0; x->g[t] && i < x->n[t]; i++)
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
    if ((s = rv_clip_check_norm_type(o.norm_type)) || (s = check_grads(x)))
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
        return rv_clip_nonfinite(o.norm_type, total, where);
    }
    float coef = rv_clip_coefficient(total, max_norm);
    if (coef != 1.0f) {
        size_t all = 0;
        for (size_t t = 0; t < x->count; t++)
            all += x->n[t];
        (void)all;
        for (size_t t = 0; t < x->count; t++) {
            float *g = x->g[t];
            long n = g ? (long)x->n[t] : 0;
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
        for (size_t i = 0; g && i < x->n[t]; i++)
            g[i] = g[i] < lo ? lo : g[i] > hi ? hi : g[i];
    }
    return RV_OK;
}

/* ---- the optimizer's gradients -------------------------------------- */

/* bf16 gradients are clipped in float32: widened into a copy, clipped with
   the rest, and written back rounded to nearest even. */
typedef struct opt_grads {
    grads x;
    float **g;
    size_t *n;
    const char **names;
    uint16_t **bf16;    /* per tensor: its bf16 gradient, or NULL */
} opt_grads;

static void release(opt_grads *o)
{
    for (size_t i = 0; o->bf16 && i < o->x.count; i++)
        if (o->bf16[i])
            free(o->g[i]);
    free(o->g);
    free(o->n);
    free(o->names);
    free(o->bf16);
}

/* the clipped copies back into the bf16 gradients */
static void write_back(opt_grads *o)
{
    for (size_t i = 0; i < o->x.count; i++)
        if (o->bf16[i])
            rv_bf16_narrow(o->g[i], o->bf16[i], o->n[i]);
}

static rv_status gather(const rv_optim *opt, opt_grads *o)
{
    memset(o, 0, sizeof *o);
    if (!opt)
        return rv_fail(RV_ERR_NULL, "gradient clipping: optimizer is NULL");
    size_t count = rv_optim_param_count(opt);
    o->g = calloc(count ? count : 1, sizeof *o->g);
    o->n = malloc((count ? count : 1) * sizeof *o->n);
    o->names = malloc((count ? count : 1) * sizeof *o->names);
    o->bf16 = calloc(count ? count : 1, sizeof *o->bf16);
    o->x.count = count;
    if (!o->g || !o->n || !o->names || !o->bf16) {
        release(o);
        return rv_fail(RV_ERR_NOMEM, "out of memory in gradient clipping");
    }
    for (size_t i = 0; i < count; i++) {
        rv_param_view v;
        rv_optim_param_view(opt, i, &v);
        o->g[i] = v.grad;
        o->n[i] = v.n;
        o->names[i] = v.name;
        if (v.dtype == RV_BF16 && v.grad_data) {
            o->bf16[i] = v.grad_data;
            if (!(o->g[i] = malloc((v.n ? v.n : 1) * sizeof(float)))) {
                o->bf16[i] = NULL;
                release(o);
                return rv_fail(RV_ERR_NOMEM, "out of memory widening bf16 gradients for clipping");
            }
            rv_bf16_widen(o->bf16[i], o->g[i], v.n);
        }
    }
    o->x = (grads){o->g, o->n, o->names, count, rv_optim_get_threads(opt), 1};
    return RV_OK;
}

rv_clip_options rv_clip_defaults(void) { return (rv_clip_options){2.0, 0}; }

rv_status rv_grad_norm(const rv_optim *opt, double norm_type, double *total_out)
{
    if (!total_out)
        return rv_fail(RV_ERR_NULL, "rv_grad_norm: total_norm is NULL");
    rv_status s = rv_clip_check_norm_type(norm_type);
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
    if (!s)
        write_back(&o);
    release(&o);
    return s;
}

rv_status rv_clip_grad_norm_arrays(float *const *g, const size_t *sizes, size_t count,
                                   double max_norm, const rv_clip_options *options,
                                   double *total_norm_out)
{
    grads x = {g, sizes, NULL, count, 0, 0};
    return clip_norm(&x, max_norm, options, total_norm_out);
}

rv_status rv_clip_grad_value(rv_optim *opt, double v)
{
    opt_grads o;
    rv_status s = gather(opt, &o);
    if (s)
        return s;
    s = clip_value(&o.x, v);
    if (!s)
        write_back(&o);
    release(&o);
    return s;
}

rv_status rv_clip_grad_value_arrays(float *const *g, const size_t *sizes, size_t count, double v)
{
    grads x = {g, sizes, NULL, count, 0, 0};
    return clip_value(&x, v);
}
