/* charlm/ckpt.h — save and resume a training run.

   A checkpoint holds what an uninterrupted run would still have in memory:
   the model shape, batch size and seed (batches are drawn from (seed,
   step), so they continue exactly), the optimizer spec, and for each
   registered tensor its values, its optimizer state buffers and step count,
   all read through ravine's rv_optim_param_view. Layout (native byte order):

       "CHARLMCK" u32 version=1
       i32 context, embed, hidden   u64 batch, seed   i64 step
       u32 len, optimizer spec      u32 tensors
       per tensor: u64 n, i64 step, u32 n_state, f32 values[n], f32 state[n_state][n]
       u64 FNV-1a hash of every byte before it

   Loading reads and checks the whole file before it changes anything. */
#ifndef CHARLM_CKPT_H
#define CHARLM_CKPT_H

#include "model.h"
#include "ravine/ravine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHARLM_CKPT_MAGIC "CHARLMCK"
#define CHARLM_CKPT_VERSION 1u

typedef struct charlm_ckpt_header {
    charlm_shape shape;
    size_t batch;
    uint64_t seed;
    long step;
    char optim[256];
} charlm_ckpt_header;

static inline uint64_t charlm_fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

typedef struct charlm_buf {
    unsigned char *data;
    size_t size, cap, at;   /* at: read position */
    int failed;
} charlm_buf;

static inline void charlm_put(charlm_buf *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->size + n > b->cap) {
        size_t cap = (b->cap ? b->cap : 4096);
        while (cap < b->size + n)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static inline int charlm_get(charlm_buf *b, void *p, size_t n)
{
    if (b->failed || b->size - b->at < n)
        return b->failed = 1, -1;
    memcpy(p, b->data + b->at, n);
    b->at += n;
    return 0;
}

static inline int charlm_ckpt_save(const char *path, charlm_model *m, const rv_optim *opt,
                                   size_t batch, uint64_t seed, const char *optim_spec,
                                   const char **why)
{
    charlm_buf b = {0};
    uint32_t version = CHARLM_CKPT_VERSION, len = (uint32_t)strlen(optim_spec);
    int32_t shape[3] = {m->shape.context, m->shape.embed, m->shape.hidden};
    uint64_t u[2] = {batch, seed};
    int64_t step = rv_optim_step_count(opt);
    uint32_t count = (uint32_t)rv_optim_param_count(opt);
    charlm_put(&b, CHARLM_CKPT_MAGIC, 8);
    charlm_put(&b, &version, 4);
    charlm_put(&b, shape, sizeof shape);
    charlm_put(&b, u, sizeof u);
    charlm_put(&b, &step, 8);
    charlm_put(&b, &len, 4);
    charlm_put(&b, optim_spec, len);
    charlm_put(&b, &count, 4);
    for (uint32_t i = 0; i < count; i++) {
        rv_param_view v;
        if (rv_optim_param_view(opt, i, &v))
            return free(b.data), *why = rv_errmsg(), -1;
        uint64_t n = v.n;
        int64_t t = v.step;
        uint32_t n_state = v.state[0] ? (uint32_t)v.n_state : 0;   /* no state before step 1 */
        charlm_put(&b, &n, 8);
        charlm_put(&b, &t, 8);
        charlm_put(&b, &n_state, 4);
        charlm_put(&b, v.param, v.n * sizeof(float));
        for (uint32_t k = 0; k < n_state; k++)
            charlm_put(&b, v.state[k], v.n * sizeof(float));
    }
    uint64_t hash = b.failed ? 0 : charlm_fnv1a(b.data, b.size);
    charlm_put(&b, &hash, 8);
    if (b.failed)
        return free(b.data), *why = "out of memory", -1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return free(b.data), *why = "cannot open for writing", -1;
    size_t wrote = fwrite(b.data, 1, b.size, f);
    int bad = fclose(f) != 0 || wrote != b.size;
    free(b.data);
    return bad ? (*why = "write failed", -1) : 0;
}

/* Read the whole file and check magic, version and hash. */
static inline int charlm_ckpt_read(const char *path, charlm_buf *b, charlm_ckpt_header *h,
                                   const char **why)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "rb");
    if (!f)
        return *why = "cannot open", -1;
    unsigned char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        charlm_put(b, chunk, got);
    fclose(f);
    if (b->failed)
        return free(b->data), *why = "out of memory", -1;
    char magic[8];
    uint32_t version, len;
    int32_t shape[3];
    uint64_t u[2], hash;
    int64_t step;
    if (b->size < 8 + 8 || memcmp(b->data, CHARLM_CKPT_MAGIC, 8) != 0)
        return free(b->data), *why = "not a charlm checkpoint (bad magic)", -1;
    memcpy(&hash, b->data + b->size - 8, 8);
    if (hash != charlm_fnv1a(b->data, b->size - 8))
        return free(b->data), *why = "checksum mismatch (truncated or corrupted)", -1;
    b->size -= 8;
    if (charlm_get(b, magic, 8) || charlm_get(b, &version, 4))
        return free(b->data), *why = "truncated header", -1;
    if (version != CHARLM_CKPT_VERSION)
        return free(b->data), *why = "unsupported checkpoint version", -1;
    if (charlm_get(b, shape, sizeof shape) || charlm_get(b, u, sizeof u) ||
        charlm_get(b, &step, 8) || charlm_get(b, &len, 4) || len >= sizeof h->optim ||
        charlm_get(b, h->optim, len))
        return free(b->data), *why = "truncated or malformed header", -1;
    h->optim[len] = '\0';
    h->shape = (charlm_shape){shape[0], shape[1], shape[2]};
    h->batch = (size_t)u[0];
    h->seed = u[1];
    h->step = (long)step;
    if (shape[0] < 1 || shape[0] > 32 || shape[1] < 1 || shape[2] < 1 || u[0] < 1 || step < 0)
        return free(b->data), *why = "malformed header (shape, batch or step out of range)", -1;
    return 0;
}

