/* The stateful optimizer: param groups, lazily allocated state, and a step
   that runs the algorithm's fused update over every tensor on all threads.

   Work is split by elements, not by tensors. The tensors are laid end to end
   in one index space (each padded to a multiple of 16 floats, one cache
   line) and every thread takes one contiguous, equally long stretch of it:
   a 38M-element embedding is shared by all threads, while hundreds of small
   biases and norms cost one call each inside a thread's stretch instead of
   a parallel region each (torch's foreach idea, without its per-tensor
   launches). A thread makes one call per tensor it touches, so the inner
   loops run long and the prefetchers see unbroken streams. Stretch borders
   fall on multiples of 16 elements of a tensor, so no two threads write the
   same cache line of float32 state (64-byte aligned); for bf16 parameters
   or state 16 elements are half a line, so borders may share a line (false
   sharing at one line per border, never a race). The state itself lives in
   arenas laid out like the index space (see alloc_state), so its streams are
   as unbroken as the parameters'. Each element's update depends only on
   that element, so results are identical for any thread count.

   Parameters may be bfloat16 and state bfloat16 or int8 (optim/precision.h):
   such tensors are updated in chunks of RV_QUANT_BLOCK elements moved to
   float32 scratch and back; with int8 state the index space is cut on
   multiples of RV_QUANT_BLOCK, so every quantization block is one thread's. */
#include "optim/type.h"
#include "optim/precision.h"
#include "kernels/bf16.h"
#include "core/error.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* elements per cache line of float32 state; tensors are padded to it in the
   index space (to RV_QUANT_BLOCK while any group keeps int8 state) */
#define RV_LINE ((size_t)16)
/* below this many elements a step runs on the calling thread: waking the
   team costs microseconds, and only from about 64K elements (some 12 us of
   AdamW on one thread, in cache) do two threads win it back */
#define RV_PARALLEL_MIN ((size_t)1 << 16)

typedef struct rv_param {
    char *name;
    size_t group;
    size_t n;
    rv_shape shape;
    rv_precision dtype;        /* of param and grad: RV_FP32 or RV_BF16 */
    void *param;
    void *grad;                /* NULL: left out of steps */
    float *master;             /* bf16 tensors: the float32 copy the rule updates */
    long step;
    size_t n_state;
    rv_buffer state[RV_MAX_STATE]; /* n_state buffers, in an arena of the optimizer */
    int plain;                 /* float32 parameter and state: no conversions */
    int ready;                 /* state (and master) allocated, possibly of no buffers */
    double scalars[RV_MAX_SCALARS];
    int fresh;                 /* state allocated by the current call, not yet initialised */
    size_t coeff;              /* this step's entry in rv_optim.coeffs */
} rv_param;

