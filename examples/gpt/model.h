/* gpt/model.h — a GPT in C: a pre-LayerNorm decoder over characters,
   forward and backward written out by hand in float32.

       x    = wte[token] + wpe[position]                      B x T x C
       for each of L layers:
           x = x + proj(attention(LN1(x)))                    causal, NH heads
           x = x + fc_proj(GELU(fc(LN2(x))))                  4C hidden units
       logits = LN_f(x) wte^T                                 output tied to wte
       loss   = mean over positions of -log softmax(logits)[next token]

   As in llm.c's train_gpt2.c: all parameters live in one flat buffer (and
   the gradients in a parallel one) with a table of named views, the
   activations of a forward pass live in one arena, and each layer kind has
   a forward and a backward function. The names are GPT-2's
   ("h.0.attn.c_attn.weight"), the weights are stored as torch's nn.Linear
   keeps them (out_features x in_features), so `rows x cols` is the shape a
   matrix optimizer (Muon) sees.

   Threads split batch rows, (batch, head) pairs, or fixed blocks of a
   product; sums over the batch (bias, LayerNorm and embedding gradients,
   the loss) run in one fixed order, so results do not depend on the
   thread count (gpt/blas.h). */
#ifndef GPT_MODEL_H
#define GPT_MODEL_H

#include "../common/fastmath.h"
#include "../common/rng.h"
#include "blas.h"
#include "data.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gpt_config {
    int vocab;      /* V */
    int context;    /* T: the longest sequence, positions 0..T-1 */
    int layers;     /* L */
    int heads;      /* NH, dividing C */
    int channels;   /* C */
} gpt_config;

/* Kinds of parameter, in the order of the flat buffer. The per-layer kinds
   hold L consecutive slices. */
enum {
    GPT_WTE, GPT_WPE, GPT_LN1W, GPT_LN1B, GPT_QKVW, GPT_QKVB, GPT_ATTPROJW, GPT_ATTPROJB,
    GPT_LN2W, GPT_LN2B, GPT_FCW, GPT_FCB, GPT_FCPROJW, GPT_FCPROJB, GPT_LNFW, GPT_LNFB,
    GPT_KINDS
};

typedef enum gpt_role {
    GPT_EMBEDDING,   /* wte (also the output layer), wpe */
    GPT_MATRIX,      /* a hidden layer's weight matrix: attention and MLP */
    GPT_VECTOR       /* a bias or a LayerNorm gain */
} gpt_role;

/* A named view of one tensor, as optimizers and checkpoints see it. */
typedef struct gpt_tensor {
    char name[40];
    size_t offset, n;
    size_t rows, cols;   /* cols = 0 for vectors */
    gpt_role role;
} gpt_tensor;

typedef struct gpt_acts {
    float *encoded;                      /* B T C */
    float *ln1, *ln1_mean, *ln1_rstd;    /* L B T C, L B T, L B T */
    float *qkv;                          /* L B T 3C */
    float *atty;                         /* L B T C */
    float *att;                          /* L B NH T T: attention probabilities */
    float *residual2;                    /* L B T C */
    float *ln2, *ln2_mean, *ln2_rstd;
    float *fch, *fch_gelu;               /* L B T 4C */
    float *residual3;                    /* L B T C */
    float *lnf, *lnf_mean, *lnf_rstd;    /* B T C, B T, B T */
    float *logits;                       /* B T V; the backward pass turns them into dlogits */
} gpt_acts;

typedef struct gpt_model {
    gpt_config cfg;
    size_t n_params;
    float *params, *grads;
    float *p[GPT_KINDS], *g[GPT_KINDS];   /* each kind's first element */
    size_t kind_n[GPT_KINDS];             /* elements per layer (or in all, for the others) */
    gpt_tensor *tensors;
    size_t n_tensors;
    /* room for B sequences of up to T tokens */
    int B, T;
    float *arena;
    gpt_acts a;
    double *row_loss;                    /* B T */
    /* backward scratch */
    float *dresidual, *dln, *dqkv, *datty, *dfch, *dscores;
} gpt_model;

