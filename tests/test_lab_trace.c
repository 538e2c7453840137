/* rv_lab_trace and rv_lab_race_one: paths equal hand-rolled float32
   recurrences, Newton lands where algebra says, races agree with traces. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>

static rv_surface *parse(const char *spec)
{
    rv_surface *s = NULL;
    CHECK_STATUS(rv_surface_parse(spec, &s), RV_OK);
    return s;
}

#define STEPS 60

/* sgd on bowl(kappa=10): float32 p += (-lr) * g with g = (x, 10 y) */
static void sgd_matches_recurrence(void)
{
    rv_surface *s = parse("bowl");
    double rows[(STEPS + 1) * 3];
    CHECK_STATUS(rv_lab_trace(s, "sgd(lr=0.15)", NULL, (double[]){-4, 1}, STEPS, rows), RV_OK);
    float x = -4, y = 1, neg_lr = (float)-0.15;
    int same = 1;
    for (int k = 0; k <= STEPS; k++) {
        same &= rows[3 * k] == x && rows[3 * k + 1] == y;
        same &= rows[3 * k + 2] == 0.5 * ((double)x * x + 10.0 * (double)y * y);
        float gx = (float)(double)x, gy = (float)(10.0 * (double)y);
        x = fmaf(gx, neg_lr, x);   /* torch's param.add_(g, alpha=-lr): one rounding */
        y = fmaf(gy, neg_lr, y);
    }
    CHECK_MSG(same, "sgd trace differs from the float32 recurrence");
    /* the optimizer holds float32: row 0 is the start rounded to float, and its loss is there */
    CHECK_STATUS(rv_lab_trace(s, "sgd", NULL, (double[]){2.2, -1.7}, 0, rows), RV_OK);
    CHECK(rows[0] == (double)2.2f && rows[1] == (double)-1.7f);
    CHECK(rows[2] == 0.5 * ((double)2.2f * (double)2.2f + 10 * (double)-1.7f * (double)-1.7f));
    /* Newton works in double: its start is exact */
    CHECK_STATUS(rv_lab_trace(s, "newton", NULL, (double[]){2.2, -1.7}, 0, rows), RV_OK);
    CHECK(rows[0] == 2.2 && rows[1] == -1.7);
    /* the seed's picture: y flips sign every step (1 - 0.15*10 = -0.5), x crawls (0.85);
       float(0.15) is a little above 0.15, so y lands just below -0.5 */
    CHECK(rows[3 * 1 + 1] == fmaf(10, -0.15f, 1) && fabs(rows[3 * 1 + 1] + 0.5) < 1e-7);
    CHECK(rows[3 * 1] == fmaf(-4, -0.15f, -4) && fabs(rows[3 * 1] + 3.4) < 1e-6);
    rv_surface_free(s);
}

/* adam on the bowl: torch's single-tensor float32 arithmetic, written out
   (add_ with alpha and addcmul_ are fused multiply-adds on CPU) */
static void adam_matches_recurrence(void)
{
    rv_surface *s = parse("bowl");
    double rows[(STEPS + 1) * 3];
    CHECK_STATUS(rv_lab_trace(s, "adam(lr=0.1)", NULL, (double[]){-4, 1}, STEPS, rows), RV_OK);
    float p[2] = {-4, 1}, m[2] = {0, 0}, v[2] = {0, 0};
    const double b1 = 0.9, b2 = 0.999, lr = 0.1;
    int same = 1;
    for (int k = 0; k <= STEPS; k++) {
        same &= rows[3 * k] == p[0] && rows[3 * k + 1] == p[1];
        float g[2] = {(float)(double)p[0], (float)(10.0 * (double)p[1])};
        int t = k + 1;
        float step = (float)-(lr / (1 - pow(b1, t)));
        float bc2_sqrt = (float)sqrt(1 - pow(b2, t));
        for (int i = 0; i < 2; i++) {
            m[i] = fmaf(g[i], (float)(1 - b1), m[i] * (float)b1);
            v[i] = fmaf((float)(1 - b2) * g[i], g[i], v[i] * (float)b2);
            float denom = sqrtf(v[i]) / bc2_sqrt + (float)1e-8;
            p[i] = p[i] + (step * m[i]) / denom;
        }
    }
    CHECK_MSG(same, "adam trace differs from the float32 recurrence");
    /* bias correction: the first step is lr * sign(g) in each coordinate */
    CHECK_NEAR(rows[3], -3.9, 1e-6);
    CHECK_NEAR(rows[4], 0.9, 1e-6);
    rv_surface_free(s);
}

