/* ravine replay --shard: the replay with its optimizer state sharded over
   the ranks of mpirun (ZeRO-1, ravine/dist.h). Every rank reads the
   gradient file, which holds the already reduced gradient of each update;
   each keeps the state of its shard only, and rank 0 prints the rows that
   `ravine replay` prints, byte for byte. Checkpoints are the one-process
   files: rank 0 reads and writes them. */
#include "cli.h"
#include "shard.h"

#include <stdlib.h>
#include <string.h>

#ifdef RAVINE_HAVE_MPI
#include "core/error.h"

static void print_row(long step, const float *p, size_t n)
{
    printf("%ld", step);
    for (size_t i = 0; i < n; i++)
        printf(",%.9g", (double)p[i]);
    printf("\n");
    cli_stdout_check();
}

/* muon without --shape: replay's message, as an agreed status */
static rv_status needs_shape(const rv_optim_type *type)
{
    return rv_fail(RV_ERR_SHAPE, "%s updates matrices: give the parameters' shape, --shape ROWS,COLS",
                   rv_optim_type_name(type));
}

/* Every rank reads the whole gradient file before the first step, inside
   the local phase, so that a bad line stops every rank alike instead of
   one rank mid-collective. The rows are held as float32, at most
   MAX_GRAD_VALUES of them in all. */
#define MAX_GRAD_VALUES ((size_t)1 << 27)

typedef struct grad_rows {
    float *values;
    size_t rows;
} grad_rows;

static void read_grads(const char *path, size_t n, grad_rows *out)
{
    cli_csv csv;
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    cli_csv_open(&csv, path, n);
    while (cli_csv_next(&csv)) {
        if (n && (out->rows + 1) * n > MAX_GRAD_VALUES)
            cli_die_line(path, csv.in.line_no, "more than %zu gradient values: --shard holds the "
                         "whole file in memory", MAX_GRAD_VALUES);
        if ((out->rows + 1) * n > cap) {
            cap = cap ? 2 * cap : 1024 * (n ? n : 1);
            float *grown = realloc(out->values, cap * sizeof *grown);
            if (!grown)
                cli_die("replay", "out of memory for the gradient file");
            out->values = grown;
        }
        for (size_t i = 0; i < n; i++) {
            if (!cli_fits_float(csv.row[i]))
                cli_die_line(path, csv.in.line_no, "value %zu (%.9g) is outside float32's range",
                             i + 1, csv.row[i]);
            out->values[out->rows * n + i] = (float)csv.row[i];
        }
        out->rows++;
    }
    cli_csv_close(&csv);
    if (!out->rows)
        cli_die(path, "no data rows");
}

int replay_shard(const replay_args *a)
{
    if (a->dtype && strcmp(a->dtype, "fp32"))
        cli_die("--dtype", "'%s' with --shard: the sharded optimizer keeps float32 parameters",
                a->dtype);
    shard_start();
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    /* a checkpoint is read by rank 0 and described to all */
    rv_checkpoint_info info;
    memset(&info, 0, sizeof info);
    if (a->resume)
        shard_check("--resume", rv_dist_inspect(MPI_COMM_WORLD, a->resume, &info));
    const char *schedule = a->schedule;
    if (a->resume && !schedule && info.schedule && info.schedule[0])
        schedule = info.schedule;

    /* each rank's own input */
    shard_local_begin();
    rv_status s;
    rv_schedule *sched = NULL;
    if (schedule && (s = rv_schedule_parse(schedule, &sched)))
        cli_die_status("--schedule", s);
    double *start = malloc(a->max_params * sizeof *start);
    if (!start)
        cli_die("replay", "out of memory");
    size_t n = a->resume ? info.numel : cli_parse_numbers("--init", a->init, start, a->max_params);
    if (a->resume && (info.n_params != 1 || n > a->max_params))
        cli_die("--resume", "checkpoint '%s' holds %zu tensors of %zu values; replay uses one tensor of "
                            "at most %zu",
                a->resume, info.n_params, n, a->max_params);
    float *p = malloc(n ? n * sizeof *p : 1), *g = malloc(n ? n * sizeof *g : 1);
    if (!p || !g)
        cli_die("replay", "out of memory");
    for (size_t i = 0; !a->resume && i < n; i++)
        p[i] = cli_to_float("--init", start[i]);
    free(start);
    size_t dims[RV_MAX_DIMS], ndim = cli_parse_shape("--shape", a->shape, n, dims);
    if (a->resume && !a->shape) {   /* the checkpoint's shape */
        ndim = info.tensors[0].ndim;
        memcpy(dims, info.tensors[0].shape, sizeof dims);
    }
    grad_rows t;
    read_grads(a->grads, n, &t);
    if (a->save && rank == 0)   /* rank 0 saves: a target it would refuse stops every rank now */
        cli_check_checkpoint_target("--save", a->save);
    shard_local_end("replay");

    rv_dist *d;
    shard_check("--optim", rv_dist_create_spec(&d, MPI_COMM_WORLD, a->optim ? a->optim : info.optimizer));
    if (!a->shape && !a->resume && rv_optim_type_shape_need(rv_dist_get_type(d)) == RV_SHAPE_MATRIX)
        shard_check("--shape", needs_shape(rv_dist_get_type(d)));
    shard_check("replay", rv_dist_add_param_shaped(d, 0, "params", p, g, ndim, dims, NULL));
    shard_check("replay", rv_dist_set_grads(d, RV_DIST_GRADS_REDUCED));
    shard_check("replay", rv_dist_setup(d));
    rv_checkpoint_options keep = {.keep_hparams = a->optim != NULL};
    if (a->resume)
        shard_check("--resume", rv_dist_load(d, a->resume, &keep, NULL));
    long first_t = a->resume ? info.schedule_step : 0;

    if (rank == 0) {
        printf("step");
        for (size_t i = 0; i < n; i++)
            printf(",p%zu", i);
        printf("\n");
    }
    long first = rv_dist_step_count(d);
    for (size_t k = 0; k < t.rows; k++) {
        for (size_t i = 0; i < n; i++)
            g[i] = t.values[k * n + i];
        if (sched) {
            s = rv_dist_set_lr(d, rv_schedule_lr(sched, first_t + (long)k));
            shard_check("--schedule", rv_dist_agree(MPI_COMM_WORLD, s));
        }
        shard_check("replay", rv_dist_step(d));
        if (rank == 0)
            print_row(first + (long)k + 1, p, n);
    }
    long updates = (long)t.rows;
    free(t.values);
    if (a->save)
        shard_check("--save", rv_dist_save(d, sched ? rv_schedule_text(sched) : NULL,
                                           first_t + updates, a->save));
    rv_schedule_free(sched);
    rv_dist_free(d);
    free(p);
    free(g);
    rv_checkpoint_info_free(&info);
    cli_stdout_check();
    return shard_finish();
}

#else

int replay_shard(const replay_args *a)
{
    (void)a;
    cli_die("--shard", "this ravine was built without MPI (install libopenmpi-dev and rebuild)");
}

#endif