struct rv_optim {
    const rv_optim_type *type;
    rv_hparams *groups;
    size_t n_groups;
    rv_param *params;
    size_t n_params, cap_params;
    size_t *start;             /* n_params + 1 offsets of the padded index space */
    size_t line;               /* its granularity: RV_LINE, or RV_QUANT_BLOCK with int8 state */
    void **arenas;             /* state memory, one block per allocating call */
    size_t n_arenas;
    int layout_stale;          /* start[] must be rebuilt (tensors were added) */
    rv_coeffs *coeffs;         /* this step's distinct coefficient sets (<= n_params) */
    float *work;               /* scratch of whole-tensor algorithms (muon) */
    size_t work_floats;
    int eval_mode;             /* schedule-free: parameters hold x */
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
    rv_status s = rv_type_validate(type, &hp);
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
    o->layout_stale = 1;
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

static void free_state(rv_optim *o)
{
    for (size_t i = 0; i < o->n_params; i++) {
        memset(o->params[i].state, 0, sizeof o->params[i].state);
        o->params[i].n_state = 0;
        o->params[i].master = NULL;
        o->params[i].ready = 0;
    }
    for (size_t a = 0; a < o->n_arenas; a++)
        free(o->arenas[a]);
    free(o->arenas);
    o->arenas = NULL;
    o->n_arenas = 0;
}

void rv_optim_free(rv_optim *o)
{
    if (!o)
        return;
    free_state(o);
    for (size_t i = 0; i < o->n_params; i++)
        free(o->params[i].name);
    free(o->params);
    free(o->groups);
    free(o->start);
    free(o->coeffs);
    free(o->work);
    free(o);
}

const rv_optim_type *rv_optim_get_type(const rv_optim *o) { return o ? o->type : NULL; }

rv_status rv_optim_add_group(rv_optim *o, const rv_hparams *h, size_t *group)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_add_group: optimizer is NULL");
    rv_hparams hp = h ? *h : o->groups[0];
    rv_status s = rv_type_validate(o->type, &hp);
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

static int misaligned(const float *x) { return x && (uintptr_t)x % _Alignof(float) != 0; }

static rv_status check_buffers(const char *name, size_t n, const float *param, const float *grad)
{
    if (n && !param)
        return rv_fail(RV_ERR_NULL, "tensor '%s': param is NULL", name);
    if (misaligned(param) || misaligned(grad))
        return rv_fail(RV_ERR_ALIGN, "tensor '%s': %s pointer %p is not aligned for float", name,
                       misaligned(param) ? "param" : "grad",
                       misaligned(param) ? (const void *)param : (const void *)grad);
    return RV_OK;
}

static rv_status check_bf16_buffers(const char *name, size_t n, const uint16_t *param,
                                    const uint16_t *grad)
{
    if (n && !param)
        return rv_fail(RV_ERR_NULL, "tensor '%s': param is NULL", name);
    if ((uintptr_t)param % _Alignof(uint16_t) || (uintptr_t)grad % _Alignof(uint16_t))
        return rv_fail(RV_ERR_ALIGN, "tensor '%s': a bf16 %s pointer is not 2-byte aligned", name,
                       (uintptr_t)param % 2 ? "param" : "grad");
    return RV_OK;
}

static rv_status check_shape_need(const rv_optim_type *type, const char *name, const rv_shape *s)
{
    if (type->shape_need == RV_SHAPE_KNOWN && !s->has_shape)
        return rv_fail(RV_ERR_SHAPE,
                       "tensor '%s': %s needs the tensor's shape (factored or not); add it with "
                       "rv_optim_add_param_shaped",
                       name, type->name);
    if (type->shape_need == RV_SHAPE_MATRIX && (!s->has_shape || s->ndim != 2))
        return rv_fail(RV_ERR_SHAPE,
                       "tensor '%s': %s updates 2-D matrices only; %s", name, type->name,
                       s->has_shape ? "this tensor has another number of dimensions"
                                    : "add it with rv_optim_add_param_shaped and its 2 dimensions");
    /* matrix products take int dimensions (CBLAS) */
    for (size_t d = 0; type->shape_need == RV_SHAPE_MATRIX && d < s->ndim; d++)
        if (s->dims[d] > INT_MAX)
            return rv_fail(RV_ERR_SHAPE,
                           "tensor '%s': dimension %zu is %zu; %s's matrix products take at most "
                           "%d rows or columns",
                           name, d, s->dims[d], type->name, INT_MAX);
    return RV_OK;
}

/* The tensor tables grow by doubling, so adding n tensors costs O(n). */
static int grow_tables(rv_optim *o)
{
    size_t cap = o->cap_params ? 2 * o->cap_params : 16;
    if (cap > SIZE_MAX / sizeof(rv_param))
        return 1;
    rv_param *params = realloc(o->params, cap * sizeof *params);
    if (params)
        o->params = params;
    rv_coeffs *coeffs = params ? realloc(o->coeffs, cap * sizeof *coeffs) : NULL;
    if (!coeffs)
        return 1;
    o->coeffs = coeffs;
    o->cap_params = cap;
    return 0;
}

static rv_status add_param(rv_optim *o, size_t group, const char *name, rv_precision dtype,
                           void *param, void *grad, const rv_shape *shape, size_t *index)
{
    const char *shown = name ? name : "";
    size_t n = shape->n;
    if (group >= o->n_groups)
        return rv_fail(RV_ERR_INDEX, "param group %zu does not exist (%zu groups)", group,
                       o->n_groups);
    rv_status s = dtype == RV_FP32 ? check_buffers(shown, n, param, grad)
                                   : check_bf16_buffers(shown, n, param, grad);
    if (s || (s = check_shape_need(o->type, shown, shape)))
        return s;
    if (n > SIZE_MAX / (RV_MAX_STATE * sizeof(float)) - RV_LINE)
        return rv_fail(RV_ERR_SIZE, "tensor '%s': %zu elements is too many", shown, n);
    char *copy = strdup(shown);
    if (!copy || (o->n_params == o->cap_params && grow_tables(o))) {
        free(copy);
        return rv_fail(RV_ERR_NOMEM, "out of memory adding a tensor");
    }
    rv_param *p = &o->params[o->n_params];
    memset(p, 0, sizeof *p);
    p->name = copy;
    p->group = group;
    p->n = n;
    p->shape = *shape;
    p->dtype = dtype;
    p->param = param;
    p->grad = grad;
    if (index)
        *index = o->n_params;
    o->n_params++;
    o->layout_stale = 1;
    return RV_OK;
}

rv_status rv_optim_add_param(rv_optim *o, size_t group, const char *name, float *param,
                             float *grad, size_t n, size_t *index)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_add_param: optimizer is NULL");
    rv_shape shape = {.n = n};
    return add_param(o, group, name, RV_FP32, param, grad, &shape, index);
}

