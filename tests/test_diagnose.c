/* rv_diagnose: exact figures on hand-built curves, and verdicts on the loss
   curves of real lab runs (rv_lab_trace) on the seed's stretched bowl
   f = 0.5 (x^2 + 10 y^2), Himmelblau's function and the delivery data. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>

static rv_diagnosis diag(const double *loss, const double *steps, size_t n)
{
    rv_diagnosis d;
    memset(&d, 0xAB, sizeof d);
    CHECK_STATUS(rv_diagnose(loss, steps, n, &d), RV_OK);
    return d;
}

/* 1, 2, 1, 2, ...: every change flips sign and each tooth is log 2. */
static void pure_teeth(void)
{
    double y[40];
    for (int i = 0; i < 40; i++)
        y[i] = i % 2 ? 2.0 : 1.0;
    rv_diagnosis d = diag(y, NULL, 40);
    CHECK_STR(rv_verdict_name(d.verdict), "oscillating");
    CHECK_NEAR(d.sign_change_rate, 1.0, 0);
    CHECK_NEAR(d.tooth_size, log(2.0), 1e-15);
    CHECK(d.tooth_autocorr < -0.9);
    CHECK_NEAR(d.late_to_early, 1.0, 0);   /* medians of 4 points: 1.5 and 1.5 */
    CHECK(!d.limited && d.log_scale);
    CHECK(strstr(d.advice, "lower the learning rate about 2x") != NULL);
}

/* A NaN tail is divergence at the first NaN; a NaN in the middle is missing. */
static void nonfinite(void)
{
    double tail[] = {3, 2, 1.5, NAN, NAN};
    rv_diagnosis d = diag(tail, NULL, 5);
    CHECK_STR(rv_verdict_name(d.verdict), "diverging");
    CHECK_NEAR(d.first_nonfinite_step, 3, 0);
    CHECK(d.points == 3 && d.missing == 0 && d.limited);
    CHECK_STR(d.reason, "the loss became NaN at step 3 and never recovered (last finite loss 1.5 at step 2)");

    double steps[5] = {0, 100, 200, 300, 400};
    double inf_tail[] = {3, 2, INFINITY, 1, -INFINITY};
    d = diag(inf_tail, steps, 5);
    CHECK_STR(rv_verdict_name(d.verdict), "diverging");
    CHECK_NEAR(d.first_nonfinite_step, 400, 0);
    CHECK(d.missing == 1 && d.points == 3);

    double none[] = {NAN, NAN};
    d = diag(none, NULL, 2);
    CHECK_STR(rv_verdict_name(d.verdict), "diverging");
    CHECK(d.points == 0 && d.first_nonfinite_step == 0);

    double gap[60];
    for (int i = 0; i < 60; i++)
        gap[i] = 5.0 * pow(0.95, i);
    gap[30] = NAN;
    d = diag(gap, NULL, 60);
    CHECK_STR(rv_verdict_name(d.verdict), "healthy");
    CHECK(d.missing == 1 && d.points == 59 && isnan(d.first_nonfinite_step));
}

/* A clean geometric decay with one 3x spike at step 50 (steps are 10 apart). */
static void one_spike(void)
{
    double y[100], s[100];
    for (int i = 0; i < 100; i++)
        y[i] = 2.0 * pow(0.99, i) + 0.1, s[i] = 10.0 * i;
    y[50] *= 3;
    rv_diagnosis d = diag(y, s, 100);
    CHECK_STR(rv_verdict_name(d.verdict), "spiky");
    CHECK(d.spikes == 1 && d.n_spike_steps == 1);
    CHECK_NEAR(d.spike_steps[0], 500, 0);
    CHECK(d.max_spike_z > 6);
    CHECK_NEAR(d.first_step, 0, 0);
    CHECK_NEAR(d.last_step, 990, 0);
    /* without the spike it is healthy */
    y[50] /= 3;
    d = diag(y, s, 100);
    CHECK_STR(rv_verdict_name(d.verdict), "healthy");
    CHECK(d.spikes == 0);
}

static void flat_and_growth(void)
{
    double y[50];
    for (int i = 0; i < 50; i++)
        y[i] = 2.0;
    rv_diagnosis d = diag(y, NULL, 50);
    CHECK_STR(rv_verdict_name(d.verdict), "plateau");
    CHECK_NEAR(d.late_improvement, 0, 0);
    CHECK_NEAR(d.slope, 0, 0);

    /* loss doubling every step: slope of log loss is log 2 per step */
    for (int i = 0; i < 50; i++)
        y[i] = ldexp(1.0, i);
    d = diag(y, NULL, 50);
    CHECK_STR(rv_verdict_name(d.verdict), "diverging");
    CHECK_NEAR(d.slope, log(2.0), 1e-12);
    CHECK_NEAR(d.min_loss, 1, 0);
    CHECK_NEAR(d.min_step, 0, 0);
    /* early = median of 2^0..2^4 = 4, late = median of 2^45..2^49 = 2^47 */
    CHECK_NEAR(d.early_loss, 4, 0);
    CHECK_NEAR(d.late_loss, ldexp(1.0, 47), 0);

    /* converged to ~0: healthy, not a plateau at the float floor */
    for (int i = 0; i < 50; i++)
        y[i] = i < 20 ? pow(0.3, i) : 1e-12;
    d = diag(y, NULL, 50);
    CHECK_STR(rv_verdict_name(d.verdict), "healthy");
}