static inline size_t gpt_kind_size(gpt_config c, int kind)
{
    size_t V = (size_t)c.vocab, T = (size_t)c.context, C = (size_t)c.channels;
    switch (kind) {
    case GPT_WTE: return V * C;
    case GPT_WPE: return T * C;
    case GPT_QKVW: return 3 * C * C;
    case GPT_QKVB: return 3 * C;
    case GPT_ATTPROJW: return C * C;
    case GPT_FCW: return 4 * C * C;
    case GPT_FCB: return 4 * C;
    case GPT_FCPROJW: return C * 4 * C;
    default: return C;   /* LayerNorm gains and biases, attention and MLP output biases */
    }
}

static inline int gpt_kind_per_layer(int kind) { return kind != GPT_WTE && kind != GPT_WPE && kind != GPT_LNFW && kind != GPT_LNFB; }

/* Parameters for c (no allocation). */
static inline size_t gpt_param_count(gpt_config c)
{
    size_t n = 0;
    for (int k = 0; k < GPT_KINDS; k++)
        n += gpt_kind_size(c, k) * (gpt_kind_per_layer(k) ? (size_t)c.layers : 1);
    return n;
}

static inline float *gpt_layer_p(gpt_model *m, int kind, int l) { return m->p[kind] + (size_t)l * m->kind_n[kind]; }
static inline float *gpt_layer_g(gpt_model *m, int kind, int l) { return m->g[kind] + (size_t)l * m->kind_n[kind]; }

static inline void gpt_model_free(gpt_model *m)
{
    free(m->params);
    free(m->grads);
    free(m->tensors);
    free(m->arena);
    free(m->row_loss);
    free(m->dresidual);
    free(m->dln);
    free(m->dqkv);
    free(m->datty);
    free(m->dfch);
    free(m->dscores);
    memset(m, 0, sizeof *m);
}

static inline void gpt_name_tensors(gpt_model *m)
{
    static const char *const names[GPT_KINDS] = {
        "wte.weight",         "wpe.weight",       "ln_1.weight",        "ln_1.bias",
        "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
        "ln_2.weight",        "ln_2.bias",        "mlp.c_fc.weight",    "mlp.c_fc.bias",
        "mlp.c_proj.weight",  "mlp.c_proj.bias",  "ln_f.weight",        "ln_f.bias"};
    size_t C = (size_t)m->cfg.channels, k = 0;
    /* embeddings, then layer by layer, then the final LayerNorm */
    for (int kind = GPT_WTE; kind <= GPT_WPE; kind++) {
        gpt_tensor *t = &m->tensors[k++];
        snprintf(t->name, sizeof t->name, "%s", names[kind]);
        t->offset = (size_t)(m->p[kind] - m->params);
        t->n = m->kind_n[kind];
        t->rows = t->n / C;
        t->cols = C;
        t->role = GPT_EMBEDDING;
    }
    for (int l = 0; l < m->cfg.layers; l++)
        for (int kind = GPT_LN1W; kind <= GPT_FCPROJB; kind++) {
            gpt_tensor *t = &m->tensors[k++];
            snprintf(t->name, sizeof t->name, "h.%d.%s", l, names[kind]);
            t->offset = (size_t)(gpt_layer_p(m, kind, l) - m->params);
            t->n = m->kind_n[kind];
            int matrix = kind == GPT_QKVW || kind == GPT_ATTPROJW || kind == GPT_FCW ||
                         kind == GPT_FCPROJW;
            size_t in = kind == GPT_FCPROJW ? 4 * C : C;
            t->rows = matrix ? t->n / in : t->n;
            t->cols = matrix ? in : 0;
            t->role = matrix ? GPT_MATRIX : GPT_VECTOR;
        }
    for (int kind = GPT_LNFW; kind <= GPT_LNFB; kind++) {
        gpt_tensor *t = &m->tensors[k++];
        snprintf(t->name, sizeof t->name, "%s", names[kind]);
        t->offset = (size_t)(m->p[kind] - m->params);
        t->n = m->kind_n[kind];
        t->rows = t->n;
        t->cols = 0;
        t->role = GPT_VECTOR;
    }
    m->n_tensors = k;
}

