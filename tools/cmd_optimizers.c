/* ravine optimizers: list the algorithms, their defaults and update rules. */
#include "commands.h"

#include <stdlib.h>

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
            printf("    state: per matrix, one value per row and per column (768x3072: %zu floats, "
                   "%.2g per parameter); per vector element: 1\n",
                   floats, (double)floats / (768.0 * 3072.0));
        } else {
            printf("    state: %zu buffer(s) per parameter%s\n", rv_state_count(t, &h),
                   rv_optim_type_shape_need(t) == RV_SHAPE_MATRIX ? " (2-D tensors only)" : "");
        }
    }
    return 0;
}

const cli_command cmd_optimizers = {
    "optimizers", "list the optimizers with their torch defaults and update rules",
    "ravine optimizers", run};