static void newton(void)
{
    rv_surface *s = parse("bowl");
    double rows[3 * 3];
    CHECK_STATUS(rv_lab_trace(s, "newton", NULL, (double[]){-4, 1}, 2, rows), RV_OK);
    CHECK(rows[3] == 0 && rows[4] == 0 && rows[5] == 0);
    /* damped: x -= g / (H + D): -4 + 4/2 = -2, 1 - 10/11 = 1/11 */
    CHECK_STATUS(rv_lab_trace(s, "newton(damping=1, lr=1)", NULL, (double[]){-4, 1}, 2, rows),
                 RV_OK);
    CHECK_NEAR(rows[3], -2, 1e-15);
    CHECK_NEAR(rows[4], 1.0 / 11, 1e-15);
    CHECK_STATUS(rv_lab_trace(s, "newton(lr=0.5)", NULL, (double[]){-4, 1}, 2, rows), RV_OK);
    CHECK(rows[3] == -2 && rows[4] == 0.5 && rows[6] == -1 && rows[7] == 0.25);
    rv_surface_free(s);
    /* rosenbrock: Newton from (-1.2, 1) reaches (1, 1) in a handful of steps */
    s = parse("rosenbrock");
    double r[11 * 3];
    CHECK_STATUS(rv_lab_trace(s, "newton", NULL, (double[]){-1.2, 1}, 10, r), RV_OK);
    CHECK_NEAR(r[30], 1, 1e-12);
    CHECK_NEAR(r[31], 1, 1e-12);
    rv_surface_free(s);
}

/* update k uses schedule(k): a step schedule halves sgd's lr after 3 updates */
static void schedule(void)
{
    rv_surface *s = parse("bowl(kappa=1)");
    rv_schedule *sch;
    CHECK_STATUS(rv_schedule_parse("step(lr=0.5, step_size=3, gamma=0.5)", &sch), RV_OK);
    double rows[7 * 3];
    CHECK_STATUS(rv_lab_trace(s, "sgd(lr=123)", sch, (double[]){-4, 2}, 6, rows), RV_OK);
    /* x_{k+1} = x_k (1 - lr_k): 0.5, 0.5, 0.5, then 0.75 */
    const double want[7] = {-4, -2, -1, -0.5, -0.375, -0.28125, -0.2109375};
    for (int k = 0; k <= 6; k++)
        CHECK(rows[3 * k] == want[k]);
    rv_schedule_free(sch);
    /* Newton takes its lr from the schedule too */
    CHECK_STATUS(rv_schedule_parse("constant(lr=0.5)", &sch), RV_OK);
    CHECK_STATUS(rv_lab_trace(s, "newton", sch, (double[]){-4, 2}, 2, rows), RV_OK);
    CHECK(rows[3] == -2 && rows[4] == 1 && rows[6] == -1);
    rv_schedule_free(sch);
    rv_surface_free(s);
}

/* leaving the domain or overflowing: NaN rows from there on, and a diverged race */
static void divergence(void)
{
    rv_surface *s = parse("bowl");
    long steps = 400;
    double *rows = malloc((size_t)(steps + 1) * 3 * sizeof *rows);
    /* lr 0.3: y multiplies by 1 - 3 = -2 each step until float32 overflows */
    CHECK_STATUS(rv_lab_trace(s, "sgd(lr=0.3)", NULL, (double[]){-4, 1}, steps, rows), RV_OK);
    long first_nan = -1;
    for (long k = 0; k <= steps && first_nan < 0; k++)
        if (isnan(rows[3 * k + 2]))
            first_nan = k;
    CHECK_MSG(first_nan > 100 && first_nan < 140, "first nan row %ld", first_nan);
    int all_nan = 1;
    for (long k = first_nan; k <= steps; k++)
        all_nan &= isnan(rows[3 * k]) && isnan(rows[3 * k + 1]) && isnan(rows[3 * k + 2]);
    CHECK(all_nan);
    rv_race_result r;
    CHECK_STATUS(rv_lab_race_one(s, "sgd(lr=0.3)", NULL, (double[]){-4, 1}, steps, 0.01, &r), RV_OK);
    CHECK(r.diverged && isnan(r.final_loss) && r.steps_to_threshold == -1);
    /* growth past 1e6 x the start counts as divergence before any overflow */
    CHECK_STATUS(rv_lab_race_one(s, "sgd(lr=0.3)", NULL, (double[]){-4, 1}, 25, 0.01, &r), RV_OK);
    CHECK(r.diverged && isfinite(r.final_loss));
    CHECK_STATUS(rv_lab_race_one(s, "sgd(lr=0.3)", NULL, (double[]){-4, 1}, 10, 0.01, &r), RV_OK);
    CHECK(!r.diverged);
    free(rows);
    rv_surface_free(s);

    /* rastrigin's domain ends at 5.12: a big step leaves it */
    s = parse("rastrigin");
    double rr[4 * 3];
    CHECK_STATUS(rv_lab_trace(s, "sgd(lr=1)", NULL, (double[]){2.2, -1.7}, 3, rr), RV_OK);
    CHECK(isfinite(rr[2]) && isnan(rr[5]) && isnan(rr[11]));
    rv_surface_free(s);
}