/* Allocate for B sequences of up to cfg.context tokens and initialise from
   seed as GPT-2 does: weights N(0, 0.02), the two projections into the
   residual stream N(0, 0.02/sqrt(2L)), wpe N(0, 0.01), biases 0, LayerNorm
   gains 1. Returns 0, -1 out of memory, or -2 for an invalid config. */
static inline int gpt_model_init(gpt_model *m, gpt_config cfg, int B, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    if (cfg.vocab < 1 || cfg.context < 1 || cfg.layers < 1 || cfg.heads < 1 ||
        cfg.channels < 1 || cfg.channels % cfg.heads || B < 1)
        return -2;
    gpt_blas_init();
    m->cfg = cfg;
    m->B = B;
    m->T = cfg.context;
    size_t L = (size_t)cfg.layers, C = (size_t)cfg.channels, V = (size_t)cfg.vocab;
    size_t NH = (size_t)cfg.heads, T = (size_t)cfg.context, BT = (size_t)B * T;
    m->n_params = gpt_param_count(cfg);
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    m->tensors = calloc(4 + 12 * L, sizeof *m->tensors);
    if (!m->params || !m->grads || !m->tensors)
        return gpt_model_free(m), -1;
    size_t off = 0;
    for (int k = 0; k < GPT_KINDS; k++) {
        m->kind_n[k] = gpt_kind_size(cfg, k);
        m->p[k] = m->params + off;
        m->g[k] = m->grads + off;
        off += m->kind_n[k] * (gpt_kind_per_layer(k) ? L : 1);
    }
    gpt_name_tensors(m);

    /* the activation arena */
    struct { float **at; size_t n; } acts[] = {
        {&m->a.encoded, BT * C},       {&m->a.ln1, L * BT * C},       {&m->a.ln1_mean, L * BT},
        {&m->a.ln1_rstd, L * BT},      {&m->a.qkv, L * BT * 3 * C},   {&m->a.atty, L * BT * C},
        {&m->a.att, L * (size_t)B * NH * T * T},                       {&m->a.residual2, L * BT * C},
        {&m->a.ln2, L * BT * C},       {&m->a.ln2_mean, L * BT},      {&m->a.ln2_rstd, L * BT},
        {&m->a.fch, L * BT * 4 * C},   {&m->a.fch_gelu, L * BT * 4 * C},
        {&m->a.residual3, L * BT * C}, {&m->a.lnf, BT * C},           {&m->a.lnf_mean, BT},
        {&m->a.lnf_rstd, BT},          {&m->a.logits, BT * V},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        total += acts[i].n;
    m->arena = malloc(total * sizeof(float));
    m->row_loss = malloc(BT * sizeof(double));
    m->dresidual = malloc(BT * C * sizeof(float));
    m->dln = malloc(BT * C * sizeof(float));
    m->dqkv = malloc(BT * 3 * C * sizeof(float));
    m->datty = malloc(BT * C * sizeof(float));
    m->dfch = malloc(BT * 4 * C * sizeof(float));
    m->dscores = malloc((size_t)B * NH * T * T * sizeof(float));
    if (!m->arena || !m->row_loss || !m->dresidual || !m->dln || !m->dqkv || !m->datty ||
        !m->dfch || !m->dscores)
        return gpt_model_free(m), -1;
    float *at = m->arena;
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        *acts[i].at = at;
        at += acts[i].n;
    }

    ex_rng r = {seed};
    double resid_std = 0.02 / sqrt(2.0 * (double)L);
    for (size_t k = 0; k < m->n_tensors; k++) {
        const gpt_tensor *t = &m->tensors[k];
        float *p = m->params + t->offset;
        int is_proj = strstr(t->name, "c_proj.weight") != NULL;
        int is_gain = strstr(t->name, "ln_") && strstr(t->name, ".weight");
        double std = t->role == GPT_VECTOR ? 0 : strcmp(t->name, "wpe.weight") == 0 ? 0.01
                     : is_proj ? resid_std : 0.02;
        for (size_t i = 0; i < t->n; i++)
            p[i] = is_gain ? 1.0f : std > 0 ? (float)(std * ex_rng_normal(&r)) : 0.0f;
    }
    return 0;
}

