/* Loss-curve diagnosis: robust summary figures of a curve, every finding
   they support, and the most urgent one as the verdict (see
   ravine/diagnose.h for the rules). Medians and a running median keep single
   outliers from deciding anything. Working memory is two arrays of the
   finite points (the judged scale z and scratch for medians); the losses and
   steps are read where the caller keeps them unless values are missing. */
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
#define SPIKE_Z_STRONG 10.0       /* a strong spike */
#define SPIKE_Z_CERTAIN 30.0      /* one spike this far out is enough whatever the noise */
#define SPIKE_Z_TAIL 4.0          /* noise tail: peaks between this and SPIKE_Z */
#define SPIKE_MARGINAL_MIN 3      /* weaker spikes: at least this many */
#define SPIKE_TAIL_RATIO 3.0      /* a light tail: fewer tail peaks than 3x the spikes */
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

/* Median of v[0..n) using scratch (n doubles; may be v itself). */
static double median(const double *v, size_t n, double *scratch)
{
    if (!n)
        return NAN;
    if (scratch != v)
        memcpy(scratch, v, n * sizeof *v);
    qsort(scratch, n, sizeof *scratch, cmp_double);
    return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

/* The finite points: y the losses, z the judged scale, s the steps (NULL:
   0, 1, 2, ...). */
typedef struct curve {
    const double *y, *s;
    const double *z;
    size_t m;
    double *scratch;           /* m doubles */
} curve;

static double step_at(const curve *c, size_t i) { return c->s ? c->s[i] : (double)i; }

/* Median of the w points of z ending just before index end. */
static double window_median(const double *v, size_t end, size_t w, double *scratch)
{
    size_t lo = end >= w ? end - w : 0;
    return median(v + lo, end - lo, scratch);
}

/* z[i] minus the median of the 7 points around it. */
static double running_residual(const curve *c, size_t i)
{
    double win[2 * RUNNING_HALF + 1];
    size_t lo = i >= RUNNING_HALF ? i - RUNNING_HALF : 0;
    size_t hi = i + RUNNING_HALF + 1 < c->m ? i + RUNNING_HALF + 1 : c->m;
    memcpy(win, c->z + lo, (hi - lo) * sizeof *win);
    return c->z[i] - median(win, hi - lo, win);
}

/* Figures of the last half: trend, teeth, sign changes. Returns the trend
   per point (|slope| against the index), the yardstick for a tooth. */
static double teeth(rv_diagnosis *d, const curve *c)
{
    size_t h0 = c->m / 2, nh = c->m - h0;
    const double *zh = c->z + h0;
    /* trend per step (least squares of z against the step) */
    double ms = 0, mz = 0;
    for (size_t i = 0; i < nh; i++)
        ms += step_at(c, h0 + i), mz += zh[i];
    ms /= (double)nh, mz /= (double)nh;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < nh; i++) {
        double ds = step_at(c, h0 + i) - ms;
        sxy += ds * (zh[i] - mz), sxx += ds * ds;
    }
    d->slope = sxx > 0 ? sxy / sxx : 0.0;
    /* residuals of a line fitted against the index, so uneven steps do not matter */
    double mi = ((double)nh - 1) / 2.0, ixy = 0, ixx = 0;
    for (size_t i = 0; i < nh; i++)
        ixy += ((double)i - mi) * (zh[i] - mz), ixx += ((double)i - mi) * ((double)i - mi);
    double b = ixx > 0 ? ixy / ixx : 0.0, a = mz - b * mi, num = 0, den = 0;
    for (size_t i = 0; i < nh; i++) {
        double r = zh[i] - (a + b * (double)i);
        den += r * r;
        if (i + 1 < nh)
            num += r * (zh[i + 1] - (a + b * (double)(i + 1)));
    }
    d->tooth_autocorr = den > 0 ? num / den : 0.0;
    size_t flips = 0, pairs = 0;
    for (size_t i = 0; i + 2 < nh; i++) {
        double d1 = zh[i + 1] - zh[i], d2 = zh[i + 2] - zh[i + 1];
        if (d1 == 0 || d2 == 0)
            continue;
        pairs++;
        flips += (d1 > 0) != (d2 > 0);
    }
    d->sign_change_rate = pairs ? (double)flips / (double)pairs : 0.0;
    double *diff = c->scratch;
    for (size_t i = 0; i + 1 < nh; i++)
        diff[i] = fabs(zh[i + 1] - zh[i]);
    d->tooth_size = nh > 1 ? median(diff, nh - 1, diff) : 0.0;
    return fabs(b);
}

/* Spikes: points well above a running median that rise above the point
   before them (so a steep early drop never counts) and fall after. The
   noise is the robust spread (1.4826 MAD) of the residuals. */
