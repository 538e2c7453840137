/* Writes the format-2 seeds of fuzz/corpus/checkpoint/ (v2_*.safetensors):
   small checkpoints of what format 2 holds beyond format 1, so the fuzzer
   starts from shapes, BF16 parameters with masters, U8 state with block
   scales, F64 scalars and the mode. Not part of the build:

       cc -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude fuzz/gen_checkpoint_seeds.c \
          build/libravine.a -lm -fopenmp -lopenblas -o gen_seeds
       (cd fuzz/corpus/checkpoint && ../../../gen_seeds) */
#include "ravine/ravine.h"

#include <stdio.h>
#include <stdlib.h>

static float p[4][32], g[4][32];
static uint16_t p16[4][32], g16[4][32];

static void fill(size_t n)
{
    for (size_t t = 0; t < 4; t++)
        for (size_t i = 0; i < n; i++) {
            p[t][i] = 0.5f - 0.1f * (float)i + (float)t;
            g[t][i] = (float)((i * 7 + t) % 5) - 2;
            p16[t][i] = (uint16_t)(0x3f00 + 3 * i + t);
            g16[t][i] = (uint16_t)(0xbe80 + 5 * i + t);
        }
}

static void must(rv_status s)
{
    if (s) {
        fprintf(stderr, "%s\n", rv_errmsg());
        exit(1);
    }
}

static void save(rv_optim *opt, int steps, int eval, const char *path)
{
    rv_optim_set_threads(opt, 1);
    for (int k = 0; k < steps; k++)
        must(rv_optim_step(opt));
    if (eval)
        must(rv_optim_eval(opt));
    must(rv_checkpoint_save(opt, steps ? "cosine(lr=0.01, t_max=10)" : NULL, path));
    rv_optim_free(opt);
}

int main(void)
{
    const size_t m23[] = {2, 3}, v3[] = {3}, t123[] = {1, 2, 3}, m32[] = {3, 2};
    rv_optim *opt;
    size_t g1;
    fill(32);
    /* bf16 parameters, int8 state: masters, codes, scales, scalars */
    must(rv_optim_create_spec(&opt, "nadam(lr=0.01, state=int8)"));
    must(rv_optim_add_group_spec(opt, "lr=0.003", &g1));
    must(rv_optim_add_param_bf16(opt, 0, "w", p16[0], g16[0], 2, m23, NULL));
    must(rv_optim_add_param_bf16(opt, g1, "b", p16[1], g16[1], 1, v3, NULL));
    save(opt, 2, 0, "v2_nadam_int8_bf16.safetensors");
    /* schedule-free in eval mode, bf16 state */
    must(rv_optim_create_spec(&opt, "sfadamw(lr=0.01, state=bf16)"));
    must(rv_optim_add_param_shaped(opt, 0, "w", p[0], g[0], 2, m23, NULL));
    must(rv_optim_add_param(opt, 0, NULL, p[1], g[1], 3, NULL));
    save(opt, 2, 1, "v2_sfadamw_eval.safetensors");
    /* adafactor: factored 2-D and 3-D, a vector */
    must(rv_optim_create_spec(&opt, "adafactor(lr=0.01)"));
    must(rv_optim_add_group_spec(opt, "weight_decay=0.1", &g1));
    must(rv_optim_add_param_shaped(opt, 0, "m", p[0], g[0], 2, m23, NULL));
    must(rv_optim_add_param_shaped(opt, g1, "t", p[1], g[1], 3, t123, NULL));
    must(rv_optim_add_param_shaped(opt, 0, "v", p[2], g[2], 1, v3, NULL));
    save(opt, 2, 0, "v2_adafactor.safetensors");
    /* muon, a bf16 matrix */
    must(rv_optim_create_spec(&opt, "muon(lr=0.02)"));
    must(rv_optim_add_param_bf16(opt, 0, "m", p16[0], g16[0], 2, m32, NULL));
    must(rv_optim_add_param_shaped(opt, 0, "n", p[1], g[1], 2, m23, NULL));
    save(opt, 1, 0, "v2_muon.safetensors");
    /* saved before the first step */
    must(rv_optim_create_spec(&opt, "adamw(lr=0.01, state=int8)"));
    must(rv_optim_add_param_bf16(opt, 0, "w", p16[0], g16[0], 2, m23, NULL));
    save(opt, 0, 0, "v2_fresh.safetensors");
    return 0;
}
