/* gpt/train.h — training the GPT with ravine: optimizers, schedules,
   clipping, batches, evaluation, checkpoints.

       gpt_model m;       gpt_model_init(&m, cfg, B, seed);
       gpt_optims o;      gpt_optims_create(&m, "adamw(lr=3e-3, ...)", NULL, steps, NULL, &o, NULL);
       gpt_result res;    gpt_train(&m, &o, &corpus.train, &corpus.val, &cfg, &res);

   Everything about the update goes through ravine's public API:
   - param groups: group 0 (the spec) holds the hidden weight matrices,
     group 1 (weight_decay=0) the embeddings, biases and LayerNorm gains;
   - a matrix optimizer (`muon(...)`) takes the hidden matrices as 2-D
     tensors in an optimizer of its own, and AdamW (the `rest` spec) the
     other tensors, as practitioners run Muon: two rv_optim objects;
   - lr = schedule(t) before update t for each optimizer (the second one's
     schedule is the first's scaled to its own peak lr);
   - the global gradient norm over all tensors is clipped with
     rv_clip_grad_norm_arrays (torch's clip_grad_norm_ over the model);
   - evaluations see Schedule-Free AdamW's averaged parameters
     (rv_optim_eval / rv_optim_train around them);
   - checkpoints are rv_checkpoint_save files (one per optimizer), written
     at every evaluation (in training mode). Batches depend only on (seed, step), so a run
     resumed from a checkpoint equals one that never stopped, bit for bit. */
#ifndef GPT_TRAIN_H
#define GPT_TRAIN_H

#include "../common/clock.h"
#include "model.h"
#include "ravine/checkpoint.h"
#include "ravine/clip.h"
#include "ravine/ravine.h"

#include <stdio.h>

#define GPT_SPEC_MAX 1024

/* Optimizers that update a weight matrix as a whole: they get the hidden
   matrices (with their shapes), AdamW gets the rest. */
static inline int gpt_is_matrix_optim(const char *name)
{
    return strcmp(name, "muon") == 0;
}

typedef struct gpt_optims {
    rv_optim *main;     /* every tensor, or (with a matrix optimizer) all but the hidden matrices */
    rv_optim *matrix;   /* the hidden matrices under a matrix optimizer, else NULL */
    rv_schedule *sched_main, *sched_matrix;
    char optim[GPT_SPEC_MAX], optim_matrix[GPT_SPEC_MAX];           /* canonical specs */
    char schedule[GPT_SPEC_MAX], schedule_matrix[GPT_SPEC_MAX];
    /* gradient buffers of every tensor, for clipping */
    float **grads;
    size_t *sizes, n_tensors;
} gpt_optims;

static inline void gpt_optims_free(gpt_optims *o)
{
    rv_optim_free(o->main);
    rv_optim_free(o->matrix);
    rv_schedule_free(o->sched_main);
    rv_schedule_free(o->sched_matrix);
    free(o->grads);
    free(o->sizes);
    memset(o, 0, sizeof *o);
}

/* The default schedule for peak lr: linear warmup over the first steps/20
   updates (at least one), cosine decay to 0 at `steps`. Schedule-Free
   AdamW replaces the decay by its averaging: warmup, then lr to the end. */
static inline void gpt_default_schedule(const char *optim, double lr, long steps, char *buf,
                                        size_t size)
{
    long w = steps / 20 > 0 ? steps / 20 : 1;
    if (strcmp(optim, "sfadamw") == 0)
        snprintf(buf, size, "wsd(lr=%.9g, warmup_steps=%ld, stable_steps=%ld, decay_steps=1)", lr,
                 w, steps > w ? steps - w : 1);
    else
        snprintf(buf, size, "warmup_cosine(peak=%.9g, warmup_steps=%ld, decay_steps=%ld)", lr, w,
                 steps > w ? steps : w + 1);
}

static inline double gpt_group_lr(const rv_optim *opt)
{
    rv_hparams h;
    rv_optim_group_hparams(opt, 0, &h);
    return h.lr;
}

static inline void gpt_canonical(const rv_optim *opt, char *buf, size_t size)
{
    rv_hparams h;
    rv_optim_group_hparams(opt, 0, &h);
    rv_hparams_format(rv_optim_get_type(opt), &h, buf, size);
}

