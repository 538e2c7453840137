/* ravine optimizers: list the algorithms, their defaults and update rules. */
#include "commands.h"

#include <stdlib.h>

/* Bytes of state per parameter under state=st, on a vector long enough
   (a multiple of RV_QUANT_BLOCK) that int8's scales count exactly. */
static double state_bytes_per_param(const rv_optim_type *t, rv_hparams h, rv_precision st)
{
    const size_t n = (size_t)RV_QUANT_BLOCK << 8;
    h.state = st;
    return (double)rv_state_bytes(t, &h, n, 0, NULL) / (double)n;
}

static int run(int argc, char **argv)
{
    cli_parse(&cmd_optimizers, argc, argv, NULL, 0, NULL, 0, NULL);
    for (size_t i = 0; rv_optim_type_at(i); i++) {
        const rv_optim_type *t = rv_optim_type_at(i);
        rv_hparams h = rv_hparams_defaults(t);
        char *spec = cli_optim_text(t, &h);
        printf("%s\n    %s\n", spec, rv_optim_type_summary(t));
        free(spec);
        if (rv_optim_type_shape_need(t) == RV_SHAPE_KNOWN) {
            const size_t gpt2_mlp[2] = {768, 3072};
            size_t floats = rv_state_floats(t, &h, 0, 2, gpt2_mlp);
            char per[40];
            printf("    state: per matrix, one value per row and per column (768x3072: %zu floats, "
                   "%s per parameter); per vector element: 1\n",
                   floats, cli_round_text(per, sizeof per, (double)floats / (768.0 * 3072.0), 1e-4));
        } else {
            printf("    state: %zu buffer(s) per parameter%s\n", rv_state_count(t, &h),
                   rv_optim_type_shape_need(t) == RV_SHAPE_MATRIX ? " (2-D tensors only)" : "");
        }
        /* element-wise optimizers store their state at the precision state= names */
        if (rv_optim_type_elementwise(t))
            printf("    state=fp32|bf16|int8 (default fp32): %.9g|%.9g|%.9g bytes per parameter\n",
                   state_bytes_per_param(t, h, RV_FP32), state_bytes_per_param(t, h, RV_BF16),
                   state_bytes_per_param(t, h, RV_INT8));
    }
    return 0;
}

const cli_command cmd_optimizers = {
    "optimizers", "list the optimizers with their torch defaults and update rules",
    "ravine optimizers\n"
    "  Each optimizer's spec with torch's defaults, its update rule and its state;\n"
    "  element-wise ones also store that state at state=fp32 (the default), bf16 or\n"
    "  int8, with the bytes per parameter of each.",
    run};
