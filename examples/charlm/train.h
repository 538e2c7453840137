/* charlm/train.h — the training loop: batches, ravine's optimizer and
   schedule, optional clipping, periodic evaluation, timing.

       charlm_model m;      charlm_model_init(&m, shape, batch, seed);
       rv_optim *opt;       charlm_optim_create(&m, "adamw(lr=3e-3)", &opt);
       rv_schedule *lr;     rv_schedule_parse("warmup_cosine(...)", &lr);
       charlm_result res;   charlm_train(&m, opt, lr, &train, &val, &cfg, &res);

   The optimizer is driven only through ravine's public API: one param
   group with weight decay for the matrices and one without it for biases
   and embeddings, lr = schedule(t) before update t, clipping by global norm
   (ravine/clip.h), and checkpoints (ravine/checkpoint.h) that hold every
   tensor, the optimizer state and the schedule, saved at each evaluation:
   an interrupted run resumes where its last checkpoint left it, and equals
   the uninterrupted run bit for bit (batches depend only on seed and step). */
#ifndef CHARLM_TRAIN_H
#define CHARLM_TRAIN_H

#include "model.h"
#include "../common/clock.h"
#include "parallel.h"
#include "ravine/checkpoint.h"
#include "ravine/clip.h"
#include "ravine/ravine.h"

#include <stdio.h>

/* The optimizer for m: group 0 from spec (matrices), group 1 the same with
   weight_decay=0 (biases and embeddings). */
static inline rv_status charlm_optim_create(charlm_model *m, const char *spec, rv_optim **out)
{
    rv_optim *opt;
    rv_status s = rv_optim_create_spec(&opt, spec);
    if (s)
        return s;
    size_t no_decay = 0;
    s = rv_optim_add_group_spec(opt, "weight_decay=0", &no_decay);
    for (int t = 0; t < CHARLM_TENSORS && s == RV_OK; t++)
        s = rv_optim_add_param(opt, m->tensors[t].decay ? 0 : no_decay, m->tensors[t].name,
                               charlm_param(m, t), charlm_grad(m, t), m->tensors[t].n, NULL);
    if (s) {
        rv_optim_free(opt);
        return s;
    }
    *out = opt;
    return RV_OK;
}

typedef struct charlm_config {
    long steps;            /* total updates (a resumed run continues to this) */
    uint64_t seed;         /* batches: example indices drawn from (seed, step) */
    double clip;           /* max global gradient norm; 0 = off */
    double dropout;        /* probability of dropping a hidden unit while training */
    long eval_every;       /* evaluate every this many updates (and at the end) */
    size_t eval_tokens;    /* validation tokens used for the curve; 0 = all */
    int progress;          /* progress line on stderr */
    const char *label;     /* prefix of the progress line, may be NULL */
    const char *checkpoint;   /* save here at every evaluation; NULL = never */
    const char *schedule;     /* the schedule's spec, stored in checkpoints */
    charlm_parallel *parallel; /* data parallel under mpirun (NULL: one process) */
} charlm_config;

typedef struct charlm_point {
    long step;
    double train_loss;     /* mean batch loss since the previous point (NAN at step 0) */
    double val_loss;       /* on the first eval_tokens validation tokens */
    double lr;
} charlm_point;

typedef struct charlm_result {
    charlm_point *curve;
    size_t n_curve;
    double val_loss;       /* all validation tokens, after the last update */
    double seconds;        /* wall time of the updates (evaluations excluded) */
    double optim_seconds;  /* of which in rv_optim_step */
    double tokens;         /* training tokens processed */
    long steps;            /* updates done in this call */
    int diverged;          /* the loss became non-finite; training stopped */
} charlm_result;

/* Checkpoints carry what the batches depend on besides the step: the seed
   and the batch size, so a resumed run can refuse to continue with others. */
#define CHARLM_EXTRA_SEED "charlm/seed"
#define CHARLM_EXTRA_BATCH "charlm/batch"

/* Save with the seed and batch size beside the numbers (the whole run under
   mpirun: rank 0 writes one file of the one-process format). */
static inline rv_status charlm_checkpoint_save(charlm_parallel *par, rv_optim *opt,
                                               const charlm_config *cfg, size_t batch,
                                               const char *path)
{
    char seed[32], rows[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->seed);
    snprintf(rows, sizeof rows, "%zu", batch);
    const rv_checkpoint_extra extra[] = {{CHARLM_EXTRA_SEED, seed}, {CHARLM_EXTRA_BATCH, rows}};
    return charlm_parallel_save(par, opt, cfg->schedule, extra, 2, path);
}

static inline void charlm_result_free(charlm_result *r)
{
    free(r->curve);
    memset(r, 0, sizeof *r);
}

