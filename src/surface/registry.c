/* Surfaces by spec string: the registry, parsing, and the checked entry
   points every caller goes through (finite point, finite results). */
#include "surface/kind.h"
#include "spec/bind.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rv_surface_kind *const kinds[] = {
    &rv_surface_bowl,   &rv_surface_quadratic, &rv_surface_rosenbrock,
    &rv_surface_beale,  &rv_surface_himmelblau, &rv_surface_saddle,
    &rv_surface_rastrigin, &rv_surface_delivery, &rv_surface_expr,
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

const char *rv_surface_name_at(size_t i) { return i < N_KINDS ? kinds[i]->name : NULL; }

static const rv_surface_kind *find_kind(const char *name)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (!strcmp(kinds[i]->name, name))
            return kinds[i];
    return NULL;
}

static rv_status unknown_surface(const char *text, const char *name)
{
    const char *names[N_KINDS + 1];
    char list[256] = "";
    for (size_t i = 0; i < N_KINDS; i++) {
        names[i] = kinds[i]->name;
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, kinds[i]->name, sizeof list - strlen(list) - 1);
    }
    names[N_KINDS] = NULL;
    const char *near = rv_closest_word(name, names);
    if (near)
        return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME,
                       "spec '%s': unknown surface '%s' (did you mean '%s'?)", text, name, near);
    return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME, "spec '%s': unknown surface '%s' (known: %s)", text,
                   name, list);
}

rv_status rv_surface_make_spec(rv_surface *s, const char *expr_formula)
{
    char buf[2048];
    size_t used = 0;
#define PUT(...) used += (size_t)snprintf(buf + used, used < sizeof buf ? sizeof buf - used : 0, __VA_ARGS__)
    PUT("%s", s->kind->name);
    if (expr_formula)
        PUT("(f=\"%s\")", expr_formula);
    else if (s->kind->n_keys) {
        PUT("(");
        for (size_t k = 0; k < s->kind->n_keys; k++) {
            const rv_surface_key *key = &s->kind->keys[k];
            PUT("%s%s=", k ? "," : "", key->name);
            if (key->type == RV_KEY_BOOL)
                PUT("%s", s->p[k] != 0 ? "true" : "false");
            else if (key->type == RV_KEY_INTEGER)
                PUT("%.0f", s->p[k]);
            else
                PUT("%s", rv_num(s->p[k]).s);
        }
        PUT(")");
    }
#undef PUT
    if (used >= sizeof buf)
        return rv_fail(RV_ERR_SPEC_SYNTAX, "surface spec longer than %zu characters", sizeof buf - 1);
    char *copy = malloc(used + 1);
    if (!copy)
        return rv_fail(RV_ERR_NOMEM, "out of memory");
    memcpy(copy, buf, used + 1);
    free(s->spec);
    s->spec = copy;
    return RV_OK;
}

static rv_status bind_keys(rv_surface *s, const rv_spec *spec)
{
    const rv_surface_kind *k = s->kind;
    rv_binding table[RV_SURFACE_MAX_KEYS];
    double nums[RV_SURFACE_MAX_KEYS];
    int bools[RV_SURFACE_MAX_KEYS];
    for (size_t i = 0; i < k->n_keys; i++) {
        nums[i] = k->keys[i].def;
        bools[i] = k->keys[i].def != 0;
        table[i] = (rv_binding){.key = k->keys[i].name};
        switch (k->keys[i].type) {
        case RV_KEY_NUMBER: table[i].kind = RV_BIND_NUMBER, table[i].dst = &nums[i]; break;
        case RV_KEY_INTEGER: table[i].kind = RV_BIND_INTEGER, table[i].dst = &nums[i]; break;
        case RV_KEY_BOOL: table[i].kind = RV_BIND_BOOL, table[i].dst = &bools[i]; break;
        }
    }
    rv_status st = rv_spec_bind(spec, table, k->n_keys);
    if (st)
        return st;
    for (size_t i = 0; i < k->n_keys; i++)
        s->p[i] = k->keys[i].type == RV_KEY_BOOL ? bools[i] : nums[i];
    return RV_OK;
}

