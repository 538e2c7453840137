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

   Arithmetic follows torch.optim's single-tensor path operation by operation
   in float32, with hyperparameter products (lr*wd, lr/(1-beta1^t)) formed in
   double and rounded once, as torch does with Python floats. */
#ifndef RAVINE_OPTIM_H
#define RAVINE_OPTIM_H

#include <stddef.h>
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

/* The i-th registered algorithm, or NULL past the end (for listings). */
const rv_optim_type *rv_optim_type_at(size_t i);
/* Algorithm by spec name ("adamw"), or NULL. */
const rv_optim_type *rv_optim_type_find(const char *name);
const char *rv_optim_type_name(const rv_optim_type *type);
/* One line describing the update rule. */
const char *rv_optim_type_summary(const rv_optim_type *type);

/* ---- hyperparameters -------------------------------------------------- */

typedef enum rv_decay_order {
    RV_DECAY_BEFORE = 0,  /* torch AdamW: p *= 1 - lr*wd, then the Adam step */
    RV_DECAY_AFTER  = 1   /* seed 000: the Adam step, then p -= lr*wd*p */
} rv_decay_order;

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
} rv_hparams;

/* torch defaults for the algorithm (zeros for fields it does not read). */
rv_hparams rv_hparams_defaults(const rv_optim_type *type);
rv_hparams rv_sgd_defaults(void);
rv_hparams rv_polyak_defaults(void);
rv_hparams rv_adam_defaults(void);
rv_hparams rv_adamw_defaults(void);
rv_hparams rv_rmsprop_defaults(void);
rv_hparams rv_adagrad_defaults(void);

/* Check every field the algorithm reads; the first bad field's own code
   (RV_ERR_LR, RV_ERR_BETA2, ...) with a message naming field and value. */
rv_status rv_hparams_validate(const rv_optim_type *type, const rv_hparams *h);

/* "adamw(lr=3e-4, betas=(0.9,0.95))" -> algorithm and validated
   hyperparameters (defaults for keys not given). */
rv_status rv_hparams_parse(const char *spec, const rv_optim_type **type, rv_hparams *h);

/* Apply "key=value, ..." overrides (the inside of a spec) to h. */
rv_status rv_hparams_override(const rv_optim_type *type, rv_hparams *h, const char *overrides);

/* Canonical spec with every key the algorithm reads, e.g.
   "adam(lr=0.001,betas=(0.9,0.999),eps=1e-08,weight_decay=0,amsgrad=false,maximize=false)".
   Returns the length it needed (like snprintf). */
size_t rv_hparams_format(const rv_optim_type *type, const rv_hparams *h, char *buf, size_t size);

/* ---- stateless kernels ------------------------------------------------ */

/* Number of float state buffers per parameter (each as long as the
   parameter): sgd 0 or 1 (momentum), polyak 1, adam/adamw 2 or 3 (amsgrad),
   rmsprop 1 + centered + (momentum > 0), adagrad 1. */
size_t rv_state_count(const rv_optim_type *type, const rv_hparams *h);

/* Name of state buffer i, torch's name where it has one ("exp_avg",
   "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "square_avg",
   "grad_avg", "sum", "velocity"). NULL if i is out of range. */
const char *rv_state_name(const rv_optim_type *type, const rv_hparams *h, size_t i);

/* Fill fresh state buffers with their initial values (zeros; adagrad's sum
   starts at initial_accumulator_value). */
rv_status rv_state_init(const rv_optim_type *type, const rv_hparams *h, size_t n,
                        float *const *state);

/* One update of n elements in place. step is this update's 1-based index
   (bias corrections, sgd's first-step buffer copy). state holds
   rv_state_count() buffers of n floats. Validates first; on error nothing
   is written. */
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
   (and clipping writes). Both stay owned by the caller. name may be NULL. */
rv_status rv_optim_add_param(rv_optim *opt, size_t group, const char *name, float *param,
                             float *grad, size_t n, size_t *index);
/* Point a registered tensor at new buffers of the same size. */
rv_status rv_optim_set_buffers(rv_optim *opt, size_t index, float *param, float *grad);

/* One update of every registered tensor. */
rv_status rv_optim_step(rv_optim *opt);

/* Drop all state (momentum, moments) and reset step counts to 0. */
rv_status rv_optim_zero_state(rv_optim *opt);

/* Learning rate of every group, or of one group. */
rv_status rv_optim_set_lr(rv_optim *opt, double lr);
rv_status rv_optim_group_set_lr(rv_optim *opt, size_t group, double lr);
rv_status rv_optim_group_hparams(const rv_optim *opt, size_t group, rv_hparams *out);
rv_status rv_optim_group_set_hparams(rv_optim *opt, size_t group, const rv_hparams *h);

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

/* Worker threads for rv_optim_step (0 = one per available core, the
   default). Results do not depend on the thread count. */
rv_status rv_optim_set_threads(rv_optim *opt, int threads);
int rv_optim_get_threads(const rv_optim *opt);

/* A registered tensor, as checkpoints and tools see it. state[i] is NULL
   until the first step allocates it. */
typedef struct rv_param_view {
    const char *name;       /* "" if none was given */
    size_t group;
    size_t n;
    float *param;
    float *grad;
    long step;              /* updates applied to this tensor */
    size_t n_state;
    float *state[4];
} rv_param_view;

rv_status rv_optim_param_view(const rv_optim *opt, size_t index, rv_param_view *out);

/* Allocate state now (normally done by the first step) so it can be filled,
   e.g. from a checkpoint, and set a tensor's step count. */
rv_status rv_optim_ensure_state(rv_optim *opt);
rv_status rv_optim_set_param_step(rv_optim *opt, size_t index, long step);
rv_status rv_optim_set_step_count(rv_optim *opt, long steps);
rv_status rv_optim_set_skipped_count(rv_optim *opt, long skipped);

#ifdef __cplusplus
}
#endif
#endif
