/* Global norms and non-finite checks over the shards, decided the same way
   on every rank.

   The norm's sums follow the fixed order of clip/norm_tree.h, so they are
   the bits rv_clip_grad_norm computes in one process. Each rank sums what
   lies in its shard: a tensor it holds whole gives one item (the tensor's
   sum), a block it holds whole one item (the block's sum), and a block cut
   by a shard boundary one item per line (shards cut tensors at multiples
   of a line, so lines are never cut). The items of all ranks are
   all-gathered and folded in the fixed order by every rank alike. */
#include "dist/internal.h"
#include "clip/norm_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- locating elements ----------------------------------------------------- */

void rv_dist_locate(const rv_dist *d, size_t x, size_t *tensor, size_t *index, const char **name)
{
    size_t t = rv_dist_tensor_at(d, x);
    rv_param_view v;
    rv_optim_param_view(d->full, t, &v);
    *tensor = t;
    *index = x - d->tensors[t].offset;
    *name = v.name;
}

static unsigned char *taking_part(const rv_dist *d)
{
    unsigned char *part = malloc(d->n_tensors ? d->n_tensors : 1);
    for (size_t t = 0; part && t < d->n_tensors; t++) {
        rv_param_view v;
        rv_optim_param_view(d->full, t, &v);
        part[t] = v.grad != NULL && v.n > 0;
    }
    return part;
}

