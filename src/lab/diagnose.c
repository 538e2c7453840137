/* Loss-curve diagnosis: robust summary figures of a curve and a verdict
   chosen from them in a fixed order (see ravine/diagnose.h for the rules).
   Medians and a running median keep single outliers from deciding anything. */
#include "ravine/diagnose.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decision thresholds, in the units of the judged scale (log loss, or a
   fraction of the spread when losses are not all positive). */
#define GROWTH_RATIO 2.0          /* late over early: diverging */
#define GROWTH_FROM_MIN 10.0      /* late over the lowest loss, still rising: diverging */
#define RISING_RATIO 1.1          /* the last half's trend rises over 10%: still rising */
#define TOOTH_AUTOCORR -0.5       /* detrended lag-1 autocorrelation: teeth */
#define TOOTH_FLIPS 0.8           /* over 80% of changes flip sign (noise: about 2/3) */
#define TOOTH_MIN 0.01            /* a tooth must move the loss by over 1% */
#define TOOTH_OVER_TREND 2.0      /* ... and by more than twice the progress per step */
#define PLATEAU_IMPROVEMENT 0.01  /* last third improved less than 1% */
#define BARELY_MOVED_RATIO 0.9    /* whole curve within 10% of its start ... */
#define BARELY_MOVED_IMPROVEMENT 0.03 /* ... and under 3% over the last third */
#define CONVERGED_RATIO 1e-6      /* late under 1e-6 x early: converged to ~0 */
#define SPIKE_Z 6.0
#define SPIKE_JUMP 0.22314355131420976 /* log(1.25): 25% above the running median */
#define SPIKE_JUMP_LINEAR 0.1     /* 10% of the spread on a linear scale */
#define SPIKE_FRACTION 0.10       /* at most 10% of the points: "isolated" */
#define RUNNING_HALF 3            /* running median over 7 points */

static const char *const verdict_names[RV_VERDICT_COUNT] = {
    "healthy", "diverging", "oscillating", "plateau", "spiky"};

const char *rv_verdict_name(rv_verdict v)
{
    return (int)v >= 0 && v < RV_VERDICT_COUNT ? verdict_names[v] : "";
}

static const char advice_nonfinite[] =
    "the loss overflowed: lower the learning rate (3-10x), add a warmup, clip gradients "
    "(max-norm 1.0), and check the inputs of the step where it broke for NaN/inf";
static const char advice_growth[] =
    "the loss is growing: lower the learning rate (below 2/largest curvature for SGD, "
    "try 3-10x lower), add a warmup if it grew right after the start, clip gradients";
static const char advice_oscillating[] =
    "the step overshoots a steep direction back and forth: lower the learning rate about 2x, "
    "or add momentum / switch to Adam(W) to damp the zig-zag; standardize input features "
    "so one direction is not far steeper than the others";
static const char advice_plateau[] =
    "the loss has stopped improving: if it is above the loss you expect, raise the learning "
    "rate, check the schedule has not decayed it to ~0 too early (cosine/step horizon), or "
    "switch to Adam(W); if this is the floor you expect, it has converged: stop early";
static const char advice_spiky[] =
    "isolated spikes: clip gradients (max-norm 1.0), add or lengthen the warmup, lower the "
    "peak learning rate a little or raise Adam's eps, and inspect the batches at the spike steps";
static const char advice_healthy[] =
    "nothing to fix: the loss is falling steadily; keep the schedule and watch the validation loss";
static const char advice_short[] =
    "log more points (at least 12) to judge oscillation, plateaus and spikes";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) using scratch (n doubles). */
static double median(const double *v, size_t n, double *scratch)
{
    if (!n)
        return NAN;
    memcpy(scratch, v, n * sizeof *v);
    qsort(scratch, n, sizeof *scratch, cmp_double);
    return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

/* Least-squares slope of y against x. */
static double slope_of(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++)
        mx += x[i], my += y[i];
    mx /= (double)n, my /= (double)n;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; i++)
        sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
    return sxx > 0 ? sxy / sxx : 0.0;
}

