/* charlm — a character-level language model trained with ravine.

   A Bengio-style MLP (context of C characters -> embeddings -> tanh hidden
   layer -> softmax over '.' and a-z) learns to spell English words from the
   system word list. Forward and backward passes are written by hand in
   examples/charlm/model.h; the optimizer, its param groups and the
   learning-rate schedule are ravine's, reached through the public API only.

       build/examples/charlm                     train with the defaults, print a summary
       build/examples/charlm --json              ... and end with one JSON object
       build/examples/charlm --compare --out DIR SGD, momentum, Adam, AdamW (tuned lr),
                                                 with and without warmup: DIR/charlm_compare.svg
       build/examples/charlm --states --out DIR  the optimizer with fp32, bf16 and 8-bit state:
                                                 DIR/charlm_states.svg
       mpirun -np 4 build/examples/charlm --json data parallel: each rank a quarter of every
                                                 batch, the optimizer state sharded (ZeRO-1)

   It prints the count-based n-gram baselines of the same split beside the
   model's validation loss, some generated words, the training throughput
   and the share of the time spent in the optimizer step. See docs/charlm.md. */
#include "charlm/data.h"
#include "charlm/model.h"
#include "charlm/ngram.h"
#include "charlm/train.h"
#include "common/cli.h"
#include "common/svg.h"
#include "ravine/ravine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define DEFAULT_WORDS "/usr/share/dict/words"
#define SPLIT_SEED 20251123u

static const char usage[] =
    "usage: charlm [options]\n"
    "Train a character-level MLP language model on a word list with ravine.\n"
    "\n"
    "  --words FILE        word list, one per line (default " DEFAULT_WORDS ")\n"
    "  --optim SPEC        optimizer (default adamw(lr=3e-3, weight_decay=0.1))\n"
    "  --schedule SPEC     lr schedule over updates (default warmup_cosine(peak=<optim lr>,\n"
    "                      warmup_steps=<steps/20>, decay_steps=<steps>))\n"
    "  --steps N           updates (default 15000; 6000 with --compare or --states)\n"
    "  --batch B           examples per update (default 256)\n"
    "  --seed S            initialisation, batches and sampling (default 1)\n"
    "  --clip C            clip the global gradient norm to C; 0 = off (default 1)\n"
    "  --dropout P         drop hidden units with probability P while training (default 0)\n"
    "  --context N         characters of context (default 8)\n"
    "  --embed N           embedding size (default 32; 24 with --compare)\n"
    "  --hidden N          hidden units (default 1024; 512 with --compare)\n"
    "  --eval-every N      evaluate every N updates (default steps/20)\n"
    "  --eval-tokens N     validation tokens for the curve; 0 = all (default 20000)\n"
    "  --samples K         words to generate (default 12)\n"
    "  --temperature T     sampling temperature (default 1)\n"
    "  --threads N         worker threads; 0 = all cores (default 0)\n"
    "  --checkpoint FILE   save parameters, optimizer state and schedule at every\n"
    "                      evaluation and at the end (safetensors, ravine/checkpoint.h)\n"
    "  --resume FILE       continue a saved run up to --steps; give the same model\n"
    "                      options (its optimizer, schedule, seed and batch size come\n"
    "                      from the file; other --seed or --batch values are refused,\n"
    "                      as are --steps past the schedule's end, where the lr is 0)\n"
    "  --json              end the output with one JSON object (stdout)\n"
    "  --quiet             no progress line\n"
    "  --compare           SGD, momentum, Adam and AdamW at their best lr (short sweep),\n"
    "                      with and without warmup; writes the curves to --out\n"
    "  --states            the optimizer with state=fp32, bf16 and int8 (same seed and\n"
    "                      batches); writes charlm_states.svg/.csv to --out\n"
    "  --out DIR           where --compare writes charlm_compare.svg/.csv and --states\n"
    "                      charlm_states.svg/.csv (default .)\n"
    "  --sweep-steps N     updates per lr-sweep run of --compare (default 1500)\n"
    "  --help              this text\n";

/* ---- output -------------------------------------------------------------- */

static void json_curve(FILE *f, const charlm_result *r)
{
    fputs("[", f);
    for (size_t i = 0; i < r->n_curve; i++) {
        const charlm_point *p = &r->curve[i];
        fprintf(f, "%s{\"step\":%ld,\"train_loss\":", i ? "," : "", p->step);
        ex_json_number(f, p->train_loss);
        fputs(",\"val_loss\":", f);
        ex_json_number(f, p->val_loss);
        fputs(",\"lr\":", f);
        ex_json_number(f, p->lr);
        fputs("}", f);
    }
    fputs("]", f);
}

/* ---- the data, shared by every run ---------------------------------------- */

static const char *const baseline_names[] = {"bigram", "trigram", "4gram", "5gram"};
static const char *const baseline_labels[] = {"bigram", "trigram", "4-gram", "5-gram"};
#define N_BASELINES 4

typedef struct dataset {
    charlm_split split;
    charlm_examples train, val, test;
    double baselines[N_BASELINES];   /* orders 2..5, on val */
} dataset;

