/* ravine replay: apply an optimizer to recorded gradients and print the
   parameters after every update. The gradient file is read row by row, so
   memory does not grow with its length. */
#include "commands.h"
#include "kernels/bf16.h"
#include "shard.h"

#include <stdlib.h>

#define MAX_PARAMS 4096

static int run(int argc, char **argv)
{
    const char *optim = NULL, *init = NULL, *grads = NULL, *schedule = NULL, *save = NULL,
               *resume = NULL, *shape_text = NULL, *dtype = NULL, *shard = NULL;
    const cli_option opts[] = {
        {"optim", 1, &optim},
        {"init", 1, &init},
        {"grads", 1, &grads},
        {"schedule", 1, &schedule},
        {"save", 1, &save},
        {"resume", 1, &resume},
        {"shape", 1, &shape_text},
        {"dtype", 1, &dtype},
        {"shard", 0, &shard},
    };
    cli_parse(&cmd_replay, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL);
    if (!optim && !resume)
        cli_die("replay", "--optim SPEC is required");
    if (!grads)
        cli_die("replay", "--grads FILE is required");
    if (init && resume)
        cli_die("replay", "--init and --resume both give the starting parameters; use one");
    if (!init && !resume)
        cli_die("replay", "--init P0,P1,... is required");
    if (dtype && strcmp(dtype, "fp32") && strcmp(dtype, "bf16"))
        cli_die("--dtype", "'%s': expected fp32 or bf16", dtype);
    if (shard)
        return replay_shard(&(replay_args){.optim = optim, .init = init, .grads = grads,
                                           .schedule = schedule, .save = save, .resume = resume,
                                           .shape = shape_text, .dtype = dtype,
                                           .max_params = MAX_PARAMS});
    /* a checkpoint knows its optimizer, size and schedule (all verified by
       inspect, so a bad one is reported against the file); the command line
       may override the optimizer's hyperparameters and the schedule */
    rv_checkpoint_info info = {0};
    rv_status s;
    if (resume && (s = rv_checkpoint_inspect(resume, &info)))
        cli_die_status("--resume", s);

    rv_optim *opt;
    if ((s = rv_optim_create_spec(&opt, optim ? optim : info.optimizer)))
        cli_die_status(optim ? "--optim" : "--resume", s);
    rv_schedule *sched = NULL;
    if (schedule && (s = rv_schedule_parse(schedule, &sched)))
        cli_die_status("--schedule", s);
    if (resume && !schedule && info.schedule[0] && (s = rv_schedule_parse(info.schedule, &sched)))
        cli_die_status("--resume", s);

    static double start[MAX_PARAMS];
    size_t n = resume ? info.numel : cli_parse_numbers("--init", init, start, MAX_PARAMS);
    if (resume && (info.n_params != 1 || n > MAX_PARAMS))
        cli_die("--resume", "checkpoint '%s' holds %zu tensors of %zu values; replay uses one tensor of "
                            "at most %d",
                resume, info.n_params, n, MAX_PARAMS);
    /* a checkpoint also knows the tensor's dtype and shape; options that
       say otherwise are refused by the load, naming both */
    int bf16 = dtype ? !strcmp(dtype, "bf16") : resume && info.tensors[0].dtype == RV_BF16;
    float *p = malloc(n ? n * sizeof *p : 1), *g = malloc(n ? n * sizeof *g : 1);
    /* --dtype bf16: the parameters and gradients a bf16 model holds, over a float32 master */
    uint16_t *p16 = malloc(n ? n * sizeof *p16 : 1), *g16 = malloc(n ? n * sizeof *g16 : 1);
    if (!p || !g || !p16 || !g16)
        cli_die("replay", "out of memory");
    for (size_t i = 0; !resume && i < n; i++) {
        p[i] = cli_to_float("--init", start[i]);
        p16[i] = rv_f32_to_bf16(p[i]);
    }
    /* the parameters are one tensor: a vector, the shape --shape gives, or the checkpoint's */
    size_t dims[RV_MAX_DIMS], ndim = cli_parse_shape("--shape", shape_text, n, dims);
    if (resume && !shape_text) {
        ndim = info.tensors[0].ndim;
        memcpy(dims, info.tensors[0].shape, sizeof dims);
    } else if (!shape_text && rv_optim_type_shape_need(rv_optim_get_type(opt)) == RV_SHAPE_MATRIX) {
        cli_die("--shape", "%s updates matrices: give the parameters' shape, --shape ROWS,COLS",
                rv_optim_type_name(rv_optim_get_type(opt)));
    }
    if ((s = bf16 ? rv_optim_add_param_bf16(opt, 0, "params", p16, g16, ndim, dims, NULL)
                  : rv_optim_add_param_shaped(opt, 0, "params", p, g, ndim, dims, NULL)))
        cli_die_status("replay", s);
    rv_checkpoint_options keep = {.keep_hparams = optim != NULL};
    if (resume && (s = rv_checkpoint_load(opt, resume, &keep, NULL)))
        cli_die_status("--resume", s);
    long first_t = resume ? info.schedule_step : 0;
    rv_checkpoint_info_free(&info);

    /* a target the save would refuse is refused before the replay, not after it */
    if (save)
        cli_check_checkpoint_target("--save", save);
    cli_csv csv;
    cli_csv_open(&csv, grads, n);
    long first = rv_optim_step_count(opt), k = 0;
    for (; cli_csv_next(&csv); k++) {
        if (!k) {
            printf("step");
            for (size_t i = 0; i < n; i++)
                printf(",p%zu", i);
            printf("\n");
        }
        for (size_t i = 0; i < n; i++) {
            if (!cli_fits_float(csv.row[i]))
                cli_die_line(grads, csv.in.line_no, "value %zu (%.9g) is outside float32's range",
                             i + 1, csv.row[i]);
            g[i] = (float)csv.row[i];
            g16[i] = rv_f32_to_bf16(g[i]);
        }
        if (sched && (s = rv_optim_set_lr(opt, rv_schedule_lr(sched, first_t + k))))
            cli_die_status("--schedule", s);
        if ((s = rv_optim_step(opt)))
            cli_die_status("replay", s);
        printf("%ld", first + k + 1);
        for (size_t i = 0; i < n; i++)
            printf(",%.9g", (double)(bf16 ? rv_bf16_to_f32(p16[i]) : p[i]));
        printf("\n");
        cli_stdout_check();
    }
    cli_csv_close(&csv);
    if (!k)
        cli_die(grads, "no data rows");
    if (save && (s = rv_checkpoint_save_at(opt, sched ? rv_schedule_text(sched) : NULL, first_t + k, save)))
        cli_die_status("--save", s);
    rv_schedule_free(sched);
    rv_optim_free(opt);
    free(p);
    free(g);
    free(p16);
    free(g16);
    return 0;
}

