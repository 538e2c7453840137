/* delivery(...): seed 000's two-weight delivery-time regression on seeded
   synthetic data, the lab's real-world ravine.

   Data (n rows, reproducible everywhere: integer PRNG, no libm in the draw):
       rng       splitmix64 seeded with `seed`; u = (next() >> 11) * 2^-53 in [0, 1)
       x1        0.5 + 4.5 u            warehouse distance, hundreds of km
       x2        0.2 + 19.8 u           package weight, kg
       noise     noise * sqrt(3) * (u + u + u + u - 2)   (Irwin-Hall: mean 0, sd = noise)
       y         10 x1 + 1 x2 + noise, clamped to [1, 72]   delivery time, hours
   drawn in that order for each row. km=true then states x1 in km (x1 * 100,
   50 to 500), the units of the seed's prose ("x1 ~ 100 km").

   Condition numbers of the Hessian at the defaults (n=64, seed=42): raw
   45.4 (hundreds of km, as the seed's table), raw with km=true 1644 (the
   seed's prose), standardized 1.32 with either unit (docs/lab.md).

   Model: y ~ w1 x1 + w2 x2 with no bias, so the surface is exactly the
   seed's two weights (w1, w2) and the data are generated without an
   intercept, so the model is well specified. Loss = mean((w.x - y)^2) / 2.

   standardize=true replaces every feature by its z-score (population mean
   and standard deviation) and y by (y - mean y) / sd y. Centering y with the
   features is what makes a bias unnecessary there: it is the closed-form
   intercept. Raw, the features' unequal scales and non-zero means make a
   long diagonal valley; standardized, the Hessian is the features'
   correlation matrix, condition number (1 + |r|) / (1 - |r|).

   The loss is an exact quadratic, evaluated from sufficient statistics
   (S = mean x x^T, b = mean x y, c = mean y^2): f = w.S.w/2 - b.w + c/2,
   gradient S w - b, Hessian S. */
#include "surface/kind.h"
#include "spec/bind.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum { KEY_STANDARDIZE, KEY_N, KEY_SEED, KEY_NOISE, KEY_KM };

static const rv_surface_key delivery_keys[] = {{"standardize", RV_KEY_BOOL, 0},
                                               {"n", RV_KEY_INTEGER, 64},
                                               {"seed", RV_KEY_INTEGER, 42},
                                               {"noise", RV_KEY_NUMBER, 2},
                                               {"km", RV_KEY_BOOL, 0}};

typedef struct delivery_data {
    double S[3];    /* mean x1^2, mean x1 x2, mean x2^2 */
    double b[2];    /* mean x1 y, mean x2 y */
    double c;       /* mean y^2 */
    double w[2];    /* least-squares minimiser */
    double fmin;
} delivery_data;

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state) { return (double)(splitmix64(state) >> 11) * 0x1p-53; }

