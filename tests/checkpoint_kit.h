/* Shared by the checkpoint tests: a small model of 3 tensors in 2 groups,
   its bit-for-bit comparison, file helpers that read and rewrite
   checkpoints without the library, and `refuse`, which loads a file into a
   trained model and checks it is refused and changes nothing. */
#ifndef RAVINE_TESTS_CHECKPOINT_KIT_H
#define RAVINE_TESTS_CHECKPOINT_KIT_H

#include "ravine/ravine.h"
#include "check.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the files a test writes: define them before including this header */
#ifndef FILE_A
#error "define FILE_A and FILE_B, the checkpoint files of the test"
#endif

/* ---- a small model: 3 tensors in 2 groups ---------------------------- */

enum { N_T = 3 };
static const size_t sizes[N_T] = {5, 3, 4};
static const char *const names[N_T] = {"w", "b", NULL};   /* the third is "tensor2" */

typedef struct model {
    rv_optim *opt;
    float p[N_T][8], g[N_T][8];
} model;

static inline void model_init(model *m, const char *spec)
{
    memset(m, 0, sizeof *m);
    if (rv_optim_create_spec(&m->opt, spec)) {
        fprintf(stderr, "create %s: %s\n", spec, rv_errmsg());
        exit(1);
    }
    size_t g1;
    CHECK_STATUS(rv_optim_add_group_spec(m->opt, "lr=0.003", &g1), RV_OK);
    rv_optim_set_threads(m->opt, 1);
    for (int t = 0; t < N_T; t++) {
        for (size_t i = 0; i < sizes[t]; i++)
            m->p[t][i] = (float)(0.5 - 0.25 * (double)i + 0.1 * t);
        CHECK_STATUS(rv_optim_add_param(m->opt, t == 1 ? g1 : 0, names[t], m->p[t], m->g[t],
                                        sizes[t], NULL),
                     RV_OK);
    }
}

/* deterministic, sign-changing gradients */
static inline void fill_grads(model *m, long step)
{
    for (int t = 0; t < N_T; t++)
        for (size_t i = 0; i < sizes[t]; i++)
            m->g[t][i] = (float)(sin(0.7 * (double)step + 1.3 * (double)i + (double)t) *
                                 (1.0 + 0.5 * (double)i));
}

static inline void run_steps(model *m, const rv_schedule *sched, long from, long to)
{
    for (long t = from; t < to; t++) {
        fill_grads(m, t);
        if (sched)
            CHECK_STATUS(rv_optim_set_lr(m->opt, rv_schedule_lr(sched, t)), RV_OK);
        CHECK_STATUS(rv_optim_step(m->opt), RV_OK);
    }
}

/* Bytes of a held state buffer's values, and of its int8 block scales. */
static inline size_t held_bytes_of(const rv_param_view *v, size_t k, size_t *scales)
{
    size_t len = v->state_len[k];
    rv_precision prec = v->state_precision[k];
    *scales = prec == RV_INT8 ? 4 * ((len + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK) : 0;
    return len * (prec == RV_BF16 ? 2 : prec == RV_INT8 ? 1 : 4);
}

/* Every bit tensor i holds in a and in b: parameter (of its dtype), bf16
   master, state buffers as held (bf16 values, int8 codes and scales),
   scalars (of a tensor with state) and step count. */
static inline int same_tensor_bits(const rv_optim *a, const rv_optim *b, size_t i)
{
    rv_param_view va, vb;
    if (rv_optim_param_view(a, i, &va) || rv_optim_param_view(b, i, &vb))
        return 0;
    if (va.dtype != vb.dtype || va.n != vb.n || va.step != vb.step || va.n_state != vb.n_state)
        return 0;
    if (va.n && memcmp(va.param_data, vb.param_data, va.n * (va.dtype == RV_BF16 ? 2 : 4)))
        return 0;
    if (!va.master != !vb.master || (va.master && memcmp(va.master, vb.master, va.n * 4)))
        return 0;
    for (size_t k = 0; k < va.n_state; k++) {
        size_t scales;
        if (!va.state_data[k] != !vb.state_data[k] || va.state_precision[k] != vb.state_precision[k] ||
            va.state_len[k] != vb.state_len[k])
            return 0;
        if (!va.state_data[k])
            continue;
        size_t bytes = held_bytes_of(&va, k, &scales);
        if (memcmp(va.state_data[k], vb.state_data[k], bytes) ||
            (scales && memcmp(va.state_absmax[k], vb.state_absmax[k], scales)))
            return 0;
    }
    /* scalars mean something once state exists (they start with it) */
    int held = va.n && (va.master || (va.n_state && va.state_data[0]));
    return va.n_scalars == vb.n_scalars && (!held || !memcmp(va.scalar, vb.scalar, sizeof va.scalar));
}

/* Every bit of two optimizers: tensors, counters, mode, groups. */
static inline int same_optimizer_bits(const rv_optim *a, const rv_optim *b)
{
    if (rv_optim_step_count(a) != rv_optim_step_count(b) ||
        rv_optim_skipped_count(a) != rv_optim_skipped_count(b) ||
        rv_optim_is_training(a) != rv_optim_is_training(b) ||
        rv_optim_param_count(a) != rv_optim_param_count(b) ||
        rv_optim_group_count(a) != rv_optim_group_count(b))
        return 0;
    for (size_t t = 0; t < rv_optim_param_count(a); t++)
        if (!same_tensor_bits(a, b, t))
            return 0;
    for (size_t g = 0; g < rv_optim_group_count(a); g++) {
        rv_hparams ha, hb;
        rv_optim_group_hparams(a, g, &ha);
        rv_optim_group_hparams(b, g, &hb);
        char sa[512], sb[512];
        rv_hparams_format(rv_optim_get_type(a), &ha, sa, sizeof sa);
        rv_hparams_format(rv_optim_get_type(b), &hb, sb, sizeof sb);
        if (strcmp(sa, sb) || memcmp(&ha.lr, &hb.lr, sizeof ha.lr))
            return 0;
    }
    return 1;
}

/* every bit of params, state and counters */
static inline int same_bits(const model *a, const model *b)
{
    return same_optimizer_bits(a->opt, b->opt);
}

/* ---- file helpers ---------------------------------------------------- */

typedef struct blob {
    unsigned char *b;
    size_t n;
} blob;

static inline blob slurp(const char *path)
{
    blob x = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return x;
    fseek(f, 0, SEEK_END);
    x.n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    x.b = malloc(x.n + 1);
    if (fread(x.b, 1, x.n, f) != x.n)
        x.n = 0;
    fclose(f);
    return x;
}

static inline void spit(const char *path, const void *b, size_t n)
{
    remove(path);   /* a fresh file: truncating one can wait for the disk */
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n)
        fprintf(stderr, "cannot write %s\n", path);
    if (f)
        fclose(f);
}

