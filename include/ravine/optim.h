/* ravine/optim.h — optimizers: torch.optim update rules on float32 arrays.

   Two layers, one arithmetic:

   1. Stateless kernels. rv_update() applies one update of any algorithm to
      n float32 elements, given the state buffers the caller owns. This is the
      seed's `adam(params, grads, m, v, step, ...)`, done in place with the
      bias corrections computed once per call:

          rv_hparams h = rv_adam_defaults();      // torch defaults
          h.lr = 0.1;
          float p[2] = {1, -1}, g[2] = {0.25f, -0.5f}, m[2] = {0}, v[2] = {0};
          float *state[] = {m, v};
          rv_update(rv_adam, &h, 1, 2, p, g, state); // step counts from 1

   2. Stateful optimizers with param groups, torch.optim style:

          rv_optim *opt;
          if (rv_optim_create_spec(&opt, "adamw(lr=3e-4, betas=(0.9,0.95), weight_decay=0.1)"))
              die(rv_errmsg());
          size_t no_decay;
          rv_optim_add_group_spec(opt, "weight_decay=0", &no_decay); // group 1
          rv_optim_add_param(opt, 0, "w1", w1, gw1, n1, NULL);        // group 0: the spec
          rv_optim_add_param(opt, no_decay, "b1", b1, gb1, nb1, NULL);
          for (...) {
              backward();                      // fills gw1, gb1
              rv_optim_set_lr(opt, rv_schedule_lr(&sched, t));
              if (rv_optim_step(opt)) die(rv_errmsg());
          }
          rv_optim_free(opt);

      State buffers are allocated on the first step. A step that fails (bad
      hyperparameters, a non-finite gradient under the `error` policy) changes
      no parameter and no state.

   Algorithms (torch defaults; spec keys in brackets):
       rv_sgd      [lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=false, maximize=false]
       rv_polyak   [lr=1e-3, beta=0.9, weight_decay=0]  v = beta*v + (1-beta)*g; p -= lr*v
       rv_adam     [lr=1e-3, betas=(0.9,0.999), eps=1e-8, weight_decay=0, amsgrad=false, maximize=false]
       rv_adamw    [as adam, weight_decay=1e-2, decay=before|after]
       rv_rmsprop  [lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=false, maximize=false]
       rv_adagrad  [lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=false]
       rv_nadam    [lr=2e-3, betas=(0.9,0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                    decoupled_weight_decay=false, maximize=false]            torch >= 2.1
       rv_radam    [lr=1e-3, betas=(0.9,0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=false,
                    maximize=false]                                           torch >= 2.1
       rv_adamax   [lr=2e-3, betas=(0.9,0.999), eps=1e-8, weight_decay=0, maximize=false]
       rv_lion     [lr=1e-4, betas=(0.9,0.99), weight_decay=0]                Chen et al. 2023
       rv_adafactor[lr=1e-2, beta2_decay=-0.8, eps=(None,1e-3), d=1, weight_decay=0, maximize=false]
                    torch >= 2.5; factored second moment for tensors of >= 2 dimensions
       rv_muon     [lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=true,
                    ns_coefficients=(3.4445,-4.775,2.0315), eps=1e-7, ns_steps=5,
                    adjust_lr_fn=original|match_rms_adamw]    torch >= 2.9, 2-D tensors only;
                    Newton-Schulz in float32 (torch uses bfloat16)
       rv_sfadamw  [lr=0.0025, betas=(0.9,0.999), eps=1e-8, weight_decay=0, warmup_steps=0, r=0,
                    weight_lr_power=2]                Schedule-Free AdamW (Defazio et al. 2024)

   Every element-wise optimizer also takes state=fp32|bf16|int8: its moment
   buffers stored as float32, bfloat16, or 8-bit block-wise quantized (one
   scale per 256 values; 8-bit Optimizers, Dettmers et al. 2022). The update
   itself always runs in float32. Buffers that are copies of parameters
   (sfadamw's z) stay float32.

   bf16 parameters: rv_optim_add_param_bf16() registers a bfloat16 tensor
   and gradient; the optimizer keeps a float32 master copy, applies the
   float32 rule to it and writes the parameter back rounded to nearest even,
   bit-identical to torch's fp32 master step followed by .to(torch.bfloat16).

   Shapes. adafactor and muon work on whole tensors (row and column
   statistics, matrix products), so they need each tensor's shape; add such
   tensors with rv_optim_add_param_shaped(). The other algorithms update
   every element on its own (rv_optim_type_elementwise() says so), so a
   tensor's elements may be cut into pieces, e.g. across ranks.

   Schedule-Free AdamW keeps two sequences besides the parameters: the
   parameters hold y (where gradients are taken) while training; call
   rv_optim_eval() before evaluating or saving for inference (the parameters
   then hold x, the average) and rv_optim_train() before the next step.

   Arithmetic follows torch.optim's single-tensor path operation by operation
   in float32, with hyperparameter products (lr*wd, lr/(1-beta1^t)) formed in
   double and rounded once, as torch does with Python floats. */