/* ---- the layers: forward ------------------------------------------------- */

static inline void gpt_encoder_forward(float *out, const uint8_t *tokens, const float *wte,
                                       const float *wpe, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *te = wte + (size_t)tokens[b * T + t] * C, *pe = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++)
                o[i] = te[i] + pe[i];
        }
}

static inline void gpt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                         const float *w, const float *b, size_t N, int C)
{
    GPT_PARALLEL_FOR
    for (long n = 0; n < (long)N; n++) {
        const float *x = inp + (size_t)n * C;
        float m = 0;
        for (int i = 0; i < C; i++)
            m += x[i];
        m /= (float)C;
        float v = 0;
        for (int i = 0; i < C; i++)
            v += (x[i] - m) * (x[i] - m);
        v /= (float)C;
        float s = 1.0f / sqrtf(v + 1e-5f);
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++)
            o[i] = (s * (x[i] - m)) * w[i] + b[i];
        mean[n] = m;
        rstd[n] = s;
    }
}

/* Causal self-attention of each (sequence, head): scores = Q K^T / sqrt(hs)
   over positions <= t, softmax, times V. Keeps the probabilities in att. */
static inline void gpt_attention_forward(float *out, float *att, const float *qkv, int B, int T,
                                         int C, int NH)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    GPT_PARALLEL_FOR
    for (long bh = 0; bh < (long)B * NH; bh++) {
        int b = (int)(bh / NH), h = (int)(bh % NH);
        const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs, *k = q + C, *v = q + 2 * C;
        float *P = att + (size_t)bh * T * T;
        gpt_sgemm(0, 1, T, T, hs, scale, q, C3, k, C3, 0.0f, P, T);
        for (int t = 0; t < T; t++) {
            float *row = P + (size_t)t * T, mx = row[0];
            for (int u = 1; u <= t; u++)
                mx = row[u] > mx ? row[u] : mx;
            float sum = 0;
            for (int u = 0; u <= t; u++)
                sum += (row[u] = expf(row[u] - mx));
            float inv = 1.0f / sum;
            for (int u = 0; u <= t; u++)
                row[u] *= inv;
            for (int u = t + 1; u < T; u++)
                row[u] = 0;
        }
        gpt_sgemm(0, 0, T, hs, T, 1.0f, P, T, v, C3, 0.0f, out + (size_t)b * T * C + (size_t)h * hs,
                  C);
    }
}

#define GPT_GELU_K 0.7978845608028654f   /* sqrt(2/pi) */

/* GELU, tanh form (GPT-2's), over a span. */
GPT_SIMD static inline void gpt_gelu_span(float *restrict out, const float *restrict inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + ex_tanhf(GPT_GELU_K * (x + 0.044715f * x * x * x)));
    }
}

/* Elementwise work is cut into spans of this many elements for the threads. */
#define GPT_SPAN 16384

static inline void gpt_gelu_forward(float *out, const float *inp, size_t n)
{
    long spans = (long)((n + GPT_SPAN - 1) / GPT_SPAN);
    GPT_PARALLEL_FOR
    for (long k = 0; k < spans; k++) {
        size_t i0 = (size_t)k * GPT_SPAN;
        gpt_gelu_span(out + i0, inp + i0, n - i0 < GPT_SPAN ? n - i0 : GPT_SPAN);
    }
}

static inline void gpt_residual_add(float *out, const float *inp, size_t n)
{
    GPT_PARALLEL_FOR
    for (long i = 0; i < (long)n; i++)
        out[i] += inp[i];
}

/* Forward pass of B sequences of T tokens (B <= m->B, T <= context): leaves
   every activation (the logits last) in the arena. */