static void spikes(rv_diagnosis *d, const curve *c, double jump, double *largest)
{
    *largest = 0;
    const double *z = c->z;
    size_t m = c->m;
    for (size_t i = 0; i < m; i++)
        c->scratch[i] = fabs(running_residual(c, i));
    double sigma = 1.4826 * median(c->scratch, m, c->scratch);
    d->noise = sigma;
    if (sigma < 1e-3 * jump)
        sigma = 1e-3 * jump;
    double best_z[RV_DIAGNOSE_MAX_SPIKES];
    size_t kept = 0;
    d->spikes = d->strong_spikes = d->noise_tail = 0;
    d->max_spike_z = 0;
    for (size_t i = 1; i + 1 < m; i++) {
        if (!(z[i] > z[i - 1] && z[i + 1] < z[i]))
            continue;   /* only a peak can be a spike */
        double res = running_residual(c, i), zs = res / sigma;
        if (zs > d->max_spike_z)
            d->max_spike_z = zs;
        if (zs > SPIKE_Z_TAIL && zs <= SPIKE_Z)
            d->noise_tail++;
        if (!(zs > SPIKE_Z && res > jump && z[i] - z[i - 1] > jump))
            continue;
        d->spikes++;
        d->strong_spikes += zs > SPIKE_Z_STRONG;
        if (zs > *largest)
            *largest = zs;
        if (kept < RV_DIAGNOSE_MAX_SPIKES) {
            best_z[kept] = zs;
            d->spike_steps[kept++] = step_at(c, i);
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
                d->spike_steps[kept - 1] = step_at(c, i);
            }
        }
    }
    d->n_spike_steps = kept;
}

static rv_finding *add_finding(rv_diagnosis *d, rv_verdict kind, const char *advice)
{
    rv_finding *f = &d->findings[d->n_findings++];
    f->kind = kind;
    f->advice = advice;
    f->evidence[0] = '\0';
    return f;
}

/* Short curves: only the trend. */
static void judge_short(rv_diagnosis *d, const curve *c)
{
    const double *y = c->y, *z = c->z;
    size_t m = c->m;
    d->limited = 1;
    double growth = z[m - 1] - z[0];   /* too few points for medians */
    if (growth > (d->log_scale ? log(GROWTH_RATIO) : GROWTH_RATIO - 1.0)) {
        rv_finding *f = add_finding(d, RV_VERDICT_DIVERGING, advice_growth);
        snprintf(f->evidence, sizeof f->evidence,
                 "only %zu finite points, and the loss went from %.4g to %.4g", m, y[0], y[m - 1]);
    } else if (growth >= -0.01) {
        rv_finding *f = add_finding(d, RV_VERDICT_PLATEAU, advice_short);
        snprintf(f->evidence, sizeof f->evidence,
                 "only %zu finite points, and the loss went from %.4g to %.4g", m, y[0], y[m - 1]);
    }
    snprintf(d->reason, sizeof d->reason,
             "only %zu finite points (%d needed to judge oscillation, plateaus and spikes): "
             "the loss went from %.4g to %.4g",
             m, RV_DIAGNOSE_MIN_POINTS, y[0], y[m - 1]);
    d->advice = d->n_findings && d->findings[0].kind == RV_VERDICT_DIVERGING ? advice_growth
                                                                              : advice_short;
}

