/* The plan: where each tensor lies in the flattened index space, where the
   shards begin, which pieces this rank updates, and the local optimizer
   over them. Everything here is local computation from the setup, which
   the ranks agree on at the start of every collective call. */
#include "dist/internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* floor(total * k / parts) without overflow */
static size_t share(size_t total, size_t k, size_t parts)
{
    return total / parts * k + total % parts * k / parts;
}

/* Shard boundaries. Element-wise algorithms: near equal shares, cutting a
   tensor only at a multiple of a line from its start (so every line of
   every tensor, and so every sum of the norm's fixed order, lies in one
   shard). Whole-tensor algorithms: the tensor boundary nearest to each
   equal share. */
static void cut(rv_dist *d, int elementwise)
{
    size_t N = d->numel, P = (size_t)d->size, t = 0;
    d->bounds[0] = 0;
    d->bounds[P] = N;
    for (size_t r = 1; r < P; r++) {
        size_t target = share(N, r, P), b;
        /* the tensor holding target: the first one ending past it */
        while (t < d->n_tensors && d->tensors[t].offset + d->tensors[t].n <= target)
            t++;
        size_t start = t < d->n_tensors ? d->tensors[t].offset : N;
        size_t end = t < d->n_tensors ? start + d->tensors[t].n : N;
        if (elementwise) {
            size_t in = target - start, line = RV_DIST_LINE;
            size_t at = (in + line / 2) / line * line;
            b = start + at < end ? start + at : end;
        } else {
            b = target - start <= end - target ? start : end;
        }
        d->bounds[r] = b > d->bounds[r - 1] ? b : d->bounds[r - 1];
    }
}