static inline void gpt_forward(gpt_model *m, const uint8_t *tokens, int B, int T)
{
    int C = m->cfg.channels, NH = m->cfg.heads, L = m->cfg.layers, V = m->cfg.vocab;
    size_t BT = (size_t)B * T, stride = (size_t)m->B * m->T;   /* per-layer strides of the arena */
    gpt_acts *a = &m->a;
    gpt_encoder_forward(a->encoded, tokens, m->p[GPT_WTE], m->p[GPT_WPE], B, T, C);
    for (int l = 0; l < L; l++) {
        const float *residual = l ? a->residual3 + (size_t)(l - 1) * stride * C : a->encoded;
        float *ln1 = a->ln1 + (size_t)l * stride * C, *qkv = a->qkv + (size_t)l * stride * 3 * C;
        float *atty = a->atty + (size_t)l * stride * C;
        float *att = a->att + (size_t)l * stride * NH * m->T;
        float *res2 = a->residual2 + (size_t)l * stride * C, *ln2 = a->ln2 + (size_t)l * stride * C;
        float *fch = a->fch + (size_t)l * stride * 4 * C;
        float *fch_gelu = a->fch_gelu + (size_t)l * stride * 4 * C;
        float *res3 = a->residual3 + (size_t)l * stride * C;
        gpt_layernorm_forward(ln1, a->ln1_mean + (size_t)l * stride, a->ln1_rstd + (size_t)l * stride,
                              residual, gpt_layer_p(m, GPT_LN1W, l), gpt_layer_p(m, GPT_LN1B, l), BT,
                              C);
        gpt_matmul_forward(qkv, ln1, gpt_layer_p(m, GPT_QKVW, l), gpt_layer_p(m, GPT_QKVB, l), BT,
                           (size_t)C, 3 * (size_t)C);
        gpt_attention_forward(atty, att, qkv, B, T, C, NH);
        gpt_matmul_forward(res2, atty, gpt_layer_p(m, GPT_ATTPROJW, l),
                           gpt_layer_p(m, GPT_ATTPROJB, l), BT, (size_t)C, (size_t)C);
        gpt_residual_add(res2, residual, BT * C);
        gpt_layernorm_forward(ln2, a->ln2_mean + (size_t)l * stride, a->ln2_rstd + (size_t)l * stride,
                              res2, gpt_layer_p(m, GPT_LN2W, l), gpt_layer_p(m, GPT_LN2B, l), BT, C);
        gpt_matmul_forward(fch, ln2, gpt_layer_p(m, GPT_FCW, l), gpt_layer_p(m, GPT_FCB, l), BT,
                           (size_t)C, 4 * (size_t)C);
        gpt_gelu_forward(fch_gelu, fch, BT * 4 * C);
        gpt_matmul_forward(res3, fch_gelu, gpt_layer_p(m, GPT_FCPROJW, l),
                           gpt_layer_p(m, GPT_FCPROJB, l), BT, 4 * (size_t)C, (size_t)C);
        gpt_residual_add(res3, res2, BT * C);
    }
    const float *last = a->residual3 + (size_t)(L - 1) * stride * C;
    gpt_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, last, m->p[GPT_LNFW], m->p[GPT_LNFB],
                          BT, C);
    gpt_matmul_forward(a->logits, a->lnf, m->p[GPT_WTE], NULL, BT, (size_t)C, (size_t)V);
}

/* ---- the layers: backward ------------------------------------------------ */

/* dinp += LayerNorm's input gradient (rows in parallel); dw, db += the gain
   and bias gradients (summed over rows in order). */
static inline void gpt_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                                          const float *inp, const float *w, const float *mean,
                                          const float *rstd, size_t N, int C)
{
    GPT_PARALLEL_FOR
    for (long n = 0; n < (long)N; n++) {
        const float *d = dout + (size_t)n * C, *x = inp + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        float dnorm_mean = 0, dnorm_norm_mean = 0;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * s, dnorm = w[i] * d[i];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= (float)C;
        dnorm_norm_mean /= (float)C;
        float *di = dinp + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * s, dnorm = w[i] * d[i];
            di[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
        }
    }
    for (size_t n = 0; n < N; n++) {
        const float *d = dout + n * C, *x = inp + n * C;
        float m = mean[n], s = rstd[n];
        for (int i = 0; i < C; i++) {
            dw[i] += (x[i] - m) * s * d[i];
            db[i] += d[i];
        }
    }
}

