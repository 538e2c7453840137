/* Checkpoints of a sharded optimizer, in the one-process format and through
   the public checkpoint API: rank 0's `full` optimizer (every tensor, the
   caller's parameters) is given the gathered state, step counts and
   scalars and saved with rv_checkpoint_save_at; a load reads the file into
   `full` on rank 0 and hands every rank its shard. Whatever the format
   holds, these files hold, and any number of ranks (or none) reads them. */
#include "dist/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- moving state between rank 0's full view and the shards -------------- */

/* The part of full's state buffer k that a piece covers. */
static float *full_part(const rv_param_view *full, const dist_piece *p, size_t k, int elementwise,
                        size_t *len)
{
    *len = elementwise ? p->len : full->state_len[k];
    return full->state[k] + (elementwise ? p->from : 0);
}

/* What moving state and scalars needs, allocated before the ranks agree
   to go ahead, so that no rank stops for memory while others wait on it:
   rank 0 a list of the pieces of any rank, every rank the scalars of every
   tensor. */
typedef struct scratch {
    dist_piece *pieces;
    double *scalars;
} scratch;

static rv_status scratch_alloc(const rv_dist *d, scratch *x)
{
    size_t most = 0, k = rv_scalar_count(rv_optim_get_type(d->full), NULL), T = d->n_tensors;
    for (int r = 0; d->rank == 0 && r < d->size; r++) {
        size_t n = rv_dist_pieces_of(d, r, NULL);
        most = n > most ? n : most;
    }
    x->pieces = d->rank == 0 ? malloc((most ? most : 1) * sizeof *x->pieces) : NULL;
    x->scalars = k ? malloc((T ? T : 1) * k * sizeof *x->scalars) : NULL;
    if ((d->rank == 0 && !x->pieces) || (k && !x->scalars)) {
        free(x->pieces);
        free(x->scalars);
        *x = (scratch){0};
        return rv_fail(RV_ERR_NOMEM, "out of memory moving optimizer state");
    }
    return RV_OK;
}

static void scratch_free(scratch *x)
{
    free(x->pieces);
    free(x->scalars);
    *x = (scratch){0};
}

/* to_root 1: every piece's state into rank 0's `full`; 0: the reverse, into
   `local` (this rank's local optimizer, possibly a new one). Only
   communication can fail here. */
static rv_status move_state(const rv_dist *d, rv_optim *local, int to_root, const scratch *x)
{
    int elementwise = rv_optim_type_elementwise(rv_optim_get_type(d->full));
    rv_status s = RV_OK;
    if (d->rank != 0) {
        for (size_t i = 0; !s && i < d->n_pieces; i++) {
            const dist_piece *p = &d->pieces[i];
            if (!d->tensors[p->tensor].has_state || !p->len)
                continue;
            rv_param_view v;
            rv_optim_param_view(local, i, &v);
            for (size_t k = 0; !s && k < v.n_state; k++)
                s = to_root ? rv_dist_send(d, v.state[k], v.state_len[k] * sizeof(float), 0)
                            : rv_dist_recv(d, v.state[k], v.state_len[k] * sizeof(float), 0);
        }
        return s;
    }
    dist_piece *pieces = x->pieces;
    for (int r = 0; !s && r < d->size; r++) {
        size_t n = rv_dist_pieces_of(d, r, pieces);
        for (size_t i = 0; !s && i < n; i++) {
            const dist_piece *p = &pieces[i];
            if (!d->tensors[p->tensor].has_state || !p->len)
                continue;
            rv_param_view f, l;
            rv_optim_param_view(d->full, p->tensor, &f);
            if (r == 0)
                rv_optim_param_view(local, i, &l);
            for (size_t k = 0; !s && k < f.n_state; k++) {
                size_t len;
                float *part = full_part(&f, p, k, elementwise, &len);
                if (r == 0 && to_root)
                    memcpy(part, l.state[k], len * sizeof(float));
                else if (r == 0)
                    memcpy(l.state[k], part, len * sizeof(float));
                else
                    s = to_root ? rv_dist_recv(d, part, len * sizeof(float), r)
                                : rv_dist_send(d, part, len * sizeof(float), r);
            }
        }
    }
    return s;
}

/* Per-tensor scalars (nadam's mu_product, sfadamw's lr_max and weight_sum)
   from each tensor's home rank into rank 0's `full`, in one pass over the
   tensors: homes rise with the tensor index, so each rank's tensors form a
   run, sent as one message (this rank's pieces, in tensor order, are
   walked alongside). */
