/* The page's C API compiled natively (with the sanitizers in `make sanitize`):
   every call against the library it wraps, and its error paths with their
   exact messages. The browser tests check the same API compiled to wasm. */
#include "check.h"
#include "ravine/ravine.h"
#include "ravine/surface.h"
#include "ravine/lab.h"

#include <math.h>
#include <string.h>

double *rvw_surface_info(const char *spec);
double *rvw_surface_grid(const char *spec, int nx, int ny, double x0, double x1, double y0,
                         double y1);
double *rvw_gradcheck(const char *spec, double x, double y, double h);
double *rvw_trace(const char *surface, const char *optim, const char *schedule, double x,
                  double y, int steps);
double *rvw_trace_eval(const char *surface, const char *optim, const char *schedule, double x,
                       double y, int steps);
double *rvw_schedule_curve(const char *spec, int n);
double *rvw_explain(const char *surface, const char *optim, const char *schedule, double x,
                    double y, int k);
const char *rvw_optim_canonical(const char *spec);
const char *rvw_error(void);

/* rvw_explain layout: 4 header values, 11 per coordinate, 12 per update */
enum { LR = 0, LOSS_BEFORE = 1, LOSS_AFTER = 2, X = 4, Y = 15, STEP = 26 };
enum { GRAD = 0, GRAD_USED = 1, BUF = 2, M = 3, V = 4, VMAX = 5, DENOM = 6, BEFORE = 7, AFTER = 9,
       EVAL = 10 };
enum { STEP_SIZE = 0, MU = 3, MU_NEXT = 4, MU_PRODUCT = 5, RHO = 6, RECT = 7, AVG_WEIGHT = 8,
       LR_MAX = 9, WEIGHT_SUM = 10, LOSS_EVAL = 11 };

static void test_info_and_grid(void)
{
    double *o = rvw_surface_info("bowl(kappa=4)");
    CHECK(o != NULL);
    CHECK(o[6] == 1 && o[7] == 0 && o[8] == 0 && o[9] == 0);   /* minimum (0, 0), f = 0 */
    CHECK(o[0] < 0 && o[2] > 0 && o[1] < 0 && o[3] > 0);       /* window around it */

    /* 3 x 2 grid over x in [-1, 1], y in [0, 1]: f = 0.5 (x^2 + 4 y^2) */
    o = rvw_surface_grid("bowl(kappa=4)", 3, 2, -1, 1, 0, 1);
    CHECK(o != NULL);
    const double want[6] = {0.5, 0, 0.5, 2.5, 2, 2.5};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(o[i], want[i], 0);

    CHECK(rvw_surface_grid("bowl", 1, 5, 0, 1, 0, 1) == NULL);
    CHECK_STR(rvw_error(), "grid must be 2..1024 points a side, got 1 x 5");
    CHECK(rvw_surface_info("bowl(kapa=4)") == NULL);
    CHECK(strstr(rvw_error(), "kapa") != NULL);
}

static void test_gradcheck(void)
{
    /* seed 002: the gradient of 0.5 (x^2 + 10 y^2) is (x, 10 y) */
    double *o = rvw_gradcheck("bowl", -2, 0.5, 1e-5);
    CHECK(o != NULL);
    CHECK_NEAR(o[0], 3.25, 0);
    CHECK_NEAR(o[1], -2, 0);
    CHECK_NEAR(o[2], 5, 0);
    CHECK_NEAR(o[3], -2, 1e-9);
    CHECK_NEAR(o[4], 5, 1e-9);
    CHECK(rvw_gradcheck("bowl", 0, 0, 0) == NULL);
    CHECK_STR(rvw_error(), "gradient check step h must be > 0, got 0");
}

static void test_trace_equals_lab(void)
{
    const char *optims[] = {"sgd(lr=0.18)", "sgd(lr=0.02, momentum=0.9, nesterov=true)",
                            "adam(lr=0.3)", "adamw(lr=0.3, weight_decay=0.1)", "rmsprop(lr=0.05)",
                            "adagrad(lr=1)", "polyak(lr=0.15)", "newton"};
    rv_surface *s;
    CHECK(rv_surface_parse("rosenbrock", &s) == RV_OK);
    for (size_t i = 0; i < sizeof optims / sizeof *optims; i++) {
        double want[41 * 3];
        CHECK(rv_lab_trace(s, optims[i], NULL, (double[]){-1.5, 2}, 40, want) == RV_OK);
        double *got = rvw_trace("rosenbrock", optims[i], "", -1.5, 2, 40);
        CHECK(got != NULL);
        for (int k = 0; got && k < 41 * 3; k++)
            CHECK(got[k] == want[k] || (isnan(got[k]) && isnan(want[k])));
    }
    rv_surface_free(s);

    CHECK(rvw_trace("bowl", "adam(lr=-1)", "", 0, 0, 3) == NULL);
    CHECK_STR(rvw_error(), "spec 'adam(lr=-1)': lr must be >= 0, got -1");
    CHECK(rvw_trace("bowl", "sgd", "", 0, 0, -1) == NULL);
    CHECK_STR(rvw_error(), "steps must be in [0, 100000], got -1");
    CHECK(rvw_trace("bowl", "sgd", "cosine(lr=1)", 0, 0, 3) == NULL);   /* t_max is required */
    CHECK(strstr(rvw_error(), "t_max") != NULL);
}

