/* gpt — a small GPT trained with ravine on the fortunes corpus.

   A pre-LayerNorm transformer decoder (token and position embeddings,
   causal multi-head self-attention, GELU MLP, output tied to the token
   embedding) learns to write fortunes character by character. The model,
   its hand-written forward and backward passes and the data pipeline are
   the example's own (the headers in examples/gpt, one translation unit); the
   optimizers, param groups, schedules, clipping and checkpoints are
   ravine's, reached through the public API only.

       build/examples/gpt                      train with the defaults, print a summary
       build/examples/gpt --json               ... and end with one JSON object
       build/examples/gpt --race 'adamw(lr=8e-3, betas=(0.9,0.95), weight_decay=0.1); muon(lr=0.02)' --json
                                               time to a target loss, each optimizer tuned
                                               on the same lr grid: DIR/gpt_race.svg

   See docs/gpt.md. */
#include "common/cli.h"
#include "common/svg.h"
#include "gpt/data.h"
#include "gpt/model.h"
#include "gpt/ngram.h"
#include "gpt/train.h"
#include "ravine/ravine.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define DEFAULT_DATA "/usr/share/games/fortunes"
#define SPLIT_SEED 20251201u
#define DEFAULT_OPTIM "adamw(lr=4e-3, betas=(0.9, 0.95), weight_decay=0.1)"
#define DEFAULT_STEPS "4000"
#define DEFAULT_RACE "adamw(lr=8e-3, betas=(0.9, 0.95), weight_decay=0.1); muon(lr=0.02)"
#define DEFAULT_RACE_STEPS "1000"

static const char usage[] =
    "usage: gpt [options]\n"
    "Train a small GPT (pre-LayerNorm transformer decoder) on the fortunes corpus,\n"
    "character by character, with ravine's optimizers.\n"
    "\n"
    "  --data DIR          the fortunes folder: its files without an extension\n"
    "                      (default " DEFAULT_DATA ")\n"
    "  --optim SPEC        optimizer (default " DEFAULT_OPTIM ");\n"
    "                      muon(...) updates the hidden weight matrices and --rest-optim the rest\n"
    "  --rest-optim SPEC   the optimizer of what muon(...) leaves (default the default --optim)\n"
    "  --schedule SPEC     lr schedule over updates (default warmup_cosine(peak=<optim lr>,\n"
    "                      warmup_steps=<steps/20>, decay_steps=<steps>))\n"
    "  --steps N           updates (default " DEFAULT_STEPS ")\n"
    "  --batch B           sequences per update (default 32)\n"
    "  --context T         characters per sequence (default 64)\n"
    "  --layers L          transformer blocks (default 4)\n"
    "  --heads H           attention heads (default 4)\n"
    "  --channels C        width of the residual stream (default 128)\n"
    "  --seed S            initialisation, batches and sampling (default 1)\n"
    "  --clip C            clip the global gradient norm to C; 0 = off (default 1)\n"
    "  --eval-every N      evaluate every N updates (default steps/20; 50 in a race)\n"
    "  --eval-tokens N     validation tokens for the curve; 0 = all (default 16384)\n"
    "  --samples K         fortunes to generate (default 4)\n"
    "  --sample-length N   longest sample in characters (default 400)\n"
    "  --temperature T     sampling temperature (default 0.8)\n"
    "  --threads N         worker threads; 0 = all cores (default 0)\n"
    "  --checkpoint FILE   save parameters, optimizer state and schedule at every\n"
    "                      evaluation and at the end (safetensors, ravine/checkpoint.h;\n"
    "                      under muon(...) a second file FILE's stem + .matrix)\n"
    "  --resume FILE       continue a saved run up to --steps; give the same model\n"
    "                      options (its optimizers, schedules, seed, batch size and\n"
    "                      heads come from the files; other values are refused)\n"
    "  --json              end the output with one JSON object (stdout)\n"
    "  --quiet             no progress line\n"
    "  --race [SPECS]      time to a target: each ';'-separated optimizer spec runs\n"
    "                      --race-steps updates at each lr of --grid, on the same batches;\n"
    "                      the target is the first (the baseline) one's best final\n"
    "                      validation loss (default '" DEFAULT_RACE "')\n"
    "  --target L          the race's target loss instead\n"
    "  --race-steps N      updates per race run (default " DEFAULT_RACE_STEPS ")\n"
    "  --grid F,F,...      lr multipliers tried for each optimizer (default 0.5,1,2)\n"
    "  --out DIR           where --race writes gpt_race.svg and gpt_race.csv (default .)\n"
    "  --help              this text\n";

/* ---- the data, shared by every run ------------------------------------------ */

#define N_BASELINES 5   /* orders 2..6 */
static const char *const baseline_names[N_BASELINES] = {"bigram", "trigram", "4gram", "5gram",
                                                        "6gram"};

typedef struct dataset {
    gpt_corpus corpus;
    gpt_ngram_result baselines[N_BASELINES];   /* on the validation windows */
    size_t val_tokens;                         /* predicted positions of the final val_loss */
} dataset;