static rv_status shape_of(const char *name, size_t ndim, const size_t *dims, rv_shape *shape)
{
    const char *shown = name ? name : "";
    if (ndim > RV_MAX_DIMS)
        return rv_fail(RV_ERR_SHAPE, "tensor '%s': %zu dimensions, at most %d are supported",
                       shown, ndim, RV_MAX_DIMS);
    if (ndim && !dims)
        return rv_fail(RV_ERR_NULL, "tensor '%s': shape is NULL", shown);
    /* the product of the non-zero dimensions must fit too: factored and
       matrix algorithms multiply subsets of them (rows, columns) even
       when another dimension is 0 */
    *shape = (rv_shape){.n = 1, .ndim = ndim, .has_shape = 1};
    size_t nonzero = 1;
    for (size_t d = 0; d < ndim; d++) {
        if (dims[d] && nonzero > SIZE_MAX / dims[d])
            return rv_fail(RV_ERR_SIZE, "tensor '%s': the shape's size overflows", shown);
        nonzero *= dims[d] ? dims[d] : 1;
        shape->n *= dims[d];
        shape->dims[d] = dims[d];
    }
    return RV_OK;
}

rv_status rv_optim_add_param_shaped(rv_optim *o, size_t group, const char *name, float *param,
                                    float *grad, size_t ndim, const size_t *dims, size_t *index)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_add_param_shaped: optimizer is NULL");
    rv_shape shape;
    rv_status s = shape_of(name, ndim, dims, &shape);
    return s ? s : add_param(o, group, name, RV_FP32, param, grad, &shape, index);
}

rv_status rv_optim_add_param_bf16(rv_optim *o, size_t group, const char *name, uint16_t *param,
                                  uint16_t *grad, size_t ndim, const size_t *dims, size_t *index)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_add_param_bf16: optimizer is NULL");
    rv_shape shape;
    rv_status s = shape_of(name, ndim, dims, &shape);
    return s ? s : add_param(o, group, name, RV_BF16, param, grad, &shape, index);
}

rv_status rv_optim_set_buffers(rv_optim *o, size_t index, float *param, float *grad)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_buffers: optimizer is NULL");
    if (index >= o->n_params)
        return rv_fail(RV_ERR_INDEX, "tensor %zu does not exist (%zu tensors)", index, o->n_params);
    rv_param *p = &o->params[index];
    if (p->dtype != RV_FP32)
        return rv_fail(RV_ERR_ARG, "tensor %zu ('%s') is bf16: use rv_optim_set_buffers_bf16",
                       index, p->name);
    rv_status s = check_buffers(p->name, p->n, param, grad);
    if (s)
        return s;
    p->param = param;
    p->grad = grad;
    return RV_OK;
}

rv_status rv_optim_set_buffers_bf16(rv_optim *o, size_t index, uint16_t *param, uint16_t *grad)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_buffers_bf16: optimizer is NULL");
    if (index >= o->n_params)
        return rv_fail(RV_ERR_INDEX, "tensor %zu does not exist (%zu tensors)", index, o->n_params);
    rv_param *p = &o->params[index];
    if (p->dtype != RV_BF16)
        return rv_fail(RV_ERR_ARG, "tensor %zu ('%s') is float32: use rv_optim_set_buffers",
                       index, p->name);
    rv_status s = check_bf16_buffers(p->name, p->n, param, grad);
    if (s)
        return s;
    p->param = param;
    p->grad = grad;
    return RV_OK;
}

/* The index space's granularity: a cache line of float32 state, or a
   quantization block while any group keeps int8 state. */
static size_t line_for(const rv_optim *o)
{
    for (size_t g = 0; g < o->n_groups; g++)
        if (o->groups[g].state == RV_INT8)
            return RV_QUANT_BLOCK;
    return RV_LINE;
}

static rv_status build_layout(rv_optim *o)
{
    size_t *s = malloc((o->n_params + 1) * sizeof *s);
    if (!s)
        return rv_fail(RV_ERR_NOMEM, "out of memory planning the step");
    size_t line = line_for(o);
    s[0] = 0;
    for (size_t i = 0; i < o->n_params; i++)
        s[i + 1] = s[i] + ((o->params[i].n + line - 1) & ~(line - 1));
    free(o->start);
    o->start = s;
    o->line = line;
    o->layout_stale = 0;
    return RV_OK;
}

static size_t total_numel(const rv_optim *o)
{
    size_t t = 0;
    for (size_t i = 0; i < o->n_params; i++)
        t += o->params[i].n;
    return t;
}

/* ---- running a per-span function over all tensors on all threads ------ */

/* fn handles elements [off, off + len) of tensor t; a nonzero return is
   OR-ed into the result of run_spans (the non-finite scan uses it). */
typedef int (*span_fn)(rv_optim *o, size_t t, size_t off, size_t len);

