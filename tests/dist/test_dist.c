/* The sharded optimizer against one process, under mpirun with any number
   of ranks: every optimizer, tensors cut across shards at sizes that do
   not divide by the rank count, flat and separate buffers, staged
   collectives, gradient clipping and norms of every order, the non-finite
   policies, tensors left out, schedule-free modes, checkpoints written by
   P ranks and read by one process and by a different number of ranks, and
   ranks that disagree (an error on every rank, never a hang). Every rank
   also runs the one-process reference itself and compares bit for bit. */
#include "ravine/dist.h"
#include "ravine/ravine.h"
#include "check.h"
#include "core/error.h"
#include "dist/internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, ranks;
static char tmpdir[512];

/* ---- deterministic gradients -------------------------------------------- */

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static uint32_t grad_hash(long step, size_t tensor, size_t i, int who)
{
    return mix((uint32_t)step * 2654435761u ^ mix((uint32_t)tensor * 40503u + (uint32_t)i) ^
               (uint32_t)who * 97u);
}

/* A multiple of 1/1024 in [-1, 1]: sums of a few are exact in float, so a
   reduce-scatter in any order gives the one-process mean exactly. */
static float grad_value(long step, size_t tensor, size_t i, int who)
{
    return (float)((int)(grad_hash(step, tensor, i, who) % 2049) - 1024) / 1024.0f;
}

/* Every bit of the mantissa used, magnitudes over several octaves: sums of
   squares taken in another order would differ (reduced gradients only). */
static float full_value(long step, size_t tensor, size_t i)
{
    uint32_t h = grad_hash(step, tensor, i, 7);
    float m = (float)(h >> 8) / 16777216.0f - 0.5f;
    return ldexpf(m, (int)(mix(h) % 9) - 4);
}

/* ---- a problem: tensors with shapes, groups, buffers ------------------------ */

#define MAX_T 8

typedef struct problem {
    const char *spec;
    size_t count;
    size_t rows[MAX_T], cols[MAX_T];   /* cols 0: a 1-D tensor of rows elements */
    int shaped;                        /* register shapes (adafactor, muon) */
    int flat;                          /* one flat buffer instead of separate ones */
} problem;

typedef struct tensors {
    size_t count, n[MAX_T], numel;
    float *p[MAX_T], *g[MAX_T];
    float *flat_p, *flat_g;
} tensors;

static size_t size_of(const problem *pr, size_t t)
{
    return pr->cols[t] ? pr->rows[t] * pr->cols[t] : pr->rows[t];
}

static void tensors_alloc(tensors *x, const problem *pr)
{
    memset(x, 0, sizeof *x);
    x->count = pr->count;
    for (size_t t = 0; t < pr->count; t++)
        x->numel += x->n[t] = size_of(pr, t);
    if (pr->flat) {
        x->flat_p = calloc(x->numel + 1, sizeof(float));
        x->flat_g = calloc(x->numel + 1, sizeof(float));
    }
    size_t off = 0;
    for (size_t t = 0; t < pr->count; t++) {
        x->p[t] = pr->flat ? x->flat_p + off : calloc(x->n[t] + 1, sizeof(float));
        x->g[t] = pr->flat ? x->flat_g + off : calloc(x->n[t] + 1, sizeof(float));
        for (size_t i = 0; i < x->n[t]; i++)
            x->p[t][i] = grad_value(-1, t, i, 0) * 2;
        off += x->n[t];
    }
}

static void tensors_free(tensors *x)
{
    if (x->flat_p) {
        free(x->flat_p);
        free(x->flat_g);
    } else {
        for (size_t t = 0; t < x->count; t++) {
            free(x->p[t]);
            free(x->g[t]);
        }
    }
}

/* Register the tensors: group 1 (weight_decay=0) for odd tensors. */
static rv_status add_all(const problem *pr, tensors *x, void *opt, int dist)
{
    rv_status s;
    size_t g1 = 0;
    s = dist ? rv_dist_add_group_spec(opt, "weight_decay=0", &g1)
             : rv_optim_add_group_spec(opt, "weight_decay=0", &g1);
    char name[16];
    for (size_t t = 0; !s && t < pr->count; t++) {
        snprintf(name, sizeof name, "t%zu", t);
        size_t group = t % 2 ? g1 : 0;
        size_t shape[2] = {pr->rows[t], pr->cols[t]}, nd = pr->cols[t] ? 2 : 1;
        if (pr->shaped)
            s = dist ? rv_dist_add_param_shaped(opt, group, name, x->p[t], x->g[t], nd, shape, NULL)
                     : rv_optim_add_param_shaped(opt, group, name, x->p[t], x->g[t], nd, shape, NULL);
        else
            s = dist ? rv_dist_add_param(opt, group, name, x->p[t], x->g[t], x->n[t], NULL)
                     : rv_optim_add_param(opt, group, name, x->p[t], x->g[t], x->n[t], NULL);
    }
    return s;
}

/* The sharded optimizer of a problem and its one-process reference, each
   with its own copy of the tensors, registered alike. */
static void twins(const problem *pr, tensors *dx, tensors *rx, rv_dist **d, rv_optim **ref)
{
    tensors_alloc(dx, pr);
    tensors_alloc(rx, pr);
    CHECK_STATUS(rv_dist_create_spec(d, MPI_COMM_WORLD, pr->spec), RV_OK);
    CHECK_STATUS(rv_optim_create_spec(ref, pr->spec), RV_OK);
    CHECK_STATUS(add_all(pr, dx, *d, 1), RV_OK);
    CHECK_STATUS(add_all(pr, rx, *ref, 0), RV_OK);
}