static void test_explain(void)
{
    /* SGD, lr 0.1, from (1, 1) on the bowl: g = (1, 10), p = (0.9, 1 - 10*0.1f):
       one fused multiply-add, as torch's param.add_(g, alpha=-lr), so y is
       -1.49e-8 rather than 0 */
    double *e = rvw_explain("bowl", "sgd(lr=0.1)", "", 1, 1, 1);
    CHECK(e != NULL);
    CHECK_NEAR(e[LR], 0.1, 0);
    CHECK_NEAR(e[LOSS_BEFORE], 5.5, 0);
    CHECK_NEAR(e[X + GRAD], 1, 0);
    CHECK_NEAR(e[Y + GRAD], 10, 0);
    CHECK_NEAR(e[X + AFTER], 0.9f, 0);
    CHECK_NEAR(e[Y + AFTER], fmaf(10.0f, -0.1f, 1.0f), 0);
    CHECK(e[Y + AFTER] == -1.4901161193847656e-8);

    /* Adam's first update moves each coordinate by lr (m/sqrt(v) = sign g) */
    e = rvw_explain("bowl", "adam(lr=0.5)", "", 1, 1, 1);
    CHECK(e != NULL);
    CHECK_NEAR(e[X + M], 0.1, 1e-7);            /* (1 - 0.9) * 1 */
    CHECK_NEAR(e[Y + V], 0.1, 1e-6);            /* (1 - 0.999) * 100 */
    CHECK_NEAR(e[X + AFTER], 0.5, 1e-6);
    CHECK_NEAR(e[Y + AFTER], 0.5, 1e-6);

    /* update k of a scheduled trace lands on row k, bit for bit */
    const char *sched = "warmup_cosine(peak=0.3, warmup_steps=5, decay_steps=30)";
    double rows[31 * 3];
    memcpy(rows, rvw_trace("bowl", "sgd(lr=0.3, momentum=0.9)", sched, -4, 1, 30), sizeof rows);
    for (int k = 1; k <= 30; k += 7) {
        e = rvw_explain("bowl", "sgd(lr=0.3, momentum=0.9)", sched, -4, 1, k);
        CHECK(e != NULL);
        CHECK(e[X + AFTER] == rows[3 * k] && e[Y + AFTER] == rows[3 * k + 1]);
        CHECK(e[X + BEFORE] == rows[3 * (k - 1)]);
        CHECK(e[LOSS_AFTER] == rows[3 * k + 2]);
    }

    /* Newton: gradient and Hessian at the point, one step to the minimum */
    e = rvw_explain("bowl", "newton", "", -4, 1, 1);
    CHECK(e != NULL);
    CHECK_NEAR(e[X + GRAD], -4, 0);
    CHECK_NEAR(e[Y + BUF], 0, 0);               /* H = [[1, 0], [0, 10]] */
    CHECK_NEAR(e[Y + M], 10, 0);
    CHECK_NEAR(e[X + AFTER], 0, 1e-12);

    CHECK(rvw_explain("bowl", "sgd", "", 0, 0, 0) == NULL);
    CHECK_STR(rvw_error(), "update index must be >= 1, got 0");
}

/* The element-wise newcomers: first updates by hand, the step figures, and
   schedule-free's average x against the eval trace. */