static rv_status delivery_setup(rv_surface *s, const rv_spec *spec)
{
    double n = s->p[KEY_N], seed = s->p[KEY_SEED], noise = s->p[KEY_NOISE];
    if (n < 2 || n > 1000000)
        return rv_spec_range(spec, RV_ERR_SURFACE_PARAM, "n", "must be in [2, 1000000]");
    if (seed < 0)
        return rv_spec_range(spec, RV_ERR_SURFACE_PARAM, "seed", "must be >= 0");
    if (!(noise >= 0 && noise <= 100))
        return rv_spec_range(spec, RV_ERR_SURFACE_PARAM, "noise", "must be in [0, 100] hours");
    size_t rows = (size_t)n;
    double *x1 = malloc(rows * sizeof *x1), *x2 = malloc(rows * sizeof *x2),
           *y = malloc(rows * sizeof *y);
    delivery_data *d = calloc(1, sizeof *d);
    if (!x1 || !x2 || !y || !d) {
        free(x1), free(x2), free(y), free(d);
        return rv_fail(RV_ERR_NOMEM, "%s: out of memory for %zu rows", s->spec, rows);
    }
    uint64_t state = (uint64_t)seed;
    double mean[3] = {0, 0, 0};
    for (size_t i = 0; i < rows; i++) {
        x1[i] = 0.5 + 4.5 * uniform01(&state);
        x2[i] = 0.2 + 19.8 * uniform01(&state);
        double e = uniform01(&state);
        e += uniform01(&state);
        e += uniform01(&state);
        e += uniform01(&state);
        double yi = 10.0 * x1[i] + 1.0 * x2[i] + noise * sqrt(3.0) * (e - 2.0);
        y[i] = yi < 1.0 ? 1.0 : yi > 72.0 ? 72.0 : yi;
        if (s->p[KEY_KM] != 0)
            x1[i] *= 100.0;
        mean[0] += x1[i], mean[1] += x2[i], mean[2] += y[i];
    }
    if (s->p[KEY_STANDARDIZE] != 0) {
        double sd[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++)
            mean[k] /= (double)rows;
        for (size_t i = 0; i < rows; i++) {
            x1[i] -= mean[0], x2[i] -= mean[1], y[i] -= mean[2];
            sd[0] += x1[i] * x1[i], sd[1] += x2[i] * x2[i], sd[2] += y[i] * y[i];
        }
        for (int k = 0; k < 3; k++)
            sd[k] = sqrt(sd[k] / (double)rows);
        for (size_t i = 0; i < rows; i++)
            x1[i] /= sd[0], x2[i] /= sd[1], y[i] /= sd[2];
    }
    for (size_t i = 0; i < rows; i++) {
        d->S[0] += x1[i] * x1[i], d->S[1] += x1[i] * x2[i], d->S[2] += x2[i] * x2[i];
        d->b[0] += x1[i] * y[i], d->b[1] += x2[i] * y[i];
        d->c += y[i] * y[i];
    }
    for (int k = 0; k < 3; k++)
        d->S[k] /= (double)rows;
    d->b[0] /= (double)rows, d->b[1] /= (double)rows;
    d->c /= (double)rows;
    double det = d->S[0] * d->S[2] - d->S[1] * d->S[1];
    d->w[0] = (d->S[2] * d->b[0] - d->S[1] * d->b[1]) / det;
    d->w[1] = (d->S[0] * d->b[1] - d->S[1] * d->b[0]) / det;
    /* at the minimiser S w = b, so f = (c - b.w) / 2 */
    d->fmin = 0.5 * (d->c - d->b[0] * d->w[0] - d->b[1] * d->w[1]);
    free(x1), free(x2), free(y);
    if (!(det > 0) || !isfinite(d->w[0]) || !isfinite(d->w[1])) {
        free(d);
        return rv_fail(RV_ERR_SURFACE_PARAM, "%s: the features are collinear (no unique minimum)",
                       s->spec);
    }
    s->data = d;
    return RV_OK;
}

static void delivery_release(rv_surface *s) { free(s->data); }

static rv_status delivery_eval(const rv_surface *s, const double x[2], double *f, double g[2],
                               double H[4])
{
    const delivery_data *d = s->data;
    double Sw0 = d->S[0] * x[0] + d->S[1] * x[1], Sw1 = d->S[1] * x[0] + d->S[2] * x[1];
    *f = 0.5 * (x[0] * Sw0 + x[1] * Sw1) - (d->b[0] * x[0] + d->b[1] * x[1]) + 0.5 * d->c;
    g[0] = Sw0 - d->b[0];
    g[1] = Sw1 - d->b[1];
    H[0] = d->S[0];
    H[1] = H[2] = d->S[1];
    H[3] = d->S[2];
    return RV_OK;
}

static int delivery_minimum(const rv_surface *s, double x[2], double *f)
{
    const delivery_data *d = s->data;
    x[0] = d->w[0], x[1] = d->w[1];
    *f = d->fmin;
    return 1;
}

/* a box holding the start (0, 0) and the minimiser, with a margin */
static void delivery_window(const rv_surface *s, double lo[2], double hi[2])
{
    const delivery_data *d = s->data;
    double span = fmax(fmax(fabs(d->w[0]), fabs(d->w[1])), 1.0);
    for (int k = 0; k < 2; k++) {
        lo[k] = fmin(0.0, d->w[k]) - 0.25 * span;
        hi[k] = fmax(0.0, d->w[k]) + 0.25 * span;
    }
}

/* an untrained model: both weights zero */
static void delivery_start(const rv_surface *s, double x[2])
{
    (void)s;
    x[0] = 0, x[1] = 0;
}

const rv_surface_kind rv_surface_delivery = {
    "delivery", delivery_keys, 5, delivery_setup, delivery_release, delivery_eval,
    delivery_window, delivery_start, delivery_minimum};
