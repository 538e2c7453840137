/* The bandwidth yardstick (same-traffic kernels), interleaved step timing
   and the GPT-2 124M tensor list. See ravine/bench.h. */
#include "ravine/bench.h"
#include "optim/type.h"
#include "optim/matmul.h"
#include "optim/fused.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- same-traffic kernels --------------------------------------------- */

static const char *const no_keys[] = {NULL};

static void traffic_defaults(rv_hparams *h) { h->lr = 1e-3; }

static rv_status traffic_validate(const rv_hparams *h)
{
    return rv_check_min(RV_ERR_LR, "lr", h->lr, 0.0);
}

static void traffic_prepare(const rv_hparams *h, long step, double *scalars, rv_coeffs *c)
{
    (void)scalars;
    (void)step;
    *c = (rv_coeffs){0};
    c->neg_lr = (float)-h->lr;
    c->beta1 = 0.5f; /* keeps the state bounded however long it runs */
}

static const char *traffic_state_name(size_t k, size_t i)
{
    static const char *const names[] = {"s0", "s1", "s2"};
    return i < k ? names[i] : NULL;
}

/* Reads g, p and k state streams, writes p and the k state streams: the
   access pattern of an optimizer with k state buffers, with a multiply-add
   where the optimizer has its arithmetic. */
RV_INLINE void traffic_loop(const rv_coeffs *c, size_t n, float *restrict p,
                            const float *restrict g, float *const *s, size_t k)
{
    float *restrict s0 = k > 0 ? s[0] : NULL;
    float *restrict s1 = k > 1 ? s[1] : NULL;
    float *restrict s2 = k > 2 ? s[2] : NULL;
    float lr = c->neg_lr, half = c->beta1;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        p[i] = p[i] + lr * gi;
        if (k > 0)
            s0[i] = s0[i] * half + gi;
        if (k > 1)
            s1[i] = s1[i] * half + gi;
        if (k > 2)
            s2[i] = s2[i] * half + gi;
    }
}

#define TRAFFIC_TYPE(K, BYTES)                                                                \
    static size_t traffic##K##_count(const rv_hparams *h, const rv_shape *shape)            \
    {                                                                                         \
        (void)h;                                                                              \
        (void)shape;                                                                          \
        return K;                                                                             \
    }                                                                                         \
    static const char *traffic##K##_name(const rv_hparams *h, const rv_shape *shape,         \
                                         size_t i)                                            \
    {                                                                                         \
        (void)h;                                                                              \
        (void)shape;                                                                          \
        return traffic_state_name(K, i);                                                      \
    }                                                                                         \
    RV_FUSED                                                                                  \
    static void traffic##K##_update(const rv_coeffs *c, size_t n, float *p, const float *g, \
                                    float *const *s)                                          \
    {                                                                                         \
        traffic_loop(c, n, p, g, s, K);                                                       \
    }                                                                                         \
    static void traffic##K##_traced(const rv_coeffs *c, float *p, float g, float *const *s,  \
                                    rv_trace *tr)                                             \
    {                                                                                         \
        tr->grad = tr->grad_used = g;                                                         \
        tr->param_before = tr->param_decayed = *p;                                            \
        traffic_loop(c, 1, p, &g, s, K);                                                      \
        tr->param_after = *p;                                                                 \
    }                                                                                         \
    static const rv_optim_type traffic##K##_type = {                                         \
        .name = "traffic" #BYTES,                                                             \
        .summary = "same-traffic baseline: reads g, p and " #K " state buffer(s), writes p "  \
                   "and the state back (" #BYTES " bytes per parameter), one multiply-add "   \
                   "each",                                                                    \
        .keys = no_keys,                                                                      \
        .defaults = traffic_defaults,                                                         \
        .validate = traffic_validate,                                                         \
        .state_count = traffic##K##_count,                                                    \
        .state_name = traffic##K##_name,                                                      \
        .prepare = traffic_prepare,                                                           \
        .update = traffic##K##_update,                                                        \
        .update_traced = traffic##K##_traced,                                                 \
    };

TRAFFIC_TYPE(0, 12)
TRAFFIC_TYPE(1, 20)
TRAFFIC_TYPE(2, 28)
TRAFFIC_TYPE(3, 36)

const rv_optim_type *rv_bench_traffic_type(size_t n_state)
{
    static const rv_optim_type *const types[] = {&traffic0_type, &traffic1_type, &traffic2_type,
                                                 &traffic3_type};
    return n_state < 4 ? types[n_state] : NULL;
}

size_t rv_bench_bytes_per_param(const rv_optim_type *type, const rv_hparams *h)
{
    if (!type || !h)
        return 0;
    return sizeof(float) * (3 + 2 * type->state_count(h, NULL));
}