static void test_newer_rules(void)
{
    /* Lion from (1, 1) on the bowl, g = (1, 10): c = 0.1 g, every coordinate
       moves by lr = 0.25 against sign(c), m = 0.01 g */
    double *e = rvw_explain("bowl", "lion(lr=0.25)", "", 1, 1, 1);
    CHECK(e != NULL);
    CHECK_NEAR(e[X + BUF], 0.1, 1e-7);
    CHECK_NEAR(e[Y + BUF], 1, 1e-6);
    CHECK(e[X + AFTER] == 0.75 && e[Y + AFTER] == 0.75);
    CHECK_NEAR(e[Y + M], 0.1, 1e-6);

    /* NAdam: mu_t = 0.9 (1 - 0.5 * 0.96^(0.004 t)) */
    e = rvw_explain("bowl", "nadam(lr=0.1)", "", 1, 1, 2);
    CHECK(e != NULL);
    double mu1 = 0.9 * (1 - 0.5 * pow(0.96, 0.004)), mu2 = 0.9 * (1 - 0.5 * pow(0.96, 0.008));
    CHECK_NEAR(e[STEP + MU], mu2, 1e-15);
    CHECK_NEAR(e[STEP + MU_NEXT], 0.9 * (1 - 0.5 * pow(0.96, 0.012)), 1e-15);
    CHECK_NEAR(e[STEP + MU_PRODUCT], (float)((float)mu1 * (float)mu2), 0);

    /* RAdam: rho_1 = 1999 - 2*0.999/0.001 = 1, no rectified step yet; rho_6 > 5 */
    e = rvw_explain("bowl", "radam(lr=0.1)", "", 1, 1, 1);
    CHECK(e != NULL);
    CHECK_NEAR(e[STEP + RHO], 1, 1e-9);
    CHECK(e[STEP + RECT] == 0);
    CHECK_NEAR(e[X + AFTER], 0.9, 1e-7);                /* p - lr * m / (1 - beta1) */
    e = rvw_explain("bowl", "radam(lr=0.1)", "", 1, 1, 6);
    CHECK(e != NULL && e[STEP + RHO] > 5 && e[STEP + RECT] > 0 && e[STEP + RECT] < 1);

    /* Adamax: lr / (1 - beta1^t) */
    e = rvw_explain("bowl", "adamax(lr=0.1)", "", 1, 1, 1);
    CHECK(e != NULL);
    CHECK_NEAR(e[STEP + STEP_SIZE], 1, 1e-15);
    CHECK_NEAR(e[Y + VMAX], 10, 1e-6);                  /* max(0, |g| + eps) */

    /* Schedule-Free: the first weight is the whole sum (c = 1), so x = y = z
       after update 1; later x is the eval trace's row, f(x) its loss */
    e = rvw_explain("bowl", "sfadamw(lr=0.5)", "", -4, 1, 1);
    CHECK(e != NULL);
    CHECK(e[STEP + AVG_WEIGHT] == 1 && e[STEP + LR_MAX] == 0.5 && e[STEP + WEIGHT_SUM] == 0.25);
    CHECK(e[X + AFTER] == -3.5 && e[X + M] == -3.5 && e[X + EVAL] == -3.5);
    double rows[21 * 3], avg[21 * 3];
    memcpy(rows, rvw_trace("bowl", "sfadamw(lr=0.5)", "", -4, 1, 20), sizeof rows);
    memcpy(avg, rvw_trace_eval("bowl", "sfadamw(lr=0.5)", "", -4, 1, 20), sizeof avg);
    int differ = 0;
    for (int k = 1; k <= 20; k += 19) {
        e = rvw_explain("bowl", "sfadamw(lr=0.5)", "", -4, 1, k);
        CHECK(e != NULL);
        CHECK(e[X + AFTER] == rows[3 * k] && e[Y + AFTER] == rows[3 * k + 1]);
        CHECK(e[X + EVAL] == avg[3 * k] && e[Y + EVAL] == avg[3 * k + 1]);
        CHECK(e[STEP + LOSS_EVAL] == avg[3 * k + 2]);
        CHECK_NEAR(e[STEP + AVG_WEIGHT], 1.0 / k, 1e-7);  /* equal weights: a plain mean */
        differ |= avg[3 * k] != rows[3 * k];
    }
    CHECK(differ);
    /* the eval trace of an optimizer without modes is its trace */
    memcpy(rows, rvw_trace("bowl", "adam(lr=0.3)", "", -4, 1, 20), sizeof rows);
    double *same = rvw_trace_eval("bowl", "adam(lr=0.3)", "", -4, 1, 20);
    CHECK(same != NULL && memcmp(same, rows, sizeof rows) == 0);
    CHECK(rvw_trace_eval("bowl", "sfadamw(lr=-1)", "", 0, 0, 3) == NULL);
    CHECK_STR(rvw_error(), "spec 'sfadamw(lr=-1)': lr must be >= 0, got -1");
}

static void test_schedule_and_canonical(void)
{
    double *c = rvw_schedule_curve("step(lr=1, step_size=2, gamma=0.5)", 5);
    CHECK(c != NULL);
    const double want[5] = {1, 1, 0.5, 0.5, 0.25};
    for (int t = 0; c && t < 5; t++)
        CHECK_NEAR(c[t], want[t], 0);
    CHECK_STR(rvw_optim_canonical("polyak(lr=0.5)"), "polyak(lr=0.5,beta=0.9,weight_decay=0)");
    CHECK(rvw_optim_canonical("polyak(lr=x)") == NULL);
}

int main(void)
{
    test_info_and_grid();
    test_gradcheck();
    test_trace_equals_lab();
    test_explain();
    test_newer_rules();
    test_schedule_and_canonical();
    return check_summary("test_web_api");
}