/* How a run steps. */
typedef struct run {
    rv_dist_grads grads;
    long steps;
    double clip;                 /* 0: none */
    double norm_type;
    rv_nonfinite_policy policy;
    int nan_at;                  /* put a NaN into this step's gradient (-1: never) */
    int skip_tensor;             /* leave this tensor out of odd steps (-1: never) */
    size_t bucket;               /* 0: default */
} run;

/* Step t's gradient of rank `who` (MEAN/SUM: each rank its own; REDUCED:
   the global one, the same on every rank). */
static void fill_grads(tensors *x, long t, int who, const run *how)
{
    int reduced = how->grads == RV_DIST_GRADS_REDUCED;
    for (size_t k = 0; k < x->count; k++)
        for (size_t i = 0; i < x->n[k]; i++)
            x->g[k][i] = reduced ? full_value(t, k, i) : grad_value(t, k, i, who);
    if (how->nan_at == t && x->count && x->n[x->count - 1])
        x->g[x->count - 1][x->n[x->count - 1] / 2] = NAN;
}

/* The one-process gradient: the mean (or sum) of every rank's, exact. */
static void fill_reference_grads(tensors *x, long t, const run *how)
{
    if (how->grads == RV_DIST_GRADS_REDUCED) {
        fill_grads(x, t, 0, how);
        return;
    }
    for (size_t k = 0; k < x->count; k++)
        for (size_t i = 0; i < x->n[k]; i++) {
            float sum = 0;
            for (int r = 0; r < ranks; r++)
                sum += grad_value(t, k, i, r);
            x->g[k][i] = how->grads == RV_DIST_GRADS_MEAN && ranks > 1 ? sum / (float)ranks : sum;
        }
    if (how->nan_at == t && x->count && x->n[x->count - 1])
        x->g[x->count - 1][x->n[x->count - 1] / 2] = NAN;
}

static double lr_at(long t) { return 1e-2 / (1.0 + 0.1 * (double)t); }

static int same_params(const tensors *a, const tensors *b, const char *what, long t)
{
    for (size_t k = 0; k < a->count; k++)
        if (memcmp(a->p[k], b->p[k], a->n[k] * sizeof(float))) {
            size_t i = 0;
            while (i < a->n[k] && !memcmp(&a->p[k][i], &b->p[k][i], sizeof(float)))
                i++;
            fprintf(stderr, "rank %d: %s: step %ld: tensor %zu differs at %zu: %.9g vs %.9g\n", rank,
                    what, t, k, i, (double)a->p[k][i], (double)b->p[k][i]);
            return 0;
        }
    return 1;
}

/* Run `pr` sharded and in one process side by side; compare after every step. */
static void compare(const problem *pr, const run *how, const char *what)
{
    tensors dx, rx;
    tensors_alloc(&dx, pr);
    tensors_alloc(&rx, pr);
    rv_dist *d;
    rv_optim *ref;
    CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, pr->spec), RV_OK);
    CHECK_STATUS(rv_optim_create_spec(&ref, pr->spec), RV_OK);
    CHECK_STATUS(add_all(pr, &dx, d, 1), RV_OK);
    CHECK_STATUS(add_all(pr, &rx, ref, 0), RV_OK);
    CHECK_STATUS(rv_dist_set_grads(d, how->grads), RV_OK);
    CHECK_STATUS(rv_dist_set_nonfinite(d, how->policy), RV_OK);
    CHECK_STATUS(rv_optim_set_nonfinite(ref, how->policy), RV_OK);
    if (how->bucket)
        CHECK_STATUS(rv_dist_set_bucket(d, how->bucket), RV_OK);
    int ok = 1;
    for (long t = 0; t < how->steps && ok; t++) {
        fill_grads(&dx, t, how->grads == RV_DIST_GRADS_REDUCED ? 0 : rank, how);
        fill_reference_grads(&rx, t, how);
        int leave_out = how->skip_tensor >= 0 && t % 2;
        if (how->skip_tensor >= 0) {
            size_t k = (size_t)how->skip_tensor;
            rv_dist_set_buffers(d, k, dx.p[k], leave_out ? NULL : dx.g[k]);
            rv_optim_set_buffers(ref, k, rx.p[k], leave_out ? NULL : rx.g[k]);
        }
        if (how->clip > 0) {
            rv_clip_options o = rv_clip_defaults();
            o.norm_type = how->norm_type;
            double nd = -1, nr = -2;
            rv_status sd = rv_dist_clip_grad_norm(d, how->clip, &o, &nd);
            rv_status sr = rv_clip_grad_norm(ref, how->clip, &o, &nr);
            CHECK_MSG(sd == sr, "%s: clip status %d vs %d (%s)", what, sd, sr, rv_errmsg());
            int same = !memcmp(&nd, &nr, sizeof nd) || (isnan(nd) && isnan(nr));
            CHECK_MSG(same, "%s: step %ld: norm %.17g vs %.17g", what, t, nd, nr);
            ok &= same;
        }
        CHECK_STATUS(rv_dist_set_lr(d, lr_at(t)), RV_OK);
        CHECK_STATUS(rv_optim_set_lr(ref, lr_at(t)), RV_OK);
        rv_status sd = rv_dist_step(d);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", rv_errmsg());
        rv_status sr = rv_optim_step(ref);
        CHECK_MSG(sd == sr, "%s: step %ld: status %d vs %d", what, t, sd, sr);
        if (sd && sd == sr)
            CHECK_MSG(!strcmp(msg, rv_errmsg()), "%s: '%s' vs '%s'", what, msg, rv_errmsg());
        int same = same_params(&dx, &rx, what, t);
        CHECK_MSG(same, "%s: parameters differ", what);
        ok &= same;
    }
    CHECK(rv_dist_step_count(d) == rv_optim_step_count(ref));
    CHECK(rv_dist_skipped_count(d) == rv_optim_skipped_count(ref));
    /* schedule-free: eval moves the parameters to x on every rank */
    CHECK_STATUS(rv_dist_eval(d), RV_OK);
    CHECK_STATUS(rv_optim_eval(ref), RV_OK);
    CHECK_MSG(same_params(&dx, &rx, what, -1), "%s: eval parameters differ", what);
    CHECK_STATUS(rv_dist_train(d), RV_OK);
    CHECK_STATUS(rv_optim_train(ref), RV_OK);
    CHECK_MSG(same_params(&dx, &rx, what, -2), "%s: train parameters differ", what);
    rv_dist_free(d);
    rv_optim_free(ref);
    tensors_free(&dx);
    tensors_free(&rx);
}