#ifndef RAVINE_OPTIM_H
#define RAVINE_OPTIM_H

#include <stddef.h>
#include <stdint.h>
#include "ravine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- algorithms ------------------------------------------------------- */

typedef struct rv_optim_type rv_optim_type;   /* opaque algorithm table */

extern const rv_optim_type *const rv_sgd;
extern const rv_optim_type *const rv_polyak;
extern const rv_optim_type *const rv_adam;
extern const rv_optim_type *const rv_adamw;
extern const rv_optim_type *const rv_rmsprop;
extern const rv_optim_type *const rv_adagrad;
extern const rv_optim_type *const rv_nadam;
extern const rv_optim_type *const rv_radam;
extern const rv_optim_type *const rv_adamax;
extern const rv_optim_type *const rv_lion;
extern const rv_optim_type *const rv_adafactor;
extern const rv_optim_type *const rv_muon;
extern const rv_optim_type *const rv_sfadamw;

/* The i-th registered algorithm, or NULL past the end (for listings). */
const rv_optim_type *rv_optim_type_at(size_t i);
/* Algorithm by spec name ("adamw"), or NULL. */
const rv_optim_type *rv_optim_type_find(const char *name);
const char *rv_optim_type_name(const rv_optim_type *type);
/* One line describing the update rule. */
const char *rv_optim_type_summary(const rv_optim_type *type);
/* 1 if each element's update depends only on that element (and per-tensor
   scalars such as a step count): all but adafactor and muon. */
int rv_optim_type_elementwise(const rv_optim_type *type);

/* The shape a tensor must be given for the algorithm. */
typedef enum rv_shape_need {
    RV_SHAPE_ANY = 0,   /* none: any tensor, shape optional */
    RV_SHAPE_KNOWN,     /* adafactor: a shape, to choose factored or not */
    RV_SHAPE_MATRIX     /* muon: exactly 2 dimensions */
} rv_shape_need;
rv_shape_need rv_optim_type_shape_need(const rv_optim_type *type);

/* ---- hyperparameters -------------------------------------------------- */

typedef enum rv_decay_order {
    RV_DECAY_BEFORE = 0,  /* torch AdamW: p *= 1 - lr*wd, then the Adam step */
    RV_DECAY_AFTER  = 1   /* seed 000: the Adam step, then p -= lr*wd*p */
} rv_decay_order;

/* How values are stored: parameters and gradients (RV_FP32 or RV_BF16),
   and an element-wise optimizer's state (its `state=` key). */
typedef enum rv_precision {
    RV_FP32 = 0,   /* float */
    RV_BF16 = 1,   /* bfloat16 in uint16_t: float32's top half, rounded to nearest even */
    RV_INT8 = 2    /* state only: block-wise dynamic 8-bit quantization, one scale per block */
} rv_precision;