/* Negative losses are judged on a linear scale. */
static void negative_losses(void)
{
    double y[80];
    for (int i = 0; i < 80; i++)
        y[i] = -100.0 - 50.0 * (1 - exp(-i / 20.0));
    rv_diagnosis d = diag(y, NULL, 80);
    CHECK(!d.log_scale && isnan(d.late_to_early));
    CHECK_STR(rv_verdict_name(d.verdict), "healthy");
}

static void short_curves(void)
{
    double down[] = {2.3, 1.9, 1.6};
    rv_diagnosis d = diag(down, NULL, 3);
    CHECK(d.limited);
    CHECK_STR(rv_verdict_name(d.verdict), "healthy");
    CHECK_STR(d.reason, "only 3 finite points (12 needed to judge oscillation, plateaus and spikes): the loss went from 2.3 to 1.6");
    double up[] = {1, 1.5, 2.5};
    d = diag(up, NULL, 3);
    CHECK_STR(rv_verdict_name(d.verdict), "diverging");
    double one[] = {1};
    d = diag(one, NULL, 1);
    CHECK_STR(rv_verdict_name(d.verdict), "plateau");
    CHECK(d.limited && d.points == 1);
}

static void errors(void)
{
    rv_diagnosis d;
    memset(&d, 0x5A, sizeof d);
    rv_diagnosis before = d;
    double y[1] = {1};
    CHECK_STATUS(rv_diagnose(y, NULL, 0, &d), RV_ERR_SIZE);
    CHECK_STR(rv_errmsg(), "rv_diagnose: the curve is empty (n = 0)");
    CHECK_STATUS(rv_diagnose(NULL, NULL, 1, &d), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "rv_diagnose: loss is NULL");
    CHECK_STATUS(rv_diagnose(y, NULL, 1, NULL), RV_ERR_NULL);
    CHECK_STR(rv_errmsg(), "rv_diagnose: out is NULL");
    CHECK(memcmp(&d, &before, sizeof d) == 0);
    CHECK_STR(rv_verdict_name(RV_VERDICT_SPIKY), "spiky");
    CHECK_STR(rv_verdict_name(RV_VERDICT_COUNT), "");
}

/* A deterministic normal deviate (Box-Muller on a fixed LCG). */
static double gauss(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    double u1 = ((*state >> 8) + 1.0) / 16777218.0;
    *state = *state * 1103515245u + 12345u;
    double u2 = ((*state >> 8) + 1.0) / 16777218.0;
    return sqrt(-2 * log(u1)) * cos(2 * 3.14159265358979 * u2);
}

/* Every finding is reported with its evidence; the verdict is the most
   urgent; single points in ordinary noise are not spikes. */
static void findings(void)
{
    enum { N = 2000 };
    static double y[N];
    unsigned st = 7;
    /* a floor at 0.7 with five 2.5x spikes: spiky first, a plateau too */
    for (int i = 0; i < N; i++)
        y[i] = 0.7 * exp(0.004 * gauss(&st)) * (i % 400 == 200 ? 2.5 : 1);
    rv_diagnosis d = diag(y, NULL, N);
    CHECK_STR(rv_verdict_name(d.verdict), "spiky");
    CHECK(d.n_findings == 2 && d.findings[0].kind == RV_VERDICT_SPIKY &&
          d.findings[1].kind == RV_VERDICT_PLATEAU);
    CHECK(d.spikes == 5 && d.strong_spikes == 5);
    CHECK_STR(d.reason, d.findings[0].evidence);
    CHECK(strstr(d.findings[1].evidence, "the loss stalled") == d.findings[1].evidence);
    CHECK(d.advice == d.findings[0].advice && strstr(d.findings[1].advice, "stopped improving"));
    /* a converging curve, 4.5% noise, one point 7 robust deviations out */
    for (int i = 0; i < N; i++)
        y[i] = (0.8 + 3.0 * exp(-i / 400.0)) * exp(0.045 * gauss(&st));
    y[1234] = y[1233] * 1.32;
    d = diag(y, NULL, N);
    CHECK_MSG(d.spikes == 1 && d.strong_spikes == 0 && d.max_spike_z > 6, "spikes %zu, z %g",
              d.spikes, d.max_spike_z);
    CHECK_STR(rv_verdict_name(d.verdict), "healthy");
    CHECK(d.n_findings == 0);
    /* ... three such points above a light noise tail are spikes */
    y[500] = y[499] * 1.36, y[900] = y[899] * 1.36;
    d = diag(y, NULL, N);
    CHECK_MSG(d.spikes == 3 && d.strong_spikes == 0 && d.noise_tail < 9, "spikes %zu, tail %zu",
              d.spikes, d.noise_tail);
    CHECK_STR(rv_verdict_name(d.verdict), "spiky");
    /* ... as is one beyond doubt */
    y[500] = y[499], y[900] = y[899], y[1234] = y[1233] * 6;
    d = diag(y, NULL, N);
    CHECK(d.spikes == 1 && d.max_spike_z > 30);
    CHECK_STR(rv_verdict_name(d.verdict), "spiky");
    /* growth outranks spikes, which are still reported */
    for (int i = 0; i < 400; i++)
        y[i] = (i < 250 ? 2.0 * exp(-i / 60.0) + 0.5 : 0.5 * pow(1.02, i - 250)) *
               (i == 80 || i == 160 ? 3 : 1);
    d = diag(y, NULL, 400);
    CHECK_STR(rv_verdict_name(d.verdict), "diverging");
    CHECK(d.n_findings == 2 && d.findings[1].kind == RV_VERDICT_SPIKY);
}