/* Which input a failed gpt_optims_create could not use. */
typedef enum gpt_culprit { GPT_BY_OPTIM, GPT_BY_REST, GPT_BY_SCHEDULE } gpt_culprit;

/* Build the optimizers of m for spec. rest: the spec for the tensors a
   matrix optimizer leaves to AdamW (NULL: adamw's defaults). schedule:
   the main optimizer's schedule spec, NULL for gpt_default_schedule over
   steps. On failure returns the status with nothing allocated, and (if
   culprit is not NULL) says which of the three specs failed. */
static inline rv_status gpt_optims_create(gpt_model *m, const char *spec, const char *rest,
                                          long steps, const char *schedule, gpt_optims *o,
                                          gpt_culprit *culprit)
{
    gpt_culprit dummy;
    culprit = culprit ? culprit : &dummy;
    *culprit = GPT_BY_OPTIM;
    memset(o, 0, sizeof *o);
    const rv_optim_type *type;
    rv_hparams h;
    rv_status s = rv_hparams_parse(spec, &type, &h);
    if (s)
        return s;
    int split = gpt_is_matrix_optim(rv_optim_type_name(type));
    if (split) {
        if ((s = rv_optim_create(&o->matrix, type, &h)))
            return gpt_optims_free(o), s;
        if ((s = rv_optim_create_spec(&o->main, rest ? rest : "adamw")))
            return gpt_optims_free(o), *culprit = GPT_BY_REST, s;
    } else if ((s = rv_optim_create(&o->main, type, &h))) {
        return gpt_optims_free(o), s;
    }
    size_t no_decay = 0;
    if ((s = rv_optim_add_group_spec(o->main, "weight_decay=0", &no_decay)))
        return gpt_optims_free(o), *culprit = split ? GPT_BY_REST : GPT_BY_OPTIM, s;
    o->n_tensors = m->n_tensors;
    o->grads = malloc(m->n_tensors * sizeof *o->grads);
    o->sizes = malloc(m->n_tensors * sizeof *o->sizes);
    if (!o->grads || !o->sizes)
        return gpt_optims_free(o), RV_ERR_NOMEM;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const gpt_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset, *g = m->grads + t->offset;
        o->grads[i] = g;
        o->sizes[i] = t->n;
        /* shapes as torch sees them: matrices and embeddings rows x cols, vectors 1-D */
        size_t shape[2] = {t->rows, t->cols}, ndim = t->cols ? 2 : 1;
        int to_matrix = t->role == GPT_MATRIX && split;
        if (to_matrix)
            s = rv_optim_add_param_shaped(o->matrix, 0, t->name, p, g, ndim, shape, NULL);
        else
            s = rv_optim_add_param_shaped(o->main, t->role == GPT_MATRIX ? 0 : no_decay, t->name,
                                          p, g, ndim, shape, NULL);
        if (s)
            return gpt_optims_free(o), *culprit = split && !to_matrix ? GPT_BY_REST : GPT_BY_OPTIM,
                   s;
    }
    gpt_canonical(o->main, o->optim, sizeof o->optim);
    double main_lr = gpt_group_lr(o->main);
    char text[2 * GPT_SPEC_MAX];
    if (schedule)
        snprintf(text, sizeof text, "%s", schedule);
    else
        gpt_default_schedule(rv_optim_type_name(rv_optim_get_type(o->main)), main_lr, steps, text,
                             sizeof text);
    if ((s = rv_schedule_parse(text, &o->sched_main)))
        return gpt_optims_free(o), *culprit = GPT_BY_SCHEDULE, s;
    rv_schedule_format(o->sched_main, o->schedule, sizeof o->schedule);
    if (o->matrix) {
        gpt_canonical(o->matrix, o->optim_matrix, sizeof o->optim_matrix);
        double lr = gpt_group_lr(o->matrix);
        if (schedule)
            snprintf(text, sizeof text, "scale(of=%s, factor=%.17g)", o->schedule,
                     main_lr > 0 ? lr / main_lr : 0.0);
        else
            gpt_default_schedule(rv_optim_type_name(type), lr, steps, text, sizeof text);
        if ((s = rv_schedule_parse(text, &o->sched_matrix)))
            return gpt_optims_free(o), *culprit = GPT_BY_SCHEDULE, s;
        rv_schedule_format(o->sched_matrix, o->schedule_matrix, sizeof o->schedule_matrix);
    }
    return RV_OK;
}

