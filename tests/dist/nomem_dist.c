/* Allocation failures on one rank of a sharded optimizer. Each call below
   runs with the 1st, 2nd, 3rd, ... allocation of one rank (the first, then
   the last) failing, until the call needs no more. Every rank must return
   the same status (RV_ERR_NOMEM, "out of memory" in the message), without
   a hang (the test's TIMEOUT catches one), with nothing changed on any
   rank; the call then succeeds when repeated, and the run ends with the
   parameters of a run that never failed, bit for bit.

   The calls: the first step (state is allocated; staged collectives), a
   clip (the gradient is reduced), a save (state and per-tensor scalars
   gathered on rank 0) and a load (rank 0 reads and hands out the shards). */
#include "ravine/dist.h"
#include "ravine/ravine.h"
#include "check.h"
#include "nomem/failing_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPEC "nadam(lr=0.01, weight_decay=0.1)"   /* per-tensor scalars too */
#define N_T 3

static const size_t sizes[N_T] = {301, 7, 150};
static int rank, ranks;
static char tmpdir[512], saved[600], target[600];

typedef enum call { FIRST_STEP, CLIP, SAVE, LOAD } call;
static const char *const call_names[] = {"first step", "clip", "save", "load"};

typedef struct model {
    rv_dist *d;
    float *p[N_T], *g[N_T];
} model;

/* Step t's gradient, the same on every rank (so the mean is exact). */
static void fill_grads(model *m, long t)
{
    for (size_t k = 0; k < N_T; k++)
        for (size_t i = 0; i < sizes[k]; i++)
            m->g[k][i] = (float)((long)((i * 7 + (size_t)t * 3 + k) % 17) - 8) / 16.0f;
}

static void model_init(model *m)
{
    CHECK_STATUS(rv_dist_create_spec(&m->d, MPI_COMM_WORLD, SPEC), RV_OK);
    char name[8];
    for (size_t k = 0; k < N_T; k++) {
        m->p[k] = malloc(sizes[k] * sizeof(float));
        m->g[k] = calloc(sizes[k], sizeof(float));
        for (size_t i = 0; i < sizes[k]; i++)
            m->p[k][i] = (float)((long)((i * 5 + k) % 13) - 6) / 8.0f;
        snprintf(name, sizeof name, "t%zu", k);
        CHECK_STATUS(rv_dist_add_param(m->d, 0, name, m->p[k], m->g[k], sizes[k], NULL), RV_OK);
    }
    /* separate buffers and one line per rank per round: staged collectives */
    CHECK_STATUS(rv_dist_set_bucket(m->d, 16 * (size_t)ranks), RV_OK);
}

static void model_free(model *m)
{
    rv_dist_free(m->d);
    for (size_t k = 0; k < N_T; k++) {
        free(m->p[k]);
        free(m->g[k]);
    }
}

/* Before the call: a step for clip and save; nothing for the first step
   and the load (into a new optimizer). */
static void prelude(model *m, call c)
{
    if (c == CLIP || c == SAVE) {
        fill_grads(m, 0);
        CHECK_STATUS(rv_dist_step(m->d), RV_OK);
    }
    fill_grads(m, 1);
}

static rv_status make_call(model *m, call c)
{
    switch (c) {
    case FIRST_STEP: return rv_dist_step(m->d);
    case CLIP: return rv_dist_clip_grad_norm(m->d, 0.5, NULL, NULL);
    case SAVE: return rv_dist_save(m->d, NULL, 1, target);
    case LOAD: return rv_dist_load(m->d, saved, NULL, NULL);
    }
    return RV_ERR_ARG;
}

/* After the call: steps to the end of the run. */
static void finish(model *m, call c)
{
    if (c == CLIP)
        CHECK_STATUS(rv_dist_step(m->d), RV_OK);   /* the clipped gradient */
    fill_grads(m, 2);
    CHECK_STATUS(rv_dist_step(m->d), RV_OK);
}

