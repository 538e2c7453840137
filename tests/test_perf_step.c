/* Correctness of the fast step (never its speed): the fused, vectorised,
   threaded update must give bit-for-bit the numbers of the per-element
   kernels (src/kernels/) applied one element at a time, for every
   optimizer and flag combination, any thread count, odd sizes, unaligned
   buffers and many small tensors; a failed state allocation changes nothing. */
#include "ravine/ravine.h"
#include "optim/type.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>

/* The state-allocation test asks for an impossible amount of memory on
   purpose; under AddressSanitizer that must return NULL, not abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ---- data -------------------------------------------------------------- */

static uint32_t rng = 12345;
static float uniform(float lo, float hi)
{
    rng = rng * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rng >> 8) / 16777216.0f;
}

static void fill(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = uniform(lo, hi);
}

/* Gradient of step t for element i: mixed signs and sizes, some zeros. */
static float grad_value(uint32_t t, size_t i)
{
    uint32_t h = (uint32_t)i * 2654435761u ^ (t + 1) * 40503u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    if (h % 17 == 0)
        return 0.0f;
    float mag = (float)(h >> 8 & 0xffff) / 65536.0f;
    float scale = (h & 3) == 0 ? 100.0f : (h & 3) == 1 ? 1e-4f : 1.0f;
    return (h & 4 ? -mag : mag) * scale;
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof(float)) == 0;
}

/* Bitwise equal, or NaN in both: the sign of a NaN is not specified by
   IEEE 754 arithmetic, and compilers may rewrite (-g)*(-g) as g*g. */
static int same_values(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) && !(isnan(a[i]) && isnan(b[i])))
            return 0;
    return 1;
}

/* ---- the reference: one element at a time ------------------------------ */

/* The algorithm's per-element kernel (via its traced entry, which calls the
   src/kernels/ function with the same flags), element by element. */
static void reference_update(const rv_optim_type *type, const rv_hparams *h, long step, size_t n,
                             float *p, const float *g, float *const *state, size_t n_state)
{
    rv_coeffs c;
    double scalars[RV_MAX_SCALARS] = {0};
    type->prepare(h, step, scalars, &c);
    for (size_t i = 0; i < n; i++) {
        float *s[RV_MAX_STATE] = {0};
        for (size_t j = 0; j < n_state; j++)
            s[j] = state[j] + i;
        rv_trace tr;
        type->update_traced(&c, &p[i], g[i], s, &tr);
    }
}

/* ---- every optimizer and flag combination ------------------------------ */

#define MAX_CONFIGS 128
static char configs[MAX_CONFIGS][160];
static size_t n_configs;

static void add_config(const char *spec)
{
    snprintf(configs[n_configs++], sizeof configs[0], "%s", spec);
}

static void build_configs(void)
{
    static const char *const tf[] = {"false", "true"};
    static const char *const sgd_mom[] = {"momentum=0", "momentum=0.9",
                                          "momentum=0.9, dampening=0.5",
                                          "momentum=0.9, nesterov=true"};
    char s[160];
    for (int mx = 0; mx < 2; mx++)
        for (int wd = 0; wd < 2; wd++) {
            for (int m = 0; m < 4; m++) {
                snprintf(s, sizeof s, "sgd(lr=0.1, %s, weight_decay=%s, maximize=%s)", sgd_mom[m],
                         wd ? "0.1" : "0", tf[mx]);
                add_config(s);
            }
            for (int ams = 0; ams < 2; ams++) {
                snprintf(s, sizeof s, "adam(lr=0.01, weight_decay=%s, amsgrad=%s, maximize=%s)",
                         wd ? "0.1" : "0", tf[ams], tf[mx]);
                add_config(s);
                for (int after = 0; after < 2; after++) {
                    snprintf(s, sizeof s,
                             "adamw(lr=0.01, weight_decay=%s, amsgrad=%s, maximize=%s, decay=%s)",
                             wd ? "0.1" : "0", tf[ams], tf[mx], after ? "after" : "before");
                    add_config(s);
                }
            }
            for (int cen = 0; cen < 2; cen++)
                for (int mom = 0; mom < 2; mom++) {
                    snprintf(s, sizeof s,
                             "rmsprop(lr=0.01, weight_decay=%s, centered=%s, momentum=%s, "
                             "maximize=%s)",
                             wd ? "0.1" : "0", tf[cen], mom ? "0.9" : "0", tf[mx]);
                    add_config(s);
                }
            snprintf(s, sizeof s,
                     "adagrad(lr=0.1, weight_decay=%s, lr_decay=%s, initial_accumulator_value=%s, "
                     "maximize=%s)",
                     wd ? "0.1" : "0", wd ? "0.01" : "0", mx ? "0.5" : "0", tf[mx]);
            add_config(s);
        }
    for (int wd = 0; wd < 2; wd++) {
        snprintf(s, sizeof s, "polyak(lr=0.1, beta=0.8, weight_decay=%s)", wd ? "0.1" : "0");
        add_config(s);
    }
}

