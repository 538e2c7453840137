/* The stateful optimizer: param groups, lazily allocated state, and a step
   that runs the algorithm's kernel over fixed-size chunks of every tensor.

   Chunks make one work list out of tensors of any size: a 38M-element
   embedding becomes many chunks that threads share, while hundreds of small
   biases and norms cost one list entry each instead of a parallel region
   each (torch's foreach idea). Each element's update depends only on that
   element, so results are identical for any thread count. */
#include "optim/type.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* 16K floats = 64 KiB per stream: large enough to amortise scheduling,
   small enough to balance a few tensors over many threads. */
#define RV_CHUNK ((size_t)16384)
/* below this many elements a step runs on the calling thread */
#define RV_PARALLEL_MIN ((size_t)1 << 16)

typedef struct rv_param {
    char *name;
    size_t group;
    size_t n;
    float *param;
    float *grad;
    long step;
    size_t n_state;
    float *block;              /* n_state * n floats, one allocation */
    float *state[RV_MAX_STATE];
} rv_param;

typedef struct rv_chunk {
    size_t param;
    size_t offset;
    size_t len;
} rv_chunk;

struct rv_optim {
    const rv_optim_type *type;
    rv_hparams *groups;
    size_t n_groups;
    rv_param *params;
    size_t n_params;
    rv_chunk *chunks;          /* rebuilt when tensors are added */
    size_t n_chunks;
    int chunks_stale;
    rv_coeffs *coeffs;         /* per tensor, per step */
    long steps;
    long skipped;
    int threads;
    rv_nonfinite_policy nonfinite;
};

static int thread_count(const rv_optim *o)
{
#ifdef _OPENMP
    return o->threads > 0 ? o->threads : omp_get_max_threads();
#else
    (void)o;
    return 1;
#endif
}

rv_status rv_optim_create(rv_optim **out, const rv_optim_type *type, const rv_hparams *h)
{
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_optim_create: out is NULL");
    if (!type)
        return rv_fail(RV_ERR_NULL, "rv_optim_create: type is NULL");
    rv_hparams hp = h ? *h : rv_hparams_defaults(type);
    rv_status s = type->validate(&hp);
    if (s)
        return s;
    rv_optim *o = calloc(1, sizeof *o);
    if (!o || !(o->groups = malloc(sizeof *o->groups))) {
        free(o);
        return rv_fail(RV_ERR_NOMEM, "out of memory creating optimizer");
    }
    o->type = type;
    o->groups[0] = hp;
    o->n_groups = 1;
    *out = o;
    return RV_OK;
}

rv_status rv_optim_create_spec(rv_optim **out, const char *spec)
{
    const rv_optim_type *type;
    rv_hparams h;
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_optim_create_spec: out is NULL");
    rv_status s = rv_hparams_parse(spec, &type, &h);
    return s ? s : rv_optim_create(out, type, &h);
}

static void free_state(rv_param *p)
{
    free(p->block);
    p->block = NULL;
    memset(p->state, 0, sizeof p->state);
}

void rv_optim_free(rv_optim *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_params; i++) {
        free(o->params[i].name);
        free_state(&o->params[i]);
    }
    free(o->params);
    free(o->groups);
    free(o->chunks);
    free(o->coeffs);
    free(o);
}

const rv_optim_type *rv_optim_get_type(const rv_optim *o) { return o ? o->type : NULL; }

rv_status rv_optim_add_group(rv_optim *o, const rv_hparams *h, size_t *group)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_add_group: optimizer is NULL");
    rv_hparams hp = h ? *h : o->groups[0];
    rv_status s = o->type->validate(&hp);
    if (s)
        return s;
    rv_hparams *grown = realloc(o->groups, (o->n_groups + 1) * sizeof *grown);
    if (!grown)
        return rv_fail(RV_ERR_NOMEM, "out of memory adding a param group");
    o->groups = grown;
    o->groups[o->n_groups] = hp;
    if (group)
        *group = o->n_groups;
    o->n_groups++;
    return RV_OK;
}

rv_status rv_optim_add_group_spec(rv_optim *o, const char *overrides, size_t *group)
{
    if (!o || !overrides)
        return rv_fail(RV_ERR_NULL, "rv_optim_add_group_spec: NULL argument");
    rv_hparams h = o->groups[0];
    rv_status s = rv_hparams_override(o->type, &h, overrides);
    return s ? s : rv_optim_add_group(o, &h, group);
}

