/* The C side of the live page: a small API over libravine, compiled to
   WebAssembly together with the library sources.

   The page never computes a gradient or an update itself. Everything it
   draws comes from here: surface values on a grid (heat map and contours),
   traces (rv_lab_trace, the code behind `ravine trace`), schedule curves,
   the gradient check, and the intermediate values of one update, which are
   read from the same per-element kernels through the algorithm table.

   Results go to one growable buffer of doubles that JavaScript copies out
   at once; a call returns a pointer into it, or NULL with rvw_error() set.
   Strings are UTF-8 from the page. */
#include "ravine/ravine.h"
#include "ravine/surface.h"
#include "ravine/lab.h"
#include "lab/method.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define RVW_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define RVW_EXPORT
#endif

/* Longest trace or curve the page may ask for (keeps allocations sane). */
#define RVW_MAX_STEPS 100000L
#define RVW_MAX_GRID 1024

static double *out_buf;
static size_t out_cap;

static double *output(size_t n)
{
    if (n > out_cap) {
        double *grown = realloc(out_buf, n * sizeof *grown);
        if (!grown) {
            rv_fail(RV_ERR_NOMEM, "out of memory (%zu values)", n);
            return NULL;
        }
        out_buf = grown;
        out_cap = n;
    }
    return out_buf;
}

RVW_EXPORT const char *rvw_error(void) { return rv_errmsg(); }

/* A surface and an optional schedule parsed together; both freed by release(). */
typedef struct rvw_setup {
    rv_surface *surface;
    rv_schedule *schedule;
} rvw_setup;

static void release(rvw_setup *s)
{
    rv_surface_free(s->surface);
    rv_schedule_free(s->schedule);
    *s = (rvw_setup){0};
}

static rv_status setup(const char *surface, const char *schedule, rvw_setup *s)
{
    *s = (rvw_setup){0};
    rv_status st = rv_surface_parse(surface, &s->surface);
    if (!st && schedule && *schedule)
        st = rv_schedule_parse(schedule, &s->schedule);
    if (st)
        release(s);
    return st;
}

static int steps_ok(long steps)
{
    if (steps < 0 || steps > RVW_MAX_STEPS) {
        rv_fail(RV_ERR_ARG, "steps must be in [0, %ld], got %ld", RVW_MAX_STEPS, steps);
        return 0;
    }
    return 1;
}

/* ---- surfaces ---------------------------------------------------------- */

/* [lo_x, lo_y, hi_x, hi_y, start_x, start_y, has_min, min_x, min_y, min_f] */
RVW_EXPORT double *rvw_surface_info(const char *spec)
{
    rvw_setup s;
    if (setup(spec, NULL, &s))
        return NULL;
    double *o = output(10);
    if (o) {
        rv_surface_window(s.surface, o, o + 2);
        rv_surface_default_start(s.surface, o + 4);
        double xm[2] = {NAN, NAN}, fm = NAN;
        o[6] = rv_surface_minimum(s.surface, xm, &fm) ? 1 : 0;
        o[7] = xm[0];
        o[8] = xm[1];
        o[9] = fm;
    }
    release(&s);
    return o;
}

/* nx * ny values, row j (y from y0 to y1) after row j-1; NaN outside the domain. */
RVW_EXPORT double *rvw_surface_grid(const char *spec, int nx, int ny, double x0, double x1,
                                    double y0, double y1)
{
    if (nx < 2 || ny < 2 || nx > RVW_MAX_GRID || ny > RVW_MAX_GRID) {
        rv_fail(RV_ERR_SIZE, "grid must be 2..%d points a side, got %d x %d", RVW_MAX_GRID, nx,
                ny);
        return NULL;
    }
    rvw_setup s;
    if (setup(spec, NULL, &s))
        return NULL;
    double *o = output((size_t)nx * (size_t)ny);
    for (int j = 0; o && j < ny; j++)
        for (int i = 0; i < nx; i++) {
            double x[2] = {x0 + (x1 - x0) * i / (nx - 1), y0 + (y1 - y0) * j / (ny - 1)};
            double f;
            o[(size_t)j * nx + i] = rv_surface_eval(s.surface, x, &f, NULL, NULL) ? NAN : f;
        }
    release(&s);
    rv_clear_error();
    return o;
}

/* The gradient check: [f, gx, gy, cx, cy] with the analytic gradient g and
   the central difference c = (f(x + h e_i) - f(x - h e_i)) / 2h. */