static void dataset_load(dataset *d, const char *path, int context)
{
    charlm_words all;
    const char *why = "";
    if (charlm_words_load(path, &all, &why))
        ex_die(path, "%s%s", why,
            strcmp(path, DEFAULT_WORDS) == 0 ? " (install wamerican: scripts/setup.sh)" : "");
    if (charlm_split_words(all, SPLIT_SEED, &d->split) ||
        charlm_examples_build(&d->split.train, context, &d->train) ||
        charlm_examples_build(&d->split.val, context, &d->val) ||
        charlm_examples_build(&d->split.test, context, &d->test))
        ex_die("data", "out of memory");
    if (d->split.val.n == 0 || d->split.test.n == 0)
        ex_die(path, "too few words to split 80/10/10 (%zu)", all.n);
    for (int i = 0; i < N_BASELINES; i++)
        d->baselines[i] = charlm_ngram_loss(&d->split.train, &d->split.val, i + 2, 0.1);
}

static void dataset_free(dataset *d)
{
    charlm_examples_free(&d->train);
    charlm_examples_free(&d->val);
    charlm_examples_free(&d->test);
    charlm_split_free(&d->split);
}

/* ---- one training run ------------------------------------------------------ */

typedef struct run_spec {
    charlm_shape shape;
    size_t batch;
    long steps;
    uint64_t seed;
    double clip;
    double dropout;
    long eval_every;
    size_t eval_tokens;
    const char *optim;          /* spec */
    const char *schedule;       /* spec, or NULL for the default warmup+cosine */
    int warmup;                 /* for the default schedule: 1 = steps/20 warmup, 0 = none */
    int threads;                /* the optimizer's worker threads; 0 = its default */
    int progress;
    const char *label;
    const char *checkpoint;     /* save path, or NULL */
    charlm_parallel *parallel;  /* data parallel under mpirun, or NULL */
} run_spec;

typedef struct run_out {
    charlm_result result;
    char *optim, *schedule;     /* canonical specs, whole */
} run_out;

static void run_out_free(run_out *o)
{
    charlm_result_free(&o->result);
    free(o->optim);
    free(o->schedule);
    o->optim = o->schedule = NULL;
}

/* Steps past the schedule's end would train at lr 0 and change nothing:
   say so instead (a resumed run with a larger --steps keeps the file's
   schedule, which ends where the first run was meant to end). */
static void check_schedule_covers(const rv_schedule *sched, long from, long steps)
{
    if (steps <= from || rv_schedule_lr(sched, steps - 1) != 0)
        return;
    long t0 = steps - 1;
    while (t0 > from && rv_schedule_lr(sched, t0 - 1) == 0)
        t0--;
    ex_die("--steps", "the schedule %s gives lr 0 from step %ld on, so steps %ld to %ld would "
                   "change nothing; use --steps %ld, or a --schedule that goes on",
        rv_schedule_text(sched), t0, t0, steps - 1, t0);
}

/* The default schedule: warmup_cosine from the optimizer's own lr. */
static void default_schedule(rv_optim *opt, long steps, int warmup, char *buf, size_t size)
{
    rv_hparams h;
    rv_optim_group_hparams(opt, 0, &h);
    long w = warmup ? (steps / 20 > 0 ? steps / 20 : 1) : 0;
    snprintf(buf, size, "warmup_cosine(peak=%.9g, warmup_steps=%ld, decay_steps=%ld)", h.lr, w,
             steps > w ? steps : w + 1);
}

static void run_train(const dataset *d, const run_spec *rs, charlm_model *m, rv_optim *opt,
                      run_out *out)
{
    char default_text[256];   /* three numbers: always fits */
    if (!rs->schedule)
        default_schedule(opt, rs->steps, rs->warmup, default_text, sizeof default_text);
    rv_schedule *sched;
    rv_status s = rv_schedule_parse(rs->schedule ? rs->schedule : default_text, &sched);
    if (s)
        ex_die_status("--schedule", s);
    check_schedule_covers(sched, rv_optim_step_count(opt), rs->steps);
    rv_hparams h;
    rv_optim_group_hparams(opt, 0, &h);
    size_t need = rv_hparams_format(rv_optim_get_type(opt), &h, NULL, 0);
    out->optim = malloc(need + 1);
    out->schedule = strdup(rv_schedule_text(sched));
    if (!out->optim || !out->schedule)
        ex_die("run", "out of memory");
    rv_hparams_format(rv_optim_get_type(opt), &h, out->optim, need + 1);

    charlm_config cfg = {.steps = rs->steps,
                         .seed = rs->seed,
                         .clip = rs->clip,
                         .dropout = rs->dropout,
                         .eval_every = rs->eval_every,
                         .eval_tokens = rs->eval_tokens,
                         .progress = rs->progress,
                         .label = rs->label,
                         .checkpoint = rs->checkpoint,
                         .schedule = out->schedule,
                         .parallel = rs->parallel};
    if ((s = charlm_train(m, opt, sched, &d->train, &d->val, &cfg, &out->result)))
        ex_die_status("training", s);
    rv_schedule_free(sched);
}

