/* rv_lab_race_one: one method's path summarised against a loss threshold. */
#include "ravine/lab.h"
#include "lab/method.h"
#include "core/error.h"

#include <math.h>

/* a run "diverged" once its loss grows past this multiple of the start's */
#define RACE_BLOWUP 1e6

typedef struct race_state {
    double threshold;
    double start_loss;
    rv_race_result r;
} race_state;

static int visit(void *ctx, long k, const double p[2], double loss)
{
    (void)p;
    race_state *rs = ctx;
    if (k == 0)
        rs->start_loss = loss;
    if (rs->r.steps_to_threshold < 0 && loss < rs->threshold)
        rs->r.steps_to_threshold = k;
    if (!isfinite(loss) || (rs->start_loss != 0 && loss > RACE_BLOWUP * fabs(rs->start_loss)))
        rs->r.diverged = 1;
    rs->r.final_loss = loss;
    return 0;
}

rv_status rv_lab_race_one(const rv_surface *s, const char *optim_spec,
                          const rv_schedule *schedule, const double start[2], long steps,
                          double threshold, rv_race_result *out)
{
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_lab_race_one: out is NULL");
    if (!isfinite(threshold))
        return rv_fail(RV_ERR_NONFINITE_ARG, "threshold must be finite, got %.9g", threshold);
    race_state rs = {threshold, 0, {-1, NAN, 0}};
    rv_status st = lab_run(s, optim_spec, schedule, start, steps, 0, visit, &rs);
    if (st)
        return st;
    *out = rs.r;
    return RV_OK;
}