/* Replace the schedules by these specs (a checkpoint's); NULL or "" keeps one. */
static inline rv_status gpt_optims_set_schedules(gpt_optims *o, const char *main_spec,
                                                 const char *matrix_spec)
{
    rv_schedule *a = NULL, *b = NULL;
    rv_status s;
    if (main_spec && *main_spec && (s = rv_schedule_parse(main_spec, &a)))
        return s;
    if (o->matrix && matrix_spec && *matrix_spec && (s = rv_schedule_parse(matrix_spec, &b)))
        return rv_schedule_free(a), s;
    if (a) {
        rv_schedule_free(o->sched_main);
        o->sched_main = a;
        rv_schedule_format(a, o->schedule, sizeof o->schedule);
    }
    if (b) {
        rv_schedule_free(o->sched_matrix);
        o->sched_matrix = b;
        rv_schedule_format(b, o->schedule_matrix, sizeof o->schedule_matrix);
    }
    return RV_OK;
}

/* Parameters for evaluation (Schedule-Free AdamW's average x) or for the
   next update (its y); a no-op for the other optimizers. */
static inline rv_status gpt_optims_eval(gpt_optims *o)
{
    rv_status s = rv_optim_eval(o->main);
    if (!s && o->matrix && (s = rv_optim_eval(o->matrix)))
        rv_optim_train(o->main);
    return s;
}

static inline rv_status gpt_optims_train(gpt_optims *o)
{
    rv_status s = rv_optim_train(o->main);
    if (!s && o->matrix)
        s = rv_optim_train(o->matrix);
    return s;
}

/* Validation loss on the first `windows` windows (0: all), in eval mode. */
static inline double gpt_optims_validate(gpt_model *m, gpt_optims *o, const gpt_stream *val,
                                         size_t windows)
{
    if (gpt_optims_eval(o))
        return NAN;
    double loss = gpt_eval(m, val, windows);
    gpt_optims_train(o);
    return loss;
}

static inline long gpt_optims_step_count(const gpt_optims *o) { return rv_optim_step_count(o->main); }

/* The matrix optimizer's file beside path: "run.safetensors" -> "run.matrix.safetensors". */
static inline void gpt_matrix_path(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash))
        snprintf(buf, size, "%.*s.matrix%s", (int)(dot - path), path, dot);
    else
        snprintf(buf, size, "%s.matrix", path);
}

/* Save every optimizer with the caller's extra entries (the matrix
   optimizer's file first, so the main file never claims a step its partner
   has not reached). */
static inline rv_status gpt_optims_save(const gpt_optims *o, const char *path,
                                        const rv_checkpoint_extra *extra, size_t n_extra)
{
    rv_status s;
    if (o->matrix) {
        char other[4096];
        gpt_matrix_path(path, other, sizeof other);
        if ((s = rv_checkpoint_save_extra(o->matrix, o->schedule_matrix,
                                          rv_optim_step_count(o->matrix), extra, n_extra, other)))
            return s;
    }
    return rv_checkpoint_save_extra(o->main, o->schedule, rv_optim_step_count(o->main), extra,
                                    n_extra, path);
}

/* 1 if a checkpoint described by info was saved by opt's algorithm with
   opt's tensors (names and sizes, in order): what a load would refuse, seen
   before anything is loaded. */
static inline int gpt_checkpoint_fits(const rv_optim *opt, const rv_checkpoint_info *info)
{
    const char *name = rv_optim_type_name(rv_optim_get_type(opt));
    size_t len = strlen(name);
    if (strncmp(info->optimizer, name, len) != 0 || (info->optimizer[len] != '(' && info->optimizer[len]))
        return 0;
    if (info->n_params != rv_optim_param_count(opt))
        return 0;
    for (size_t i = 0; i < info->n_params; i++) {
        rv_param_view v;
        if (rv_optim_param_view(opt, i, &v) || strcmp(v.name, info->tensors[i].key) != 0 ||
            v.n != info->tensors[i].n)
            return 0;
    }
    return 1;
}

/* Restore every optimizer from gpt_optims_save's files. Both files are
   verified whole, and checked against their optimizers, before either is
   loaded, so a refused pair changes nothing. RV_ERR_MISMATCH with an empty
   rv_errmsg(): the two files are at different steps. */
