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
        printf("%s\n    %s\n    state: %zu buffer(s) per parameter\n", spec,
               rv_optim_type_summary(t), rv_state_count(t, &h));
        free(spec);
    }
    return 0;
}

const cli_command cmd_optimizers = {
    "optimizers", "list the optimizers with their torch defaults and update rules",
    "ravine optimizers", run};
