/* ravine/dist.h — ZeRO stage 1: optimizer state sharded over the ranks of an
   MPI communicator (libravine_dist, built when MPI is found).

   Every rank holds all parameters and computes gradients on its share of
   the batch; each rank keeps optimizer state only for its 1/P shard of the
   flattened parameters. A step is a reduce-scatter of the gradients, the
   update of the local shard by the same fused kernels as rv_optim_step,
   and an all-gather of the parameters:

       MPI_Init(&argc, &argv);                    // the communicator is yours
       rv_dist *opt;
       if (rv_dist_create_spec(&opt, MPI_COMM_WORLD, "adamw(lr=3e-4, weight_decay=0.1)"))
           die(rv_errmsg());                      // same status on every rank
       rv_dist_add_param(opt, 0, "w", w, grad_w, n, NULL);   // same tensors on every rank
       for (long t = 0; t < steps; t++) {
           backward_on_my_share();                // fills grad_w: the mean over this rank's share
           rv_dist_clip_grad_norm(opt, 1.0, NULL, NULL);     // optional: the global norm
           rv_dist_set_lr(opt, rv_schedule_lr(lr, t));
           if (rv_dist_step(opt))                 // w now holds the updated parameters, on all ranks
               die(rv_errmsg());
       }
       rv_dist_save(opt, "cosine(lr=3e-4, t_max=10000)", steps, "run.safetensors");
       rv_dist_free(opt);
       MPI_Finalize();

   Collective calls (marked below) must be made by every rank of the
   communicator in the same order. Each starts by exchanging a fixed-size
   fingerprint of the call and the setup (algorithm, groups, tensor sizes,
   shapes and names, this step's learning rates, which tensors have
   gradients), so ranks that disagree get a clear error (RV_ERR_RANKS,
   naming the ranks and what differs) instead of a hang, and a call that
   fails on one rank fails on every rank with that rank's message. The
   library never calls MPI_Init or MPI_Finalize; it works on a duplicate of
   the caller's communicator.

   Shards. The tensors are laid end to end in registration order. For the
   element-wise algorithms (rv_optim_type_elementwise) the P shards are
   near-equal shares of that index space, cutting a tensor only at a
   multiple of 16 elements (a cache line) from its start; adafactor and muon
   need whole tensors, so their shards end at tensor boundaries (balanced by
   element count; a rank may hold none). docs/distributed.md has the
   details and measured figures.

   Equal to one process, bit for bit: a tensor's pieces take the same
   per-element arithmetic as the whole tensor; the global norm of
   rv_dist_clip_grad_norm is summed in the fixed order of rv_clip_grad_norm
   (ravine/clip.h) whatever the shards; the non-finite policy is decided
   from every rank's shard, so all ranks take or skip the same steps. With
   gradients that are already reduced (RV_DIST_GRADS_REDUCED) a sharded run
   gives exactly the parameters of rv_optim_step, and its checkpoints
   resume under any number of ranks, or none.

   State precision. The sharded optimizer keeps float32 state: state=bf16
   or state=int8 is refused with RV_ERR_STATE_PRECISION wherever it would
   enter (creating, adding or changing a group, loading a file saved with
   it), before anything changes.

   Memory. Per rank: the optimizer state of its shard, a gradient buffer of
   its shard, and, unless every tensor lies in one flat parameter buffer and
   one flat gradient buffer in registration order (llm.c's layout), a
   staging buffer of rv_dist_set_bucket floats for the collectives. */
#ifndef RAVINE_DIST_H
#define RAVINE_DIST_H

#include <mpi.h>
#include <stddef.h>
#include "ravine/status.h"
#include "ravine/optim.h"
#include "ravine/clip.h"
#include "ravine/checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_dist rv_dist;   /* opaque */

/* How the ranks' gradients become the gradient of a step. */
typedef enum rv_dist_grads {
    RV_DIST_GRADS_MEAN = 0,   /* reduce-scatter of the sum, divided by P (default):
                                 each rank holds the mean over an equal share */
    RV_DIST_GRADS_SUM,        /* reduce-scatter of the sum: each rank scaled its own */
    RV_DIST_GRADS_REDUCED     /* every rank already holds the global gradient (a
                                 replay, or reduced by the caller): no communication */
} rv_dist_grads;

