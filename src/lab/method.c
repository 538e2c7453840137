/* The lab's run loop: one method on one surface from one start, every row
   visited. Optimizers hold (x, y) as float32 and are updated by rv_update,
   the same kernels as every other caller; the surface is evaluated in
   double at the float32 point. Schedule-free's average x, what its eval
   mode holds, is formed by the algorithm's own mode switch. */
#include "lab/method.h"
#include "optim/type.h"
#include "core/error.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

rv_status lab_method_parse(const char *spec, lab_method *m)
{
    if (!spec)
        return rv_fail(RV_ERR_NULL, "optimizer spec is NULL");
    lab_method tmp = {0};
    rv_status st;
    if (lab_newton_parse(spec, &tmp.newton, &st)) {
        if (st)
            return st;
        tmp.is_newton = 1;
    } else if ((st = rv_hparams_parse(spec, &tmp.type, &tmp.h))) {
        return st;
    }
    *m = tmp;
    return RV_OK;
}

#define LAB_MAX_STEPS 100000000L

/* x = p, element by element through a volatile: GCC 12's -O2 vectoriser
   folds a two-element double -> float -> double round trip into a copy of
   the doubles, which would evaluate the surface off the float32 point. */
static void widen(const float p[2], double x[2])
{
    for (int i = 0; i < 2; i++) {
        volatile float v = p[i];
        x[i] = v;
    }
}

/* The point eval mode would hold (schedule-free's average x, by the
   algorithm's own switch) and its loss; a point outside the domain is NaN. */
static void eval_point(const lab_method *m, const rv_surface *s, const float p[2],
                       const rv_state *state, double x[2], double *f)
{
    float q[2] = {p[0], p[1]};
    m->type->to_eval(&m->h, 2, q, state->buf);
    widen(q, x);
    if (rv_surface_eval(s, x, f, NULL, NULL) != RV_OK)
        x[0] = x[1] = *f = NAN;
}

rv_status lab_run(const rv_surface *s, const char *method_spec, const rv_schedule *schedule,
                  const double start[2], long steps, int eval, lab_visit visit, void *ctx)
{
    if (!s || !start || !visit)
        return rv_fail(RV_ERR_NULL, "lab: %s is NULL", !s ? "surface" : !start ? "start" : "output");
    if (steps < 0 || steps > LAB_MAX_STEPS)
        return rv_fail(RV_ERR_ARG, "steps must be in [0, %ld], got %ld", LAB_MAX_STEPS, steps);
    lab_method m;
    rv_status st = lab_method_parse(method_spec, &m);
    if (st)
        return st;
    if (schedule)
        for (long k = 0; k < steps; k++) {
            double lr = rv_schedule_lr(schedule, k);
            if (m.is_newton ? !(lr >= 0 && isfinite(lr)) : 0)
                return rv_fail(RV_ERR_LR, "schedule gives lr = %.9g at update %ld", lr, k);
            rv_hparams h = m.h;
            h.lr = lr;
            if (!m.is_newton && (st = rv_hparams_validate(m.type, &h))) {
                char why[512];
                snprintf(why, sizeof why, "%s", rv_errmsg());
                return rv_fail(st, "schedule at update %ld: %s", k, why);
            }
        }

    /* float32 parameters for optimizers, double for Newton; a start past
       float32's range would silently become infinite */
    if (!m.is_newton && !(fabs(start[0]) <= FLT_MAX && fabs(start[1]) <= FLT_MAX))
        return rv_fail(RV_ERR_NONFINITE_ARG,
                       "start (%.9g, %.9g) is outside float32's range (at most %.9g in magnitude), "
                       "which the optimizer's parameters are held in",
                       start[0], start[1], (double)FLT_MAX);
    float p[2] = {(float)start[0], (float)start[1]};
    double x[2] = {start[0], start[1]};
    if (!m.is_newton)
        widen(p, x);
    double f, g[2], H[4];
    if ((st = rv_surface_eval(s, x, &f, g, H)))
        return st;

    float state_mem[2 * RV_MAX_STATE] = {0};
    rv_state state;
    memset(&state, 0, sizeof state);
    for (int j = 0; j < RV_MAX_STATE; j++)
        state.buf[j] = state_mem + 2 * j;
    if (!m.is_newton && (st = rv_state_start(m.type, &m.h, 2, p, &state)))
        return st;

    const double nan2[2] = {NAN, NAN};
    eval = eval && !m.is_newton && m.type->to_eval;
    int alive = 1;
    for (long k = 0; k <= steps; k++) {
        if (alive && k > 0 && rv_surface_eval(s, x, &f, g, H) != RV_OK)
            alive = 0;
        double xe[2], fe;
        if (alive && eval)
            eval_point(&m, s, p, &state, xe, &fe);
        if (visit(ctx, k, !alive ? nan2 : eval ? xe : x, !alive ? NAN : eval ? fe : f))
            break;
        if (k == steps || !alive)
            continue;
        if (m.is_newton) {
            double lr = schedule ? rv_schedule_lr(schedule, k) : m.newton.lr;
            if (!lab_newton_step(&m.newton, lr, g, H, x))
                x[0] = x[1] = NAN;   /* singular: the method cannot go on */
            continue;
        }
        rv_hparams h = m.h;
        if (schedule)
            h.lr = rv_schedule_lr(schedule, k);
        float gf[2] = {(float)g[0], (float)g[1]};
        if ((st = rv_update_state(m.type, &h, k + 1, 2, p, gf, &state)))
            return st;   /* not reached: validated above */
        widen(p, x);
    }
    return RV_OK;
}
