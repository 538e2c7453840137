/* libFuzzer target: the checkpoint loader on arbitrary bytes (read from an
   in-memory stream). Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION,
   so checksums do not stop the fuzzer from reaching the checks behind them.
   A file that verifies is loaded into an optimizer built from its own
   description (algorithm, groups, tensor names, shapes and dtypes, when
   small), so mutations reach the copy into the optimizer; anything else
   into a small adam. Oracle beyond the sanitizers: a load that fails must
   leave the optimizer exactly as it was, every held bit of it. */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_T = 8, MAX_N = 64, MAX_GROUPS = 4, SNAP = 1 << 16 };

typedef struct buffers {
    float p[MAX_T][MAX_N], g[MAX_T][MAX_N];
    uint16_t p16[MAX_T][MAX_N], g16[MAX_T][MAX_N];
} buffers;

/* Every bit the optimizer holds, appended to a byte string. */
typedef struct snapshot {
    unsigned char b[SNAP];
    size_t n;
} snapshot;

static void put(snapshot *s, const void *x, size_t n)
{
    if (x && n && s->n + n <= SNAP)
        memcpy(s->b + s->n, x, n);
    s->n += n;
}

static void take(const rv_optim *opt, snapshot *s)
{
    s->n = 0;
    long counters[2] = {rv_optim_step_count(opt), rv_optim_skipped_count(opt)};
    int training = rv_optim_is_training(opt);
    put(s, counters, sizeof counters);
    put(s, &training, sizeof training);
    for (size_t t = 0; t < rv_optim_param_count(opt); t++) {
        rv_param_view v;
        rv_optim_param_view(opt, t, &v);
        put(s, &v.step, sizeof v.step);
        put(s, v.param_data, v.n * (v.dtype == RV_BF16 ? 2 : 4));
        put(s, v.master, v.master ? v.n * 4 : 0);
        for (size_t k = 0; k < v.n_state; k++) {
            size_t len = v.state_len[k];
            rv_precision p = v.state_precision[k];
            put(s, &p, sizeof p);
            put(s, v.state_data[k], v.state_data[k] ? len * (p == RV_BF16 ? 2 : p == RV_INT8 ? 1 : 4) : 0);
            put(s, v.state_absmax[k], v.state_absmax[k] ? 4 * ((len + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK) : 0);
        }
        put(s, v.scalar, sizeof v.scalar);
    }
    for (size_t g = 0; g < rv_optim_group_count(opt); g++) {
        rv_hparams h;
        char spec[512];
        rv_optim_group_hparams(opt, g, &h);
        rv_hparams_format(rv_optim_get_type(opt), &h, spec, sizeof spec);
        put(s, spec, strlen(spec));
        put(s, &h.lr, sizeof h.lr);
    }
}

/* The file's own layout, when it is small enough to build. */
static rv_optim *from_description(const rv_checkpoint_info *info, buffers *buf)
{
    if (info->n_params > MAX_T || info->n_groups > MAX_GROUPS)
        return NULL;
    rv_optim *opt;
    if (rv_optim_create_spec(&opt, info->optimizer))
        return NULL;
    rv_status s = RV_OK;
    for (size_t g = 1; g < info->n_groups && !s; g++)
        s = rv_optim_add_group(opt, NULL, NULL);
    for (size_t t = 0; t < info->n_params && !s; t++) {
        const rv_checkpoint_tensor_info *d = &info->tensors[t];
        if (d->n > MAX_N || d->group >= info->n_groups) {
            s = RV_ERR_ARG;
            break;
        }
        for (size_t i = 0; i < d->n; i++) {
            buf->p[t][i] = 0.25f * (float)i - 1;
            buf->g[t][i] = (float)(i % 3) - 1;
            buf->p16[t][i] = (uint16_t)(0x3f80 + i);
            buf->g16[t][i] = (uint16_t)(0xbf00 + i);
        }
        s = d->dtype == RV_BF16
                ? rv_optim_add_param_bf16(opt, d->group, d->key, buf->p16[t], buf->g16[t], d->ndim, d->shape, NULL)
                : rv_optim_add_param_shaped(opt, d->group, d->key, buf->p[t], buf->g[t], d->ndim, d->shape, NULL);
    }
    if (s) {
        rv_optim_free(opt);
        return NULL;
    }
    return opt;
}

static rv_optim *small_adam(const char *spec, buffers *buf)
{
    rv_optim *opt;
    if (rv_optim_create_spec(&opt, spec) && rv_optim_create_spec(&opt, "adam"))
        return NULL;
    size_t g1 = 0;
    for (size_t i = 0; i < 5; i++)
        buf->p[0][i] = (float)i + 1, buf->g[0][i] = 0.5f * (float)i - 1;
    for (size_t i = 0; i < 3; i++)
        buf->p[1][i] = (float)i - 1, buf->g[1][i] = 1;
    rv_optim_add_group_spec(opt, "lr=0.003", &g1);
    rv_optim_add_param(opt, 0, "w", buf->p[0], buf->g[0], 5, NULL);
    rv_optim_add_param(opt, g1, "b", buf->p[1], buf->g[1], 3, NULL);
    return opt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    static buffers buf;
    static snapshot before, after;
    memset(&buf, 0, sizeof buf);
    rv_checkpoint_info info = {0};
    rv_optim *opt = NULL;
    /* verify only; then load into an optimizer of the file's layout, or of its kind */
    if (rv_checkpoint_read_stream(f, "fuzz", NULL, NULL, &info) == RV_OK)
        opt = from_description(&info, &buf);
    if (!opt)
        opt = small_adam(info.optimizer ? info.optimizer : "adam(lr=0.01)", &buf);
    rv_checkpoint_info_free(&info);
    if (!opt) {
        fclose(f);
        return 0;
    }
    rv_optim_set_threads(opt, 1);
    rv_optim_step(opt);   /* some state to protect */
    if (rv_optim_get_type(opt) == rv_sfadamw)
        rv_optim_eval(opt);   /* and a mode */

    for (int keep = 0; keep < 2; keep++) {
        take(opt, &before);
        rewind(f);
        rv_checkpoint_options o = {keep};
        if (rv_checkpoint_read_stream(f, "fuzz", opt, &o, NULL) != RV_OK) {
            take(opt, &after);
            if (before.n != after.n || memcmp(before.b, after.b, before.n < SNAP ? before.n : SNAP))
                __builtin_trap();   /* a failed load changed the optimizer */
        }
    }
    rv_optim_free(opt);
    fclose(f);
    return 0;
}
