/* Internal: the algorithm table behind the opaque rv_optim_type (GSL style:
   adding an algorithm is adding one file with one table; drivers never change). */
#ifndef RAVINE_OPTIM_TYPE_H
#define RAVINE_OPTIM_TYPE_H

#include "ravine/optim.h"
#include "kernels/coeffs.h"

#define RV_MAX_STATE 4

struct rv_optim_type {
    const char *name;
    const char *summary;
    const char *const *keys;                       /* spec keys, NULL-terminated */
    void (*defaults)(rv_hparams *h);
    rv_status (*validate)(const rv_hparams *h);
    size_t (*state_count)(const rv_hparams *h);
    const char *(*state_name)(const rv_hparams *h, size_t i);
    /* initial value of buffer i; NULL means every buffer starts at zero */
    float (*state_initial)(const rv_hparams *h, size_t i);
    /* coefficients for the step-th update (1-based) */
    void (*prepare)(const rv_hparams *h, long step, rv_coeffs *c);
    /* n elements; state[i] are the buffers, already offset to the range */
    void (*update)(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *state);
    /* one element with its intermediate values, for explanations */
    void (*update_traced)(const rv_coeffs *c, float *p, float g, float *const *state,
                          rv_trace *tr);
};

/* Validation helpers: each returns the field's code with a message naming the
   field and value when value is outside the range (or not finite). */
rv_status rv_check_min(rv_status code, const char *field, double value, double lo);
rv_status rv_check_open01(rv_status code, const char *field, double value);   /* [0, 1) */
rv_status rv_check_closed01(rv_status code, const char *field, double value); /* [0, 1] */
rv_status rv_check_positive(rv_status code, const char *field, double value);

/* Expand X(k) for k = base .. base+7 (to write specialised loop dispatch). */
#define RV_REP8(X, base) X(base + 0) X(base + 1) X(base + 2) X(base + 3) \
                         X(base + 4) X(base + 5) X(base + 6) X(base + 7)

#endif
