/* ravine/bench.h — measuring optimizer steps against the memory-bandwidth limit.

   An optimizer step over large tensors is bound by memory traffic, not by
   arithmetic: AdamW reads g, p, m, v and writes p, m, v, 28 bytes per
   parameter. The honest yardstick is therefore a kernel with exactly that
   traffic and trivial arithmetic, run through the same threaded step on the
   same tensors: rv_bench_traffic_type(k) is such a kernel for an optimizer
   with k state buffers, usable with rv_optim_create like any algorithm.

       rv_optim *adamw, *base;
       rv_optim_create_spec(&adamw, "adamw");
       rv_optim_create(&base, rv_bench_traffic_type(2), NULL);
       rv_optim_add_param(adamw, 0, "w", w, g, n, NULL);
       rv_optim_add_param(base, 0, "w", w, g, n, NULL);
       rv_optim *pair[] = {adamw, base};
       rv_bench_timing t[2];
       rv_bench_steps(pair, 2, 3, 11, t);    // 3 warm-up rounds, 11 timed
       double ratio = t[1].median_ms / t[0].median_ms;   // 1.0: at the limit

   rv_bench_steps interleaves the optimizers step by step, so that changes
   in the machine's load (other processes, turbo, neighbours on a shared
   host) hit all of them alike, and reports the median of each.

   rv_bench_gpt2_124m() lists the parameter tensors of GPT-2 small (124M
   parameters, 148 tensors) for benchmarks with a realistic mix of one huge
   embedding, big matrices and many small biases and norms. */
#ifndef RAVINE_BENCH_H
#define RAVINE_BENCH_H

#include <stddef.h>
#include "ravine/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The same-traffic kernel for optimizers with n_state state buffers
   (0 to 3): per element it reads g, p and every state buffer and writes p
   and every state buffer back, with one multiply-add each
   (p += -lr*g; s = s/2 + g). NULL when n_state > 3. Its name is
   "traffic<bytes per parameter>", e.g. "traffic28" for n_state 2. */
const rv_optim_type *rv_bench_traffic_type(size_t n_state);

/* Bytes an update moves per parameter: 4 * (3 + 2 * state buffers), i.e.
   sgd 12, sgd with momentum 20, adam 28, adam with amsgrad 36. */
size_t rv_bench_bytes_per_param(const rv_optim_type *type, const rv_hparams *h);

/* ---- independent yardsticks ------------------------------------------ */

/* The memory layout of an optimizer step: parameters (float32, or bf16
   over a float32 master) and n_state state buffers of one precision. */
typedef struct rv_bench_traffic {
    rv_precision params;   /* RV_FP32 or RV_BF16 */
    rv_precision state;    /* RV_FP32, RV_BF16 or RV_INT8 */
    int n_state;           /* 0..3 */
} rv_bench_traffic;

/* The layout of an optimizer (spec hyperparameters h) with parameters of
   dtype params. 0 if its state mixes precisions (sfadamw keeps z in float32
   whatever state= says), 1 otherwise. */
int rv_bench_traffic_of(const rv_optim_type *type, const rv_hparams *h, rv_precision params,
                        rv_bench_traffic *out);

/* Bytes a step moves per parameter: parameter and gradient (12 for float32;
   a bf16 parameter reads its gradient (2) and master (4) and writes the
   master (4) and itself (2)), and each state buffer read and written
   (8, 4 or 2 bytes, int8 adding its scale's 8 bytes per 256 values). */
double rv_bench_traffic_bytes(const rv_bench_traffic *t);

/* A plain OpenMP loop with that traffic and trivial arithmetic, compiled on
   its own (src/bench/stream.c), over its own n-element arrays: the
   yardstick a user would write, independent of the library's threaded step. */
typedef struct rv_bench_stream rv_bench_stream;
rv_status rv_bench_stream_create(rv_bench_stream **out, const rv_bench_traffic *t, size_t n,
                                 int threads);
void rv_bench_stream_run(rv_bench_stream *stream);   /* one pass */
void rv_bench_stream_free(rv_bench_stream *stream);

typedef struct rv_bench_timing {
    double median_ms;    /* median time of one rv_optim_step */
    double min_ms;       /* fastest step */
    int reps;            /* timed steps */
} rv_bench_timing;

/* Time rv_optim_step of n optimizers: `warmup` untimed rounds, then `reps`
   timed rounds; each round steps every optimizer once, in order. Fails
   (and times nothing further) if a step fails. reps must be >= 1. */
rv_status rv_bench_steps(rv_optim *const *opts, size_t n, int warmup, int reps,
                         rv_bench_timing *out);

/* Something to time: an optimizer step or one pass of a yardstick loop. */
typedef struct rv_bench_job {
    rv_optim *opt;              /* one of the two */
    rv_bench_stream *stream;
} rv_bench_job;

/* rv_bench_steps for a mix of optimizers and yardstick loops, interleaved. */
rv_status rv_bench_run(const rv_bench_job *jobs, size_t n, int warmup, int reps,
                       rv_bench_timing *out);

/* Floating-point rate of the matrix product muon uses (C = A·B, m x k by
   k x n, float32, through the library's BLAS), in GFLOP/s: the median of
   reps products after one warm-up. 0 if memory runs out. */
double rv_bench_sgemm_gflops(size_t m, size_t n, size_t k, int reps);

/* FLOPs of muon's Newton-Schulz iteration on a rows x cols matrix:
   ns_steps * (4 m^2 k + 2 m^3), m = min(rows, cols), k = max. */
double rv_bench_muon_flops(const rv_hparams *h, size_t rows, size_t cols);

/* A tensor of a model layout. */
typedef struct rv_bench_tensor {
    char name[48];
    size_t rows, cols;   /* cols is 1 for vectors */
} rv_bench_tensor;

/* GPT-2 124M: wte 50257x768, wpe 1024x768, 12 blocks of ln_1 w/b,
   attn.c_attn w 768x2304/b, attn.c_proj w 768x768/b, ln_2 w/b,
   mlp.c_fc w 768x3072/b, mlp.c_proj w 3072x768/b, then ln_f w/b:
   148 tensors, 124,439,808 parameters. Fills up to cap entries of out
   (out may be NULL when cap is 0) and returns the total count. */
size_t rv_bench_gpt2_124m(rv_bench_tensor *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