/* Every algorithm, reduced gradients: the parameters of one process, bit for bit. */
static void every_optimizer(void)
{
    static const char *const elementwise[] = {
        "sgd(lr=0.1, momentum=0.9, nesterov=true, weight_decay=0.01)",
        "sgd(lr=0.1, momentum=0.5, dampening=0.1)",
        "polyak(lr=0.1, beta=0.8, weight_decay=0.01)",
        "adam(lr=0.01, amsgrad=true, weight_decay=0.1)",
        "adamw(lr=0.01, weight_decay=0.1)",
        "adamw(lr=0.01, decay=after)",
        "rmsprop(lr=0.01, centered=true, momentum=0.9)",
        "adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)",
        "nadam(lr=0.01, decoupled_weight_decay=true, weight_decay=0.1)",
        "radam(lr=0.01, weight_decay=0.1)",
        "adamax(lr=0.01, weight_decay=0.1)",
        "lion(lr=0.001, weight_decay=0.1)",
        "sfadamw(lr=0.01, warmup_steps=3, weight_decay=0.1)",
    };
    for (size_t i = 0; i < sizeof elementwise / sizeof *elementwise; i++) {
        /* sizes that do not divide by 2, 3 or 4 ranks, cut mid-tensor */
        problem pr = {elementwise[i], 4, {37, 5, 211, 1}, {0, 7, 0, 0}, 0, (int)(i % 2)};
        run how = {RV_DIST_GRADS_REDUCED, 7, 0, 2, RV_NONFINITE_IGNORE, -1, -1, 0};
        compare(&pr, &how, elementwise[i]);
    }
    /* whole-tensor algorithms: shards end at tensor boundaries */
    problem af = {"adafactor(lr=0.01, weight_decay=0.1)", 5, {7, 13, 3, 29, 2}, {5, 0, 11, 3, 2}, 1, 0};
    problem mu = {"muon(lr=0.02, weight_decay=0.1)", 4, {7, 13, 3, 2}, {5, 6, 11, 2}, 1, 1};
    problem mu1 = {"muon(lr=0.02, adjust_lr_fn=match_rms_adamw)", 1, {9}, {4}, 1, 0};
    run how = {RV_DIST_GRADS_REDUCED, 6, 0, 2, RV_NONFINITE_IGNORE, -1, -1, 0};
    compare(&af, &how, "adafactor");
    compare(&mu, &how, "muon");
    compare(&mu1, &how, "muon, one tensor (most ranks hold none)");
}

/* Reduced by the ranks (mean and sum), clipping of every order, the
   non-finite policies, tensors left out, staged collectives. */
static void reductions_and_norms(void)
{
    /* 3 blocks and more, so block pieces are cut by shard boundaries */
    problem big = {"adamw(lr=0.01)", 3, {9001, 3, 4099}, {0, 5, 0}, 0, 0};
    problem big_flat = big;
    big_flat.flat = 1;
    run mean = {RV_DIST_GRADS_MEAN, 4, 0, 2, RV_NONFINITE_IGNORE, -1, -1, 0};
    compare(&big_flat, &mean, "mean, flat buffers");
    compare(&big, &mean, "mean, separate buffers");
    run sum = mean;
    sum.grads = RV_DIST_GRADS_SUM;
    compare(&big_flat, &sum, "sum");
    run staged = mean;
    staged.bucket = 16 * (size_t)ranks;   /* one line per rank per round */
    compare(&big, &staged, "mean, staged in rounds of one line");
    double orders[] = {2, 1, INFINITY, 3, 0.5};
    for (size_t k = 0; k < sizeof orders / sizeof *orders; k++) {
        run clip = {RV_DIST_GRADS_REDUCED, 3, 0.5, orders[k], RV_NONFINITE_IGNORE, -1, -1, 0};
        char what[64];
        snprintf(what, sizeof what, "clip, norm of order %g", orders[k]);
        compare(&big_flat, &clip, what);
    }
    run clip_mean = {RV_DIST_GRADS_MEAN, 3, 1.0, 2, RV_NONFINITE_IGNORE, -1, 0, 0};
    compare(&big, &clip_mean, "clip of the mean, first tensor left out on odd steps");
    run skip = {RV_DIST_GRADS_REDUCED, 4, 0, 2, RV_NONFINITE_SKIP, 1, -1, 0};
    compare(&big_flat, &skip, "non-finite: skip");
    run fail = skip;
    fail.policy = RV_NONFINITE_ERROR;
    compare(&big, &fail, "non-finite: error");
    run nan_clip = {RV_DIST_GRADS_REDUCED, 3, 1.0, 2, RV_NONFINITE_SKIP, 2, -1, 0};
    compare(&big_flat, &nan_clip, "NaN through clipping, then skipped");
}

/* Checkpoints: P ranks save; one process loads it and continues; a
   communicator of another size loads it and continues; all equal the
   uninterrupted run. With per-tensor scalars (nadam, sfadamw) and shapes
   (adafactor's factored moments, muon's matrices), which the file holds. */