/* Steps must increase: a curve out of order is the caller's to sort. */
static void step_order(void)
{
    double y[4] = {3, 2, 1, 0.5}, s[4] = {0, 2, 1, 3};
    rv_diagnosis d;
    CHECK_STATUS(rv_diagnose(y, s, 4, &d), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "rv_diagnose: steps must be finite and increase: step[1] = 2, step[2] = 1");
    s[1] = 1;
    CHECK_STATUS(rv_diagnose(y, s, 4, &d), RV_ERR_ARG);
    s[1] = NAN;
    CHECK_STATUS(rv_diagnose(y, s, 4, &d), RV_ERR_ARG);
    s[1] = 0.5;
    CHECK_STATUS(rv_diagnose(y, s, 4, &d), RV_OK);
}

/* Loss curves of real runs: rv_lab_trace, ravine's kernels on float32 (x, y). */
static rv_verdict run_verdict(const char *surface, const char *spec, double x0, double y0,
                              long steps)
{
    rv_surface *s;
    CHECK_STATUS(rv_surface_parse(surface, &s), RV_OK);
    double *rows = malloc((size_t)(steps + 1) * 3 * sizeof *rows);
    double *loss = malloc((size_t)(steps + 1) * sizeof *loss);
    CHECK_STATUS(rv_lab_trace(s, spec, NULL, (double[]){x0, y0}, steps, rows), RV_OK);
    for (long k = 0; k <= steps; k++)
        loss[k] = rows[3 * k + 2];
    rv_diagnosis d = diag(loss, NULL, (size_t)steps + 1);
    free(rows);
    free(loss);
    rv_surface_free(s);
    return d.verdict;
}

static void real_runs(void)
{
    const char *bowl = "bowl(kappa=10)";
    /* lr above 2/lambda_max = 0.2: the steep direction grows 1.5x per step */
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "sgd(lr=0.25)", -4, 1, 100)), "diverging");
    /* 300 steps: the loss overflows float32 at step 215 and the trace turns NaN */
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "sgd(lr=0.25)", -4, 1, 300)), "diverging");
    /* lr 0.19 zig-zags across the valley, but on a quadratic each direction's
       share of the loss shrinks monotonically (0.81^2 and 0.9^2 per step):
       the zig-zag is in the path, not in the loss curve */
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "sgd(lr=0.19)", -4, 1, 100)), "healthy");
    /* lr = 2/lambda_max exactly: the steep part of the loss stays 5 forever */
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "sgd(lr=0.2)", -4, 1, 300)), "plateau");
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "sgd(lr=1e-5)", -4, 1, 200)), "plateau");
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "adam(lr=0.1)", -4, 1, 100)), "healthy");
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "sgd(lr=0.05, momentum=0.9)", -4, 1, 100)),
              "healthy");
    CHECK_STR(rv_verdict_name(run_verdict(bowl, "newton", -4, 1, 50)), "healthy");
    /* past the edge of stability on a non-quadratic surface GD settles into a
       2-cycle around the minimum (3, 2): the loss alternates, no progress */
    CHECK_STR(rv_verdict_name(run_verdict("himmelblau", "sgd(lr=0.028)", 2.5, 2.5, 200)),
              "oscillating");
    CHECK_STR(rv_verdict_name(run_verdict("himmelblau", "sgd(lr=0.02)", 2.5, 2.5, 200)),
              "healthy");
    /* seed 000's lr 0.05 on the raw delivery features: overflow, NaN tail */
    CHECK_STR(rv_verdict_name(run_verdict("delivery", "sgd(lr=0.05)", 0, 0, 100)), "diverging");
}

int main(void)
{
    pure_teeth();
    nonfinite();
    one_spike();
    flat_and_growth();
    negative_losses();
    short_curves();
    errors();
    findings();
    step_order();
    real_runs();
    return check_summary("diagnose");
}
