/* ravine trace: one optimizer's path on a surface, as step,x,y,loss rows. */
#include "commands.h"
#include "lab_cli.h"

#include <math.h>
#include <stdlib.h>

void lab_cli_start(const rv_surface *s, const char *text, double start[2])
{
    if (!text) {
        rv_surface_default_start(s, start);
        return;
    }
    double v[3];
    size_t n = cli_parse_numbers("--start", text, v, 3);
    if (n != 2)
        cli_die("--start", "'%s': expected X,Y (two numbers)", text);
    start[0] = v[0], start[1] = v[1];
}

rv_surface *lab_cli_surface(const char *text)
{
    rv_surface *s;
    rv_status st = rv_surface_parse(text, &s);
    if (st)
        cli_die_status("--surface", st);
    return s;
}

void lab_cli_json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

void lab_cli_elementwise(const char *what, const char *spec, const char *why)
{
    const rv_optim_type *type;
    rv_hparams h;
    if (rv_hparams_parse(spec, &type, &h) || rv_optim_type_elementwise(type))
        return;
    const char *name = rv_optim_type_name(type);
    if (!why)
        why = ", which the lab's (x, y) point does not give";
    cli_die(what, "%s updates whole tensors and needs their shape%s: run it on recorded gradients "
            "with `ravine replay --optim %s --shape R,C`", name, why, name);
}

static int run(int argc, char **argv)
{
    const char *surface = NULL, *optim = NULL, *start_text = NULL, *steps_text = NULL,
               *schedule = NULL, *eval = NULL;
    const cli_option opts[] = {
        {"surface", 1, &surface},  {"optim", 1, &optim},       {"start", 1, &start_text},
        {"steps", 1, &steps_text}, {"schedule", 1, &schedule}, {"eval", 0, &eval},
    };
    cli_parse(&cmd_trace, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!surface)
        cli_die("trace", "--surface SPEC is required (e.g. --surface 'bowl(kappa=10)')");
    if (!optim)
        cli_die("trace", "--optim SPEC is required (e.g. --optim 'adam(lr=0.1)')");
    long steps = steps_text ? cli_parse_long("--steps", steps_text, 0, 10000000) : 100;

    rv_surface *s = lab_cli_surface(surface);
    rv_status st;
    rv_schedule *sched = NULL;
    if (schedule && (st = rv_schedule_parse(schedule, &sched)))
        cli_die_status("--schedule", st);
    double start[2];
    lab_cli_start(s, start_text, start);

    double *rows = malloc((size_t)(steps + 1) * 3 * sizeof *rows);
    if (!rows)
        cli_die("trace", "out of memory for %ld steps", steps);
    lab_cli_elementwise("--optim", optim, NULL);
    if ((st = (eval ? rv_lab_trace_eval : rv_lab_trace)(s, optim, sched, start, steps, rows)))
        cli_die_status(st == RV_ERR_SURFACE_DOMAIN || st == RV_ERR_NONFINITE_ARG ? "--start" : "--optim", st);
    printf("step,x,y,loss\n");
    for (long k = 0; k <= steps; k++) {
        printf("%ld,%.9g,%.9g,%.9g\n", k, rows[3 * k], rows[3 * k + 1], rows[3 * k + 2]);
        cli_stdout_check();
    }
    free(rows);
    rv_schedule_free(sched);
    rv_surface_free(s);
    return 0;
}

const cli_command cmd_trace = {
    "trace", "follow one optimizer on a loss surface: step,x,y,loss rows",
    "ravine trace --surface SPEC --optim SPEC [--start X,Y] [--steps N] [--schedule SPEC]\n"
    "             [--eval]\n"
    "  Prints step,x,y,loss from step 0 (the start) to N (default 100).\n"
    "  SPEC of --optim: any optimizer (sgd, adam, ...) or newton(damping=0, lr=1).\n"
    "  The optimizer holds (x, y) as float32; with --schedule, update k (from 0)\n"
    "  uses lr = schedule(k). Once the path leaves the surface's domain or the\n"
    "  loss overflows, the remaining rows are nan. --eval prints the points eval\n"
    "  mode holds: for sfadamw the average x (the rows are otherwise y, where the\n"
    "  gradients are taken); the same rows for every other optimizer.\n"
    "  Surfaces: bowl(kappa=10), quadratic(a,b,c,d,e), rosenbrock(a=1,b=100), beale,\n"
    "  himmelblau, saddle, rastrigin(a=10), delivery(standardize=false,n=64,seed=42,noise=2),\n"
    "  expr(f=\"0.5*(x^2+10*y^2)\").",
    run};
