/* Surfaces: analytic derivatives against central differences everywhere,
   closed-form curvature, known minima, the delivery data, and the errors. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>

static rv_surface *parse(const char *spec)
{
    rv_surface *s = NULL;
    rv_status st = rv_surface_parse(spec, &s);
    CHECK_MSG(st == RV_OK, "%s: %s", spec, rv_errmsg());
    return s;
}

/* every surface, several parameterisations, at a grid of points in its window */
static void gradcheck_everywhere(void)
{
    static const char *const specs[] = {
        "bowl", "bowl(kappa=100)", "quadratic(a=2, b=-1.5, c=3, d=1, e=-2)", "rosenbrock",
        "rosenbrock(a=-0.5, b=10)", "beale", "himmelblau", "saddle", "rastrigin",
        "rastrigin(a=3)", "delivery", "delivery(standardize=true)", "delivery(km=true)",
        "expr", "expr(f=\"sin(x)*exp(y/2) + x^3 - 2*x*y^2\")",
        "expr(f=\"log(1 + x^2 + y^2) + sqrt(3 + cos(x*y))\")",
        "expr(f=\"tanh(x - y)^2 + abs(x + 7) - tan(0.1*y) / (2 + x^2)\")",
        "expr(f='(x^2 + 1)^(0.5*y) + e^x * pi')",
        "expr(f=\"-x^2 + 2^-y + 3**2*x**3\")",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        rv_surface *s = parse(specs[i]);
        if (!s)
            continue;
        double lo[2], hi[2];
        rv_surface_window(s, lo, hi);
        for (int a = 1; a <= 4; a++)
            for (int b = 1; b <= 4; b++) {
                double x[2] = {lo[0] + (hi[0] - lo[0]) * (a - 0.37) / 4.0,
                               lo[1] + (hi[1] - lo[1]) * (b - 0.61) / 4.0};
                rv_gradcheck c;
                CHECK_STATUS(rv_surface_gradcheck(s, x, &c), RV_OK);
                CHECK_MSG(c.grad_err < 1e-6 && c.hess_err < 1e-6,
                          "%s at (%g, %g): gradient error %g, Hessian error %g", specs[i], x[0],
                          x[1], c.grad_err, c.hess_err);
            }
        rv_surface_free(s);
    }
}

/* the check can fail: a wrong derivative is caught */
static void gradcheck_catches_errors(void)
{
    rv_surface *s = parse("expr(f=\"abs(x)\")");
    rv_gradcheck c;
    /* at 0 the finite difference of |x| is 0 and the analytic sign(0) is 0: passes */
    CHECK_STATUS(rv_surface_gradcheck(s, (double[]){0, 0}, &c), RV_OK);
    CHECK(c.grad_err == 0);
    /* at 5e-6, within the difference step of the kink, the two disagree */
    CHECK_STATUS(rv_surface_gradcheck(s, (double[]){5e-6, 0}, &c), RV_OK);
    CHECK_MSG(c.grad_err > 0.4, "grad_err %g", c.grad_err);
    rv_surface_free(s);
}

