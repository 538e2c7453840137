/* The classic analytic test surfaces: closed-form value, gradient, Hessian. */
#include "surface/kind.h"
#include "spec/bind.h"
#include "core/error.h"

#include <math.h>

#define PI 3.14159265358979323846

static void put_hess(double H[4], double xx, double xy, double yy)
{
    H[0] = xx;
    H[1] = H[2] = xy;
    H[3] = yy;
}

static void set2(double v[2], double a, double b)
{
    v[0] = a;
    v[1] = b;
}

/* ---- bowl(kappa): seed 002's stretched bowl 0.5*(x^2 + kappa*y^2) ------ */

static const rv_surface_key bowl_keys[] = {{"kappa", RV_KEY_NUMBER, 10}};

static rv_status bowl_setup(rv_surface *s, const rv_spec *spec)
{
    if (!(s->p[0] > 0))
        return rv_spec_range(spec, RV_ERR_SURFACE_PARAM, "kappa", "must be > 0");
    return RV_OK;
}

static rv_status bowl_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                           double H[4])
{
    double k = s->p[0];
    *f = 0.5 * (x[0] * x[0] + k * x[1] * x[1]);
    set2(g, x[0], k * x[1]);
    put_hess(H, 1.0, 0.0, k);
    return RV_OK;
}

static void bowl_window(const rv_surface *s, double lo[2], double hi[2])
{
    (void)s;
    set2(lo, -5, -3);
    set2(hi, 5, 3);
}

static void bowl_start(const rv_surface *s, double x[2])
{
    (void)s;
    set2(x, -4, 1);
}

static int zero_minimum(const rv_surface *s, double x[2], double *f)
{
    (void)s;
    set2(x, 0, 0);
    *f = 0;
    return 1;
}

const rv_surface_kind rv_surface_bowl = {
    "bowl", bowl_keys, 1, bowl_setup, NULL, bowl_eval, bowl_window, bowl_start, zero_minimum};

/* ---- quadratic(a, b, c, d, e): 0.5*(a x^2 + 2 b x y + c y^2) + d x + e y -- */

static const rv_surface_key quadratic_keys[] = {{"a", RV_KEY_NUMBER, 1},
                                                {"b", RV_KEY_NUMBER, 0},
                                                {"c", RV_KEY_NUMBER, 10},
                                                {"d", RV_KEY_NUMBER, 0},
                                                {"e", RV_KEY_NUMBER, 0}};

static rv_status quadratic_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                                double H[4])
{
    const double *p = s->p;
    *f = 0.5 * (p[0] * x[0] * x[0] + 2 * p[1] * x[0] * x[1] + p[2] * x[1] * x[1]) + p[3] * x[0] +
         p[4] * x[1];
    set2(g, p[0] * x[0] + p[1] * x[1] + p[3], p[1] * x[0] + p[2] * x[1] + p[4]);
    put_hess(H, p[0], p[1], p[2]);
    return RV_OK;
}

/* minimiser -H^-1 (d, e) when H is positive definite */
static int quadratic_minimum(const rv_surface *s, double x[2], double *f)
{
    const double *p = s->p;
    double det = p[0] * p[2] - p[1] * p[1];
    if (!(p[0] > 0 && det > 0))
        return 0;
    set2(x, -(p[2] * p[3] - p[1] * p[4]) / det, -(p[0] * p[4] - p[1] * p[3]) / det);
    *f = 0.5 * (p[3] * x[0] + p[4] * x[1]);
    return 1;
}

static void quadratic_window(const rv_surface *s, double lo[2], double hi[2])
{
    double c[2] = {0, 0}, f;
    quadratic_minimum(s, c, &f);
    set2(lo, c[0] - 5, c[1] - 5);
    set2(hi, c[0] + 5, c[1] + 5);
}

static void quadratic_start(const rv_surface *s, double x[2])
{
    double c[2] = {0, 0}, f;
    quadratic_minimum(s, c, &f);
    set2(x, c[0] - 4, c[1] + 1);
}

const rv_surface_kind rv_surface_quadratic = {
    "quadratic", quadratic_keys, 5, NULL, NULL, quadratic_eval, quadratic_window,
    quadratic_start, quadratic_minimum};