static void dataset_load(dataset *d, const char *dir, int context)
{
    gpt_docs docs;
    const char *why = NULL;
    char path[4096];
    if (gpt_docs_load_dir(dir, &docs, &why, path, sizeof path))
        ex_die(path, "%s%s", why,
               strcmp(dir, DEFAULT_DATA) == 0 ? " (install fortunes: scripts/setup.sh)" : "");
    if (gpt_corpus_build(&docs, SPLIT_SEED, &d->corpus))
        ex_die("data", "out of memory");
    gpt_docs_free(&docs);
    const gpt_corpus *c = &d->corpus;
    if (c->val.n < (size_t)context + 1 || c->test.n < (size_t)context + 1 ||
        c->train.n < (size_t)context + 2)
        ex_die(dir, "too little text for --context %d (%zu fortunes)", context, c->fortunes);
    /* the model predicts positions 1 .. W*T of the validation stream */
    d->val_tokens = (c->val.n - 1) / (size_t)context * (size_t)context;
    for (int i = 0; i < N_BASELINES; i++)
        if (gpt_ngram_loss(&c->train, &c->val, i + 2, 1, d->val_tokens, &d->baselines[i]))
            ex_die("baselines", "out of memory");
}

static double best_baseline(const dataset *d, int *which)
{
    int best = 0;
    for (int i = 1; i < N_BASELINES; i++)
        if (d->baselines[i].loss < d->baselines[best].loss)
            best = i;
    if (which)
        *which = best;
    return d->baselines[best].loss;
}

static void json_baselines(const dataset *d)
{
    printf("{");
    for (int b = 0; b < N_BASELINES; b++) {
        printf("%s\"%s\":", b ? "," : "", baseline_names[b]);
        ex_json_number(stdout, d->baselines[b].loss);
    }
    printf("}");
}

/* ---- one run ------------------------------------------------------------------ */

typedef struct run_spec {
    gpt_config cfg;
    int batch;
    long steps;
    uint64_t seed;
    double clip;
    long eval_every;
    size_t eval_windows;
    const char *optim, *rest, *schedule;
    int threads;
    int progress;
    int final_eval;
    const char *label;
    const char *checkpoint;
    const rv_checkpoint_extra *extra;   /* saved with the checkpoints */
    size_t n_extra;
} run_spec;

static void model_create(const run_spec *rs, gpt_model *m)
{
    int r = gpt_model_init(m, rs->cfg, rs->batch, rs->seed);
    if (r == -2)
        ex_die("model", "--channels %d must be a multiple of --heads %d", rs->cfg.channels,
               rs->cfg.heads);
    if (r)
        ex_die("model", "out of memory");
}

static void optims_create(gpt_model *m, const run_spec *rs, gpt_optims *o)
{
    gpt_culprit culprit;
    rv_status s = gpt_optims_create(m, rs->optim, rs->rest, rs->steps, rs->schedule, o, &culprit);
    if (s)
        ex_die_status(culprit == GPT_BY_REST       ? "--rest-optim"
                      : culprit == GPT_BY_SCHEDULE ? "--schedule"
                                                   : "--optim",
                      s);
    if (rs->threads > 0 && ((s = rv_optim_set_threads(o->main, rs->threads)) ||
                            (o->matrix && (s = rv_optim_set_threads(o->matrix, rs->threads)))))
        ex_die_status("--threads", s);
}

static void run_train(const dataset *d, const run_spec *rs, gpt_model *m, gpt_optims *o,
                      gpt_result *res)
{
    gpt_train_config tc = {.steps = rs->steps,
                           .seed = rs->seed,
                           .clip = rs->clip,
                           .eval_every = rs->eval_every,
                           .eval_windows = rs->eval_windows,
                           .final_eval = rs->final_eval,
                           .progress = rs->progress,
                           .label = rs->label,
                           .checkpoint = rs->checkpoint,
                           .extra = rs->extra,
                           .n_extra = rs->n_extra};
    rv_status s = gpt_train(m, o, &d->corpus.train, &d->corpus.val, &tc, res);
    if (s)
        ex_die_status(rs->checkpoint && s >= RV_ERR_IO ? rs->checkpoint : "training", s);
}

/* ---- samples ------------------------------------------------------------------- */

/* K fortunes, each continuing "%\n" (the end of the previous one), as
   text without the primer and the closing "%\n". */
static char **make_samples(gpt_model *m, long k, long length, double temperature, uint64_t seed)
{
    char **out = calloc((size_t)k + 1, sizeof *out);
    uint8_t *buf = malloc((size_t)length + 3);
    if (!out || !buf)
        ex_die("samples", "out of memory");
    ex_rng r = ex_rng_keyed(seed, 0x5a3d1e5ull);   /* a stream of its own */
    for (long i = 0; i < k; i++) {
        buf[0] = (uint8_t)gpt_token_of('%');
        buf[1] = (uint8_t)gpt_token_of('\n');
        size_t n = gpt_generate(m, buf, 2, (size_t)length, temperature, &r);
        if (n >= 5 && buf[n - 1] == gpt_token_of('\n') && buf[n - 2] == gpt_token_of('%'))
            n -= 2;
        out[i] = malloc(n - 2 + 1);
        if (!out[i])
            ex_die("samples", "out of memory");
        for (size_t j = 2; j < n; j++)
            out[i][j - 2] = gpt_char_of(buf[j]);
        out[i][n - 2] = '\0';
    }
    free(buf);
    return out;
}

/* ---- the race ------------------------------------------------------------------------ */

#define MAX_RACERS 12
#define MAX_GRID 8

