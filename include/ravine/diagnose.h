/* ravine/diagnose.h — what is wrong with a loss curve, and what to try.

       double loss[] = {2.3, 1.9, 1.7, 1.6, ...};
       rv_diagnosis d;
       if (rv_diagnose(loss, NULL, n, &d)) die(rv_errmsg());  // steps NULL: 0, 1, 2, ...
       printf("%s: %s\n%s\n", rv_verdict_name(d.verdict), d.reason, d.advice);

   Verdicts, checked in this order (the first that fits wins):
       diverging    the loss became NaN/inf and stayed so, or it grew: the late
                    loss is over 2x the early loss, or over 10x the lowest loss
                    seen and still rising
       oscillating  "teeth": consecutive changes alternate up/down (over 80% flip
                    sign and the detrended loss has lag-1 autocorrelation below
                    -0.5), each tooth is over 1% of the loss and over twice the
                    progress per step
       plateau      stalled: the last third of the curve improved the loss by
                    less than 1% (or less than the noise can resolve: one
                    standard error, at most 5%), and the loss has not
                    converged to ~0 (late loss under 1e-6 of the start: healthy)
       spiky        otherwise fine, but a few (at most 10% of) points stand far
                    above a 7-point running median (robust z-score over 6,
                    over 25% up) and fall back after
       healthy      none of the above

   Losses are judged on a log scale when none is negative (a tooth of "10%"
   means the same at loss 5 and at loss 0.05; values below 1e-9 x the early
   loss count as that floor), else on a linear scale divided by the curve's
   spread. A NaN/inf value followed by finite values is treated as missing
   and skipped (counted in `missing`); a run of non-finite values at the end
   is divergence. Below RV_DIAGNOSE_MIN_POINTS finite values only the trend
   can be judged: `limited` is set and `reason` says so. */
#ifndef RAVINE_DIAGNOSE_H
#define RAVINE_DIAGNOSE_H

#include <stddef.h>
#include "ravine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fewer finite points than this: only trend and NaN are judged. */
#define RV_DIAGNOSE_MIN_POINTS 12
/* Steps of the largest spikes kept in rv_diagnosis.spike_steps. */
#define RV_DIAGNOSE_MAX_SPIKES 8

typedef enum rv_verdict {
    RV_VERDICT_HEALTHY = 0,
    RV_VERDICT_DIVERGING,
    RV_VERDICT_OSCILLATING,
    RV_VERDICT_PLATEAU,
    RV_VERDICT_SPIKY,
    RV_VERDICT_COUNT
} rv_verdict;

typedef struct rv_diagnosis {
    rv_verdict verdict;
    int limited;               /* too few points to judge oscillation, plateau, spikes */
    size_t points;             /* finite values judged */
    size_t missing;            /* non-finite values followed by finite ones (skipped) */
    double first_step, last_step;
    double first_nonfinite_step; /* step of the first NaN/inf that was never recovered; NaN if none */
    double early_loss;         /* median of the first 10% of the finite values */
    double late_loss;          /* median of the last 10% */
    double late_to_early;      /* late_loss / early_loss (NaN on a linear scale or if early is 0) */
    double min_loss, min_step; /* lowest finite loss and where */
    double slope;              /* trend of the last half per step: d(log loss)/d(step) */
    double late_improvement;   /* relative drop of the loss over the last third */
    double sign_change_rate;   /* fraction of consecutive changes in the last half that flip sign */
    double tooth_autocorr;     /* lag-1 autocorrelation of the detrended last half */
    double tooth_size;         /* median |change| per step in the last half (log units) */
    double noise;              /* robust spread (1.4826 MAD) of the loss around its running median */
    double max_spike_z;        /* largest robust z-score above the running median */
    size_t spikes;             /* points with z > 6 and over 25% above the running median */
    double spike_steps[RV_DIAGNOSE_MAX_SPIKES]; /* steps of the largest spikes, by step */
    size_t n_spike_steps;
    int log_scale;             /* 1: judged on log(loss) */
    char reason[256];          /* one sentence with the deciding figures */
    const char *advice;        /* what to try (static text) */
} rv_diagnosis;

/* Classify n loss values. steps (may be NULL: 0, 1, ..., n-1) are only used
   to report where things happen and for slopes; they should increase.
   RV_ERR_SIZE if n is 0, RV_ERR_NULL for a NULL loss or out. */
rv_status rv_diagnose(const double *loss, const double *steps, size_t n, rv_diagnosis *out);

/* "healthy", "diverging", "oscillating", "plateau", "spiky" ("" if out of range). */
const char *rv_verdict_name(rv_verdict v);

#ifdef __cplusplus
}
#endif
#endif
