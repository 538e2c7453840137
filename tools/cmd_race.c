/* ravine race: several optimizers from one start on one surface; who gets
   below the threshold first. Without --surface/--optims it runs seed 000's
   experiment: sgd, momentum, adam and adamw on the standardized delivery
   data, threshold 0.2. */
#include "commands.h"
#include "lab_cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OPTIMS 64
#define SEED_SURFACE "delivery(standardize=true)"
#define SEED_OPTIMS "sgd(lr=0.1); sgd(lr=0.1, momentum=0.9); adam(lr=0.1); adamw(lr=0.1)"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int run(int argc, char **argv)
{
    const char *surface = NULL, *optims = NULL, *start_text = NULL, *steps_text = NULL,
               *threshold_text = NULL, *schedule = NULL, *json = NULL;
    const cli_option opts[] = {
        {"surface", 1, &surface},     {"optims", 1, &optims}, {"start", 1, &start_text},
        {"steps", 1, &steps_text},    {"threshold", 1, &threshold_text},
        {"schedule", 1, &schedule},   {"json", 0, &json},
    };
    cli_parse(&cmd_race, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!surface)
        surface = SEED_SURFACE;
    char *list = strdup(optims ? optims : SEED_OPTIMS);
    if (!list)
        cli_die("race", "out of memory");
    char *items[MAX_OPTIMS];
    size_t n = cli_split("--optims", list, ';', items, MAX_OPTIMS);
    if (!n)
        cli_die("--optims", "'%s': no optimizer specs (separate them with ';')", optims);
    for (size_t i = 0; i < n; i++)
        items[i] = trim(items[i]);
    long steps = steps_text ? cli_parse_long("--steps", steps_text, 0, 10000000) : 100;
    double threshold = threshold_text ? cli_parse_double("--threshold", threshold_text) : 0.2;

    rv_surface *s = lab_cli_surface(surface);
    rv_schedule *sched = NULL;
    rv_status st;
    if (schedule && (st = rv_schedule_parse(schedule, &sched)))
        cli_die_status("--schedule", st);
    double start[2];
    lab_cli_start(s, start_text, start);

    rv_race_result *res = calloc(n, sizeof *res);
    if (!res)
        cli_die("race", "out of memory");
    for (size_t i = 0; i < n; i++) {
        lab_cli_elementwise("--optims", items[i], NULL);
        if ((st = rv_lab_race_one(s, items[i], sched, start, steps, threshold, &res[i])))
            cli_die_status(st == RV_ERR_SURFACE_DOMAIN || st == RV_ERR_NONFINITE_ARG ? "--start" : "--optims", st);
    }

    if (json) {
        printf("{\"results\":[");
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"optim\":", i ? "," : "");
            cli_json_string(stdout, items[i]);
            if (res[i].steps_to_threshold >= 0)
                printf(",\"steps_to_threshold\":%ld", res[i].steps_to_threshold);
            else
                printf(",\"steps_to_threshold\":null");
            printf(",\"final_loss\":");
            lab_cli_json_number(stdout, res[i].final_loss);
            printf(",\"diverged\":%s}", res[i].diverged ? "true" : "false");
        }
        printf("]}\n");
    } else {
        char *spec = cli_surface_text(s);
        printf("race on %s from (%.9g, %.9g), %ld steps, threshold %.9g\n\n", spec, start[0],
               start[1], steps, threshold);
        free(spec);
        size_t width = 5;
        for (size_t i = 0; i < n; i++)
            width = strlen(items[i]) > width ? strlen(items[i]) : width;
        printf("%-*s  %18s  %15s  %s\n", (int)width, "optim", "steps_to_threshold", "final_loss",
               "diverged");
        long best = -1;
        size_t winner = 0;
        for (size_t i = 0; i < n; i++) {
            char k[32] = "never";
            if (res[i].steps_to_threshold >= 0)
                snprintf(k, sizeof k, "%ld", res[i].steps_to_threshold);
            printf("%-*s  %18s  %15.9g  %s\n", (int)width, items[i], k, res[i].final_loss,
                   res[i].diverged ? "yes" : "no");
            if (res[i].steps_to_threshold >= 0 && (best < 0 || res[i].steps_to_threshold < best))
                best = res[i].steps_to_threshold, winner = i;
        }
        if (best >= 0)
            printf("\nfirst below %.9g: %s, after %ld step%s\n", threshold, items[winner], best,
                   best == 1 ? "" : "s");
        else
            printf("\nnone got below %.9g in %ld steps\n", threshold, steps);
    }
    free(res);
    free(list);
    rv_schedule_free(sched);
    rv_surface_free(s);
    return 0;
}

const cli_command cmd_race = {
    "race", "race optimizers on a surface: who first gets the loss below a threshold",
    "ravine race [--surface SPEC] [--optims 'SPEC;SPEC;...'] [--start X,Y] [--steps N]\n"
    "            [--threshold T] [--schedule SPEC] [--json]\n"
    "  steps_to_threshold is the least k with loss after k updates < T (k = 0 is the\n"
    "  start; null/never if none); diverged: the loss became non-finite or grew past\n"
    "  1e6 x its start. --json prints\n"
    "  {\"results\":[{\"optim\":SPEC,\"steps_to_threshold\":k,\"final_loss\":v,\"diverged\":b},...]}\n"
    "  (non-finite final losses as null). Defaults: seed 000's race, --surface\n"
    "  '" SEED_SURFACE "', --optims\n"
    "  '" SEED_OPTIMS "',\n"
    "  --steps 100, --threshold 0.2, --start the surface's default.",
    run};
