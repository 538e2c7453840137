/* charlm/model.h — a Bengio-style MLP language model over characters,
   forward and backward written out by hand in float32.

       x  = concat(emb[ctx_1], ..., emb[ctx_C])        C*E inputs
       h  = tanh(x W1 + b1)                            H hidden units
       z  = (h * mask) W2 + b2                         27 logits
       (mask: dropout while training, 0 or 1/(1-p) per unit; 1 otherwise)
       loss = mean over rows of -log softmax(z)[y]

   All tensors live in one buffer (params) with a parallel gradient buffer
   (grads), so the optimizer sees five named tensors and the loop code sees
   flat arrays. Weights are stored input-major (W1 is C*E x H), which makes
   every product an "axpy over a row" loop: it vectorises without
   reassociating sums, so results do not depend on the SIMD width. Products
   are split across threads by output rows only, so each number is computed
   by one thread in one fixed order: results do not depend on the thread
   count either. */
#ifndef CHARLM_MODEL_H
#define CHARLM_MODEL_H

#include "data.h"
#include "../common/fastmath.h"
#include "../common/rng.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#define CHARLM_PRAGMA(text) _Pragma(#text)
/* Split a loop across threads when it has enough work to pay for it. */
#define CHARLM_PARALLEL_FOR(work) CHARLM_PRAGMA(omp parallel for schedule(static) if ((work) >= 65536))
#else
#define CHARLM_PARALLEL_FOR(work)
#endif

typedef struct charlm_shape {
    int context;   /* C: characters of context */
    int embed;     /* E: embedding size */
    int hidden;    /* H: hidden units */
} charlm_shape;

enum { CHARLM_EMB, CHARLM_W1, CHARLM_B1, CHARLM_W2, CHARLM_B2, CHARLM_TENSORS };

typedef struct charlm_tensor {
    const char *name;
    size_t offset, n;
    int decay;     /* weight decay applies (matrices only, not biases or embeddings) */
} charlm_tensor;

typedef struct charlm_model {
    charlm_shape shape;
    charlm_tensor tensors[CHARLM_TENSORS];
    size_t n_params;
    float *params, *grads;
    /* workspace for up to `rows` examples at a time */
    size_t rows;
    float *x, *h, *logits, *dh, *dx, *w1t, *w2t;
    float *mask, *hd;   /* dropout: scale per hidden unit, and h * mask */
} charlm_model;

/* charlm_loss flags */
enum { CHARLM_BACKWARD = 1, CHARLM_DROPOUT = 2 };

static inline float *charlm_param(charlm_model *m, int t) { return m->params + m->tensors[t].offset; }
static inline float *charlm_grad(charlm_model *m, int t) { return m->grads + m->tensors[t].offset; }

static inline void charlm_model_free(charlm_model *m)
{
    free(m->params);
    free(m->grads);
    free(m->x);
    free(m->h);
    free(m->logits);
    free(m->dh);
    free(m->dx);
    free(m->w1t);
    free(m->w2t);
    free(m->mask);
    free(m->hd);
    memset(m, 0, sizeof *m);
}

/* Allocate for `rows` examples per call and initialise from seed:
   embeddings N(0, 1), W1 N(0, 1) * (5/3) / sqrt(C*E) (tanh gain), W2 small
   (N(0, 1) * 0.1 / sqrt(H): the first loss is close to log 27), biases 0.
   Returns 0, or -1 out of memory. */