/* dqkv (written) from dout = the gradient of the attention output. */
static inline void gpt_attention_backward(float *dqkv, float *dscores, const float *dout,
                                          const float *qkv, const float *att, int B, int T, int C,
                                          int NH)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    GPT_PARALLEL_FOR
    for (long bh = 0; bh < (long)B * NH; bh++) {
        int b = (int)(bh / NH), h = (int)(bh % NH);
        size_t qoff = (size_t)b * T * C3 + (size_t)h * hs;
        const float *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
        const float *P = att + (size_t)bh * T * T;
        const float *dy = dout + (size_t)b * T * C + (size_t)h * hs;
        float *dP = dscores + (size_t)bh * T * T;
        gpt_sgemm(0, 1, T, T, hs, 1.0f, dy, C, v, C3, 0.0f, dP, T);   /* dP = dY V^T */
        gpt_sgemm(1, 0, T, hs, T, 1.0f, P, T, dy, C, 0.0f, dv, C3);   /* dV = P^T dY */
        /* through the softmax, and the 1/sqrt(hs) of the scores */
        for (int t = 0; t < T; t++) {
            const float *p = P + (size_t)t * T;
            float *d = dP + (size_t)t * T, dot = 0;
            for (int u = 0; u <= t; u++)
                dot += p[u] * d[u];
            for (int u = 0; u <= t; u++)
                d[u] = p[u] * (d[u] - dot) * scale;
            for (int u = t + 1; u < T; u++)
                d[u] = 0;
        }
        gpt_sgemm(0, 0, T, hs, T, 1.0f, dP, T, k, C3, 0.0f, dq, C3);   /* dQ = dS K */
        gpt_sgemm(1, 0, T, hs, T, 1.0f, dP, T, q, C3, 0.0f, dk, C3);   /* dK = dS^T Q */
    }
}

/* d = d * GELU'(inp) over a span, in place. */
GPT_SIMD static inline void gpt_gelu_backward_span(float *restrict d, const float *restrict inp,
                                                   size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float th = ex_tanhf(GPT_GELU_K * (x + 0.044715f * x * x * x));
        float local = 0.5f * (1.0f + th) +
                      0.5f * x * (1.0f - th * th) * GPT_GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        d[i] *= local;
    }
}

/* d = dLoss/d(GELU output) becomes dLoss/d(GELU input), in place. */
static inline void gpt_gelu_backward(float *d, const float *inp, size_t n)
{
    long spans = (long)((n + GPT_SPAN - 1) / GPT_SPAN);
    GPT_PARALLEL_FOR
    for (long k = 0; k < spans; k++) {
        size_t i0 = (size_t)k * GPT_SPAN;
        gpt_gelu_backward_span(d + i0, inp + i0, n - i0 < GPT_SPAN ? n - i0 : GPT_SPAN);
    }
}

/* Softmax cross-entropy of the logits against targets: each row's loss in
   m->row_loss, and with backward the logits replaced by dLoss/dlogits of
   the mean loss. Returns the summed loss (nats), added in row order. */
static inline double gpt_crossentropy(gpt_model *m, const uint8_t *targets, size_t BT,
                                      int backward)
{
    int V = m->cfg.vocab;
    float *logits = m->a.logits;
    double *row_loss = m->row_loss;
    float inv_n = 1.0f / (float)BT;
    GPT_PARALLEL_FOR
    for (long n = 0; n < (long)BT; n++) {
        float *z = logits + (size_t)n * V, mx = z[0];
        for (int v = 1; v < V; v++)
            mx = z[v] > mx ? z[v] : mx;
        double sum = 0;
        for (int v = 0; v < V; v++)
            sum += expf(z[v] - mx);
        int y = targets[n];
        row_loss[n] = (double)mx + log(sum) - (double)z[y];
        if (backward) {
            float inv_sum = (float)(1.0 / sum);
            for (int v = 0; v < V; v++)
                z[v] = (expf(z[v] - mx) * inv_sum - (v == y ? 1.0f : 0.0f)) * inv_n;
        }
    }
    double total = 0;
    for (size_t n = 0; n < BT; n++)
        total += row_loss[n];
    return total;
}

