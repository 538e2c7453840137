/* Internal: the fixed order in which a gradient norm's sums are taken.

   An optimizer's tensors are laid end to end in one index space (tensor t
   starts where tensor t-1 ends, no padding). That space is cut into lines
   of RV_NORM_LINE and blocks of RV_NORM_BLOCK elements; a piece is the part
   of a line or block that lies in one tensor.
     - a line piece is summed with eight accumulators, element x going to
       accumulator x mod 8, combined by a fixed tree;
     - a block piece folds its line pieces in order;
     - a tensor folds its block pieces in order.
   Every sum is thus a fixed function of the values and the tensor sizes,
   however the work is split: the threads of clip.c split at block pieces,
   and the ranks of a sharded optimizer (src/dist/), whose shards begin on
   line or tensor boundaries, exchange block and line sums. Both get the
   same bits.

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

/* Sum of the piece g[0 .. len) whose first element has global index x;
   [x, x + len) lies within one line. */
double rv_norm_line(const float *g, size_t x, size_t len, double p);

/* Sum of g[0 .. len) from global index x, within one block: its line
   pieces folded in order. */
double rv_norm_block(const float *g, size_t x, size_t len, double p);

/* Sum of a whole tensor of n elements starting at global index x: its
   block pieces folded in order. */
double rv_norm_tensor(const float *g, size_t x, size_t n, double p);

/* The end of the block (or line) piece that starts at global index x in a
   tensor ending at `end`. */
static inline size_t rv_norm_block_end(size_t x, size_t end)
{
    size_t b = (x / RV_NORM_BLOCK + 1) * RV_NORM_BLOCK;
    return b < end ? b : end;
}
static inline size_t rv_norm_line_end(size_t x, size_t end)
{
    size_t b = (x / RV_NORM_LINE + 1) * RV_NORM_LINE;
    return b < end ? b : end;
}

/* A tensor's p-norm from its sum, rounded to float32 like a torch tensor. */
float rv_norm_finish(double sum, double p);

/* The total norm of count tensors from their sums (torch: the norm of the
   stack of per-tensor norms, each rounded to float32). */
float rv_norm_total(const double *sums, size_t count, double p);

/* RV_ERR_NONFINITE_GRAD for a total norm that cannot be clipped; where
   names the first non-finite element. */
rv_status rv_clip_nonfinite(double p, float total, const char *where);

/* torch's clipping coefficient min(1, max_norm / (total + 1e-6)), formed
   in float32 as torch 1.13 does; NaN for a NaN total. */
float rv_clip_coefficient(float total, double max_norm);

#endif
