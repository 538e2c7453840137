/* ravine/bind.h — calls for language bindings (Python's ravine.torch uses
   them through ctypes).

   A foreign-function interface calls C cheaply but loops and builds structs
   slowly, so these calls take flat arrays, scalars and spec text, and do in
   one call what a binding would otherwise do once per tensor:

       // this step's buffers; a NULL gradient leaves its tensor out
       float *params[n], *grads[n];
       size_t bad;
       if (rv_optim_set_all_buffers(opt, n, params, grads, &bad) || rv_optim_step(opt))
           fail(rv_errmsg());

       // a group's options as text, so the binding keeps no copy of rv_hparams
       rv_optim_group_set_spec(opt, 1, "lr=0.001, betas=(0.9,0.95), weight_decay=0");
       char spec[512];
       rv_optim_group_spec(opt, 1, spec, sizeof spec);  // "adamw(lr=0.001,betas=(0.9,0.95),...)"

   Everything here is built on the public API of ravine/optim.h and
   ravine/checkpoint.h. */
#ifndef RAVINE_BIND_H
#define RAVINE_BIND_H

#include <stddef.h>
#include "ravine/status.h"
#include "ravine/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Point every registered tensor at new buffers at once: tensor i gets
   params[i] and grads[i] (NULL: tensor i sits out the following steps, as
   rv_optim_set_buffers). n must be the optimizer's tensor count. Every
   pointer is checked before any is set: on error nothing changes and *bad
   (may be NULL) is the index of the first bad tensor. */
rv_status rv_optim_set_all_buffers(rv_optim *opt, size_t n, float *const *params,
                                   float *const *grads, size_t *bad);

/* Apply "key=value, ..." overrides (the inside of a spec, as in
   rv_optim_add_group_spec) to one group's hyperparameters. Validated as a
   whole: on error the group keeps its hyperparameters. */
rv_status rv_optim_group_set_spec(rv_optim *opt, size_t group, const char *overrides);

/* A group's canonical spec with every key (rv_hparams_format): the length
   it needs, like snprintf; 0 if the group does not exist. */
size_t rv_optim_group_spec(const rv_optim *opt, size_t group, char *buf, size_t size);

/* Step counts of tensors [0, n) into steps[0 .. n). */
rv_status rv_optim_param_steps(const rv_optim *opt, size_t n, long *steps);

/* A tensor's step count and how many state buffers and per-tensor scalars
   it has (rv_param_view's step, n_state and n_scalars); NULL outputs are
   skipped. */
rv_status rv_optim_param_info(const rv_optim *opt, size_t index, long *step, size_t *n_state,
                              size_t *n_scalars);

/* State buffer k of a tensor: its memory (NULL until allocated), its length
   in floats and its torch name ("exp_avg", "row_var", ...). */
rv_status rv_optim_param_state(const rv_optim *opt, size_t index, size_t k, float **buf,
                               size_t *len, const char **name);

/* Per-tensor scalar k ("mu_product", "lr_max", "weight_sum"): value and name. */
rv_status rv_optim_param_scalar(const rv_optim *opt, size_t index, size_t k, double *value,
                                const char **name);

/* sizeof(rv_checkpoint_info), so a binding can check its copy of the struct. */
size_t rv_checkpoint_info_size(void);

#ifdef __cplusplus
}
#endif
#endif
