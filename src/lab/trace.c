/* rv_lab_trace: every point of one method's path as rows of x, y, loss;
   rv_lab_trace_eval: the points eval mode would hold along it. */
#include "ravine/lab.h"
#include "lab/method.h"
#include "core/error.h"

typedef struct trace_rows {
    double *rows;
} trace_rows;

static int put_row(void *ctx, long k, const double p[2], double loss)
{
    double *r = ((trace_rows *)ctx)->rows + 3 * k;
    r[0] = p[0];
    r[1] = p[1];
    r[2] = loss;
    return 0;
}

rv_status rv_lab_trace(const rv_surface *s, const char *optim_spec, const rv_schedule *schedule,
                       const double start[2], long steps, double *rows)
{
    if (!rows)
        return rv_fail(RV_ERR_NULL, "rv_lab_trace: rows is NULL");
    trace_rows t = {rows};
    return lab_run(s, optim_spec, schedule, start, steps, 0, put_row, &t);
}

rv_status rv_lab_trace_eval(const rv_surface *s, const char *optim_spec,
                            const rv_schedule *schedule, const double start[2], long steps,
                            double *rows)
{
    if (!rows)
        return rv_fail(RV_ERR_NULL, "rv_lab_trace_eval: rows is NULL");
    trace_rows t = {rows};
    return lab_run(s, optim_spec, schedule, start, steps, 1, put_row, &t);
}