static inline int charlm_model_init(charlm_model *m, charlm_shape s, size_t rows, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->shape = s;
    size_t in = (size_t)s.context * (size_t)s.embed, hid = (size_t)s.hidden, v = CHARLM_VOCAB;
    const struct { const char *name; size_t n; int decay; } layout[CHARLM_TENSORS] = {
        {"emb", v * (size_t)s.embed, 0}, {"w1", in * hid, 1}, {"b1", hid, 0},
        {"w2", hid * v, 1},              {"b2", v, 0},
    };
    size_t off = 0;
    for (int t = 0; t < CHARLM_TENSORS; t++) {
        m->tensors[t] = (charlm_tensor){layout[t].name, off, layout[t].n, layout[t].decay};
        off += layout[t].n;
    }
    m->n_params = off;
    m->rows = rows;
    m->params = calloc(off, sizeof(float));
    m->grads = calloc(off, sizeof(float));
    m->x = malloc(rows * in * sizeof(float));
    m->h = malloc(rows * hid * sizeof(float));
    m->logits = malloc(rows * v * sizeof(float));
    m->dh = malloc(rows * hid * sizeof(float));
    m->dx = malloc(rows * in * sizeof(float));
    m->w1t = malloc(in * hid * sizeof(float));
    m->w2t = malloc(hid * v * sizeof(float));
    m->mask = malloc(rows * hid * sizeof(float));
    m->hd = malloc(rows * hid * sizeof(float));
    if (!m->params || !m->grads || !m->x || !m->h || !m->logits || !m->dh || !m->dx || !m->w1t ||
        !m->w2t || !m->mask || !m->hd)
        return charlm_model_free(m), -1;
    ex_rng r = {seed};
    float *emb = charlm_param(m, CHARLM_EMB), *w1 = charlm_param(m, CHARLM_W1);
    float *w2 = charlm_param(m, CHARLM_W2);
    for (size_t i = 0; i < m->tensors[CHARLM_EMB].n; i++)
        emb[i] = (float)ex_rng_normal(&r);
    double g1 = 5.0 / 3.0 / sqrt((double)in), g2 = 0.1 / sqrt((double)hid);
    for (size_t i = 0; i < m->tensors[CHARLM_W1].n; i++)
        w1[i] = (float)(ex_rng_normal(&r) * g1);
    for (size_t i = 0; i < m->tensors[CHARLM_W2].n; i++)
        w2[i] = (float)(ex_rng_normal(&r) * g2);
    return 0;
}

/* o_i[j] += x_i * b[j] for four rows at once: the inner loop of both
   products. Built twice where the compiler can (AVX2 and baseline) and
   picked at load time; element by element the arithmetic is the same
   (no fused multiply-add, no reassociation), so results do not change. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void charlm_axpy4(float *restrict o0, float *restrict o1, float *restrict o2,
                         float *restrict o3, float x0, float x1, float x2, float x3,
                         const float *restrict b, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        o0[j] += x0 * b[j];
        o1[j] += x1 * b[j];
        o2[j] += x2 * b[j];
        o3[j] += x3 * b[j];
    }
}

/* out[m x n] = bias + a[m x k] * b[k x n], four output rows per pass so each
   row of b is loaded once for four rows of out. */
static inline void charlm_matmul(float *restrict out, const float *restrict a,
                                 const float *restrict b, const float *restrict bias, size_t m,
                                 size_t k, size_t n)
{
    long blocks = (long)((m + 3) / 4);
    CHARLM_PARALLEL_FOR(m * k * n / 64)
    for (long blk = 0; blk < blocks; blk++) {
        size_t r0 = (size_t)blk * 4, rows = m - r0 < 4 ? m - r0 : 4;
        for (size_t r = 0; r < rows; r++) {
            if (bias)
                memcpy(out + (r0 + r) * n, bias, n * sizeof(float));
            else
                memset(out + (r0 + r) * n, 0, n * sizeof(float));
        }
        if (rows == 4) {
            float *restrict o0 = out + r0 * n, *restrict o1 = o0 + n;
            float *restrict o2 = o1 + n, *restrict o3 = o2 + n;
            const float *a0 = a + r0 * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;
            for (size_t kk = 0; kk < k; kk++) {
                charlm_axpy4(o0, o1, o2, o3, a0[kk], a1[kk], a2[kk], a3[kk], b + kk * n, n);
            }
        } else {
            for (size_t r = 0; r < rows; r++) {
                float *restrict o = out + (r0 + r) * n;
                const float *ar = a + (r0 + r) * k;
                for (size_t kk = 0; kk < k; kk++) {
                    const float *restrict brow = b + kk * n;
                    float x = ar[kk];
                    for (size_t j = 0; j < n; j++)
                        o[j] += x * brow[j];
                }
            }
        }
    }
}

/* dw[k x n] += a[m x k]^T * d[m x n], four rows of dw per pass; each row
   of dw sums over the m examples in order. */