/* rv_update (the fused loop over the whole range) against the reference,
   for odd sizes and buffers that start 0..3 floats past an aligned address. */
static void fused_equals_reference(void)
{
    static const size_t sizes[] = {0, 1, 15, 17, 1003};
    enum { MAXN = 1024 }; /* a multiple of 16, so aligned_alloc's size is one of 64 */
    size_t configs_checked = 0;
    for (size_t ci = 0; ci < n_configs; ci++) {
        const rv_optim_type *type;
        rv_hparams h;
        CHECK_STATUS(rv_hparams_parse(configs[ci], &type, &h), RV_OK);
        size_t k = rv_state_count(type, &h);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (size_t shift = 0; shift < 4; shift++) {
                size_t n = sizes[si];
                /* two copies of everything: fused (a) and reference (b) */
                float *buf = aligned_alloc(64, 2 * (2 + RV_MAX_STATE) * MAXN * sizeof(float));
                float *pa = buf + shift, *pb = pa + MAXN, *g = buf + 2 * MAXN + (3 - shift);
                float *sa[RV_MAX_STATE], *sb[RV_MAX_STATE];
                for (size_t j = 0; j < RV_MAX_STATE; j++) {
                    sa[j] = buf + (3 + 2 * j) * MAXN + shift;
                    sb[j] = sa[j] + MAXN;
                }
                fill(pa, n, -2.0f, 2.0f);
                memcpy(pb, pa, n * sizeof(float));
                CHECK_STATUS(rv_state_init(type, &h, n, sa), RV_OK);
                CHECK_STATUS(rv_state_init(type, &h, n, sb), RV_OK);
                int ok = 1;
                for (long t = 1; t <= 3; t++) {
                    for (size_t i = 0; i < n; i++)
                        g[i] = grad_value((uint32_t)t, i);
                    CHECK_STATUS(rv_update(type, &h, t, n, pa, g, sa), RV_OK);
                    reference_update(type, &h, t, n, pb, g, sb, k);
                    ok &= same_bits(pa, pb, n);
                    for (size_t j = 0; j < k; j++)
                        ok &= same_bits(sa[j], sb[j], n);
                }
                CHECK_MSG(ok, "%s, n=%zu, offset %zu: fused and per-element results differ",
                          configs[ci], n, shift);
                configs_checked++;
                free(buf);
            }
    }
    CHECK(configs_checked == n_configs * 5 * 4);
}

/* Non-finite gradients flow through the fused loop as through the
   per-element kernel (torch behaviour under the default policy): the same
   bits everywhere, up to the sign of NaNs. */