int rv_dist_owner(const rv_dist *d, size_t x)
{
    int lo = 0, hi = d->size;   /* bounds[lo] <= x < bounds[hi] */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (d->bounds[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The rank that keeps an (empty or not) tensor's scalars: the owner of its
   first element, or the last rank for an empty tensor at the very end. */
static int home_of(const rv_dist *d, const dist_tensor *t)
{
    return t->offset < d->numel ? rv_dist_owner(d, t->offset) : d->size - 1;
}

size_t rv_dist_pieces_of(const rv_dist *d, int r, dist_piece *out)
{
    size_t lo = d->bounds[r], hi = d->bounds[r + 1], k = 0;
    for (size_t t = 0; t < d->n_tensors; t++) {
        const dist_tensor *x = &d->tensors[t];
        size_t a = x->offset > lo ? x->offset : lo;
        size_t b = x->offset + x->n < hi ? x->offset + x->n : hi;
        if (a < b || (x->n == 0 && x->home == r)) {
            if (out)
                out[k] = (dist_piece){t, a < b ? a - x->offset : 0, a < b ? b - a : 0};
            k++;
        }
    }
    return k;
}

static float *piece_grad(const rv_dist *d, const dist_piece *p, const rv_param_view *v)
{
    if (!v->grad)
        return NULL;
    return d->shard_grad + (d->tensors[p->tensor].offset + p->from - d->bounds[d->rank]);
}

/* Reduced-precision state is refused wherever it could enter: bf16 and
   int8 buffers would move between ranks in their own layouts, and int8
   blocks would need shard cuts at multiples of RV_QUANT_BLOCK. */
rv_status rv_dist_check_state(const rv_hparams *h, const char *prefix, size_t group)
{
    if (h && (h->state == RV_BF16 || h->state == RV_INT8))
        return rv_fail(RV_ERR_STATE_PRECISION,
                       "%sparam group %zu: state=%s: the sharded optimizer keeps float32 state "
                       "(state=fp32)",
                       prefix, group, h->state == RV_BF16 ? "bf16" : "int8");
    return RV_OK;
}

rv_status rv_dist_check_groups(const rv_optim *o, const char *prefix)
{
    rv_status s = RV_OK;
    for (size_t g = 0; !s && g < rv_optim_group_count(o); g++) {
        rv_hparams h;
        rv_optim_group_hparams(o, g, &h);
        s = rv_dist_check_state(&h, prefix, g);
    }
    return s;
}

rv_status rv_dist_build_local(const rv_dist *d, rv_optim **out)
{
    rv_status s = rv_dist_check_groups(d->full, "");
    if (s)
        return s;
    const rv_optim_type *type = rv_optim_get_type(d->full);
    rv_hparams h;
    rv_optim_group_hparams(d->full, 0, &h);
    rv_optim *o;
    s = rv_optim_create(&o, type, &h);
    if (s)
        return s;
    int elementwise = rv_optim_type_elementwise(type);
    for (size_t g = 1; !s && g < rv_optim_group_count(d->full); g++) {
        rv_optim_group_hparams(d->full, g, &h);
        s = rv_optim_add_group(o, &h, NULL);
    }
    if (!s)
        s = rv_optim_set_threads(o, d->threads);
    for (size_t i = 0; !s && i < d->n_pieces; i++) {
        const dist_piece *p = &d->pieces[i];
        rv_param_view v;
        rv_optim_param_view(d->full, p->tensor, &v);
        float *param = v.param ? v.param + p->from : NULL, *grad = piece_grad(d, p, &v);
        if (elementwise || !v.has_shape)
            s = rv_optim_add_param(o, v.group, v.name, param, grad, p->len, NULL);
        else
            s = rv_optim_add_param_shaped(o, v.group, v.name, param, grad, v.ndim, v.shape, NULL);
    }
    if (s) {
        rv_optim_free(o);
        return s;
    }
    *out = o;
    return RV_OK;
}

void rv_dist_unplan(rv_dist *d)
{
    free(d->tensors);
    free(d->bounds);
    free(d->pieces);
    free(d->shard_grad);
    free(d->counts);
    free(d->displs);
    free(d->round_counts);
    rv_optim_free(d->local);
    d->tensors = NULL;
    d->bounds = NULL;
    d->pieces = NULL;
    d->shard_grad = NULL;
    d->counts = d->displs = d->round_counts = NULL;
    d->local = NULL;
    d->n_pieces = d->n_tensors = d->numel = 0;
}

rv_status rv_dist_plan(rv_dist *d)
{
    if (d->planned)
        return RV_OK;
    size_t T = rv_optim_param_count(d->full), P = (size_t)d->size;
    d->n_tensors = T;
    d->tensors = calloc(T ? T : 1, sizeof *d->tensors);
    d->bounds = malloc((P + 1) * sizeof *d->bounds);
    d->counts = malloc(P * sizeof *d->counts);
    d->displs = malloc(P * sizeof *d->displs);
    d->round_counts = malloc(2 * P * sizeof *d->round_counts);
    if (!d->tensors || !d->bounds || !d->counts || !d->displs || !d->round_counts) {
        rv_dist_unplan(d);
        return rv_fail(RV_ERR_NOMEM, "out of memory planning the shards of %zu tensors", T);
    }
    size_t off = 0;
    for (size_t t = 0; t < T; t++) {
        rv_param_view v;
        rv_optim_param_view(d->full, t, &v);
        d->tensors[t] = (dist_tensor){.offset = off, .n = v.n};
        off += v.n;
    }
    d->numel = off;
    cut(d, rv_optim_type_elementwise(rv_optim_get_type(d->full)));
    for (size_t t = 0; t < T; t++)
        d->tensors[t].home = home_of(d, &d->tensors[t]);
    for (size_t r = 0; r < P; r++) {
        /* one-call collectives need int counts and displacements */
        d->counts[r] = d->numel <= INT_MAX ? (int)(d->bounds[r + 1] - d->bounds[r]) : 0;
        d->displs[r] = d->numel <= INT_MAX ? (int)d->bounds[r] : 0;
    }
    size_t len = d->bounds[d->rank + 1] - d->bounds[d->rank];
    d->n_pieces = rv_dist_pieces_of(d, d->rank, NULL);
    d->pieces = malloc((d->n_pieces ? d->n_pieces : 1) * sizeof *d->pieces);
    d->shard_grad = aligned_alloc(64, ((len + RV_DIST_LINE - 1) / RV_DIST_LINE + 1) * 64);
    if (!d->pieces || !d->shard_grad) {
        rv_dist_unplan(d);
        return rv_fail(RV_ERR_NOMEM, "out of memory for a shard of %zu gradient elements", len);
    }
    rv_dist_pieces_of(d, d->rank, d->pieces);
    rv_status s = rv_dist_build_local(d, &d->local);
    if (s) {
        rv_dist_unplan(d);
        return s;
    }
    d->planned = 1;
    d->buffers_stale = 1;
    return RV_OK;
}

rv_status rv_dist_repoint(rv_dist *d)
{
    for (size_t i = 0; i < d->n_pieces; i++) {
        const dist_piece *p = &d->pieces[i];
        rv_param_view v;
        rv_optim_param_view(d->full, p->tensor, &v);
        rv_status s = rv_optim_set_buffers(d->local, i, v.param ? v.param + p->from : NULL,
                                           piece_grad(d, p, &v));
        if (s)
            return s;
    }
    /* the staging buffer, unless the collectives run on flat buffers */
    int need = !rv_dist_flat_params(d) ||
               (d->grads != RV_DIST_GRADS_REDUCED && !rv_dist_flat_grads(d));
    size_t per_rank = (d->bucket / (size_t)d->size) & ~(RV_DIST_LINE - 1);
    size_t largest = 0;
    for (int r = 0; r < d->size; r++)
        if (d->bounds[r + 1] - d->bounds[r] > largest)
            largest = d->bounds[r + 1] - d->bounds[r];
    if (per_rank > largest)
        per_rank = (largest + RV_DIST_LINE - 1) & ~(RV_DIST_LINE - 1);
    if (per_rank > (size_t)INT_MAX / (size_t)d->size)
        per_rank = ((size_t)INT_MAX / (size_t)d->size) & ~(RV_DIST_LINE - 1);
    if (per_rank < RV_DIST_LINE)
        per_rank = RV_DIST_LINE;
    size_t want = need ? per_rank * (size_t)d->size : 0;
    if (want != d->staging_floats) {
        float *b = want ? aligned_alloc(64, want * sizeof(float)) : NULL;
        if (want && !b)
            return rv_fail(RV_ERR_NOMEM, "out of memory for a staging buffer of %zu floats", want);
        free(d->staging);
        d->staging = b;
        d->staging_floats = want;
    }
    d->buffers_stale = 0;
    return RV_OK;
}

/* ---- the caller's buffers ------------------------------------------------ */

float *rv_dist_flat_base(const rv_dist *d, int grads)
{
    if (d->numel > INT_MAX)
        return NULL;
    float *base = NULL;
    for (size_t t = 0; t < d->n_tensors; t++) {
        if (!d->tensors[t].n)
            continue;
        rv_param_view v;
        rv_optim_param_view(d->full, t, &v);
        float *x = grads ? v.grad : v.param;
        if (!x)
            return NULL;
        if (!base)
            base = x;   /* the first tensor with elements starts at offset 0 */
        else if ((uintptr_t)x != (uintptr_t)base + d->tensors[t].offset * sizeof(float))
            return NULL;
    }
    return base;
}

int rv_dist_flat_params(const rv_dist *d) { return rv_dist_flat_base(d, 0) != NULL; }
int rv_dist_flat_grads(const rv_dist *d) { return rv_dist_flat_base(d, 1) != NULL; }

size_t rv_dist_tensor_at(const rv_dist *d, size_t x)
{
    size_t lo = 0, hi = d->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->tensors[mid].offset + d->tensors[mid].n <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef enum { GRADS_OUT, PARAMS_OUT, PARAMS_IN } copy_kind;

static void copy_range(const rv_dist *d, size_t lo, size_t hi, float *buf, copy_kind kind)
{
    for (size_t t = rv_dist_tensor_at(d, lo); lo < hi && t < d->n_tensors; t++) {
        const dist_tensor *x = &d->tensors[t];
        size_t end = x->offset + x->n < hi ? x->offset + x->n : hi;
        if (end <= lo)
            continue;
        rv_param_view v;
        rv_optim_param_view(d->full, t, &v);
        size_t from = lo - x->offset, n = end - lo;
        if (kind == GRADS_OUT && !v.grad)
            memset(buf, 0, n * sizeof *buf);
        else if (kind == GRADS_OUT)
            memcpy(buf, v.grad + from, n * sizeof *buf);
        else if (kind == PARAMS_OUT)
            memcpy(buf, v.param + from, n * sizeof *buf);
        else
            memcpy(v.param + from, buf, n * sizeof *buf);
        buf += n;
        lo = end;
    }
}

void rv_dist_copy_grads(const rv_dist *d, size_t lo, size_t hi, float *dst)
{
    copy_range(d, lo, hi, dst, GRADS_OUT);
}

void rv_dist_copy_params_out(const rv_dist *d, size_t lo, size_t hi, float *dst)
{
    copy_range(d, lo, hi, dst, PARAMS_OUT);
}

void rv_dist_copy_params_in(const rv_dist *d, size_t lo, size_t hi, const float *src)
{
    copy_range(d, lo, hi, (float *)src, PARAMS_IN);
}