static inline int charlm_ckpt_peek(const char *path, charlm_ckpt_header *h, const char **why)
{
    charlm_buf b;
    if (charlm_ckpt_read(path, &b, h, why))
        return -1;
    free(b.data);
    return 0;
}

/* Load values, optimizer state and step counts into m and opt, which must
   have been made with the checkpoint's shape and optimizer. */
static inline int charlm_ckpt_load(const char *path, charlm_model *m, rv_optim *opt,
                                   const char **why)
{
    charlm_buf b;
    charlm_ckpt_header h;
    if (charlm_ckpt_read(path, &b, &h, why))
        return -1;
    uint32_t count;
    int bad = charlm_get(&b, &count, 4) || count != rv_optim_param_count(opt) ||
              h.shape.context != m->shape.context || h.shape.embed != m->shape.embed ||
              h.shape.hidden != m->shape.hidden;
    if (bad)
        return free(b.data), *why = "model shape differs from the checkpoint", -1;
    /* validate every tensor before writing any */
    size_t start = b.at;
    for (int pass = 0; pass < 2; pass++) {
        b.at = start;
        if (pass == 1 && rv_optim_ensure_state(opt))
            return free(b.data), *why = rv_errmsg(), -1;
        for (uint32_t i = 0; i < count; i++) {
            rv_param_view v;
            uint64_t n;
            int64_t t;
            uint32_t n_state;
            rv_optim_param_view(opt, i, &v);
            if (charlm_get(&b, &n, 8) || charlm_get(&b, &t, 8) || charlm_get(&b, &n_state, 4))
                return free(b.data), *why = "truncated tensor record", -1;
            if (n != v.n)
                return free(b.data), *why = "tensor size differs from the model", -1;
            if (n_state != 0 && n_state != v.n_state)
                return free(b.data),
                       *why = "optimizer state differs (resume with the checkpoint's --optim)", -1;
            size_t bytes = (size_t)n * sizeof(float);
            if (b.size - b.at < bytes * (1 + (size_t)n_state))
                return free(b.data), *why = "truncated tensor data", -1;
            if (pass == 1) {
                memcpy(v.param, b.data + b.at, bytes);
                for (uint32_t k = 0; k < n_state; k++)
                    memcpy(v.state[k], b.data + b.at + bytes * (1 + k), bytes);
                rv_optim_set_param_step(opt, i, (long)t);
            }
            b.at += bytes * (1 + (size_t)n_state);
        }
        if (b.at != b.size)
            return free(b.data), *why = "trailing bytes after the last tensor", -1;
    }
    rv_optim_set_step_count(opt, h.step);
    free(b.data);
    return 0;
}

#endif