/* Train from the optimizer's current step count up to cfg->steps.
   Returns RV_OK, or the failing ravine status (rv_errmsg() says why). */
static inline rv_status charlm_train(charlm_model *m, rv_optim *opt, const rv_schedule *sched,
                                     const charlm_examples *train, const charlm_examples *val,
                                     const charlm_config *cfg, charlm_result *res)
{
    memset(res, 0, sizeof *res);
    charlm_parallel *par = cfg->parallel;
    long first = charlm_parallel_steps(par, opt), every = cfg->eval_every > 0 ? cfg->eval_every : 1;
    size_t max_points = (size_t)((cfg->steps > first ? cfg->steps - first : 0) / every + 3);
    res->curve = calloc(max_points, sizeof *res->curve);
    if (!res->curve)
        return RV_ERR_NOMEM;
    charlm_examples val_curve = *val;
    if (cfg->eval_tokens && cfg->eval_tokens < val->n)
        val_curve.n = cfg->eval_tokens;

    size_t B = m->rows, C = (size_t)m->shape.context;
    uint8_t *bx = malloc(B * C), *by = malloc(B);
    if (!bx || !by)
        return free(bx), free(by), RV_ERR_NOMEM;

    double window_loss = 0, last_report = 0;
    long window_steps = 0;
    rv_status s = RV_OK;
    if (first == 0 && cfg->steps > 0)
        res->curve[res->n_curve++] =
            (charlm_point){0, NAN, charlm_eval(m, &val_curve), rv_schedule_lr(sched, 0)};
    for (long t = first; t < cfg->steps; t++) {
        double t0 = ex_now();
        ex_rng r = ex_rng_keyed(cfg->seed, (uint64_t)t);
        for (size_t b = 0; b < B; b++) {
            size_t i = ex_rng_below(&r, train->n);
            memcpy(bx + b * C, train->ctx + i * C, C);
            by[b] = train->y[i];
        }
        int flags = CHARLM_BACKWARD;
        size_t lo, rows;   /* this rank's share of the batch (all of it in one process) */
        charlm_parallel_share(par, B, &lo, &rows);
        if (cfg->dropout > 0) {   /* masks from a stream of their own, keyed by step */
            ex_rng dr = ex_rng_keyed(cfg->seed ^ 0xd5a61266f0c9392cull, (uint64_t)t);
            charlm_dropout_mask(m, B, cfg->dropout, &dr);
            memmove(m->mask, m->mask + lo * (size_t)m->shape.hidden,
                    rows * (size_t)m->shape.hidden * sizeof *m->mask);
            flags |= CHARLM_DROPOUT;
        }
        double nats = charlm_loss(m, bx + lo * C, by + lo, rows, flags);
        charlm_parallel_weigh(par, m, B, rows);
        double loss = charlm_parallel_sum(par, nats) / (double)B;
        if (!isfinite(loss)) {
            res->diverged = 1;
            break;
        }
        if (cfg->clip > 0 && (s = charlm_parallel_clip(par, opt, cfg->clip)))
            break;
        double lr = rv_schedule_lr(sched, t);
        double t1 = ex_now();
        if ((s = charlm_parallel_step(par, opt, lr)))
            break;
        double t2 = ex_now();
        res->optim_seconds += t2 - t1;
        res->seconds += t2 - t0;
        res->tokens += (double)B;
        res->steps++;
        window_loss += loss;
        window_steps++;

        long done = t + 1;
        if (done % every == 0 || done == cfg->steps) {
            res->curve[res->n_curve++] = (charlm_point){done, window_loss / (double)window_steps,
                                                        charlm_eval(m, &val_curve), lr};
            window_loss = 0;
            window_steps = 0;
            if (cfg->checkpoint && (s = charlm_checkpoint_save(par, opt, cfg, B, cfg->checkpoint)))
                break;
        }
        if (cfg->progress && (t2 - last_report > 0.2 || done == cfg->steps)) {
            last_report = t2;
            double tps = res->tokens / res->seconds;
            char eta[32];
            ex_format_duration((double)(cfg->steps - done) * (double)B / tps, eta, sizeof eta);
            fprintf(stderr, "\r%s%sstep %ld/%ld  loss %.4f  lr %.3g  %.0f tok/s  ETA %s   ",
                    cfg->label ? cfg->label : "", cfg->label ? "  " : "", done, cfg->steps, loss,
                    lr, tps, eta);
            fflush(stderr);
        }
    }
    if (cfg->progress)
        fputc('\n', stderr);
    free(bx);
    free(by);
    if (s)
        return s;
    res->val_loss = res->diverged ? NAN : charlm_eval(m, val);
    return RV_OK;
}

#endif
