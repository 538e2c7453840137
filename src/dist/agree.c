/* Agreement across ranks. Every collective call starts with one
   fixed-size all-gather of a header: which call this is, the setup
   (algorithm, groups, tensors, options), this step's settings and this
   rank's status so far. Ranks that disagree, or a rank that failed, turn
   into the same error on every rank before any collective whose sizes
   depend on the setup could deadlock. */
#include "dist/internal.h"

#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT 1024

uint64_t rv_dist_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t v) { return rv_dist_hash(h, &v, sizeof v); }
static uint64_t hash_double(uint64_t h, double v) { return rv_dist_hash(h, &v, sizeof v); }

rv_status rv_dist_mpi_fail(int code, const char *call)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", code);
    return rv_fail(RV_ERR_COMM, "%s failed: %s", call, text);
}

/* The header one rank contributes. Only fixed-size fields, compared
   bytewise; the ranks run the same build. */
typedef struct header {
    int32_t op;
    int32_t status;            /* this rank's status so far */
    char optimizer[24];        /* the algorithm's name, for messages */
    uint64_t groups;           /* number of param groups */
    uint64_t group0;           /* hash of group 0's canonical spec (lr left out) */
    uint64_t other_groups;     /* hash of the other groups' specs */
    uint64_t tensors, numel;
    uint64_t layout;           /* hash of sizes, shapes, groups and names */
    uint64_t options;          /* reduction, non-finite policy */
    uint64_t step;             /* hash of this step's settings */
    uint64_t args;             /* hash of the call's own arguments */
    double lr0;                /* group 0's lr, for messages */
    int64_t steps;
} header;

static uint64_t group_hash(const rv_optim *full, size_t g)
{
    rv_hparams h;
    rv_optim_group_hparams(full, g, &h);
    h.lr = 0;   /* the learning rate is a per-step setting */
    char spec[TEXT];
    size_t len = rv_hparams_format(rv_optim_get_type(full), &h, spec, sizeof spec);
    return rv_dist_hash(hash_u64(RV_DIST_HASH_SEED, len), spec, len < sizeof spec ? len : sizeof spec);
}

static void fill_header(const rv_dist *d, dist_op op, rv_status local, uint64_t args, header *out)
{
    memset(out, 0, sizeof *out);
    out->op = (int32_t)op;
    out->status = (int32_t)local;
    out->args = args;
    const rv_optim *full = d->full;
    if (!full)
        return;
    snprintf(out->optimizer, sizeof out->optimizer, "%s", rv_optim_type_name(rv_optim_get_type(full)));
    size_t groups = rv_optim_group_count(full);
    out->groups = groups;
    out->group0 = group_hash(full, 0);
    uint64_t other = RV_DIST_HASH_SEED, step = RV_DIST_HASH_SEED;
    for (size_t g = 0; g < groups; g++) {
        if (g)
            other = hash_u64(other, group_hash(full, g));
        rv_hparams h;
        rv_optim_group_hparams(full, g, &h);
        step = hash_double(step, h.lr);
        if (!g)
            out->lr0 = h.lr;
    }
    out->other_groups = other;
    size_t tensors = rv_optim_param_count(full);
    out->tensors = tensors;
    out->numel = rv_optim_numel(full);
    uint64_t layout = RV_DIST_HASH_SEED;
    for (size_t i = 0; i < tensors; i++) {
        rv_param_view v;
        rv_optim_param_view(full, i, &v);
        layout = hash_u64(layout, v.n);
        layout = hash_u64(layout, v.group);
        layout = hash_u64(layout, (uint64_t)v.has_shape);
        layout = hash_u64(layout, v.ndim);
        for (size_t k = 0; k < v.ndim; k++)
            layout = hash_u64(layout, v.shape[k]);
        layout = rv_dist_hash(layout, v.name, strlen(v.name) + 1);
        step = hash_u64(step, v.grad != NULL);
    }
    out->layout = layout;
    out->options = hash_u64(hash_u64(RV_DIST_HASH_SEED, (uint64_t)d->grads), (uint64_t)d->nonfinite);
    step = hash_u64(step, (uint64_t)d->eval_mode);
    step = hash_u64(step, (uint64_t)d->steps);
    out->step = step;
    out->steps = d->steps;
}

