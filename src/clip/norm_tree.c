/* The fixed summation order of gradient norms (see norm_tree.h). */
#include "clip/norm_tree.h"
#include "core/error.h"

static inline double power(float g, double p)
{
    double a = fabs((double)g);
    return p == 2.0 ? a * a : p == 1.0 ? a : pow(a, p);
}

static inline double tree8(const double *a)
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

double rv_norm_line(const float *g, size_t i0, size_t len, double p)
{
    if (isinf(p)) {
        double m = 0;
        for (size_t i = 0; i < len; i++)
            m = rv_norm_fold(m, fabs((double)g[i]), p);
        return m;
    }
    double a[8] = {0};
    if (len == RV_NORM_LINE && i0 % RV_NORM_LINE == 0) {
        /* a whole line: accumulator k gets elements k and k + 8 (0 + a = a
           exactly, so this equals the general loop below) */
        if (p == 2.0)
            for (int k = 0; k < 8; k++)
                a[k] = (double)g[k] * (double)g[k] + (double)g[k + 8] * (double)g[k + 8];
        else
            for (int k = 0; k < 8; k++)
                a[k] = power(g[k], p) + power(g[k + 8], p);
        return tree8(a);
    }
    for (size_t i = 0; i < len; i++)
        a[(i0 + i) & 7] += power(g[i], p);
    return tree8(a);
}

typedef double (*part_fn)(const float *g, size_t i, size_t len, double p);

/* Fold the pieces of [i, i + len) cut at multiples of `size`, in order. */
static double fold_pieces(const float *g, size_t i, size_t len, double p, size_t size,
                          part_fn part)
{
    double acc = 0;
    for (size_t end = i + len; i < end;) {
        size_t to = (i / size + 1) * size;
        to = to < end ? to : end;
        acc = rv_norm_fold(acc, part(g, i, to - i, p), p);
        g += to - i;
        i = to;
    }
    return acc;
}

double rv_norm_block(const float *g, size_t i, size_t len, double p)
{
    return fold_pieces(g, i, len, p, RV_NORM_LINE, rv_norm_line);
}

double rv_norm_tensor(const float *g, size_t n, double p)
{
    return fold_pieces(g, 0, n, p, RV_NORM_BLOCK, rv_norm_block);
}

float rv_norm_finish(double sum, double p)
{
    if (isinf(p) || p == 1.0)
        return (float)sum;
    if (p == 2.0)
        return (float)sqrt(sum);
    return (float)pow(sum, 1.0 / p);
}

float rv_norm_total(const double *sums, size_t count, double p)
{
    double acc = 0;   /* over tensors: norm_t^p, or the maximum */
    for (size_t t = 0; t < count; t++) {
        double norm_t = (double)rv_norm_finish(sums[t], p);
        if (isinf(p))
            acc = isnan(norm_t) || norm_t > acc ? norm_t : acc;
        else
            acc += p == 2.0 ? norm_t * norm_t : p == 1.0 ? fabs(norm_t) : pow(fabs(norm_t), p);
    }
    return rv_norm_finish(acc, p);
}

float rv_clip_coefficient(float total, double max_norm)
{
    /* torch: clip_coef = max_norm / (total + 1e-6), evaluated as
       (total + 1e-6).reciprocal() * max_norm in float32, then clamp(max=1) */
    float coef = (1.0f / (total + 1e-6f)) * (float)max_norm;
    if (!(coef <= 1.0f) && !isnan(coef))
        coef = 1.0f;
    return coef;
}

rv_status rv_clip_check_norm_type(double p)
{
    if (!(p > 0))   /* also NaN */
        return rv_fail(RV_ERR_ARG, "norm_type must be > 0 or inf, got %g", p);
    return RV_OK;
}

rv_status rv_clip_nonfinite(double p, float total, const char *where)
{
    return rv_fail(RV_ERR_NONFINITE_GRAD,
                   "the total gradient norm of order %g is %g, so it cannot be clipped (%s); "
                   "nothing was changed",
                   p, (double)total, where);
}