/* A fresh model for rs in m, and its optimizer. */
static rv_optim *model_and_optim(const run_spec *rs, charlm_model *m)
{
    if (charlm_model_init(m, rs->shape, rs->batch, rs->seed))
        ex_die("model", "out of memory");
    rv_optim *opt;
    rv_status s = charlm_optim_create(m, rs->optim, &opt);
    if (s)
        ex_die_status("--optim", s);
    if (rs->threads > 0 && (s = rv_optim_set_threads(opt, rs->threads)))
        ex_die_status("--threads", s);
    return opt;
}

/* A fresh model and optimizer for rs, trained; the model is returned in m. */
static void run_fresh(const dataset *d, const run_spec *rs, charlm_model *m, run_out *out)
{
    rv_optim *opt = model_and_optim(rs, m);
    run_train(d, rs, m, opt, out);
    rv_optim_free(opt);
}

/* The runs' curves as CSV: key (the column naming a run), optim, schedule,
   then one row per point. */
static void write_curves_csv(const char *path, const char *key, const char *const *names,
                             const run_out *outs, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        ex_die(path, "cannot write: %s", strerror(errno));
    fprintf(f, "%s,optim,schedule,step,train_loss,val_loss,lr\n", key);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < outs[i].result.n_curve; k++) {
            const charlm_point *p = &outs[i].result.curve[k];
            fprintf(f, "\"%s\",\"%s\",\"%s\",%ld,%.9g,%.9g,%.9g\n", names[i], outs[i].optim,
                    outs[i].schedule, p->step, p->train_loss, p->val_loss, p->lr);
        }
    if (fclose(f))
        ex_die(path, "cannot write: %s", strerror(errno));
}

/* ---- --compare --------------------------------------------------------------- */

typedef struct contender {
    const char *name;
    const char *spec;            /* printf format taking the lr */
    double lrs[4];               /* the sweep */
} contender;

static const contender contenders[] = {
    {"SGD", "sgd(lr=%.9g)", {0.1, 0.3, 1.0, 3.0}},
    {"momentum", "sgd(lr=%.9g, momentum=0.9)", {0.01, 0.03, 0.1, 0.3}},
    {"Adam", "adam(lr=%.9g)", {1e-3, 3e-3, 1e-2, 3e-2}},
    {"AdamW", "adamw(lr=%.9g, weight_decay=0.1)", {1e-3, 3e-3, 1e-2, 3e-2}},
};
#define N_CONTENDERS (sizeof contenders / sizeof contenders[0])