static void curvature_closed_forms(void)
{
    rv_curvature c;
    rv_surface *s = parse("bowl(kappa=10)");
    CHECK_STATUS(rv_surface_curvature(s, (double[]){-4, 1}, &c), RV_OK);
    CHECK(c.eig[0] == 1 && c.eig[1] == 10);
    CHECK(c.condition == 10);
    CHECK_NEAR(c.sgd_lr_max, 0.2, 1e-15);
    CHECK_NEAR(c.momentum_lr, 0.1, 1e-15);
    CHECK_NEAR(c.momentum_beta, pow(1 - sqrt(0.1), 2), 1e-15);
    /* the Newton step from (-4, 1) lands on the minimum */
    CHECK_NEAR(c.newton_step[0], 4, 1e-15);
    CHECK_NEAR(c.newton_step[1], -1, 1e-15);
    CHECK_NEAR(fabs(c.evec[1][1]), 1, 1e-15);
    CHECK_NEAR(c.f, 13, 0);
    rv_surface_free(s);

    s = parse("saddle");
    CHECK_STATUS(rv_surface_curvature(s, (double[]){0.3, -2}, &c), RV_OK);
    CHECK(c.eig[0] == -1 && c.eig[1] == 1);
    CHECK(c.condition == 1);
    CHECK(isnan(c.momentum_beta));
    rv_surface_free(s);

    /* rosenbrock at (1, 1): H = [[802, -400], [-400, 200]], eig = 501 -/+ sqrt(301^2 + 400^2) */
    s = parse("rosenbrock");
    CHECK_STATUS(rv_surface_curvature(s, (double[]){1, 1}, &c), RV_OK);
    CHECK(c.hess[0] == 802 && c.hess[1] == -400 && c.hess[2] == -400 && c.hess[3] == 200);
    CHECK_NEAR(c.eig[0], 501 - sqrt(250601.0), 1e-12);
    CHECK_NEAR(c.eig[1], 501 + sqrt(250601.0), 1e-12);
    CHECK_NEAR(c.eig[0], 0.399360767, 1e-9);
    CHECK(c.grad[0] == 0 && c.grad[1] == 0 && c.f == 0);
    /* eigenvectors: H v = lambda v */
    for (int k = 0; k < 2; k++) {
        const double *v = c.evec[k];
        CHECK_NEAR(802 * v[0] - 400 * v[1], c.eig[k] * v[0], 1e-9);
        CHECK_NEAR(-400 * v[0] + 200 * v[1], c.eig[k] * v[1], 1e-9);
    }
    rv_surface_free(s);

    /* quadratic: the minimiser -H^-1 (d, e) and its value */
    s = parse("quadratic(a=2, b=1, c=4, d=-3, e=1)");
    double xm[2], fm;
    CHECK(rv_surface_minimum(s, xm, &fm));
    /* H = [[2,1],[1,4]], det 7: x* = -(4*-3 - 1*1, 2*1 - 1*-3)/7 = (13/7, -5/7) */
    CHECK_NEAR(xm[0], 13.0 / 7, 1e-15);
    CHECK_NEAR(xm[1], -5.0 / 7, 1e-15);
    double f, g[2];
    CHECK_STATUS(rv_surface_eval(s, xm, &f, g, NULL), RV_OK);
    CHECK_NEAR(f, fm, 1e-14);
    CHECK_NEAR(g[0], 0, 1e-14);
    CHECK_NEAR(g[1], 0, 1e-14);
    rv_surface_free(s);
}

static void known_minima(void)
{
    static const char *const specs[] = {"bowl", "rosenbrock(a=2,b=5)", "beale", "himmelblau",
                                        "rastrigin", "delivery", "delivery(standardize=true)"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        rv_surface *s = parse(specs[i]);
        double x[2], fm, f, g[2];
        CHECK(rv_surface_minimum(s, x, &fm));
        CHECK_STATUS(rv_surface_eval(s, x, &f, g, NULL), RV_OK);
        CHECK_NEAR(f, fm, 1e-12 * fmax(1, fabs(fm)));
        CHECK_MSG(fabs(g[0]) < 1e-9 && fabs(g[1]) < 1e-9, "%s: gradient (%g, %g) at the minimum",
                  specs[i], g[0], g[1]);
        rv_surface_free(s);
    }
    /* himmelblau's other three minima (to 6 digits) */
    rv_surface *s = parse("himmelblau");
    static const double others[3][2] = {
        {-2.805118, 3.131312}, {-3.779310, -3.283186}, {3.584428, -1.848126}};
    for (int k = 0; k < 3; k++) {
        double f;
        CHECK_STATUS(rv_surface_eval(s, others[k], &f, NULL, NULL), RV_OK);
        CHECK_MSG(f < 1e-9, "f = %g", f);
    }
    rv_surface_free(s);
    s = parse("saddle");
    CHECK(!rv_surface_minimum(s, NULL, NULL));
    rv_surface_free(s);
}

