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
double *rvw_schedule_curve(const char *spec, int n);
double *rvw_explain(const char *surface, const char *optim, const char *schedule, double x,
                    double y, int k);
const char *rvw_optim_canonical(const char *spec);
const char *rvw_error(void);

/* rvw_explain layout: 4 header values, then 11 per coordinate */
enum { LR = 0, LOSS_BEFORE = 1, LOSS_AFTER = 2, X = 4, Y = 15 };
enum { GRAD = 0, BUF = 2, M = 3, V = 4, DENOM = 6, BEFORE = 7, AFTER = 9 };

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
    test_schedule_and_canonical();
    return check_summary("test_web_api");
}