/* the header length of a file this test wrote (0 if it is not sane) */
static inline unsigned header_len(const blob *x)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0 && x->n >= 8; i--)
        n = n << 8 | x->b[i];
    return x->n >= 8 && n <= x->n - 8 && n < 1000000 ? (unsigned)n : 0;
}

/* Bitwise CRC-32 (zlib's), written independently of the library's. */
static inline uint32_t crc32_bitwise(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* Replace `from` by `to` in the header of src, repad, fix the length and
   the header checksum: a consistent file with a chosen change. */
static inline blob rewrite(const blob *src, const char *from, const char *to)
{
    unsigned n = header_len(src);
    char *h = malloc(n + strlen(to) + 16);
    memcpy(h, src->b + 8, n);
    h[n] = '\0';
    while (n && h[n - 1] == ' ')
        h[--n] = '\0';
    char *at = strstr(h, from);
    blob out = {0};
    if (!at) {
        fprintf(stderr, "rewrite: '%s' not in header\n", from);
        free(h);
        return out;
    }
    size_t lf = strlen(from), lt = strlen(to);
    memmove(at + lt, at + lf, strlen(at + lf) + 1);
    memcpy(at, to, lt);
    n = strlen(h);
    while (n % 8)
        h[n++] = ' ';
    char *crc = strstr(h, "\"header_crc32\":\"") + 16;
    memcpy(crc, "00000000", 8);
    char digits[9];
    snprintf(digits, sizeof digits, "%08x", (unsigned)crc32_bitwise(h, n));
    memcpy(crc, digits, 8);
    size_t data = src->n - 8 - header_len(src);
    out.n = 8 + n + data;
    out.b = malloc(out.n);
    for (int i = 0; i < 8; i++)
        out.b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(out.b + 8, h, n);
    memcpy(out.b + 8 + n, src->b + 8 + header_len(src), data);
    free(h);
    return out;
}

/* ---- the file, read without the library ------------------------------- */

/* Find "name":{"dtype":"F32","shape":[n],"data_offsets":[b,e]} by text. */
static inline int find_entry(const char *h, const char *name, size_t *n, size_t *b, size_t *e)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":{", name);
    const char *at = strstr(h, pat);
    return at && sscanf(at + strlen(pat), "\"dtype\":\"F32\",\"shape\":[%zu],\"data_offsets\":[%zu,%zu]}",
                        n, b, e) == 3;
}

static inline int meta_value(const char *h, const char *key, char *out, size_t size)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *at = strstr(h, pat);
    if (!at)
        return 0;
    at += strlen(pat);
    const char *end = strchr(at, '"');
    snprintf(out, size, "%.*s", (int)(end - at), at);
    return 1;
}

/* ---- refusals --------------------------------------------------------- */

/* Load `bytes` into a trained optimizer; it must fail with `code` and, when
   want is given, exactly that message; the optimizer must not change. */
static inline void refuse(const void *bytes, size_t n, rv_status code, const char *want, const char *what)
{
    spit(FILE_B, bytes, n);
    model m, ref;
    model_init(&m, "adam(lr=0.01)");
    model_init(&ref, "adam(lr=0.01)");
    run_steps(&m, NULL, 0, 2);
    run_steps(&ref, NULL, 0, 2);
    rv_status s = rv_checkpoint_load(m.opt, FILE_B, NULL, NULL);
    if (code == RV_STATUS_COUNT)   /* any failure of the file kinds */
        CHECK_MSG(s == RV_ERR_FORMAT || s == RV_ERR_CHECKSUM || s == RV_ERR_VERSION, "%s: got %d (%s)",
                  what, (int)s, rv_errmsg());
    else
        CHECK_MSG(s == code, "%s: got %d (%s), want %d", what, (int)s, rv_errmsg(), (int)code);
    if (want)
        CHECK_MSG(!strcmp(rv_errmsg(), want), "%s:\n  got  %s\n  want %s", what, rv_errmsg(), want);
    CHECK_MSG(same_bits(&m, &ref), "%s changed the optimizer", what);
    rv_optim_free(m.opt);
    rv_optim_free(ref.opt);
}

static inline blob saved_file(void)
{
    model m;
    model_init(&m, "adam(lr=0.01)");
    run_steps(&m, NULL, 0, 5);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_OK);
    rv_optim_free(m.opt);
    return slurp(FILE_A);
}

/* 1 if the working folder holds a temporary file of a save of path */
static inline int temp_files_left_of(const char *path)
{
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s.tmp-", path);
    DIR *d = opendir(".");
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        found |= !strncmp(e->d_name, prefix, strlen(prefix));
    if (d)
        closedir(d);
    return found;
}

#endif
