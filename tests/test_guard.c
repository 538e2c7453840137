/* The loss-spike guard: hand-computed z-scores, warm-up, zero spread,
   non-finite values, numerics far from zero, config errors, and a training
   loop that skips a spiking step. */
#include "ravine/ravine.h"
#include "check.h"

static rv_guard *make(size_t window, size_t min_count, double threshold)
{
    rv_guard *g = NULL;
    rv_guard_config c = {window, min_count, threshold};
    CHECK_STATUS(rv_guard_create(&g, &c), RV_OK);
    return g;
}

static void hand_computed(void)
{
    rv_guard *g = make(4, 4, 3.0);
    rv_guard_verdict v;
    for (int i = 1; i <= 4; i++) {
        CHECK_STATUS(rv_guard_observe(g, i, &v), RV_OK);
        CHECK(v.warming_up && !v.skip && isnan(v.z));
    }
    /* window 1,2,3,4: mean 2.5, std sqrt(1.25); 10 has z = 7.5/sqrt(1.25) = 6.7082039 */
    CHECK_STATUS(rv_guard_observe(g, 10, &v), RV_OK);
    CHECK(!v.warming_up && v.skip);
    CHECK_NEAR(v.mean, 2.5, 1e-15);
    CHECK_NEAR(v.std, sqrt(1.25), 1e-15);
    CHECK_NEAR(v.z, 7.5 / sqrt(1.25), 1e-12);
    /* the spike entered the window: 2,3,4,10, mean 4.75, var 38.75/4 */
    CHECK_STATUS(rv_guard_observe(g, 3, &v), RV_OK);
    CHECK(!v.skip);
    CHECK_NEAR(v.mean, 4.75, 1e-15);
    CHECK_NEAR(v.z, -1.75 / sqrt(38.75 / 4), 1e-12);
    /* score judges without adding */
    size_t n = rv_guard_count(g);
    CHECK_STATUS(rv_guard_score(g, 100, &v), RV_OK);
    CHECK(v.skip && rv_guard_count(g) == n);
    /* NaN and inf are always flagged and never enter the window */
    CHECK_STATUS(rv_guard_observe(g, NAN, &v), RV_OK);
    CHECK(v.skip);
    CHECK_STATUS(rv_guard_observe(g, -INFINITY, &v), RV_OK);
    CHECK(v.skip && rv_guard_count(g) == n);
    CHECK_STATUS(rv_guard_observe(g, 4, &v), RV_OK);
    CHECK_NEAR(v.mean, (3 + 4 + 10 + 3) / 4.0, 1e-15);   /* window 3,4,10,3 */
    rv_guard_reset(g);
    CHECK(rv_guard_count(g) == 0);
    CHECK_STATUS(rv_guard_observe(g, NAN, &v), RV_OK);
    CHECK(v.skip && v.warming_up);   /* flagged even while warming up */
    rv_guard_free(g);
}

static void zero_spread(void)
{
    rv_guard *g = make(3, 2, 3.0);
    rv_guard_verdict v;
    rv_guard_observe(g, 2, &v);
    rv_guard_observe(g, 2, &v);
    CHECK_STATUS(rv_guard_score(g, 2, &v), RV_OK);
    CHECK(v.z == 0 && !v.skip && v.std == 0);
    CHECK_STATUS(rv_guard_score(g, 2.5, &v), RV_OK);
    CHECK(isinf(v.z) && v.z > 0 && v.skip);
    CHECK_STATUS(rv_guard_score(g, 1.5, &v), RV_OK);
    CHECK(isinf(v.z) && v.z < 0 && !v.skip);   /* a drop in loss is no spike */
    rv_guard_free(g);
}

/* Loss 1e8 + noise of +-1: running sums of x and x^2 would lose every digit
   of the variance; two passes keep it. */
static void far_from_zero(void)
{
    enum { W = 1000 };
    rv_guard *g = make(W, W, 5.0);
    rv_guard_verdict v;
    double sum = 0, x[W];
    for (int i = 0; i < W; i++) {
        x[i] = 1e8 + (i % 2 ? 1.0 : -1.0);
        sum += x[i];
        rv_guard_observe(g, x[i], &v);
    }
    /* exact: mean 1e8, std 1; 1e8 + 6 has z = 6 */
    CHECK_STATUS(rv_guard_score(g, 1e8 + 6, &v), RV_OK);
    CHECK_NEAR(v.mean, 1e8, 1e-7);
    CHECK_NEAR(v.std, 1.0, 1e-9);
    CHECK_NEAR(v.z, 6.0, 1e-8);
    CHECK(v.skip);
    CHECK_STATUS(rv_guard_score(g, 1e8 + 4, &v), RV_OK);
    CHECK(!v.skip);
    (void)sum;
    rv_guard_free(g);
}

static void config_errors(void)
{
    rv_guard *g = NULL;
    rv_guard_config c = rv_guard_defaults();
    CHECK(c.window == 128 && c.min_count == 128 && c.threshold == 5.0);
    c.window = 1;
    CHECK_STATUS(rv_guard_create(&g, &c), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "guard window must be in [2, 67108864], got 1");
    c = rv_guard_defaults();
    c.min_count = 129;
    CHECK_STATUS(rv_guard_create(&g, &c), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "guard min_count must be in [2, window = 128], got 129");
    c = rv_guard_defaults();
    c.threshold = -1;
    CHECK_STATUS(rv_guard_create(&g, &c), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "guard threshold must be a finite number > 0, got -1");
    c.threshold = NAN;
    CHECK_STATUS(rv_guard_create(&g, &c), RV_ERR_ARG);
    CHECK(g == NULL);
    CHECK_STATUS(rv_guard_create(NULL, NULL), RV_ERR_NULL);
    CHECK_STATUS(rv_guard_observe(NULL, 1, NULL), RV_ERR_NULL);
    CHECK_STATUS(rv_guard_create(&g, NULL), RV_OK);
    rv_guard_free(g);
}

/* A loop on f(w) = w^2/2 with a corrupted batch at step 30: the guard skips
   exactly that step and the weight ends where a clean run ends. */
static void training_loop(void)
{
    float w = 3, grad = 0, w_clean = 3, g_clean = 0;
    rv_optim *opt, *clean;
    rv_optim_create_spec(&opt, "sgd(lr=0.01)");
    rv_optim_create_spec(&clean, "sgd(lr=0.01)");
    rv_optim_add_param(opt, 0, "w", &w, &grad, 1, NULL);
    rv_optim_add_param(clean, 0, "w", &w_clean, &g_clean, 1, NULL);
    rv_guard *g = make(16, 8, 5.0);
    int skipped = 0, skipped_at = -1;
    for (int t = 0; t < 60; t++) {
        double loss = 0.5 * (double)w * w;
        grad = w;
        if (t == 30) {   /* a bad batch */
            loss *= 50;
            grad *= 50;
        }
        rv_guard_verdict v;
        rv_guard_observe(g, loss, &v);
        if (v.skip) {
            skipped++;
            skipped_at = t;
            continue;
        }
        rv_optim_step(opt);
        if (t != 30) {
            g_clean = w_clean;
            rv_optim_step(clean);
        }
    }
    CHECK(skipped == 1 && skipped_at == 30);
    CHECK(w == w_clean);
    rv_guard_free(g);
    rv_optim_free(opt);
    rv_optim_free(clean);
}

int main(void)
{
    hand_computed();
    zero_spread();
    far_from_zero();
    config_errors();
    training_loop();
    return check_summary("guard");
}