static int run_compare(const dataset *d, run_spec base, long sweep_steps, const char *dir,
                       int json)
{
    ex_ensure_dir(dir);
    char path[4096];
    double t0 = ex_now();
    FILE *log = json ? stderr : stdout;

    /* 1. lr sweep: short runs, the best final validation loss wins */
    double best_lr[N_CONTENDERS], sweep_loss[N_CONTENDERS][4];
    for (size_t c = 0; c < N_CONTENDERS; c++) {
        double best = INFINITY;
        best_lr[c] = contenders[c].lrs[0];
        for (int k = 0; k < 4; k++) {
            char spec[128], label[160];
            snprintf(spec, sizeof spec, contenders[c].spec, contenders[c].lrs[k]);
            snprintf(label, sizeof label, "sweep %s lr=%g", contenders[c].name, contenders[c].lrs[k]);
            run_spec rs = base;
            rs.steps = sweep_steps;
            rs.eval_every = sweep_steps;
            rs.optim = spec;
            rs.label = label;
            charlm_model m;
            run_out out;
            run_fresh(d, &rs, &m, &out);
            double v = out.result.curve[out.result.n_curve - 1].val_loss;
            sweep_loss[c][k] = out.result.diverged ? NAN : v;
            if (!out.result.diverged && v < best)
                best = v, best_lr[c] = contenders[c].lrs[k];
            run_out_free(&out);
            charlm_model_free(&m);
        }
        fprintf(log, "sweep %-8s best lr %g\n", contenders[c].name, best_lr[c]);
    }

    /* 2. full runs at the tuned lr, with and without warmup */
    enum { RUNS = 2 * N_CONTENDERS };
    run_out outs[RUNS];
    char labels[RUNS][64];
    for (size_t c = 0; c < N_CONTENDERS; c++)
        for (int w = 0; w < 2; w++) {
            size_t i = 2 * c + (size_t)w;
            char spec[128];
            snprintf(spec, sizeof spec, contenders[c].spec, best_lr[c]);
            snprintf(labels[i], sizeof labels[i], "%s lr=%g%s", contenders[c].name, best_lr[c],
                     w ? "" : " +warmup");
            run_spec rs = base;
            rs.optim = spec;
            rs.schedule = NULL;
            rs.warmup = !w;
            rs.label = labels[i];
            charlm_model m;
            run_fresh(d, &rs, &m, &outs[i]);
            charlm_model_free(&m);
        }

    /* 3. chart and CSV */
    double xs[RUNS][512], ys[RUNS][512];
    ex_series series[RUNS];
    for (size_t i = 0; i < RUNS; i++) {
        const charlm_result *r = &outs[i].result;
        size_t n = r->n_curve < 512 ? r->n_curve : 512;
        for (size_t k = 0; k < n; k++)
            xs[i][k] = (double)r->curve[k].step, ys[i][k] = r->curve[k].val_loss;
        series[i] = (ex_series){labels[i], xs[i], ys[i], n, (int)(i % 2), (int)(i / 2)};
    }
    ex_hline lines[N_BASELINES];
    for (int b = 0; b < N_BASELINES; b++)
        lines[b] = (ex_hline){baseline_labels[b], d->baselines[b]};
    char title[256];
    snprintf(title, sizeof title,
             "charlm: validation loss, MLP %dx%d-%d, batch %zu (solid: warmup+cosine, dashed: "
             "cosine only)",
             base.shape.context, base.shape.embed, base.shape.hidden, base.batch);
    snprintf(path, sizeof path, "%s/charlm_compare.svg", dir);
    /* n-gram lines far above the curves are left out of the chart */
    if (ex_svg_chart(path, title, "update step", "validation loss (nats/char)", series, RUNS,
                         lines + 2, N_BASELINES - 2))
        ex_die(path, "cannot write: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/charlm_compare.csv", dir);
    const char *names[RUNS];
    for (size_t i = 0; i < RUNS; i++)
        names[i] = labels[i];
    write_curves_csv(path, "run", names, outs, RUNS);

    double seconds = ex_now() - t0;
    if (json) {
        printf("{\"compare\":[");
        for (size_t i = 0; i < RUNS; i++) {
            printf("%s{\"run\":", i ? "," : "");
            ex_json_string(stdout, labels[i]);
            printf(",\"optim\":");
            ex_json_string(stdout, outs[i].optim);
            printf(",\"schedule\":");
            ex_json_string(stdout, outs[i].schedule);
            printf(",\"val_loss\":");
            ex_json_number(stdout, outs[i].result.val_loss);
            printf(",\"tokens_per_s\":");
            ex_json_number(stdout, outs[i].result.tokens / outs[i].result.seconds);
            printf(",\"curve\":");
            json_curve(stdout, &outs[i].result);
            printf("}");
        }
        printf("],\"sweep\":[");
        for (size_t c = 0; c < N_CONTENDERS; c++)
            for (int k = 0; k < 4; k++) {
                printf("%s{\"optim\":\"%s\",\"lr\":%.9g,\"val_loss\":", c + (size_t)k ? "," : "",
                       contenders[c].name, contenders[c].lrs[k]);
                ex_json_number(stdout, sweep_loss[c][k]);
                printf("}");
            }
        printf("],\"baselines\":{");
        for (int b = 0; b < N_BASELINES; b++)
            printf("%s\"%s\":%.9g", b ? "," : "", baseline_names[b], d->baselines[b]);
        printf("},\"sweep_steps\":%ld,\"steps\":%ld,\"seconds\":%.9g,\"svg\":", sweep_steps,
               base.steps, seconds);
        snprintf(path, sizeof path, "%s/charlm_compare.svg", dir);
        ex_json_string(stdout, path);
        printf("}\n");
    } else {
        printf("\n%-28s %10s\n", "run", "val loss");
        for (size_t i = 0; i < RUNS; i++)
            printf("%-28s %10.4f\n", labels[i], outs[i].result.val_loss);
        for (int b = 0; b < N_BASELINES; b++)
            printf("%-28s %10.4f\n", baseline_names[b], d->baselines[b]);
        printf("wrote %s/charlm_compare.svg and %s/charlm_compare.csv in %.0f s\n", dir, dir,
               seconds);
    }
    for (size_t i = 0; i < RUNS; i++)
        run_out_free(&outs[i]);
    return 0;
}

/* ---- --states ------------------------------------------------------------------ */

/* The optimizer state precisions --states compares, fp32 (the reference) first. */
static const char *const state_names[] = {"fp32", "bf16", "int8"};
#define N_STATES (sizeof state_names / sizeof state_names[0])

/* spec with its state= key set to state (replacing one the spec gives), as
   canonical text in buf: an optimizer without the key is refused. */
static void spec_with_state(const char *spec, const char *state, char *buf, size_t size)
{
    const rv_optim_type *type;
    rv_hparams h;
    char key[32];
    snprintf(key, sizeof key, "state=%s", state);
    rv_status s = rv_hparams_parse(spec, &type, &h);
    if (s)
        ex_die_status("--optim", s);
    if ((s = rv_hparams_override(type, &h, key)))
        ex_die_status("--states", s);
    if (rv_hparams_format(type, &h, buf, size) >= size)
        ex_die("--optim", "spec too long: %s", spec);
}

/* The same optimizer, seed, batches and schedule with float32, bfloat16 and
   8-bit optimizer state: the validation curves, and the final losses against
   fp32's. */
