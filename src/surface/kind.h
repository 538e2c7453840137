/* Internal: the table behind each surface (GSL style: one table per family,
   the registry and the drivers never change when a surface is added). */
#ifndef RAVINE_SURFACE_KIND_H
#define RAVINE_SURFACE_KIND_H

#include <stddef.h>
#include "ravine/surface.h"
#include "ravine/spec.h"

#define RV_SURFACE_MAX_KEYS 8

typedef enum rv_surface_key_type { RV_KEY_NUMBER, RV_KEY_INTEGER, RV_KEY_BOOL } rv_surface_key_type;

typedef struct rv_surface_key {
    const char *name;
    rv_surface_key_type type;
    double def;                 /* default (bools: 0 or 1) */
} rv_surface_key;

typedef struct rv_surface_kind rv_surface_kind;

struct rv_surface {
    const rv_surface_kind *kind;
    double p[RV_SURFACE_MAX_KEYS];   /* parameter values, in the order of kind->keys */
    void *data;                      /* owned by the kind: delivery's data, expr's program */
    char *spec;                      /* canonical spec, for messages */
};

struct rv_surface_kind {
    const char *name;
    const rv_surface_key *keys;      /* n_keys entries */
    size_t n_keys;
    /* After binding: range checks (messages through rv_spec_range) and any
       derived data. May be NULL. */
    rv_status (*setup)(rv_surface *s, const rv_spec *spec);
    void (*release)(rv_surface *s);
    /* Value, gradient and Hessian (row-major) at a finite x. Returns
       RV_ERR_SURFACE_DOMAIN with a message when x is outside the domain. */
    rv_status (*eval)(const rv_surface *s, const double x[2], double *f, double g[2], double H[4]);
    void (*window)(const rv_surface *s, double lo[2], double hi[2]);
    void (*start)(const rv_surface *s, double x[2]);
    /* 1 and the global minimiser if known, else 0 */
    int (*minimum)(const rv_surface *s, double x[2], double *f);
};

extern const rv_surface_kind rv_surface_bowl, rv_surface_quadratic, rv_surface_rosenbrock,
    rv_surface_beale, rv_surface_himmelblau, rv_surface_saddle, rv_surface_rastrigin,
    rv_surface_delivery, rv_surface_expr;

/* expr(f="...") does not fit the spec grammar (its value is a formula), so
   it has its own front end. rv_expr_spec_formula() checks that text is an
   expr spec: returns 0 if it is not one at all, 1 with *formula (malloc'd;
   the default formula for a bare `expr`) if it is, and -1 with an error set
   if it is a malformed one. */
int rv_expr_spec_formula(const char *text, char **formula, rv_status *status);
/* Compile the formula into s->data (RV_ERR_EXPR with the column on errors). */
rv_status rv_expr_setup(rv_surface *s, const char *formula);

/* Write the canonical spec of s (every key) into s->spec. */
rv_status rv_surface_make_spec(rv_surface *s, const char *expr_formula);

#endif