rv_status rv_surface_parse(const char *text, rv_surface **out)
{
    if (!text || !out)
        return rv_fail(RV_ERR_NULL, "rv_surface_parse: NULL argument");
    rv_surface *s = calloc(1, sizeof *s);
    if (!s)
        return rv_fail(RV_ERR_NOMEM, "out of memory");
    rv_status st = RV_OK;
    char *formula = NULL;
    int is_expr = rv_expr_spec_formula(text, &formula, &st);
    if (is_expr < 0) {
        free(s);
        return st;
    }
    if (is_expr) {
        s->kind = &rv_surface_expr;
        st = rv_expr_setup(s, formula);
        if (!st)
            st = rv_surface_make_spec(s, formula);
        free(formula);
    } else {
        rv_spec spec;
        if ((st = rv_spec_parse(text, &spec))) {
            free(s);
            return st;
        }
        s->kind = find_kind(spec.name);
        if (!s->kind)
            st = unknown_surface(spec.text, spec.name);
        if (!st)
            st = bind_keys(s, &spec);
        if (!st)
            st = rv_surface_make_spec(s, NULL);
        if (!st && s->kind->setup)
            st = s->kind->setup(s, &spec);
        rv_spec_free(&spec);
    }
    if (st) {
        rv_surface_free(s);
        return st;
    }
    *out = s;
    return RV_OK;
}

void rv_surface_free(rv_surface *s)
{
    if (!s)
        return;
    if (s->kind && s->kind->release && s->data)
        s->kind->release(s);
    free(s->spec);
    free(s);
}

const char *rv_surface_name(const rv_surface *s) { return s ? s->kind->name : "(null)"; }

size_t rv_surface_format(const rv_surface *s, char *buf, size_t size)
{
    const char *text = s ? s->spec : "";
    size_t len = strlen(text);
    if (buf && size)
        snprintf(buf, size, "%s", text);
    return len;
}

rv_status rv_surface_eval(const rv_surface *s, const double *x, double *f, double *grad,
                          double *hess)
{
    if (!s || !x)
        return rv_fail(RV_ERR_NULL, "rv_surface_eval: %s is NULL", s ? "x" : "surface");
    if (!isfinite(x[0]) || !isfinite(x[1]))
        return rv_fail(RV_ERR_SURFACE_DOMAIN, "%s: the point (%.9g, %.9g) is not finite", s->spec,
                       x[0], x[1]);
    double ff, g[2], H[4];
    rv_status st = s->kind->eval(s, x, &ff, g, H);
    if (st)
        return st;
    int finite = isfinite(ff) && isfinite(g[0]) && isfinite(g[1]);
    for (int k = 0; k < 4; k++)
        finite = finite && isfinite(H[k]);
    if (!finite)
        return rv_fail(RV_ERR_SURFACE_DOMAIN,
                       "%s: value or derivatives not finite at (%.9g, %.9g) (f = %.9g)", s->spec,
                       x[0], x[1], ff);
    if (f)
        *f = ff;
    if (grad)
        grad[0] = g[0], grad[1] = g[1];
    if (hess)
        for (int k = 0; k < 4; k++)
            hess[k] = H[k];
    return RV_OK;
}

void rv_surface_window(const rv_surface *s, double lo[2], double hi[2])
{
    if (s && lo && hi)
        s->kind->window(s, lo, hi);
}

void rv_surface_default_start(const rv_surface *s, double start[2])
{
    if (s && start)
        s->kind->start(s, start);
}

int rv_surface_minimum(const rv_surface *s, double x[2], double *f)
{
    double xx[2], ff;
    if (!s || !s->kind->minimum(s, xx, &ff))
        return 0;
    if (x)
        x[0] = xx[0], x[1] = xx[1];
    if (f)
        *f = ff;
    return 1;
}