/* The last tensor whose padded range starts at or before x. */
static size_t tensor_at(const rv_optim *o, size_t x)
{
    size_t lo = 0, hi = o->n_params;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->start[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* fn over every tensor's part of [lo, hi) of the padded index space. */
static int for_spans(rv_optim *o, size_t lo, size_t hi, span_fn fn)
{
    int any = 0;
    for (size_t t = tensor_at(o, lo); t < o->n_params && o->start[t] < hi; t++) {
        size_t base = o->start[t], n = o->params[t].n;
        size_t from = lo > base ? lo - base : 0;
        size_t to = hi - base < n ? hi - base : n;
        if (from < to)
            any |= fn(o, t, from, to - from);
    }
    return any;
}

#ifdef _OPENMP
/* Start of thread k's stretch out of `threads`: equal shares of whole lines. */
static size_t stretch_start(size_t total, size_t line, size_t k, size_t threads)
{
    size_t lines = total / line;
    return (lines / threads * k + lines % threads * k / threads) * line;
}
#endif

static int run_spans(rv_optim *o, span_fn fn)
{
    size_t total = o->start[o->n_params];
    int threads = thread_count(o);
    if (threads <= 1 || total < RV_PARALLEL_MIN)
        return for_spans(o, 0, total, fn);
    int any = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(| : any)
    {
        size_t k = (size_t)omp_get_thread_num(), team = (size_t)omp_get_num_threads();
        size_t hi = k + 1 == team ? total : stretch_start(total, o->line, k + 1, team);
        any |= for_spans(o, stretch_start(total, o->line, k, team), hi, fn);
    }
#endif
    return any;
}

/* ---- the spans a step runs ------------------------------------------- */

/* A float32 tensor with float32 state: the kernel runs on the buffers. */
static void update_plain(rv_optim *o, rv_param *p, size_t off, size_t len)
{
    float *state[RV_MAX_STATE] = {0};
    for (size_t j = 0; j < p->n_state; j++)
        state[j] = (float *)p->state[j].data + off;
    o->type->update(&o->coeffs[p->coeff], len, (float *)p->param + off, (float *)p->grad + off,
                    state);
}

/* Ask for the cache lines of [from, from + n) of a stream of `size`-byte
   values. */
static void prefetch_range(const void *base, size_t size, size_t from, size_t n)
{
    const char *b = (const char *)base + from * size;
    for (size_t k = 0; k < n * size; k += 64)
        __builtin_prefetch(b + k);
}

/* The chunk `ahead` values on, in every stream of the tensor: the phases of a
   chunk (load the state, update, store it) touch one or two streams at a
   time, so without this the memory would see few misses in flight. */
static void prefetch_chunk(const rv_param *p, size_t at, size_t end)
{
    if (at >= end)
        return;
    size_t n = end - at < RV_QUANT_BLOCK ? end - at : RV_QUANT_BLOCK;
    size_t psize = p->dtype == RV_BF16 ? 2 : 4;
    prefetch_range(p->param, psize, at, n);
    prefetch_range(p->grad, psize, at, n);
    if (p->dtype == RV_BF16)
        prefetch_range(p->master, 4, at, n);
    for (size_t j = 0; j < p->n_state; j++) {
        const rv_buffer *b = &p->state[j];
        prefetch_range(b->data, b->prec == RV_BF16 ? 2 : b->prec == RV_INT8 ? 1 : 4, at, n);
    }
}

/* Anything stored below float32: chunk by chunk through float32 scratch
   (a chunk of int8 state is one of its quantization blocks). */
static void update_chunked(rv_optim *o, rv_param *p, size_t off, size_t len)
{
    enum { AHEAD = 2 * RV_QUANT_BLOCK };
    float g32[RV_QUANT_BLOCK], scratch[RV_MAX_STATE][RV_QUANT_BLOCK];
    int bf16 = p->dtype == RV_BF16;
    for (size_t i = off; i < off + len; i += RV_QUANT_BLOCK) {
        size_t m = off + len - i < RV_QUANT_BLOCK ? off + len - i : RV_QUANT_BLOCK;
        prefetch_chunk(p, i + AHEAD, off + len);
        float *p32 = bf16 ? p->master + i : (float *)p->param + i;
        const float *g = bf16 ? g32 : (const float *)p->grad + i;
        if (bf16)
            rv_bf16_widen((const uint16_t *)p->grad + i, g32, m);
        float *state[RV_MAX_STATE] = {0};
        for (size_t j = 0; j < p->n_state; j++) {
            const rv_buffer *b = &p->state[j];
            state[j] = b->prec == RV_FP32 ? (float *)b->data + i : scratch[j];
            if (b->prec != RV_FP32)
                rv_buffer_load(b, i, m, scratch[j]);
        }
        o->type->update(&o->coeffs[p->coeff], m, p32, g, state);
        for (size_t j = 0; j < p->n_state; j++)
            if (p->state[j].prec != RV_FP32)
                rv_buffer_store(&p->state[j], i, m, scratch[j]);
        if (bf16)
            rv_bf16_narrow(p32, (uint16_t *)p->param + i, m);
    }
}

static int update_span(rv_optim *o, size_t t, size_t off, size_t len)
{
    rv_param *p = &o->params[t];
    if (!p->grad)
        return 0;
    if (p->plain)
        update_plain(o, p, off, len);
    else if (!(p->dtype == RV_FP32 && o->type->update_stored &&
               o->type->update_stored(&o->coeffs[p->coeff], len, (float *)p->param + off,
                                      (const float *)p->grad + off, p->state, off)))
        update_chunked(o, p, off, len);
    return 0;
}

static int nonfinite_span(rv_optim *o, size_t t, size_t off, size_t len)
{
    const rv_param *p = &o->params[t];
    if (!p->grad)
        return 0;
    if (p->dtype == RV_BF16)
        return rv_bf16_any_nonfinite((const uint16_t *)p->grad + off, len);
    const float *g = (const float *)p->grad + off;
    int bad = 0;
    for (size_t i = 0; i < len; i++)
        bad |= !isfinite(g[i]);
    return bad;
}

/* The float32 values a tensor's rule updates: the master of a bf16 tensor. */
static float *rule_param(const rv_param *p)
{
    return p->dtype == RV_BF16 ? p->master : (float *)p->param;
}

/* Fresh state is filled by the threads that will update it (first touch):
   the master from the bf16 parameter, then every buffer's starting value. */
static int init_span(rv_optim *o, size_t t, size_t off, size_t len)
{
    rv_param *p = &o->params[t];
    if (!p->fresh)
        return 0;
    if (p->dtype == RV_BF16)
        rv_bf16_widen((const uint16_t *)p->param + off, p->master + off, len);
    const rv_hparams *h = &o->groups[p->group];
    for (size_t j = 0; j < p->n_state; j++) {
        rv_state_fill f = o->type->state_fill ? o->type->state_fill(h, j) : (rv_state_fill){0};
        if (f.from_param)   /* such buffers are float32 (RV_BUF_EXACT) */
            memcpy((float *)p->state[j].data + off, rule_param(p) + off, len * sizeof(float));
        else
            rv_buffer_fill(&p->state[j], off, len, f.value);
    }
    return 0;
}

/* Fresh state of a whole-tensor algorithm: buffers of their own lengths. */
static void init_whole(rv_optim *o, rv_param *p)
{
    if (p->dtype == RV_BF16)
        rv_bf16_widen((const uint16_t *)p->param, p->master, p->n);
    const rv_hparams *h = &o->groups[p->group];
    for (size_t j = 0; j < p->n_state; j++) {
        rv_state_fill f = o->type->state_fill ? o->type->state_fill(h, j) : (rv_state_fill){0};
        size_t len = rv_type_state_len(o->type, h, &p->shape, j);
        if (f.from_param)
            memcpy(p->state[j].data, rule_param(p), len * sizeof(float));
        else
            rv_buffer_fill(&p->state[j], 0, len, f.value);
    }
}

/* How buffer j of a tensor is stored: the group's state precision, except
   for buffers that hold parameters (always float32). */
static rv_precision buffer_precision(const rv_optim *o, const rv_hparams *h, size_t j)
{
    rv_buffer_kind kind = o->type->state_kind ? o->type->state_kind(h, j) : RV_BUF_SIGNED;
    return kind == RV_BUF_EXACT ? RV_FP32 : h->state;
}

static int buffer_nonnegative(const rv_optim *o, const rv_hparams *h, size_t j)
{
    return o->type->state_kind && o->type->state_kind(h, j) == RV_BUF_NONNEG;
}

/* Does tensor p take part in this allocation? */
static int wants_state(const rv_param *p, int all)
{
    return !p->ready && p->n && (p->grad || all);
}

/* Allocate every missing state buffer of the tensors that take part in the
   next step (all of them for rv_optim_ensure_state), all or nothing: on
   failure nothing changes. The tensors that need state now share one
   64-byte aligned arena laid out like the index space (buffer 0 of every
   tensor, then buffer 1, ..., then the float32 masters of bf16 tensors; each
   rounded up to 64 bytes), so the state of many small tensors forms
   unbroken streams instead of scattered heap blocks. Whole-tensor
   algorithms also get their scratch here. */
static rv_status alloc_state(rv_optim *o, int all)
{
    rv_status s;
    if ((o->layout_stale || o->line != line_for(o)) && (s = build_layout(o)))
        return s;
    const rv_optim_type *type = o->type;
    size_t need = 0, tensors = 0, k_max = 0, work = o->work_floats;
    for (size_t i = 0; i < o->n_params; i++) {
        const rv_param *p = &o->params[i];
        const rv_hparams *h = &o->groups[p->group];
        if (!p->grad && !all)
            continue;
        if (!type->update) {
            /* whole-tensor scratch; bf16 tensors also need their gradient in float32 */
            size_t w = (type->work_floats ? type->work_floats(h, &p->shape) : 0) +
                       (p->dtype == RV_BF16 ? p->n : 0);
            work = w > work ? w : work;
        }
        if (!wants_state(p, all))
            continue;
        size_t k = type->state_count(h, &p->shape);
        for (size_t j = 0; j <= k; j++) {
            size_t bytes = j < k ? rv_buffer_bytes(buffer_precision(o, h, j),
                                                   rv_type_state_len(type, h, &p->shape, j))
                                 : p->dtype == RV_BF16 ? rv_buffer_bytes(RV_FP32, p->n) : 0;
            if (bytes > SIZE_MAX - need)
                return rv_fail(RV_ERR_NOMEM, "optimizer state of %zu tensors is too large",
                               tensors + 1);
            need += bytes;
        }
        tensors++;
        k_max = k > k_max ? k : k_max;
    }
    float *scratch = NULL;
    if (work > o->work_floats) {
        if (work > SIZE_MAX / sizeof(float) || !(scratch = malloc(work * sizeof(float))))
            return rv_fail(RV_ERR_NOMEM, "out of memory allocating %zu floats of optimizer scratch",
                           work);
    }
    char *arena = NULL;
    if (need) {
        void **grown = realloc(o->arenas, (o->n_arenas + 1) * sizeof *grown);
        if (grown)
            o->arenas = grown;
        if (!grown || !(arena = aligned_alloc(64, need))) {
            free(scratch);
            return rv_fail(RV_ERR_NOMEM,
                           "out of memory allocating optimizer state: %zu bytes for %zu tensor(s)",
                           need, tensors);
        }
        o->arenas[o->n_arenas++] = arena;
    }
    if (scratch) {
        free(o->work);
        o->work = scratch;
        o->work_floats = work;
    }
    /* tensors without state buffers (sgd without momentum) are made ready
       too, so that they take the plain path */
    size_t off = 0;
    for (size_t j = 0; j <= k_max; j++)
        for (size_t i = 0; i < o->n_params; i++) {
            rv_param *p = &o->params[i];
            const rv_hparams *h = &o->groups[p->group];
            if (!wants_state(p, all) || j > type->state_count(h, &p->shape))
                continue;
            p->fresh = 1;
            if (j < type->state_count(h, &p->shape)) {
                rv_precision prec = buffer_precision(o, h, j);
                size_t len = rv_type_state_len(type, h, &p->shape, j);
                rv_buffer_place(&p->state[j], prec, buffer_nonnegative(o, h, j), len, arena + off);
                off += rv_buffer_bytes(prec, len);
            }
        }
    /* the masters last, so the state buffers' streams stay together */
    for (size_t i = 0; i < o->n_params; i++) {
        rv_param *p = &o->params[i];
        if (p->fresh && p->dtype == RV_BF16) {
            p->master = (float *)(void *)(arena + off);
            off += rv_buffer_bytes(RV_FP32, p->n);
        }
    }
    for (size_t i = 0; i < o->n_params; i++) {
        rv_param *p = &o->params[i];
        if (!p->fresh)
            continue;
        const rv_hparams *h = &o->groups[p->group];
        p->ready = 1;
        p->n_state = type->state_count(h, &p->shape);
        p->plain = p->dtype == RV_FP32;
        for (size_t j = 0; j < p->n_state; j++)
            p->plain &= p->state[j].prec == RV_FP32;
        if (type->scalars_start)
            type->scalars_start(h, p->scalars);
        if (!type->update)
            init_whole(o, p);
    }
    if (type->update)
        run_spans(o, init_span);
    for (size_t i = 0; i < o->n_params; i++)
        o->params[i].fresh = 0;
    return RV_OK;
}

rv_status rv_optim_ensure_state(rv_optim *o)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_ensure_state: optimizer is NULL");
    return alloc_state(o, 1);
}

rv_status rv_optim_prepare_step(rv_optim *o)
{
    return alloc_state(o, 0);
}

static float grad_value(const rv_param *p, size_t i)
{
    return p->dtype == RV_BF16 ? rv_bf16_to_f32(((const uint16_t *)p->grad)[i])
                               : ((const float *)p->grad)[i];
}

/* Find the first non-finite gradient element. The scan reads every gradient
   once, on all threads; only when it finds one does a serial pass locate it. */
static int find_nonfinite(rv_optim *o, size_t *tensor, size_t *index)
{
    if (!run_spans(o, nonfinite_span))
        return 0;
    for (size_t t = 0; t < o->n_params; t++)
        for (size_t i = 0; o->params[t].grad && i < o->params[t].n; i++)
            if (!isfinite(grad_value(&o->params[t], i))) {
                *tensor = t;
                *index = i;
                return 1;
            }
    return 0;
}

/* Coefficients depend only on the group and the tensor's step count, so
   tensors that share both share one set: thousands of small tensors cost
   one prepare (two pow calls for Adam) per group, not one each. Algorithms
   with per-tensor scalars prepare every tensor, since that advances them. */
static void prepare_coeffs(rv_optim *o)
{
    enum { CACHED_GROUPS = 64 };
    long cached_step[CACHED_GROUPS];
    size_t cached_slot[CACHED_GROUPS];
    for (size_t g = 0; g < CACHED_GROUPS; g++)
        cached_step[g] = -1;
    int cache = o->type->n_scalars == 0;
    size_t n = 0;
    for (size_t i = 0; i < o->n_params; i++) {
        rv_param *p = &o->params[i];
        if (!p->grad)
            continue;
        size_t g = p->group;
        if (cache && g < CACHED_GROUPS && cached_step[g] == p->step) {
            p->coeff = cached_slot[g];
            continue;
        }
        o->type->prepare(&o->groups[g], p->step + 1, p->scalars, &o->coeffs[n]);
        p->coeff = n++;
        if (g < CACHED_GROUPS) {
            cached_step[g] = p->step;
            cached_slot[g] = p->coeff;
        }
    }
}

/* Whole-tensor algorithms: one tensor after another; each update spreads
   its own work (matrix products) over the threads. */
static void update_whole(rv_optim *o)
{
    for (size_t i = 0; i < o->n_params; i++) {
        rv_param *p = &o->params[i];
        if (!p->grad || !p->n)
            continue;
        float *state[RV_MAX_STATE] = {0};
        for (size_t j = 0; j < p->n_state; j++)
            state[j] = p->state[j].data;   /* whole-tensor state is float32 */
        rv_tensor_ctx ctx = {&o->groups[p->group], &p->shape, o->work};
        if (p->dtype == RV_BF16) {
            /* the gradient widened into the scratch's tail, the rule on the master */
            float *g32 = o->work + (o->work_floats - p->n);
            rv_bf16_widen(p->grad, g32, p->n);
            o->type->update_tensor(&o->coeffs[p->coeff], &ctx, p->master, g32, state);
            rv_bf16_narrow(p->master, p->param, p->n);
        } else {
            o->type->update_tensor(&o->coeffs[p->coeff], &ctx, p->param, p->grad, state);
        }
    }
}

rv_status rv_optim_step(rv_optim *o)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_step: optimizer is NULL");
    if (o->eval_mode)
        return rv_fail(RV_ERR_MODE, "%s is in eval mode (parameters hold x): call rv_optim_train "
                       "before stepping", o->type->name);
    rv_status s;
    if ((o->layout_stale || o->line != line_for(o)) && (s = build_layout(o)))
        return s;
    if (o->nonfinite != RV_NONFINITE_IGNORE) {
        size_t t, i;
        if (find_nonfinite(o, &t, &i)) {
            if (o->nonfinite == RV_NONFINITE_SKIP) {
                o->skipped += o->skipped < LONG_MAX;
                return RV_OK;
            }
            const rv_param *p = &o->params[t];
            return rv_fail(RV_ERR_NONFINITE_GRAD,
                           "non-finite gradient in tensor %zu ('%s') at index %zu: %.9g; "
                           "step not taken",
                           t, p->name, i, (double)grad_value(p, i));
        }
    }
    for (size_t i = 0; i < o->n_params; i++)
        if (o->params[i].grad && o->params[i].step == LONG_MAX)
            return rv_fail(RV_ERR_ARG, "tensor %zu ('%s') has taken %ld steps, the most a step "
                           "count holds", i, o->params[i].name, LONG_MAX);
    if ((s = alloc_state(o, 0)))
        return s;
    prepare_coeffs(o);
    if (o->type->update)
        run_spans(o, update_span);
    else
        update_whole(o);
    for (size_t i = 0; i < o->n_params; i++)
        if (o->params[i].grad)
            o->params[i].step++;
    if (o->steps < LONG_MAX)
        o->steps++;
    return RV_OK;
}