/* Backward pass after gpt_forward and gpt_crossentropy(..., 1): sets
   m->grads to the gradient of the mean loss. */
static inline void gpt_backward(gpt_model *m, const uint8_t *tokens, int B, int T)
{
    int C = m->cfg.channels, NH = m->cfg.heads, L = m->cfg.layers, V = m->cfg.vocab;
    size_t BT = (size_t)B * T, stride = (size_t)m->B * m->T;
    gpt_acts *a = &m->a;
    memset(m->grads, 0, m->n_params * sizeof(float));
    float *dres = m->dresidual;
    /* output layer (tied to wte) and the final LayerNorm */
    gpt_matmul_backward(m->dln, m->g[GPT_WTE], NULL, a->logits, a->lnf, m->p[GPT_WTE], BT,
                        (size_t)C, (size_t)V);
    memset(dres, 0, BT * C * sizeof(float));
    gpt_layernorm_backward(dres, m->g[GPT_LNFW], m->g[GPT_LNFB], m->dln,
                           a->residual3 + (size_t)(L - 1) * stride * C, m->p[GPT_LNFW],
                           a->lnf_mean, a->lnf_rstd, BT, C);
    for (int l = L - 1; l >= 0; l--) {
        const float *residual = l ? a->residual3 + (size_t)(l - 1) * stride * C : a->encoded;
        const float *ln1 = a->ln1 + (size_t)l * stride * C;
        const float *qkv = a->qkv + (size_t)l * stride * 3 * C;
        const float *atty = a->atty + (size_t)l * stride * C;
        const float *att = a->att + (size_t)l * stride * NH * m->T;
        const float *res2 = a->residual2 + (size_t)l * stride * C;
        const float *ln2 = a->ln2 + (size_t)l * stride * C;
        const float *fch = a->fch + (size_t)l * stride * 4 * C;
        const float *fch_gelu = a->fch_gelu + (size_t)l * stride * 4 * C;
        /* MLP: dres is the gradient of residual3 = residual2 + mlp(...) */
        gpt_matmul_backward(m->dfch, gpt_layer_g(m, GPT_FCPROJW, l), gpt_layer_g(m, GPT_FCPROJB, l),
                            dres, fch_gelu, gpt_layer_p(m, GPT_FCPROJW, l), BT, 4 * (size_t)C,
                            (size_t)C);
        gpt_gelu_backward(m->dfch, fch, BT * 4 * C);
        gpt_matmul_backward(m->dln, gpt_layer_g(m, GPT_FCW, l), gpt_layer_g(m, GPT_FCB, l), m->dfch,
                            ln2, gpt_layer_p(m, GPT_FCW, l), BT, (size_t)C, 4 * (size_t)C);
        gpt_layernorm_backward(dres, gpt_layer_g(m, GPT_LN2W, l), gpt_layer_g(m, GPT_LN2B, l),
                               m->dln, res2, gpt_layer_p(m, GPT_LN2W, l),
                               a->ln2_mean + (size_t)l * stride, a->ln2_rstd + (size_t)l * stride,
                               BT, C);
        /* attention: dres is now the gradient of residual2 = residual + attn(...) */
        gpt_matmul_backward(m->datty, gpt_layer_g(m, GPT_ATTPROJW, l),
                            gpt_layer_g(m, GPT_ATTPROJB, l), dres, atty,
                            gpt_layer_p(m, GPT_ATTPROJW, l), BT, (size_t)C, (size_t)C);
        gpt_attention_backward(m->dqkv, m->dscores, m->datty, qkv, att, B, T, C, NH);
        gpt_matmul_backward(m->dln, gpt_layer_g(m, GPT_QKVW, l), gpt_layer_g(m, GPT_QKVB, l),
                            m->dqkv, ln1, gpt_layer_p(m, GPT_QKVW, l), BT, (size_t)C,
                            3 * (size_t)C);
        gpt_layernorm_backward(dres, gpt_layer_g(m, GPT_LN1W, l), gpt_layer_g(m, GPT_LN1B, l),
                               m->dln, residual, gpt_layer_p(m, GPT_LN1W, l),
                               a->ln1_mean + (size_t)l * stride, a->ln1_rstd + (size_t)l * stride,
                               BT, C);
    }
    /* embeddings: scatter-add in position order */
    float *dwte = m->g[GPT_WTE], *dwpe = m->g[GPT_WPE];
    for (size_t n = 0; n < BT; n++) {
        const float *d = dres + n * C;
        float *te = dwte + (size_t)tokens[n] * C, *pe = dwpe + (n % (size_t)T) * C;
        for (int i = 0; i < C; i++) {
            te[i] += d[i];
            pe[i] += d[i];
        }
    }
}