static void checkpoints(void)
{
    static const problem problems[] = {
        {"adamw(lr=0.01, weight_decay=0.1)", 3, {4099, 7, 333}, {0, 3, 0}, 0, 0},
        {"sgd(lr=0.1, momentum=0.9)", 3, {4099, 7, 333}, {0, 3, 0}, 0, 1},
        {"adagrad(lr=0.1)", 3, {4099, 7, 333}, {0, 3, 0}, 0, 0},
        {"rmsprop(lr=0.01, centered=true)", 3, {4099, 7, 333}, {0, 3, 0}, 0, 1},
        {"nadam(lr=0.01, weight_decay=0.1)", 3, {4099, 7, 333}, {0, 3, 0}, 0, 0},
        {"sfadamw(lr=0.01, warmup_steps=2)", 3, {4099, 7, 333}, {0, 3, 0}, 0, 1},
        {"adafactor(lr=0.01, weight_decay=0.1)", 3, {4099, 7, 33}, {0, 3, 10}, 1, 0},
        {"muon(lr=0.02)", 3, {41, 7, 33}, {100, 3, 10}, 1, 0},
    };
    const char *specs[sizeof problems / sizeof *problems];
    char path[600];
    snprintf(path, sizeof path, "%s/dist.safetensors", tmpdir);
    for (size_t i = 0; i < sizeof problems / sizeof *problems; i++) {
        problem pr = problems[i];
        specs[i] = pr.spec;
        run how = {RV_DIST_GRADS_REDUCED, 0, 0, 2, RV_NONFINITE_IGNORE, -1, -1, 0};
        tensors dx, rx, ox;
        rv_dist *d;
        rv_optim *ref;
        twins(&pr, &dx, &rx, &d, &ref);
        tensors_alloc(&ox, &pr);
        CHECK_STATUS(rv_dist_set_grads(d, RV_DIST_GRADS_REDUCED), RV_OK);
        for (long t = 0; t < 3; t++) {
            fill_grads(&dx, t, 0, &how);
            fill_grads(&rx, t, 0, &how);
            rv_dist_set_lr(d, lr_at(t));
            rv_optim_set_lr(ref, lr_at(t));
            CHECK_STATUS(rv_dist_step(d), RV_OK);
            CHECK_STATUS(rv_optim_step(ref), RV_OK);
        }
        CHECK_STATUS(rv_dist_save(d, "cosine(lr=0.01, t_max=10)", 3, path), RV_OK);
        MPI_Barrier(MPI_COMM_WORLD);

        /* one process reads the sharded file */
        rv_optim *one;
        CHECK_STATUS(rv_optim_create_spec(&one, pr.spec), RV_OK);
        CHECK_STATUS(add_all(&pr, &ox, one, 0), RV_OK);
        rv_checkpoint_info info;
        CHECK_STATUS(rv_checkpoint_load(one, path, NULL, &info), RV_OK);
        CHECK(info.step == 3 && info.schedule_step == 3);
        CHECK(same_params(&ox, &rx, "loaded by one process", 3));

        /* the loaded groups are the file's: a run created with another weight
           decay takes the saved one (as torch's load_state_dict does) */
        {
            const rv_optim_type *type;
            rv_hparams other;
            rv_hparams_parse(pr.spec, &type, &other);
            other.weight_decay = 0.5;
            rv_dist *f;
            tensors fx;
            tensors_alloc(&fx, &pr);
            CHECK_STATUS(rv_dist_create(&f, MPI_COMM_WORLD, type, &other), RV_OK);
            CHECK_STATUS(add_all(&pr, &fx, f, 1), RV_OK);
            CHECK_STATUS(rv_dist_load(f, path, NULL, NULL), RV_OK);
            rv_hparams hf, hr;
            rv_dist_group_hparams(f, 0, &hf);
            rv_optim_group_hparams(ref, 0, &hr);
            CHECK_MSG(hf.weight_decay == hr.weight_decay && hf.lr == hr.lr, "%s: loaded wd %g lr %g",
                      specs[i], hf.weight_decay, hf.lr);
            CHECK(same_params(&fx, &rx, "loaded with other hyperparameters", 3));
            rv_dist_free(f);
            tensors_free(&fx);
        }
        /* a communicator of another size reads it: the lower half of the ranks
           (all of them when there is one) */
        int half = ranks > 1 ? (ranks + 1) / 2 : 1;
        MPI_Comm sub;
        MPI_Comm_split(MPI_COMM_WORLD, rank < half ? 0 : 1, rank, &sub);
        rv_dist *e;
        tensors ex;
        tensors_alloc(&ex, &pr);
        CHECK_STATUS(rv_dist_create_spec(&e, sub, pr.spec), RV_OK);
        CHECK_STATUS(add_all(&pr, &ex, e, 1), RV_OK);
        CHECK_STATUS(rv_dist_set_grads(e, RV_DIST_GRADS_REDUCED), RV_OK);
        CHECK_STATUS(rv_dist_load(e, path, NULL, &info), RV_OK);
        MPI_Barrier(MPI_COMM_WORLD);   /* both halves have read it */
        CHECK_MSG(rv_dist_step_count(e) == 3, "%s: %ld steps after loading on %d ranks", specs[i], rv_dist_step_count(e), half);
        CHECK(same_params(&ex, &rx, "loaded by fewer ranks", 3));
        for (long t = 3; t < 6; t++) {
            fill_grads(&ex, t, 0, &how);
            fill_grads(&ox, t, 0, &how);
            fill_grads(&rx, t, 0, &how);
            rv_dist_set_lr(e, lr_at(t));
            rv_optim_set_lr(one, lr_at(t));
            rv_optim_set_lr(ref, lr_at(t));
            CHECK_STATUS(rv_dist_step(e), RV_OK);
            CHECK_STATUS(rv_optim_step(one), RV_OK);
            CHECK_STATUS(rv_optim_step(ref), RV_OK);
            CHECK_MSG(same_params(&ex, &rx, specs[i], t), "%s: resumed on fewer ranks", specs[i]);
            CHECK_MSG(same_params(&ox, &rx, specs[i], t), "%s: resumed in one process", specs[i]);
        }
        /* and the lower half's save, read back by all ranks, equals the run */
        char half_path[640];
        snprintf(half_path, sizeof half_path, "%s/half%d.safetensors", tmpdir, rank < half ? 0 : 1);
        CHECK_STATUS(rv_dist_save(e, NULL, 6, half_path), RV_OK);
        MPI_Barrier(MPI_COMM_WORLD);
        rv_dist_free(e);
        MPI_Comm_free(&sub);
        snprintf(half_path, sizeof half_path, "%s/half0.safetensors", tmpdir);
        CHECK_STATUS(rv_dist_load(d, half_path, NULL, &info), RV_OK);
        CHECK(same_params(&dx, &rx, "reloaded by all ranks", 6));
        CHECK(rv_dist_step_count(d) == 6);
        fill_grads(&dx, 6, 0, &how);
        fill_grads(&rx, 6, 0, &how);
        CHECK_STATUS(rv_dist_step(d), RV_OK);
        CHECK_STATUS(rv_optim_step(ref), RV_OK);
        CHECK_MSG(same_params(&dx, &rx, specs[i], 7), "%s: after a reload", specs[i]);

        /* a file for other tensors fails on every rank and changes nothing */
        float before = dx.p[0][0];
        problem other = pr;
        other.rows[0] = 4098;
        rv_optim *wrong;
        tensors wx;
        tensors_alloc(&wx, &other);
        rv_optim_create_spec(&wrong, pr.spec);
        add_all(&other, &wx, wrong, 0);
        if (rank == 0)
            CHECK_STATUS(rv_checkpoint_save(wrong, NULL, path), RV_OK);
        MPI_Barrier(MPI_COMM_WORLD);
        rv_hparams h_before, h_after;
        rv_dist_group_hparams(d, 0, &h_before);
        rv_status s = rv_dist_load(d, path, NULL, NULL);
        CHECK_MSG(s == RV_ERR_MISMATCH, "load of other tensors: %d (%s)", s, rv_errmsg());
        CHECK(dx.p[0][0] == before);
        rv_dist_group_hparams(d, 0, &h_after);
        CHECK(h_after.lr == h_before.lr && h_after.weight_decay == h_before.weight_decay);
        CHECK(rv_dist_step_count(d) == 7);
        CHECK(rank == 0 || strncmp(rv_errmsg(), "rank 0: checkpoint", 18) == 0);
        rv_optim_free(wrong);
        tensors_free(&wx);

        rv_dist_free(d);
        rv_optim_free(ref);
        rv_optim_free(one);
        tensors_free(&dx);
        tensors_free(&rx);
        tensors_free(&ox);
        tensors_free(&ex);
    }
}

