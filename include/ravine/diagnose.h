/* ravine/diagnose.h — what is wrong with a loss curve, and what to try.

       double loss[] = {2.3, 1.9, 1.7, 1.6, ...};
       rv_diagnosis d;
       if (rv_diagnose(loss, NULL, n, &d)) die(rv_errmsg());  // steps NULL: 0, 1, 2, ...
       printf("%s: %s\n%s\n", rv_verdict_name(d.verdict), d.reason, d.advice);

   Findings (each checked on its own; all that fit are reported, each with
   the figures that show it):
       diverging    the loss became NaN/inf and stayed so, or it grew: the late
                    loss is over 2x the early loss, or over 10x the lowest loss
                    seen and still rising
       oscillating  "teeth": consecutive changes alternate up/down (over 80% flip
                    sign and the detrended loss has lag-1 autocorrelation below
                    -0.5), each tooth is over 1% of the loss and over twice the
                    progress per step
       spiky        a few (at most 10% of) points stand far above a 7-point
                    running median (robust z-score over 6, over 25% up) and
                    fall back after, and stand apart from the noise: one
                    beyond doubt (z over 30), two strong ones (z over 10), or
                    above a light noise tail (fewer peaks at z 4-6 than 3x
                    the spikes) one strong one or three weaker ones. A long
                    noisy curve has single points near z = 6 by chance, and
                    heavy-tailed noise the odd one further out
       plateau      stalled: the last third of the curve improved the loss by
                    less than 1% (or less than the noise can resolve: one
                    standard error, at most 5%), and the loss has not
                    converged to ~0 (late loss under 1e-6 of the start: healthy)
   The verdict is the most urgent finding, in the order above (a floor with
   large spikes is spiky, and also a plateau); healthy when there is none.

   Losses are judged on a log scale when none is negative (a tooth of "10%"
   means the same at loss 5 and at loss 0.05; values below 1e-9 x the early
   loss count as that floor), else on a linear scale divided by the curve's
   spread. A NaN/inf value followed by finite values is treated as missing
   and skipped (counted in `missing`); a run of non-finite values at the end
   is divergence. Below RV_DIAGNOSE_MIN_POINTS finite values only the trend
   can be judged: `limited` is set and `reason` says so.

   Memory: 16 bytes per point (32 when values are missing), freed before
   returning; steps must increase (a file's rows in another order are the
   caller's to sort). */
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
/* Room for a finding's sentence: its figures are numbers of bounded
   width, so every sentence fits. */
#define RV_DIAGNOSE_TEXT 320
/* At most one finding of each kind but healthy. */
#define RV_DIAGNOSE_MAX_FINDINGS 4

typedef enum rv_verdict {
    RV_VERDICT_HEALTHY = 0,
    RV_VERDICT_DIVERGING,
    RV_VERDICT_OSCILLATING,
    RV_VERDICT_PLATEAU,
    RV_VERDICT_SPIKY,
    RV_VERDICT_COUNT
} rv_verdict;

/* One thing found wrong with the curve. */
typedef struct rv_finding {
    rv_verdict kind;           /* diverging, oscillating, spiky or plateau */
    char evidence[RV_DIAGNOSE_TEXT]; /* one sentence with the figures that show it */
    const char *advice;        /* what to try (static text) */
} rv_finding;

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
    size_t strong_spikes;      /* ... of which z > 10 */
    size_t noise_tail;         /* rising points with z in (4, 6]: how heavy the noise's tail is */
    double spike_steps[RV_DIAGNOSE_MAX_SPIKES]; /* steps of the largest spikes, by step */
    size_t n_spike_steps;
    int log_scale;             /* 1: judged on log(loss) */
    rv_finding findings[RV_DIAGNOSE_MAX_FINDINGS];   /* most urgent first */
    size_t n_findings;
    char reason[RV_DIAGNOSE_TEXT];  /* the verdict's sentence: its finding's evidence, or why healthy */
    const char *advice;        /* what to try (static text) */
} rv_diagnosis;

/* Classify n loss values. steps (may be NULL: 0, 1, ..., n-1) are only used
   to report where things happen and for slopes; they must be finite and
   increase (RV_ERR_ARG naming the first that does not). RV_ERR_SIZE if n is
   0, RV_ERR_NULL for a NULL loss or out, RV_ERR_NOMEM when the working
   memory cannot be had; out is only written on success. */
rv_status rv_diagnose(const double *loss, const double *steps, size_t n, rv_diagnosis *out);

/* "healthy", "diverging", "oscillating", "plateau", "spiky" ("" if out of range). */
const char *rv_verdict_name(rv_verdict v);

#ifdef __cplusplus
}
#endif
#endif