/* expr: exact derivatives (no differencing error at all) */
static void expr_exact(void)
{
    rv_surface *s = parse("expr(f=\"sin(x)*exp(y)\")");
    double x = 0.3, y = -0.2, f, g[2], H[4];
    CHECK_STATUS(rv_surface_eval(s, (double[]){x, y}, &f, g, H), RV_OK);
    double sx = sin(x), cx = cos(x), ey = exp(y);
    CHECK_NEAR(f, sx * ey, 1e-16);
    CHECK_NEAR(g[0], cx * ey, 1e-16);
    CHECK_NEAR(g[1], sx * ey, 1e-16);
    CHECK_NEAR(H[0], -sx * ey, 1e-16);
    CHECK_NEAR(H[1], cx * ey, 1e-16);
    CHECK_NEAR(H[2], cx * ey, 1e-16);
    CHECK_NEAR(H[3], sx * ey, 1e-16);
    rv_surface_free(s);

    /* the default formula is seed 002's bowl */
    rv_surface *e = parse("expr"), *b = parse("bowl");
    double fe, ge[2], He[4], fb, gb[2], Hb[4];
    CHECK_STATUS(rv_surface_eval(e, (double[]){-4, 1.5}, &fe, ge, He), RV_OK);
    CHECK_STATUS(rv_surface_eval(b, (double[]){-4, 1.5}, &fb, gb, Hb), RV_OK);
    CHECK(fe == fb && ge[0] == gb[0] && ge[1] == gb[1]);
    CHECK(He[0] == Hb[0] && He[1] == Hb[1] && He[3] == Hb[3]);
    rv_surface_free(e);
    rv_surface_free(b);

    /* precedence: -x^2 = -(x^2), 2^3^2 = 2^9, 2^-1 = 0.5, left-assoc minus and divide */
    s = parse("expr(f=\"-x^2 + 2^3^2 + 2^-1 + 8/4/2 - 3 - 2\")");
    CHECK_STATUS(rv_surface_eval(s, (double[]){3, 0}, &f, NULL, NULL), RV_OK);
    CHECK_NEAR(f, -9 + 512 + 0.5 + 1 - 5, 0);
    rv_surface_free(s);
    s = parse("expr(f = 'x*y' )");
    char buf[128];
    rv_surface_format(s, buf, sizeof buf);
    CHECK_STR(buf, "expr(f=\"x*y\")");
    rv_surface_free(s);
    s = parse("expr(f=x*(y+1))"); /* unquoted, balanced parentheses */
    CHECK_STATUS(rv_surface_eval(s, (double[]){2, 3}, &f, NULL, NULL), RV_OK);
    CHECK(f == 8);
    rv_surface_free(s);
}

static void expect_parse_error(const char *spec, rv_status code, const char *msg)
{
    rv_surface *s = (rv_surface *)&s; /* must stay untouched */
    rv_surface *before = s;
    CHECK_STATUS(rv_surface_parse(spec, &s), code);
    CHECK_STR(rv_errmsg(), msg);
    CHECK(s == before);
}

static void expect_eval_error(const char *spec, double x, double y, const char *msg)
{
    rv_surface *s = parse(spec);
    double f = 123, g[2] = {4, 5};
    CHECK_STATUS(rv_surface_eval(s, (double[]){x, y}, &f, g, NULL), RV_ERR_SURFACE_DOMAIN);
    CHECK_STR(rv_errmsg(), msg);
    CHECK(f == 123 && g[0] == 4 && g[1] == 5);
    rv_surface_free(s);
}