/* ---- rosenbrock(a, b): (a - x)^2 + b (y - x^2)^2 ------------------------ */

static const rv_surface_key rosenbrock_keys[] = {{"a", RV_KEY_NUMBER, 1},
                                                 {"b", RV_KEY_NUMBER, 100}};

static rv_status rosenbrock_setup(rv_surface *s, const rv_spec *spec)
{
    if (!(s->p[1] >= 0))
        return rv_spec_range(spec, RV_ERR_SURFACE_PARAM, "b", "must be >= 0");
    return RV_OK;
}

static rv_status rosenbrock_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                                 double H[4])
{
    double a = s->p[0], b = s->p[1];
    double u = a - x[0], w = x[1] - x[0] * x[0];
    *f = u * u + b * w * w;
    set2(g, -2 * u - 4 * b * x[0] * w, 2 * b * w);
    put_hess(H, 2 - 4 * b * x[1] + 12 * b * x[0] * x[0], -4 * b * x[0], 2 * b);
    return RV_OK;
}

static void rosenbrock_window(const rv_surface *s, double lo[2], double hi[2])
{
    double a = s->p[0];
    set2(lo, fmin(-2, a - 1), fmin(-1, a * a - 1));
    set2(hi, fmax(2, a + 1), fmax(3, a * a + 1));
}

static void rosenbrock_start(const rv_surface *s, double x[2])
{
    (void)s;
    set2(x, -1.2, 1);
}

static int rosenbrock_minimum(const rv_surface *s, double x[2], double *f)
{
    set2(x, s->p[0], s->p[0] * s->p[0]);
    *f = 0;
    return 1;
}

const rv_surface_kind rv_surface_rosenbrock = {
    "rosenbrock", rosenbrock_keys, 2, rosenbrock_setup, NULL, rosenbrock_eval, rosenbrock_window,
    rosenbrock_start, rosenbrock_minimum};

/* ---- beale: sum_i (c_i - x + x y^i)^2, c = 1.5, 2.25, 2.625 ------------- */

static rv_status beale_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                            double H[4])
{
    (void)s;
    static const double c[3] = {1.5, 2.25, 2.625};
    double X = x[0], Y = x[1];
    double ff = 0, gx = 0, gy = 0, hxx = 0, hxy = 0, hyy = 0;
    double ypow[4] = {1, Y, Y * Y, Y * Y * Y};
    for (int i = 1; i <= 3; i++) {
        /* t = c + x (y^i - 1), with its own first and second derivatives */
        double t = c[i - 1] + X * (ypow[i] - 1);
        double tx = ypow[i] - 1, ty = X * i * ypow[i - 1];
        double txy = i * ypow[i - 1], tyy = i >= 2 ? X * i * (i - 1) * ypow[i - 2] : 0;
        ff += t * t;
        gx += 2 * t * tx;
        gy += 2 * t * ty;
        hxx += 2 * tx * tx;
        hxy += 2 * (tx * ty + t * txy);
        hyy += 2 * (ty * ty + t * tyy);
    }
    *f = ff;
    set2(g, gx, gy);
    put_hess(H, hxx, hxy, hyy);
    return RV_OK;
}

static void beale_window(const rv_surface *s, double lo[2], double hi[2])
{
    (void)s;
    set2(lo, -4.5, -4.5);
    set2(hi, 4.5, 4.5);
}

static void beale_start(const rv_surface *s, double x[2])
{
    (void)s;
    set2(x, 1, 1);
}

static int beale_minimum(const rv_surface *s, double x[2], double *f)
{
    (void)s;
    set2(x, 3, 0.5);
    *f = 0;
    return 1;
}

const rv_surface_kind rv_surface_beale = {
    "beale", NULL, 0, NULL, NULL, beale_eval, beale_window, beale_start, beale_minimum};

/* ---- himmelblau: (x^2 + y - 11)^2 + (x + y^2 - 7)^2 ---------------------- */