/* Schedule-free saved in eval mode (the parameters hold x): the file says
   so, one process and every rank load it in eval mode, and after train()
   the run continues as the uninterrupted one. */
static void checkpoint_in_eval_mode(void)
{
    problem pr = {"sfadamw(lr=0.01, warmup_steps=2, weight_decay=0.1)", 3, {211, 7, 33}, {0, 3, 0}, 0, 0};
    run how = {RV_DIST_GRADS_REDUCED, 0, 0, 2, RV_NONFINITE_IGNORE, -1, -1, 0};
    char path[600];
    snprintf(path, sizeof path, "%s/eval.safetensors", tmpdir);
    tensors dx, rx, ox;
    tensors_alloc(&dx, &pr);
    tensors_alloc(&rx, &pr);
    tensors_alloc(&ox, &pr);
    rv_dist *d;
    rv_optim *ref, *one;
    CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, pr.spec), RV_OK);
    CHECK_STATUS(rv_optim_create_spec(&ref, pr.spec), RV_OK);
    CHECK_STATUS(rv_optim_create_spec(&one, pr.spec), RV_OK);
    CHECK_STATUS(add_all(&pr, &dx, d, 1), RV_OK);
    CHECK_STATUS(add_all(&pr, &rx, ref, 0), RV_OK);
    CHECK_STATUS(add_all(&pr, &ox, one, 0), RV_OK);
    CHECK_STATUS(rv_dist_set_grads(d, RV_DIST_GRADS_REDUCED), RV_OK);
    for (long t = 0; t < 3; t++) {
        fill_grads(&dx, t, 0, &how);
        fill_grads(&rx, t, 0, &how);
        CHECK_STATUS(rv_dist_step(d), RV_OK);
        CHECK_STATUS(rv_optim_step(ref), RV_OK);
    }
    CHECK_STATUS(rv_dist_eval(d), RV_OK);
    CHECK_STATUS(rv_optim_eval(ref), RV_OK);
    CHECK_STATUS(rv_dist_save(d, NULL, 3, path), RV_OK);
    MPI_Barrier(MPI_COMM_WORLD);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_load(one, path, NULL, &info), RV_OK);
    CHECK(info.eval_mode == 1 && !rv_optim_is_training(one));
    rv_checkpoint_info_free(&info);
    CHECK(same_params(&ox, &rx, "eval mode, loaded by one process", 3));
    /* every rank reads it back into a new sharded optimizer */
    rv_dist *e;
    tensors ex;
    tensors_alloc(&ex, &pr);
    CHECK_STATUS(rv_dist_create_spec(&e, MPI_COMM_WORLD, pr.spec), RV_OK);
    CHECK_STATUS(add_all(&pr, &ex, e, 1), RV_OK);
    CHECK_STATUS(rv_dist_set_grads(e, RV_DIST_GRADS_REDUCED), RV_OK);
    CHECK_STATUS(rv_dist_load(e, path, NULL, NULL), RV_OK);
    CHECK(!rv_dist_is_training(e));
    CHECK(same_params(&ex, &rx, "eval mode, loaded by every rank", 3));
    CHECK_STATUS(rv_dist_train(e), RV_OK);
    CHECK_STATUS(rv_optim_train(one), RV_OK);
    CHECK_STATUS(rv_optim_train(ref), RV_OK);
    for (long t = 3; t < 6; t++) {
        fill_grads(&ex, t, 0, &how);
        fill_grads(&ox, t, 0, &how);
        fill_grads(&rx, t, 0, &how);
        CHECK_STATUS(rv_dist_step(e), RV_OK);
        CHECK_STATUS(rv_optim_step(one), RV_OK);
        CHECK_STATUS(rv_optim_step(ref), RV_OK);
        CHECK_MSG(same_params(&ex, &rx, "resumed from eval mode on every rank", t), "eval mode");
        CHECK_MSG(same_params(&ox, &rx, "resumed from eval mode in one process", t), "eval mode");
    }
    rv_dist_free(d);
    rv_dist_free(e);
    rv_optim_free(ref);
    rv_optim_free(one);
    tensors_free(&dx);
    tensors_free(&rx);
    tensors_free(&ox);
    tensors_free(&ex);
}