/* ---- creating (collective) ------------------------------------------- */

/* Create with group 0 using h (NULL: torch defaults). Collective: every
   rank must give the same algorithm and hyperparameters; state=bf16|int8
   is refused (RV_ERR_STATE_PRECISION). */
rv_status rv_dist_create(rv_dist **out, MPI_Comm comm, const rv_optim_type *type,
                         const rv_hparams *h);
/* The same from a spec string; a spec that fails to parse on any rank
   fails on every rank. */
rv_status rv_dist_create_spec(rv_dist **out, MPI_Comm comm, const char *spec);
/* Collective (frees the duplicated communicator). NULL is ignored. */
void rv_dist_free(rv_dist *d);

/* ---- setting up (local; every rank must do the same) ----------------- */

/* As rv_optim_add_group / _add_group_spec / _add_param / _add_param_shaped:
   the same arguments, checks and messages, and a group with state=bf16|int8
   is refused (RV_ERR_STATE_PRECISION), as by rv_dist_group_set_hparams. Tensors and groups are added
   before the first collective call that steps, saves or loads. */
rv_status rv_dist_add_group(rv_dist *d, const rv_hparams *h, size_t *group);
rv_status rv_dist_add_group_spec(rv_dist *d, const char *overrides, size_t *group);
rv_status rv_dist_add_param(rv_dist *d, size_t group, const char *name, float *param,
                            float *grad, size_t n, size_t *index);
rv_status rv_dist_add_param_shaped(rv_dist *d, size_t group, const char *name, float *param,
                                   float *grad, size_t ndim, const size_t *shape, size_t *index);
/* Point a tensor at new buffers; grad NULL leaves it out of the following
   steps (and norms), on every rank alike. */
rv_status rv_dist_set_buffers(rv_dist *d, size_t index, float *param, float *grad);

rv_status rv_dist_set_grads(rv_dist *d, rv_dist_grads how);
rv_status rv_dist_set_nonfinite(rv_dist *d, rv_nonfinite_policy policy);
/* Worker threads of this rank's update (0 = every core it may use). */
rv_status rv_dist_set_threads(rv_dist *d, int threads);
/* Staging floats for tensors not laid out flat (default 4M floats, at
   least 16 per rank): the collectives then run in rounds of this size. */
rv_status rv_dist_set_bucket(rv_dist *d, size_t floats);

rv_status rv_dist_set_lr(rv_dist *d, double lr);
rv_status rv_dist_group_set_lr(rv_dist *d, size_t group, double lr);
rv_status rv_dist_group_hparams(const rv_dist *d, size_t group, rv_hparams *out);
rv_status rv_dist_group_set_hparams(rv_dist *d, size_t group, const rv_hparams *h);

/* ---- stepping (collective) ------------------------------------------- */

/* Fix the tensors and groups and cut the shards now (the first step, norm,
   save or load does it otherwise): setup errors surface here, and
   rv_dist_stats_get describes the shard. */
rv_status rv_dist_setup(rv_dist *d);

/* One update of every tensor: reduce the gradients (unless a norm call
   already did for this step), apply the non-finite policy, update the
   local shard, all-gather the parameters. On failure nothing changed, on
   any rank. The caller's gradient buffers are only read.

   The reduced gradient lives from the call that reduces it (a norm, a
   clip or the step) until the step that uses it; a step, norm or clip
   that fails (a non-finite norm with error_if_nonfinite included) or a
   step skipped for a non-finite gradient discards it on every rank, so
   the next call reduces the caller's buffers anew. */
rv_status rv_dist_step(rv_dist *d);

/* The global norm of this step's reduced gradient (reducing it first), the
   same bits as rv_grad_norm of one process holding that gradient. */
