/* Internal: second-order jets in two variables, the arithmetic behind expr().

   A jet carries a value and its exact first and second partial derivatives
   with respect to x and y: (f, f_x, f_y, f_xx, f_xy, f_yy). Propagating jets
   through +, -, *, / and elementary functions is forward-mode automatic
   differentiation of second order: the two-variable form of hyper-dual
   numbers (a + b e1 + c e2 + d e1e2, e1^2 = e2^2 = 0), which carries all
   three second derivatives in one pass instead of one pair of directions per
   pass. Results are exact up to floating-point rounding: no step size, no
   truncation error. */
#ifndef RAVINE_SURFACE_JET_H
#define RAVINE_SURFACE_JET_H

typedef struct rv_jet {
    double v;       /* value */
    double d[2];    /* d/dx, d/dy */
    double h[3];    /* d2/dx2, d2/dxdy, d2/dy2 */
} rv_jet;

static inline rv_jet rv_jet_const(double c) { return (rv_jet){c, {0, 0}, {0, 0, 0}}; }

/* the variable x (i = 0) or y (i = 1) at value v */
static inline rv_jet rv_jet_var(int i, double v)
{
    rv_jet j = rv_jet_const(v);
    j.d[i] = 1.0;
    return j;
}

static inline rv_jet rv_jet_add(rv_jet a, rv_jet b)
{
    return (rv_jet){a.v + b.v, {a.d[0] + b.d[0], a.d[1] + b.d[1]},
                    {a.h[0] + b.h[0], a.h[1] + b.h[1], a.h[2] + b.h[2]}};
}

static inline rv_jet rv_jet_sub(rv_jet a, rv_jet b)
{
    return (rv_jet){a.v - b.v, {a.d[0] - b.d[0], a.d[1] - b.d[1]},
                    {a.h[0] - b.h[0], a.h[1] - b.h[1], a.h[2] - b.h[2]}};
}

static inline rv_jet rv_jet_neg(rv_jet a)
{
    return (rv_jet){-a.v, {-a.d[0], -a.d[1]}, {-a.h[0], -a.h[1], -a.h[2]}};
}

/* product rule: (ab)'' = a''b + 2a'b' + ab'' */
static inline rv_jet rv_jet_mul(rv_jet a, rv_jet b)
{
    return (rv_jet){a.v * b.v,
                    {a.d[0] * b.v + a.v * b.d[0], a.d[1] * b.v + a.v * b.d[1]},
                    {a.h[0] * b.v + 2.0 * a.d[0] * b.d[0] + a.v * b.h[0],
                     a.h[1] * b.v + a.d[0] * b.d[1] + a.d[1] * b.d[0] + a.v * b.h[1],
                     a.h[2] * b.v + 2.0 * a.d[1] * b.d[1] + a.v * b.h[2]}};
}

/* chain rule for phi(a), given phi(a.v), phi'(a.v) and phi''(a.v):
   d phi = phi' da;  d2 phi = phi' d2a + phi'' da da^T */
static inline rv_jet rv_jet_chain(rv_jet a, double f0, double f1, double f2)
{
    return (rv_jet){f0,
                    {f1 * a.d[0], f1 * a.d[1]},
                    {f1 * a.h[0] + f2 * a.d[0] * a.d[0], f1 * a.h[1] + f2 * a.d[0] * a.d[1],
                     f1 * a.h[2] + f2 * a.d[1] * a.d[1]}};
}

/* a / b = a * (1/b); the caller rules out b.v == 0 */
static inline rv_jet rv_jet_div(rv_jet a, rv_jet b)
{
    double r = 1.0 / b.v;
    return rv_jet_mul(a, rv_jet_chain(b, r, -r * r, 2.0 * r * r * r));
}

#endif