RVW_EXPORT double *rvw_gradcheck(const char *spec, double x, double y, double h)
{
    if (!(h > 0) || !isfinite(h)) {
        rv_fail(RV_ERR_ARG, "gradient check step h must be > 0, got %g", h);
        return NULL;
    }
    rvw_setup s;
    if (setup(spec, NULL, &s))
        return NULL;
    double p[2] = {x, y}, f, g[2], c[2];
    rv_status st = rv_surface_eval(s.surface, p, &f, g, NULL);
    for (int i = 0; !st && i < 2; i++) {
        double a[2] = {x, y}, b[2] = {x, y}, fa, fb;
        a[i] += h;
        b[i] -= h;
        if (!(st = rv_surface_eval(s.surface, a, &fa, NULL, NULL)) &&
            !(st = rv_surface_eval(s.surface, b, &fb, NULL, NULL)))
            c[i] = (fa - fb) / (2 * h);
    }
    double *o = st ? NULL : output(5);
    if (o) {
        o[0] = f;
        o[1] = g[0];
        o[2] = g[1];
        o[3] = c[0];
        o[4] = c[1];
    }
    release(&s);
    return o;
}

/* ---- traces and schedules --------------------------------------------- */

typedef rv_status (*lab_tracer)(const rv_surface *, const char *, const rv_schedule *,
                                const double[2], long, double *);

static double *trace_with(lab_tracer tracer, const char *surface, const char *optim,
                          const char *schedule, double x, double y, int steps)
{
    if (!steps_ok(steps))
        return NULL;
    rvw_setup s;
    if (setup(surface, schedule, &s))
        return NULL;
    double *o = output((size_t)(steps + 1) * 3);
    if (o && tracer(s.surface, optim, s.schedule, (double[]){x, y}, steps, o))
        o = NULL;
    release(&s);
    return o;
}

/* (steps + 1) rows of [x, y, loss], exactly `ravine trace`. schedule may be
   empty for the optimizer's own lr. */
RVW_EXPORT double *rvw_trace(const char *surface, const char *optim, const char *schedule,
                             double x, double y, int steps)
{
    return trace_with(rv_lab_trace, surface, optim, schedule, x, y, steps);
}

/* The same run's rows as eval mode holds them: schedule-free's average x
   (`ravine trace --eval`); for other optimizers the rows of rvw_trace. */
RVW_EXPORT double *rvw_trace_eval(const char *surface, const char *optim, const char *schedule,
                                  double x, double y, int steps)
{
    return trace_with(rv_lab_trace_eval, surface, optim, schedule, x, y, steps);
}

/* lr(t) for t = 0 .. n-1. */
RVW_EXPORT double *rvw_schedule_curve(const char *spec, int n)
{
    if (!steps_ok(n))
        return NULL;
    rv_schedule *s;
    if (rv_schedule_parse(spec, &s))
        return NULL;
    double *o = output(n > 0 ? (size_t)n : 1);
    for (int t = 0; o && t < n; t++)
        o[t] = rv_schedule_lr(s, t);
    rv_schedule_free(s);
    return o;
}

/* ---- one update, explained -------------------------------------------- */

/* Per coordinate, the kernel's intermediate values; per update, the
   figures of the rule (rv_explain_step). */
enum { RVW_TRACE_FIELDS = 11, RVW_STEP_FIELDS = 12 };

static void put_value(double *o, const rv_explain_value *t)
{
    const float v[RVW_TRACE_FIELDS] = {t->grad, t->grad_used, t->buf,   t->m,
                                       t->v,    t->vmax,      t->denom, t->param_before,
                                       t->param_decayed, t->param_after, t->param_eval};
    for (int i = 0; i < RVW_TRACE_FIELDS; i++)
        o[i] = v[i];
}

static void put_step(double *o, const rv_explain_step *s)
{
    const double v[RVW_STEP_FIELDS - 1] = {s->step_size, s->bias1, s->bias2,  s->mu,
                                           s->mu_next,   s->mu_product, s->rho, s->rect,
                                           s->avg_weight, s->lr_max, s->weight_sum};
    for (int i = 0; i < RVW_STEP_FIELDS - 1; i++)
        o[i] = v[i];
}