static const char *op_name(int32_t op)
{
    switch (op) {
    case OP_CREATE: return "rv_dist_create";
    case OP_STEP: return "rv_dist_step";
    case OP_NORM: return "rv_dist_grad_norm";
    case OP_CLIP: return "rv_dist_clip_grad_norm";
    case OP_EVAL: return "rv_dist_eval";
    case OP_TRAIN: return "rv_dist_train";
    case OP_SAVE: return "rv_dist_save";
    case OP_LOAD: return "rv_dist_load";
    case OP_SETUP: return "rv_dist_setup";
    default: return "an unknown call";
    }
}

/* Broadcast a text from root into buf (TEXT bytes). */
static int bcast_text(MPI_Comm comm, char *buf, int root)
{
    return MPI_Bcast(buf, TEXT, MPI_CHAR, root, comm);
}

/* The failing root's status and message on every rank. A rank that failed
   itself keeps its own message (and status); the others get the root's,
   prefixed with its rank. */
static rv_status spread(MPI_Comm comm, int root, rv_status own)
{
    char text[TEXT], mine[TEXT];
    snprintf(mine, sizeof mine, "%s", rv_errmsg()[0] ? rv_errmsg() : rv_strerror(own));
    int code = (int)own;
    memcpy(text, mine, sizeof text);
    int rc = MPI_Bcast(&code, 1, MPI_INT, root, comm);
    if (rc == MPI_SUCCESS)
        rc = bcast_text(comm, text, root);
    if (rc != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Bcast");
    if (own)
        return rv_fail(own, "%s", mine);
    return rv_fail((rv_status)code, "rank %d: %s", root, text);
}

/* Describe how rank r's header differs from rank 0's; the spec texts are
   exchanged when group 0 differs (every rank takes this path together). */
static rv_status describe(const rv_dist *d, const header *all, int r)
{
    const header *a = &all[0], *b = &all[r];
    if (a->op != b->op)
        return rv_fail(RV_ERR_RANKS, "ranks disagree on the call: rank 0 is in %s, rank %d in %s",
                       op_name(a->op), r, op_name(b->op));
    if (strcmp(a->optimizer, b->optimizer))
        return rv_fail(RV_ERR_RANKS, "ranks disagree on the optimizer: rank 0 runs %s, rank %d %s",
                       a->optimizer, r, b->optimizer);
    if (a->group0 != b->group0) {
        char mine[TEXT] = "", spec0[TEXT], specr[TEXT];
        if (d->full) {
            rv_hparams h;
            rv_optim_group_hparams(d->full, 0, &h);
            h.lr = 0;
            rv_hparams_format(rv_optim_get_type(d->full), &h, mine, sizeof mine);
        }
        memcpy(spec0, mine, sizeof spec0);
        memcpy(specr, mine, sizeof specr);
        int rc = bcast_text(d->comm, spec0, 0);
        if (rc == MPI_SUCCESS)
            rc = bcast_text(d->comm, specr, r);
        if (rc != MPI_SUCCESS)
            return rv_dist_mpi_fail(rc, "MPI_Bcast");
        return rv_fail(RV_ERR_RANKS,
                       "ranks disagree on the hyperparameters: rank 0 has %s, rank %d %s (lr aside)",
                       spec0, r, specr);
    }
    if (a->groups != b->groups || a->other_groups != b->other_groups)
        return rv_fail(RV_ERR_RANKS,
                       "ranks disagree on the param groups: rank 0 has %" PRIu64 " group(s), rank %d "
                       "%" PRIu64 "%s",
                       a->groups, r, b->groups,
                       a->groups == b->groups ? " with other hyperparameters" : "");
    if (a->numel != b->numel || a->tensors != b->tensors)
        return rv_fail(RV_ERR_RANKS,
                       "ranks disagree on the parameters: rank 0 has %" PRIu64 " element(s) in %" PRIu64
                       " tensor(s), rank %d has %" PRIu64 " in %" PRIu64,
                       a->numel, a->tensors, r, b->numel, b->tensors);
    if (a->layout != b->layout)
        return rv_fail(RV_ERR_RANKS,
                       "ranks disagree on the tensors: rank %d's sizes, shapes, groups or names differ "
                       "from rank 0's (both have %" PRIu64 " elements in %" PRIu64 " tensors)",
                       r, a->numel, a->tensors);
    if (a->options != b->options)
        return rv_fail(RV_ERR_RANKS, "ranks disagree on the options: rank %d's gradient reduction or "
                                     "non-finite policy differs from rank 0's",
                       r);
    if (a->steps != b->steps)
        return rv_fail(RV_ERR_RANKS, "ranks disagree on the step count: rank 0 has taken %" PRId64
                                     " steps, rank %d %" PRId64,
                       a->steps, r, b->steps);
    if (a->lr0 != b->lr0 || (isnan(a->lr0) != isnan(b->lr0)))
        return rv_fail(RV_ERR_RANKS, "ranks disagree on this step's learning rate: rank 0 has %.9g, "
                                     "rank %d %.9g",
                       a->lr0, r, b->lr0);
    if (a->step != b->step)
        return rv_fail(RV_ERR_RANKS, "ranks disagree on this step: rank %d differs from rank 0 in a "
                                     "group's learning rate, which tensors have gradients, or the "
                                     "train/eval mode",
                       r);
    return rv_fail(RV_ERR_RANKS, "ranks disagree on the arguments of %s: rank %d's differ from rank 0's",
                   op_name(a->op), r);
}

/* Phase one is a fixed-size all-reduce whatever the number of ranks: the
   lowest failing rank, and the minimum and maximum of a digest of the
   header. Only when they differ are the headers gathered, to say what
   differs. */
rv_status rv_dist_begin(rv_dist *d, dist_op op, rv_status local, uint64_t args)
{
    header mine;
    fill_header(d, op, local, args, &mine);
    uint64_t digest = rv_dist_hash(RV_DIST_HASH_SEED, (const char *)&mine + 2 * sizeof(int32_t),
                                   sizeof mine - 2 * sizeof(int32_t));
    digest = hash_u64(digest, (uint64_t)mine.op);
    uint64_t v[3] = {local ? ~(uint64_t)d->rank : 0, digest, ~digest}, max[3];
    int rc = MPI_Allreduce(v, max, 3, MPI_UINT64_T, MPI_MAX, d->comm);
    if (rc != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Allreduce");
    if (max[0])
        return spread(d->comm, (int)~max[0], local);
    if (max[1] == ~max[2])
        return RV_OK;
    header *all = malloc((size_t)d->size * sizeof *all);
    int ok = all != NULL, all_ok = 0;
    if ((rc = MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, d->comm)) != MPI_SUCCESS) {
        free(all);
        return rv_dist_mpi_fail(rc, "MPI_Allreduce");
    }
    if (!all_ok) {
        free(all);
        return rv_fail(RV_ERR_RANKS, "the ranks disagree on %s or its setup (out of memory to say "
                                     "how)",
                       op_name(mine.op));
    }
    rc = MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, d->comm);
    if (rc != MPI_SUCCESS) {
        free(all);
        return rv_dist_mpi_fail(rc, "MPI_Allgather");
    }
    rv_status s = RV_ERR_RANKS;
    for (int r = 1; r < d->size; r++)
        if (memcmp(&all[0].optimizer, &all[r].optimizer,
                   sizeof mine - offsetof(header, optimizer)) || all[0].op != all[r].op) {
            s = describe(d, all, r);
            break;
        }
    free(all);
    return s;
}

rv_status rv_dist_agree_comm(MPI_Comm comm, int rank, rv_status local)
{
    uint64_t v = local ? ~(uint64_t)rank : 0, max = 0;
    int rc = MPI_Allreduce(&v, &max, 1, MPI_UINT64_T, MPI_MAX, comm);
    if (rc != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Allreduce");
    return max ? spread(comm, (int)~max, local) : RV_OK;
}

rv_status rv_dist_agree(MPI_Comm comm, rv_status local)
{
    int ready = 0, rank = 0;
    MPI_Initialized(&ready);
    if (!ready)
        return rv_fail(RV_ERR_COMM, "rv_dist_agree: MPI is not initialized");
    int rc = MPI_Comm_rank(comm, &rank);
    if (rc != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Comm_rank");
    return rv_dist_agree_comm(comm, rank, local);
}