static int same_params(const model *a, const model *b)
{
    for (size_t k = 0; k < N_T; k++)
        if (memcmp(a->p[k], b->p[k], sizes[k] * sizeof(float)))
            return 0;
    return 1;
}

static void failing(call c, int who)
{
    model ref;
    model_init(&ref);
    prelude(&ref, c);
    CHECK_STATUS(make_call(&ref, c), RV_OK);
    finish(&ref, c);
    long failures = 0;
    for (long k = 1;; k++) {
        model m;
        model_init(&m);
        prelude(&m, c);
        float *before[N_T];
        for (size_t t = 0; t < N_T; t++) {
            before[t] = malloc(sizes[t] * sizeof(float));
            memcpy(before[t], m.p[t], sizes[t] * sizeof(float));
        }
        long steps = rv_dist_step_count(m.d);
        if (rank == who)
            nomem_arm(k);
        rv_status s = make_call(&m, c);
        int failed = 0;
        if (rank == who) {
            nomem_off();
            failed = nomem_failures > 0;
        }
        int any = 0, lo = 0, hi = 0, mine = (int)s;
        MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        MPI_Allreduce(&mine, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(&mine, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        CHECK_MSG(lo == hi, "%s, rank %d's allocation %ld: statuses %d to %d on the ranks",
                  call_names[c], who, k, lo, hi);
        if (any) {
            failures++;
            CHECK_MSG(s == RV_ERR_NOMEM && strstr(rv_errmsg(), "out of memory"),
                      "%s, rank %d's allocation %ld: %d (%s)", call_names[c], who, k, (int)s,
                      rv_errmsg());
            int same = 1;
            for (size_t t = 0; t < N_T; t++)
                same &= !memcmp(before[t], m.p[t], sizes[t] * sizeof(float));
            CHECK_MSG(same && rv_dist_step_count(m.d) == steps,
                      "%s, rank %d's allocation %ld failing changed the parameters or steps",
                      call_names[c], who, k);
            CHECK_STATUS(make_call(&m, c), RV_OK);   /* nothing broken: it works now */
        } else {
            CHECK_MSG(s == RV_OK, "%s: %s", call_names[c], rv_errmsg());
        }
        finish(&m, c);
        CHECK_MSG(same_params(&m, &ref), "%s, rank %d's allocation %ld: the run differs from "
                  "one that never failed", call_names[c], who, k);
        for (size_t t = 0; t < N_T; t++)
            free(before[t]);
        model_free(&m);
        if (!any)
            break;
    }
    CHECK_MSG(failures > 0 || rank != who, "%s: rank %d made no allocation", call_names[c], who);
    model_free(&ref);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (rank == 0) {
        snprintf(tmpdir, sizeof tmpdir, "%s/ravine-nomem-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpdir))
            tmpdir[0] = 0;
    }
    MPI_Bcast(tmpdir, sizeof tmpdir, MPI_CHAR, 0, MPI_COMM_WORLD);
    snprintf(saved, sizeof saved, "%s/saved.safetensors", tmpdir);
    snprintf(target, sizeof target, "%s/target.safetensors", tmpdir);
    /* the file the loads read: a run of one step */
    model src;
    model_init(&src);
    fill_grads(&src, 0);
    CHECK_STATUS(rv_dist_step(src.d), RV_OK);
    CHECK_STATUS(rv_dist_save(src.d, NULL, 1, saved), RV_OK);
    model_free(&src);

    int who[2] = {0, ranks - 1};
    for (call c = FIRST_STEP; c <= LOAD; c++)
        for (int w = 0; w < (ranks > 1 ? 2 : 1); w++)
            failing(c, who[w]);

    int failed = check_failed, any = 0, passed = check_passed, total = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&passed, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        unlink(saved);
        unlink(target);
        rmdir(tmpdir);
        printf("dist allocation failures (%d ranks): %d passed, %d failed\n", ranks, total, any);
    }
    MPI_Finalize();
    return any ? 1 : 0;
}
