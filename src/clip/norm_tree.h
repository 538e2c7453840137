/* Internal: the fixed order in which a gradient norm's sums are taken.

   Each tensor is cut into lines of RV_NORM_LINE and blocks of
   RV_NORM_BLOCK elements, counted from its first element:
     - a line (or the part of one) is summed with eight accumulators,
       element i going to accumulator i mod 8, combined by a fixed tree;
     - a block folds its lines in order;
     - a tensor folds its blocks in order.
   Every sum is thus a fixed function of the tensor's values, however the
   work is split: the threads of clip.c take whole blocks, and the ranks of
   a sharded optimizer (src/dist/), whose shards cut tensors only at
   multiples of a line, exchange block and line sums. Both get the same
   bits.

   "Sum" is the sum of |g|^p, or for p = inf the maximum of |g| (NaN if any
   element is NaN). */
#ifndef RAVINE_CLIP_NORM_TREE_H
#define RAVINE_CLIP_NORM_TREE_H

#include <math.h>
#include <stddef.h>
#include "ravine/status.h"

#define RV_NORM_LINE ((size_t)16)
#define RV_NORM_BLOCK ((size_t)4096)

/* acc combined with a part: a + b, or the NaN-propagating maximum for p = inf. */
static inline double rv_norm_fold(double acc, double part, double p)
{
    if (isinf(p))
        return isnan(acc) ? acc : isnan(part) || part > acc ? part : acc;
    return acc + part;
}

/* Sum of g[0 .. len), whose first element is element i of its tensor;
   [i, i + len) lies within one line. */
double rv_norm_line(const float *g, size_t i, size_t len, double p);

/* Sum of g[0 .. len) from element i of its tensor, within one block: its
   lines folded in order. */
double rv_norm_block(const float *g, size_t i, size_t len, double p);

/* Sum of a whole tensor of n elements: its blocks folded in order. */
double rv_norm_tensor(const float *g, size_t n, double p);

/* The end of the block (or line) that holds element i of a tensor of n. */
static inline size_t rv_norm_block_end(size_t i, size_t n)
{
    size_t b = (i / RV_NORM_BLOCK + 1) * RV_NORM_BLOCK;
    return b < n ? b : n;
}
static inline size_t rv_norm_line_end(size_t i, size_t n)
{
    size_t b = (i / RV_NORM_LINE + 1) * RV_NORM_LINE;
    return b < n ? b : n;
}

/* A tensor's p-norm from its sum, rounded to float32 like a torch tensor. */
float rv_norm_finish(double sum, double p);

/* The total norm of count tensors from their sums (torch: the norm of the
   stack of per-tensor norms, each rounded to float32). */
float rv_norm_total(const double *sums, size_t count, double p);

/* RV_ERR_ARG unless the norm's order p is > 0 (inf included; NaN refused). */
rv_status rv_clip_check_norm_type(double p);

/* RV_ERR_NONFINITE_GRAD for a total norm that cannot be clipped; where
   names the first non-finite element. */
rv_status rv_clip_nonfinite(double p, float total, const char *where);

/* torch's clipping coefficient min(1, max_norm / (total + 1e-6)), formed
   in float32 as torch 1.13 does; NaN for a NaN total. */
float rv_clip_coefficient(float total, double max_norm);

#endif