typedef struct race_run {
    double lr;
    char optim[GPT_SPEC_MAX];   /* canonical spec of the run (the matrix optimizer's for muon) */
    gpt_result res;
    long steps_to_target;       /* -1: not reached */
    double seconds_to_target;
    double final_val;           /* last curve point */
} race_run;

typedef struct racer {
    char spec[GPT_SPEC_MAX];   /* as given */
    const rv_optim_type *type;
    rv_hparams h;
    race_run runs[MAX_GRID];
    int best;
} racer;

/* A spec's canonical text with its lr replaced. */
static void spec_with_lr(const racer *r, double lr, char *buf, size_t size)
{
    rv_hparams h = r->h;
    h.lr = lr;
    rv_hparams_format(r->type, &h, buf, size);
}

static void race_score(race_run *run, double target)
{
    run->steps_to_target = -1;
    run->seconds_to_target = NAN;
    for (size_t i = 0; i < run->res.n_curve; i++)
        if (run->res.curve[i].val_loss <= target) {
            run->steps_to_target = run->res.curve[i].step;
            run->seconds_to_target = run->res.curve[i].seconds;
            break;
        }
}

/* The better of two runs: fewer steps to the target, then lower final loss. */
static int race_better(const race_run *a, const race_run *b)
{
    if (a->steps_to_target >= 0 && (b->steps_to_target < 0 || a->steps_to_target < b->steps_to_target))
        return 1;
    if (a->steps_to_target != b->steps_to_target)
        return 0;
    return a->final_val < b->final_val || (isnan(b->final_val) && !isnan(a->final_val));
}

static void split_specs(const char *text, char specs[][GPT_SPEC_MAX], size_t *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        const char *semi = strchr(p, ';'), *end = semi ? semi : p + strlen(p);
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *e = end;
        while (e > p && isspace((unsigned char)e[-1]))
            e--;
        if (e > p) {
            if (*n == MAX_RACERS)
                ex_die("--race", "at most %d optimizers", MAX_RACERS);
            if ((size_t)(e - p) >= GPT_SPEC_MAX)
                ex_die("--race", "spec too long: %.40s...", p);
            snprintf(specs[*n], GPT_SPEC_MAX, "%.*s", (int)(e - p), p);
            (*n)++;
        }
        p = semi ? semi + 1 : end;
    }
    if (*n == 0)
        ex_die("--race", "no optimizer specs in \"%s\"", text);
}

static size_t parse_grid(const char *text, double *grid)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v <= 0)
            ex_die("--grid", "expected positive numbers separated by commas, got \"%s\"", text);
        if (n == MAX_GRID)
            ex_die("--grid", "at most %d values", MAX_GRID);
        grid[n++] = v;
        while (isspace((unsigned char)*end))
            end++;
        if (!*end)
            break;
        if (*end != ',')
            ex_die("--grid", "expected positive numbers separated by commas, got \"%s\"", text);
        p = end + 1;
    }
    return n;
}

