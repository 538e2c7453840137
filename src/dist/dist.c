/* The sharded optimizer's life cycle, setup calls and queries. Setup calls
   go through the `full` optimizer, so they check exactly what rv_optim
   checks, with its messages; the ranks compare the result at the next
   collective call. */
#include "dist/internal.h"
#include "optim/precision.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUCKET ((size_t)1 << 22)

static rv_status create(rv_dist **out, MPI_Comm comm, const rv_optim_type *type,
                        const rv_hparams *h, const char *spec)
{
    int ready = 0, done = 0;
    MPI_Initialized(&ready);
    MPI_Finalized(&done);
    if (!ready || done)
        return rv_fail(RV_ERR_COMM, "rv_dist_create: MPI is %s (the caller initialises it)",
                       done ? "already finalized" : "not initialized: call MPI_Init first");
    if (comm == MPI_COMM_NULL)
        return rv_fail(RV_ERR_ARG, "rv_dist_create: the communicator is MPI_COMM_NULL");
    MPI_Comm dup;
    int rc = MPI_Comm_dup(comm, &dup);
    if (rc != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Comm_dup");
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);

    /* a stand-in keeps this rank in the collective when allocation fails */
    rv_dist stand_in = {0}, *d = calloc(1, sizeof *d);
    rv_status s = RV_OK;
    if (!out)
        s = rv_fail(RV_ERR_NULL, "rv_dist_create: out is NULL");
    else if (!d)
        s = rv_fail(RV_ERR_NOMEM, "out of memory creating a sharded optimizer");
    rv_dist *use = d ? d : &stand_in;
    use->comm = dup;
    MPI_Comm_rank(dup, &use->rank);
    MPI_Comm_size(dup, &use->size);
    use->bucket = DEFAULT_BUCKET;
    if (!s && spec)
        s = rv_optim_create_spec(&use->full, spec);
    else if (!s)
        s = rv_optim_create(&use->full, type, h);
    if (!s)
        s = rv_dist_check_groups(use->full, "rv_dist_create: ");
    s = rv_dist_begin(use, OP_CREATE, s, 0);
    if (s) {
        rv_optim_free(use->full);
        free(d);
        MPI_Comm_free(&dup);
        return s;
    }
    *out = d;
    return RV_OK;
}

rv_status rv_dist_create(rv_dist **out, MPI_Comm comm, const rv_optim_type *type,
                         const rv_hparams *h)
{
    return create(out, comm, type, h, NULL);
}

rv_status rv_dist_create_spec(rv_dist **out, MPI_Comm comm, const char *spec)
{
    return create(out, comm, NULL, NULL, spec ? spec : "");
}

void rv_dist_free(rv_dist *d)
{
    if (!d)
        return;
    int done = 0;
    MPI_Finalized(&done);
    if (!done)
        MPI_Comm_free(&d->comm);
    rv_optim_free(d->full);
    rv_dist_unplan(d);
    free(d->staging);
    free(d);
}

/* ---- setup ---------------------------------------------------------------- */

static rv_status fixed(const rv_dist *d, const char *call)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "%s: optimizer is NULL", call);
    if (d->planned)
        return rv_fail(RV_ERR_ARG, "%s: the tensors and groups of a sharded optimizer are fixed "
                                   "by its first step, save or load; add them all before",
                       call);
    return RV_OK;
}

rv_status rv_dist_add_group(rv_dist *d, const rv_hparams *h, size_t *group)
{
    rv_status s = fixed(d, "rv_dist_add_group");
    if (!s)
        s = rv_dist_check_state(h, "", rv_optim_group_count(d->full));
    return s ? s : rv_optim_add_group(d->full, h, group);
}

rv_status rv_dist_add_group_spec(rv_dist *d, const char *overrides, size_t *group)
{
    rv_status s = fixed(d, "rv_dist_add_group_spec");
    if (s)
        return s;
    if (!overrides)
        return rv_optim_add_group_spec(d->full, overrides, group);   /* its NULL message */
    /* as rv_optim_add_group_spec, with the group checked before it exists */
    rv_hparams h;
    rv_optim_group_hparams(d->full, 0, &h);
    if (!(s = rv_hparams_override(rv_optim_get_type(d->full), &h, overrides)))
        s = rv_dist_check_state(&h, "", rv_optim_group_count(d->full));
    return s ? s : rv_optim_add_group(d->full, &h, group);
}

rv_status rv_dist_add_param(rv_dist *d, size_t group, const char *name, float *param,
                            float *grad, size_t n, size_t *index)
{
    rv_status s = fixed(d, "rv_dist_add_param");
    return s ? s : rv_optim_add_param(d->full, group, name, param, grad, n, index);
}

rv_status rv_dist_add_param_shaped(rv_dist *d, size_t group, const char *name, float *param,
                                   float *grad, size_t ndim, const size_t *shape, size_t *index)
{
    rv_status s = fixed(d, "rv_dist_add_param_shaped");
    return s ? s : rv_optim_add_param_shaped(d->full, group, name, param, grad, ndim, shape, index);
}

rv_status rv_dist_set_buffers(rv_dist *d, size_t index, float *param, float *grad)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_set_buffers: optimizer is NULL");
    rv_status s = rv_optim_set_buffers(d->full, index, param, grad);
    if (!s)
        d->buffers_stale = 1;
    return s;
}