enum { GPT_BACKWARD = 1 };

/* Summed loss (nats) of predicting targets[n] from tokens[..n] for B
   sequences of T tokens; with GPT_BACKWARD also sets m->grads to the
   gradient of the mean loss. */
static inline double gpt_loss(gpt_model *m, const uint8_t *tokens, const uint8_t *targets, int B,
                              int T, int flags)
{
    gpt_forward(m, tokens, B, T);
    double total = gpt_crossentropy(m, targets, (size_t)B * T, flags & GPT_BACKWARD);
    if (flags & GPT_BACKWARD)
        gpt_backward(m, tokens, B, T);
    return total;
}

/* Mean loss (nats/token) over the first `windows` windows of a stream: window w
   reads tokens [wT, wT + T) and predicts [wT + 1, wT + T + 1). */
static inline double gpt_eval(gpt_model *m, const gpt_stream *s, size_t windows)
{
    size_t T = (size_t)m->T, avail = s->n > 0 ? (s->n - 1) / T : 0;
    if (windows == 0 || windows > avail)
        windows = avail;
    double total = 0;
    for (size_t w = 0; w < windows; w += (size_t)m->B) {
        int B = (int)(windows - w < (size_t)m->B ? windows - w : (size_t)m->B);
        const uint8_t *x = s->tokens + w * T;
        /* targets are the inputs shifted by one; windows are contiguous */
        total += gpt_loss(m, x, x + 1, B, (int)T, 0);
    }
    return windows ? total / (double)(windows * T) : NAN;
}

/* Continue text: append up to n tokens to buf (holding len tokens, with
   room for len + n), sampling at the temperature, stopping early after a
   line "%" (the end of a fortune). Returns the new length. */
static inline size_t gpt_generate(gpt_model *m, uint8_t *buf, size_t len, size_t n,
                                  double temperature, ex_rng *r)
{
    int V = m->cfg.vocab;
    size_t T = (size_t)m->T, stop = len + n;
    double *p = malloc((size_t)V * sizeof *p);
    if (!p)
        return len;
    while (len < stop) {
        size_t ctx = len < T ? len : T;
        const uint8_t *x = buf + len - ctx;
        gpt_forward(m, x, 1, (int)ctx);
        const float *z = m->a.logits + (ctx - 1) * (size_t)V;
        double mx = z[0], sum = 0;
        for (int v = 1; v < V; v++)
            mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++)
            sum += (p[v] = exp((z[v] - mx) / temperature));
        double u = ex_rng_uniform(r) * sum;
        int t = 0;
        while (t < V - 1 && (u -= p[t]) >= 0)
            t++;
        buf[len++] = (uint8_t)t;
        /* "\n%\n" ends a fortune */
        if (len >= 3 && t == gpt_token_of('\n') && buf[len - 2] == gpt_token_of('%') &&
            buf[len - 3] == gpt_token_of('\n'))
            break;
    }
    free(p);
    return len;
}

#endif