/* Figures of the last half: trend, teeth, sign changes. Returns the trend
   per point (|slope| against the index), the yardstick for a tooth. */
static double teeth(rv_diagnosis *d, const double *z, const double *s, size_t m, double *scratch)
{
    size_t h0 = m / 2, nh = m - h0;
    const double *zh = z + h0, *sh = s + h0;
    d->slope = slope_of(sh, zh, nh);
    /* residuals of a line fitted against the index, so uneven steps do not matter */
    double *idx = scratch, *res = scratch + nh;
    for (size_t i = 0; i < nh; i++)
        idx[i] = (double)i;
    double b = slope_of(idx, zh, nh), mz = 0;
    for (size_t i = 0; i < nh; i++)
        mz += zh[i];
    mz /= (double)nh;
    double a = mz - b * ((double)nh - 1) / 2.0, num = 0, den = 0;
    for (size_t i = 0; i < nh; i++)
        res[i] = zh[i] - (a + b * (double)i);
    for (size_t i = 0; i < nh; i++) {
        den += res[i] * res[i];
        if (i + 1 < nh)
            num += res[i] * res[i + 1];
    }
    d->tooth_autocorr = den > 0 ? num / den : 0.0;
    size_t flips = 0, pairs = 0;
    double *diff = scratch + 2 * nh;
    for (size_t i = 0; i + 1 < nh; i++)
        diff[i] = fabs(zh[i + 1] - zh[i]);
    for (size_t i = 0; i + 2 < nh; i++) {
        double d1 = zh[i + 1] - zh[i], d2 = zh[i + 2] - zh[i + 1];
        if (d1 == 0 || d2 == 0)
            continue;
        pairs++;
        flips += (d1 > 0) != (d2 > 0);
    }
    d->sign_change_rate = pairs ? (double)flips / (double)pairs : 0.0;
    d->tooth_size = nh > 1 ? median(diff, nh - 1, scratch + 3 * nh) : 0.0;
    return fabs(b);
}

/* Spikes: points well above a running median that rise above the point
   before them (so a steep early drop never counts) and fall after. */
static void spikes(rv_diagnosis *d, const double *z, const double *s, size_t m, double jump,
                   double *scratch)
{
    double *res = scratch, *win = scratch + m, *tmp = scratch + m + 2 * RUNNING_HALF + 1;
    for (size_t i = 0; i < m; i++) {
        size_t lo = i >= RUNNING_HALF ? i - RUNNING_HALF : 0;
        size_t hi = i + RUNNING_HALF + 1 < m ? i + RUNNING_HALF + 1 : m;
        memcpy(win, z + lo, (hi - lo) * sizeof *z);
        res[i] = z[i] - median(win, hi - lo, tmp);
    }
    double *absres = tmp + 2 * RUNNING_HALF + 1;
    for (size_t i = 0; i < m; i++)
        absres[i] = fabs(res[i]);
    double sigma = 1.4826 * median(absres, m, absres + m);
    d->noise = sigma;
    if (sigma < 1e-3 * jump)
        sigma = 1e-3 * jump;
    double best_z[RV_DIAGNOSE_MAX_SPIKES];
    size_t kept = 0;
    d->spikes = 0;
    d->max_spike_z = 0;
    for (size_t i = 1; i + 1 < m; i++) {
        double zs = res[i] / sigma;
        if (zs > d->max_spike_z && z[i] > z[i - 1] && z[i + 1] < z[i])
            d->max_spike_z = zs;
        if (!(zs > SPIKE_Z && res[i] > jump && z[i] - z[i - 1] > jump && z[i + 1] < z[i]))
            continue;
        d->spikes++;
        if (kept < RV_DIAGNOSE_MAX_SPIKES) {
            best_z[kept] = zs;
            d->spike_steps[kept++] = s[i];
        } else {
            size_t weakest = 0;
            for (size_t k = 1; k < kept; k++)
                if (best_z[k] < best_z[weakest])
                    weakest = k;
            if (zs > best_z[weakest]) {
                /* drop the weakest, keep step order by shifting */
                for (size_t k = weakest; k + 1 < kept; k++)
                    best_z[k] = best_z[k + 1], d->spike_steps[k] = d->spike_steps[k + 1];
                best_z[kept - 1] = zs;
                d->spike_steps[kept - 1] = s[i];
            }
        }
    }
    d->n_spike_steps = kept;
}