rv_status rv_dist_set_grads(rv_dist *d, rv_dist_grads how)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_set_grads: optimizer is NULL");
    if (how != RV_DIST_GRADS_MEAN && how != RV_DIST_GRADS_SUM && how != RV_DIST_GRADS_REDUCED)
        return rv_fail(RV_ERR_ARG, "unknown gradient reduction %d", (int)how);
    if (d->reduced && how != d->grads)
        return rv_fail(RV_ERR_ARG, "rv_dist_set_grads: this step's gradient is already reduced; "
                                   "change the reduction between steps");
    d->grads = how;
    d->buffers_stale = 1;   /* the staging need may change */
    return RV_OK;
}

rv_status rv_dist_set_nonfinite(rv_dist *d, rv_nonfinite_policy policy)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_set_nonfinite: optimizer is NULL");
    rv_status s = rv_optim_set_nonfinite(d->full, policy);   /* checks the value */
    if (!s)
        d->nonfinite = policy;
    return s;
}

rv_status rv_dist_set_threads(rv_dist *d, int threads)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_set_threads: optimizer is NULL");
    rv_status s = rv_optim_set_threads(d->full, threads);
    if (!s && d->local)
        s = rv_optim_set_threads(d->local, threads);
    if (!s)
        d->threads = threads;
    return s;
}

rv_status rv_dist_set_bucket(rv_dist *d, size_t floats)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_set_bucket: optimizer is NULL");
    size_t least = RV_DIST_LINE * (size_t)d->size;
    if (floats < least || floats > ((size_t)1 << 40))
        return rv_fail(RV_ERR_ARG, "bucket must be in [%zu, 2^40] floats (16 per rank at least), "
                                   "got %zu",
                       least, floats);
    if (d->planned)
        return rv_fail(RV_ERR_ARG, "rv_dist_set_bucket: set the bucket before the first step");
    d->bucket = floats;
    return RV_OK;
}

rv_status rv_dist_set_lr(rv_dist *d, double lr)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_set_lr: optimizer is NULL");
    rv_status s = rv_optim_set_lr(d->full, lr);
    if (!s && d->local)
        s = rv_optim_set_lr(d->local, lr);
    return s;
}

rv_status rv_dist_group_set_lr(rv_dist *d, size_t group, double lr)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_group_set_lr: optimizer is NULL");
    rv_status s = rv_optim_group_set_lr(d->full, group, lr);
    if (!s && d->local)
        s = rv_optim_group_set_lr(d->local, group, lr);
    return s;
}

rv_status rv_dist_group_hparams(const rv_dist *d, size_t group, rv_hparams *out)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_group_hparams: optimizer is NULL");
    return rv_optim_group_hparams(d->full, group, out);
}

rv_status rv_dist_group_set_hparams(rv_dist *d, size_t group, const rv_hparams *h)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_group_set_hparams: optimizer is NULL");
    if (h && group < rv_optim_group_count(d->full)) {
        rv_status refused = rv_dist_check_state(h, "", group);
        if (refused)
            return refused;
    }
    /* the local optimizer holds state, so it checks first; full has none */
    rv_status s = d->local ? rv_optim_group_set_hparams(d->local, group, h) : RV_OK;
    if (!s && (s = rv_optim_group_set_hparams(d->full, group, h)) && d->local) {
        rv_hparams back;
        rv_optim_group_hparams(d->full, group, &back);
        rv_optim_group_set_hparams(d->local, group, &back);
    }
    return s;
}

/* ---- queries -------------------------------------------------------------- */

const rv_optim_type *rv_dist_get_type(const rv_dist *d) { return d ? rv_optim_get_type(d->full) : NULL; }
long rv_dist_step_count(const rv_dist *d) { return d ? d->steps : 0; }
long rv_dist_skipped_count(const rv_dist *d) { return d ? d->skipped : 0; }
size_t rv_dist_param_count(const rv_dist *d) { return d ? rv_optim_param_count(d->full) : 0; }
size_t rv_dist_numel(const rv_dist *d) { return d ? rv_optim_numel(d->full) : 0; }
int rv_dist_is_training(const rv_dist *d) { return d ? !d->eval_mode : 1; }

rv_status rv_dist_stats_get(const rv_dist *d, rv_dist_stats *out)
{
    if (!d || !out)
        return rv_fail(RV_ERR_NULL, "rv_dist_stats_get: NULL argument");
    rv_dist_stats st = d->stats;
    st.rank = d->rank;
    st.ranks = d->size;
    st.numel = rv_optim_numel(d->full);
    st.shard_begin = d->bounds ? d->bounds[d->rank] : 0;
    st.shard_end = d->bounds ? d->bounds[d->rank + 1] : 0;
    st.pieces = d->n_pieces;
    st.state_bytes = 0;
    for (size_t i = 0; d->local && i < d->n_pieces; i++) {
        rv_param_view v;
        rv_optim_param_view(d->local, i, &v);
        for (size_t k = 0; k < v.n_state; k++)
            if (v.state_data[k])   /* (float32 in practice: see rv_dist_check_state) */
                st.state_bytes += v.state_precision[k] == RV_FP32
                                      ? v.state_len[k] * sizeof(float)
                                      : rv_buffer_bytes(v.state_precision[k], v.state_len[k]);
    }
    st.buffer_bytes = (d->shard_grad ? (st.shard_end - st.shard_begin) * sizeof(float) : 0) +
                      d->staging_floats * sizeof(float);
    st.flat = d->local && rv_dist_flat_params(d) &&
              (d->grads == RV_DIST_GRADS_REDUCED || rv_dist_flat_grads(d));
    *out = st;
    return RV_OK;
}