static inline void charlm_matmul_at(float *restrict dw, const float *restrict a,
                                    const float *restrict d, size_t m, size_t k, size_t n)
{
    long blocks = (long)((k + 3) / 4);
    CHARLM_PARALLEL_FOR(m * k * n / 64)
    for (long blk = 0; blk < blocks; blk++) {
        size_t k0 = (size_t)blk * 4, rows = k - k0 < 4 ? k - k0 : 4;
        if (rows == 4) {
            float *restrict w0 = dw + k0 * n, *restrict w1 = w0 + n;
            float *restrict w2 = w1 + n, *restrict w3 = w2 + n;
            for (size_t r = 0; r < m; r++) {
                const float *ar = a + r * k + k0;
                charlm_axpy4(w0, w1, w2, w3, ar[0], ar[1], ar[2], ar[3], d + r * n, n);
            }
        } else {
            for (size_t kk = k0; kk < k0 + rows; kk++) {
                float *restrict w = dw + kk * n;
                for (size_t r = 0; r < m; r++) {
                    const float *restrict drow = d + r * n;
                    float x = a[r * k + kk];
                    for (size_t j = 0; j < n; j++)
                        w[j] += x * drow[j];
                }
            }
        }
    }
}

static inline void charlm_transpose(float *restrict out, const float *restrict in, size_t rows,
                                    size_t cols)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            out[j * rows + i] = in[i * cols + j];
}

/* Draw a dropout mask for `rows` examples: each hidden unit is dropped
   with probability p and the survivors scaled by 1/(1-p), so the expected
   activation is unchanged and evaluation needs no mask. */
static inline void charlm_dropout_mask(charlm_model *m, size_t rows, double p, ex_rng *r)
{
    float keep = (float)(1.0 / (1.0 - p));
    size_t n = rows * (size_t)m->shape.hidden;
    for (size_t i = 0; i < n; i++)
        m->mask[i] = ex_rng_uniform(r) < p ? 0.0f : keep;
}

/* Forward pass for `rows` examples (rows <= m->rows): leaves x, h, the
   logits and (with dropout) h * mask in the workspace. */
static inline void charlm_forward(charlm_model *m, const uint8_t *ctx, size_t rows, int dropout)
{
    size_t C = (size_t)m->shape.context, E = (size_t)m->shape.embed;
    size_t in = C * E, H = (size_t)m->shape.hidden;
    const float *emb = charlm_param(m, CHARLM_EMB);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < C; c++)
            memcpy(m->x + r * in + c * E, emb + (size_t)ctx[r * C + c] * E, E * sizeof(float));
    charlm_matmul(m->h, m->x, charlm_param(m, CHARLM_W1), charlm_param(m, CHARLM_B1), rows, in, H);
    long total = (long)(rows * H);
    float *h = m->h;
    CHARLM_PARALLEL_FOR(total)
    for (long i = 0; i < total; i++)
        h[i] = ex_tanhf(h[i]);
    if (dropout) {
        float *hd = m->hd, *mask = m->mask;
        for (long i = 0; i < total; i++)
            hd[i] = h[i] * mask[i];
    }
    charlm_matmul(m->logits, dropout ? m->hd : m->h, charlm_param(m, CHARLM_W2),
                  charlm_param(m, CHARLM_B2), rows, H, CHARLM_VOCAB);
}

/* Summed negative log-likelihood (nats) of y over `rows` examples. Flags:
   CHARLM_DROPOUT applies m->mask (see charlm_dropout_mask); CHARLM_BACKWARD
   also sets grads to the gradient of the mean loss (overwritten, not
   accumulated). */