static void errors(void)
{
    expect_parse_error("bowll", RV_ERR_SPEC_UNKNOWN_NAME,
                       "spec 'bowll': unknown surface 'bowll' (did you mean 'bowl'?)");
    expect_parse_error("bowl(kapa=3)", RV_ERR_SPEC_UNKNOWN_KEY,
                       "spec 'bowl(kapa=3)': unknown key 'kapa' for bowl (did you mean 'kappa'?)");
    expect_parse_error("bowl(kappa=-1)", RV_ERR_SURFACE_PARAM,
                       "spec 'bowl(kappa=-1)': kappa=-1: must be > 0");
    expect_parse_error("bowl(kappa=true)", RV_ERR_SPEC_TYPE,
                       "spec 'bowl(kappa=true)': kappa=true: expected a number");
    expect_parse_error("delivery(n=2.5)", RV_ERR_SPEC_TYPE,
                       "spec 'delivery(n=2.5)': n=2.5: expected a whole number");
    expect_parse_error("delivery(n=1)", RV_ERR_SURFACE_PARAM,
                       "spec 'delivery(n=1)': n=1: must be in [2, 1000000]");
    expect_parse_error("rosenbrock(b=-2)", RV_ERR_SURFACE_PARAM,
                       "spec 'rosenbrock(b=-2)': b=-2: must be >= 0");
    expect_parse_error("expr(f=\"x+*y\")", RV_ERR_EXPR,
                       "expr 'x+*y': expected a number, x, y, a function or '(' at column 3");
    expect_parse_error("expr(f=\"sinn(x)\")", RV_ERR_EXPR,
                       "expr 'sinn(x)': unknown name 'sinn' (did you mean 'sin'?) at column 1");
    expect_parse_error("expr(f=\"(x+1\")", RV_ERR_EXPR,
                       "expr '(x+1': expected ')', found the end at column 5");
    expect_parse_error("expr(f=\"2 x\")", RV_ERR_EXPR,
                       "expr '2 x': unexpected text (an operator is missing?) at column 3");
    expect_parse_error("expr(f=\"\")", RV_ERR_EXPR, "expr '': the formula is empty");
    expect_parse_error("expr(g=\"x\")", RV_ERR_SPEC_UNKNOWN_KEY,
                       "spec 'expr(g=\"x\")': unknown key 'g' for expr (valid keys: f)");
    expect_parse_error("expr(f=\"x)", RV_ERR_SPEC_SYNTAX,
                       "spec 'expr(f=\"x)': the formula's closing \" is missing");

    expect_eval_error("expr(f=\"log(x) + y\")", -1, 0,
                      "expr(f=\"log(x) + y\") at (-1, 0): log of -1: log needs a positive argument "
                      "(column 1 of 'log(x) + y')");
    expect_eval_error("expr(f=\"1/(x-y)\")", 2, 2,
                      "expr(f=\"1/(x-y)\") at (2, 2): division by zero (the divisor is 0) "
                      "(column 2 of '1/(x-y)')");
    expect_eval_error("expr(f=\"sqrt(x)\")", -4, 0,
                      "expr(f=\"sqrt(x)\") at (-4, 0): sqrt of -4: sqrt needs a non-negative "
                      "argument (column 1 of 'sqrt(x)')");
    expect_eval_error("expr(f=\"x^0.5\")", -4, 0,
                      "expr(f=\"x^0.5\") at (-4, 0): negative base -4 with a non-integer power "
                      "(column 2 of 'x^0.5')");
    expect_eval_error("expr(f=\"exp(x*y)\")", 100, 100,
                      "expr(f=\"exp(x*y)\") at (100, 100): exp(10000) overflows (column 1 of "
                      "'exp(x*y)')");
    expect_eval_error("rastrigin", 6, 0,
                      "rastrigin(a=10): (6, 0) is outside the domain [-5.12, 5.12] x [-5.12, 5.12]");
    expect_eval_error("bowl", NAN, 0, "bowl(kappa=10): the point (nan, 0) is not finite");
    expect_eval_error("rosenbrock", 1e200, 0,
                      "rosenbrock(a=1,b=100): value or derivatives not finite at (1e+200, 0) "
                      "(f = inf)");
}