rv_status rv_dist_first_nonfinite(rv_dist *d, uint64_t *index, float *value)
{
    uint64_t first = UINT64_MAX;
    size_t lo = d->bounds[d->rank];
    for (size_t i = 0; i < d->n_pieces && first == UINT64_MAX; i++) {
        const dist_piece *p = &d->pieces[i];
        rv_param_view v;
        rv_optim_param_view(d->local, i, &v);
        if (!v.grad || !p->len)
            continue;
        size_t base = d->tensors[p->tensor].offset + p->from;
        const float *g = d->shard_grad + (base - lo);
        long n = (long)p->len;
        uint64_t f = UINT64_MAX;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(min : f) if (n >= (1L << 16))
#endif
        for (long j = 0; j < n; j++)
            if (!isfinite(g[j]) && (uint64_t)j < f)
                f = (uint64_t)j;
        if (f != UINT64_MAX)
            first = base + f;
    }
    int rc = MPI_Allreduce(&first, index, 1, MPI_UINT64_T, MPI_MIN, d->comm);
    if (rc != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Allreduce");
    *value = 0;
    if (*index == UINT64_MAX)
        return RV_OK;
    int owner = rv_dist_owner(d, (size_t)*index);
    if (owner == d->rank)
        *value = d->shard_grad[*index - lo];
    if ((rc = MPI_Bcast(value, 1, MPI_FLOAT, owner, d->comm)) != MPI_SUCCESS)
        return rv_dist_mpi_fail(rc, "MPI_Bcast");
    return RV_OK;
}

/* ---- the norm's items -------------------------------------------------------- */

/* A block of a tensor, cut to a rank's range: elements [i, i + len) of the tensor. */
typedef struct unit {
    size_t tensor, i, len;
    int whole_block;    /* the block lies entirely in the range */
    int whole_tensor;   /* so does the whole tensor */
} unit;

/* The units of rank r in order (count only when out is NULL). */
static size_t units_of(const rv_dist *d, int r, const unsigned char *part, unit *out)
{
    size_t a = d->bounds[r], b = d->bounds[r + 1], k = 0;
    for (size_t t = 0; t < d->n_tensors; t++) {
        if (!part[t])
            continue;
        size_t o = d->tensors[t].offset, n = d->tensors[t].n;
        size_t lo = o > a ? 0 : a - o, hi = o + n < b ? n : b - o;   /* tensor-relative */
        if (a >= o + n || b <= o || lo >= hi)
            continue;
        int whole = o >= a && o + n <= b;
        for (size_t i = lo / RV_NORM_BLOCK * RV_NORM_BLOCK; i < hi; i = rv_norm_block_end(i, n)) {
            size_t end = rv_norm_block_end(i, n);
            size_t ulo = i > lo ? i : lo, uhi = end < hi ? end : hi;
            if (out)
                out[k] = (unit){t, ulo, uhi - ulo, ulo == i && uhi == end, whole};
            k++;
        }
    }
    return k;
}

static size_t lines_in(size_t i, size_t len)
{
    size_t k = 0;
    for (size_t end = i + len; i < end; i = rv_norm_line_end(i, end))
        k++;
    return k;
}

/* Items of rank r: a whole tensor's units make one item, a whole block one,
   a cut block one per line. */
static size_t items_of(const unit *u, size_t n_units)
{
    size_t k = 0;
    for (size_t i = 0; i < n_units; i++) {
        if (u[i].whole_tensor)
            k += i + 1 == n_units || u[i + 1].tensor != u[i].tensor || !u[i + 1].whole_tensor;
        else if (u[i].whole_block)
            k++;
        else
            k += lines_in(u[i].i, u[i].len);
    }
    return k;
}

/* The shard's gradient of element i of tensor t. */
static const float *shard_at(const rv_dist *d, size_t t, size_t i)
{
    return d->shard_grad + (d->tensors[t].offset + i - d->bounds[d->rank]);
}

/* This rank's items, in order. */
static void my_items(const rv_dist *d, const unit *u, size_t n_units, double p, double *block,
                     double *items)
{
    size_t total = d->bounds[d->rank + 1] - d->bounds[d->rank];
    long n = (long)n_units;
    (void)total;
#ifdef _OPENMP
    int threads = d->threads > 0 ? d->threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (total >= (1u << 16))
#endif
    for (long k = 0; k < n; k++)
        block[k] = u[k].whole_block ? rv_norm_block(shard_at(d, u[k].tensor, u[k].i), u[k].i,
                                                    u[k].len, p)
                                    : 0;
    size_t k = 0;
    for (size_t j = 0; j < n_units; j++) {
        if (u[j].whole_tensor) {
            double acc = 0;
            size_t t = u[j].tensor;
            for (; j < n_units && u[j].tensor == t; j++)
                acc = rv_norm_fold(acc, block[j], p);
            j--;
            items[k++] = acc;
        } else if (u[j].whole_block) {
            items[k++] = block[j];
        } else {
            for (size_t i = u[j].i, end = i + u[j].len; i < end;) {
                size_t to = rv_norm_line_end(i, end);
                items[k++] = rv_norm_line(shard_at(d, u[j].tensor, i), i, to - i, p);
                i = to;
            }
        }
    }
}

/* Every tensor's sum, from all ranks' items, in the fixed order. */
static void fold_items(const rv_dist *d, const unsigned char *part, const double *items,
                       size_t *cursor, double p, double *sums)
{
    for (size_t t = 0; t < d->n_tensors; t++) {
        sums[t] = 0;
        if (!part[t])
            continue;
        size_t o = d->tensors[t].offset, n = d->tensors[t].n;
        int r0 = rv_dist_owner(d, o);
        if (o + n <= d->bounds[r0 + 1]) {
            sums[t] = items[cursor[r0]++];
            continue;
        }
        double acc = 0;
        for (size_t i = 0; i < n;) {
            size_t end = rv_norm_block_end(i, n);
            int r = rv_dist_owner(d, o + i);
            double block = 0;
            if (o + end <= d->bounds[r + 1]) {
                block = items[cursor[r]++];
            } else {
                for (size_t j = i; j < end;) {
                    size_t to = rv_norm_line_end(j, end);
                    int rj = rv_dist_owner(d, o + j);
                    block = rv_norm_fold(block, items[cursor[rj]++], p);
                    j = to;
                }
            }
            acc = rv_norm_fold(acc, block, p);
            i = end;
        }
        sums[t] = acc;
    }
}

/* The global norm of this step's reduced gradient (collective, after the
   gradient is reduced). */
static rv_status global_norm(rv_dist *d, double p, float *total)
{
    int P = d->size;
    unsigned char *part = taking_part(d);
    int *counts = malloc(2 * (size_t)P * sizeof *counts);
    size_t *cursor = calloc((size_t)P, sizeof *cursor);
    double *sums = malloc((d->n_tensors ? d->n_tensors : 1) * sizeof *sums);
    size_t n_units = part ? units_of(d, d->rank, part, NULL) : 0, all = 0;
    unit *u = malloc((n_units ? n_units : 1) * sizeof *u);
    double *block = malloc((n_units ? n_units : 1) * sizeof *block);
    rv_status s = RV_OK;
    if (!part || !counts || !cursor || !sums || !u || !block)
        s = rv_fail(RV_ERR_NOMEM, "out of memory computing the gradient norm");
    for (int r = 0; !s && r < P; r++) {
        size_t k = units_of(d, r, part, NULL);
        unit *ur = r == d->rank ? u : malloc((k ? k : 1) * sizeof *ur);
        if (!ur) {
            s = rv_fail(RV_ERR_NOMEM, "out of memory computing the gradient norm");
            break;
        }
        units_of(d, r, part, ur);
        size_t items = items_of(ur, k);
        if (ur != u)
            free(ur);
        counts[r] = (int)items;
        counts[P + r] = (int)all;   /* displacements */
        all += items;
    }
    double *items = s ? NULL : malloc((all ? all : 1) * sizeof *items);
    if (!s && !items)
        s = rv_fail(RV_ERR_NOMEM, "out of memory for %zu norm items", all);
    /* an allocation failure on any rank must be known to all before the
       all-gather whose sizes depend on it */
    if ((s = rv_dist_agree_comm(d->comm, d->rank, s)))
        goto out;
    my_items(d, u, n_units, p, block, items + counts[P + d->rank]);
    d->stats.bytes_sent += (unsigned long long)(P - 1) * (unsigned long long)counts[d->rank] *
                           sizeof(double);
    int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, items, counts, counts + P,
                            MPI_DOUBLE, d->comm);
    if (rc != MPI_SUCCESS) {
        s = rv_dist_mpi_fail(rc, "MPI_Allgatherv");
        goto out;
    }
    for (int r = 0; r < P; r++)
        cursor[r] = (size_t)counts[P + r];
    fold_items(d, part, items, cursor, p, sums);
    *total = rv_norm_total(sums, d->n_tensors, p);
out:
    free(items);
    free(part);
    free(counts);
    free(cursor);
    free(sums);
    free(u);
    free(block);
    return s;
}

