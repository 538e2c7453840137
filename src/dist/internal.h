/* Internal: the sharded optimizer's state and the helpers its files share.

   An rv_dist holds two rv_optim:
     - `full`, every tensor registered whole with the caller's buffers and
       no state: it checks setup calls exactly as rv_optim does, holds the
       param groups, and on rank 0 becomes the one-process view that
       checkpoints are written from and read into;
     - `local`, the pieces of tensors in this rank's shard, whose gradients
       point into the reduced shard buffer and whose parameters point into
       the caller's buffers: the update itself. */
#ifndef RAVINE_DIST_INTERNAL_H
#define RAVINE_DIST_INTERNAL_H

#include "ravine/dist.h"
#include "core/error.h"
#include "optim/type.h"

#include <stdint.h>

#define RV_DIST_LINE ((size_t)16)

/* Global bookkeeping of one tensor, identical on every rank. */
typedef struct dist_tensor {
    size_t offset;   /* first element in the flattened index space */
    size_t n;
    long step;       /* updates applied */
    int has_state;   /* its state exists (it has stepped, or was loaded with state) */
    int home;        /* the rank whose piece holds its scalars for checkpoints */
} dist_tensor;

/* A piece of a tensor updated by this rank: elements [from, from + len). */
typedef struct dist_piece {
    size_t tensor, from, len;
} dist_piece;

/* What the collectives of one call compare across ranks. */
typedef enum dist_op {
    OP_CREATE = 1, OP_STEP, OP_NORM, OP_CLIP, OP_EVAL, OP_TRAIN, OP_SAVE, OP_LOAD, OP_SETUP
} dist_op;

struct rv_dist {
    MPI_Comm comm;             /* a duplicate of the caller's */
    int rank, size;
    rv_optim *full;
    rv_dist_grads grads;
    rv_nonfinite_policy nonfinite;
    int threads;
    size_t bucket;

    /* ---- the plan (built on the first collective that needs it) ---- */
    int planned;               /* tensors and groups are fixed from here on */
    dist_tensor *tensors;
    size_t n_tensors, numel;
    size_t *bounds;            /* size + 1 shard boundaries */
    dist_piece *pieces;        /* this rank's, in tensor order; local tensor i = pieces[i] */
    size_t n_pieces;
    rv_optim *local;
    float *shard_grad;         /* the reduced gradient of this rank's shard */
    int *counts, *displs;      /* per rank, for one-call collectives */
    int *round_counts;         /* 2 per rank, for staged rounds (allocated with the plan,
                                  so no rank stops for memory between collectives) */
    float *staging;            /* for tensors not laid out flat */
    size_t staging_floats;
    int buffers_stale;         /* set_buffers since the last step: re-point the pieces */

    /* ---- the run ---- */
    int reduced;               /* shard_grad holds this step's reduced gradient */
    int eval_mode;
    long steps, skipped;
    int broken;                /* a rank failed after others had changed: unusable */
    rv_dist_stats stats;
};

/* ---- agree.c ----------------------------------------------------------- */

/* 64-bit FNV-1a over bytes, chained. */
uint64_t rv_dist_hash(uint64_t h, const void *data, size_t n);
#define RV_DIST_HASH_SEED 0xcbf29ce484222325ull

/* Start a collective call: exchange the call, the setup and this step's
   settings with every rank, with this rank's status so far (local, with
   its rv_errmsg). Returns RV_OK on every rank, or the same error on every
   rank. `args` hashes the call's own arguments (norm type, max_norm). */
rv_status rv_dist_begin(rv_dist *d, dist_op op, rv_status local, uint64_t args);

/* rv_dist_agree on the optimizer's communicator. */
rv_status rv_dist_agree_comm(MPI_Comm comm, int rank, rv_status local);

/* A failed MPI call as RV_ERR_COMM naming it. */
rv_status rv_dist_mpi_fail(int code, const char *call);

/* ---- plan.c ------------------------------------------------------------ */