/* Ranks that disagree get the same error on every rank, and no hang. */
static void disagreements(void)
{
    if (ranks < 2)
        return;
    float p[40] = {0}, g[40] = {0};
    rv_dist *d;
    /* different algorithms */
    rv_status s = rv_dist_create_spec(&d, MPI_COMM_WORLD, rank == 1 ? "sgd" : "adam");
    CHECK_STATUS(s, RV_ERR_RANKS);
    CHECK_STR(rv_errmsg(), "ranks disagree on the optimizer: rank 0 runs adam, rank 1 sgd");
    /* a spec that does not parse on one rank */
    s = rv_dist_create_spec(&d, MPI_COMM_WORLD, rank == 1 ? "adam(lr=-1)" : "adam");
    CHECK_STATUS(s, RV_ERR_LR);
    CHECK_STR(rv_errmsg(), rank == 1 ? "spec 'adam(lr=-1)': lr must be >= 0, got -1"
                                     : "rank 1: spec 'adam(lr=-1)': lr must be >= 0, got -1");
    /* different hyperparameters */
    s = rv_dist_create_spec(&d, MPI_COMM_WORLD, rank == 1 ? "adam(eps=1e-6)" : "adam");
    CHECK_STATUS(s, RV_ERR_RANKS);
    CHECK(strstr(rv_errmsg(), "ranks disagree on the hyperparameters: rank 0 has adam(") != NULL);
    /* different parameter counts */
    CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, "adam"), RV_OK);
    rv_dist_add_param(d, 0, "w", p, g, rank == 1 ? 40 : 39, NULL);
    CHECK_STATUS(rv_dist_step(d), RV_ERR_RANKS);
    CHECK_STR(rv_errmsg(), "ranks disagree on the parameters: rank 0 has 39 element(s) in 1 tensor(s), "
                           "rank 1 has 40 in 1");
    CHECK(p[0] == 0 && rv_dist_step_count(d) == 0);
    rv_dist_free(d);
    /* same counts, other names */
    CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, "adam"), RV_OK);
    rv_dist_add_param(d, 0, rank == 1 ? "v" : "w", p, g, 40, NULL);
    CHECK_STATUS(rv_dist_step(d), RV_ERR_RANKS);
    CHECK(strstr(rv_errmsg(), "rank 1's sizes, shapes, groups or names differ") != NULL);
    rv_dist_free(d);
    /* a learning rate that differs on one rank (a schedule out of step) */
    CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, "adam"), RV_OK);
    rv_dist_add_param(d, 0, "w", p, g, 40, NULL);
    CHECK_STATUS(rv_dist_step(d), RV_OK);
    rv_dist_set_lr(d, rank == ranks - 1 ? 0.5 : 0.25);
    CHECK_STATUS(rv_dist_step(d), RV_ERR_RANKS);
    char want[200];
    snprintf(want, sizeof want, "ranks disagree on this step's learning rate: rank 0 has 0.25, rank %d 0.5",
             ranks - 1);
    CHECK_STR(rv_errmsg(), want);
    rv_dist_set_lr(d, 0.25);
    /* different calls at the same time */
    s = rank == 0 ? rv_dist_clip_grad_norm(d, 1.0, NULL, NULL) : rv_dist_step(d);
    CHECK_STATUS(s, RV_ERR_RANKS);
    CHECK_STR(rv_errmsg(), "ranks disagree on the call: rank 0 is in rv_dist_clip_grad_norm, rank 1 in "
                           "rv_dist_step");
    /* a bad argument on one rank only */
    s = rv_dist_clip_grad_norm(d, rank == 1 ? -1.0 : 1.0, NULL, NULL);
    CHECK_STATUS(s, RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), rank == 1 ? "max_norm must be >= 0, got -1" : "rank 1: max_norm must be >= 0, got -1");
    /* and it still works after all that */
    CHECK_STATUS(rv_dist_step(d), RV_OK);
    CHECK(rv_dist_step_count(d) == 2);
    /* setup is fixed after the first step */
    CHECK_STATUS(rv_dist_add_param(d, 0, "late", p, g, 1, NULL), RV_ERR_ARG);
    rv_dist_free(d);
    /* rv_dist_agree: the lowest failing rank's status and message everywhere */
    if (rank == ranks - 1)
        rv_fail(RV_ERR_IO, "the disk is full");
    s = rv_dist_agree(MPI_COMM_WORLD, rank == ranks - 1 ? RV_ERR_IO : RV_OK);
    CHECK_STATUS(s, RV_ERR_IO);
    snprintf(want, sizeof want, "rank %d: the disk is full", ranks - 1);
    CHECK_STR(rv_errmsg(), rank == ranks - 1 ? "the disk is full" : want);
}