rv_status rv_optim_add_param(rv_optim *o, size_t group, const char *name, float *param,
                             float *grad, size_t n, size_t *index)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_add_param: optimizer is NULL");
    if (group >= o->n_groups)
        return rv_fail(RV_ERR_INDEX, "param group %zu does not exist (%zu groups)", group,
                       o->n_groups);
    if (n && (!param || !grad))
        return rv_fail(RV_ERR_NULL, "tensor '%s': %s is NULL", name ? name : "",
                       param ? "grad" : "param");
    if (n > SIZE_MAX / (RV_MAX_STATE * sizeof(float)))
        return rv_fail(RV_ERR_SIZE, "tensor '%s': %zu elements is too many", name ? name : "", n);
    char *copy = strdup(name ? name : "");
    rv_param *grown = copy ? realloc(o->params, (o->n_params + 1) * sizeof *grown) : NULL;
    rv_coeffs *cgrown = grown ? realloc(o->coeffs, (o->n_params + 1) * sizeof *cgrown) : NULL;
    if (grown)
        o->params = grown;
    if (!cgrown) {
        free(copy);
        return rv_fail(RV_ERR_NOMEM, "out of memory adding a tensor");
    }
    o->coeffs = cgrown;
    rv_param *p = &o->params[o->n_params];
    memset(p, 0, sizeof *p);
    p->name = copy;
    p->group = group;
    p->n = n;
    p->param = param;
    p->grad = grad;
    if (index)
        *index = o->n_params;
    o->n_params++;
    o->chunks_stale = 1;
    return RV_OK;
}

rv_status rv_optim_set_buffers(rv_optim *o, size_t index, float *param, float *grad)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_buffers: optimizer is NULL");
    if (index >= o->n_params)
        return rv_fail(RV_ERR_INDEX, "tensor %zu does not exist (%zu tensors)", index, o->n_params);
    if (o->params[index].n && (!param || !grad))
        return rv_fail(RV_ERR_NULL, "tensor '%s': %s is NULL", o->params[index].name,
                       param ? "grad" : "param");
    o->params[index].param = param;
    o->params[index].grad = grad;
    return RV_OK;
}

static rv_status build_chunks(rv_optim *o)
{
    size_t count = 0;
    for (size_t i = 0; i < o->n_params; i++)
        count += (o->params[i].n + RV_CHUNK - 1) / RV_CHUNK;
    rv_chunk *c = malloc((count ? count : 1) * sizeof *c);
    if (!c)
        return rv_fail(RV_ERR_NOMEM, "out of memory planning the step");
    size_t k = 0;
    for (size_t i = 0; i < o->n_params; i++)
        for (size_t off = 0; off < o->params[i].n; off += RV_CHUNK) {
            size_t rest = o->params[i].n - off;
            c[k++] = (rv_chunk){i, off, rest < RV_CHUNK ? rest : RV_CHUNK};
        }
    free(o->chunks);
    o->chunks = c;
    o->n_chunks = count;
    o->chunks_stale = 0;
    return RV_OK;
}

static size_t total_numel(const rv_optim *o)
{
    size_t t = 0;
    for (size_t i = 0; i < o->n_params; i++)
        t += o->params[i].n;
    return t;
}

/* Allocate every missing state buffer, all or nothing. */
static rv_status alloc_state(rv_optim *o)
{
    for (size_t i = 0; i < o->n_params; i++) {
        rv_param *p = &o->params[i];
        const rv_hparams *h = &o->groups[p->group];
        size_t k = o->type->state_count(h);
        if (p->block || !k || !p->n)
            continue;
        /* 64-byte aligned buffers, each a whole number of cache lines */
        size_t stride = (p->n + 15) & ~(size_t)15;
        p->block = aligned_alloc(64, k * stride * sizeof(float));
        if (!p->block) {
            for (size_t j = 0; j <= i; j++)
                if (o->params[j].step == 0)
                    free_state(&o->params[j]);
            return rv_fail(RV_ERR_NOMEM, "out of memory allocating optimizer state for '%s' (%zu floats)",
                           p->name, k * p->n);
        }
        p->n_state = k;
        for (size_t s = 0; s < k; s++) {
            p->state[s] = p->block + s * stride;
            float v0 = o->type->state_initial(h, s);
            for (size_t j = 0; j < p->n; j++)
                p->state[s][j] = v0;
        }
    }
    return RV_OK;
}

