/* A step: reduce-scatter of the gradients into this rank's shard, the
   non-finite policy decided from every shard, the local update, all-gather
   of the parameters. */
#include "dist/internal.h"

#include <limits.h>
#include <string.h>

/* floats of one rank's segment per round of a staged collective */
static size_t round_floats(const rv_dist *d) { return d->staging_floats / (size_t)d->size; }

static size_t shard_len(const rv_dist *d, int r) { return d->bounds[r + 1] - d->bounds[r]; }

static size_t rounds(const rv_dist *d)
{
    size_t largest = 0, per = round_floats(d);
    for (int r = 0; r < d->size; r++)
        largest = shard_len(d, r) > largest ? shard_len(d, r) : largest;
    return per ? (largest + per - 1) / per : 0;
}

/* Rank r's segment of round j: global elements [*lo, *hi). */
static void segment(const rv_dist *d, int r, size_t j, size_t *lo, size_t *hi)
{
    size_t per = round_floats(d), a = d->bounds[r] + j * per, end = d->bounds[r + 1];
    *lo = a < end ? a : end;
    *hi = a + per < end ? a + per : end;
}

rv_status rv_dist_reduce(rv_dist *d)
{
    double t0 = rv_dist_now();
    size_t lo = d->bounds[d->rank], hi = d->bounds[d->rank + 1];
    int rc = MPI_SUCCESS;
    if (d->grads == RV_DIST_GRADS_REDUCED) {
        rv_dist_copy_grads(d, lo, hi, d->shard_grad);
    } else if (!d->staging) {
        /* one call on the caller's flat gradient buffer */
        float *flat_g = rv_dist_flat_base(d, 1);
        rc = MPI_Reduce_scatter(flat_g, d->shard_grad, d->counts, MPI_FLOAT, MPI_SUM, d->comm);
    } else {
        int *counts = d->round_counts;
        size_t n_rounds = rounds(d), per = round_floats(d);
        for (size_t j = 0; j < n_rounds && rc == MPI_SUCCESS; j++) {
            float *at = d->staging;
            for (int r = 0; r < d->size; r++) {
                size_t a, b;
                segment(d, r, j, &a, &b);
                rv_dist_copy_grads(d, a, b, at);
                counts[r] = (int)(b - a);
                at += b - a;
            }
            rc = MPI_Reduce_scatter(d->staging, d->shard_grad + j * per, counts, MPI_FLOAT, MPI_SUM,
                                    d->comm);
        }
    }
    if (rc != MPI_SUCCESS) {
        d->broken = 1;
        return rv_dist_mpi_fail(rc, "MPI_Reduce_scatter");
    }
    if (d->grads != RV_DIST_GRADS_REDUCED)
        d->stats.bytes_sent += (unsigned long long)(d->numel - (hi - lo)) * sizeof(float);
    if (d->grads == RV_DIST_GRADS_MEAN && d->size > 1) {
        float ranks = (float)d->size;
        long n = (long)(hi - lo);
        float *g = d->shard_grad;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= (1L << 16))
#endif
        for (long i = 0; i < n; i++)
            g[i] /= ranks;
    }
    d->reduced = 1;
    d->stats.seconds_reduce += rv_dist_now() - t0;
    return RV_OK;
}

rv_status rv_dist_gather_params(rv_dist *d)
{
    double t0 = rv_dist_now();
    int rc = MPI_SUCCESS;
    if (!d->staging) {
        float *flat_p = rv_dist_flat_base(d, 0);
        if (flat_p)
            rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, flat_p, d->counts, d->displs,
                                MPI_FLOAT, d->comm);
    } else {
        int *counts = d->round_counts;
        int *displs = counts + d->size;
        size_t n_rounds = rounds(d);
        for (size_t j = 0; j < n_rounds && rc == MPI_SUCCESS; j++) {
            int at = 0;
            for (int r = 0; r < d->size; r++) {
                size_t a, b;
                segment(d, r, j, &a, &b);
                counts[r] = (int)(b - a);
                displs[r] = at;
                if (r == d->rank)
                    rv_dist_copy_params_out(d, a, b, d->staging + at);
                at += counts[r];
            }
            rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, d->staging, counts, displs,
                                MPI_FLOAT, d->comm);
            for (int r = 0; r < d->size && rc == MPI_SUCCESS; r++) {
                size_t a, b;
                segment(d, r, j, &a, &b);
                if (r != d->rank)
                    rv_dist_copy_params_in(d, a, b, d->staging + displs[r]);
            }
        }
    }
    d->stats.seconds_gather += rv_dist_now() - t0;
    d->stats.bytes_sent += (unsigned long long)(d->size - 1) *
                           (d->bounds[d->rank + 1] - d->bounds[d->rank]) * sizeof(float);
    if (rc != MPI_SUCCESS) {
        d->broken = 1;
        return rv_dist_mpi_fail(rc, "MPI_Allgatherv");
    }
    return RV_OK;
}

