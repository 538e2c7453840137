/* ravine/lab.h — optimizer experiments on analytic surfaces: traces and races.

       rv_surface *bowl;
       rv_surface_parse("bowl", &bowl);
       double rows[101 * 3];                       // (steps + 1) rows of x, y, loss
       rv_lab_trace(bowl, "adam(lr=0.1)", NULL, (double[]){-4, 1}, 100, rows);

   The optimizer is any spec of ravine/optim.h, updated with the same kernels
   as everywhere else on float32 parameters (x, y), or `newton` /
   `newton(damping=D, lr=1)`: x -= lr * (H + D*I)^-1 g, a reference method.
   Row 0 is the start; row k holds the point after k updates and its loss. */
#ifndef RAVINE_LAB_H
#define RAVINE_LAB_H

#include <stddef.h>
#include "ravine/status.h"
#include "ravine/surface.h"
#include "ravine/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* rows: (steps + 1) * 3 doubles: x, y, loss. With a schedule, update k
   (from 0) uses lr = schedule(k). Once the point leaves the domain or the
   loss stops being finite, the remaining rows repeat NaN. */
rv_status rv_lab_trace(const rv_surface *s, const char *optim_spec, const rv_schedule *schedule,
                       const double start[2], long steps, double *rows);

/* The same run, but each row holds the point eval mode would hold after k
   updates and its loss: for sfadamw the average x = lerp(y, z, 1 - 1/beta1)
   of schedule_free's eval() (rv_lab_trace gives y, where the gradients are
   taken); for every other method the rows of rv_lab_trace. A row whose x is
   outside the domain is NaN while the run goes on. */
rv_status rv_lab_trace_eval(const rv_surface *s, const char *optim_spec,
                            const rv_schedule *schedule, const double start[2], long steps,
                            double *rows);

typedef struct rv_race_result {
    long steps_to_threshold;   /* least k with loss after k updates < threshold; -1 if never */
    double final_loss;         /* loss after the last update (NaN/inf if diverged) */
    int diverged;              /* loss became non-finite, or grew past 1e6 x its start */
} rv_race_result;

/* Run one optimizer for `steps` updates and summarise against threshold. */
rv_status rv_lab_race_one(const rv_surface *s, const char *optim_spec,
                          const rv_schedule *schedule, const double start[2], long steps,
                          double threshold, rv_race_result *out);

#ifdef __cplusplus
}
#endif
#endif