static rv_status switch_mode(rv_optim *o, int to_eval)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_%s: optimizer is NULL", to_eval ? "eval" : "train");
    if (o->eval_mode == to_eval || !o->type->to_eval)
        return RV_OK;   /* only schedule-free keeps two points; the others have one mode */
    void (*move)(const rv_hparams *, size_t, float *, float *const *) =
        to_eval ? o->type->to_eval : o->type->to_train;
    for (size_t i = 0; move && i < o->n_params; i++) {
        rv_param *p = &o->params[i];
        if (!p->ready || !p->n)
            continue;
        float *state[RV_MAX_STATE] = {0};
        for (size_t j = 0; j < p->n_state; j++)
            state[j] = p->state[j].data;   /* the buffers move() reads are float32 */
        move(&o->groups[p->group], p->n, rule_param(p), state);
        if (p->dtype == RV_BF16)
            rv_bf16_narrow(p->master, p->param, p->n);
    }
    o->eval_mode = to_eval;
    return RV_OK;
}

void rv_optim_mark_mode(rv_optim *o, int eval)
{
    if (o)
        o->eval_mode = eval != 0 && o->type->to_eval != NULL;
}

rv_status rv_optim_eval(rv_optim *o) { return switch_mode(o, 1); }
rv_status rv_optim_train(rv_optim *o) { return switch_mode(o, 0); }
int rv_optim_is_training(const rv_optim *o) { return o ? !o->eval_mode : 1; }

