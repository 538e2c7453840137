/* Independent yardsticks: plain OpenMP loops with the memory traffic of an
   optimizer step, STREAM style, compiled on their own. They share nothing
   with the library's threaded step (no index space, no dispatch, no
   kernels), so a ratio against them measures the whole machinery, the way a
   user's own loop would see it. One loop per layout: parameter (float32, or
   bf16 over a float32 master), gradient, and 0-3 state buffers stored as
   float32, bf16 or int8 with a float32 scale per block of 256 values. */
#include "ravine/bench.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define BLOCK 256

struct rv_bench_stream {
    rv_bench_traffic t;
    size_t n;
    int threads;
    float *p, *g, *master;
    uint16_t *p16, *g16;
    void *s[3];
    float *scale[3];
    size_t alloc_bytes;
};

/* One block of each stream in turn (the streams advance together, a block
   of 256 values at a time), every loop simple enough to vectorise:
   p += a*g, and each state value one cheap operation of its own width. */
static inline void params_f32(float *restrict p, const float *restrict g, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        p[i] = p[i] + 0.001f * g[i];
}

static inline void params_bf16(float *restrict master, uint16_t *restrict p16,
                               const uint16_t *restrict g16, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        uint32_t gu = (uint32_t)g16[i] << 16, pu;
        float gi;
        memcpy(&gi, &gu, 4);
        float m = master[i] + 0.001f * gi;
        master[i] = m;
        memcpy(&pu, &m, 4);
        p16[i] = (uint16_t)(pu >> 16);
    }
}

static inline void state_f32(float *restrict s, const float *restrict g, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        s[i] = s[i] * 0.5f + g[i];
}

static inline void state_bf16(uint16_t *restrict s, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        s[i] = (uint16_t)(s[i] ^ 1u);
}

static inline void state_i8(uint8_t *restrict s, float *restrict scale, size_t b, size_t lo,
                            size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        s[i] = (uint8_t)(s[i] + 1u);
    scale[b] *= 0.5f;
}

#define STREAM_LOOP(NAME, BF16_PARAM, PREC, K)                                                   \
    static void NAME(rv_bench_stream *x)                                                         \
    {                                                                                            \
        long blocks = (long)((x->n + BLOCK - 1) / BLOCK);                                        \
        _Pragma("omp parallel for schedule(static) num_threads(x->threads)")                     \
        for (long b = 0; b < blocks; b++) {                                                      \
            size_t lo = (size_t)b * BLOCK, hi = lo + BLOCK < x->n ? lo + BLOCK : x->n;           \
            if (BF16_PARAM)                                                                      \
                params_bf16(x->master, x->p16, x->g16, lo, hi);                                  \
            else                                                                                 \
                params_f32(x->p, x->g, lo, hi);                                                  \
            for (int k = 0; k < (K); k++) {                                                      \
                if ((PREC) == RV_FP32)                                                           \
                    state_f32(x->s[k], BF16_PARAM ? x->master : x->g, lo, hi);                   \
                else if ((PREC) == RV_BF16)                                                      \
                    state_bf16(x->s[k], lo, hi);                                                 \
                else                                                                             \
                    state_i8(x->s[k], x->scale[k], (size_t)b, lo, hi);                           \
            }                                                                                    \
        }                                                                                        \
    }