static rv_status himmelblau_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                                 double H[4])
{
    (void)s;
    double X = x[0], Y = x[1];
    double A = X * X + Y - 11, B = X + Y * Y - 7;
    *f = A * A + B * B;
    set2(g, 4 * X * A + 2 * B, 2 * A + 4 * Y * B);
    put_hess(H, 4 * A + 8 * X * X + 2, 4 * X + 4 * Y, 2 + 4 * B + 8 * Y * Y);
    return RV_OK;
}

static void himmelblau_window(const rv_surface *s, double lo[2], double hi[2])
{
    (void)s;
    set2(lo, -5, -5);
    set2(hi, 5, 5);
}

static void himmelblau_start(const rv_surface *s, double x[2])
{
    (void)s;
    set2(x, 0, 0);
}

/* one of its four global minima (all have f = 0) */
static int himmelblau_minimum(const rv_surface *s, double x[2], double *f)
{
    (void)s;
    set2(x, 3, 2);
    *f = 0;
    return 1;
}

const rv_surface_kind rv_surface_himmelblau = {
    "himmelblau", NULL, 0, NULL, NULL, himmelblau_eval, himmelblau_window, himmelblau_start,
    himmelblau_minimum};

/* ---- saddle: 0.5*(x^2 - y^2) -------------------------------------------- */

static rv_status saddle_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                             double H[4])
{
    (void)s;
    *f = 0.5 * (x[0] * x[0] - x[1] * x[1]);
    set2(g, x[0], -x[1]);
    put_hess(H, 1, 0, -1);
    return RV_OK;
}

static void saddle_window(const rv_surface *s, double lo[2], double hi[2])
{
    (void)s;
    set2(lo, -3, -3);
    set2(hi, 3, 3);
}

static void saddle_start(const rv_surface *s, double x[2])
{
    (void)s;
    set2(x, -2, 0.1);
}

static int no_minimum(const rv_surface *s, double x[2], double *f)
{
    (void)s;
    (void)x;
    (void)f;
    return 0;
}

const rv_surface_kind rv_surface_saddle = {
    "saddle", NULL, 0, NULL, NULL, saddle_eval, saddle_window, saddle_start, no_minimum};

/* ---- rastrigin(a): 2a + sum (x_i^2 - a cos(2 pi x_i)) on [-5.12, 5.12]^2 -- */

#define RASTRIGIN_BOUND 5.12

static const rv_surface_key rastrigin_keys[] = {{"a", RV_KEY_NUMBER, 10}};

static rv_status rastrigin_setup(rv_surface *s, const rv_spec *spec)
{
    if (!(s->p[0] >= 0))
        return rv_spec_range(spec, RV_ERR_SURFACE_PARAM, "a", "must be >= 0");
    return RV_OK;
}

static rv_status rastrigin_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                                double H[4])
{
    double a = s->p[0];
    if (fabs(x[0]) > RASTRIGIN_BOUND || fabs(x[1]) > RASTRIGIN_BOUND)
        return rv_fail(RV_ERR_SURFACE_DOMAIN,
                       "%s: (%.9g, %.9g) is outside the domain [-5.12, 5.12] x [-5.12, 5.12]",
                       s->spec, x[0], x[1]);
    double ff = 2 * a, hd[2];
    for (int i = 0; i < 2; i++) {
        double w = 2 * PI * x[i];
        ff += x[i] * x[i] - a * cos(w);
        g[i] = 2 * x[i] + 2 * PI * a * sin(w);
        hd[i] = 2 + 4 * PI * PI * a * cos(w);
    }
    *f = ff;
    put_hess(H, hd[0], 0, hd[1]);
    return RV_OK;
}

static void rastrigin_window(const rv_surface *s, double lo[2], double hi[2])
{
    (void)s;
    set2(lo, -RASTRIGIN_BOUND, -RASTRIGIN_BOUND);
    set2(hi, RASTRIGIN_BOUND, RASTRIGIN_BOUND);
}

static void rastrigin_start(const rv_surface *s, double x[2])
{
    (void)s;
    set2(x, 2.2, -1.7);
}

const rv_surface_kind rv_surface_rastrigin = {
    "rastrigin", rastrigin_keys, 1, rastrigin_setup, NULL, rastrigin_eval, rastrigin_window,
    rastrigin_start, zero_minimum};