static inline rv_status gpt_optims_load(gpt_optims *o, const char *path)
{
    rv_checkpoint_info info = {0}, minfo = {0};
    char other[4096];
    rv_status s = rv_checkpoint_inspect(path, &info);
    if (s == RV_OK && o->matrix) {
        gpt_matrix_path(path, other, sizeof other);
        if ((s = rv_checkpoint_inspect(other, &minfo)) == RV_OK && minfo.step != info.step) {
            rv_clear_error();
            s = RV_ERR_MISMATCH;
        }
    }
    /* a file that does not fit its optimizer is loaded first, so that the
       load refuses it (with its message) before the other file changed anything */
    if (s == RV_OK) {
        int main_fits = gpt_checkpoint_fits(o->main, &info);
        int matrix_first = o->matrix && main_fits && !gpt_checkpoint_fits(o->matrix, &minfo);
        if (matrix_first && (s = rv_checkpoint_load(o->matrix, other, NULL, NULL)) == RV_OK)
            s = rv_checkpoint_load(o->main, path, NULL, NULL);
        if (!matrix_first && (s = rv_checkpoint_load(o->main, path, NULL, NULL)) == RV_OK &&
            o->matrix)
            s = rv_checkpoint_load(o->matrix, other, NULL, NULL);
    }
    rv_checkpoint_info_free(&info);
    rv_checkpoint_info_free(&minfo);
    return s;
}

typedef struct gpt_train_config {
    long steps;              /* total updates (a resumed run continues to this) */
    uint64_t seed;           /* batches: window offsets drawn from (seed, step) */
    double clip;             /* max global gradient norm; 0 = off */
    long eval_every;         /* evaluate every this many updates (and at the end) */
    size_t eval_windows;     /* validation windows for the curve; 0 = all */
    int final_eval;          /* 1: val_loss on every validation window at the end */
    int progress;            /* progress line on stderr */
    const char *label;       /* prefix of the progress line, may be NULL */
    const char *checkpoint;  /* save here at every evaluation; NULL = never */
    const rv_checkpoint_extra *extra;   /* entries of the caller's own saved with it */
    size_t n_extra;
} gpt_train_config;

typedef struct gpt_point {
    long step;
    double train_loss;   /* mean batch loss since the previous point (NAN at step 0) */
    double val_loss;     /* on the first eval_windows validation windows */
    double lr;           /* the main optimizer's lr at the last update */
    double seconds;      /* training time so far (evaluations excluded) */
} gpt_point;

typedef struct gpt_result {
    gpt_point *curve;
    size_t n_curve;
    double val_loss;        /* all validation windows, after the last update (final_eval) */
    double seconds;         /* wall time of the updates (evaluations excluded) */
    double optim_seconds;   /* of which in rv_optim_step */
    double tokens;          /* training tokens processed */
    long steps;             /* updates done in this call */
    int diverged;           /* the loss became non-finite; training stopped */
} gpt_result;

static inline void gpt_result_free(gpt_result *r)
{
    free(r->curve);
    memset(r, 0, sizeof *r);
}

/* Batch of step t: m->B windows of T + 1 tokens at offsets drawn from (seed, t). */
static inline void gpt_batch(const gpt_model *m, const gpt_stream *train, uint64_t seed, long t,
                             uint8_t *x, uint8_t *y)
{
    size_t T = (size_t)m->T;
    ex_rng r = ex_rng_keyed(seed, (uint64_t)t);
    for (int b = 0; b < m->B; b++) {
        size_t at = ex_rng_below(&r, train->n - T);
        memcpy(x + (size_t)b * T, train->tokens + at, T);
        memcpy(y + (size_t)b * T, train->tokens + at + 1, T);
    }
}

/* One update: batch t, forward, backward, clipping, schedules, steps.
   Returns RV_OK with the batch loss in *loss (non-finite: nothing was
   updated), or a failing status. */