static int run_states(const dataset *d, run_spec base, const char *dir, int json)
{
    ex_ensure_dir(dir);
    double t0 = ex_now();
    FILE *log = json ? stderr : stdout;
    run_out outs[N_STATES];
    double bytes_per_param[N_STATES];
    size_t state_bytes[N_STATES], params = 0;
    char specs[N_STATES][512], labels[N_STATES][64];
    for (size_t i = 0; i < N_STATES; i++) {
        spec_with_state(base.optim, state_names[i], specs[i], sizeof specs[i]);
        snprintf(labels[i], sizeof labels[i], "state=%s", state_names[i]);
        run_spec rs = base;
        rs.optim = specs[i];
        rs.label = labels[i];
        charlm_model m;
        rv_optim *opt = model_and_optim(&rs, &m);
        run_train(d, &rs, &m, opt, &outs[i]);
        state_bytes[i] = charlm_parallel_state_bytes(NULL, opt);
        params = m.n_params;
        bytes_per_param[i] = (double)state_bytes[i] / (double)params;
        rv_optim_free(opt);
        charlm_model_free(&m);
        fprintf(log, "%-10s val loss %.9g\n", labels[i], outs[i].result.val_loss);
    }
    double delta[N_STATES], worst = 0;
    for (size_t i = 0; i < N_STATES; i++) {
        delta[i] = fabs(outs[i].result.val_loss - outs[0].result.val_loss);
        worst = delta[i] > worst || isnan(delta[i]) ? delta[i] : worst;
    }

    /* chart: the curves, and each one's difference from fp32 below */
    enum { MAXP = 512 };
    static double xs[N_STATES][MAXP], ys[N_STATES][MAXP], ds[N_STATES][MAXP];
    ex_series curves[N_STATES], diffs[N_STATES];
    char legends[N_STATES][96];
    for (size_t i = 0; i < N_STATES; i++) {
        const charlm_result *r = &outs[i].result, *ref = &outs[0].result;
        size_t n = r->n_curve < MAXP ? r->n_curve : MAXP;
        for (size_t k = 0; k < n; k++) {
            xs[i][k] = (double)r->curve[k].step, ys[i][k] = r->curve[k].val_loss;
            ds[i][k] = k < ref->n_curve && ref->curve[k].step == r->curve[k].step
                           ? r->curve[k].val_loss - ref->curve[k].val_loss
                           : NAN;
        }
        snprintf(legends[i], sizeof legends[i], "%s (%.3g B/param)", labels[i],
                 bytes_per_param[i]);
        curves[i] = (ex_series){legends[i], xs[i], ys[i], n, 0, (int)i};
        diffs[i] = (ex_series){legends[i], xs[i], ds[i], n, 0, (int)i};
    }
    ex_hline refs[] = {{"5-gram", d->baselines[3]}};
    ex_hline band[] = {{"tolerance", 0.02}, {"tolerance", -0.02}};
    ex_panel panels[] = {
        {"update step", "validation loss (nats/char)", curves, N_STATES, refs, 1},
        {"update step", "minus state=fp32 (nats/char)", diffs, N_STATES, band, 2},
    };
    char title[256], path[4096];
    snprintf(title, sizeof title, "charlm: optimizer state precision, MLP %dx%d-%d, %s",
             base.shape.context, base.shape.embed, base.shape.hidden, outs[0].optim);
    if (strlen(title) > 110)   /* the canonical spec is long: keep the title to the name */
        snprintf(title, sizeof title, "charlm: optimizer state precision, MLP %dx%d-%d, %.*s",
                 base.shape.context, base.shape.embed, base.shape.hidden,
                 (int)strcspn(outs[0].optim, "("), outs[0].optim);
    snprintf(path, sizeof path, "%s/charlm_states.svg", dir);
    if (ex_svg_charts(path, title, panels, 2))
        ex_die(path, "cannot write: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/charlm_states.csv", dir);
    write_curves_csv(path, "state", state_names, outs, N_STATES);

    double seconds = ex_now() - t0;
    if (json) {
        printf("{\"states\":[");
        for (size_t i = 0; i < N_STATES; i++) {
            const charlm_result *r = &outs[i].result;
            printf("%s{\"state\":\"%s\",\"optim\":", i ? "," : "", state_names[i]);
            ex_json_string(stdout, outs[i].optim);
            printf(",\"val_loss\":");
            ex_json_number(stdout, r->val_loss);
            printf(",\"abs_delta_vs_fp32\":");
            ex_json_number(stdout, delta[i]);
            printf(",\"state_bytes\":%zu,\"bytes_per_param\":", state_bytes[i]);
            ex_json_number(stdout, bytes_per_param[i]);
            printf(",\"tokens_per_s\":");
            ex_json_number(stdout, r->seconds > 0 ? r->tokens / r->seconds : 0);
            printf(",\"optimizer_time_share\":");
            ex_json_number(stdout, r->seconds > 0 ? r->optim_seconds / r->seconds : 0);
            printf(",\"diverged\":%s,\"curve\":", r->diverged ? "true" : "false");
            json_curve(stdout, r);
            printf("}");
        }
        printf("],\"max_abs_delta\":");
        ex_json_number(stdout, worst);
        printf(",\"schedule\":");
        ex_json_string(stdout, outs[0].schedule);
        printf(",\"params\":%zu,\"steps\":%ld,\"batch\":%zu,\"seed\":%llu,"
               "\"model\":{\"context\":%d,\"embed\":%d,\"hidden\":%d},\"seconds\":",
               params, base.steps, base.batch, (unsigned long long)base.seed, base.shape.context,
               base.shape.embed, base.shape.hidden);
        ex_json_number(stdout, seconds);
        printf(",\"svg\":");
        snprintf(path, sizeof path, "%s/charlm_states.svg", dir);
        ex_json_string(stdout, path);
        printf(",\"csv\":");
        snprintf(path, sizeof path, "%s/charlm_states.csv", dir);
        ex_json_string(stdout, path);
        printf("}\n");
    } else {
        printf("\nMLP %dx%d-%d (%zu parameters), %ld updates of %zu, %s\n", base.shape.context,
               base.shape.embed, base.shape.hidden, params, base.steps, base.batch,
               outs[0].schedule);
        printf("%-6s %-14s %-16s %s\n", "state", "val loss", "|val - fp32 val|",
               "state bytes/param");
        for (size_t i = 0; i < N_STATES; i++)
            printf("%-6s %-14.9g %-16.9g %.9g\n", state_names[i], outs[i].result.val_loss,
                   delta[i], bytes_per_param[i]);
        printf("wrote %s/charlm_states.svg and %s/charlm_states.csv in %.0f s\n", dir, dir,
               seconds);
    }
    for (size_t i = 0; i < N_STATES; i++)
        run_out_free(&outs[i]);
    return 0;
}