typedef enum rv_adjust_lr {
    RV_ADJUST_LR_ORIGINAL = 0,   /* muon: lr * sqrt(max(1, rows/cols)) (Keller Jordan) */
    RV_ADJUST_LR_MATCH_RMS_ADAMW /* muon: lr * 0.2 * sqrt(max(rows, cols)) (Moonshot) */
} rv_adjust_lr;

/* All hyperparameters of all algorithms; each algorithm reads its own. */
typedef struct rv_hparams {
    double lr;
    double momentum;        /* sgd, rmsprop */
    double dampening;       /* sgd */
    double weight_decay;    /* L2 added to the gradient; decoupled for adamw */
    double beta;            /* polyak */
    double beta1, beta2;    /* adam, adamw: spec key betas=(beta1, beta2) */
    double eps;
    double alpha;           /* rmsprop smoothing constant */
    double lr_decay;        /* adagrad */
    double initial_accumulator_value; /* adagrad */
    int nesterov;           /* sgd */
    int maximize;           /* sgd, adam, adamw, rmsprop, adagrad */
    int amsgrad;            /* adam, adamw */
    int centered;           /* rmsprop */
    rv_decay_order decay;   /* adamw */
    double momentum_decay;  /* nadam */
    int decoupled_weight_decay; /* nadam, radam: p *= 1 - lr*wd instead of g += wd*p */
    double beta2_decay;     /* adafactor: 1 - beta2_t = t^beta2_decay */
    double eps2;            /* adafactor: eps=(eps, eps2); eps is eps1 */
    int eps_none;           /* adafactor: eps1 given as None (float32 machine epsilon) */
    double d;               /* adafactor: clipping threshold of the update's RMS */
    double ns_coefficients[3]; /* muon: Newton-Schulz (a, b, c) */
    double ns_steps;        /* muon: Newton-Schulz iterations (a whole number) */
    rv_adjust_lr adjust_lr_fn; /* muon */
    double warmup_steps;    /* sfadamw (a whole number) */
    double r;               /* sfadamw: polynomial weighting power of the average */
    double weight_lr_power; /* sfadamw: averaging weight = lr_max^weight_lr_power */
    rv_precision state;     /* element-wise optimizers: how moments are stored (state=fp32|bf16|int8) */
} rv_hparams;

/* torch defaults for the algorithm (zeros for fields it does not read). */
rv_hparams rv_hparams_defaults(const rv_optim_type *type);
rv_hparams rv_sgd_defaults(void);
rv_hparams rv_polyak_defaults(void);
rv_hparams rv_adam_defaults(void);
rv_hparams rv_adamw_defaults(void);
rv_hparams rv_rmsprop_defaults(void);
rv_hparams rv_adagrad_defaults(void);
rv_hparams rv_nadam_defaults(void);
rv_hparams rv_radam_defaults(void);
rv_hparams rv_adamax_defaults(void);
rv_hparams rv_lion_defaults(void);
rv_hparams rv_adafactor_defaults(void);
rv_hparams rv_muon_defaults(void);
rv_hparams rv_sfadamw_defaults(void);

/* Check every field the algorithm reads; the first bad field's own code
   (RV_ERR_LR, RV_ERR_BETA2, ...) with a message naming field and value. */
rv_status rv_hparams_validate(const rv_optim_type *type, const rv_hparams *h);

/* "adamw(lr=3e-4, betas=(0.9,0.95))" -> algorithm and validated
   hyperparameters (defaults for keys not given). */
rv_status rv_hparams_parse(const char *spec, const rv_optim_type **type, rv_hparams *h);

/* Apply "key=value, ..." overrides (the inside of a spec) to h. */
rv_status rv_hparams_override(const rv_optim_type *type, rv_hparams *h, const char *overrides);

/* Canonical spec with every key the algorithm reads (state= only when it is
   not fp32), e.g.
   "adam(lr=0.001,betas=(0.9,0.999),eps=1e-08,weight_decay=0,amsgrad=false,maximize=false)".
   Returns the length it needed (like snprintf): with size too small the
   text is cut (and still terminated), so call it with size 0 first to learn
   the length of a long one. */