static void judge(rv_diagnosis *d, const curve *c)
{
    const double *y = c->y, *z = c->z;
    size_t m = c->m;
    double *scratch = c->scratch;
    double jump = d->log_scale ? SPIKE_JUMP : SPIKE_JUMP_LINEAR;
    size_t w = m / 10 > 3 ? m / 10 : 3;
    if (w > m)
        w = m;
    double z_early = median(z, w, scratch), z_late = window_median(z, m, w, scratch);
    double z_min = z[0];
    for (size_t i = 1; i < m; i++)
        if (z[i] < z_min)
            z_min = z[i];

    double trend_per_point = teeth(d, c);
    size_t third = m / 3;
    double z_two_thirds = window_median(z, m - third, w, scratch);
    d->late_improvement = d->log_scale ? 1.0 - exp(z_late - z_two_thirds) : z_two_thirds - z_late;
    double largest_spike;
    spikes(d, c, jump, &largest_spike);

    /* grew: still rising over the last half, or risen and stuck high */
    double growth = z_late - z_early, from_min = z_late - z_min;
    double half_rise = d->slope * (step_at(c, m - 1) - step_at(c, m / 2));
    int rising = half_rise > (d->log_scale ? log(RISING_RATIO) : RISING_RATIO - 1.0);
    int grew = growth > (d->log_scale ? log(GROWTH_RATIO) : GROWTH_RATIO - 1.0);
    int grew_from_min = from_min > (d->log_scale ? log(GROWTH_FROM_MIN) : 1.0);
    int is_teeth = d->tooth_autocorr < TOOTH_AUTOCORR && d->sign_change_rate > TOOTH_FLIPS &&
                   d->tooth_size > TOOTH_MIN &&
                   d->tooth_size > TOOTH_OVER_TREND * trend_per_point;
    rv_finding *f;
    if ((grew || grew_from_min) && (rising || (grew && !is_teeth))) {
        f = add_finding(d, RV_VERDICT_DIVERGING, advice_growth);
        if (d->log_scale)
            snprintf(f->evidence, sizeof f->evidence,
                     "the loss grew: %.4g early, %.4g late (%.3gx), lowest %.4g at step %.9g",
                     d->early_loss, d->late_loss, d->late_to_early, d->min_loss, d->min_step);
        else
            snprintf(f->evidence, sizeof f->evidence,
                     "the loss grew: %.4g early, %.4g late, lowest %.4g at step %.9g", d->early_loss,
                     d->late_loss, d->min_loss, d->min_step);
    }
    int converged = d->log_scale && d->late_loss <= CONVERGED_RATIO * fmax(d->early_loss, y[0]);
    if (converged && !d->n_findings) {
        /* float noise of a converged run is not teeth, spikes or a stall */
        snprintf(d->reason, sizeof d->reason,
                 "the loss converged: from %.4g at the start to %.4g late", y[0], d->late_loss);
        return;
    }
    if (is_teeth) {
        f = add_finding(d, RV_VERDICT_OSCILLATING, advice_oscillating);
        snprintf(f->evidence, sizeof f->evidence,
                 "the loss zig-zags: %.0f%% of consecutive changes flip sign, teeth of %.3g%s "
                 "per step against a trend of %.3g%s per step (lag-1 autocorrelation %.2f)",
                 100 * d->sign_change_rate, d->log_scale ? 100 * d->tooth_size : d->tooth_size,
                 d->log_scale ? "%" : " spreads",
                 d->log_scale ? 100 * trend_per_point : trend_per_point,
                 d->log_scale ? "%" : " spreads", d->tooth_autocorr);
    }
    /* spikes that stand apart from the noise: one beyond doubt, two strong
       ones, or a strong one or three weaker ones above a light noise tail
       (heavy-tailed noise puts single points far out by chance) */
    size_t marginal = d->spikes - d->strong_spikes;
    int isolated = d->spikes && (double)d->spikes <= SPIKE_FRACTION * (double)m;
    int light_tail = (double)d->noise_tail < SPIKE_TAIL_RATIO * (double)d->spikes;
    int standing_out = largest_spike > SPIKE_Z_CERTAIN || d->strong_spikes >= 2 ||
                       (light_tail && (d->strong_spikes || marginal >= SPIKE_MARGINAL_MIN));
    if (isolated && standing_out) {
        f = add_finding(d, RV_VERDICT_SPIKY, advice_spiky);
        snprintf(f->evidence, sizeof f->evidence,
                 "%zu isolated spike%s (%zu over z = 10), the largest %.3g robust standard "
                 "deviations above the running median, %zu noise points at z 4-6 (first spike at "
                 "step %.9g)",
                 d->spikes, d->spikes == 1 ? "" : "s", d->strong_spikes, d->max_spike_z,
                 d->noise_tail, d->spike_steps[0]);
    }
    /* a change within the noise of two window medians (one standard error,
       at most 5%) is no change */
    double resolvable = fmin(0.05, 1.2533 * d->noise * sqrt(2.0 / (double)w));
    int diverging = d->n_findings && d->findings[0].kind == RV_VERDICT_DIVERGING;
    if (!converged && !diverging && (d->late_improvement < fmax(PLATEAU_IMPROVEMENT, resolvable) ||
                       (d->log_scale && d->late_to_early > BARELY_MOVED_RATIO &&
                        d->late_improvement < BARELY_MOVED_IMPROVEMENT))) {
        f = add_finding(d, RV_VERDICT_PLATEAU, advice_plateau);
        snprintf(f->evidence, sizeof f->evidence,
                 "the loss stalled: it improved %.3g%s over the last third (from step %.9g) "
                 "and sits at %.4g (%.3gx the early loss)",
                 d->log_scale ? 100 * d->late_improvement : d->late_improvement,
                 d->log_scale ? "%" : " spreads", step_at(c, m - third - 1), d->late_loss,
                 d->log_scale ? d->late_to_early : NAN);
    }
    if (!d->n_findings)
        snprintf(d->reason, sizeof d->reason,
                 "the loss fell from %.4g to %.4g and is still improving (%.3g%s over the last third)",
                 d->early_loss, d->late_loss,
                 d->log_scale ? 100 * d->late_improvement : d->late_improvement,
                 d->log_scale ? "%" : " spreads");
}

/* The verdict: the most urgent finding (findings were added in urgency
   order), or healthy. */