static void nonfinite_flows_alike(void)
{
    for (size_t ci = 0; ci < n_configs; ci++) {
        const rv_optim_type *type;
        rv_hparams h;
        CHECK_STATUS(rv_hparams_parse(configs[ci], &type, &h), RV_OK);
        size_t k = rv_state_count(type, &h);
        enum { N = 37 };
        float pa[N], pb[N], g[N], st[2][RV_MAX_STATE][N];
        float *sa[RV_MAX_STATE], *sb[RV_MAX_STATE];
        for (size_t j = 0; j < RV_MAX_STATE; j++) {
            sa[j] = st[0][j];
            sb[j] = st[1][j];
        }
        fill(pa, N, -1.0f, 1.0f);
        memcpy(pb, pa, sizeof pa);
        rv_state_init(type, &h, N, sa);
        rv_state_init(type, &h, N, sb);
        for (size_t i = 0; i < N; i++)
            g[i] = grad_value(7, i);
        g[3] = NAN;
        g[20] = INFINITY;
        g[21] = -INFINITY;
        for (long t = 1; t <= 2; t++) {
            rv_update(type, &h, t, N, pa, g, sa);
            reference_update(type, &h, t, N, pb, g, sb, k);
        }
        int ok = same_values(pa, pb, N);
        for (size_t j = 0; j < k; j++)
            ok &= same_values(sa[j], sb[j], N);
        CHECK_MSG(ok, "%s: non-finite gradients give different bits", configs[ci]);
    }
}

/* ---- the threaded step -------------------------------------------------- */

/* llm.c-style layout: one flat parameter buffer and one flat gradient
   buffer, each tensor a slice of them. Sizes are odd so most tensors start
   at unaligned addresses; the big tensor starts 3 floats past a cache line. */
typedef struct layout {
    size_t n_tensors, total;
    size_t size[400], offset[400];
} layout;

static void many_small_and_one_big(layout *L, size_t big)
{
    size_t off = 0, t = 0;
    for (; t < 300; t++) {
        L->size[t] = t % 41;          /* includes empty tensors */
        L->offset[t] = off;
        off += L->size[t];
    }
    off = (off + 15) / 16 * 16 + 3;
    L->size[t] = big;
    L->offset[t] = off;
    off += big;
    t++;
    for (; t < 340; t++) {
        L->size[t] = 768 + t % 5;
        L->offset[t] = off;
        off += L->size[t];
    }
    L->n_tensors = t;
    L->total = off;
}

/* Run `steps` steps of spec over L with the given thread count (0: the
   reference, element by element); return the parameters and, in state_out,
   the concatenated state (caller frees both). */
static float *run_layout(const char *spec, const layout *L, int threads, int steps,
                         float **state_out, size_t *state_len)
{
    const rv_optim_type *type;
    rv_hparams h;
    rv_hparams_parse(spec, &type, &h);
    size_t k = rv_state_count(type, &h);
    float *p = malloc(L->total * sizeof(float) + 1), *g = malloc(L->total * sizeof(float) + 1);
    float *st = malloc((k ? k : 1) * L->total * sizeof(float));
    uint32_t saved = rng;
    rng = 99;
    fill(p, L->total, -1.0f, 1.0f);
    rng = saved;
    rv_optim *o = NULL;
    if (threads > 0) {
        CHECK_STATUS(rv_optim_create_spec(&o, spec), RV_OK);
        CHECK_STATUS(rv_optim_set_threads(o, threads), RV_OK);
#ifdef _OPENMP
        CHECK(rv_optim_get_threads(o) == threads);
#endif
        for (size_t t = 0; t < L->n_tensors; t++)
            CHECK_STATUS(rv_optim_add_param(o, 0, NULL, p + L->offset[t], g + L->offset[t],
                                            L->size[t], NULL),
                         RV_OK);
    } else {
        float *s[RV_MAX_STATE];
        for (size_t j = 0; j < k; j++)
            s[j] = st + j * L->total;
        rv_state_init(type, &h, L->total, s);
    }
    for (int step = 1; step <= steps; step++) {
        for (size_t i = 0; i < L->total; i++)
            g[i] = grad_value((uint32_t)step, i);
        if (o) {
            CHECK_STATUS(rv_optim_step(o), RV_OK);
            continue;
        }
        for (size_t t = 0; t < L->n_tensors; t++) {
            float *s[RV_MAX_STATE];
            for (size_t j = 0; j < k; j++)
                s[j] = st + j * L->total + L->offset[t];
            reference_update(type, &h, step, L->size[t], p + L->offset[t], g + L->offset[t], s,
                             k);
        }
    }
    if (o) {
        /* gather the state in the same flat order as the reference's */
        for (size_t t = 0; t < L->n_tensors; t++) {
            rv_param_view v;
            rv_optim_param_view(o, t, &v);
            for (size_t j = 0; j < k; j++)
                if (v.n)
                    memcpy(st + j * L->total + L->offset[t], v.state[j], v.n * sizeof(float));
        }
        rv_optim_free(o);
    }
    /* bytes between tensors are never written: zero them for the comparison */
    for (size_t t = 0; t + 1 < L->n_tensors; t++)
        for (size_t i = L->offset[t] + L->size[t]; i < L->offset[t + 1]; i++) {
            p[i] = 0.0f;
            for (size_t j = 0; j < k; j++)
                st[j * L->total + i] = 0.0f;
        }
    free(g);
    *state_out = st;
    *state_len = k * L->total;
    return p;
}