static int run_race(const dataset *d, run_spec base, const char *specs_text, double target_given,
                    const double *grid, size_t n_grid, const char *dir, int json)
{
    static racer racers[MAX_RACERS];
    char specs[MAX_RACERS][GPT_SPEC_MAX];
    size_t n;
    split_specs(specs_text, specs, &n);
    for (size_t i = 0; i < n; i++) {
        racer *r = &racers[i];
        memset(r, 0, sizeof *r);
        snprintf(r->spec, sizeof r->spec, "%s", specs[i]);
        rv_status s = rv_hparams_parse(r->spec, &r->type, &r->h);
        if (s)
            ex_die_status("--race", s);
        if (i == 0 && gpt_is_matrix_optim(rv_optim_type_name(r->type)))
            ex_die("--race", "the baseline (first spec) must be an optimizer for every tensor, "
                             "not %s", rv_optim_type_name(r->type));
    }
    ex_ensure_dir(dir);
    double t0 = ex_now();
    FILE *log = json ? stderr : stdout;
    char rest_best[GPT_SPEC_MAX] = "";
    double target = target_given;
    size_t total_runs = n * n_grid, done_runs = 0;
    for (size_t i = 0; i < n; i++) {
        racer *r = &racers[i];
        int matrix = gpt_is_matrix_optim(rv_optim_type_name(r->type));
        for (size_t g = 0; g < n_grid; g++) {
            race_run *run = &r->runs[g];
            run->lr = r->h.lr * grid[g];
            spec_with_lr(r, run->lr, run->optim, sizeof run->optim);
            char label[GPT_SPEC_MAX + 64];
            snprintf(label, sizeof label, "race %zu/%zu %s lr=%.3g", ++done_runs, total_runs,
                     rv_optim_type_name(r->type), run->lr);
            run_spec rs = base;
            rs.optim = run->optim;
            rs.rest = matrix ? rest_best : NULL;
            rs.schedule = NULL;
            rs.label = label;
            rs.final_eval = 0;
            rs.checkpoint = NULL;
            gpt_model m;
            gpt_optims o;
            model_create(&rs, &m);
            optims_create(&m, &rs, &o);
            run_train(d, &rs, &m, &o, &run->res);
            const gpt_point *last = &run->res.curve[run->res.n_curve - 1];
            run->final_val = run->res.diverged ? NAN : last->val_loss;
            gpt_optims_free(&o);
            gpt_model_free(&m);
        }
        if (i == 0) {   /* the baseline: its best final loss is the target */
            r->best = 0;
            for (size_t g = 1; g < n_grid; g++)
                if (r->runs[g].final_val < r->runs[r->best].final_val ||
                    isnan(r->runs[r->best].final_val))
                    r->best = (int)g;
            if (!isfinite(target_given))
                target = r->runs[r->best].final_val;
            if (!isfinite(target))
                ex_die("--race", "every run of the baseline %s diverged", r->spec);
            snprintf(rest_best, sizeof rest_best, "%s", r->runs[r->best].optim);
            for (size_t g = 0; g < n_grid; g++)
                race_score(&r->runs[g], target);
            if (isfinite(target_given))
                for (size_t g = 1; g < n_grid; g++)
                    if (race_better(&r->runs[g], &r->runs[r->best]))
                        r->best = (int)g;
        } else {
            r->best = 0;
            for (size_t g = 0; g < n_grid; g++) {
                race_score(&r->runs[g], target);
                if (g && race_better(&r->runs[g], &r->runs[r->best]))
                    r->best = (int)g;
            }
        }
        const race_run *b = &r->runs[r->best];
        char reached[32] = "never";
        if (b->steps_to_target >= 0)
            snprintf(reached, sizeof reached, "%ld", b->steps_to_target);
        fprintf(log, "%-9s best lr %-9.3g steps to %.4f: %-6s final %.4f\n",
                rv_optim_type_name(r->type), b->lr, target, reached, b->final_val);
    }
    double seconds = ex_now() - t0;

    /* chart: every optimizer's best run against steps and against seconds */
    char path[4096], title[512];
    double(*xs)[512] = calloc(2 * n, sizeof *xs), (*ys)[512] = calloc(n, sizeof *ys);
    ex_series *by_step = calloc(n, sizeof *by_step), *by_time = calloc(n, sizeof *by_time);
    char(*labels)[160] = calloc(n, sizeof *labels);
    if (!xs || !ys || !by_step || !by_time || !labels)
        ex_die("race", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const race_run *b = &racers[i].runs[racers[i].best];
        size_t np = b->res.n_curve < 512 ? b->res.n_curve : 512;
        for (size_t k = 0; k < np; k++) {
            xs[2 * i][k] = (double)b->res.curve[k].step;
            xs[2 * i + 1][k] = b->res.curve[k].seconds;
            ys[i][k] = b->res.curve[k].val_loss;
        }
        if (b->steps_to_target >= 0)
            snprintf(labels[i], sizeof labels[i], "%s lr=%.3g: %ld steps, %.0f s; final",
                     rv_optim_type_name(racers[i].type), b->lr, b->steps_to_target,
                     b->seconds_to_target);
        else
            snprintf(labels[i], sizeof labels[i], "%s lr=%.3g: target not reached; final",
                     rv_optim_type_name(racers[i].type), b->lr);
        by_step[i] = (ex_series){labels[i], xs[2 * i], ys[i], np, 0, (int)i};
        by_time[i] = (ex_series){labels[i], xs[2 * i + 1], ys[i], np, 0, (int)i};
    }
    int which;
    double best_ngram = best_baseline(d, &which);
    char ngram_label[64];
    snprintf(ngram_label, sizeof ngram_label, "%s (add-alpha)", baseline_names[which]);
    ex_hline lines[2] = {{"target", target}, {ngram_label, best_ngram}};
    ex_panel panels[2] = {
        {"update step", "validation loss (nats/char)", by_step, n, lines, 2},
        {"training seconds (evaluations excluded)", "validation loss (nats/char)", by_time, n,
         lines, 2},
    };
    snprintf(title, sizeof title,
             "gpt race to %.4f: GPT %dx%d, batch %dx%d, %ld steps, best lr of %zu per optimizer",
             target, base.cfg.layers, base.cfg.channels, base.batch, base.cfg.context, base.steps,
             n_grid);
    snprintf(path, sizeof path, "%s/gpt_race.svg", dir);
    if (ex_svg_charts(path, title, panels, 2))
        ex_die(path, "cannot write: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/gpt_race.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        ex_die(path, "cannot write: %s", strerror(errno));
    fprintf(f, "optim,lr,best,step,seconds,train_loss,val_loss\n");
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < n_grid; g++) {
            const race_run *run = &racers[i].runs[g];
            for (size_t k = 0; k < run->res.n_curve; k++) {
                const gpt_point *p = &run->res.curve[k];
                fprintf(f, "\"%s\",%.9g,%d,%ld,%.9g,%.9g,%.9g\n", run->optim, run->lr,
                        (int)g == racers[i].best, p->step, p->seconds, p->train_loss, p->val_loss);
            }
        }
    if (ferror(f) | fclose(f))
        ex_die(path, "cannot write: %s", strerror(errno));

    const race_run *base_best = &racers[0].runs[racers[0].best];
    if (json) {
        printf("{\"target\":");
        ex_json_number(stdout, target);
        printf(",\"target_from\":");
        ex_json_string(stdout, isfinite(target_given) ? "--target" : base_best->optim);
        printf(",\"results\":[");
        for (size_t i = 0; i < n; i++) {
            const racer *r = &racers[i];
            const race_run *b = &r->runs[r->best];
            printf("%s{\"optim\":", i ? "," : "");
            ex_json_string(stdout, b->optim);
            printf(",\"spec\":");
            ex_json_string(stdout, r->spec);
            if (gpt_is_matrix_optim(rv_optim_type_name(r->type))) {
                printf(",\"rest_optim\":");
                ex_json_string(stdout, rest_best);
            }
            printf(",\"best_lr\":");
            ex_json_number(stdout, b->lr);
            printf(",\"steps_to_target\":");
            if (b->steps_to_target >= 0)
                printf("%ld", b->steps_to_target);
            else
                printf("null");
            printf(",\"seconds_to_target\":");
            ex_json_number(stdout, b->seconds_to_target);
            printf(",\"final_val_loss\":");
            ex_json_number(stdout, b->final_val);
            printf(",\"steps_ratio\":");
            ex_json_number(stdout, b->steps_to_target >= 0 && base_best->steps_to_target > 0
                                       ? (double)b->steps_to_target / (double)base_best->steps_to_target
                                       : NAN);
            printf(",\"seconds_ratio\":");
            ex_json_number(stdout, b->seconds_to_target / base_best->seconds_to_target);
            printf(",\"seconds_per_step\":");
            ex_json_number(stdout, b->res.seconds / (double)b->res.steps);
            printf(",\"runs\":[");
            for (size_t g = 0; g < n_grid; g++) {
                const race_run *run = &r->runs[g];
                printf("%s{\"lr\":", g ? "," : "");
                ex_json_number(stdout, run->lr);
                printf(",\"steps_to_target\":");
                if (run->steps_to_target >= 0)
                    printf("%ld", run->steps_to_target);
                else
                    printf("null");
                printf(",\"seconds_to_target\":");
                ex_json_number(stdout, run->seconds_to_target);
                printf(",\"final_val_loss\":");
                ex_json_number(stdout, run->final_val);
                printf(",\"diverged\":%s}", run->res.diverged ? "true" : "false");
            }
            printf("]}");
        }
        printf("],\"horizon_steps\":%ld,\"eval_every\":%ld,\"eval_tokens\":%zu,\"grid\":[",
               base.steps, base.eval_every, base.eval_windows * (size_t)base.cfg.context);
        for (size_t g = 0; g < n_grid; g++)
            printf("%s%.9g", g ? "," : "", grid[g]);
        printf("],\"default_training_steps\":%s,\"baselines\":", DEFAULT_STEPS);
        json_baselines(d);
        printf(",\"params\":%zu,\"model\":{\"layers\":%d,\"heads\":%d,\"channels\":%d,"
               "\"context\":%d,\"vocab\":%d},\"batch\":%d,\"seconds\":",
               gpt_param_count(base.cfg), base.cfg.layers, base.cfg.heads, base.cfg.channels,
               base.cfg.context, base.cfg.vocab, base.batch);
        ex_json_number(stdout, seconds);
        printf(",\"svg\":");
        snprintf(path, sizeof path, "%s/gpt_race.svg", dir);
        ex_json_string(stdout, path);
        printf("}\n");
    } else {
        printf("\ntarget %.4f (%s), %ld updates per run, lr grid x", target,
               isfinite(target_given) ? "--target" : "the baseline's best final loss", base.steps);
        for (size_t g = 0; g < n_grid; g++)
            printf("%s%g", g ? "," : "", grid[g]);
        printf("\n%-10s %10s %16s %18s %12s\n", "optimizer", "best lr", "steps to target",
               "seconds to target", "final val");
        for (size_t i = 0; i < n; i++) {
            const race_run *b = &racers[i].runs[racers[i].best];
            char steps_text[32] = "never", secs_text[32] = "never";
            if (b->steps_to_target >= 0) {
                snprintf(steps_text, sizeof steps_text, "%ld", b->steps_to_target);
                snprintf(secs_text, sizeof secs_text, "%.1f", b->seconds_to_target);
            }
            printf("%-10s %10.3g %16s %18s %12.4f\n", rv_optim_type_name(racers[i].type), b->lr,
                   steps_text, secs_text, b->final_val);
        }
        printf("wrote %s/gpt_race.svg and %s/gpt_race.csv in %.0f s\n", dir, dir, seconds);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < n_grid; g++)
            gpt_result_free(&racers[i].runs[g].res);
    free(xs), free(ys), free(by_step), free(by_time), free(labels);
    return 0;
}

