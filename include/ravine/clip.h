/* ravine/clip.h — gradient clipping with torch.nn.utils semantics.

       backward();                                   // fills every gradient buffer
       double norm;
       rv_clip_grad_norm(opt, 1.0, NULL, &norm);     // torch clip_grad_norm_(params, 1.0)
       rv_optim_step(opt);

       rv_clip_options o = rv_clip_defaults();
       o.norm_type = INFINITY;                       // or 1, 3, 0.5, ...: any p > 0
       o.error_if_nonfinite = 1;                     // refuse NaN/inf instead of spreading it
       if (rv_clip_grad_norm(opt, 1.0, &o, &norm) == RV_ERR_NONFINITE_GRAD)
           skip_this_step();                         // nothing was changed

       rv_clip_grad_value(opt, 0.5);                 // torch clip_grad_value_: clamp to [-0.5, 0.5]

   clip_grad_norm computes each tensor's p-norm, then the p-norm of those
   norms (both rounded to float32, as torch's tensors are), and multiplies
   every gradient by min(1, max_norm / (total + 1e-6)) in float32, the way
   torch 1.13 does it; the return value is the total norm before clipping.
   With a NaN or inf gradient and error_if_nonfinite = 0 the coefficient is
   NaN or 0 and, as in torch, the gradients become NaN/0.

   Sums are accumulated in double in a fixed order within each tensor: lines
   of 16 elements, blocks of 4096, each folded in order. The result is the
   same for any number of threads, and the sharded optimizer (ravine/dist.h)
   gets the same bits from any number of ranks; it is within a few float32
   ulps of torch's float accumulation. A tensor left out of
   steps (rv_optim_set_buffers with grad NULL) is left out here too, as torch
   skips a .grad of None. The _arrays forms work on plain buffers without an
   optimizer. */
#ifndef RAVINE_CLIP_H
#define RAVINE_CLIP_H

#include <stddef.h>
#include "ravine/status.h"
#include "ravine/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_clip_options {
    double norm_type;         /* p > 0, or INFINITY (max |g|); torch's default 2 */
    int error_if_nonfinite;   /* 1: a NaN/inf total norm is RV_ERR_NONFINITE_GRAD, nothing changes */
} rv_clip_options;

/* norm_type 2, error_if_nonfinite 0 (torch's defaults). */
rv_clip_options rv_clip_defaults(void);

/* The total norm of all gradients of opt (no clipping). */
rv_status rv_grad_norm(const rv_optim *opt, double norm_type, double *total_norm);

/* Scale all gradients of opt so their total norm is at most max_norm
   (>= 0; INFINITY never clips). options NULL: defaults. total_norm may be NULL. */
rv_status rv_clip_grad_norm(rv_optim *opt, double max_norm, const rv_clip_options *options,
                            double *total_norm);

/* The same over count arrays grads[i] of sizes[i] floats. */
rv_status rv_clip_grad_norm_arrays(float *const *grads, const size_t *sizes, size_t count,
                                   double max_norm, const rv_clip_options *options,
                                   double *total_norm);

/* Clamp every gradient element to [-clip_value, clip_value] (clip_value >= 0). */
rv_status rv_clip_grad_value(rv_optim *opt, double clip_value);
rv_status rv_clip_grad_value_arrays(float *const *grads, const size_t *sizes, size_t count,
                                    double clip_value);

#ifdef __cplusplus
}
#endif
#endif