size_t rv_hparams_format(const rv_optim_type *type, const rv_hparams *h, char *buf, size_t size);

/* ---- stateless kernels ------------------------------------------------ */

#define RV_MAX_STATE 4     /* state buffers per tensor, at most */
#define RV_MAX_SCALARS 2   /* per-tensor scalars, at most */
#define RV_QUANT_BLOCK 256 /* values per scale of int8 state */

/* Number of float state buffers per tensor (each as long as the tensor
   for the element-wise algorithms): sgd 0 or 1 (momentum), polyak 1,
   adam/adamw 2 or 3 (amsgrad), rmsprop 1 + centered + (momentum > 0),
   adagrad 1, nadam 2, radam 2, adamax 2, lion 1, sfadamw 2, muon 1,
   adafactor 2 (factored: row_var, col_var) or 1 (variance). */
size_t rv_state_count(const rv_optim_type *type, const rv_hparams *h);

/* Name of state buffer i, torch's name where it has one ("exp_avg",
   "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "square_avg",
   "grad_avg", "sum", "velocity", "exp_inf", "z", "row_var", "col_var",
   "variance"). NULL if i is out of range. For adafactor the names depend on
   the shape; this gives the factored ones. */
const char *rv_state_name(const rv_optim_type *type, const rv_hparams *h, size_t i);

/* Scalars some algorithms keep per tensor besides the buffers: nadam's
   mu_product (the product of its momentum coefficients, float32 as torch
   keeps it), sfadamw's lr_max and weight_sum (schedule_free's group values). */
size_t rv_scalar_count(const rv_optim_type *type, const rv_hparams *h);

/* Floats of state for one tensor of this shape (row-major dims; ndim 0 with
   shape NULL: a vector of n elements), counting buffers only: e.g. adam 2n,
   adafactor R + C for an R x C matrix. */
size_t rv_state_floats(const rv_optim_type *type, const rv_hparams *h, size_t n, size_t ndim,
                       const size_t *shape);
/* Bytes of that state as stored under h->state (bf16: 2 per value; int8: 1
   per value and a float32 scale per RV_QUANT_BLOCK values; buffers that
   hold parameters, like sfadamw's z, always 4). */
size_t rv_state_bytes(const rv_optim_type *type, const rv_hparams *h, size_t n, size_t ndim,
                      const size_t *shape);
const char *rv_scalar_name(const rv_optim_type *type, const rv_hparams *h, size_t i);

/* Everything the stateless kernels keep for one tensor between updates. */
typedef struct rv_state {
    float *buf[RV_MAX_STATE];      /* caller-owned, rv_state_count() buffers of n floats */
    double scalar[RV_MAX_SCALARS]; /* rv_scalar_count() scalars */
} rv_state;

/* Give fresh state its initial values: zeros; adagrad's sum starts at
   initial_accumulator_value, sfadamw's z at the parameter (param may be NULL
   for the others), nadam's mu_product at 1. */
rv_status rv_state_start(const rv_optim_type *type, const rv_hparams *h, size_t n,
                         const float *param, rv_state *state);

/* One update of n elements in place, for the element-wise algorithms
   (adafactor and muon need a shape: use rv_optim). step is this update's
   1-based index (bias corrections, sgd's first-step buffer copy).
   Validates first; on error nothing is written. */
rv_status rv_update_state(const rv_optim_type *type, const rv_hparams *h, long step, size_t n,
                          float *param, const float *grad, rv_state *state);

/* The same, for algorithms without per-tensor scalars (rv_scalar_count()
   is 0): state holds rv_state_count() buffers of n floats. */
rv_status rv_state_init(const rv_optim_type *type, const rv_hparams *h, size_t n,
                        float *const *state);
rv_status rv_update(const rv_optim_type *type, const rv_hparams *h, long step, size_t n,
                    float *param, const float *grad, float *const *state);