#define STREAM_FAMILY(PREFIX, BF16_PARAM, PREC)                                                  \
    STREAM_LOOP(PREFIX##0, BF16_PARAM, PREC, 0)                                                  \
    STREAM_LOOP(PREFIX##1, BF16_PARAM, PREC, 1)                                                  \
    STREAM_LOOP(PREFIX##2, BF16_PARAM, PREC, 2)                                                  \
    STREAM_LOOP(PREFIX##3, BF16_PARAM, PREC, 3)

STREAM_FAMILY(f32_f32_, 0, RV_FP32)
STREAM_FAMILY(f32_bf16_, 0, RV_BF16)
STREAM_FAMILY(f32_i8_, 0, RV_INT8)
STREAM_FAMILY(bf16_f32_, 1, RV_FP32)
STREAM_FAMILY(bf16_bf16_, 1, RV_BF16)
STREAM_FAMILY(bf16_i8_, 1, RV_INT8)

typedef void (*stream_fn)(rv_bench_stream *);
static const stream_fn loops[2][3][4] = {
    {{f32_f32_0, f32_f32_1, f32_f32_2, f32_f32_3},
     {f32_bf16_0, f32_bf16_1, f32_bf16_2, f32_bf16_3},
     {f32_i8_0, f32_i8_1, f32_i8_2, f32_i8_3}},
    {{bf16_f32_0, bf16_f32_1, bf16_f32_2, bf16_f32_3},
     {bf16_bf16_0, bf16_bf16_1, bf16_bf16_2, bf16_bf16_3},
     {bf16_i8_0, bf16_i8_1, bf16_i8_2, bf16_i8_3}},
};

static size_t state_bytes(rv_precision prec) { return prec == RV_BF16 ? 2 : prec == RV_INT8 ? 1 : 4; }

double rv_bench_traffic_bytes(const rv_bench_traffic *t)
{
    if (!t)
        return 0;
    double b = t->params == RV_BF16 ? 8 + 2 + 2 : 4 + 4 + 4;   /* master r/w + param w + grad r */
    for (int k = 0; k < t->n_state; k++)
        b += 2.0 * (double)state_bytes(t->state) + (t->state == RV_INT8 ? 8.0 / BLOCK : 0.0);
    return b;
}

static void *fresh(size_t bytes, unsigned char fill, size_t *total, int *bad)
{
    void *x = bytes ? aligned_alloc(64, (bytes + 63) & ~(size_t)63) : NULL;
    if (bytes && !x)
        *bad = 1;
    if (x)
        memset(x, fill, bytes);
    *total += bytes;
    return x;
}

rv_status rv_bench_stream_create(rv_bench_stream **out, const rv_bench_traffic *t, size_t n,
                                 int threads)
{
    if (!out || !t)
        return rv_fail(RV_ERR_NULL, "rv_bench_stream_create: NULL argument");
    if (t->n_state < 0 || t->n_state > 3 || (t->params != RV_FP32 && t->params != RV_BF16) ||
        (t->state != RV_FP32 && t->state != RV_BF16 && t->state != RV_INT8))
        return rv_fail(RV_ERR_ARG, "rv_bench_stream_create: no loop for this layout");
    if (threads < 0 || n > SIZE_MAX / 16)
        return rv_fail(RV_ERR_ARG, "rv_bench_stream_create: bad size or thread count");
    rv_bench_stream *x = calloc(1, sizeof *x);
    if (!x)
        return rv_fail(RV_ERR_NOMEM, "out of memory");
    int bad = 0;
    x->t = *t;
    x->n = n;
#ifdef _OPENMP
    x->threads = threads > 0 ? threads : omp_get_max_threads();
#else
    x->threads = 1;
#endif
    /* values that stay finite however long it runs (memset patterns: small floats) */
    if (t->params == RV_BF16) {
        x->master = fresh(4 * n, 0x3c, &x->alloc_bytes, &bad);
        x->p16 = fresh(2 * n, 0x3c, &x->alloc_bytes, &bad);
        x->g16 = fresh(2 * n, 0x3c, &x->alloc_bytes, &bad);
    } else {
        x->p = fresh(4 * n, 0x3c, &x->alloc_bytes, &bad);
        x->g = fresh(4 * n, 0x3c, &x->alloc_bytes, &bad);
    }
    for (int k = 0; k < t->n_state; k++) {
        x->s[k] = fresh(state_bytes(t->state) * n, 0x3c, &x->alloc_bytes, &bad);
        if (t->state == RV_INT8)
            x->scale[k] = fresh(4 * ((n + BLOCK - 1) / BLOCK), 0x3c, &x->alloc_bytes, &bad);
    }
    if (bad) {
        rv_bench_stream_free(x);
        return rv_fail(RV_ERR_NOMEM, "out of memory for a %zu-parameter bandwidth loop", n);
    }
    *out = x;
    return RV_OK;
}

void rv_bench_stream_run(rv_bench_stream *x)
{
    if (x)
        loops[x->t.params == RV_BF16][x->t.state][x->t.n_state](x);
}

void rv_bench_stream_free(rv_bench_stream *x)
{
    if (!x)
        return;
    free(x->p);
    free(x->g);
    free(x->master);
    free(x->p16);
    free(x->g16);
    for (int k = 0; k < 3; k++) {
        free(x->s[k]);
        free(x->scale[k]);
    }
    free(x);
}