static rv_status gather_scalars(const rv_dist *d, const scratch *x)
{
    size_t k = rv_scalar_count(rv_optim_get_type(d->full), NULL), T = d->n_tensors;
    if (!k)
        return RV_OK;
    double *buf = x->scalars;
    rv_status s = RV_OK;
    size_t t = 0, piece = 0, slots = 0;
    while (!s && t < T) {
        int r = d->tensors[t].home;
        size_t t0 = t, first = slots;
        for (; t < T && d->tensors[t].home == r; t++) {
            if (!d->tensors[t].has_state)
                continue;
            if (d->rank == r) {
                while (piece < d->n_pieces && d->pieces[piece].tensor < t)
                    piece++;
                rv_param_view v;
                rv_optim_param_view(d->local, piece, &v);
                memcpy(buf + slots * k, v.scalar, k * sizeof *buf);
            }
            slots++;
        }
        size_t n = slots - first;
        if (!n)
            continue;
        if (r != 0 && d->rank == r)
            s = rv_dist_send(d, buf + first * k, n * k * sizeof *buf, 0);
        else if (r != 0 && d->rank == 0)
            s = rv_dist_recv(d, buf + first * k, n * k * sizeof *buf, r);
        for (size_t u = t0; !s && d->rank == 0 && u < t; u++)
            if (d->tensors[u].has_state)
                rv_optim_set_param_scalars(d->full, u, buf + k * first++);
    }
    return s;
}

/* ---- save ------------------------------------------------------------------- */

rv_status rv_dist_save(rv_dist *d, const char *schedule_spec, long schedule_step, const char *path)
{
    return rv_dist_save_extra(d, schedule_spec, schedule_step, NULL, 0, path);
}

rv_status rv_dist_save_extra(rv_dist *d, const char *schedule_spec, long schedule_step,
                             const rv_checkpoint_extra *extra, size_t n_extra, const char *path)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_save: optimizer is NULL");
    rv_status s = rv_dist_begin(d, OP_SAVE, rv_dist_prepare(d), 0);
    if (s)
        return s;
    int any = 0;
    for (size_t t = 0; t < d->n_tensors; t++)
        any |= d->tensors[t].has_state;
    scratch x;
    rv_status root = scratch_alloc(d, &x);
    if (!root && d->rank == 0) {
        if (any)
            root = rv_optim_ensure_state(d->full);
        for (size_t t = 0; !root && t < d->n_tensors; t++)
            root = rv_optim_set_param_step(d->full, t, d->tensors[t].step);
        if (!root)
            root = rv_optim_set_step_count(d->full, d->steps);
        if (!root)
            root = rv_optim_set_skipped_count(d->full, d->skipped);
    }
    if ((s = rv_dist_agree_comm(d->comm, d->rank, root))) {
        if (d->rank == 0)
            rv_optim_zero_state(d->full);
        scratch_free(&x);
        return s;
    }
    /* from here on only communication can fail */
    if (any)
        s = move_state(d, d->local, 1, &x);
    if (!s)
        s = gather_scalars(d, &x);
    scratch_free(&x);
    if (d->rank == 0) {
        /* the parameters hold what the sharded optimizer's mode says */
        rv_optim_mark_mode(d->full, d->eval_mode);
        if (!s)
            root = rv_checkpoint_save_extra(d->full, schedule_spec, schedule_step, extra, n_extra,
                                            path);
        rv_optim_zero_state(d->full);   /* rank 0 holds the full state only while saving */
    }
    /* every rank reaches this agreement, also one whose messages failed */
    rv_status all = rv_dist_agree_comm(d->comm, d->rank, s ? s : root);
    if (s)
        d->broken = 1;   /* the ranks' messages may be out of step */
    return all;
}

/* ---- a file's description, from rank 0 to every rank ---------------------- */

/* One text: its length (with the terminator, 0 for NULL), then its bytes. */
static rv_status bcast_text(MPI_Comm comm, int rank, char **text)
{
    uint64_t len = rank == 0 && *text ? strlen(*text) + 1 : 0;
    rv_status s = rv_dist_bcast(comm, &len, sizeof len, 0);
    if (s || !len)
        return s;
    /* every rank learns whether every other has room before the text moves */
    rv_status mine = RV_OK;
    if (rank != 0 && !(*text = malloc((size_t)len)))
        mine = rv_fail(RV_ERR_NOMEM, "out of memory for a checkpoint's description");
    if ((s = rv_dist_agree_comm(comm, rank, mine)))
        return s;
    return rv_dist_bcast(comm, *text, (size_t)len, 0);
}

/* The tensors' descriptions: their numbers as they are, then their keys
   in one text, each ended by its NUL. */
