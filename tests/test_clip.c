/* Gradient clipping against torch 1.13's clip_grad_norm_ / clip_grad_value_
   (fixtures/clip/clip.txt, from gen_clip.py), thread independence of the
   norm, and the error paths with their messages. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_T = 8 };

typedef struct clip_case {
    char kind[16], name[64];
    double p, limit;   /* norm_type and max_norm, or clip_value */
    size_t count, n[MAX_T];
    float *in[MAX_T], *out[MAX_T];
    float total;
} clip_case;

static float *read_floats(FILE *f, const char *tag, size_t *n)
{
    char word[16];
    if (fscanf(f, "%15s %zu", word, n) != 2 || strcmp(word, tag))
        return NULL;
    float *v = malloc((*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        char num[64];
        if (fscanf(f, "%63s", num) != 1)
            return NULL;
        v[i] = (float)strtod(num, NULL);   /* hex floats: exact */
    }
    return v;
}

static int read_case(FILE *f, clip_case *c)
{
    memset(c, 0, sizeof *c);
    char line[256];
    for (;;) {
        long at = ftell(f);
        if (!fgets(line, sizeof line, f))
            return 0;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        fseek(f, at, SEEK_SET);
        break;
    }
    char p[32], limit[32];
    if (fscanf(f, "%15s %63s", c->kind, c->name) != 2)
        return 0;
    if (!strcmp(c->kind, "norm") && fscanf(f, "%31s %31s %zu", p, limit, &c->count) == 3)
        c->p = strtod(p, NULL);
    else if (!strcmp(c->kind, "value") && fscanf(f, "%31s %zu", limit, &c->count) == 2)
        c->p = 0;
    else
        return 0;
    c->limit = strtod(limit, NULL);
    for (size_t t = 0; t < c->count; t++)
        if (!(c->in[t] = read_floats(f, "in", &c->n[t])))
            return 0;
    if (!strcmp(c->kind, "norm")) {
        char num[64];
        if (fscanf(f, " total %63s", num) != 1)
            return 0;
        c->total = (float)strtod(num, NULL);
    }
    for (size_t t = 0; t < c->count; t++)
        if (!(c->out[t] = read_floats(f, "out", &c->n[t])))
            return 0;
    return 1;
}

static void free_case(clip_case *c)
{
    for (size_t t = 0; t < c->count; t++) {
        free(c->in[t]);
        free(c->out[t]);
    }
}

static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* relative error, NaN/inf/zero-aware */
static double rel_err(float got, float want)
{
    if (same_float(got, want))
        return 0;
    if (!isfinite(got) || !isfinite(want) || want == 0)
        return INFINITY;
    return fabs((double)got - (double)want) / fabs((double)want);
}

static void torch_fixtures(void)
{
    char path[1024];
    const char *dir = getenv("RAVINE_FIXTURES");
    snprintf(path, sizeof path, "%s/clip/clip.txt", dir ? dir : "fixtures");
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    clip_case c;
    int cases = 0;
    double worst_total = 0, worst_grad = 0;
    while (read_case(f, &c)) {
        cases++;
        float *g[MAX_T];
        for (size_t t = 0; t < c.count; t++) {
            g[t] = malloc((c.n[t] ? c.n[t] : 1) * sizeof(float));
            memcpy(g[t], c.in[t], c.n[t] * sizeof(float));
        }
        if (!strcmp(c.kind, "value")) {
            CHECK_STATUS(rv_clip_grad_value_arrays(g, c.n, c.count, c.limit), RV_OK);
            for (size_t t = 0; t < c.count; t++)
                for (size_t i = 0; i < c.n[t]; i++)
                    CHECK_MSG(same_float(g[t][i], c.out[t][i]), "%s: [%zu][%zu] %.9g, torch %.9g",
                              c.name, t, i, (double)g[t][i], (double)c.out[t][i]);
        } else {
            rv_clip_options o = rv_clip_defaults();
            o.norm_type = c.p;
            double total = -1;
            CHECK_STATUS(rv_clip_grad_norm_arrays(g, c.n, c.count, c.limit, &o, &total), RV_OK);
            double e = rel_err((float)total, c.total);
            worst_total = e > worst_total ? e : worst_total;
            CHECK_MSG(e <= 1e-6, "%s: total %.9g, torch %.9g", c.name, total, (double)c.total);
            for (size_t t = 0; t < c.count; t++)
                for (size_t i = 0; i < c.n[t]; i++) {
                    double eg = rel_err(g[t][i], c.out[t][i]);
                    worst_grad = eg > worst_grad ? eg : worst_grad;
                    CHECK_MSG(eg <= 1e-6, "%s: [%zu][%zu] %.9g, torch %.9g", c.name, t, i,
                              (double)g[t][i], (double)c.out[t][i]);
                }
            /* exact norms give torch's exact bits: the coefficient is formed as torch does */
            if (!strcmp(c.name, "exact_3_4_12") || !strcmp(c.name, "inf") || !strcmp(c.name, "nan") ||
                !strcmp(c.name, "inf_grad") || !strcmp(c.name, "l2_no_clip"))
                for (size_t t = 0; t < c.count; t++)
                    for (size_t i = 0; i < c.n[t]; i++)
                        CHECK_MSG(same_float(g[t][i], c.out[t][i]), "%s: [%zu][%zu] %a, torch %a",
                                  c.name, t, i, (double)g[t][i], (double)c.out[t][i]);
        }
        for (size_t t = 0; t < c.count; t++)
            free(g[t]);
        free_case(&c);
    }
    fclose(f);
    CHECK(cases == 18);
    printf("clip vs torch: %d cases, worst relative error: total norm %.3g, gradients %.3g\n", cases,
           worst_total, worst_grad);
}

/* The optimizer form equals the array form; the norm's bits do not depend
   on the thread count. */
static void optimizer_and_threads(void)
{
    enum { A = 70001, B = 130000, C = 3 };
    static float pa[A], ga[A], pb[B], gb[B], pc[C], gc[C];
    static float ref_a[A], ref_b[B], ref_c[C];
    for (size_t i = 0; i < A; i++)
        ga[i] = (float)sin(0.001 * (double)i) * 3;
    for (size_t i = 0; i < B; i++)
        gb[i] = (float)cos(0.37 * (double)i) * 0.5f;
    gc[0] = 1e3f, gc[1] = -2e3f, gc[2] = 0.5f;
    memcpy(ref_a, ga, sizeof ga);
    memcpy(ref_b, gb, sizeof gb);
    memcpy(ref_c, gc, sizeof gc);
    float *arrays[] = {ref_a, ref_b, ref_c};
    size_t sizes[] = {A, B, C};
    double want;
    CHECK_STATUS(rv_clip_grad_norm_arrays(arrays, sizes, 3, 1.0, NULL, &want), RV_OK);
    /* closed form check in double: sqrt(sum g^2) */
    double s = 0;
    for (size_t i = 0; i < A; i++)
        s += (double)ga[i] * ga[i];
    double na = (float)sqrt(s);
    s = 0;
    for (size_t i = 0; i < B; i++)
        s += (double)gb[i] * gb[i];
    double nb = (float)sqrt(s);
    double nc = (float)sqrt(1e6 + 4e6 + 0.25);
    CHECK_NEAR(want, sqrt(na * na + nb * nb + nc * nc), 1e-6 * want);

    int threads[] = {1, 2, 3, 4};
    for (size_t k = 0; k < sizeof threads / sizeof *threads; k++) {
        float ga2[A], *unused = NULL;
        (void)unused;
        (void)ga2;
        rv_optim *opt;
        rv_optim_create_spec(&opt, "sgd");
        rv_optim_set_threads(opt, threads[k]);
        rv_optim_add_param(opt, 0, "a", pa, ga, A, NULL);
        rv_optim_add_param(opt, 0, "b", pb, gb, B, NULL);
        rv_optim_add_param(opt, 0, "c", pc, gc, C, NULL);
        float save_a[1], save_b[1];
        save_a[0] = ga[0];
        save_b[0] = gb[0];
        double norm = 0;
        CHECK_STATUS(rv_grad_norm(opt, 2.0, &norm), RV_OK);
        CHECK_MSG(memcmp(&norm, &want, sizeof norm) == 0, "threads %d: %.17g vs %.17g", threads[k], norm,
                  want);
        CHECK(ga[0] == save_a[0] && gb[0] == save_b[0]);   /* rv_grad_norm does not clip */
        double total;
        float copy_a[4] = {ga[0], ga[1], ga[2], ga[3]};
        CHECK_STATUS(rv_clip_grad_norm(opt, 1.0, NULL, &total), RV_OK);
        CHECK(memcmp(&total, &want, sizeof total) == 0);
        CHECK(!memcmp(ga, ref_a, sizeof ga) && !memcmp(gb, ref_b, sizeof gb) && !memcmp(gc, ref_c, sizeof gc));
        /* restore the unclipped gradients for the next thread count */
        for (size_t i = 0; i < A; i++)
            ga[i] = (float)sin(0.001 * (double)i) * 3;
        for (size_t i = 0; i < B; i++)
            gb[i] = (float)cos(0.37 * (double)i) * 0.5f;
        gc[0] = 1e3f, gc[1] = -2e3f, gc[2] = 0.5f;
        CHECK(copy_a[1] == ga[1]);
        /* inf and p norms are thread-independent too */
        double ninf1, ninf;
        CHECK_STATUS(rv_grad_norm(opt, INFINITY, &ninf), RV_OK);
        CHECK(ninf == 2000.0);
        CHECK_STATUS(rv_grad_norm(opt, 3.0, &ninf1), RV_OK);
        static double p3;
        if (k == 0)
            p3 = ninf1;
        CHECK(memcmp(&p3, &ninf1, sizeof p3) == 0);
        rv_optim_free(opt);
    }
}

static void errors(void)
{
    float g1[3] = {1, NAN, 2}, g2[2] = {INFINITY, 0};
    float *arrays[] = {g1, g2};
    size_t sizes[] = {3, 2};
    rv_clip_options o = rv_clip_defaults();
    o.error_if_nonfinite = 1;
    double total = 42;
    CHECK_STATUS(rv_clip_grad_norm_arrays(arrays, sizes, 2, 1.0, &o, &total), RV_ERR_NONFINITE_GRAD);
    CHECK_STR(rv_errmsg(), "the total gradient norm of order 2 is nan, so it cannot be clipped (array 0 "
                           "has nan at index 1); nothing was changed");
    CHECK(total == 42 && g1[0] == 1 && isnan(g1[1]) && g1[2] == 2 && isinf(g2[0]));

    rv_optim *opt;
    float p[2] = {0}, g[2] = {3e38f, 3e38f};
    rv_optim_create_spec(&opt, "adam");
    rv_optim_add_param(opt, 0, "huge", p, g, 2, NULL);
    CHECK_STATUS(rv_clip_grad_norm(opt, 1.0, &o, &total), RV_ERR_NONFINITE_GRAD);
    CHECK_STR(rv_errmsg(), "the total gradient norm of order 2 is inf, so it cannot be clipped (every "
                           "element is finite; the sum overflowed); nothing was changed");
    g[1] = -INFINITY;
    CHECK_STATUS(rv_clip_grad_norm(opt, 1.0, &o, &total), RV_ERR_NONFINITE_GRAD);
    CHECK_STR(rv_errmsg(), "the total gradient norm of order 2 is inf, so it cannot be clipped (tensor 0 "
                           "('huge') has -inf at index 1); nothing was changed");
    CHECK(g[0] == 3e38f);
    o.norm_type = 0;
    CHECK_STATUS(rv_clip_grad_norm(opt, 1.0, &o, &total), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "norm_type must be > 0 or inf, got 0");
    CHECK_STATUS(rv_grad_norm(opt, -2, &total), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "norm_type must be > 0 or inf, got -2");
    CHECK_STATUS(rv_clip_grad_norm(opt, -1, NULL, &total), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "max_norm must be >= 0, got -1");
    CHECK_STATUS(rv_clip_grad_norm(opt, NAN, NULL, &total), RV_ERR_ARG);
    CHECK_STATUS(rv_clip_grad_value(opt, -0.5), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "clip_value must be >= 0, got -0.5");
    CHECK_STATUS(rv_clip_grad_norm(NULL, 1, NULL, &total), RV_ERR_NULL);
    CHECK_STATUS(rv_grad_norm(opt, 2, NULL), RV_ERR_NULL);
    /* value clipping on the optimizer */
    g[0] = 5, g[1] = -INFINITY;
    CHECK_STATUS(rv_clip_grad_value(opt, 0.5), RV_OK);
    CHECK(g[0] == 0.5f && g[1] == -0.5f);
    rv_optim_free(opt);

    /* no gradients: total 0, as torch */
    CHECK_STATUS(rv_clip_grad_norm_arrays(NULL, NULL, 0, 1.0, NULL, &total), RV_OK);
    CHECK(total == 0);
    /* hand-computed: (3, 4) and (12): total 13, clipped to 6.5 by max_norm = 6.5 - a factor of
       about 0.5 (6.5 / (13 + 1e-6)) */
    float a[2] = {3, 4}, b[1] = {12};
    float *ab[] = {a, b};
    size_t nab[] = {2, 1};
    CHECK_STATUS(rv_clip_grad_norm_arrays(ab, nab, 2, 6.5, NULL, &total), RV_OK);
    CHECK(total == 13.0);
    CHECK_NEAR(a[0], 1.5, 1e-6);
    CHECK_NEAR(a[1], 2.0, 1e-6);
    CHECK_NEAR(b[0], 6.0, 1e-6);
}

/* A tensor left out of steps (grad NULL) is left out of the norm and of
   clipping, as torch skips a .grad of None. */
static void skipped_tensors(void)
{
    float pa[3] = {0}, ga[3] = {3, 4, 0}, pb[5] = {0}, pc[2] = {0}, gc[2] = {12, 0};
    rv_optim *opt;
    rv_optim_create_spec(&opt, "sgd");
    rv_optim_add_param(opt, 0, "a", pa, ga, 3, NULL);
    rv_optim_add_param(opt, 0, "b", pb, NULL, 5, NULL);
    rv_optim_add_param(opt, 0, "c", pc, gc, 2, NULL);
    double total;
    CHECK_STATUS(rv_grad_norm(opt, 2.0, &total), RV_OK);
    CHECK(total == 13.0);
    CHECK_STATUS(rv_grad_norm(opt, INFINITY, &total), RV_OK);
    CHECK(total == 12.0);
    CHECK_STATUS(rv_clip_grad_norm(opt, 6.5, NULL, &total), RV_OK);
    CHECK(total == 13.0);
    CHECK_NEAR(ga[0], 1.5, 1e-6);
    CHECK_NEAR(gc[0], 6.0, 1e-6);
    CHECK_STATUS(rv_clip_grad_value(opt, 1.0), RV_OK);
    CHECK(ga[0] == 1.0f && gc[0] == 1.0f);
    /* every tensor left out: a norm of 0, as torch's for no gradients */
    rv_optim_set_buffers(opt, 0, pa, NULL);
    rv_optim_set_buffers(opt, 2, pc, NULL);
    CHECK_STATUS(rv_clip_grad_norm(opt, 1.0, NULL, &total), RV_OK);
    CHECK(total == 0.0);
    rv_optim_free(opt);
    /* the array form still refuses a NULL array */
    float *arrays[] = {ga, NULL};
    size_t sizes[] = {3, 2};
    CHECK_STATUS(rv_clip_grad_norm_arrays(arrays, sizes, 2, 1.0, NULL, &total), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "gradient clipping: array 1 is NULL");
}

int main(void)
{
    torch_fixtures();
    optimizer_and_threads();
    errors();
    skipped_tensors();
    return check_summary("clip");
}