/* Reduced-precision state (state=bf16|int8) is refused wherever it could
   enter, before anything changes: creating, adding a group, changing one,
   loading a one-process file saved with it (which used to load with every
   moment dropped, and crash the next save). */
static void reduced_state_refused(void)
{
    static const char *const words[] = {"bf16", "int8"};
    char path[600], spec[64], want[900];
    snprintf(path, sizeof path, "%s/reduced.safetensors", tmpdir);
    for (int w = 0; w < 2; w++) {
        rv_dist *d;
        snprintf(spec, sizeof spec, "adamw(lr=0.01, state=%s)", words[w]);
        CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, spec), RV_ERR_STATE_PRECISION);
        snprintf(want, sizeof want, "rv_dist_create: param group 0: state=%s: the sharded optimizer "
                 "keeps float32 state (state=fp32)", words[w]);
        CHECK_STR(rv_errmsg(), want);

        problem pr = {"adamw(lr=0.01)", 2, {100, 37}, {0, 0}, 0, 0};
        tensors dx;
        tensors_alloc(&dx, &pr);
        CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, pr.spec), RV_OK);
        /* a group with reduced state: by overrides, by hyperparameters */
        char over[32];
        snprintf(over, sizeof over, "state=%s", words[w]);
        CHECK_STATUS(rv_dist_add_group_spec(d, over, NULL), RV_ERR_STATE_PRECISION);
        snprintf(want, sizeof want, "param group 1: state=%s: the sharded optimizer keeps float32 "
                 "state (state=fp32)", words[w]);
        CHECK_STR(rv_errmsg(), want);
        rv_hparams h, got;
        rv_dist_group_hparams(d, 0, &h);
        h.state = w ? RV_INT8 : RV_BF16;
        CHECK_STATUS(rv_dist_add_group(d, &h, NULL), RV_ERR_STATE_PRECISION);
        CHECK_STATUS(rv_dist_group_hparams(d, 1, &got), RV_ERR_INDEX);   /* no group was added */
        CHECK_STATUS(add_all(&pr, &dx, d, 1), RV_OK);
        /* changing a group after setup (the local optimizer has no state yet) */
        CHECK_STATUS(rv_dist_setup(d), RV_OK);
        CHECK_STATUS(rv_dist_group_set_hparams(d, 0, &h), RV_ERR_STATE_PRECISION);
        rv_dist_group_hparams(d, 0, &got);
        CHECK(got.state == RV_FP32);
        run how = {RV_DIST_GRADS_REDUCED, 0, 0, 2, RV_NONFINITE_IGNORE, -1, -1, 0};
        CHECK_STATUS(rv_dist_set_grads(d, RV_DIST_GRADS_REDUCED), RV_OK);
        fill_grads(&dx, 0, 0, &how);
        CHECK_STATUS(rv_dist_step(d), RV_OK);

        /* a file saved by one process with reduced state */
        if (rank == 0) {
            rv_optim *one;
            tensors ox;
            tensors_alloc(&ox, &pr);
            CHECK_STATUS(rv_optim_create_spec(&one, spec), RV_OK);
            CHECK_STATUS(add_all(&pr, &ox, one, 0), RV_OK);
            for (long t = 0; t < 2; t++) {
                fill_grads(&ox, t, 0, &how);
                CHECK_STATUS(rv_optim_step(one), RV_OK);
            }
            CHECK_STATUS(rv_checkpoint_save(one, NULL, path), RV_OK);
            rv_optim_free(one);
            tensors_free(&ox);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        float before0 = dx.p[0][0], before1 = dx.p[1][36];
        for (int keep = 0; keep < 2; keep++) {
            rv_checkpoint_options o = {keep};
            rv_status s = rv_dist_load(d, path, &o, NULL);
            if (!keep) {
                CHECK_STATUS(s, RV_ERR_STATE_PRECISION);
                snprintf(want, sizeof want, "%scheckpoint '%s': param group 0: state=%s: the sharded "
                         "optimizer keeps float32 state (state=fp32)", rank ? "rank 0: " : "", path,
                         words[w]);
                CHECK_STR(rv_errmsg(), want);
            } else {
                CHECK_MSG(s != RV_OK, "keep_hparams load of %s state: %d", words[w], s);
            }
            CHECK(dx.p[0][0] == before0 && dx.p[1][36] == before1);
            CHECK(rv_dist_step_count(d) == 1);
            rv_dist_group_hparams(d, 0, &got);
            CHECK(got.state == RV_FP32 && got.lr == 0.01);
        }
        /* still whole: it saves (this used to crash) and steps */
        char again[640];
        snprintf(again, sizeof again, "%s/reduced_after.safetensors", tmpdir);
        CHECK_STATUS(rv_dist_save(d, NULL, 1, again), RV_OK);
        fill_grads(&dx, 1, 0, &how);
        CHECK_STATUS(rv_dist_step(d), RV_OK);
        CHECK(rv_dist_step_count(d) == 2);
        rv_dist_stats st;
        CHECK_STATUS(rv_dist_stats_get(d, &st), RV_OK);
        CHECK(st.state_bytes == 2 * (st.shard_end - st.shard_begin) * sizeof(float));
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0)
            unlink(again);
        rv_dist_free(d);
        tensors_free(&dx);
    }
    if (rank == 0)
        unlink(path);
}

/* A clip that fails (a non-finite norm with error_if_nonfinite) discards
   the reduced gradient: the next batch's gradient is reduced and clipped,
   as one process clips it, instead of the failing one again forever. */
