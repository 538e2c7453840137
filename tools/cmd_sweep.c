/* ravine sweep: one optimizer over a log-spaced grid of learning rates. */
#include "commands.h"
#include "lab_cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LRS 1000

typedef struct sweep_row {
    double lr;
    rv_race_result r;
} sweep_row;

/* --lr LO:HI:N, N >= 2 log-spaced values from LO to HI inclusive (or one LR) */
static size_t parse_grid(const char *text, double *lo, double *hi)
{
    double v[3];
    char *buf = strdup(text);
    if (!buf)
        cli_die("--lr", "out of memory");
    for (char *c = buf; *c; c++)
        if (*c == ':')
            *c = ',';
    size_t k = cli_parse_numbers("--lr", buf, v, 3);
    free(buf);
    if (k == 1) {
        *lo = *hi = v[0];
        if (!(v[0] > 0))
            cli_die("--lr", "'%s': the lr must be > 0", text);
        return 1;
    }
    if (k != 3)
        cli_die("--lr", "'%s': expected LO:HI:N (e.g. 1e-4:1:25) or one lr", text);
    if (!(v[0] > 0 && v[1] > v[0]))
        cli_die("--lr", "'%s': need 0 < LO < HI", text);
    if (v[2] != floor(v[2]) || v[2] < 2 || v[2] > MAX_LRS)
        cli_die("--lr", "'%s': N must be a whole number in [2, %d]", text, MAX_LRS);
    *lo = v[0];
    *hi = v[1];
    return (size_t)v[2];
}

/* better: reaches the threshold sooner; then the lower final loss; diverged never wins */
static int better(const rv_race_result *a, const rv_race_result *b)
{
    if (a->diverged != b->diverged)
        return !a->diverged;
    long ka = a->steps_to_threshold, kb = b->steps_to_threshold;
    if ((ka >= 0) != (kb >= 0))
        return ka >= 0;
    if (ka >= 0 && ka != kb)
        return ka < kb;
    return a->final_loss < b->final_loss;
}

static int run(int argc, char **argv)
{
    const char *surface = NULL, *optim = NULL, *lr_text = NULL, *start_text = NULL,
               *steps_text = NULL, *threshold_text = NULL, *json = NULL;
    const cli_option opts[] = {
        {"surface", 1, &surface}, {"optim", 1, &optim},   {"lr", 1, &lr_text},
        {"start", 1, &start_text}, {"steps", 1, &steps_text}, {"threshold", 1, &threshold_text},
        {"json", 0, &json},
    };
    cli_parse(&cmd_sweep, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!surface)
        cli_die("sweep", "--surface SPEC is required");
    if (!optim)
        cli_die("sweep", "--optim SPEC is required");
    double lo, hi;
    size_t n = parse_grid(lr_text ? lr_text : "1e-4:1:25", &lo, &hi);
    long steps = steps_text ? cli_parse_long("--steps", steps_text, 0, 10000000) : 100;
    rv_surface *s = lab_cli_surface(surface);
    double start[2];
    lab_cli_start(s, start_text, start);
    double threshold;
    if (threshold_text) {
        threshold = cli_parse_double("--threshold", threshold_text);
    } else {
        /* 99.9% of the way from the start's loss down to the known minimum */
        double f0, fmin;
        rv_status st = rv_surface_eval(s, start, &f0, NULL, NULL);
        if (st)
            cli_die_status("--start", st);
        if (!rv_surface_minimum(s, NULL, &fmin))
            cli_die("sweep", "%s has no known minimum: give --threshold T",
                    rv_surface_name(s));
        threshold = fmin + 1e-3 * (f0 - fmin);
    }

    sweep_row *rows = calloc(n, sizeof *rows);
    if (!rows)
        cli_die("sweep", "out of memory");
    lab_cli_elementwise("--optim", optim, NULL);
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        rows[i].lr = n == 1 ? lo : lo * pow(hi / lo, (double)i / (double)(n - 1));
        char spec[64];
        snprintf(spec, sizeof spec, "constant(lr=%.17g)", rows[i].lr);
        rv_schedule *sched;
        rv_status st = rv_schedule_parse(spec, &sched);
        if (st)
            cli_die_status("--lr", st);
        st = rv_lab_race_one(s, optim, sched, start, steps, threshold, &rows[i].r);
        rv_schedule_free(sched);
        if (st)
            cli_die_status(st == RV_ERR_SURFACE_DOMAIN || st == RV_ERR_NONFINITE_ARG ? "--start" : "--optim", st);
        if (i && better(&rows[i].r, &rows[best].r))
            best = i;
    }
    int any_ok = !rows[best].r.diverged;

    char *sspec = cli_surface_text(s);
    if (json) {
        printf("{\"surface\":");
        cli_json_string(stdout, sspec);
        printf(",\"optim\":");
        cli_json_string(stdout, optim);
        printf(",\"steps\":%ld,\"threshold\":", steps);
        lab_cli_json_number(stdout, threshold);
        printf(",\"results\":[");
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"lr\":%.9g,\"steps_to_threshold\":", i ? "," : "", rows[i].lr);
            if (rows[i].r.steps_to_threshold >= 0)
                printf("%ld", rows[i].r.steps_to_threshold);
            else
                printf("null");
            printf(",\"final_loss\":");
            lab_cli_json_number(stdout, rows[i].r.final_loss);
            printf(",\"diverged\":%s}", rows[i].r.diverged ? "true" : "false");
        }
        printf("],\"best_lr\":");
        lab_cli_json_number(stdout, any_ok ? rows[best].lr : NAN);
        printf("}\n");
    } else {
        printf("sweep of %s on %s from (%.9g, %.9g), %ld steps, threshold %.9g\n"
               "(the lr of the spec is replaced by each lr of the grid)\n\n",
               optim, sspec, start[0], start[1], steps, threshold);
        printf("%15s  %18s  %15s  %s\n", "lr", "steps_to_threshold", "final_loss", "diverged");
        for (size_t i = 0; i < n; i++) {
            char k[32] = "never";
            if (rows[i].r.steps_to_threshold >= 0)
                snprintf(k, sizeof k, "%ld", rows[i].r.steps_to_threshold);
            printf("%15.9g  %18s  %15.9g  %s%s\n", rows[i].lr, k, rows[i].r.final_loss,
                   rows[i].r.diverged ? "yes" : "no", any_ok && i == best ? "   <- best" : "");
        }
        if (any_ok)
            printf("\nbest lr: %.9g\n", rows[best].lr);
        else
            printf("\nevery lr diverged\n");
    }
    free(rows);
    free(sspec);
    rv_surface_free(s);
    return 0;
}

const cli_command cmd_sweep = {
    "sweep", "sweep the learning rate of one optimizer on a surface (log-spaced grid)",
    "ravine sweep --surface SPEC --optim SPEC [--lr LO:HI:N] [--start X,Y] [--steps N]\n"
    "             [--threshold T] [--json]\n"
    "  Runs the optimizer for each of N log-spaced learning rates from LO to HI\n"
    "  (default 1e-4:1:25, 100 steps) and reports per lr the final loss, the steps to\n"
    "  the threshold and divergence, and the best lr: fewest steps to the threshold,\n"
    "  then lowest final loss, never a diverged one. The default threshold is 99.9%\n"
    "  of the way from the start's loss to the surface's known minimum.",
    run};