/* ---- the public calls ------------------------------------------------------- */

static uint64_t args_hash(double p, double max_norm, int flag)
{
    uint64_t h = rv_dist_hash(RV_DIST_HASH_SEED, &p, sizeof p);
    h = rv_dist_hash(h, &max_norm, sizeof max_norm);
    return rv_dist_hash(h, &flag, sizeof flag);
}

rv_status rv_dist_grad_norm(rv_dist *d, double norm_type, double *total_norm)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "rv_dist_grad_norm: optimizer is NULL");
    rv_status s = rv_dist_prepare(d);
    if (!s && !total_norm)
        s = rv_fail(RV_ERR_NULL, "rv_dist_grad_norm: total_norm is NULL");
    if (!s)
        s = rv_clip_check_norm_type(norm_type);
    if ((s = rv_dist_begin(d, OP_NORM, s, args_hash(norm_type, 0, 0))))
        return s;
    if (!d->reduced && (s = rv_dist_reduce(d)))
        return s;
    double t0 = rv_dist_now();
    float total;
    if ((s = global_norm(d, norm_type, &total))) {
        d->reduced = 0;   /* a failed call discards the reduced gradient */
        return s;
    }
    d->stats.seconds_norm += rv_dist_now() - t0;
    *total_norm = (double)total;
    return RV_OK;
}

rv_status rv_dist_clip_grad_norm(rv_dist *d, double max_norm, const rv_clip_options *options,
                                 double *total_norm)
{
    if (!d)
        return rv_fail(RV_ERR_NULL, "gradient clipping: optimizer is NULL");
    rv_clip_options o = options ? *options : rv_clip_defaults();
    rv_status s = rv_dist_prepare(d);
    if (!s)
        s = rv_clip_check_norm_type(o.norm_type);
    if (!s && !(max_norm >= 0))
        s = rv_fail(RV_ERR_ARG, "max_norm must be >= 0, got %g", max_norm);
    if (!s && o.error_if_nonfinite != 0 && o.error_if_nonfinite != 1)
        s = rv_fail(RV_ERR_ARG, "error_if_nonfinite must be 0 or 1, got %d", o.error_if_nonfinite);
    if ((s = rv_dist_begin(d, OP_CLIP, s, args_hash(o.norm_type, max_norm, o.error_if_nonfinite))))
        return s;
    if (!d->reduced && (s = rv_dist_reduce(d)))
        return s;
    /* from here a failure discards the reduced gradient on every rank (the
       norm and its verdict are the same everywhere): the caller's next
       gradient, for a retry or the next batch, is reduced anew */
    double t0 = rv_dist_now();
    float total;
    if ((s = global_norm(d, o.norm_type, &total))) {
        d->reduced = 0;
        return s;
    }
    if (o.error_if_nonfinite && !isfinite(total)) {
        d->reduced = 0;
        uint64_t at;
        float value;
        if ((s = rv_dist_first_nonfinite(d, &at, &value)))
            return s;
        char where[256];
        if (at == UINT64_MAX) {
            snprintf(where, sizeof where, "every element is finite; the sum overflowed");
        } else {
            size_t t, i;
            const char *name;
            rv_dist_locate(d, (size_t)at, &t, &i, &name);
            snprintf(where, sizeof where, "tensor %zu ('%s') has %g at index %zu", t, name,
                     (double)value, i);
        }
        return rv_clip_nonfinite(o.norm_type, total, where);
    }
    float coef = rv_clip_coefficient(total, max_norm);
    if (coef != 1.0f) {
        size_t lo = d->bounds[d->rank];
        for (size_t i = 0; i < d->n_pieces; i++) {
            const dist_piece *p = &d->pieces[i];
            rv_param_view v;
            rv_optim_param_view(d->local, i, &v);
            if (!v.grad)
                continue;
            float *g = d->shard_grad + (d->tensors[p->tensor].offset + p->from - lo);
            long n = (long)p->len;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= (1L << 16))
#endif
            for (long j = 0; j < n; j++)
                g[j] *= coef;
        }
    }
    d->stats.seconds_norm += rv_dist_now() - t0;
    if (total_norm)
        *total_norm = (double)total;
    return RV_OK;
}