rv_status rv_optim_ensure_state(rv_optim *o)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_ensure_state: optimizer is NULL");
    return alloc_state(o);
}

/* Find the first non-finite gradient element. The scan reads every gradient
   once; with many threads it runs as a parallel OR over chunks. */
static int find_nonfinite(const rv_optim *o, size_t *tensor, size_t *index)
{
    int bad = 0;
    long nc = (long)o->n_chunks;
#pragma omp parallel for schedule(static) reduction(| : bad) num_threads(thread_count(o)) \
    if (total_numel(o) >= RV_PARALLEL_MIN)
    for (long k = 0; k < nc; k++) {
        const rv_chunk *c = &o->chunks[k];
        const float *g = o->params[c->param].grad + c->offset;
        int local = 0;
        for (size_t i = 0; i < c->len; i++)
            local |= !isfinite(g[i]);
        bad |= local;
    }
    if (!bad)
        return 0;
    for (size_t t = 0; t < o->n_params; t++)
        for (size_t i = 0; i < o->params[t].n; i++)
            if (!isfinite(o->params[t].grad[i])) {
                *tensor = t;
                *index = i;
                return 1;
            }
    return 0;
}

rv_status rv_optim_step(rv_optim *o)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_step: optimizer is NULL");
    rv_status s;
    if (o->chunks_stale && (s = build_chunks(o)))
        return s;
    if (o->nonfinite != RV_NONFINITE_IGNORE) {
        size_t t, i;
        if (find_nonfinite(o, &t, &i)) {
            if (o->nonfinite == RV_NONFINITE_SKIP) {
                o->skipped++;
                return RV_OK;
            }
            const rv_param *p = &o->params[t];
            return rv_fail(RV_ERR_NONFINITE_GRAD,
                           "non-finite gradient in tensor %zu ('%s') at index %zu: %.9g; "
                           "step not taken",
                           t, p->name, i, (double)p->grad[i]);
        }
    }
    if ((s = alloc_state(o)))
        return s;
    for (size_t i = 0; i < o->n_params; i++)
        o->type->prepare(&o->groups[o->params[i].group], o->params[i].step + 1, &o->coeffs[i]);

    const rv_optim_type *type = o->type;
    long nc = (long)o->n_chunks;
#pragma omp parallel for schedule(static) num_threads(thread_count(o)) \
    if (total_numel(o) >= RV_PARALLEL_MIN)
    for (long k = 0; k < nc; k++) {
        const rv_chunk *c = &o->chunks[k];
        rv_param *p = &o->params[c->param];
        float *state[RV_MAX_STATE] = {0};
        for (size_t j = 0; j < p->n_state; j++)
            state[j] = p->state[j] + c->offset;
        type->update(&o->coeffs[c->param], c->len, p->param + c->offset, p->grad + c->offset,
                     state);
    }
    for (size_t i = 0; i < o->n_params; i++)
        o->params[i].step++;
    o->steps++;
    return RV_OK;
}

rv_status rv_optim_zero_state(rv_optim *o)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_zero_state: optimizer is NULL");
    for (size_t i = 0; i < o->n_params; i++) {
        free_state(&o->params[i]);
        o->params[i].n_state = 0;
        o->params[i].step = 0;
    }
    o->steps = 0;
    return RV_OK;
}

rv_status rv_optim_set_lr(rv_optim *o, double lr)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_lr: optimizer is NULL");
    rv_status s = rv_check_min(RV_ERR_LR, "lr", lr, 0.0);
    if (s)
        return s;
    for (size_t g = 0; g < o->n_groups; g++)
        o->groups[g].lr = lr;
    return RV_OK;
}

rv_status rv_optim_group_set_lr(rv_optim *o, size_t group, double lr)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_group_set_lr: optimizer is NULL");
    if (group >= o->n_groups)
        return rv_fail(RV_ERR_INDEX, "param group %zu does not exist (%zu groups)", group,
                       o->n_groups);
    rv_status s = rv_check_min(RV_ERR_LR, "lr", lr, 0.0);
    if (s)
        return s;
    o->groups[group].lr = lr;
    return RV_OK;
}