static inline rv_status gpt_update(gpt_model *m, gpt_optims *o, const gpt_stream *train,
                                   uint64_t seed, double clip, long t, uint8_t *x, uint8_t *y,
                                   double *loss, double *optim_seconds)
{
    gpt_batch(m, train, seed, t, x, y);
    *loss = gpt_loss(m, x, y, m->B, m->T, GPT_BACKWARD) / ((double)m->B * m->T);
    if (!isfinite(*loss))
        return RV_OK;
    rv_status s;
    if (clip > 0 &&
        (s = rv_clip_grad_norm_arrays(o->grads, o->sizes, o->n_tensors, clip, NULL, NULL)))
        return s;
    double t0 = ex_now();
    if ((s = rv_optim_set_lr(o->main, rv_schedule_lr(o->sched_main, t))) ||
        (o->matrix && (s = rv_optim_set_lr(o->matrix, rv_schedule_lr(o->sched_matrix, t)))) ||
        (o->matrix && (s = rv_optim_step(o->matrix))) || (s = rv_optim_step(o->main)))
        return s;
    *optim_seconds += ex_now() - t0;
    return RV_OK;
}

/* Train from the optimizers' step count up to cfg->steps. Returns RV_OK,
   or the failing ravine status (rv_errmsg() says why). */
static inline rv_status gpt_train(gpt_model *m, gpt_optims *o, const gpt_stream *train,
                                  const gpt_stream *val, const gpt_train_config *cfg,
                                  gpt_result *res)
{
    memset(res, 0, sizeof *res);
    long first = gpt_optims_step_count(o), every = cfg->eval_every > 0 ? cfg->eval_every : 1;
    size_t max_points = (size_t)((cfg->steps > first ? cfg->steps - first : 0) / every + 3);
    res->curve = calloc(max_points, sizeof *res->curve);
    size_t BT = (size_t)m->B * m->T;
    uint8_t *x = malloc(BT), *y = malloc(BT);
    if (!res->curve || !x || !y)
        return free(x), free(y), RV_ERR_NOMEM;
    double window_loss = 0, last_report = 0;
    long window_steps = 0;
    rv_status s = RV_OK;
    if (first == 0 && cfg->steps > 0)
        res->curve[res->n_curve++] =
            (gpt_point){0, NAN, gpt_optims_validate(m, o, val, cfg->eval_windows),
                        rv_schedule_lr(o->sched_main, 0), 0};
    for (long t = first; t < cfg->steps; t++) {
        double t0 = ex_now(), loss;
        if ((s = gpt_update(m, o, train, cfg->seed, cfg->clip, t, x, y, &loss,
                            &res->optim_seconds)))
            break;
        if (!isfinite(loss)) {
            res->diverged = 1;
            break;
        }
        double t1 = ex_now();
        res->seconds += t1 - t0;
        res->tokens += (double)BT;
        res->steps++;
        window_loss += loss;
        window_steps++;
        long done = t + 1;
        if (done % every == 0 || done == cfg->steps) {
            res->curve[res->n_curve++] =
                (gpt_point){done, window_loss / (double)window_steps,
                            gpt_optims_validate(m, o, val, cfg->eval_windows),
                            rv_schedule_lr(o->sched_main, t),
                            res->seconds};
            window_loss = 0;
            window_steps = 0;
            if (cfg->checkpoint &&
                (s = gpt_optims_save(o, cfg->checkpoint, cfg->extra, cfg->n_extra)))
                break;
        }
        if (cfg->progress && (t1 - last_report > 0.2 || done == cfg->steps)) {
            last_report = t1;
            double tps = res->tokens / res->seconds;
            char eta[32];
            ex_format_duration((double)(cfg->steps - done) * (double)BT / tps, eta, sizeof eta);
            const gpt_point *p = res->n_curve ? &res->curve[res->n_curve - 1] : NULL;
            fprintf(stderr, "\r%s%sstep %ld/%ld  loss %.4f  val %.4f  lr %.3g  %.0f tok/s  ETA %s   ",
                    cfg->label ? cfg->label : "", cfg->label ? "  " : "", done, cfg->steps, loss,
                    p ? p->val_loss : NAN, rv_schedule_lr(o->sched_main, t), tps, eta);
            fflush(stderr);
        }
    }
    if (cfg->progress)
        fputc('\n', stderr);
    free(x);
    free(y);
    if (s)
        return s;
    res->val_loss = res->diverged ? NAN : cfg->final_eval ? gpt_optims_validate(m, o, val, 0) : NAN;
    return RV_OK;
}

#endif