static rv_status bcast_tensors(MPI_Comm comm, int rank, rv_checkpoint_tensor_info *t, size_t n)
{
    rv_status s = rv_dist_bcast(comm, t, n * sizeof *t, 0);
    uint64_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (rank != 0)
            t[i].key = NULL;   /* rank 0's pointers */
        else
            len += strlen(t[i].key) + 1;
    }
    if (s || (s = rv_dist_bcast(comm, &len, sizeof len, 0)))
        return s;
    char *keys = malloc(len ? (size_t)len : 1);
    if ((s = rv_dist_agree_comm(comm, rank, keys ? RV_OK
                                                 : rv_fail(RV_ERR_NOMEM, "out of memory for a "
                                                                         "checkpoint's description")))) {
        free(keys);
        return s;
    }
    for (size_t i = 0, at = 0; rank == 0 && i < n; i++) {
        memcpy(keys + at, t[i].key, strlen(t[i].key) + 1);
        at += strlen(t[i].key) + 1;
    }
    if (!(s = rv_dist_bcast(comm, keys, (size_t)len, 0)) && rank != 0) {
        for (size_t i = 0, at = 0; !s && i < n && at < len; i++) {
            size_t k = strlen(keys + at) + 1;
            if (!(t[i].key = malloc(k)))
                s = rv_fail(RV_ERR_NOMEM, "out of memory for a checkpoint's description");
            else
                memcpy(t[i].key, keys + at, k);
            at += k;
        }
    }
    free(keys);
    return rv_dist_agree_comm(comm, rank, s);
}

/* rv_checkpoint_info holds allocated texts: the numbers travel as they are,
   the texts one by one, and every rank ends with its own allocations (free
   them with rv_checkpoint_info_free). On failure *info holds nothing to free. */
static rv_status bcast_info(MPI_Comm comm, int rank, rv_checkpoint_info *info)
{
    rv_checkpoint_info mine = *info;
    rv_status s = rv_dist_bcast(comm, info, sizeof *info, 0);
    if (s)
        return s;
    size_t T = info->n_params;
    if (rank != 0) {
        info->optimizer = info->schedule = NULL;
        info->extra = NULL;
        info->tensors = NULL;
        size_t n = info->n_extra;
        info->n_extra = 0;
        if (n && !(info->extra = calloc(n, sizeof *info->extra)))
            s = rv_fail(RV_ERR_NOMEM, "out of memory for a checkpoint's description");
        else
            info->n_extra = n;
        if (!s && !(info->tensors = calloc(T ? T : 1, sizeof *info->tensors)))
            s = rv_fail(RV_ERR_NOMEM, "out of memory for a checkpoint's description");
    } else {
        *info = mine;
    }
    if ((s = rv_dist_agree_comm(comm, rank, s))) {
        if (rank != 0)
            rv_checkpoint_info_free(info);
        return s;
    }
    if (!(s = bcast_text(comm, rank, &info->optimizer)))
        s = bcast_text(comm, rank, &info->schedule);
    for (size_t i = 0; !s && i < info->n_extra; i++) {
        char *key = (char *)info->extra[i].key, *value = (char *)info->extra[i].value;
        if (!(s = bcast_text(comm, rank, &key)))
            s = bcast_text(comm, rank, &value);
        info->extra[i].key = key;
        info->extra[i].value = value;
    }
    if (!s)
        s = bcast_tensors(comm, rank, info->tensors, T);
    if (s && rank != 0)
        rv_checkpoint_info_free(info);
    return s;
}

/* ---- load ------------------------------------------------------------------- */

/* What rank 0 read, for every rank. */
typedef struct loaded {
    rv_checkpoint_info info;
    long steps, skipped;
    int eval;            /* the file's mode */
} loaded;

/* RV_ERR_STATE_PRECISION unless every group and every loaded state buffer
   of o is float32: a file saved with state=bf16|int8 is refused before any
   rank changes (the sharded optimizer keeps float32 state). */
static rv_status float32_state(const rv_optim *o, const char *path)
{
    char prefix[1100];
    snprintf(prefix, sizeof prefix, "checkpoint '%.1000s': ", path);
    rv_status s = rv_dist_check_groups(o, prefix);
    for (size_t t = 0; !s && t < rv_optim_param_count(o); t++) {
        rv_param_view v;
        rv_optim_param_view(o, t, &v);
        for (size_t k = 0; !s && k < v.n_state; k++)
            if (v.state_data[k] && v.state_precision[k] != RV_FP32)
                s = rv_fail(RV_ERR_STATE_PRECISION,
                            "%stensor %zu ('%s'): state '%s' is not float32; the sharded optimizer "
                            "keeps float32 state",
                            prefix, t, v.name, v.state_name[k]);
    }
    return s;
}

