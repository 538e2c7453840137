/* ravine bench --shard: the sharded optimizer's step under mpirun: time per
   step (the slowest rank's, after a barrier), its parts (reduce-scatter,
   update, all-gather), the bytes each rank sent, and the state each holds,
   beside one process stepping all parameters.

   Bytes sent are those each rank handed to the collectives for other ranks
   during the timed steps (rv_dist_stats.bytes_sent), beside the theory of a
   bandwidth-optimal reduce-scatter plus all-gather, 2 (P-1)/P N 4 bytes. */
#include "cli.h"
#include "shard.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef RAVINE_HAVE_MPI

/* ---- the measurement ------------------------------------------------------- */

static float *filled(size_t n, uint32_t seed, float scale)
{
    float *x = aligned_alloc(64, ((n + 15) & ~(size_t)15) * sizeof(float));
    if (!x)
        cli_die("bench", "out of memory for %zu parameters", n);
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = scale * ((float)(s >> 8) / 8388608.0f - 1.0f + 0.5f / 8388608.0f);
    }
    return x;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median ms of one process stepping all n parameters (rank 0), and the
   state it holds. */
static double one_process_ms(const char *spec, float *p, float *g, size_t n, int threads,
                             int warmup, int reps, size_t *state_bytes)
{
    rv_optim *o;
    rv_status s;
    if ((s = rv_optim_create_spec(&o, spec)) || (s = rv_optim_set_threads(o, threads)) ||
        (s = rv_optim_add_param(o, 0, "w", p, g, n, NULL)))
        cli_die_status("bench", s);
    double *ms = malloc((size_t)reps * sizeof *ms);
    if (!ms)
        cli_die("bench", "out of memory");
    for (int i = 0; i < warmup + reps; i++) {
        double t0 = MPI_Wtime();
        if ((s = rv_optim_step(o)))
            cli_die_status("bench", s);
        if (i >= warmup)
            ms[i - warmup] = (MPI_Wtime() - t0) * 1e3;
    }
    double m = median(ms, reps);
    /* as stored: 4, 2 or 1 byte(s) a value (and int8's scales) by state= */
    rv_hparams h;
    rv_optim_group_hparams(o, 0, &h);
    *state_bytes = rv_state_bytes(rv_optim_get_type(o), &h, n, 0, NULL);
    free(ms);
    rv_optim_free(o);
    return m;
}

static void json_number(double v)
{
    if (isfinite(v))
        printf("%.9g", v);
    else
        printf("null");
}

int bench_shard(const bench_shard_args *a)
{
    shard_start();
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    size_t n = a->params;
    const char *spec = a->optim ? a->optim : "adamw";

    shard_local_begin();
    float *p = filled(n, 1, 1.0f), *g = filled(n, 7919 + (uint32_t)rank, 0.01f);
    double *ms = malloc((size_t)a->reps * sizeof *ms);
    if (!ms)
        cli_die("bench", "out of memory");
    shard_local_end("bench");

    rv_dist *d;
    shard_check("--optim", rv_dist_create_spec(&d, MPI_COMM_WORLD, spec));
    shard_check("bench", rv_dist_add_param(d, 0, "w", p, g, n, NULL));
    shard_check("--threads", rv_dist_set_threads(d, a->threads));
    for (int i = 0; i < a->warmup; i++)
        shard_check("bench", rv_dist_step(d));

    rv_dist_stats before, after;
    rv_dist_stats_get(d, &before);
    for (int i = 0; i < a->reps; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        shard_check("bench", rv_dist_step(d));
        double mine = (MPI_Wtime() - t0) * 1e3, slowest;
        MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        ms[i] = slowest;
    }
    rv_dist_stats_get(d, &after);
    double sent = (double)(after.bytes_sent - before.bytes_sent) / a->reps;
    double parts[3] = {(after.seconds_reduce - before.seconds_reduce) * 1e3 / a->reps,
                       (after.seconds_update - before.seconds_update) * 1e3 / a->reps,
                       (after.seconds_gather - before.seconds_gather) * 1e3 / a->reps};
    double mine[2] = {sent, (double)after.state_bytes}, *all = malloc(2 * (size_t)ranks * sizeof *all);
    double parts_max[3];
    if (!all)
        cli_die("bench", "out of memory");
    MPI_Gather(mine, 2, MPI_DOUBLE, all, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Reduce(parts, parts_max, 3, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    double step_ms = median(ms, a->reps);
    rv_dist_free(d);

    double one_ms = NAN;
    size_t one_state = 0;
    if (rank == 0)
        one_ms = one_process_ms(spec, p, g, n, a->threads, a->warmup, a->reps, &one_state);
    MPI_Barrier(MPI_COMM_WORLD);

    if (rank == 0) {
        double theory = 2.0 * (ranks - 1) / ranks * (double)n * 4;
        if (a->json) {
            printf("{\"ranks\":%d,\"params\":%zu,\"optim\":", ranks, n);
            cli_json_string(stdout, spec);
            printf(",\"threads_per_rank\":%d,\"reps\":%d,\"ms_per_step\":", a->threads, a->reps);
            json_number(step_ms);
            printf(",\"ms_reduce_scatter\":");
            json_number(parts_max[0]);
            printf(",\"ms_update\":");
            json_number(parts_max[1]);
            printf(",\"ms_all_gather\":");
            json_number(parts_max[2]);
            printf(",\"one_process_ms_per_step\":");
            json_number(one_ms);
            printf(",\"bytes_theory_per_rank\":");
            json_number(theory);
            printf(",\"bytes_sent_per_rank\":[");
            for (int r = 0; r < ranks; r++) {
                printf(r ? "," : "");
                json_number(all[2 * r]);
            }
            printf("],\"state_bytes_per_rank\":[");
            for (int r = 0; r < ranks; r++)
                printf("%s%.0f", r ? "," : "", all[2 * r + 1]);
            printf("],\"one_process_state_bytes\":%zu}\n", one_state);
        } else {
            printf("ravine bench --shard: %s, %zu parameters, %d ranks, %d thread(s) each, median of "
                   "%d steps\n\n",
                   spec, n, ranks, a->threads, a->reps);
            /* times to 0.1 microsecond and bytes to one, printed with %.9g */
            const char *labels[] = {"ms per step (sharded)", "  reduce-scatter", "  update of the shard",
                                    "  all-gather", "ms per step (one process)"};
            const double times[] = {step_ms, parts_max[0], parts_max[1], parts_max[2], one_ms};
            for (int i = 0; i < 5; i++) {
                printf("%-28s", labels[i]);
                cli_cell(12, times[i], 1e-4);
                putchar('\n');
            }
            printf("%-28s %12zu\n", "state bytes (one process)", one_state);
            printf("\n%-6s %16s %16s %16s\n", "rank", "bytes sent/step", "theory", "state bytes");
            for (int r = 0; r < ranks; r++) {
                printf("%-6d", r);
                cli_cell(16, all[2 * r], 1);
                cli_cell(16, theory, 1);
                cli_cell(16, all[2 * r + 1], 1);
                putchar('\n');
            }
        }
    }
    free(all);
    free(ms);
    free(p);
    free(g);
    fflush(stdout);
    return shard_finish();
}

#else

int bench_shard(const bench_shard_args *a)
{
    (void)a;
    cli_die("--shard", "this ravine was built without MPI (install libopenmpi-dev and rebuild)");
}

#endif