/* Replay update k (1-based) of a trace and report what the kernel saw:
       [lr, loss_before, loss_after, n_state,
        x: grad, grad_used, buf, m, v, vmax, denom, before, decayed, after, eval,
        y: the same,
        step_size, bias1, bias2, mu, mu_next, mu_product, rho, rect,
        avg_weight, lr_max, weight_sum, loss at the eval point after the update]
   (eval: the coordinate eval mode holds after the update, schedule-free's
   average x; the step figures as rv_explain_step has them).
   Each update is replayed the way the lab runs it (float32 point, the
   gradient evaluated in double there and rounded to float, lr from the
   schedule) through the algorithm's own traced kernel, so the numbers are
   those of the trace (the browser test checks `after` against row k).
   Newton has no kernel state: for it the fields hold the gradient, the
   point before and after (trace rows), and the Hessian's rows in the buf
   and m slots of x and y (hxx, hxy / hyx, hyy). */
RVW_EXPORT double *rvw_explain(const char *surface, const char *optim, const char *schedule,
                               double x, double y, int k)
{
    if (k < 1 || !steps_ok(k))
        return k < 1 ? (rv_fail(RV_ERR_ARG, "update index must be >= 1, got %d", k), NULL)
                     : NULL;
    rvw_setup s;
    if (setup(surface, schedule, &s))
        return NULL;
    size_t n_rows = (size_t)k + 1;
    double *rows = malloc(n_rows * 3 * sizeof *rows);
    rv_status st = rows ? rv_lab_trace(s.surface, optim, s.schedule, (double[]){x, y}, k, rows)
                        : rv_fail(RV_ERR_NOMEM, "out of memory replaying %d updates", k);
    lab_method m;
    if (!st)
        st = lab_method_parse(optim, &m);
    enum { STEP = 4 + 2 * RVW_TRACE_FIELDS };
    double *o = st ? NULL : output(STEP + RVW_STEP_FIELDS);
    if (o) {
        double *before = rows + 3 * (k - 1), *after = rows + 3 * k;
        o[0] = s.schedule ? rv_schedule_lr(s.schedule, k - 1) : m.is_newton ? m.newton.lr : m.h.lr;
        o[1] = before[2];
        o[2] = after[2];
        o[3] = 0;
        memset(o + 4, 0, (STEP - 4 + RVW_STEP_FIELDS) * sizeof *o);
        o[STEP + RVW_STEP_FIELDS - 1] = after[2];
        if (m.is_newton) {
            double g[2], H[4], f;
            if (!rv_surface_eval(s.surface, before, &f, g, H))
                for (int i = 0; i < 2; i++) {
                    double *c = o + 4 + i * RVW_TRACE_FIELDS;
                    c[0] = c[1] = g[i];
                    c[2] = H[2 * i];
                    c[3] = H[2 * i + 1];
                    c[7] = c[8] = before[i];
                    c[9] = c[10] = after[i];
                }
        } else {
            /* the library's explainer: float32 point and state, the gradient
               evaluated in double and rounded to float, lr from the schedule,
               exactly as the trace runs it */
            o[3] = (double)rv_state_count(m.type, &m.h);
            rv_explainer *ex = NULL;
            const rv_explain_step *last = NULL;
            if (!rv_explainer_create(&ex, optim, 2, (float[]){(float)x, (float)y})) {
                for (long t = 1; t <= k; t++) {
                    const float *p = rv_explainer_params(ex);
                    double pt[2] = {p[0], p[1]}, f, g[2];
                    if (rv_surface_eval(s.surface, pt, &f, g, NULL) ||
                        (s.schedule && rv_explainer_set_lr(ex, rv_schedule_lr(s.schedule, t - 1))) ||
                        rv_explainer_step(ex, (float[]){(float)g[0], (float)g[1]}, &last))
                        break;
                }
            }
            if (last) {
                put_value(o + 4, &last->values[0]);
                put_value(o + 4 + RVW_TRACE_FIELDS, &last->values[1]);
                put_step(o + STEP, last);
                double xe[2] = {last->values[0].param_eval, last->values[1].param_eval}, fe;
                o[STEP + RVW_STEP_FIELDS - 1] =
                    rv_surface_eval(s.surface, xe, &fe, NULL, NULL) ? NAN : fe;
            }
            rv_explainer_free(ex);
        }
    }
    free(rows);
    release(&s);
    return o;
}

/* Canonical spec of an optimizer with every key, e.g. for the equations panel. */
RVW_EXPORT const char *rvw_optim_canonical(const char *spec)
{
    static char buf[512];
    const rv_optim_type *type;
    rv_hparams h;
    if (rv_hparams_parse(spec, &type, &h))
        return NULL;
    rv_hparams_format(type, &h, buf, sizeof buf);
    return buf;
}