/* rv_checkpoint_load into `full` on rank 0, with its parameters pointed at
   tmp so that the caller's stay untouched until every rank is ready; on
   failure `full` keeps its groups. */
static rv_status read_on_root(rv_dist *d, const char *path, const rv_checkpoint_options *options,
                              float *tmp, const rv_hparams *before, loaded *out)
{
    /* the caller puts the parameter pointers back afterwards */
    for (size_t t = 0; t < d->n_tensors; t++) {
        rv_param_view v;
        rv_optim_param_view(d->full, t, &v);
        rv_optim_set_buffers(d->full, t, v.n ? tmp + d->tensors[t].offset : v.param, v.grad);
    }
    rv_status s = rv_checkpoint_load(d->full, path, options, &out->info);
    if (!s && (s = float32_state(d->full, path)))
        rv_checkpoint_info_free(&out->info);
    if (s) {
        /* the state first: a group keeps its precision while it holds state */
        rv_optim_zero_state(d->full);
        for (size_t g = 0; g < rv_optim_group_count(d->full); g++)
            rv_optim_group_set_hparams(d->full, g, &before[g]);
    } else {
        out->steps = rv_optim_step_count(d->full);
        out->skipped = rv_optim_skipped_count(d->full);
        out->eval = !rv_optim_is_training(d->full);
    }
    return s;
}

