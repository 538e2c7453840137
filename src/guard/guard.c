/* The loss-spike guard: z-score of a value against a ring buffer of the
   most recent values (see ravine/guard.h for the choices made). */
#include "ravine/guard.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct rv_guard {
    rv_guard_config c;
    double *ring;
    size_t head;    /* next slot to write */
    size_t count;   /* values in the ring, <= window */
};

rv_guard_config rv_guard_defaults(void) { return (rv_guard_config){128, 128, 5.0}; }

rv_status rv_guard_create(rv_guard **out, const rv_guard_config *config)
{
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_guard_create: out is NULL");
    rv_guard_config c = config ? *config : rv_guard_defaults();
    if (c.window < 2 || c.window > ((size_t)1 << 26))
        return rv_fail(RV_ERR_ARG, "guard window must be in [2, 67108864], got %zu", c.window);
    if (c.min_count < 2 || c.min_count > c.window)
        return rv_fail(RV_ERR_ARG, "guard min_count must be in [2, window = %zu], got %zu", c.window,
                       c.min_count);
    if (!(c.threshold > 0) || isinf(c.threshold))
        return rv_fail(RV_ERR_ARG, "guard threshold must be a finite number > 0, got %g", c.threshold);
    rv_guard *g = calloc(1, sizeof *g);
    if (!g || !(g->ring = malloc(c.window * sizeof *g->ring))) {
        free(g);
        return rv_fail(RV_ERR_NOMEM, "out of memory creating a guard of window %zu", c.window);
    }
    g->c = c;
    *out = g;
    return RV_OK;
}

void rv_guard_free(rv_guard *g)
{
    if (!g)
        return;
    free(g->ring);
    free(g);
}

void rv_guard_reset(rv_guard *g)
{
    if (g)
        g->head = g->count = 0;
}

size_t rv_guard_count(const rv_guard *g) { return g ? g->count : 0; }

rv_status rv_guard_score(const rv_guard *g, double value, rv_guard_verdict *out)
{
    if (!g || !out)
        return rv_fail(RV_ERR_NULL, "rv_guard_score: %s is NULL", g ? "out" : "guard");
    rv_guard_verdict v = {0, 0, NAN, NAN, NAN};
    if (g->count >= g->c.min_count) {
        /* two passes, oldest to newest: the same order every time */
        size_t start = (g->head + g->c.window - g->count) % g->c.window;
        double sum = 0, sq = 0;
        for (size_t k = 0; k < g->count; k++)
            sum += g->ring[(start + k) % g->c.window];
        v.mean = sum / (double)g->count;
        for (size_t k = 0; k < g->count; k++) {
            double d = g->ring[(start + k) % g->c.window] - v.mean;
            sq += d * d;
        }
        v.std = sqrt(sq / (double)g->count);
        if (v.std > 0)
            v.z = (value - v.mean) / v.std;
        else
            v.z = value == v.mean ? 0.0 : value > v.mean ? INFINITY : isnan(value) ? NAN : -INFINITY;
        v.skip = v.z > g->c.threshold;
    } else {
        v.warming_up = 1;
    }
    if (!isfinite(value))
        v.skip = 1;
    *out = v;
    return RV_OK;
}

rv_status rv_guard_observe(rv_guard *g, double value, rv_guard_verdict *out)
{
    rv_guard_verdict v;
    rv_status s = rv_guard_score(g, value, out ? out : &v);
    if (s)
        return s;
    if (isfinite(value)) {
        g->ring[g->head] = value;
        g->head = (g->head + 1) % g->c.window;
        if (g->count < g->c.window)
            g->count++;
    }
    return RV_OK;
}
