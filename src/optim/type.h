/* Internal: the algorithm table behind the opaque rv_optim_type (GSL style:
   adding an algorithm is adding one file with one table; drivers never change). */
#ifndef RAVINE_OPTIM_TYPE_H
#define RAVINE_OPTIM_TYPE_H

#include "ravine/optim.h"
#include "kernels/coeffs.h"
#include "optim/precision.h"

/* A tensor's size and shape. ndim 0 with has_shape 0: only the size is
   known (rv_optim_add_param); ndim 0 with has_shape 1: a scalar. */
typedef struct rv_shape {
    size_t n;
    size_t ndim;
    size_t dims[RV_MAX_DIMS];
    int has_shape;
} rv_shape;

/* Rows and columns of the matrix a shape is seen as by factored and matrix
   algorithms: the last two dimensions, earlier ones forming a batch. */
static inline size_t rv_shape_rows(const rv_shape *s) { return s->ndim >= 2 ? s->dims[s->ndim - 2] : 1; }
static inline size_t rv_shape_cols(const rv_shape *s) { return s->ndim >= 1 ? s->dims[s->ndim - 1] : s->n; }

/* What a state buffer holds, for storing it below float32. */
typedef enum rv_buffer_kind {
    RV_BUF_SIGNED = 0,   /* a signed statistic (first moments, momentum) */
    RV_BUF_NONNEG,       /* a non-negative statistic (second moments, sums of squares) */
    RV_BUF_EXACT         /* a copy of parameters (sfadamw's z): always float32 */
} rv_buffer_kind;

/* How a state buffer starts. */
typedef struct rv_state_fill {
    int from_param;   /* a copy of the parameter (sfadamw's z) */
    float value;      /* otherwise every element is value */
} rv_state_fill;

/* What a whole-tensor update needs besides the coefficients. */
typedef struct rv_tensor_ctx {
    const rv_hparams *h;
    const rv_shape *shape;
    float *work;      /* type->work_floats(h, shape) floats of scratch */
} rv_tensor_ctx;

struct rv_optim_type {
    const char *name;
    const char *summary;
    const char *const *keys;                       /* spec keys, NULL-terminated */
    void (*defaults)(rv_hparams *h);
    rv_status (*validate)(const rv_hparams *h);
    /* state buffers for a tensor of this shape; shape NULL: the usual case
       (a matrix for adafactor) */
    size_t (*state_count)(const rv_hparams *h, const rv_shape *shape);
    const char *(*state_name)(const rv_hparams *h, const rv_shape *shape, size_t i);
    /* floats in buffer i; NULL: shape->n (element-wise buffers) */
    size_t (*state_len)(const rv_hparams *h, const rv_shape *shape, size_t i);
    /* how buffer i starts; NULL: zeros */
    rv_state_fill (*state_fill)(const rv_hparams *h, size_t i);
    /* what buffer i holds; NULL: signed statistics */
    rv_buffer_kind (*state_kind)(const rv_hparams *h, size_t i);
    /* per-tensor scalars (nadam's mu_product, sfadamw's lr_max/weight_sum) */
    size_t n_scalars;
    const char *const *scalar_names;
    void (*scalars_start)(const rv_hparams *h, double *scalars);
    /* coefficients for the step-th update (1-based); advances the scalars,
       so it runs exactly once per tensor and step when n_scalars > 0 */
    void (*prepare)(const rv_hparams *h, long step, double *scalars, rv_coeffs *c);
    /* element-wise algorithms: n elements; state[i] are the buffers, already
       offset to the range */
    void (*update)(const rv_coeffs *c, size_t n, float *p, const float *g, float *const *state);
    /* optional: the same update reading and writing state stored below
       float32 in the loop itself, for rules whose loop is bound by division
       and square roots, where the conversions are free if they share its
       pass and cost a pass of their own otherwise. state[i] are whole
       buffers, off the range's first element (a multiple of RV_QUANT_BLOCK
       for int8). Returns 0, having changed nothing, for a layout it does not
       handle (the driver then converts through float32 chunks). */
    int (*update_stored)(const rv_coeffs *c, size_t n, float *p, const float *g,
                         const rv_buffer *state, size_t off);
    /* one element with its intermediate values, for explanations */
    void (*update_traced)(const rv_coeffs *c, float *p, float g, float *const *state,
                          rv_trace *tr);
    /* whole-tensor algorithms (update is NULL): the shape they need, their
       scratch size and the update of one tensor */
    rv_shape_need shape_need;
    size_t (*work_floats)(const rv_hparams *h, const rv_shape *shape);
    void (*update_tensor)(const rv_coeffs *c, const rv_tensor_ctx *t, float *p, const float *g,
                          float *const *state);
    /* sfadamw: move the parameters between y (training) and x (eval) */
    void (*to_eval)(const rv_hparams *h, size_t n, float *p, float *const *state);
    void (*to_train)(const rv_hparams *h, size_t n, float *p, float *const *state);
};

/* The algorithm's own checks, and the state precision every algorithm
   shares (only element-wise algorithms store state below float32). */
rv_status rv_type_validate(const rv_optim_type *type, const rv_hparams *h);

/* Buffers and their lengths for a tensor, whatever the algorithm. */
static inline size_t rv_type_state_len(const rv_optim_type *t, const rv_hparams *h,
                                       const rv_shape *s, size_t i)
{
    return t->state_len ? t->state_len(h, s, i) : s->n;
}

/* Fill buffers [0, k) of a tensor's state over elements [off, off + len)
   with their starting values (param is read for buffers copied from it). */
void rv_state_fill_range(const rv_optim_type *type, const rv_hparams *h, size_t k, size_t off,
                         size_t len, const float *param, float *const *bufs);

/* Checkpoints: record that the parameters hold schedule-free's x (eval)
   or y (train) without moving them (a loaded file's parameters already
   hold what its mode says). */
void rv_optim_mark_mode(rv_optim *opt, int eval);

/* Per-step figures of two rules, shared with the explainer: NAdam's
   momentum coefficient mu_t and RAdam's SMA length rho_t at update t. */
double rv_nadam_mu(const rv_hparams *h, double t);
double rv_radam_rho(const rv_hparams *h, double t);

/* Allocate what the next rv_optim_step would (state of the tensors that
   have gradients), so a caller can agree on it before stepping. */
rv_status rv_optim_prepare_step(rv_optim *opt);

/* Validation helpers: each returns the field's code with a message naming the
   field and value when value is outside the range (or not finite). */
rv_status rv_check_min(rv_status code, const char *field, double value, double lo);
rv_status rv_check_open01(rv_status code, const char *field, double value);   /* [0, 1) */
rv_status rv_check_closed01(rv_status code, const char *field, double value); /* [0, 1] */
rv_status rv_check_positive(rv_status code, const char *field, double value);
rv_status rv_check_whole(rv_status code, const char *field, double value, double lo, double hi);
rv_status rv_check_finite(rv_status code, const char *field, double value);

/* Expand X(k) for k = base .. base+3 or base+7 (to write specialised loop
   dispatch). */
#define RV_REP4(X, base) X(base + 0) X(base + 1) X(base + 2) X(base + 3)
#define RV_REP8(X, base) RV_REP4(X, base) RV_REP4(X, base + 4)

#endif
