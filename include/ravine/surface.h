/* ravine/surface.h — analytic loss surfaces for the optimizer lab.

       rv_surface *s;
       if (rv_surface_parse("bowl(kappa=10)", &s)) die(rv_errmsg());
       double x[2] = {-4, 1}, f, g[2], H[4];
       rv_surface_eval(s, x, &f, g, H);     // value, gradient, Hessian (row-major)
       rv_surface_free(s);

   Surfaces (spec keys, defaults):
       bowl(kappa=10)            f = 0.5*(x^2 + kappa*y^2)       seed 002's stretched bowl
       quadratic(a=1, b=0, c=10, d=0, e=0)  f = 0.5*(a x^2 + 2 b x y + c y^2) + d x + e y
       rosenbrock(a=1, b=100)    f = (a - x)^2 + b (y - x^2)^2
       beale                     f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2
       himmelblau                f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2
       saddle                    f = 0.5*(x^2 - y^2)
       rastrigin(a=10)           f = 2a + sum(x_i^2 - a cos(2 pi x_i))
       delivery(standardize=false, n=64, seed=42, noise=...)  seed 000's two-weight
                                 delivery-time regression, mean squared error / 2
       expr(f="0.5*(x^2+10*y^2)") a formula in x and y, differentiated exactly
                                 (forward-mode dual numbers, second order)

   All values, gradients and Hessians are exact closed forms (no finite
   differences); `ravine gradcheck` checks them against central differences.

   Curvature at a point, for picking learning rates:

       rv_curvature c;
       rv_surface_curvature(s, (double[]){0, 0}, &c);
       // bowl(kappa=10): c.eig = {1, 10}, c.condition = 10, c.sgd_lr_max = 0.2

   Surfaces that draw data (delivery) use splitmix64, documented in
   docs/lab.md, so a seed gives the same surface on every platform. */
#ifndef RAVINE_SURFACE_H
#define RAVINE_SURFACE_H

#include <stddef.h>
#include "ravine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_surface rv_surface;   /* opaque */

rv_status rv_surface_parse(const char *spec, rv_surface **out);
void rv_surface_free(rv_surface *s);

const char *rv_surface_name(const rv_surface *s);
/* Canonical spec with every key. */
size_t rv_surface_format(const rv_surface *s, char *buf, size_t size);
/* The i-th surface name, NULL past the end. */
const char *rv_surface_name_at(size_t i);

/* Value at x[2]; grad[2] and hess[4] (row-major) are optional (NULL).
   RV_ERR_SURFACE_DOMAIN if x is outside the domain or not finite. */
rv_status rv_surface_eval(const rv_surface *s, const double *x, double *f, double *grad,
                          double *hess);

/* A sensible plotting window [lo, hi] and a default start point. */
void rv_surface_window(const rv_surface *s, double lo[2], double hi[2]);
void rv_surface_default_start(const rv_surface *s, double start[2]);

/* Known global minimiser and minimum value, if the surface has one
   (returns 0 if not known, e.g. saddle or expr). */
int rv_surface_minimum(const rv_surface *s, double x[2], double *f);

/* The local quadratic picture at a point. Eigenvalues of the symmetric 2x2
   Hessian in closed form (ascending); figures that need a positive
   definite Hessian are NaN where it is not. */
typedef struct rv_curvature {
    double f, grad[2], hess[4];
    double eig[2];           /* eig[0] <= eig[1] */
    double evec[2][2];       /* evec[k]: unit eigenvector of eig[k] */
    double condition;        /* max|eig| / min|eig| (inf if an eigenvalue is 0) */
    double sgd_lr_max;       /* 2 / eig[1]: plain SGD diverges above it (NaN if eig[1] <= 0) */
    double momentum_lr;      /* 1 / eig[1], the lr the momentum figure is for */
    double momentum_beta;    /* (1 - sqrt(momentum_lr * eig[0]))^2: heavy ball
                                (torch sgd, dampening 0) critically damped on the
                                flattest direction at momentum_lr (NaN unless eig[0] > 0) */
    double newton_step[2];   /* -H^-1 grad (NaN if H is singular) */
} rv_curvature;

rv_status rv_surface_curvature(const rv_surface *s, const double x[2], rv_curvature *out);

/* Analytic derivatives against central differences at x: the gradient
   against differences of the value, the Hessian against differences of the
   analytic gradient, steps h_i = 1e-5 * max(1, |x_i|). Errors are
   max |analytic - difference| / max(1, |analytic|) over the components. */
typedef struct rv_gradcheck {
    double grad[2], grad_fd[2];
    double hess[4], hess_fd[4];
    double grad_err, hess_err;
} rv_gradcheck;

rv_status rv_surface_gradcheck(const rv_surface *s, const double x[2], rv_gradcheck *out);

#ifdef __cplusplus
}
#endif
#endif