rv_status rv_optim_zero_state(rv_optim *o)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_zero_state: optimizer is NULL");
    free_state(o);
    for (size_t i = 0; i < o->n_params; i++)
        o->params[i].step = 0;
    o->steps = 0;
    o->eval_mode = 0;   /* the parameters, whatever they hold, are where training resumes */
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
    rv_status s = rv_type_validate(o->type, h);
    if (s)
        return s;
    for (size_t i = 0; i < o->n_params; i++) {
        const rv_param *p = &o->params[i];
        size_t k = o->type->state_count(h, &p->shape);
        if (p->group == group && p->ready && p->n_state != k)
            return rv_fail(RV_ERR_ARG,
                           "param group %zu: the new hyperparameters need %zu state buffers, the "
                           "existing state has %zu; call rv_optim_zero_state first",
                           group, k, p->n_state);
        for (size_t j = 0; p->group == group && p->ready && j < k; j++)
            if (p->state[j].prec != buffer_precision(o, h, j))
                return rv_fail(RV_ERR_STATE_PRECISION,
                               "param group %zu: the existing state is stored with another "
                               "precision; call rv_optim_zero_state first",
                               group);
    }
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
    const rv_hparams *h = &o->groups[p->group];
    memset(out, 0, sizeof *out);
    out->name = p->name;
    out->group = p->group;
    out->n = p->n;
    out->ndim = p->shape.ndim;
    out->has_shape = p->shape.has_shape;
    memcpy(out->shape, p->shape.dims, sizeof out->shape);
    out->dtype = p->dtype;
    out->param_data = p->param;
    out->grad_data = p->grad;
    out->param = p->dtype == RV_FP32 ? p->param : NULL;
    out->grad = p->dtype == RV_FP32 ? p->grad : NULL;
    out->master = p->master;
    out->step = p->step;
    out->n_state = o->type->state_count(h, &p->shape);
    for (size_t s = 0; s < out->n_state && s < RV_MAX_STATE; s++) {
        const rv_buffer *b = &p->state[s];
        rv_precision prec = p->ready ? b->prec : buffer_precision(o, h, s);
        out->state_data[s] = b->data;
        out->state_precision[s] = prec;
        out->state[s] = prec == RV_FP32 ? b->data : NULL;
        out->state_absmax[s] = b->absmax;
        out->state_name[s] = o->type->state_name(h, &p->shape, s);
        out->state_len[s] = rv_type_state_len(o->type, h, &p->shape, s);
    }
    out->n_scalars = o->type->n_scalars;
    for (size_t s = 0; s < out->n_scalars; s++) {
        out->scalar[s] = p->scalars[s];
        out->scalar_name[s] = o->type->scalar_names[s];
    }
    return RV_OK;
}