const cli_command cmd_replay = {
    "replay", "apply an optimizer to recorded gradients (CSV) and print every update",
    "ravine replay --optim SPEC --init P0,P1,... --grads FILE [--schedule SPEC] [--shape R,C]\n"
    "              [--dtype fp32|bf16] [--save CKPT]\n"
    "       ravine replay --resume CKPT --grads FILE [--optim SPEC] [--schedule SPEC] [--shape R,C]\n"
    "              [--dtype fp32|bf16] [--save CKPT]\n"
    "  FILE: CSV, one line per update with one gradient value per parameter (read\n"
    "  as it goes: any length; a line may hold at most 1 MiB).\n"
    "  Prints step,p0,...,p{n-1} and the parameters after each update k = 1..K;\n"
    "  with --schedule, update k (from 0) uses lr = schedule(k). Values past\n"
    "  float32's range are errors; nan and inf are read as such.\n"
    "  --save writes parameters, optimizer state, step count and schedule after the\n"
    "  last update (a safetensors file); --resume starts from such a file instead of\n"
    "  --init: numbering and the schedule continue from its step, and its optimizer and\n"
    "  schedule are used unless --optim / --schedule are given.\n"
    "  --shape R,C gives the parameters that shape (row-major): muon needs a matrix,\n"
    "  adafactor factors its second moment for two or more dimensions. sfadamw prints\n"
    "  the parameters a model holds while training (y).\n"
    "  --dtype bf16 rounds the initial parameters and every gradient to bfloat16\n"
    "  (nearest even), steps a float32 master copy and prints the bf16 parameters.\n"
    "  With --resume the shape and dtype are the checkpoint's unless given (and\n"
    "  then they must be the checkpoint's); an --optim spec keeps its own\n"
    "  hyperparameters, so its state= must be the checkpoint's too.\n"
    "  --shard: under mpirun, each rank keeps the optimizer state of 1/P of the\n"
    "  parameters (ZeRO-1); FILE holds the already reduced gradients; rank 0 prints\n"
    "  the same rows, and checkpoints are the same files, for any number of ranks.",
    run};