/* ---- main ------------------------------------------------------------------ */

/* Free a finished run (and finish MPI when it ran under mpirun); returns 0. */
static int release(run_out *out, rv_optim *opt, charlm_model *m, dataset *d, charlm_parallel *par,
                   rv_checkpoint_info *resume)
{
    run_out_free(out);
    rv_optim_free(opt);
    charlm_model_free(m);
    dataset_free(d);
    rv_checkpoint_info_free(resume);
    charlm_parallel_finish(par);
    if (fflush(stdout) || ferror(stdout))
        ex_die("stdout", "write failed: %s", strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    ex_program = "charlm";
    charlm_parallel par;   /* under mpirun: this rank and the sharded optimizer */
    charlm_parallel_start(&par);
    ex_option opts[] = {
        {"words", 1, NULL},      {"optim", 1, NULL},       {"schedule", 1, NULL},
        {"steps", 1, NULL},      {"batch", 1, NULL},       {"seed", 1, NULL},
        {"clip", 1, NULL},       {"context", 1, NULL},     {"embed", 1, NULL},
        {"hidden", 1, NULL},     {"eval-every", 1, NULL},  {"eval-tokens", 1, NULL},
        {"samples", 1, NULL},    {"temperature", 1, NULL}, {"threads", 1, NULL},
        {"checkpoint", 1, NULL}, {"resume", 1, NULL},      {"json", 0, NULL},
        {"quiet", 0, NULL},      {"compare", 0, NULL},     {"out", 1, NULL},
        {"sweep-steps", 1, NULL}, {"dropout", 1, NULL},    {"states", 0, NULL},
    };
    enum { WORDS, OPTIM, SCHEDULE, STEPS, BATCH, SEED, CLIP, CONTEXT, EMBED, HIDDEN, EVAL_EVERY,
           EVAL_TOKENS, SAMPLES, TEMPERATURE, THREADS, CHECKPOINT, RESUME, JSON, QUIET, COMPARE,
           OUT, SWEEP_STEPS, DROPOUT, STATES };
    ex_parse_options(argc, argv, opts, sizeof opts / sizeof opts[0], usage);
#define OPT(i, def) (opts[i].value ? opts[i].value : (def))

    run_spec rs = {0};
    rs.shape.context = (int)ex_parse_long("--context", OPT(CONTEXT, "8"), 1, 32);
    int compare = opts[COMPARE].value != NULL;   /* many runs: a smaller default model */
    int states = opts[STATES].value != NULL;     /* three runs: fewer default steps */
    if (compare && states)
        ex_die("--states", "cannot be combined with --compare");
    rs.shape.embed = (int)ex_parse_long("--embed", OPT(EMBED, compare ? "24" : "32"), 1, 1024);
    rs.shape.hidden = (int)ex_parse_long("--hidden", OPT(HIDDEN, compare ? "512" : "1024"), 1, 8192);
    rs.batch = (size_t)ex_parse_long("--batch", OPT(BATCH, "256"), 1, 1 << 16);
    rs.steps =
        ex_parse_long("--steps", OPT(STEPS, compare || states ? "6000" : "15000"), 0, 100000000);
    rs.seed = (uint64_t)ex_parse_long("--seed", OPT(SEED, "1"), 0, 0x7fffffffffffffffL);
    rs.clip = ex_parse_double("--clip", OPT(CLIP, "1"), 0);
    rs.dropout = ex_parse_double("--dropout", OPT(DROPOUT, "0"), 0);
    if (rs.dropout >= 1)
        ex_die("--dropout", "must be < 1, got %s", opts[DROPOUT].value);
    long every = rs.steps / 20 > 0 ? rs.steps / 20 : 1;
    char every_text[32];
    snprintf(every_text, sizeof every_text, "%ld", every);
    rs.eval_every = ex_parse_long("--eval-every", OPT(EVAL_EVERY, every_text), 1, 100000000);
    rs.eval_tokens = (size_t)ex_parse_long("--eval-tokens", OPT(EVAL_TOKENS, "20000"), 0, 1L << 40);
    rs.optim = OPT(OPTIM, "adamw(lr=3e-3, weight_decay=0.1)");
    rs.schedule = opts[SCHEDULE].value;
    rs.warmup = 1;
    int json = opts[JSON].value != NULL;
    rs.progress = !opts[QUIET].value && isatty(2);
    long n_samples = ex_parse_long("--samples", OPT(SAMPLES, "12"), 0, 100000);
    double temperature = ex_parse_double("--temperature", OPT(TEMPERATURE, "1"), 0);
    if (temperature <= 0)
        ex_die("--temperature", "must be > 0, got %s", opts[TEMPERATURE].value);
    long threads = ex_parse_long("--threads", OPT(THREADS, "0"), 0, 1024);
#ifdef _OPENMP
    if (threads > 0)
        omp_set_num_threads((int)threads);
#endif
    rs.threads = (int)threads;
    if (compare && (opts[CHECKPOINT].value || opts[RESUME].value))
        ex_die("--compare", "cannot be combined with --checkpoint or --resume");
    if (compare && par.ranks > 1)
        ex_die("--compare", "runs in one process; start it without mpirun");
    if (states && (opts[CHECKPOINT].value || opts[RESUME].value))
        ex_die("--states", "cannot be combined with --checkpoint or --resume");
    if (states && par.ranks > 1)
        ex_die("--states", "runs in one process; start it without mpirun");

    /* a resumed run continues with the file's optimizer, schedule, seed and
       batch size: batches depend on (seed, step) and the batch size, so
       other ones would not continue the same run */
    rv_checkpoint_info resume = {0};
    if (opts[RESUME].value) {
        const char *file = opts[RESUME].value;
        rv_status s = rv_checkpoint_inspect(file, &resume);
        if (s)
            ex_die_status("--resume", s);
        if (!opts[OPTIM].value)
            rs.optim = resume.optimizer;
        if (!opts[SCHEDULE].value && resume.schedule[0])
            rs.schedule = resume.schedule;
        if (resume.step > rs.steps)
            ex_die("--resume", "%s is at step %ld, past --steps %ld", file, resume.step, rs.steps);
        const char *seed = rv_checkpoint_extra_value(&resume, CHARLM_EXTRA_SEED);
        const char *batch = rv_checkpoint_extra_value(&resume, CHARLM_EXTRA_BATCH);
        if (seed) {
            uint64_t saved = (uint64_t)ex_parse_long("--resume", seed, 0, 0x7fffffffffffffffL);
            if (opts[SEED].value && saved != rs.seed)
                ex_die("--seed", "%llu differs from the seed %llu of %s: the resumed run would draw "
                              "other batches than the run it continues (leave --seed out)",
                    (unsigned long long)rs.seed, (unsigned long long)saved, file);
            rs.seed = saved;
        }
        if (batch) {
            size_t saved = (size_t)ex_parse_long("--resume", batch, 1, 1 << 16);
            if (opts[BATCH].value && saved != rs.batch)
                ex_die("--batch", "%zu differs from the batch size %zu of %s: the resumed run would "
                               "draw other batches than the run it continues (leave --batch out)",
                    rs.batch, saved, file);
            rs.batch = saved;
        }
    }
    rs.checkpoint = opts[CHECKPOINT].value;

    dataset d;
    dataset_load(&d, OPT(WORDS, DEFAULT_WORDS), rs.shape.context);

    if (compare) {
        long sweep = ex_parse_long("--sweep-steps", OPT(SWEEP_STEPS, "1500"), 1, 100000000);
        int rc = run_compare(&d, rs, sweep, OPT(OUT, "."), json);
        dataset_free(&d);
        charlm_parallel_finish(&par);
        return rc;
    }
    if (states) {
        int rc = run_states(&d, rs, OPT(OUT, "."), json);
        dataset_free(&d);
        charlm_parallel_finish(&par);
        return rc;
    }

    charlm_model m;
    rv_optim *opt = model_and_optim(&rs, &m);
    rv_status s;
    if ((s = charlm_parallel_optim(&par, opt, (int)threads, rs.batch)))
        ex_die_status("--optim", s);
    if (opts[RESUME].value && (s = charlm_parallel_load(&par, opt, opts[RESUME].value)))
        ex_die_status("--resume", s);
    rs.label = NULL;
    rs.parallel = &par;
    rs.progress = rs.progress && par.rank == 0;
    run_out out;
    run_train(&d, &rs, &m, opt, &out);
    const charlm_result *r = &out.result;
    charlm_config saved = {.seed = rs.seed, .schedule = out.schedule};
    if (rs.checkpoint && (s = charlm_checkpoint_save(&par, opt, &saved, rs.batch, rs.checkpoint)))
        ex_die_status(rs.checkpoint, s);
    size_t state_bytes = charlm_parallel_state_bytes(&par, opt);
    if (par.rank != 0)   /* the same model on every rank: rank 0 reports */
        return release(&out, opt, &m, &d, &par, &resume);
    double test_loss = charlm_eval(&m, &d.test);
    double tps = r->seconds > 0 ? r->tokens / r->seconds : 0;
    double share = r->seconds > 0 ? r->optim_seconds / r->seconds : 0;
    double train_loss = r->n_curve ? r->curve[r->n_curve - 1].train_loss : NAN;

    /* samples from a stream of their own, so they do not depend on training length */
    ex_rng rng = ex_rng_keyed(rs.seed, 0x5a3d1e5ull);
    char(*samples)[CHARLM_MAX_WORD] = calloc((size_t)n_samples + 1, sizeof *samples);
    if (!samples)
        ex_die("samples", "out of memory");
    for (long i = 0; i < n_samples; i++)
        charlm_sample(&m, &rng, temperature, samples[i], CHARLM_MAX_WORD);

    FILE *h = json ? stderr : stdout;   /* --json keeps stdout for the JSON object */
    if (!json || !opts[QUIET].value) {
        fprintf(h, "data: %zu words (%zu train, %zu val, %zu test), %zu training tokens\n",
                d.split.all.n, d.split.train.n, d.split.val.n, d.split.test.n, d.train.n);
        fprintf(h, "model: context %d, embed %d, hidden %d: %zu parameters\n", rs.shape.context,
                rs.shape.embed, rs.shape.hidden, m.n_params);
        fprintf(h, "optim: %s\nschedule: %s\n", out.optim, out.schedule);
        fprintf(h, "optimizer state: %zu bytes%s\n", state_bytes,
                par.ranks > 1 ? " on each rank (sharded, data parallel)" : "");
        fprintf(h, "\n%-10s %s\n", "model", "val loss (nats/char)");
        for (int b = 0; b < N_BASELINES; b++)
            fprintf(h, "%-10s %.4f\n", baseline_labels[b], d.baselines[b]);
        fprintf(h, "%-10s %.4f   (train %.4f, test %.4f)\n", "MLP", r->val_loss, train_loss,
                test_loss);
        fprintf(h, "\n%ld updates of %zu tokens in %.1f s: %.0f tokens/s, %.1f%% of the time in "
                   "the optimizer step\n",
                r->steps, rs.batch, r->seconds, tps, 100 * share);
        if (r->diverged)
            fprintf(h, "training diverged (non-finite loss) and stopped early\n");
        if (n_samples) {
            fprintf(h, "\nsamples (temperature %g):", temperature);
            for (long i = 0; i < n_samples; i++)
                fprintf(h, " %s", samples[i]);
            fputc('\n', h);
        }
    }
    if (json) {
        printf("{\"val_loss\":");
        ex_json_number(stdout, r->val_loss);
        printf(",\"test_loss\":");
        ex_json_number(stdout, test_loss);
        printf(",\"train_loss\":");
        ex_json_number(stdout, train_loss);
        printf(",\"baselines\":{");
        for (int b = 0; b < N_BASELINES; b++) {
            printf("%s\"%s\":", b ? "," : "", baseline_names[b]);
            ex_json_number(stdout, d.baselines[b]);
        }
        printf("},\"samples\":[");
        for (long i = 0; i < n_samples; i++) {
            if (i)
                putchar(',');
            ex_json_string(stdout, samples[i]);
        }
        printf("],\"curve\":");
        json_curve(stdout, r);
        printf(",\"tokens_per_s\":");
        ex_json_number(stdout, tps);
        printf(",\"optimizer_time_share\":");
        ex_json_number(stdout, share);
        printf(",\"train_seconds\":");
        ex_json_number(stdout, r->seconds);
        printf(",\"steps\":%ld,\"steps_run\":%ld,\"batch\":%zu,\"seed\":%llu,\"clip\":", rs.steps,
               r->steps, rs.batch, (unsigned long long)rs.seed);
        ex_json_number(stdout, rs.clip);
        printf(",\"dropout\":");
        ex_json_number(stdout, rs.dropout);
        printf(",\"diverged\":%s,\"params\":%zu,\"ranks\":%d,\"optimizer_state_bytes_per_rank\":%zu,"
               "\"model\":{\"context\":%d,\"embed\":%d,\"hidden\":%d},\"optim\":",
               r->diverged ? "true" : "false", m.n_params, par.ranks, state_bytes,
               rs.shape.context, rs.shape.embed, rs.shape.hidden);
        ex_json_string(stdout, out.optim);
        printf(",\"schedule\":");
        ex_json_string(stdout, out.schedule);
        printf(",\"data\":{\"words\":%zu,\"train_words\":%zu,\"val_words\":%zu,\"test_words\":%zu,"
               "\"train_tokens\":%zu,\"val_tokens\":%zu,\"test_tokens\":%zu}}\n",
               d.split.all.n, d.split.train.n, d.split.val.n, d.split.test.n, d.train.n, d.val.n,
               d.test.n);
    }
    free(samples);
    return release(&out, opt, &m, &d, &par, &resume);
}
