/* libFuzzer target: the checkpoint loader on arbitrary bytes (read from an
   in-memory stream). Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION,
   so checksums do not stop the fuzzer from reaching the checks behind them.
   Oracle beyond the sanitizers: a load that fails must leave the optimizer
   exactly as it was. */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NW = 5, NB = 3 };

typedef struct snapshot {
    float w[NW], b[NB], state[2][4][NW];
    long steps, tensor_steps[2];
    char spec[2][512];
} snapshot;

static void take(rv_optim *opt, const float *w, const float *b, snapshot *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->w, w, sizeof s->w);
    memcpy(s->b, b, sizeof s->b);
    for (size_t t = 0; t < 2; t++) {
        rv_param_view v;
        rv_optim_param_view(opt, t, &v);
        s->tensor_steps[t] = v.step;
        for (size_t k = 0; k < v.n_state && k < 4; k++)
            if (v.state[k])
                memcpy(s->state[t][k], v.state[k], v.n * sizeof(float));
        rv_hparams h;
        rv_optim_group_hparams(opt, t, &h);
        rv_hparams_format(rv_optim_get_type(opt), &h, s->spec[t], sizeof s->spec[t]);
    }
    s->steps = rv_optim_step_count(opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    rv_checkpoint_info info = {0};
    const char *spec = "adam(lr=0.01)";
    /* verify only; then load into an optimizer of the file's kind when it names one */
    if (rv_checkpoint_read_stream(f, "fuzz", NULL, NULL, &info) == RV_OK)
        spec = info.optimizer;
    rv_optim *opt;
    int made = rv_optim_create_spec(&opt, spec) == RV_OK || rv_optim_create_spec(&opt, "adam") == RV_OK;
    rv_checkpoint_info_free(&info);
    if (!made) {
        fclose(f);
        return 0;
    }
    float w[NW] = {1, 2, 3, 4, 5}, gw[NW] = {0.5f, -1, 2, 0, 1};
    float b[NB] = {-1, 0, 1}, gb[NB] = {1, 1, -1};
    size_t g1 = 0;
    rv_optim_add_group_spec(opt, "lr=0.003", &g1);
    rv_optim_add_param(opt, 0, "w", w, gw, NW, NULL);
    rv_optim_add_param(opt, g1, "b", b, gb, NB, NULL);
    rv_optim_set_threads(opt, 1);
    rv_optim_step(opt);   /* some state to protect */

    for (int keep = 0; keep < 2; keep++) {
        snapshot before, after;
        take(opt, w, b, &before);
        rewind(f);
        rv_checkpoint_options o = {keep};
        if (rv_checkpoint_read_stream(f, "fuzz", opt, &o, NULL) != RV_OK) {
            take(opt, w, b, &after);
            if (memcmp(&before, &after, sizeof before))
                __builtin_trap();   /* a failed load changed the optimizer */
        }
    }
    rv_optim_free(opt);
    fclose(f);
    return 0;
}
