/* Internal: the lab's methods, one interface over the library's optimizers
   (float32 parameters, updated by rv_update through the kernels) and the
   Newton reference method (double precision), and the run loop that traces
   and races share so their numbers cannot disagree. */
#ifndef RAVINE_LAB_METHOD_H
#define RAVINE_LAB_METHOD_H

#include "ravine/optim.h"
#include "ravine/schedule.h"
#include "ravine/surface.h"

typedef struct lab_newton {
    double damping;   /* D in x -= lr * (H + D I)^-1 g */
    double lr;
} lab_newton;

typedef struct lab_method {
    int is_newton;
    lab_newton newton;
    const rv_optim_type *type;   /* optimizers */
    rv_hparams h;
} lab_method;

/* `newton`, `newton(damping=D, lr=L)` or any optimizer spec. */
rv_status lab_method_parse(const char *spec, lab_method *m);

/* 1 if spec names the Newton method (then *m is parsed), 0 if not, or an
   error status (negative never: the status is returned through *st). */
int lab_newton_parse(const char *spec, lab_newton *m, rv_status *st);

/* One Newton step in place; 0 if H + D I is singular (x is left alone). */
int lab_newton_step(const lab_newton *m, double lr, const double g[2], const double H[4],
                    double x[2]);

/* Called with every row: k = 0 (the start) .. steps; p is NaN once the run
   has left the domain. Return nonzero to stop early. */
typedef int (*lab_visit)(void *ctx, long k, const double p[2], double loss);

/* Validate everything (method, schedule lrs, start inside the domain), then
   run. Fails before the first visit or not at all. With eval set, visits the
   point eval mode would hold (schedule-free's average x; the same point for
   algorithms without modes) and its loss, NaN where x is outside the domain,
   while the gradients are still taken at the training point. */
rv_status lab_run(const rv_surface *s, const char *method_spec, const rv_schedule *schedule,
                  const double start[2], long steps, int eval, lab_visit visit, void *ctx);

#endif