rv_status rv_dist_load(rv_dist *d, const char *path, const rv_checkpoint_options *options,
                       rv_checkpoint_info *info)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_load: optimizer is NULL");
    rv_status s = rv_dist_begin(d, OP_LOAD, rv_dist_prepare(d), 0);
    if (s)
        return s;
    size_t T = d->n_tensors, G = rv_optim_group_count(d->full), N = d->numel;
    size_t K = rv_scalar_count(rv_optim_get_type(d->full), NULL);
    /* the caller's parameter pointers, to restore after reading into tmp,
       and the groups as they were */
    float **params = malloc((T ? T : 1) * sizeof *params);
    rv_hparams *before = malloc((G ? G : 1) * sizeof *before);
    float *tmp = d->rank == 0 ? malloc((N ? N : 1) * sizeof *tmp) : NULL;
    loaded meta;
    memset(&meta, 0, sizeof meta);
    rv_optim *fresh = NULL;
    scratch x = {0};
    int any = 0;
    rv_status root = params && before && (d->rank || tmp)
                         ? RV_OK
                         : rv_fail(RV_ERR_NOMEM, "out of memory loading a checkpoint");
    for (size_t g = 0; before && g < G; g++)
        rv_optim_group_hparams(d->full, g, &before[g]);
    for (size_t t = 0; params && t < T; t++) {
        rv_param_view v;
        rv_optim_param_view(d->full, t, &v);
        params[t] = v.param;
    }
    if (!root && d->rank == 0) {
        root = read_on_root(d, path, options, tmp, before, &meta);
        for (size_t t = 0; t < T; t++) {
            rv_param_view v;
            rv_optim_param_view(d->full, t, &v);
            rv_optim_set_buffers(d->full, t, params[t], v.grad);
        }
    }
    if ((s = rv_dist_agree_comm(d->comm, d->rank, root))) {
        rv_checkpoint_info_free(&meta.info);
        free(params);
        free(before);
        free(tmp);
        return s;
    }

    /* what every rank needs: counts, groups, per-tensor steps, state flags, scalars */
    rv_hparams *groups = malloc((G ? G : 1) * sizeof *groups);
    int64_t *per = malloc((T ? T : 1) * 2 * sizeof *per);
    double *scalars = malloc((T ? T : 1) * (K ? K : 1) * sizeof *scalars);
    rv_status mine = groups && per && scalars ? RV_OK
                                             : rv_fail(RV_ERR_NOMEM, "out of memory loading a checkpoint");
    if ((s = rv_dist_agree_comm(d->comm, d->rank, mine)))
        goto fail;
    if (d->rank == 0) {
        for (size_t g = 0; g < G; g++)
            rv_optim_group_hparams(d->full, g, &groups[g]);
        for (size_t t = 0; t < T; t++) {
            rv_param_view v;
            rv_optim_param_view(d->full, t, &v);
            per[2 * t] = v.step;
            per[2 * t + 1] = v.n ? v.state_data[0] != NULL || !v.n_state : v.step > 0;
            memcpy(scalars + t * K, v.scalar, K * sizeof *scalars);
        }
    }
    if ((s = rv_dist_bcast(d->comm, &meta.steps, sizeof meta.steps, 0)) ||
        (s = rv_dist_bcast(d->comm, &meta.skipped, sizeof meta.skipped, 0)) ||
        (s = rv_dist_bcast(d->comm, &meta.eval, sizeof meta.eval, 0)) ||
        (s = bcast_info(d->comm, d->rank, &meta.info)) ||
        (s = rv_dist_bcast(d->comm, groups, G * sizeof *groups, 0)) ||
        (s = rv_dist_bcast(d->comm, per, T * 2 * sizeof *per, 0)) ||
        (K && (s = rv_dist_bcast(d->comm, scalars, T * K * sizeof *scalars, 0)))) {
        /* bcast_info's allocation failures are agreed by every rank (nothing
           has changed yet); a failed message may leave the ranks out of step */
        if (s == RV_ERR_COMM)
            d->broken = 1;
        goto fail;
    }

    /* a new local optimizer with the file's groups, its state allocated;
       full takes the file's groups to build it, and gets `before` back if
       any rank fails */
    for (size_t t = 0; t < T; t++)
        any |= per[2 * t + 1] != 0;
    mine = RV_OK;
    for (size_t g = 0; !mine && g < G; g++)
        mine = rv_optim_group_set_hparams(d->full, g, &groups[g]);
    if (!mine)
        mine = rv_dist_build_local(d, &fresh);
    if (!mine)
        mine = scratch_alloc(d, &x);
    if (!mine && any)
        mine = rv_optim_ensure_state(fresh);
    for (size_t i = 0; !mine && i < d->n_pieces; i++) {
        size_t t = d->pieces[i].tensor;
        mine = rv_optim_set_param_step(fresh, i, (long)per[2 * t]);
        if (!mine && K && per[2 * t + 1])
            mine = rv_optim_set_param_scalars(fresh, i, scalars + t * K);
    }
    if (!mine)
        mine = rv_optim_set_step_count(fresh, meta.steps);
    if (!mine)
        rv_optim_mark_mode(fresh, meta.eval);   /* the loaded parameters are x or y as saved */
    if ((s = rv_dist_agree_comm(d->comm, d->rank, mine))) {
        rv_optim_free(fresh);
        goto fail;
    }

    /* from here on only communication can fail */
    for (size_t t = 0; t < T; t++) {
        d->tensors[t].step = (long)per[2 * t];
        d->tensors[t].has_state = per[2 * t + 1] != 0;
    }
    if ((s = rv_dist_bcast_params(d, tmp)) || (any && (s = move_state(d, fresh, 0, &x)))) {
        d->broken = 1;
        rv_optim_free(fresh);
        goto fail;
    }
    rv_optim_free(d->local);
    d->local = fresh;
    d->steps = meta.steps;
    d->skipped = meta.skipped;
    d->eval_mode = meta.eval && rv_optim_get_type(d->full)->to_eval;
    d->reduced = 0;
    if (info)
        *info = meta.info;
    else
        rv_checkpoint_info_free(&meta.info);
    meta.info = (rv_checkpoint_info){0};
    s = RV_OK;
fail:
    scratch_free(&x);
    rv_checkpoint_info_free(&meta.info);
    if (d->rank == 0)
        rv_optim_zero_state(d->full);   /* rank 0 holds the full state only while loading */
    for (size_t g = 0; s && g < G; g++)   /* failed: the groups as they were */
        rv_optim_group_set_hparams(d->full, g, &before[g]);
    free(groups);
    free(per);
    free(scalars);
    free(params);
    free(before);
    free(tmp);
    return s;
}

rv_status rv_dist_inspect(MPI_Comm comm, const char *path, rv_checkpoint_info *info)
{
    int ready = 0, rank = 0;
    MPI_Initialized(&ready);
    if (!ready)
        return rv_fail(RV_ERR_COMM, "rv_dist_inspect: MPI is not initialized");
    int rc = MPI_Comm_rank(comm, &rank);
    if (rc != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Comm_rank");
    rv_checkpoint_info got;
    memset(&got, 0, sizeof got);
    rv_status s = rank == 0 ? rv_checkpoint_inspect(path, &got) : RV_OK;
    if ((s = rv_dist_agree_comm(comm, rank, s)))
        return s;
    if ((s = bcast_info(comm, rank, &got))) {
        if (rank == 0)
            rv_checkpoint_info_free(&got);
        return s;
    }
    if (info)
        *info = got;
    else
        rv_checkpoint_info_free(&got);
    return RV_OK;
}
