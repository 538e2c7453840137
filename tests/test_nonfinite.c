/* Non-finite gradients under each policy, for every optimizer:
   skip   - nothing changes (params, state, step counts), the skip is counted,
            and the run continues exactly as if that step never came;
   error  - RV_ERR_NONFINITE_GRAD naming tensor and index, nothing changes;
   ignore - NaN/inf flow into the update element by element, like torch. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static const char *const specs[] = {
    "sgd(lr=0.1)",
    "sgd(lr=0.05, momentum=0.9, nesterov=true)",
    "polyak(lr=0.1)",
    "adam(lr=0.01, amsgrad=true)",
    "adamw(lr=0.01)",
    "rmsprop(lr=0.01, centered=true, momentum=0.5)",
    "adagrad(lr=0.1)",
};
#define N_SPECS (sizeof specs / sizeof specs[0])

enum { NA = 6, NB = 4 };

typedef struct net {
    rv_optim *opt;
    float a[NA], ga[NA], b[NB], gb[NB];
} net;

static void net_init(net *m, const char *spec, rv_nonfinite_policy policy)
{
    memset(m, 0, sizeof *m);
    rv_optim_create_spec(&m->opt, spec);
    for (int i = 0; i < NA; i++)
        m->a[i] = 0.1f * (float)i - 0.2f;
    for (int i = 0; i < NB; i++)
        m->b[i] = 1.0f - 0.3f * (float)i;
    rv_optim_add_param(m->opt, 0, "a", m->a, m->ga, NA, NULL);
    rv_optim_add_param(m->opt, 0, "b", m->b, m->gb, NB, NULL);
    CHECK_STATUS(rv_optim_set_nonfinite(m->opt, policy), RV_OK);
}

static void grads(net *m, long t)
{
    for (int i = 0; i < NA; i++)
        m->ga[i] = (float)sin(0.9 * (double)t + (double)i);
    for (int i = 0; i < NB; i++)
        m->gb[i] = (float)cos(0.4 * (double)t - (double)i);
}

/* Params, state and counters, bit for bit. */
typedef struct snapshot {
    float a[NA], b[NB], state[2][4][NA];
    long steps, skipped, tensor_steps[2];
} snapshot;

static void take(const net *m, snapshot *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->a, m->a, sizeof s->a);
    memcpy(s->b, m->b, sizeof s->b);
    for (size_t t = 0; t < 2; t++) {
        rv_param_view v;
        rv_optim_param_view(m->opt, t, &v);
        s->tensor_steps[t] = v.step;
        for (size_t k = 0; k < v.n_state; k++)
            if (v.state[k])
                memcpy(s->state[t][k], v.state[k], v.n * sizeof(float));
    }
    s->steps = rv_optim_step_count(m->opt);
    s->skipped = rv_optim_skipped_count(m->opt);
}

static int same(const snapshot *x, const snapshot *y)
{
    return !memcmp(x, y, sizeof *x);
}

static void skip_changes_nothing(void)
{
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t si = 0; si < N_SPECS; si++)
        for (int k = 0; k < 3; k++) {
            net m, ref;
            net_init(&m, specs[si], RV_NONFINITE_SKIP);
            net_init(&ref, specs[si], RV_NONFINITE_SKIP);
            for (long t = 0; t < 3; t++) {
                grads(&m, t);
                grads(&ref, t);
                rv_optim_step(m.opt);
                rv_optim_step(ref.opt);
            }
            snapshot before, after;
            take(&m, &before);
            grads(&m, 99);
            m.gb[2] = bad[k];   /* one element of one tensor */
            CHECK_STATUS(rv_optim_step(m.opt), RV_OK);
            take(&m, &after);
            CHECK_MSG(after.skipped == before.skipped + 1, "%s", specs[si]);
            after.skipped = before.skipped;
            CHECK_MSG(same(&before, &after), "%s: a skipped step changed something", specs[si]);
            /* and the run goes on as if the bad step never came */
            for (long t = 3; t < 6; t++) {
                grads(&m, t);
                grads(&ref, t);
                rv_optim_step(m.opt);
                rv_optim_step(ref.opt);
            }
            snapshot x, y;
            take(&m, &x);
            take(&ref, &y);
            x.skipped = y.skipped;
            CHECK_MSG(same(&x, &y), "%s: the run after a skip differs", specs[si]);
            rv_optim_free(m.opt);
            rv_optim_free(ref.opt);
        }
}

static void error_names_tensor_and_index(void)
{
    for (size_t si = 0; si < N_SPECS; si++) {
        net m;
        net_init(&m, specs[si], RV_NONFINITE_ERROR);
        grads(&m, 0);
        rv_optim_step(m.opt);
        snapshot before, after;
        take(&m, &before);
        grads(&m, 1);
        m.gb[3] = -INFINITY;
        m.ga[5] = NAN;   /* the first one in tensor order is reported */
        CHECK_STATUS(rv_optim_step(m.opt), RV_ERR_NONFINITE_GRAD);
        CHECK_STR(rv_errmsg(), "non-finite gradient in tensor 0 ('a') at index 5: nan; step not taken");
        m.ga[5] = 0;
        CHECK_STATUS(rv_optim_step(m.opt), RV_ERR_NONFINITE_GRAD);
        CHECK_STR(rv_errmsg(), "non-finite gradient in tensor 1 ('b') at index 3: -inf; step not taken");
        take(&m, &after);
        CHECK_MSG(same(&before, &after), "%s: a refused step changed something", specs[si]);
        rv_optim_free(m.opt);
    }
}

