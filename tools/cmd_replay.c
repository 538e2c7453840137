/* ravine replay: apply an optimizer to recorded gradients and print the
   parameters after every update. */
#include "commands.h"

#include <stdlib.h>

#define MAX_PARAMS 4096

static int run(int argc, char **argv)
{
    const char *optim = NULL, *init = NULL, *grads = NULL, *schedule = NULL;
    const cli_option opts[] = {
        {"optim", 1, &optim},
        {"init", 1, &init},
        {"grads", 1, &grads},
        {"schedule", 1, &schedule},
    };
    cli_parse(&cmd_replay, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!optim)
        cli_die("replay", "--optim SPEC is required");
    if (!grads)
        cli_die("replay", "--grads FILE is required");
    if (!init)
        cli_die("replay", "--init P0,P1,... is required");

    rv_optim *opt;
    rv_status s = rv_optim_create_spec(&opt, optim);
    if (s)
        cli_die_status("--optim", s);
    rv_schedule *sched = NULL;
    if (schedule && (s = rv_schedule_parse(schedule, &sched)))
        cli_die_status("--schedule", s);

    static double start[MAX_PARAMS];
    size_t n = cli_parse_numbers("--init", init, start, MAX_PARAMS);
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    if (!p || !g)
        cli_die("replay", "out of memory");
    for (size_t i = 0; i < n; i++)
        p[i] = (float)start[i];
    if ((s = rv_optim_add_param(opt, 0, "params", p, g, n, NULL)))
        cli_die_status("replay", s);

    cli_table t;
    cli_read_numeric_csv(grads, n, &t);

    printf("step");
    for (size_t i = 0; i < n; i++)
        printf(",p%zu", i);
    printf("\n");
    long first = rv_optim_step_count(opt);
    for (size_t k = 0; k < t.rows; k++) {
        for (size_t i = 0; i < n; i++)
            g[i] = (float)t.values[k * n + i];
        if (sched && (s = rv_optim_set_lr(opt, rv_schedule_lr(sched, first + (long)k))))
            cli_die_status("--schedule", s);
        if ((s = rv_optim_step(opt)))
            cli_die_status("replay", s);
        printf("%ld", first + (long)k + 1);
        for (size_t i = 0; i < n; i++)
            printf(",%.9g", (double)p[i]);
        printf("\n");
    }
    cli_table_free(&t);
    rv_schedule_free(sched);
    rv_optim_free(opt);
    free(p);
    free(g);
    return 0;
}

const cli_command cmd_replay = {
    "replay", "apply an optimizer to recorded gradients (CSV) and print every update",
    "ravine replay --optim SPEC --init P0,P1,... --grads FILE [--schedule SPEC]\n"
    "  FILE: CSV, one line per update with one gradient value per parameter.\n"
    "  Prints step,p0,...,p{n-1} and the parameters after each update k = 1..K;\n"
    "  with --schedule, update k (from 0) uses lr = schedule(k).",
    run};