/* ---- stateful optimizer ---------------------------------------------- */

typedef struct rv_optim rv_optim;   /* opaque */

typedef enum rv_nonfinite_policy {
    RV_NONFINITE_IGNORE = 0,  /* no check: NaN/inf flow into the update (torch behaviour) */
    RV_NONFINITE_SKIP,        /* the whole step is skipped, nothing changes, it is counted */
    RV_NONFINITE_ERROR        /* rv_optim_step fails with RV_ERR_NONFINITE_GRAD naming tensor and index */
} rv_nonfinite_policy;

/* Create with group 0 using h (NULL: torch defaults for type). */
rv_status rv_optim_create(rv_optim **out, const rv_optim_type *type, const rv_hparams *h);
/* Create from a spec string; group 0 uses its hyperparameters. */
rv_status rv_optim_create_spec(rv_optim **out, const char *spec);
void rv_optim_free(rv_optim *opt);

const rv_optim_type *rv_optim_get_type(const rv_optim *opt);

/* Add a param group. h NULL: a copy of group 0's hyperparameters. */
rv_status rv_optim_add_group(rv_optim *opt, const rv_hparams *h, size_t *group);
/* Add a group from overrides of group 0, e.g. "weight_decay=0, lr=1e-3". */
rv_status rv_optim_add_group_spec(rv_optim *opt, const char *overrides, size_t *group);

/* Register a tensor of n floats and the gradient buffer rv_optim_step reads
   (and clipping writes). Both stay owned by the caller and must be aligned
   for float. name may be NULL. The tensor has no shape: algorithms that
   need one (rv_optim_type_shape_need) refuse it. */
rv_status rv_optim_add_param(rv_optim *opt, size_t group, const char *name, float *param,
                             float *grad, size_t n, size_t *index);

#define RV_MAX_DIMS 8
/* Register a tensor with its shape (row-major, ndim <= RV_MAX_DIMS; ndim 0
   is a scalar); its size is the product of the dimensions. */
rv_status rv_optim_add_param_shaped(rv_optim *opt, size_t group, const char *name, float *param,
                                    float *grad, size_t ndim, const size_t *shape, size_t *index);

/* Register a bfloat16 tensor (uint16_t storage) with its gradient; ndim 1
   with shape {n} for a plain vector. The optimizer keeps a float32 master
   copy (state buffer "master"), made from param when the state is first
   allocated. */
rv_status rv_optim_add_param_bf16(rv_optim *opt, size_t group, const char *name, uint16_t *param,
                                  uint16_t *grad, size_t ndim, const size_t *shape, size_t *index);
/* Point a bf16 tensor at new buffers (grad NULL leaves it out of steps). */
rv_status rv_optim_set_buffers_bf16(rv_optim *opt, size_t index, uint16_t *param, uint16_t *grad);

/* Point a registered tensor at new buffers of the same size. grad NULL
   leaves the tensor out of the following steps (its step count and state
   stay as they are), as torch skips a parameter whose .grad is None. */
rv_status rv_optim_set_buffers(rv_optim *opt, size_t index, float *param, float *grad);

/* One update of every registered tensor. */
rv_status rv_optim_step(rv_optim *opt);

/* Drop all state (momentum, moments) and reset step counts to 0. The
   parameters are left as they are and become where training resumes: a
   schedule-free optimizer in eval mode is back in train mode without
   moving them. The count of skipped steps (rv_optim_skipped_count) is
   kept. */
rv_status rv_optim_zero_state(rv_optim *opt);

/* Learning rate of every group, or of one group. */
rv_status rv_optim_set_lr(rv_optim *opt, double lr);
rv_status rv_optim_group_set_lr(rv_optim *opt, size_t group, double lr);
rv_status rv_optim_group_hparams(const rv_optim *opt, size_t group, rv_hparams *out);
rv_status rv_optim_group_set_hparams(rv_optim *opt, size_t group, const rv_hparams *h);