/* ---- timing ------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

rv_status rv_bench_steps(rv_optim *const *opts, size_t n, int warmup, int reps,
                         rv_bench_timing *out)
{
    if (!opts || !out)
        return rv_fail(RV_ERR_NULL, "rv_bench_steps: %s is NULL", opts ? "out" : "opts");
    rv_bench_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs)
        return rv_fail(RV_ERR_NOMEM, "rv_bench_steps: out of memory");
    for (size_t i = 0; i < n; i++)
        jobs[i].opt = opts[i];
    rv_status s = rv_bench_run(jobs, n, warmup, reps, out);
    free(jobs);
    return s;
}

rv_status rv_bench_run(const rv_bench_job *jobs, size_t n, int warmup, int reps,
                       rv_bench_timing *out)
{
    if (!jobs || !out)
        return rv_fail(RV_ERR_NULL, "rv_bench_steps: %s is NULL", jobs ? "out" : "jobs");
    for (size_t i = 0; i < n; i++)
        if (!jobs[i].opt == !jobs[i].stream)
            return rv_fail(RV_ERR_NULL, "rv_bench_steps: job %zu needs one optimizer or loop", i);
    if (warmup < 0)
        return rv_fail(RV_ERR_ARG, "rv_bench_steps: warmup must be >= 0, got %d", warmup);
    if (reps < 1)
        return rv_fail(RV_ERR_ARG, "rv_bench_steps: reps must be >= 1, got %d", reps);
    if (!n)
        return RV_OK;
    double *ms = malloc(n * (size_t)reps * sizeof *ms);
    if (!ms)
        return rv_fail(RV_ERR_NOMEM, "rv_bench_steps: out of memory for %d timings", reps);
    rv_status s = RV_OK;
    for (int r = -warmup; r < reps && !s; r++)
        for (size_t i = 0; i < n && !s; i++) {
            double t0 = now_ms();
            if (jobs[i].opt)
                s = rv_optim_step(jobs[i].opt);
            else
                rv_bench_stream_run(jobs[i].stream);
            if (r >= 0)
                ms[i * (size_t)reps + (size_t)r] = now_ms() - t0;
        }
    for (size_t i = 0; i < n && !s; i++) {
        double *mine = ms + i * (size_t)reps;
        qsort(mine, (size_t)reps, sizeof *mine, compare_doubles);
        out[i].median_ms = reps % 2 ? mine[reps / 2] : 0.5 * (mine[reps / 2 - 1] + mine[reps / 2]);
        out[i].min_ms = mine[0];
        out[i].reps = reps;
    }
    free(ms);
    return s;
}

int rv_bench_traffic_of(const rv_optim_type *type, const rv_hparams *h, rv_precision params,
                        rv_bench_traffic *out)
{
    if (!type || !h || !out)
        return 0;
    size_t k = type->state_count(h, NULL);
    int uniform = k <= 3;
    for (size_t i = 0; i < k; i++)
        if (h->state != RV_FP32 && type->state_kind && type->state_kind(h, i) == RV_BUF_EXACT)
            uniform = 0;
    *out = (rv_bench_traffic){params, h->state, (int)(k <= 3 ? k : 3)};
    return uniform;
}

static int compare_floats(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rv_bench_sgemm_gflops(size_t m, size_t n, size_t k, int reps)
{
    float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b), *c = malloc(m * n * sizeof *c);
    double *ms = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *ms);
    double rate = 0;
    if (a && b && c && ms && reps > 0) {
        for (size_t i = 0; i < m * k; i++)
            a[i] = (float)((i * 7 % 13) - 6) * 0.01f;
        for (size_t i = 0; i < k * n; i++)
            b[i] = (float)((i * 5 % 11) - 5) * 0.01f;
        rv_matmul(0, m, n, k, 1.0f, a, b, 0.0f, c);
        for (int r = 0; r < reps; r++) {
            double t0 = now_ms();
            rv_matmul(0, m, n, k, 1.0f, a, b, 0.0f, c);
            ms[r] = now_ms() - t0;
        }
        qsort(ms, (size_t)reps, sizeof *ms, compare_floats);
        rate = 2.0 * (double)m * (double)n * (double)k / (ms[reps / 2] * 1e6);
    }
    free(a);
    free(b);
    free(c);
    free(ms);
    return rate;
}

double rv_bench_muon_flops(const rv_hparams *h, size_t rows, size_t cols)
{
    if (!h)
        return 0;
    double m = (double)(rows < cols ? rows : cols), k = (double)(rows < cols ? cols : rows);
    return h->ns_steps * (4.0 * m * m * k + 2.0 * m * m * m);
}

/* ---- GPT-2 124M --------------------------------------------------------- */

size_t rv_bench_gpt2_124m(rv_bench_tensor *out, size_t cap)
{
    enum { C = 768, V = 50257, T = 1024, LAYERS = 12 };
    static const struct {
        const char *name;
        size_t rows, cols;
    } block[] = {
        {"ln_1.weight", C, 1},           {"ln_1.bias", C, 1},
        {"attn.c_attn.weight", C, 3 * C}, {"attn.c_attn.bias", 3 * C, 1},
        {"attn.c_proj.weight", C, C},     {"attn.c_proj.bias", C, 1},
        {"ln_2.weight", C, 1},           {"ln_2.bias", C, 1},
        {"mlp.c_fc.weight", C, 4 * C},    {"mlp.c_fc.bias", 4 * C, 1},
        {"mlp.c_proj.weight", 4 * C, C},  {"mlp.c_proj.bias", C, 1},
    };
    size_t k = 0;
#define GPT2_ADD(rows_, cols_, ...)                                                     \
    do {                                                                                \
        if (k < cap) {                                                                  \
            snprintf(out[k].name, sizeof out[k].name, __VA_ARGS__);                    \
            out[k].rows = (rows_);                                                      \
            out[k].cols = (cols_);                                                      \
        }                                                                               \
        k++;                                                                            \
    } while (0)
    GPT2_ADD(V, C, "wte");
    GPT2_ADD(T, C, "wpe");
    for (int l = 0; l < LAYERS; l++)
        for (size_t b = 0; b < sizeof block / sizeof block[0]; b++)
            GPT2_ADD(block[b].rows, block[b].cols, "h.%d.%s", l, block[b].name);
    GPT2_ADD(C, 1, "ln_f.weight");
    GPT2_ADD(C, 1, "ln_f.bias");
#undef GPT2_ADD
    return k;
}