/* Median of the w points ending just before index end. */
static double window_median(const double *v, size_t end, size_t w, double *scratch)
{
    size_t lo = end >= w ? end - w : 0;
    return median(v + lo, end - lo, scratch);
}

static void judge(rv_diagnosis *d, const double *y, const double *z, const double *s, size_t m,
                  double *scratch)
{
    double jump = d->log_scale ? SPIKE_JUMP : SPIKE_JUMP_LINEAR;
    size_t w = m / 10 > 3 ? m / 10 : 3;
    if (w > m)
        w = m;
    double z_early = median(z, w, scratch), z_late = window_median(z, m, w, scratch);
    double z_min = z[0];
    for (size_t i = 1; i < m; i++)
        if (z[i] < z_min)
            z_min = z[i];

    if (m < RV_DIAGNOSE_MIN_POINTS) {
        d->limited = 1;
        d->advice = advice_short;
        double growth = z[m - 1] - z[0];   /* too few points for medians */
        d->verdict = growth > (d->log_scale ? log(GROWTH_RATIO) : GROWTH_RATIO - 1.0) ? RV_VERDICT_DIVERGING
                   : growth < -0.01                                     ? RV_VERDICT_HEALTHY
                                                                        : RV_VERDICT_PLATEAU;
        if (d->verdict == RV_VERDICT_DIVERGING)
            d->advice = advice_growth;
        snprintf(d->reason, sizeof d->reason,
                 "only %zu finite points (%d needed to judge oscillation, plateaus and spikes): "
                 "the loss went from %.4g to %.4g",
                 m, RV_DIAGNOSE_MIN_POINTS, y[0], y[m - 1]);
        return;
    }

    double trend_per_point = teeth(d, z, s, m, scratch);
    size_t third = m / 3;
    double z_two_thirds = window_median(z, m - third, w, scratch);
    d->late_improvement = d->log_scale ? 1.0 - exp(z_late - z_two_thirds) : z_two_thirds - z_late;
    spikes(d, z, s, m, jump, scratch);

    /* grew: still rising over the last half, or risen and stuck high */
    double growth = z_late - z_early, from_min = z_late - z_min;
    double half_rise = d->slope * (s[m - 1] - s[m / 2]);
    int rising = half_rise > (d->log_scale ? log(RISING_RATIO) : RISING_RATIO - 1.0);
    int grew = growth > (d->log_scale ? log(GROWTH_RATIO) : GROWTH_RATIO - 1.0);
    int grew_from_min = from_min > (d->log_scale ? log(GROWTH_FROM_MIN) : 1.0);
    int is_teeth = d->tooth_autocorr < TOOTH_AUTOCORR && d->sign_change_rate > TOOTH_FLIPS &&
                   d->tooth_size > TOOTH_MIN &&
                   d->tooth_size > TOOTH_OVER_TREND * trend_per_point;
    if ((grew || grew_from_min) && (rising || (grew && !is_teeth))) {
        d->verdict = RV_VERDICT_DIVERGING;
        d->advice = advice_growth;
        if (d->log_scale)
            snprintf(d->reason, sizeof d->reason,
                     "the loss grew: %.4g early, %.4g late (%.3gx), lowest %.4g at step %.9g",
                     d->early_loss, d->late_loss, d->late_to_early, d->min_loss, d->min_step);
        else
            snprintf(d->reason, sizeof d->reason,
                     "the loss grew: %.4g early, %.4g late, lowest %.4g at step %.9g",
                     d->early_loss, d->late_loss, d->min_loss, d->min_step);
        return;
    }
    if (d->log_scale && d->late_loss <= CONVERGED_RATIO * fmax(d->early_loss, y[0])) {
        d->verdict = RV_VERDICT_HEALTHY;
        d->advice = advice_healthy;
        snprintf(d->reason, sizeof d->reason,
                 "the loss converged: from %.4g at the start to %.4g late", y[0], d->late_loss);
        return;
    }
    if (is_teeth) {
        d->verdict = RV_VERDICT_OSCILLATING;
        d->advice = advice_oscillating;
        snprintf(d->reason, sizeof d->reason,
                 "the loss zig-zags: %.0f%% of consecutive changes flip sign, teeth of %.3g%s "
                 "per step against a trend of %.3g%s per step (lag-1 autocorrelation %.2f)",
                 100 * d->sign_change_rate, d->log_scale ? 100 * d->tooth_size : d->tooth_size,
                 d->log_scale ? "%" : " spreads",
                 d->log_scale ? 100 * trend_per_point : trend_per_point,
                 d->log_scale ? "%" : " spreads", d->tooth_autocorr);
        return;
    }
    /* a change within the noise of two window medians (one standard error,
       at most 5%) is no change */
    double resolvable = fmin(0.05, 1.2533 * d->noise * sqrt(2.0 / (double)w));
    if (d->late_improvement < fmax(PLATEAU_IMPROVEMENT, resolvable) ||
        (d->log_scale && d->late_to_early > BARELY_MOVED_RATIO &&
         d->late_improvement < BARELY_MOVED_IMPROVEMENT)) {
        d->verdict = RV_VERDICT_PLATEAU;
        d->advice = advice_plateau;
        snprintf(d->reason, sizeof d->reason,
                 "the loss stalled: it improved %.3g%s over the last third (from step %.9g) "
                 "and sits at %.4g (%.3gx the early loss)",
                 d->log_scale ? 100 * d->late_improvement : d->late_improvement,
                 d->log_scale ? "%" : " spreads", s[m - third - 1], d->late_loss,
                 d->log_scale ? d->late_to_early : NAN);
        return;
    }
    if (d->spikes && (double)d->spikes <= SPIKE_FRACTION * (double)m) {
        d->verdict = RV_VERDICT_SPIKY;
        d->advice = advice_spiky;
        snprintf(d->reason, sizeof d->reason,
                 "%zu isolated spike%s on a falling curve, the largest %.3g robust standard "
                 "deviations above the running median (first at step %.9g)",
                 d->spikes, d->spikes == 1 ? "" : "s", d->max_spike_z, d->spike_steps[0]);
        return;
    }
    d->verdict = RV_VERDICT_HEALTHY;
    d->advice = advice_healthy;
    snprintf(d->reason, sizeof d->reason,
             "the loss fell from %.4g to %.4g and is still improving (%.3g%s over the last third)",
             d->early_loss, d->late_loss,
             d->log_scale ? 100 * d->late_improvement : d->late_improvement,
             d->log_scale ? "%" : " spreads");
}