/* races summarise traces: same losses, same first crossing */
static void race_agrees_with_trace(void)
{
    static const char *const surfaces[] = {"bowl", "rosenbrock", "delivery(standardize=true)",
                                           "himmelblau"};
    static const char *const optims[] = {"sgd(lr=0.01)", "sgd(lr=0.01, momentum=0.9)",
                                         "adam(lr=0.1)", "adamw(lr=0.1)", "rmsprop(lr=0.01)",
                                         "adagrad(lr=0.5)", "polyak(lr=0.05)", "newton"};
    for (size_t i = 0; i < 4; i++) {
        rv_surface *s = parse(surfaces[i]);
        double start[2], threshold = 0.5;
        rv_surface_default_start(s, start);
        enum { N = 200 };
        double rows[(N + 1) * 3];
        for (size_t j = 0; j < 8; j++) {
            rv_race_result r;
            CHECK_STATUS(rv_lab_trace(s, optims[j], NULL, start, N, rows), RV_OK);
            CHECK_STATUS(rv_lab_race_one(s, optims[j], NULL, start, N, threshold, &r), RV_OK);
            long first = -1;
            for (long k = 0; k <= N && first < 0; k++)
                if (rows[3 * k + 2] < threshold)
                    first = k;
            CHECK_MSG(r.steps_to_threshold == first, "%s %s: race %ld, trace %ld", surfaces[i],
                      optims[j], r.steps_to_threshold, first);
            CHECK(r.final_loss == rows[3 * N + 2] || (isnan(r.final_loss) && isnan(rows[3 * N + 2])));
        }
        rv_surface_free(s);
    }
}

/* rv_lab_trace_eval: schedule-free's average. With a constant lr and r = 0
   every weight is lr^2, so x_t is the plain mean of z_1..z_t, and z is read
   back from y = (1 - beta1) z + beta1 x; other optimizers give their trace. */