static inline double charlm_loss(charlm_model *m, const uint8_t *ctx, const uint8_t *y,
                                 size_t rows, int flags)
{
    int backward = flags & CHARLM_BACKWARD, dropout = (flags & CHARLM_DROPOUT) != 0;
    charlm_forward(m, ctx, rows, dropout);
    const size_t V = CHARLM_VOCAB;
    double total = 0;
    float inv_rows = 1.0f / (float)rows;
    for (size_t r = 0; r < rows; r++) {
        float *z = m->logits + r * V;
        float zmax = z[0];
        for (size_t v = 1; v < V; v++)
            zmax = z[v] > zmax ? z[v] : zmax;
        double sum = 0;
        float e[CHARLM_VOCAB];
        for (size_t v = 0; v < V; v++)
            sum += (e[v] = expf(z[v] - zmax));
        total += (double)zmax + log(sum) - (double)z[y[r]];
        if (backward) {   /* dz = (softmax - onehot) / rows, in place */
            float inv_sum = (float)(1.0 / sum);
            for (size_t v = 0; v < V; v++)
                z[v] = (e[v] * inv_sum - (v == y[r] ? 1.0f : 0.0f)) * inv_rows;
        }
    }
    if (!backward)
        return total;

    size_t C = (size_t)m->shape.context, E = (size_t)m->shape.embed;
    size_t in = C * E, H = (size_t)m->shape.hidden;
    memset(m->grads, 0, m->n_params * sizeof(float));
    /* output layer */
    float *dz = m->logits, *db2 = charlm_grad(m, CHARLM_B2);
    charlm_matmul_at(charlm_grad(m, CHARLM_W2), dropout ? m->hd : m->h, dz, rows, H, V);
    for (size_t r = 0; r < rows; r++)
        for (size_t v = 0; v < V; v++)
            db2[v] += dz[r * V + v];
    charlm_transpose(m->w2t, charlm_param(m, CHARLM_W2), H, V);
    charlm_matmul(m->dh, dz, m->w2t, NULL, rows, V, H);
    /* through the mask and tanh: d(pre) = dh * mask * (1 - h^2) */
    long total_h = (long)(rows * H);
    float *dh = m->dh, *h = m->h, *mask = m->mask;
    if (dropout)
        for (long i = 0; i < total_h; i++)
            dh[i] *= mask[i];
    CHARLM_PARALLEL_FOR(total_h)
    for (long i = 0; i < total_h; i++)
        dh[i] *= 1.0f - h[i] * h[i];
    /* hidden layer */
    float *db1 = charlm_grad(m, CHARLM_B1);
    charlm_matmul_at(charlm_grad(m, CHARLM_W1), m->x, dh, rows, in, H);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < H; j++)
            db1[j] += dh[r * H + j];
    charlm_transpose(m->w1t, charlm_param(m, CHARLM_W1), in, H);
    charlm_matmul(m->dx, dh, m->w1t, NULL, rows, H, in);
    /* embeddings: scatter-add in example order */
    float *demb = charlm_grad(m, CHARLM_EMB);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < C; c++) {
            float *g = demb + (size_t)ctx[r * C + c] * E;
            const float *d = m->dx + r * in + c * E;
            for (size_t e = 0; e < E; e++)
                g[e] += d[e];
        }
    return total;
}

/* Mean loss (nats/token) over a whole example set, m->rows at a time. */
static inline double charlm_eval(charlm_model *m, const charlm_examples *ex)
{
    double total = 0;
    size_t C = (size_t)ex->context;
    for (size_t i = 0; i < ex->n; i += m->rows) {
        size_t rows = ex->n - i < m->rows ? ex->n - i : m->rows;
        total += charlm_loss(m, ex->ctx + i * C, ex->y + i, rows, 0);
    }
    return ex->n ? total / (double)ex->n : NAN;
}

/* Sample one word (without the end marker) at the given temperature into
   out (cap >= 2); returns its length. */
static inline size_t charlm_sample(charlm_model *m, ex_rng *r, double temperature, char *out,
                                   size_t cap)
{
    size_t C = (size_t)m->shape.context, len = 0;
    uint8_t ctx[CHARLM_MAX_WORD] = {0};
    while (len + 1 < cap) {
        charlm_forward(m, ctx, 1, 0);
        double p[CHARLM_VOCAB], zmax = m->logits[0], sum = 0;
        for (int v = 1; v < CHARLM_VOCAB; v++)
            zmax = m->logits[v] > zmax ? m->logits[v] : zmax;
        for (int v = 0; v < CHARLM_VOCAB; v++)
            sum += (p[v] = exp((m->logits[v] - zmax) / temperature));
        double u = ex_rng_uniform(r) * sum;
        int t = 0;
        while (t < CHARLM_VOCAB - 1 && (u -= p[t]) >= 0)
            t++;
        if (t == 0)
            break;
        out[len++] = charlm_char(t);
        memmove(ctx, ctx + 1, C - 1);
        ctx[C - 1] = (uint8_t)t;
    }
    out[len] = '\0';
    return len;
}

#endif