rv_status rv_diagnose(const double *loss, const double *steps, size_t n, rv_diagnosis *out)
{
    if (!loss || !out)
        return rv_fail(RV_ERR_NULL, "rv_diagnose: %s is NULL", loss ? "out" : "loss");
    if (!n)
        return rv_fail(RV_ERR_SIZE, "rv_diagnose: the curve is empty (n = 0)");
    if (n > ((size_t)-1) / (8 * sizeof(double)))
        return rv_fail(RV_ERR_SIZE, "rv_diagnose: n = %zu is too large", n);

    rv_diagnosis d;
    memset(&d, 0, sizeof d);
    d.first_nonfinite_step = NAN;
    d.late_to_early = NAN;
    d.slope = d.late_improvement = d.sign_change_rate = d.tooth_autocorr = NAN;
    d.tooth_size = d.max_spike_z = d.noise = NAN;
#define STEP(i) (steps ? steps[i] : (double)(i))

    size_t last = n;   /* index of the last finite value + 1 */
    while (last > 0 && !isfinite(loss[last - 1]))
        last--;
    if (last < n)
        d.first_nonfinite_step = STEP(last);
    size_t m = 0;
    for (size_t i = 0; i < last; i++)
        m += isfinite(loss[i]) != 0;
    d.missing = last - m;
    d.points = m;

    if (!m) {
        d.verdict = RV_VERDICT_DIVERGING;
        d.advice = advice_nonfinite;
        d.limited = 1;
        d.first_step = d.last_step = STEP(0);
        d.early_loss = d.late_loss = d.min_loss = d.min_step = NAN;
        snprintf(d.reason, sizeof d.reason, "no finite loss: NaN/inf from step %.9g on",
                 d.first_nonfinite_step);
        *out = d;
        return RV_OK;
    }

    /* y, z, s, then scratch space for medians and residuals */
    double *buf = malloc(8 * m * sizeof *buf + 64 * sizeof *buf);
    if (!buf)
        return rv_fail(RV_ERR_NOMEM, "rv_diagnose: out of memory for %zu points", m);
    double *y = buf, *z = buf + m, *s = buf + 2 * m, *scratch = buf + 3 * m;
    int no_negative = 1;
    for (size_t i = 0, k = 0; i < last; i++) {
        if (!isfinite(loss[i]))
            continue;
        y[k] = loss[i];
        s[k] = STEP(i);
        no_negative &= loss[i] >= 0;
        k++;
    }
#undef STEP
    d.first_step = s[0];
    d.last_step = s[m - 1];
    d.min_loss = y[0];
    d.min_step = s[0];
    for (size_t i = 1; i < m; i++)
        if (y[i] < d.min_loss)
            d.min_loss = y[i], d.min_step = s[i];
    size_t w = m / 10 > 3 ? m / 10 : 3;
    if (w > m)
        w = m;
    d.early_loss = median(y, w, scratch);
    d.late_loss = window_median(y, m, w, scratch);

    /* zeros are fine (a run that reached the exact minimum): they sit on the floor */
    /* the scale's reference: the early loss, or the first when the curve hit 0 at once */
    double ref = fmax(d.early_loss, y[0]);
    d.log_scale = no_negative && ref > 0;
    if (d.log_scale) {
        d.late_to_early = d.early_loss > 0 ? d.late_loss / d.early_loss : NAN;
        /* a floor far below the start keeps float noise of a converged run from
           looking like huge relative teeth */
        double floor = ref * 1e-9;
        for (size_t i = 0; i < m; i++)
            z[i] = log(y[i] > floor ? y[i] : floor);
    } else {
        double lo = y[0], hi = y[0];
        for (size_t i = 1; i < m; i++)
            lo = y[i] < lo ? y[i] : lo, hi = y[i] > hi ? y[i] : hi;
        double spread = hi > lo ? hi - lo : 1.0;
        for (size_t i = 0; i < m; i++)
            z[i] = (y[i] - lo) / spread;
    }

    if (last < n) {
        d.verdict = RV_VERDICT_DIVERGING;
        d.advice = advice_nonfinite;
        d.limited = m < RV_DIAGNOSE_MIN_POINTS;
        snprintf(d.reason, sizeof d.reason,
                 "the loss became %s at step %.9g and never recovered (last finite loss %.4g at "
                 "step %.9g)",
                 isnan(loss[last]) ? "NaN" : "infinite", d.first_nonfinite_step, y[m - 1],
                 s[m - 1]);
        if (m >= RV_DIAGNOSE_MIN_POINTS) {
            (void)teeth(&d, z, s, m, scratch);
            spikes(&d, z, s, m, d.log_scale ? SPIKE_JUMP : SPIKE_JUMP_LINEAR, scratch);
        }
    } else {
        judge(&d, y, z, s, m, scratch);
    }
    free(buf);
    *out = d;
    return RV_OK;
}