rv_status rv_dist_grad_norm(rv_dist *d, double norm_type, double *total_norm);
/* Scale this step's reduced gradient (this rank's shard of it; the caller's
   buffers stay as they are) so its global norm is at most max_norm, as
   rv_clip_grad_norm does. total_norm may be NULL. */
rv_status rv_dist_clip_grad_norm(rv_dist *d, double max_norm, const rv_clip_options *options,
                                 double *total_norm);

/* Schedule-Free AdamW's modes: parameters move between y and x on every
   rank. For the other algorithms both are no-ops (training goes on). */
rv_status rv_dist_eval(rv_dist *d);
rv_status rv_dist_train(rv_dist *d);
int rv_dist_is_training(const rv_dist *d);

/* ---- checkpoints (collective) ------------------------------------------ */

/* Save everything, as rv_checkpoint_save_at of one process holding all
   tensors would: rank 0 gathers the shards' state and writes one file
   (atomically: a rank that dies mid-save leaves the old file intact). The
   file resumes under any number of ranks, or with rv_checkpoint_load. */
rv_status rv_dist_save(rv_dist *d, const char *schedule_spec, long schedule_step,
                       const char *path);
/* The same with the caller's own entries (as rv_checkpoint_save_extra; rank
   0's are written). */
rv_status rv_dist_save_extra(rv_dist *d, const char *schedule_spec, long schedule_step,
                             const rv_checkpoint_extra *extra, size_t n_extra, const char *path);
/* Load a file written by rv_dist_save or rv_checkpoint_save (only rank 0
   reads it): as rv_checkpoint_load, then every rank takes its shard. A file
   saved with state=bf16|int8 is refused (RV_ERR_STATE_PRECISION). On
   failure nothing changed, on any rank. After it, the optimizer is in the
   file's mode (schedule-free saved in eval mode is in eval mode). */
rv_status rv_dist_load(rv_dist *d, const char *path, const rv_checkpoint_options *options,
                       rv_checkpoint_info *info);
/* rv_checkpoint_inspect on rank 0, the result on every rank. */
rv_status rv_dist_inspect(MPI_Comm comm, const char *path, rv_checkpoint_info *info);

/* ---- errors across ranks (collective) ---------------------------------- */

/* Agree on the outcome of local work: every rank passes its own status;
   all get RV_OK, or the status of the lowest failing rank, whose message
   (prefixed "rank R: " on the other ranks) becomes rv_errmsg(). */
rv_status rv_dist_agree(MPI_Comm comm, rv_status local);

/* ---- queries (local) --------------------------------------------------- */

const rv_optim_type *rv_dist_get_type(const rv_dist *d);
long rv_dist_step_count(const rv_dist *d);
long rv_dist_skipped_count(const rv_dist *d);
size_t rv_dist_param_count(const rv_dist *d);
size_t rv_dist_numel(const rv_dist *d);

typedef struct rv_dist_stats {
    int rank, ranks;
    size_t numel;                   /* parameter elements of all tensors */
    size_t shard_begin, shard_end;  /* this rank's range of the flattened parameters */
    size_t pieces;                  /* tensors or parts of tensors updated here */
    size_t state_bytes;             /* optimizer state held by this rank */
    size_t buffer_bytes;            /* its gradient shard and staging buffers */
    int flat;                       /* 1: collectives run on the caller's flat buffers */
    long steps;                     /* rv_dist_step calls that updated (timed below) */
    /* wall time of this rank, summed over steps (MPI_Wtime) */
    double seconds_reduce;          /* reduce-scatter of the gradients */
    double seconds_update;          /* non-finite check and the local update */
    double seconds_gather;          /* all-gather of the parameters */
    double seconds_norm;            /* global norms (clipping) */
    /* bytes this rank handed to the collectives for other ranks, summed:
       reduce-scatter (its gradient for every other shard), all-gather (its
       shard, once per other rank) and norm items; the payload of the
       calls, which MPI's algorithms move in one or more hops */
    unsigned long long bytes_sent;
} rv_dist_stats;

rv_status rv_dist_stats_get(const rv_dist *d, rv_dist_stats *out);

#ifdef __cplusplus
}
#endif
#endif
