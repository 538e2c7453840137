/* PyTorch parity of the schedules.

   tests/fixtures/parity_schedule.txt (written by tests/fixtures/gen_fixtures.py)
   holds, for every torch lr scheduler ravine mirrors, the lr torch used at
   each of >= 300 steps (optimizer.param_groups[0]['lr'] before each
   scheduler.step()), and the optax and keras schedules ravine mirrors written
   out in Python from their sources. rv_schedule_lr must agree within 1e-9 relative at every step; the
   worst error per schedule is printed (docs/parity.md quotes them).

   Torch computes most schedulers recursively (lr_t from lr_{t-1}), ravine in
   closed form, so exact equality is not expected, only agreement far below
   float32 resolution. Reading each schedule one step late must fail the same
   comparison, so the check is known to catch an off-by-one in t. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdlib.h>

#define TOL 1e-9
#define MAX_STEPS 4096

typedef struct sched_stats {
    char name[24];
    int schedules;
    long steps;
    double worst_rel, worst_abs;
    char worst_spec[400];
    long worst_t;
} sched_stats;

static const char *fixture_path(void)
{
    const char *dir = getenv("RAVINE_FIXTURES");
    static char path[4096];
    snprintf(path, sizeof path, "%s/parity_schedule.txt", dir ? dir : "tests/fixtures");
    return path;
}

static sched_stats *stats_for(sched_stats *t, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    sched_stats *s = &t[(*n)++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

/* |ours - torch| <= 1e-9 * |torch| (an exact 0 must be matched exactly). */
static int agrees(double ours, double torch_lr)
{
    return fabs(ours - torch_lr) <= TOL * fabs(torch_lr);
}

static void check_schedule(const char *spec, const double *lrs, long n, sched_stats *table,
                           int *n_table)
{
    rv_schedule *s = NULL;
    rv_status st = rv_schedule_parse(spec, &s);
    CHECK_MSG(st == RV_OK, "%s: %s", spec, rv_errmsg());
    if (st)
        return;
    sched_stats *stats = stats_for(table, n_table, rv_schedule_name(s));
    stats->schedules++;
    stats->steps += n;
    int late_differs = 0;
    long bad = 0;
    for (long t = 0; t < n; t++) {
        double ours = rv_schedule_lr(s, t);
        double d = fabs(ours - lrs[t]);
        double rel = lrs[t] != 0.0 ? d / fabs(lrs[t]) : (d != 0.0 ? INFINITY : 0.0);
        if (d > stats->worst_abs)
            stats->worst_abs = d;
        if (rel > stats->worst_rel || (t == 0 && !stats->worst_spec[0])) {
            stats->worst_rel = rel;
            stats->worst_t = t;
            snprintf(stats->worst_spec, sizeof stats->worst_spec, "%s", spec);
        }
        if (!agrees(ours, lrs[t]) && bad++ < 3)
            fprintf(stderr, "%s at t=%ld: ravine %.17g, torch %.17g (rel %.3g)\n", spec, t, ours,
                    lrs[t], rel);
        /* one step late: must not agree everywhere */
        late_differs |= t + 1 < n && !agrees(rv_schedule_lr(s, t + 1), lrs[t]);
    }
    CHECK_MSG(bad == 0, "%s: %ld of %ld steps differ from torch", spec, bad, n);
    CHECK_MSG(late_differs, "%s: reading t+1 for t goes unnoticed", spec);
    CHECK_MSG(n >= 300, "%s: only %ld steps in the fixture", spec, n);
    rv_schedule_free(s);
}

int main(void)
{
    FILE *f = fopen(fixture_path(), "r");
    CHECK_MSG(f != NULL, "cannot open %s", fixture_path());
    if (!f)
        return check_summary("parity_schedule");
    static double lrs[MAX_STEPS];
    sched_stats table[16];
    int n_table = 0, n_schedules = 0;
    char line[512], spec[400];
    long n;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        int ok = sscanf(line, "schedule %399s %ld", spec, &n) == 2 && n > 0 && n <= MAX_STEPS;
        CHECK_MSG(ok, "bad schedule header: %s", line);
        if (!ok)
            break;
        for (long t = 0; t < n; t++) {
            ok = fgets(line, sizeof line, f) != NULL;
            char *end = line;
            if (ok)
                lrs[t] = strtod(line, &end);
            ok = ok && end != line;
            if (!ok)
                break;
        }
        CHECK_MSG(ok, "%s: truncated fixture", spec);
        if (!ok)
            break;
        check_schedule(spec, lrs, n, table, &n_table);
        n_schedules++;
    }
    fclose(f);

    /* every torch scheduler of CONTRACTS section 2, CyclicLR and ChainedScheduler
       (product), and the optax and keras schedules */
    static const char *const want[] = {"step",          "multistep",    "exponential", "cosine",
                                       "linear",        "poly",         "onecycle",
                                       "cosine_restarts", "warmup_cosine", "cyclic", "product",
                                       "inverse_time"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int found = 0;
        for (int k = 0; k < n_table; k++)
            found |= !strcmp(table[k].name, want[i]);
        CHECK_MSG(found, "no fixture for schedule %s", want[i]);
    }
    printf("schedule parity, tolerance |ours - torch| <= %g * |torch|, %d schedules\n", TOL,
           n_schedules);
    printf("%-16s %9s %6s %11s %11s  worst at\n", "schedule", "schedules", "steps", "worst_rel",
           "worst_abs");
    for (int k = 0; k < n_table; k++)
        printf("%-16s %9d %6ld %11.3g %11.3g  %s t=%ld\n", table[k].name, table[k].schedules,
               table[k].steps, table[k].worst_rel, table[k].worst_abs, table[k].worst_spec,
               table[k].worst_t);
    return check_summary("parity_schedule");
}