/* 1, 2 and 3 threads and the element-by-element reference agree bit for
   bit on 340 tensors (empty, tiny, 768-ish and one of 2^17+5 elements) for
   one configuration of every algorithm. */
static void threads_agree(void)
{
    static const char *const specs[] = {
        "adamw(lr=0.01, weight_decay=0.1, amsgrad=true)",
        "adam(lr=0.01, weight_decay=0.1, maximize=true)",
        "sgd(lr=0.1, momentum=0.9, nesterov=true, weight_decay=0.01)",
        "polyak(lr=0.1, weight_decay=0.01)",
        "rmsprop(lr=0.01, centered=true, momentum=0.9)",
        "adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)",
    };
    static layout L;
    many_small_and_one_big(&L, ((size_t)1 << 17) + 5);
    CHECK(L.total > ((size_t)1 << 16)); /* large enough for the threads to engage */
    for (size_t si = 0; si < sizeof specs / sizeof specs[0]; si++) {
        size_t len0;
        float *st0, *p0 = run_layout(specs[si], &L, 0, 3, &st0, &len0);
        for (int threads = 1; threads <= 3; threads++) {
            size_t len;
            float *st, *p = run_layout(specs[si], &L, threads, 3, &st, &len);
            CHECK_MSG(same_bits(p, p0, L.total) && len == len0 && same_bits(st, st0, len),
                      "%s with %d thread(s) differs from the per-element reference", specs[si],
                      threads);
            free(p);
            free(st);
        }
        free(p0);
        free(st0);
    }
}

/* One tensor of each odd size, 2^20 + 3 included, stepped by 2 threads. */
static void odd_sizes(void)
{
    static const size_t sizes[] = {0, 1, 15, 17, ((size_t)1 << 20) + 3};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        static layout L;
        L.n_tensors = 1;
        L.size[0] = sizes[si];
        L.offset[0] = 0;
        L.total = sizes[si];
        size_t len0, len;
        float *st0, *st;
        float *p0 = run_layout("adamw(lr=0.01)", &L, 0, 2, &st0, &len0);
        float *p = run_layout("adamw(lr=0.01)", &L, 2, 2, &st, &len);
        CHECK_MSG(same_bits(p, p0, L.total) && same_bits(st, st0, len0),
                  "adamw, one tensor of %zu: threaded step differs from the reference",
                  sizes[si]);
        free(p0);
        free(st0);
        free(p);
        free(st);
    }
}

/* ---- failures change nothing --------------------------------------------- */