rv_status rv_optim_set_param_scalars(rv_optim *o, size_t index, const double *scalars)
{
    if (!o || (!scalars && o->type->n_scalars))
        return rv_fail(RV_ERR_NULL, "rv_optim_set_param_scalars: NULL argument");
    if (index >= o->n_params)
        return rv_fail(RV_ERR_INDEX, "tensor %zu does not exist (%zu tensors)", index, o->n_params);
    for (size_t s = 0; s < o->type->n_scalars; s++)
        if (!isfinite(scalars[s]))
            return rv_fail(RV_ERR_NONFINITE_ARG, "tensor %zu: scalar %s must be finite, got %.9g",
                           index, o->type->scalar_names[s], scalars[s]);
    for (size_t s = 0; s < o->type->n_scalars; s++)
        o->params[index].scalars[s] = scalars[s];
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

/* For checkpoints: restore the count of steps skipped for non-finite gradients. */
rv_status rv_optim_set_skipped_count(rv_optim *o, long skipped)
{
    if (!o)
        return rv_fail(RV_ERR_NULL, "rv_optim_set_skipped_count: optimizer is NULL");
    if (skipped < 0)
        return rv_fail(RV_ERR_ARG, "skipped count must be >= 0, got %ld", skipped);
    o->skipped = skipped;
    return RV_OK;
}
