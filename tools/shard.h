/* The CLI's sharded commands: `ravine replay --shard` and `ravine bench
   --shard` under mpirun (ravine/dist.h; built when MPI is found, otherwise
   they say so and exit 2). */
#ifndef RAVINE_TOOLS_SHARD_H
#define RAVINE_TOOLS_SHARD_H

#include <stddef.h>

/* replay's options, as parsed by cmd_replay.c */
typedef struct replay_args {
    const char *optim, *init, *grads, *schedule, *save, *resume;
    size_t max_params;   /* replay's limit on the number of parameters */
    const char *shape;   /* --shape R,C,... (NULL: a vector) */
    const char *dtype;   /* --dtype (NULL or fp32: float32; bf16 is refused) */
} replay_args;

/* Replay with the optimizer state sharded over MPI_COMM_WORLD; the
   gradient file holds the already reduced gradients. Rank 0 prints exactly
   what `ravine replay` prints. Returns the exit status. */
int replay_shard(const replay_args *a);

/* bench's options for --shard */
typedef struct bench_shard_args {
    size_t params;
    int threads, reps, warmup, json;
    const char *optim;   /* one spec; NULL: adamw */
} bench_shard_args;

/* Time the sharded step under mpirun and measure the bytes each rank sends;
   rank 0 prints. Returns the exit status. */
int bench_shard(const bench_shard_args *a);

#ifdef RAVINE_HAVE_MPI
#include <mpi.h>
#include "ravine/dist.h"

/* MPI_Init unless done; MPI_Finalize at a normal exit. */
void shard_start(void);
/* Finish MPI and return status 0. */
int shard_finish(void);
/* s is the same on every rank (a collective's result): if it failed, every
   rank prints `ravine: <what>: <why>`, finishes MPI and exits 2. */
void shard_check(const char *what, rv_status s);
/* Between these, each rank reads its own input and may exit on an error of
   its own (cli_die); the others then learn of it at shard_local_end, which
   is collective, and exit 2 naming that rank, instead of waiting for it. */
void shard_local_begin(void);
void shard_local_end(const char *what);
#endif

#endif
