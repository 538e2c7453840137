/* Curvature of a surface at a point: closed-form eigen-decomposition of the
   symmetric 2x2 Hessian and the step sizes it implies. */
#include "ravine/surface.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

rv_status rv_surface_curvature(const rv_surface *s, const double x[2], rv_curvature *out)
{
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_surface_curvature: out is NULL");
    rv_curvature c;
    rv_status st = rv_surface_eval(s, x, &c.f, c.grad, c.hess);
    if (st)
        return st;
    double a = c.hess[0], b = c.hess[1], d = c.hess[3];
    /* eigenvalues m -/+ r, with r = hypot((a-d)/2, b): no cancellation in r */
    double m = 0.5 * (a + d), r = hypot(0.5 * (a - d), b);
    c.eig[0] = m - r;
    c.eig[1] = m + r;
    /* the larger eigenvalue's direction: (H - eig1 I) v = 0 gives two candidate
       vectors (b, eig1 - a) and (eig1 - d, b); the longer is the better
       conditioned. The other eigenvector is perpendicular. */
    double u[2] = {b, c.eig[1] - a}, w[2] = {c.eig[1] - d, b};
    double nu = hypot(u[0], u[1]), nw = hypot(w[0], w[1]);
    double *v = nu >= nw ? u : w, nv = fmax(nu, nw);
    if (nv == 0) {   /* a multiple of I: any basis */
        v[0] = 1, v[1] = 0, nv = 1;
    }
    double sign = (v[0] < 0 || (v[0] == 0 && v[1] < 0)) ? -1.0 : 1.0;
    c.evec[1][0] = sign * v[0] / nv + 0.0, c.evec[1][1] = sign * v[1] / nv + 0.0;
    c.evec[0][0] = -c.evec[1][1] + 0.0, c.evec[0][1] = c.evec[1][0];
    if (c.evec[0][0] < 0 || (c.evec[0][0] == 0 && c.evec[0][1] < 0))
        c.evec[0][0] = -c.evec[0][0] + 0.0, c.evec[0][1] = -c.evec[0][1] + 0.0;
    double lo = fmin(fabs(c.eig[0]), fabs(c.eig[1])), hi = fmax(fabs(c.eig[0]), fabs(c.eig[1]));
    c.condition = lo > 0 ? hi / lo : INFINITY;
    c.sgd_lr_max = c.eig[1] > 0 ? 2.0 / c.eig[1] : NAN;
    c.momentum_lr = c.eig[1] > 0 ? 1.0 / c.eig[1] : NAN;
    c.momentum_beta = c.eig[0] > 0 ? pow(1.0 - sqrt(c.momentum_lr * c.eig[0]), 2) : NAN;
    double det = a * d - b * c.hess[2];
    if (det != 0) {
        c.newton_step[0] = -(d * c.grad[0] - b * c.grad[1]) / det;
        c.newton_step[1] = -(a * c.grad[1] - c.hess[2] * c.grad[0]) / det;
    } else {
        c.newton_step[0] = c.newton_step[1] = NAN;
    }
    *out = c;
    return RV_OK;
}

static double rel_err(double analytic, double fd)
{
    return fabs(analytic - fd) / fmax(1.0, fabs(analytic));
}

rv_status rv_surface_gradcheck(const rv_surface *s, const double x[2], rv_gradcheck *out)
{
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_surface_gradcheck: out is NULL");
    rv_gradcheck c;
    memset(&c, 0, sizeof c);
    double f;
    rv_status st = rv_surface_eval(s, x, &f, c.grad, c.hess);
    if (st)
        return st;
    for (int i = 0; i < 2; i++) {
        double h = 1e-5 * fmax(1.0, fabs(x[i]));
        double xp[2] = {x[0], x[1]}, xm[2] = {x[0], x[1]};
        xp[i] += h;
        xm[i] -= h;
        double fp, fm, gp[2], gm[2];
        if ((st = rv_surface_eval(s, xp, &fp, gp, NULL)) || (st = rv_surface_eval(s, xm, &fm, gm, NULL)))
            return st;
        double step = xp[i] - xm[i];   /* the step actually taken, after rounding */
        c.grad_fd[i] = (fp - fm) / step;
        /* column i of the Hessian */
        c.hess_fd[0 * 2 + i] = (gp[0] - gm[0]) / step;
        c.hess_fd[1 * 2 + i] = (gp[1] - gm[1]) / step;
    }
    for (int i = 0; i < 2; i++)
        c.grad_err = fmax(c.grad_err, rel_err(c.grad[i], c.grad_fd[i]));
    for (int k = 0; k < 4; k++)
        c.hess_err = fmax(c.hess_err, rel_err(c.hess[k], c.hess_fd[k]));
    *out = c;
    return RV_OK;
}
