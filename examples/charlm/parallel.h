/* charlm/parallel.h — data-parallel training under mpirun, with the
   optimizer state sharded over the ranks (ZeRO-1, ravine/dist.h).

       mpirun -np 4 build/examples/charlm --json

   Every rank draws the same global batch and computes the gradient of its
   share of the rows (rank r: rows [B r/P, B (r+1)/P)); rv_dist_step
   reduce-scatters the gradients into the mean over the whole batch, each
   rank updates its shard of the parameters, and the all-gather leaves the
   same parameters on every rank. Clipping uses the global norm of the
   whole batch's gradient. Rank 0 prints; checkpoints are one-process files.

   Started without mpirun (or in a build without MPI) the example runs in
   one process with an rv_optim, as before. Every helper here takes both
   forms, so the training loop has one path. */
#ifndef CHARLM_PARALLEL_H
#define CHARLM_PARALLEL_H

#include "model.h"
#include "ravine/checkpoint.h"
#include "ravine/clip.h"
#include "ravine/ravine.h"

#include <stdlib.h>
#include <string.h>
#ifdef RAVINE_HAVE_MPI
#include "ravine/dist.h"
#endif

typedef struct charlm_parallel {
    int rank, ranks;
#ifdef RAVINE_HAVE_MPI
    rv_dist *dist;   /* NULL: one process */
#endif
} charlm_parallel;

/* 1 when a launcher (mpirun, mpiexec, srun) started this process. */
static inline int charlm_launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

/* MPI starts only under a launcher; one process otherwise. */
static inline void charlm_parallel_start(charlm_parallel *p)
{
    memset(p, 0, sizeof *p);
    p->ranks = 1;
#ifdef RAVINE_HAVE_MPI
    if (charlm_launched_by_mpi()) {
        MPI_Init(NULL, NULL);
        MPI_Comm_rank(MPI_COMM_WORLD, &p->rank);
        MPI_Comm_size(MPI_COMM_WORLD, &p->ranks);
    }
#endif
}

static inline int charlm_parallel_active(const charlm_parallel *p)
{
#ifdef RAVINE_HAVE_MPI
    return p && p->dist;
#else
    (void)p;
    return 0;
#endif
}

static inline void charlm_parallel_finish(charlm_parallel *p)
{
#ifdef RAVINE_HAVE_MPI
    int ready = 0;
    MPI_Initialized(&ready);
    if (ready) {
        rv_dist_free(p->dist);
        p->dist = NULL;
        MPI_Finalize();
    }
#else
    (void)p;
#endif
}

/* The sharded optimizer over the same groups and tensors as opt
   (charlm_optim_create's), with its threads, for batches of B. A no-op in
   one process. */
static inline rv_status charlm_parallel_optim(charlm_parallel *p, rv_optim *opt, int threads,
                                              size_t B)
{
#ifdef RAVINE_HAVE_MPI
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready)
        return RV_OK;
    rv_hparams h;
    rv_optim_group_hparams(opt, 0, &h);
    rv_status s = rv_dist_create(&p->dist, MPI_COMM_WORLD, rv_optim_get_type(opt), &h);
    for (size_t g = 1; !s && g < rv_optim_group_count(opt); g++) {
        rv_optim_group_hparams(opt, g, &h);
        s = rv_dist_add_group(p->dist, &h, NULL);
    }
    for (size_t t = 0; !s && t < rv_optim_param_count(opt); t++) {
        rv_param_view v;
        rv_optim_param_view(opt, t, &v);
        s = rv_dist_add_param(p->dist, v.group, v.name, v.param, v.grad, v.n, NULL);
    }
    if (!s && threads > 0)
        s = rv_dist_set_threads(p->dist, threads);
    /* each rank's gradient is the mean over its rows: with equal shares the
       mean over the ranks is the batch's; unequal ones are weighed and summed
       (charlm_parallel_weigh) */
    if (!s)
        s = rv_dist_set_grads(p->dist, B % (size_t)p->ranks ? RV_DIST_GRADS_SUM : RV_DIST_GRADS_MEAN);
    return s;
#else
    (void)p, (void)opt, (void)threads, (void)B;
    return RV_OK;
#endif
}

/* This rank's rows of a batch of B: [*lo, *lo + *rows). */
static inline void charlm_parallel_share(const charlm_parallel *p, size_t B, size_t *lo,
                                         size_t *rows)
{
    size_t P = charlm_parallel_active(p) ? (size_t)p->ranks : 1;
    size_t r = charlm_parallel_active(p) ? (size_t)p->rank : 0;
    *lo = B * r / P;
    *rows = B * (r + 1) / P - *lo;
}

