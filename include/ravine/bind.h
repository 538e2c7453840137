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
   ravine/checkpoint.h, except rv_optim_param_state_store, which stores
   values through the library's own conversions (bf16 rounding, int8
   quantization) so a binding never repeats them. */
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
   rv_optim_set_buffers). n must be the optimizer's tensor count, and every
   tensor float32. Every pointer is checked before any is set: on error
   nothing changes and *bad (may be NULL) is the index of the first bad
   tensor. */
rv_status rv_optim_set_all_buffers(rv_optim *opt, size_t n, float *const *params,
                                   float *const *grads, size_t *bad);

/* The same for tensors of either dtype: params[i] and grads[i] point to
   tensor i's values in the dtype it was registered with (float for float32
   tensors, uint16_t for bf16 ones added with rv_optim_add_param_bf16), each
   aligned for its type. Checked as a whole first, as above. (The float32
   call above refuses an optimizer that holds a bf16 tensor.) */
rv_status rv_optim_set_all_data(rv_optim *opt, size_t n, void *const *params,
                                void *const *grads, size_t *bad);

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

/* State buffer k of a tensor: its float32 memory (NULL until allocated, and
   always NULL for a buffer stored in bf16 or int8: read those with
   rv_optim_param_state_stored), its length in values and its torch name
   ("exp_avg", "row_var", ...). */
rv_status rv_optim_param_state(const rv_optim *opt, size_t index, size_t k, float **buf,
                               size_t *len, const char **name);

/* A tensor's dtype (RV_FP32 or RV_BF16) and, for a bf16 tensor, its float32
   master copy (NULL until its state exists, and for float32 tensors). NULL
   outputs are skipped. */
rv_status rv_optim_param_dtype(const rv_optim *opt, size_t index, rv_precision *dtype,
                               float **master);

/* State buffer k of a tensor as it is stored, whatever its precision: its
   memory (NULL until allocated) of len values (float; bfloat16 in uint16_t;
   int8 codes in uint8_t), the precision, and for int8 its block scales:
   n_scales floats, one per RV_QUANT_BLOCK values (the last block may be
   shorter); scales NULL and n_scales 0 otherwise. NULL outputs are skipped. */
rv_status rv_optim_param_state_stored(const rv_optim *opt, size_t index, size_t k, void **data,
                                      rv_precision *precision, size_t *len, float **scales,
                                      size_t *n_scales, const char **name);

/* Set state buffer k of a tensor from len float32 values (len must be the
   buffer's length), stored at its precision exactly as a step stores them:
   float32 as given, bf16 rounded to nearest even, int8 quantized block by
   block (so a buffer of one precision can be filled from another's values).
   The state must exist (after a step, or rv_optim_ensure_state). A buffer of
   non-negative statistics (second moments) stored as int8 refuses a
   negative value, as its map has no sign. Nothing changes on error. */
rv_status rv_optim_param_state_store(rv_optim *opt, size_t index, size_t k, const float *values,
                                     size_t len);

/* Per-tensor scalar k ("mu_product", "lr_max", "weight_sum"): value and name. */
rv_status rv_optim_param_scalar(const rv_optim *opt, size_t index, size_t k, double *value,
                                const char **name);

/* sizeof(rv_checkpoint_info), so a binding can check its copy of the struct. */
size_t rv_checkpoint_info_size(void);

#ifdef __cplusplus
}
#endif
#endif