rv_status rv_optim_group_hparams(const rv_optim *o, size_t group, rv_hparams *out)
{
    if (!o || !out)
        return rv_fail(RV_ERR_NULL, "rv_optim_group_hparams: NULL argument");
    if (group >= o->n_groups)
        return rv_fail(RV_ERR_INDEX, "param group %zu does not exist (%zu groups)", group,
                       o->n_groups);
    *out = o->groups[group];
    return RV_OK;
}

rv_status rv_optim_group_set_hparams(rv_optim *o, size_t group, const rv_hparams *h)
{
    if (!o || !h)
        return rv_fail(RV_ERR_NULL, "rv_optim_group_set_hparams: NULL argument");
    if (group >= o->n_groups)
        return rv_fail(RV_ERR_INDEX, "param group %zu does not exist (%zu groups)", group,
                       o->n_groups);
    rv_status s = o->type->validate(h);
    if (s)
        return s;
    size_t k = o->type->state_count(h);
    for (size_t i = 0; i < o->n_params; i++)
        if (o->params[i].group == group && o->params[i].block && o->params[i].n_state != k)
            return rv_fail(RV_ERR_ARG,
                           "param group %zu: the new hyperparameters need %zu state buffers, the "
                           "existing state has %zu; call rv_optim_zero_state first",
                           group, k, o->params[i].n_state);
    o->groups[group] = *h;
    return RV_OK;
}

long rv_optim_step_count(const rv_optim *o) { return o ? o->steps : 0; }
size_t rv_optim_group_count(const rv_optim *o) { return o ? o->n_groups : 0; }
size_t rv_optim_param_count(const rv_optim *o) { return o ? o->n_params : 0; }
size_t rv_optim_numel(const rv_optim *o) { return o ? total_numel(o) : 0; }

rv_status rv_optim_set_nonfinite(rv_optim *o, rv_nonfinite_policy policy)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_nonfinite: optimizer is NULL");
    if (policy != RV_NONFINITE_IGNORE && policy != RV_NONFINITE_SKIP &&
        policy != RV_NONFINITE_ERROR)
        return rv_fail(RV_ERR_ARG, "unknown non-finite policy %d", (int)policy);
    o->nonfinite = policy;
    return RV_OK;
}

rv_nonfinite_policy rv_optim_get_nonfinite(const rv_optim *o)
{
    return o ? o->nonfinite : RV_NONFINITE_IGNORE;
}

long rv_optim_skipped_count(const rv_optim *o) { return o ? o->skipped : 0; }

rv_status rv_optim_set_threads(rv_optim *o, int threads)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_threads: optimizer is NULL");
    if (threads < 0 || threads > 4096)
        return rv_fail(RV_ERR_ARG, "threads must be in [0, 4096] (0 = all cores), got %d", threads);
    o->threads = threads;
    return RV_OK;
}

int rv_optim_get_threads(const rv_optim *o) { return o ? thread_count(o) : 1; }

rv_status rv_optim_param_view(const rv_optim *o, size_t index, rv_param_view *out)
{
    if (!o || !out)
        return rv_fail(RV_ERR_NULL, "rv_optim_param_view: NULL argument");
    if (index >= o->n_params)
        return rv_fail(RV_ERR_INDEX, "tensor %zu does not exist (%zu tensors)", index, o->n_params);
    const rv_param *p = &o->params[index];
    memset(out, 0, sizeof *out);
    out->name = p->name;
    out->group = p->group;
    out->n = p->n;
    out->param = p->param;
    out->grad = p->grad;
    out->step = p->step;
    out->n_state = o->type->state_count(&o->groups[p->group]);
    for (size_t s = 0; s < RV_MAX_STATE; s++)
        out->state[s] = p->state[s];
    return RV_OK;
}

rv_status rv_optim_set_param_step(rv_optim *o, size_t index, long step)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_param_step: optimizer is NULL");
    if (index >= o->n_params)
        return rv_fail(RV_ERR_INDEX, "tensor %zu does not exist (%zu tensors)", index, o->n_params);
    if (step < 0)
        return rv_fail(RV_ERR_ARG, "tensor step must be >= 0, got %ld", step);
    o->params[index].step = step;
    return RV_OK;
}

rv_status rv_optim_set_step_count(rv_optim *o, long steps)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_step_count: optimizer is NULL");
    if (steps < 0)
        return rv_fail(RV_ERR_ARG, "step count must be >= 0, got %ld", steps);
    o->steps = steps;
    return RV_OK;
}