static void failed_clip_discards_gradient(void)
{
    problem pr = {"adamw(lr=0.01)", 3, {9001, 3, 4099}, {0, 5, 0}, 0, 0};
    run how = {RV_DIST_GRADS_MEAN, 0, 0.5, 2, RV_NONFINITE_IGNORE, -1, -1, 0};
    tensors dx, rx;
    rv_dist *d;
    rv_optim *ref;
    twins(&pr, &dx, &rx, &d, &ref);
    rv_clip_options o = rv_clip_defaults();
    o.error_if_nonfinite = 1;
    double nd = -1, nr = -2;
    /* batch 0: one rank's gradient has an infinity */
    fill_grads(&dx, 0, rank, &how);
    if (rank == ranks - 1)
        dx.g[2][4000] = INFINITY;
    CHECK_STATUS(rv_dist_clip_grad_norm(d, 0.5, &o, &nd), RV_ERR_NONFINITE_GRAD);
    CHECK(strstr(rv_errmsg(), "cannot be clipped") != NULL);
    /* batch 1, finite: clipped as one process clips it, then stepped */
    for (long t = 1; t < 3; t++) {
        fill_grads(&dx, t, rank, &how);
        fill_reference_grads(&rx, t, &how);
        CHECK_STATUS(rv_dist_clip_grad_norm(d, 0.5, &o, &nd), RV_OK);
        CHECK_STATUS(rv_clip_grad_norm(ref, 0.5, &o, &nr), RV_OK);
        CHECK_MSG(nd == nr, "batch %ld: norm %.17g vs %.17g", t, nd, nr);
        CHECK_STATUS(rv_dist_step(d), RV_OK);
        CHECK_STATUS(rv_optim_step(ref), RV_OK);
        CHECK_MSG(same_params(&dx, &rx, "after a failed clip", t), "after a failed clip");
    }
    /* the same for the norm alone after a failed clip */
    fill_grads(&dx, 3, rank, &how);
    dx.g[0][7] = NAN;
    CHECK_STATUS(rv_dist_clip_grad_norm(d, 0.5, &o, &nd), RV_ERR_NONFINITE_GRAD);
    fill_grads(&dx, 4, rank, &how);
    fill_reference_grads(&rx, 4, &how);
    CHECK_STATUS(rv_dist_grad_norm(d, 2, &nd), RV_OK);
    CHECK_STATUS(rv_grad_norm(ref, 2, &nr), RV_OK);
    CHECK_MSG(nd == nr, "norm after a failed clip: %.17g vs %.17g", nd, nr);
    rv_dist_free(d);
    rv_optim_free(ref);
    tensors_free(&dx);
    tensors_free(&rx);
}

/* The skipped-step counter saturates at LONG_MAX, as rv_optim_step's (set
   from inside: a checkpoint holds counts up to 2^53). */
static void skipped_saturates(void)
{
    float p[40] = {0}, g[40] = {0};
    rv_dist *d;
    CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, "adam"), RV_OK);
    CHECK_STATUS(rv_dist_add_param(d, 0, "w", p, g, 40, NULL), RV_OK);
    CHECK_STATUS(rv_dist_set_nonfinite(d, RV_NONFINITE_SKIP), RV_OK);
    d->skipped = LONG_MAX - 1;
    g[3] = NAN;
    for (int i = 0; i < 2; i++) {
        CHECK_STATUS(rv_dist_step(d), RV_OK);
        CHECK_MSG(rv_dist_skipped_count(d) == LONG_MAX, "skipped %ld", rv_dist_skipped_count(d));
    }
    CHECK(rv_dist_step_count(d) == 0 && p[0] == 0);
    rv_dist_free(d);
}

/* The memory claim: each rank holds about 1/P of the state. */
static void state_is_sharded(void)
{
    enum { N = 100000 };
    float *p = calloc(N, sizeof *p), *g = calloc(N, sizeof *g);
    rv_dist *d;
    CHECK_STATUS(rv_dist_create_spec(&d, MPI_COMM_WORLD, "adamw"), RV_OK);
    rv_dist_add_param(d, 0, "w", p, g, N, NULL);
    rv_dist_stats st;
    CHECK_STATUS(rv_dist_setup(d), RV_OK);
    CHECK_STATUS(rv_dist_stats_get(d, &st), RV_OK);
    CHECK(st.state_bytes == 0 && st.shard_end > st.shard_begin);   /* no state before a step */
    CHECK_STATUS(rv_dist_step(d), RV_OK);
    CHECK_STATUS(rv_dist_stats_get(d, &st), RV_OK);
    size_t lines = (N + 15) / 16, mine = st.shard_end - st.shard_begin;
    CHECK(st.ranks == ranks && st.rank == rank && st.numel == N && st.flat == 1);
    CHECK(mine <= (lines / (size_t)ranks + 1) * 16 && mine + 16 >= (size_t)N / (size_t)ranks - 16);
    CHECK(st.state_bytes == 2 * mine * sizeof(float));
    CHECK(st.shard_begin % 16 == 0);
    rv_dist_free(d);
    free(p);
    free(g);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    /* one temporary folder, made by rank 0 */
    if (rank == 0) {
        snprintf(tmpdir, sizeof tmpdir, "%s/ravine-dist-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpdir))
            tmpdir[0] = 0;
    }
    MPI_Bcast(tmpdir, sizeof tmpdir, MPI_CHAR, 0, MPI_COMM_WORLD);
    every_optimizer();
    reductions_and_norms();
    checkpoints();
    checkpoint_in_eval_mode();
    disagreements();
    state_is_sharded();
    reduced_state_refused();
    failed_clip_discards_gradient();
    skipped_saturates();
    int failed = check_failed, any = 0, passed = check_passed, total = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&passed, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        char path[600];
        const char *files[] = {"dist", "half0", "half1"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s.safetensors", tmpdir, files[i]);
            unlink(path);
        }
        rmdir(tmpdir);
        printf("dist (%d ranks): %d passed, %d failed\n", ranks, total, any);
    }
    MPI_Finalize();
    return any ? 1 : 0;
}