/* Fix the tensors, cut the shards and build the local optimizer (local
   work: the result is agreed by the caller's rv_dist_begin). */
rv_status rv_dist_plan(rv_dist *d);
/* Free what rv_dist_plan made. */
void rv_dist_unplan(rv_dist *d);
/* The first tensor whose range reaches past global element x. */
size_t rv_dist_tensor_at(const rv_dist *d, size_t x);
/* Re-point the local pieces at the caller's buffers after set_buffers. */
rv_status rv_dist_repoint(rv_dist *d);
/* RV_ERR_STATE_PRECISION for a group with state=bf16|int8 ("<prefix>param
   group G: ..."); h NULL passes. The sharded optimizer keeps float32 state. */
rv_status rv_dist_check_state(const rv_hparams *h, const char *prefix, size_t group);
/* The same for every group of o. */
rv_status rv_dist_check_groups(const rv_optim *o, const char *prefix);
/* Build a local optimizer for this rank's pieces with the groups of `full`
   (refusing reduced-precision state). */
rv_status rv_dist_build_local(const rv_dist *d, rv_optim **out);
/* The pieces of rank r (count only when out is NULL). */
size_t rv_dist_pieces_of(const rv_dist *d, int r, dist_piece *out);
/* The rank owning global element x (x < numel). */
int rv_dist_owner(const rv_dist *d, size_t x);
/* 1 if the caller's parameters (or gradients) form one flat buffer in
   registration order, small enough for one-call collectives. */
int rv_dist_flat_params(const rv_dist *d);
int rv_dist_flat_grads(const rv_dist *d);
/* The flat buffer's start (global element 0), or NULL if not flat. */
float *rv_dist_flat_base(const rv_dist *d, int grads);
/* Copy global elements [lo, hi) from the caller's gradients (zeros for a
   tensor without one) or parameters into dst, or from src into the
   caller's parameters. */
void rv_dist_copy_grads(const rv_dist *d, size_t lo, size_t hi, float *dst);
void rv_dist_copy_params_out(const rv_dist *d, size_t lo, size_t hi, float *dst);
void rv_dist_copy_params_in(const rv_dist *d, size_t lo, size_t hi, const float *src);

/* ---- step.c ------------------------------------------------------------ */

/* Plan if needed and re-point the pieces after set_buffers (local). */
rv_status rv_dist_prepare(rv_dist *d);
/* Reduce this step's gradient into shard_grad (after rv_dist_begin). */
rv_status rv_dist_reduce(rv_dist *d);
/* All-gather the parameters of every shard into every rank's buffers. */
rv_status rv_dist_gather_params(rv_dist *d);
/* Broadcast every parameter from rank 0's src (flat, numel floats; NULL on
   other ranks) into every rank's buffers. */
rv_status rv_dist_bcast_params(rv_dist *d, const float *src);

/* ---- comm.c ------------------------------------------------------------ */

/* Point-to-point and broadcast of any number of floats / bytes, in
   messages that fit MPI's int counts. */
rv_status rv_dist_send(const rv_dist *d, const void *buf, size_t bytes, int to);
rv_status rv_dist_recv(const rv_dist *d, void *buf, size_t bytes, int from);
rv_status rv_dist_bcast(MPI_Comm comm, void *buf, size_t bytes, int root);

/* ---- norm.c ------------------------------------------------------------ */

/* The first non-finite element of this step's reduced gradient over all
   ranks (global index, UINT64_MAX if none) and its value. Collective. */
rv_status rv_dist_first_nonfinite(rv_dist *d, uint64_t *index, float *value);
/* Name a global element: "tensor 3 ('w1') ... index 17" parts. */
void rv_dist_locate(const rv_dist *d, size_t x, size_t *tensor, size_t *index, const char **name);

/* Seconds since an arbitrary start (MPI_Wtime). */
static inline double rv_dist_now(void) { return MPI_Wtime(); }

#endif