static void state_allocation_failure(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "adamw(lr=0.1)"), RV_OK);
    float pa[4] = {1, 2, 3, 4}, ga[4] = {1, 1, 1, 1};
    float pb[5] = {5, 6, 7, 8, 9}, gb[5] = {1, 1, 1, 1, 1};
    size_t a, b, huge;
    CHECK_STATUS(rv_optim_add_param(o, 0, "a", pa, ga, 4, &a), RV_OK);
    CHECK_STATUS(rv_optim_ensure_state(o), RV_OK);
    rv_param_view va;
    rv_optim_param_view(o, a, &va);
    va.state[0][0] = 42.0f; /* as if restored from a checkpoint */
    CHECK_STATUS(rv_optim_add_param(o, 0, "b", pb, gb, 5, &b), RV_OK);
    /* a tensor whose state cannot exist: its buffers are never touched */
    float fake[1] = {0};
    size_t n_huge = SIZE_MAX / 64;
    CHECK_STATUS(rv_optim_add_param(o, 0, "huge", fake, fake, n_huge, &huge), RV_OK);
    char want[160];
    snprintf(want, sizeof want,
             "out of memory allocating optimizer state: %zu bytes for 2 tensor(s)",
             4 * (2 * (size_t)16 + 2 * ((n_huge + 15) & ~(size_t)15)));
    CHECK_STATUS(rv_optim_step(o), RV_ERR_NOMEM);
    CHECK_STR(rv_errmsg(), want);
    /* nothing changed: a keeps its state, b got none, no parameter moved */
    rv_param_view after_a, after_b;
    rv_optim_param_view(o, a, &after_a);
    rv_optim_param_view(o, b, &after_b);
    CHECK(after_a.state[0] == va.state[0] && after_a.state[0][0] == 42.0f);
    CHECK(after_b.state[0] == NULL && after_b.state[1] == NULL);
    CHECK(pa[0] == 1 && pa[3] == 4 && pb[0] == 5 && pb[4] == 9);
    CHECK(after_a.step == 0 && rv_optim_step_count(o) == 0);
    rv_optim_free(o);
}

/* The state of all tensors is one stream per buffer: tensor after tensor,
   each starting on a cache line, so small tensors cost no scattered blocks. */
static void state_is_one_stream(void)
{
    rv_optim *o;
    CHECK_STATUS(rv_optim_create_spec(&o, "adam(amsgrad=true)"), RV_OK);
    size_t no_ams;
    CHECK_STATUS(rv_optim_add_group_spec(o, "amsgrad=false", &no_ams), RV_OK);
    float p[64] = {0}, g[64] = {0};
    CHECK_STATUS(rv_optim_add_param(o, 0, "a", p, g, 5, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, no_ams, "b", p + 5, g + 5, 20, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, 0, "empty", p + 25, g + 25, 0, NULL), RV_OK);
    CHECK_STATUS(rv_optim_add_param(o, 0, "c", p + 25, g + 25, 3, NULL), RV_OK);
    CHECK_STATUS(rv_optim_ensure_state(o), RV_OK);
    rv_param_view a, b, e, c;
    rv_optim_param_view(o, 0, &a);
    rv_optim_param_view(o, 1, &b);
    rv_optim_param_view(o, 2, &e);
    rv_optim_param_view(o, 3, &c);
    CHECK((uintptr_t)a.state[0] % 64 == 0);
    CHECK(b.state[0] == a.state[0] + 16 && c.state[0] == b.state[0] + 32);
    CHECK(a.state[1] == c.state[0] + 16 && b.state[1] == a.state[1] + 16);
    CHECK(c.state[1] == b.state[1] + 32);
    CHECK(a.state[2] == c.state[1] + 16 && c.state[2] == a.state[2] + 16);
    CHECK(b.n_state == 2 && b.state[2] == NULL && e.state[0] == NULL);
    CHECK(a.state[2][4] == 0.0f && c.state[2][2] == 0.0f);
    /* a tensor added later gets its own arena; the others keep theirs */
    CHECK_STATUS(rv_optim_add_param(o, 0, "d", p + 28, g + 28, 7, NULL), RV_OK);
    CHECK_STATUS(rv_optim_step(o), RV_OK);
    rv_param_view a2, d;
    rv_optim_param_view(o, 0, &a2);
    rv_optim_param_view(o, 4, &d);
    CHECK(a2.state[0] == a.state[0] && d.state[0] && (uintptr_t)d.state[0] % 64 == 0);
    CHECK(d.step == 1 && a2.step == 1);
    CHECK_STATUS(rv_optim_zero_state(o), RV_OK);
    rv_optim_param_view(o, 0, &a2);
    CHECK(a2.state[0] == NULL && a2.step == 0);
    rv_optim_free(o);
}

/* ---- the bench's yardstick ------------------------------------------------ */