static void eval_rows(void)
{
    rv_surface *s = parse("bowl");
    double y[(STEPS + 1) * 3], x[(STEPS + 1) * 3];
    CHECK_STATUS(rv_lab_trace(s, "sfadamw(lr=0.5)", NULL, (double[]){-4, 1}, STEPS, y), RV_OK);
    CHECK_STATUS(rv_lab_trace_eval(s, "sfadamw(lr=0.5)", NULL, (double[]){-4, 1}, STEPS, x), RV_OK);
    /* by hand: update 1 has weight 1 (x = y = z = start + 0.5 * sign of -g);
       update 2: n_x = -3.5/sqrt(v/(1-0.999^2)) with v = 0.999*0.016 + 0.001*12.25,
       z = -3.5 - 0.5 n_x, x = (x_1 + z_2)/2 */
    CHECK(x[3] == -3.5 && x[4] == 0.5 && y[3] == -3.5 && x[5] == 0.5 * (3.5 * 3.5 + 10 * 0.25));
    double n = -3.5 / sqrt((0.999 * 0.016 + 0.001 * 12.25) / (1 - 0.999 * 0.999));
    CHECK_NEAR(x[6], (-3.5 + (-3.5 - 0.5 * n)) / 2, 1e-6);
    CHECK_NEAR(y[6], -3.5 + 0.5 * (0.9 * 0.5 - 1) * n, 1e-6);
    double sum[2] = {0, 0}, worst = 0;
    for (int k = 1; k <= STEPS; k++)
        for (int i = 0; i < 2; i++) {
            double z = (y[3 * k + i] - 0.9 * x[3 * k + i]) / 0.1;
            sum[i] += z;
            double err = fabs(x[3 * k + i] - sum[i] / k) / fmax(1, fabs(x[3 * k + i]));
            worst = fmax(worst, err);
        }
    CHECK_MSG(worst < 1e-5, "sfadamw: x is not the mean of the z's (worst %g)", worst);
    for (int k = 0; k <= STEPS; k++)
        CHECK(x[3 * k + 2] == 0.5 * (x[3 * k] * x[3 * k] + 10 * x[3 * k + 1] * x[3 * k + 1]));
    CHECK(x[3 * STEPS + 2] < y[3 * STEPS + 2]);   /* the average sits nearer the minimum */
    /* no modes: the eval rows are the trace */
    CHECK_STATUS(rv_lab_trace(s, "lion(lr=0.1)", NULL, (double[]){-4, 1}, STEPS, y), RV_OK);
    CHECK_STATUS(rv_lab_trace_eval(s, "lion(lr=0.1)", NULL, (double[]){-4, 1}, STEPS, x), RV_OK);
    CHECK(memcmp(x, y, sizeof x) == 0);
    CHECK_STATUS(rv_lab_trace_eval(s, "newton", NULL, (double[]){-4, 1}, 2, x), RV_OK);
    CHECK(x[3] == 0 && x[4] == 0);
    CHECK_STATUS(rv_lab_trace_eval(s, "sfadamw", NULL, (double[]){-4, 1}, 2, NULL), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "rv_lab_trace_eval: rows is NULL");
    rv_surface_free(s);
}

static void errors(void)
{
    rv_surface *s = parse("rastrigin");
    double rows[3 * 3] = {7, 7, 7};
    rv_race_result r = {5, 5, 5};
    CHECK_STATUS(rv_lab_trace(s, "sgd", NULL, (double[]){6, 0}, 2, rows), RV_ERR_SURFACE_DOMAIN);
    CHECK_STR(rv_errmsg(),
              "rastrigin(a=10): (6, 0) is outside the domain [-5.12, 5.12] x [-5.12, 5.12]");
    CHECK(rows[0] == 7);
    CHECK_STATUS(rv_lab_trace(s, "adamm(lr=0.1)", NULL, (double[]){1, 0}, 2, rows),
                 RV_ERR_SPEC_UNKNOWN_NAME);
    CHECK_STR(rv_errmsg(), "spec 'adamm(lr=0.1)': unknown optimizer 'adamm' (did you mean 'adam'?)");
    CHECK_STATUS(rv_lab_trace(s, "adam(lr=-1)", NULL, (double[]){1, 0}, 2, rows), RV_ERR_LR);
    CHECK_STATUS(rv_lab_trace(s, "newton(damping=-1)", NULL, (double[]){1, 0}, 2, rows),
                 RV_ERR_SPEC_RANGE);
    CHECK_STR(rv_errmsg(), "spec 'newton(damping=-1)': damping=-1: must be >= 0");
    CHECK_STATUS(rv_lab_trace(s, "newton(step=1)", NULL, (double[]){1, 0}, 2, rows),
                 RV_ERR_SPEC_UNKNOWN_KEY);
    CHECK_STATUS(rv_lab_trace(s, "sgd", NULL, (double[]){1, 0}, -1, rows), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "steps must be in [0, 100000000], got -1");
    CHECK_STATUS(rv_lab_trace(s, "sgd", NULL, (double[]){1, 0}, 2, NULL), RV_ERR_NULL);
    CHECK_STATUS(rv_lab_trace(NULL, "sgd", NULL, (double[]){1, 0}, 2, rows), RV_ERR_NULL);
    CHECK_STATUS(rv_lab_race_one(s, "sgd", NULL, (double[]){1, 0}, 2, NAN, &r),
                 RV_ERR_NONFINITE_ARG);
    CHECK(rows[0] == 7 && r.steps_to_threshold == 5);
    rv_surface_free(s);
}

int main(void)
{
    sgd_matches_recurrence();
    adam_matches_recurrence();
    newton();
    schedule();
    divergence();
    race_agrees_with_trace();
    eval_rows();
    errors();
    return check_summary("test_lab_trace");
}