/* the delivery surface: its documented generator and measured curvature */
static void delivery(void)
{
    char buf[256];
    rv_surface *raw = parse("delivery"), *std = parse("delivery(standardize=true)"),
               *km = parse("delivery(km=true)"), *kmstd = parse("delivery(km=true,standardize=true)");
    rv_surface_format(raw, buf, sizeof buf);
    CHECK_STR(buf, "delivery(standardize=false,n=64,seed=42,noise=2,km=false)");
    double w[2], fmin;
    rv_surface_minimum(raw, w, &fmin);
    /* data from y = 10 x1 + 1 x2 + noise: the least-squares weights are near (10, 1) */
    CHECK_NEAR(w[0], 10.1502198, 1e-7);
    CHECK_NEAR(w[1], 0.954370549, 1e-9);
    CHECK_NEAR(fmin, 2.56506072, 1e-8);
    rv_curvature c;
    CHECK_STATUS(rv_surface_curvature(raw, w, &c), RV_OK);
    CHECK_NEAR(c.condition, 45.4462732, 1e-6);
    CHECK_STATUS(rv_surface_curvature(km, w, &c), RV_OK);
    CHECK_NEAR(c.condition, 1643.92911, 1e-4);
    CHECK_STATUS(rv_surface_curvature(std, w, &c), RV_OK);
    CHECK_NEAR(c.condition, 1.3178912, 1e-7);
    /* standardizing removes the units: km or hundreds of km give one surface */
    double f1, f2, g1[2], g2[2];
    CHECK_STATUS(rv_surface_eval(std, (double[]){0.3, -0.7}, &f1, g1, NULL), RV_OK);
    CHECK_STATUS(rv_surface_eval(kmstd, (double[]){0.3, -0.7}, &f2, g2, NULL), RV_OK);
    CHECK_NEAR(f1, f2, 1e-12);
    CHECK_NEAR(g1[0], g2[0], 1e-12);
    /* standardized y has mean 0 and variance 1: the loss at w = 0 is 1/2 */
    CHECK_STATUS(rv_surface_eval(std, (double[]){0, 0}, &f1, NULL, NULL), RV_OK);
    CHECK_NEAR(f1, 0.5, 1e-14);
    /* another seed is another data set */
    rv_surface *other = parse("delivery(seed=7)");
    double w7[2];
    rv_surface_minimum(other, w7, NULL);
    CHECK(w7[0] != w[0]);
    rv_surface_free(other);
    rv_surface_free(raw);
    rv_surface_free(std);
    rv_surface_free(km);
    rv_surface_free(kmstd);
}

static void registry(void)
{
    static const char *const names[] = {"bowl", "quadratic", "rosenbrock", "beale", "himmelblau",
                                        "saddle", "rastrigin", "delivery", "expr"};
    for (size_t i = 0; i < 9; i++)
        CHECK_STR(rv_surface_name_at(i), names[i]);
    CHECK(rv_surface_name_at(9) == NULL);
    rv_surface *s = parse("  rastrigin ( a = 3 ) ");
    char buf[64];
    CHECK(rv_surface_format(s, buf, sizeof buf) == strlen("rastrigin(a=3)"));
    CHECK_STR(buf, "rastrigin(a=3)");
    CHECK_STR(rv_surface_name(s), "rastrigin");
    rv_surface_free(s);
}

/* what the page and the report rely on: every surface's default start is a
   valid point inside its plotting window, and its minimum (if known) too */
static void starts_and_windows(void)
{
    for (size_t i = 0; rv_surface_name_at(i); i++) {
        rv_surface *s = parse(rv_surface_name_at(i));
        double lo[2], hi[2], x[2], f;
        rv_surface_window(s, lo, hi);
        rv_surface_default_start(s, x);
        CHECK_MSG(lo[0] < hi[0] && lo[1] < hi[1], "%s: empty window", rv_surface_name_at(i));
        CHECK_MSG(x[0] >= lo[0] && x[0] <= hi[0] && x[1] >= lo[1] && x[1] <= hi[1],
                  "%s: start (%g, %g) outside the window", rv_surface_name_at(i), x[0], x[1]);
        CHECK_STATUS(rv_surface_eval(s, x, &f, NULL, NULL), RV_OK);
        if (rv_surface_minimum(s, x, &f))
            CHECK_MSG(x[0] >= lo[0] && x[0] <= hi[0] && x[1] >= lo[1] && x[1] <= hi[1],
                      "%s: minimum outside the window", rv_surface_name_at(i));
        rv_surface_free(s);
    }
}

int main(void)
{
    starts_and_windows();
    gradcheck_everywhere();
    gradcheck_catches_errors();
    curvature_closed_forms();
    known_minima();
    expr_exact();
    errors();
    delivery();
    registry();
    return check_summary("test_surface");
}