static void traffic_baseline(void)
{
    static const char *const names[] = {"traffic12", "traffic20", "traffic28", "traffic36"};
    for (size_t k = 0; k < 4; k++) {
        const rv_optim_type *t = rv_bench_traffic_type(k);
        CHECK_STR(rv_optim_type_name(t), names[k]);
        rv_hparams h = rv_hparams_defaults(t);
        CHECK(rv_state_count(t, &h) == k);
        CHECK(rv_bench_bytes_per_param(t, &h) == 12 + 8 * k);
    }
    CHECK(rv_bench_traffic_type(4) == NULL);
    CHECK(rv_optim_type_find("traffic28") == NULL); /* not an optimizer of the registry */

    struct { const char *spec; size_t bytes; } traffic[] = {
        {"sgd", 12}, {"sgd(momentum=0.9)", 20}, {"polyak", 20}, {"adamw", 28},
        {"adam(amsgrad=true)", 36}, {"rmsprop", 20}, {"rmsprop(centered=true, momentum=0.5)", 36},
        {"adagrad", 20},
    };
    for (size_t i = 0; i < sizeof traffic / sizeof traffic[0]; i++) {
        const rv_optim_type *t;
        rv_hparams h;
        rv_hparams_parse(traffic[i].spec, &t, &h);
        CHECK_MSG(rv_bench_bytes_per_param(t, &h) == traffic[i].bytes, "%s", traffic[i].spec);
    }

    /* two steps of traffic28 with lr 1e-3: p += -lr*g, s = s/2 + g */
    rv_optim *o;
    CHECK_STATUS(rv_optim_create(&o, rv_bench_traffic_type(2), NULL), RV_OK);
    float p[3] = {1.0f, -1.0f, 0.5f}, g[3] = {2.0f, 4.0f, -8.0f};
    CHECK_STATUS(rv_optim_add_param(o, 0, "x", p, g, 3, NULL), RV_OK);
    rv_optim *pair[] = {o};
    rv_bench_timing tm;
    CHECK_STATUS(rv_bench_steps(pair, 1, 1, 1, &tm), RV_OK);
    CHECK(tm.reps == 1 && tm.min_ms >= 0.0 && tm.median_ms == tm.min_ms);
    CHECK(rv_optim_step_count(o) == 2);
    float lr = (float)-1e-3;
    float want_p0 = (1.0f + lr * 2.0f) + lr * 2.0f;
    CHECK(p[0] == want_p0);
    rv_param_view v;
    rv_optim_param_view(o, 0, &v);
    CHECK(v.state[0][0] == 3.0f && v.state[1][1] == 6.0f && v.state[0][2] == -12.0f);
    rv_optim_free(o);

    CHECK_STATUS(rv_bench_steps(NULL, 1, 0, 1, &tm), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "rv_bench_steps: opts is NULL");
    CHECK_STATUS(rv_bench_steps(pair, 1, 0, 0, &tm), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "rv_bench_steps: reps must be >= 1, got 0");
    CHECK_STATUS(rv_bench_steps(pair, 1, -1, 1, &tm), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "rv_bench_steps: warmup must be >= 0, got -1");
}

static void gpt2_layout(void)
{
    size_t n = rv_bench_gpt2_124m(NULL, 0);
    CHECK(n == 148);
    rv_bench_tensor list[148];
    CHECK(rv_bench_gpt2_124m(list, 148) == 148);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += list[i].rows * list[i].cols;
    CHECK(total == 124439808);
    CHECK_STR(list[0].name, "wte");
    CHECK(list[0].rows == 50257 && list[0].cols == 768);
    CHECK_STR(list[1].name, "wpe");
    CHECK_STR(list[4].name, "h.0.attn.c_attn.weight");
    CHECK(list[4].rows == 768 && list[4].cols == 2304);
    CHECK_STR(list[145].name, "h.11.mlp.c_proj.bias");
    CHECK_STR(list[147].name, "ln_f.bias");
    rv_bench_tensor two[2];
    CHECK(rv_bench_gpt2_124m(two, 2) == 148); /* fills only what fits */
    CHECK_STR(two[1].name, "wpe");
}

int main(void)
{
    build_configs();
    CHECK(n_configs == 62);
    fused_equals_reference();
    nonfinite_flows_alike();
    threads_agree();
    odd_sizes();
    state_allocation_failure();
    state_is_one_stream();
    traffic_baseline();
    gpt2_layout();
    return check_summary("test_perf_step");
}