/* ignore: torch lets NaN through; each element's update is independent, so
   only the element with the bad gradient (and its state) is affected. */
static void ignore_lets_it_through(void)
{
    for (size_t si = 0; si < N_SPECS; si++) {
        net m, ref;
        net_init(&m, specs[si], RV_NONFINITE_IGNORE);
        net_init(&ref, specs[si], RV_NONFINITE_IGNORE);
        grads(&m, 0);
        grads(&ref, 0);
        m.ga[1] = NAN;
        CHECK_STATUS(rv_optim_step(m.opt), RV_OK);
        rv_optim_step(ref.opt);
        CHECK_MSG(isnan(m.a[1]), "%s: a[1] = %g", specs[si], (double)m.a[1]);
        for (int i = 0; i < NA; i++)
            if (i != 1)
                CHECK(m.a[i] == ref.a[i]);
        CHECK(!memcmp(m.b, ref.b, sizeof m.b));
        CHECK(rv_optim_step_count(m.opt) == 1 && rv_optim_skipped_count(m.opt) == 0);
        rv_optim_free(m.opt);
        rv_optim_free(ref.opt);
    }
    /* sgd with +inf: p - lr*inf = -inf, as torch */
    net m;
    net_init(&m, "sgd(lr=0.1)", RV_NONFINITE_IGNORE);
    m.ga[0] = INFINITY;
    rv_optim_step(m.opt);
    CHECK(isinf(m.a[0]) && m.a[0] < 0);
    rv_optim_free(m.opt);
}

/* Large tensors take the parallel scan; the answer is the same. */
static void large_and_threaded(void)
{
    enum { N = 300000 };
    float *p = calloc(N, sizeof *p), *g = calloc(N, sizeof *g);
    for (int threads = 1; threads <= 4; threads += 3) {
        rv_optim *opt;
        rv_optim_create_spec(&opt, "adam(lr=0.01)");
        rv_optim_set_threads(opt, threads);
        rv_optim_add_param(opt, 0, "big", p, g, N, NULL);
        rv_optim_set_nonfinite(opt, RV_NONFINITE_ERROR);
        g[N - 1] = NAN;
        g[N / 2 + 7] = INFINITY;
        CHECK_STATUS(rv_optim_step(opt), RV_ERR_NONFINITE_GRAD);
        CHECK_STR(rv_errmsg(), "non-finite gradient in tensor 0 ('big') at index 150007: inf; step not taken");
        rv_optim_set_nonfinite(opt, RV_NONFINITE_SKIP);
        CHECK_STATUS(rv_optim_step(opt), RV_OK);
        CHECK(rv_optim_skipped_count(opt) == 1 && rv_optim_step_count(opt) == 0 && p[0] == 0);
        g[N - 1] = 1, g[N / 2 + 7] = 1;
        CHECK_STATUS(rv_optim_step(opt), RV_OK);
        CHECK(rv_optim_step_count(opt) == 1);
        CHECK_NEAR(p[N - 1], -0.01, 1e-7);   /* Adam's first step: lr * sign(g) */
        rv_optim_free(opt);
        memset(p, 0, N * sizeof *p);
        memset(g, 0, N * sizeof *g);
    }
    free(p);
    free(g);
}

/* The skipped count survives a checkpoint. */
static void skipped_count_in_checkpoint(void)
{
    net m, back;
    net_init(&m, "adam(lr=0.01)", RV_NONFINITE_SKIP);
    grads(&m, 0);
    rv_optim_step(m.opt);
    m.ga[0] = NAN;
    rv_optim_step(m.opt);
    rv_optim_step(m.opt);
    CHECK(rv_optim_skipped_count(m.opt) == 2 && rv_optim_step_count(m.opt) == 1);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, "test_nonfinite.safetensors"), RV_OK);
    net_init(&back, "adam(lr=0.01)", RV_NONFINITE_SKIP);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_load(back.opt, "test_nonfinite.safetensors", NULL, &info), RV_OK);
    CHECK(info.skipped == 2 && info.step == 1);
    rv_checkpoint_info_free(&info);
    CHECK(rv_optim_skipped_count(back.opt) == 2 && rv_optim_step_count(back.opt) == 1);
    remove("test_nonfinite.safetensors");
    rv_optim_free(m.opt);
    rv_optim_free(back.opt);
}

int main(void)
{
    skip_changes_nothing();
    error_names_tensor_and_index();
    ignore_lets_it_through();
    large_and_threaded();
    skipped_count_in_checkpoint();
    CHECK_STATUS(rv_optim_set_nonfinite(NULL, RV_NONFINITE_SKIP), RV_ERR_NULL);
    return check_summary("nonfinite");
}