static void conclude(rv_diagnosis *d)
{
    if (!d->n_findings) {
        d->verdict = RV_VERDICT_HEALTHY;
        if (!d->limited || !d->advice)
            d->advice = advice_healthy;
        return;
    }
    const rv_finding *top = &d->findings[0];
    d->verdict = top->kind;
    if (!d->limited)
        memcpy(d->reason, top->evidence, sizeof d->reason);
    d->advice = top->advice;
}

rv_status rv_diagnose(const double *loss, const double *steps, size_t n, rv_diagnosis *out)
{
    if (!loss || !out)
        return rv_fail(RV_ERR_NULL, "rv_diagnose: %s is NULL", loss ? "out" : "loss");
    if (!n)
        return rv_fail(RV_ERR_SIZE, "rv_diagnose: the curve is empty (n = 0)");
    if (n > ((size_t)-1) / (4 * sizeof(double)))
        return rv_fail(RV_ERR_SIZE, "rv_diagnose: n = %zu is too large", n);
    for (size_t i = 0; steps && i < n; i++)
        if (!isfinite(steps[i]) || (i && !(steps[i] > steps[i - 1])))
            return rv_fail(RV_ERR_ARG,
                           "rv_diagnose: steps must be finite and increase: step[%zu] = %.9g, "
                           "step[%zu] = %.9g",
                           i ? i - 1 : 0, i ? steps[i - 1] : steps[0], i, steps[i]);

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
        d.limited = 1;
        d.first_step = d.last_step = STEP(0);
        d.early_loss = d.late_loss = d.min_loss = d.min_step = NAN;
        rv_finding *f = add_finding(&d, RV_VERDICT_DIVERGING, advice_nonfinite);
        snprintf(f->evidence, sizeof f->evidence, "no finite loss: NaN/inf from step %.9g on",
                 d.first_nonfinite_step);
        memcpy(d.reason, f->evidence, sizeof d.reason);
        conclude(&d);
        *out = d;
        return RV_OK;
    }

    /* z and scratch; the finite losses and their steps are copied only when
       some values are missing */
    size_t arrays = d.missing ? 4 : 2;
    double *buf = malloc(arrays * m * sizeof *buf + 64 * sizeof *buf);
    if (!buf)
        return rv_fail(RV_ERR_NOMEM, "rv_diagnose: out of memory for %zu points (%zu bytes)", m,
                       arrays * m * sizeof *buf);
    curve c = {loss, steps, buf, m, buf + m};
    if (d.missing) {
        double *y = buf + 2 * m, *s = buf + 3 * m;
        for (size_t i = 0, k = 0; i < last; i++)
            if (isfinite(loss[i]))
                y[k] = loss[i], s[k] = STEP(i), k++;
        c.y = y, c.s = s;
    }
    const double *y = c.y;
    double *z = buf;
    int no_negative = 1;
    for (size_t i = 0; i < m; i++)
        no_negative &= y[i] >= 0;
#undef STEP
    d.first_step = step_at(&c, 0);
    d.last_step = step_at(&c, m - 1);
    d.min_loss = y[0];
    d.min_step = step_at(&c, 0);
    for (size_t i = 1; i < m; i++)
        if (y[i] < d.min_loss)
            d.min_loss = y[i], d.min_step = step_at(&c, i);
    size_t w = m / 10 > 3 ? m / 10 : 3;
    if (w > m)
        w = m;
    d.early_loss = median(y, w, c.scratch);
    d.late_loss = window_median(y, m, w, c.scratch);

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
        d.limited = m < RV_DIAGNOSE_MIN_POINTS;
        rv_finding *f = add_finding(&d, RV_VERDICT_DIVERGING, advice_nonfinite);
        snprintf(f->evidence, sizeof f->evidence,
                 "the loss became %s at step %.9g and never recovered (last finite loss %.4g at "
                 "step %.9g)",
                 isnan(loss[last]) ? "NaN" : "infinite", d.first_nonfinite_step, y[m - 1],
                 step_at(&c, m - 1));
        memcpy(d.reason, f->evidence, sizeof d.reason);
        if (m >= RV_DIAGNOSE_MIN_POINTS) {
            double largest;
            (void)teeth(&d, &c);
            spikes(&d, &c, d.log_scale ? SPIKE_JUMP : SPIKE_JUMP_LINEAR, &largest);
        }
        d.limited = 0;   /* the reason is the NaN, not the length */
        conclude(&d);
        d.limited = m < RV_DIAGNOSE_MIN_POINTS;
    } else if (m < RV_DIAGNOSE_MIN_POINTS) {
        judge_short(&d, &c);
        conclude(&d);
    } else {
        judge(&d, &c);
        conclude(&d);
    }
    free(buf);
    *out = d;
    return RV_OK;
}