/* ---- main ------------------------------------------------------------------------ */

#define GPT_EXTRA_SEED "gpt/seed"
#define GPT_EXTRA_BATCH "gpt/batch"
#define GPT_EXTRA_HEADS "gpt/heads"

/* A setting a resumed run keeps from its checkpoint (key): the file's
   value, or current when the file has none; an option given with another
   value is refused. */
static long resumed(const rv_checkpoint_info *info, const char *key, const char *option,
                    const char *given, long current, long hi, const char *file)
{
    const char *saved = rv_checkpoint_extra_value(info, key);
    if (!saved)
        return current;
    long v = ex_parse_long("--resume", saved, 0, hi);
    if (given && v != current)
        ex_die(option, "%ld differs from the %ld of %s: the resumed run would not continue the "
                       "run it saved (leave %s out)",
               current, v, file, option);
    return v;
}

int main(int argc, char **argv)
{
    ex_program = "gpt";
    gpt_tune_environment(argv);
    ex_option opts[] = {
        {"data", 1, NULL},          {"optim", 1, NULL},      {"rest-optim", 1, NULL},
        {"schedule", 1, NULL},      {"steps", 1, NULL},      {"batch", 1, NULL},
        {"context", 1, NULL},       {"layers", 1, NULL},     {"heads", 1, NULL},
        {"channels", 1, NULL},      {"seed", 1, NULL},       {"clip", 1, NULL},
        {"eval-every", 1, NULL},    {"eval-tokens", 1, NULL}, {"samples", 1, NULL},
        {"sample-length", 1, NULL}, {"temperature", 1, NULL}, {"threads", 1, NULL},
        {"checkpoint", 1, NULL},    {"resume", 1, NULL},     {"json", 0, NULL},
        {"quiet", 0, NULL},         {"race", 2, NULL},       {"target", 1, NULL},
        {"race-steps", 1, NULL},    {"grid", 1, NULL},       {"out", 1, NULL},
    };
    enum { DATA, OPTIM, REST, SCHEDULE, STEPS, BATCH, CONTEXT, LAYERS, HEADS, CHANNELS, SEED, CLIP,
           EVAL_EVERY, EVAL_TOKENS, SAMPLES, SAMPLE_LENGTH, TEMPERATURE, THREADS, CHECKPOINT,
           RESUME, JSON, QUIET, RACE, TARGET, RACE_STEPS, GRID, OUT };
    ex_parse_options(argc, argv, opts, sizeof opts / sizeof opts[0], usage);
#define OPT(i, def) (opts[i].value ? opts[i].value : (def))
    int race = opts[RACE].value != NULL;

    run_spec rs = {0};
    rs.cfg.vocab = GPT_VOCAB;
    rs.cfg.context = (int)ex_parse_long("--context", OPT(CONTEXT, "64"), 1, 1024);
    rs.cfg.layers = (int)ex_parse_long("--layers", OPT(LAYERS, "4"), 1, 64);
    rs.cfg.heads = (int)ex_parse_long("--heads", OPT(HEADS, "4"), 1, 256);
    rs.cfg.channels = (int)ex_parse_long("--channels", OPT(CHANNELS, "128"), 1, 4096);
    if (rs.cfg.channels % rs.cfg.heads)
        ex_die("--channels", "%d is not a multiple of --heads %d", rs.cfg.channels, rs.cfg.heads);
    rs.batch = (int)ex_parse_long("--batch", OPT(BATCH, "32"), 1, 4096);
    if (race && opts[STEPS].value)
        ex_die("--steps", "a race runs --race-steps updates per run");
    rs.steps = race ? ex_parse_long("--race-steps", OPT(RACE_STEPS, DEFAULT_RACE_STEPS), 1,
                                    100000000)
                    : ex_parse_long("--steps", OPT(STEPS, DEFAULT_STEPS), 0, 100000000);
    rs.seed = (uint64_t)ex_parse_long("--seed", OPT(SEED, "1"), 0, 0x7fffffffffffffffL);
    rs.clip = ex_parse_double("--clip", OPT(CLIP, "1"), 0);
    char every_text[32];
    snprintf(every_text, sizeof every_text, "%ld", race ? 50 : rs.steps / 20 > 0 ? rs.steps / 20 : 1);
    rs.eval_every = ex_parse_long("--eval-every", OPT(EVAL_EVERY, every_text), 1, 100000000);
    long eval_tokens = ex_parse_long("--eval-tokens", OPT(EVAL_TOKENS, "16384"), 0, 1L << 40);
    rs.eval_windows = (size_t)(eval_tokens + rs.cfg.context - 1) / (size_t)rs.cfg.context;
    rs.optim = OPT(OPTIM, DEFAULT_OPTIM);
    rs.rest = OPT(REST, DEFAULT_OPTIM);
    rs.schedule = opts[SCHEDULE].value;
    rs.final_eval = 1;
    int json = opts[JSON].value != NULL;
    rs.progress = !opts[QUIET].value && isatty(2);
    long n_samples = ex_parse_long("--samples", OPT(SAMPLES, "4"), 0, 10000);
    long sample_length = ex_parse_long("--sample-length", OPT(SAMPLE_LENGTH, "400"), 1, 1000000);
    double temperature = ex_parse_double("--temperature", OPT(TEMPERATURE, "0.8"), 0);
    if (temperature <= 0)
        ex_die("--temperature", "must be > 0, got %s", opts[TEMPERATURE].value);
    rs.threads = (int)ex_parse_long("--threads", OPT(THREADS, "0"), 0, 1024);
#ifdef _OPENMP
    if (rs.threads > 0)
        omp_set_num_threads(rs.threads);
#endif
    if (race && (opts[CHECKPOINT].value || opts[RESUME].value || opts[OPTIM].value ||
                 opts[SCHEDULE].value))
        ex_die("--race", "cannot be combined with --checkpoint, --resume, --optim or --schedule");
    if (!race && (opts[TARGET].value || opts[RACE_STEPS].value || opts[GRID].value))
        ex_die(opts[TARGET].value ? "--target" : opts[RACE_STEPS].value ? "--race-steps" : "--grid",
               "only applies to --race");

    /* a resumed run continues with the files' optimizers, schedules, seed,
       batch size and heads (batches depend on the seed, the step and the
       batch size; the heads change the model, not its tensors' sizes) */
    rv_checkpoint_info resume = {0}, resume_matrix = {0};
    int resume_has_matrix = 0;
    if (opts[RESUME].value) {
        const char *file = opts[RESUME].value;
        rv_status s = rv_checkpoint_inspect(file, &resume);
        if (s)
            ex_die_status("--resume", s);
        char other[4096];
        gpt_matrix_path(file, other, sizeof other);
        if (access(other, F_OK) == 0) {
            if ((s = rv_checkpoint_inspect(other, &resume_matrix)))
                ex_die_status("--resume", s);
            resume_has_matrix = 1;
        }
        if (!opts[OPTIM].value)
            rs.optim = resume_has_matrix ? resume_matrix.optimizer : resume.optimizer;
        if (!opts[REST].value && resume_has_matrix)
            rs.rest = resume.optimizer;
        if (resume.step > rs.steps)
            ex_die("--resume", "%s is at step %ld, past --steps %ld", file, resume.step,
                   rs.steps);
        rs.seed = (uint64_t)resumed(&resume, GPT_EXTRA_SEED, "--seed", opts[SEED].value,
                                    (long)rs.seed, 0x7fffffffffffffffL, file);
        rs.batch = (int)resumed(&resume, GPT_EXTRA_BATCH, "--batch", opts[BATCH].value, rs.batch,
                                4096, file);
        rs.cfg.heads = (int)resumed(&resume, GPT_EXTRA_HEADS, "--heads", opts[HEADS].value,
                                    rs.cfg.heads, 256, file);
    }
    rs.checkpoint = opts[CHECKPOINT].value;

    double grid[MAX_GRID], target = NAN;
    size_t n_grid = 0;
    if (race) {
        n_grid = parse_grid(OPT(GRID, "0.5,1,2"), grid);
        if (opts[TARGET].value)
            target = ex_parse_double("--target", opts[TARGET].value, 0);
    }

    dataset d;
    dataset_load(&d, OPT(DATA, DEFAULT_DATA), rs.cfg.context);

    if (race) {
        const char *specs = *opts[RACE].value ? opts[RACE].value : DEFAULT_RACE;
        int rc = run_race(&d, rs, specs, target, grid, n_grid, OPT(OUT, "."), json);
        gpt_corpus_free(&d.corpus);
        return rc;
    }

    char seed_text[32], batch_text[32], heads_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)rs.seed);
    snprintf(batch_text, sizeof batch_text, "%d", rs.batch);
    snprintf(heads_text, sizeof heads_text, "%d", rs.cfg.heads);
    const rv_checkpoint_extra extra[] = {
        {GPT_EXTRA_SEED, seed_text}, {GPT_EXTRA_BATCH, batch_text}, {GPT_EXTRA_HEADS, heads_text}};
    rs.extra = extra;
    rs.n_extra = sizeof extra / sizeof extra[0];

    gpt_model m;
    gpt_optims o;
    model_create(&rs, &m);
    optims_create(&m, &rs, &o);
    if (opts[RESUME].value) {
        rv_status s;
        if (!opts[SCHEDULE].value &&
            (s = gpt_optims_set_schedules(&o, resume.schedule,
                                          resume_has_matrix ? resume_matrix.schedule : NULL)))
            ex_die_status("--resume", s);
        rv_clear_error();
        s = gpt_optims_load(&o, opts[RESUME].value);
        if (s == RV_ERR_MISMATCH && !*rv_errmsg())
            ex_die("--resume", "%s and its .matrix file are at different steps",
                   opts[RESUME].value);
        if (s)
            ex_die_status("--resume", s);
        rv_checkpoint_info_free(&resume);
        rv_checkpoint_info_free(&resume_matrix);
    }
    gpt_result r;
    run_train(&d, &rs, &m, &o, &r);
    rv_status s;
    if (rs.checkpoint && (s = gpt_optims_save(&o, rs.checkpoint, rs.extra, rs.n_extra)))
        ex_die_status(rs.checkpoint, s);
    /* from here on the model is evaluated (Schedule-Free AdamW: its average) */
    if ((s = gpt_optims_eval(&o)))
        ex_die_status("training", s);
    double test_loss = gpt_eval(&m, &d.corpus.test, 0);
    double tps = r.seconds > 0 ? r.tokens / r.seconds : 0;
    double share = r.seconds > 0 ? r.optim_seconds / r.seconds : 0;
    double train_loss = r.n_curve ? r.curve[r.n_curve - 1].train_loss : NAN;
    char **samples = make_samples(&m, n_samples, sample_length, temperature, rs.seed);
    char blas[512];
    gpt_blas_describe(blas, sizeof blas);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    int which;
    double best = best_baseline(&d, &which);

    FILE *h = json ? stderr : stdout;   /* --json keeps stdout for the JSON object */
    if (!json || !opts[QUIET].value) {
        const gpt_corpus *c = &d.corpus;
        fprintf(h, "data: %zu files, %zu distinct fortunes (%zu train, %zu val, %zu test): "
                   "%zu / %zu / %zu characters\n",
                c->files, c->fortunes, c->n_train, c->n_val, c->n_test, c->train.n, c->val.n,
                c->test.n);
        fprintf(h, "model: %d layers, %d heads, %d channels, context %d, vocabulary %d: %zu "
                   "parameters\n",
                rs.cfg.layers, rs.cfg.heads, rs.cfg.channels, rs.cfg.context, rs.cfg.vocab,
                m.n_params);
        if (o.matrix)
            fprintf(h, "optim: %s (hidden matrices)\n       %s (the rest)\nschedule: %s\n"
                       "          %s\n", o.optim_matrix, o.optim, o.schedule_matrix, o.schedule);
        else
            fprintf(h, "optim: %s\nschedule: %s\n", o.optim, o.schedule);
        fprintf(h, "blas: %s, %d threads\n", blas, threads);
        fprintf(h, "\n%-22s %s\n", "model", "val loss (nats/char)");
        for (int b = 0; b < N_BASELINES; b++)
            fprintf(h, "%-22s %.4f  (add-%g smoothing)\n", baseline_names[b], d.baselines[b].loss,
                    d.baselines[b].alpha);
        fprintf(h, "%-22s %.4f  (train %.4f, test %.4f; %+.4f against the %s)\n", "GPT",
                r.val_loss, train_loss, test_loss, r.val_loss - best, baseline_names[which]);
        fprintf(h, "\n%ld updates of %d x %d tokens in %.1f s: %.0f tokens/s, %.1f%% of the time "
                   "in the optimizer step\n",
                r.steps, rs.batch, rs.cfg.context, r.seconds, tps, 100 * share);
        if (r.diverged)
            fprintf(h, "training diverged (non-finite loss) and stopped early\n");
        for (long i = 0; i < n_samples; i++)
            fprintf(h, "\n--- sample %ld (temperature %g) ---\n%s%s", i + 1, temperature,
                    samples[i], *samples[i] && samples[i][strlen(samples[i]) - 1] == '\n' ? "" : "\n");
    }
    if (json) {
        printf("{\"val_loss\":");
        ex_json_number(stdout, r.val_loss);
        printf(",\"test_loss\":");
        ex_json_number(stdout, test_loss);
        printf(",\"train_loss\":");
        ex_json_number(stdout, train_loss);
        printf(",\"baselines\":");
        json_baselines(&d);
        printf(",\"baseline_alphas\":{");
        for (int b = 0; b < N_BASELINES; b++)
            printf("%s\"%s\":%.9g", b ? "," : "", baseline_names[b], d.baselines[b].alpha);
        printf("},\"best_baseline\":\"%s\",\"samples\":[", baseline_names[which]);
        for (long i = 0; i < n_samples; i++) {
            if (i)
                putchar(',');
            ex_json_string(stdout, samples[i]);
        }
        printf("],\"params\":%zu,\"tokens_per_s\":", m.n_params);
        ex_json_number(stdout, tps);
        printf(",\"optimizer_time_share\":");
        ex_json_number(stdout, share);
        printf(",\"train_seconds\":");
        ex_json_number(stdout, r.seconds);
        printf(",\"steps\":%ld,\"steps_run\":%ld,\"batch\":%d,\"seed\":%llu,\"clip\":", rs.steps,
               r.steps, rs.batch, (unsigned long long)rs.seed);
        ex_json_number(stdout, rs.clip);
        printf(",\"diverged\":%s,\"model\":{\"layers\":%d,\"heads\":%d,\"channels\":%d,"
               "\"context\":%d,\"vocab\":%d},\"optim\":",
               r.diverged ? "true" : "false", rs.cfg.layers, rs.cfg.heads, rs.cfg.channels,
               rs.cfg.context, rs.cfg.vocab);
        ex_json_string(stdout, o.matrix ? o.optim_matrix : o.optim);
        if (o.matrix) {
            printf(",\"rest_optim\":");
            ex_json_string(stdout, o.optim);
        }
        printf(",\"schedule\":");
        ex_json_string(stdout, o.matrix ? o.schedule_matrix : o.schedule);
        if (o.matrix) {
            printf(",\"rest_schedule\":");
            ex_json_string(stdout, o.schedule);
        }
        printf(",\"blas\":");
        ex_json_string(stdout, blas);
        printf(",\"threads\":%d,\"curve\":[", threads);
        for (size_t i = 0; i < r.n_curve; i++) {
            const gpt_point *p = &r.curve[i];
            printf("%s{\"step\":%ld,\"train_loss\":", i ? "," : "", p->step);
            ex_json_number(stdout, p->train_loss);
            printf(",\"val_loss\":");
            ex_json_number(stdout, p->val_loss);
            printf(",\"lr\":");
            ex_json_number(stdout, p->lr);
            printf(",\"seconds\":");
            ex_json_number(stdout, p->seconds);
            printf("}");
        }
        const gpt_corpus *c = &d.corpus;
        printf("],\"data\":{\"files\":%zu,\"fortunes\":%zu,\"train_fortunes\":%zu,"
               "\"val_fortunes\":%zu,\"test_fortunes\":%zu,\"train_tokens\":%zu,\"val_tokens\":%zu,"
               "\"test_tokens\":%zu,\"val_tokens_scored\":%zu}}\n",
               c->files, c->fortunes, c->n_train, c->n_val, c->n_test, c->train.n, c->val.n,
               c->test.n, d.val_tokens);
    }
    for (long i = 0; i < n_samples; i++)
        free(samples[i]);
    free(samples);
    gpt_result_free(&r);
    gpt_optims_free(&o);
    gpt_model_free(&m);
    gpt_corpus_free(&d.corpus);
    return 0;
}
