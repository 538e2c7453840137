/* ravine/guard.h — a loss-spike guard: tells the training loop to skip a
   step whose loss (or gradient norm) is an outlier against recent history.

       rv_guard *loss_guard;
       rv_guard_config c = rv_guard_defaults();   // window 128, threshold 5
       rv_guard_create(&loss_guard, &c);
       for (long t = 0; ...; t++) {
           double loss = forward_backward();
           rv_guard_verdict v;
           rv_guard_observe(loss_guard, loss, &v);
           if (v.skip)
               continue;                          // do not apply this step
           rv_optim_step(opt);
       }
       rv_guard_free(loss_guard);

   Like llm.c's outlier detector: the z-score of each value against the mean
   and (population) standard deviation of the last `window` values; a value
   with z > threshold is flagged. Differences, each for a reason:
     - the statistics exclude the value being judged, so a spike cannot
       inflate the spread it is measured against;
     - mean and spread are computed in two passes over the window, not from
       running sums of x and x^2, which cancel catastrophically when the
       loss is large compared to its noise;
     - a NaN or infinite value is always flagged and never enters the window;
     - with zero spread, a value equal to the mean has z = 0 and any other
       value z = +-inf.
   Flagged finite values still enter the window (as in llm.c), so a lasting
   change of level stops being flagged once it fills the window instead of
   blocking training for ever. Until min_count values have been seen the
   verdict is "warming up": z is NaN and nothing is flagged (non-finite
   values excepted). One guard watches one signal; use two for loss and
   gradient norm. Pure computation: no I/O, no global state. */
#ifndef RAVINE_GUARD_H
#define RAVINE_GUARD_H

#include <stddef.h>
#include "ravine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_guard rv_guard;   /* opaque */

typedef struct rv_guard_config {
    size_t window;      /* values the statistics cover, >= 2 (default 128, as llm.c) */
    size_t min_count;   /* values needed before judging, in [2, window] (default window) */
    double threshold;   /* flag when z > threshold, > 0 (default 5) */
} rv_guard_config;

typedef struct rv_guard_verdict {
    int skip;           /* 1: the caller should skip this step */
    int warming_up;     /* 1: fewer than min_count values so far; z is NaN */
    double z;           /* (value - mean) / std of the window before this value */
    double mean, std;   /* the window's statistics used for z */
} rv_guard_verdict;

rv_guard_config rv_guard_defaults(void);

/* config NULL: defaults. Invalid fields: RV_ERR_ARG naming field and value. */
rv_status rv_guard_create(rv_guard **out, const rv_guard_config *config);
void rv_guard_free(rv_guard *g);

/* Judge value, then add it to the window (finite values only). */
rv_status rv_guard_observe(rv_guard *g, double value, rv_guard_verdict *out);
/* Judge value without adding it. */
rv_status rv_guard_score(const rv_guard *g, double value, rv_guard_verdict *out);

/* Forget every value seen. */
void rv_guard_reset(rv_guard *g);
/* Values currently in the window. */
size_t rv_guard_count(const rv_guard *g);

#ifdef __cplusplus
}
#endif
#endif