/* Scale this rank's gradient (the mean over its rows) for a sum over ranks
   when the shares are unequal. */
static inline void charlm_parallel_weigh(charlm_parallel *p, charlm_model *m, size_t B, size_t rows)
{
    if (!charlm_parallel_active(p) || B % (size_t)p->ranks == 0)
        return;
    float w = (float)rows / (float)B;
    for (size_t i = 0; i < m->n_params; i++)
        m->grads[i] *= w;
}

/* The sum of a value over the ranks (the batch's summed loss). */
static inline double charlm_parallel_sum(const charlm_parallel *p, double x)
{
#ifdef RAVINE_HAVE_MPI
    if (charlm_parallel_active(p)) {
        double all = x;
        MPI_Allreduce(&x, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        return all;
    }
#endif
    (void)p;
    return x;
}

static inline long charlm_parallel_steps(const charlm_parallel *p, const rv_optim *opt)
{
#ifdef RAVINE_HAVE_MPI
    if (charlm_parallel_active(p))
        return rv_dist_step_count(p->dist);
#endif
    (void)p;
    return rv_optim_step_count(opt);
}

/* Clip the (global) gradient norm to clip. */
static inline rv_status charlm_parallel_clip(charlm_parallel *p, rv_optim *opt, double clip)
{
#ifdef RAVINE_HAVE_MPI
    if (charlm_parallel_active(p))
        return rv_dist_clip_grad_norm(p->dist, clip, NULL, NULL);
#endif
    (void)p;
    return rv_clip_grad_norm(opt, clip, NULL, NULL);
}

/* One update with learning rate lr. */
static inline rv_status charlm_parallel_step(charlm_parallel *p, rv_optim *opt, double lr)
{
    rv_status s;
#ifdef RAVINE_HAVE_MPI
    if (charlm_parallel_active(p))
        return (s = rv_dist_set_lr(p->dist, lr)) ? s : rv_dist_step(p->dist);
#endif
    (void)p;
    return (s = rv_optim_set_lr(opt, lr)) ? s : rv_optim_step(opt);
}

static inline rv_status charlm_parallel_save(charlm_parallel *p, rv_optim *opt,
                                             const char *schedule,
                                             const rv_checkpoint_extra *extra, size_t n_extra,
                                             const char *path)
{
#ifdef RAVINE_HAVE_MPI
    if (charlm_parallel_active(p))
        return rv_dist_save_extra(p->dist, schedule, rv_dist_step_count(p->dist), extra, n_extra,
                                  path);
#endif
    (void)p;
    return rv_checkpoint_save_extra(opt, schedule, rv_optim_step_count(opt), extra, n_extra, path);
}

static inline rv_status charlm_parallel_load(charlm_parallel *p, rv_optim *opt, const char *path)
{
#ifdef RAVINE_HAVE_MPI
    if (charlm_parallel_active(p))
        return rv_dist_load(p->dist, path, NULL, NULL);
#endif
    (void)p;
    return rv_checkpoint_load(opt, path, NULL, NULL);
}

/* Bytes of one state buffer as it is held: 4 per value in float32, 2 in
   bfloat16, 1 in int8 plus a float32 scale per RV_QUANT_BLOCK values. */
static inline size_t charlm_state_buffer_bytes(rv_precision p, size_t len)
{
    return p == RV_BF16   ? 2 * len
           : p == RV_INT8 ? len + sizeof(float) * ((len + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK)
                          : sizeof(float) * len;
}

/* Optimizer state held by one rank: the most any rank holds (the whole
   state in one process). */
static inline size_t charlm_parallel_state_bytes(const charlm_parallel *p, const rv_optim *opt)
{
    size_t bytes = 0;
#ifdef RAVINE_HAVE_MPI
    if (charlm_parallel_active(p)) {
        rv_dist_stats st;
        rv_dist_stats_get(p->dist, &st);
        unsigned long long mine = st.state_bytes, most = mine;
        MPI_Allreduce(&mine, &most, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
        return (size_t)most;
    }
#endif
    (void)p;
    for (size_t t = 0; t < rv_optim_param_count(opt); t++) {
        rv_param_view v;
        rv_optim_param_view(opt, t, &v);
        for (size_t k = 0; k < v.n_state; k++)
            if (v.state_data[k])
                bytes += charlm_state_buffer_bytes(v.state_precision[k], v.state_len[k]);
    }
    return bytes;
}

#endif