/* Schedule-Free AdamW's two modes: eval moves every stepped tensor's
   parameters to x, train back to y. Stepping in eval mode is an error
   (RV_ERR_MODE). A new optimizer is training. For the other algorithms,
   whose parameters are the only point, both calls are no-ops and the
   optimizer stays training. */
rv_status rv_optim_eval(rv_optim *opt);
rv_status rv_optim_train(rv_optim *opt);
int rv_optim_is_training(const rv_optim *opt);

/* Completed steps (skipped steps not counted). */
long rv_optim_step_count(const rv_optim *opt);
size_t rv_optim_group_count(const rv_optim *opt);
size_t rv_optim_param_count(const rv_optim *opt);
/* Total number of parameter elements over all tensors. */
size_t rv_optim_numel(const rv_optim *opt);

/* Non-finite gradient handling (default RV_NONFINITE_IGNORE, as torch). */
rv_status rv_optim_set_nonfinite(rv_optim *opt, rv_nonfinite_policy policy);
rv_nonfinite_policy rv_optim_get_nonfinite(const rv_optim *opt);
/* Steps skipped by RV_NONFINITE_SKIP so far. */
long rv_optim_skipped_count(const rv_optim *opt);

/* Worker threads for rv_optim_step's element-wise updates (0 = one per
   available core, the default). Results do not depend on the thread count.
   Muon's matrix products run on the BLAS's own threads (OpenBLAS:
   OPENBLAS_NUM_THREADS), and Adafactor's row and column sums on the
   calling thread; this setting does not bound either. */
rv_status rv_optim_set_threads(rv_optim *opt, int threads);
int rv_optim_get_threads(const rv_optim *opt);

/* A registered tensor, as checkpoints and tools see it. state[i] is NULL
   until the first step allocates it. */
typedef struct rv_param_view {
    const char *name;       /* "" if none was given */
    size_t group;
    size_t n;
    size_t ndim;            /* dimensions given (0: none, or a scalar) */
    size_t shape[RV_MAX_DIMS];
    int has_shape;          /* 1 if added with rv_optim_add_param_shaped */
    rv_precision dtype;     /* of param and grad */
    float *param;           /* float32 tensors (NULL for bf16 ones: see param_data) */
    float *grad;            /* NULL: left out of steps (or a bf16 tensor) */
    void *param_data;       /* the parameter whatever its dtype */
    void *grad_data;
    float *master;          /* bf16 tensors: the float32 master copy (NULL before state exists) */
    long step;              /* updates applied to this tensor */
    size_t n_state;
    float *state[RV_MAX_STATE];      /* float32 buffers (NULL for bf16/int8 ones: see state_data) */
    const char *state_name[RV_MAX_STATE];
    size_t state_len[RV_MAX_STATE];  /* values in each buffer */
    rv_precision state_precision[RV_MAX_STATE];
    void *state_data[RV_MAX_STATE];  /* the buffer whatever its precision */
    float *state_absmax[RV_MAX_STATE]; /* int8: one scale per RV_QUANT_BLOCK values */
    size_t n_scalars;
    double scalar[RV_MAX_SCALARS];
    const char *scalar_name[RV_MAX_SCALARS];
} rv_param_view;

rv_status rv_optim_param_view(const rv_optim *opt, size_t index, rv_param_view *out);

/* Allocate the state of every tensor now (a step allocates it for the
   tensors it updates) so it can be filled, e.g. from a checkpoint, and set
   a tensor's step count. */
rv_status rv_optim_ensure_state(rv_optim *opt);
rv_status rv_optim_set_param_step(rv_optim *opt, size_t index, long step);
/* Restore a tensor's scalars (rv_scalar_count of them), e.g. from a checkpoint. */
rv_status rv_optim_set_param_scalars(rv_optim *opt, size_t index, const double *scalars);
rv_status rv_optim_set_step_count(rv_optim *opt, long steps);
rv_status rv_optim_set_skipped_count(rv_optim *opt, long skipped);

#ifdef __cplusplus
}
#endif
#endif