rv_status rv_dist_bcast_params(rv_dist *d, const float *src)
{
    for (size_t t = 0; t < d->n_tensors; t++) {
        rv_param_view v;
        rv_optim_param_view(d->full, t, &v);
        if (!v.n)
            continue;
        if (d->rank == 0)
            memcpy(v.param, src + d->tensors[t].offset, v.n * sizeof(float));
        rv_status s = rv_dist_bcast(d->comm, v.param, v.n * sizeof(float), 0);
        if (s) {
            d->broken = 1;
            return s;
        }
    }
    return RV_OK;
}

/* ---- the step ------------------------------------------------------------- */

static rv_status prepare(rv_dist *d)
{
    rv_status s;
    if (d->broken)
        return rv_fail(RV_ERR_COMM, "this sharded optimizer failed part-way through an earlier "
                                    "call on some rank and can no longer be used");
    if ((s = rv_dist_plan(d)))
        return s;
    if (d->buffers_stale && (s = rv_dist_repoint(d)))
        return s;
    return RV_OK;
}

rv_status rv_dist_prepare(rv_dist *d) { return prepare(d); }

rv_status rv_dist_setup(rv_dist *d)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_setup: optimizer is NULL");
    return rv_dist_begin(d, OP_SETUP, prepare(d), 0);
}

static int takes_part(const rv_dist *d, size_t t)
{
    rv_param_view v;
    rv_optim_param_view(d->full, t, &v);
    return v.grad != NULL;
}

rv_status rv_dist_step(rv_dist *d)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_step: optimizer is NULL");
    rv_status s = prepare(d);
    if (!s && d->eval_mode)
        s = rv_fail(RV_ERR_MODE, "%s is in eval mode (parameters hold x): call rv_dist_train "
                                 "before stepping",
                    rv_optim_type_name(rv_optim_get_type(d->full)));
    for (size_t t = 0; !s && t < d->n_tensors; t++)
        if (d->tensors[t].step == LONG_MAX && takes_part(d, t))
            s = rv_fail(RV_ERR_ARG, "tensor %zu has taken %ld steps, the most a step count holds",
                        t, LONG_MAX);
    if ((s = rv_dist_begin(d, OP_STEP, s, 0)))
        return s;
    if (!d->reduced && (s = rv_dist_reduce(d)))
        return s;
    /* from here a failure discards the reduced gradient (on every rank, as
       the failures below are agreed): the next call reduces anew */
    double t0 = rv_dist_now();
    if (d->nonfinite != RV_NONFINITE_IGNORE) {
        uint64_t at;
        float value;
        if ((s = rv_dist_first_nonfinite(d, &at, &value))) {
            d->reduced = 0;
            return s;
        }
        if (at != UINT64_MAX) {
            d->reduced = 0;
            if (d->nonfinite == RV_NONFINITE_SKIP) {
                d->skipped += d->skipped < LONG_MAX;   /* saturates, as rv_optim_step's */
                return RV_OK;
            }
            size_t t, i;
            const char *name;
            rv_dist_locate(d, (size_t)at, &t, &i, &name);
            return rv_fail(RV_ERR_NONFINITE_GRAD,
                           "non-finite gradient in tensor %zu ('%s') at index %zu: %.9g; step not taken",
                           t, name, i, (double)value);
        }
    }
    /* a tensor's first step allocates its state: the one local step that
       can fail. It is done first, for the local tensors with gradients
       (starting values, what the step would put there), and agreed before any rank
       updates, so that a failure leaves every rank as it was and the
       update itself cannot fail. */
    int first = 0;
    for (size_t t = 0; t < d->n_tensors && !first; t++)
        first = !d->tensors[t].has_state && takes_part(d, t);
    if (first && (s = rv_dist_agree_comm(d->comm, d->rank, rv_optim_prepare_step(d->local)))) {
        d->reduced = 0;
        return s;
    }
    if ((s = rv_optim_step(d->local))) {
        /* not reached (eval mode and step counts are checked above, the
           state exists): ranks that succeeded would have updated */
        d->broken = 1;
        d->reduced = 0;
        return s;
    }
    for (size_t t = 0; t < d->n_tensors; t++)
        if (takes_part(d, t)) {
            d->tensors[t].step++;
            d->tensors[t].has_state = 1;
        }
    if (d->steps < LONG_MAX)
        d->steps++;
    d->reduced = 0;
    d->stats.seconds_update += rv_dist_now() - t0;
    d->stats.steps++;
    return rv_dist_gather_params(d);
}

static rv_status switch_mode(rv_dist *d, int to_eval)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_%s: optimizer is NULL", to_eval ? "eval" : "train");
    rv_status s = rv_dist_begin(d, to_eval ? OP_EVAL : OP_TRAIN, prepare(d), 0);
    const rv_optim_type *type = rv_optim_get_type(d->full);
    if (s || d->eval_mode == to_eval || !type->to_eval)
        return s;   /* only schedule-free keeps two points */
    if ((s = to_eval ? rv_optim_eval(d->local) : rv_optim_train(d->local)))
        return s;
    d->eval_mode = to_eval;
    return rv_dist_gather_params(d);
}

rv_status rv_dist_eval(rv_dist *d) { return switch_mode(d, 1); }
rv_status rv_dist_train(rv_dist *d) { return switch_mode(d, 0); }
