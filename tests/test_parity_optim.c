/* PyTorch parity of every optimizer.

   tests/fixtures/parity_optim.{txt,bin} hold torch.optim runs (written by
   tests/fixtures/gen_fixtures.py, see docs/parity.md): every optimizer and
   option combination, >= 200 steps of random gradients, with the params
   torch had after each step and its final state buffers. Each case is
   replayed twice, through the stateless rv_update and through the stateful
   rv_optim, and every element of every step and every final state buffer
   must satisfy |ours - torch| <= 1e-5 * max(1, |torch|). The worst errors
   per optimizer are printed (docs/parity.md quotes them).

   A replay with lr off by 0.1% must fail the same comparison, so the
   tolerance is known to be tight enough to catch a wrong coefficient. */
#include "ravine/ravine.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>

#define TOL 1e-5
#define SCHED_TOL 1e-9
#define MAX_TENSORS 8
#define MAX_GROUPS 4
#define MAX_STATE 4
#define MAX_REPORTED 20   /* mismatching elements printed in full */

typedef struct fx_case {
    char name[64];
    char spec[256];
    char schedule[256];                   /* "" when lr is constant */
    char groups[MAX_GROUPS][128];         /* overrides of group 0 for groups 1.. */
    size_t n_groups;
    size_t n_tensors, size[MAX_TENSORS], group[MAX_TENSORS], at[MAX_TENSORS];
    size_t numel;                         /* N: elements over all tensors */
    long steps;
    char state[MAX_STATE][32];            /* torch's buffer names */
    size_t n_state;
    size_t offset;                        /* of the case's data in the blob */
} fx_case;

typedef struct fx_blob {
    unsigned char *data;
    size_t size;
} fx_blob;

/* Worst errors seen for one optimizer along one path. */
typedef struct err_stats {
    char optim[16];
    long cases, steps;
    size_t values, exact;
    double worst_abs, worst_scaled;       /* over params and final state */
    double worst_params, worst_state;     /* scaled, params / final state buffers only */
    char worst_where[96];
} err_stats;

static int reported;

/* ---- fixture files ------------------------------------------------------ */

static char *fixture_path(const char *file)
{
    const char *dir = getenv("RAVINE_FIXTURES");
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures", file);
    return path;
}

static int load_blob(fx_blob *b)
{
    FILE *f = fopen(fixture_path("parity_optim.bin"), "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    b->data = size > 0 ? malloc((size_t)size) : NULL;
    b->size = b->data ? fread(b->data, 1, (size_t)size, f) : 0;
    fclose(f);
    return b->data && b->size == (size_t)size;
}

/* The blob is little-endian whatever the host is. */
static void read_f32(const fx_blob *b, size_t off, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *q = b->data + off + 4 * i;
        uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                     (uint32_t)q[3] << 24;
        memcpy(&out[i], &u, sizeof u);
    }
}

static double read_f64(const fx_blob *b, size_t off)
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | b->data[off + (size_t)i];
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Byte offsets of the parts of a case (see gen_fixtures.py). */
static size_t off_grads(const fx_case *c, long k)
{
    return c->offset + 4 * (c->numel + 2 * (size_t)k * c->numel);
}
static size_t off_params(const fx_case *c, long k) { return off_grads(c, k) + 4 * c->numel; }
static size_t off_state(const fx_case *c, size_t i)
{
    return c->offset + 4 * (c->numel * (1 + 2 * (size_t)c->steps + i));
}
static size_t off_lr(const fx_case *c, long k)
{
    return off_state(c, c->n_state) + 8 * (size_t)k;
}
static size_t case_end(const fx_case *c)
{
    return c->schedule[0] ? off_lr(c, c->steps) : off_state(c, c->n_state);
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* One index line: space-separated key=value fields; group= may repeat. */
static int parse_case(char *line, fx_case *c)
{
    memset(c, 0, sizeof *c);
    c->n_groups = 1;
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return 0;
        *eq = '\0';
        const char *key = tok, *val = eq + 1;
        if (!strcmp(key, "case"))
            copy_field(c->name, sizeof c->name, val);
        else if (!strcmp(key, "spec"))
            copy_field(c->spec, sizeof c->spec, val);
        else if (!strcmp(key, "schedule"))
            copy_field(c->schedule, sizeof c->schedule, val);
        else if (!strcmp(key, "steps"))
            c->steps = strtol(val, NULL, 10);
        else if (!strcmp(key, "offset"))
            c->offset = (size_t)strtoull(val, NULL, 10);
        else if (!strcmp(key, "group")) {
            if (c->n_groups >= MAX_GROUPS)
                return 0;
            copy_field(c->groups[c->n_groups++], sizeof c->groups[0], val);
        } else if (!strcmp(key, "tensors")) {
            const char *p = val;
            while (*p && c->n_tensors < MAX_TENSORS) {
                char *end;
                size_t t = c->n_tensors++;
                c->size[t] = (size_t)strtoul(p, &end, 10);
                if (*end != '@')
                    return 0;
                c->group[t] = (size_t)strtoul(end + 1, &end, 10);
                c->at[t] = c->numel;
                c->numel += c->size[t];
                p = *end == ',' ? end + 1 : end;
            }
        } else if (!strcmp(key, "state")) {
            if (strcmp(val, "-")) {
                /* strtok is busy with the line: split by hand */
                const char *p = val;
                while (*p && c->n_state < MAX_STATE) {
                    size_t len = strcspn(p, ",");
                    snprintf(c->state[c->n_state++], sizeof c->state[0], "%.*s", (int)len, p);
                    p += len + (p[len] == ',');
                }
            }
        }
    }
    for (size_t t = 0; t < c->n_tensors; t++)
        if (c->group[t] >= c->n_groups || !c->size[t])
            return 0;
    return c->name[0] && c->spec[0] && c->steps > 0 && c->n_tensors > 0;
}

/* ---- comparison ---------------------------------------------------------- */

static err_stats *stats_for(err_stats *table, size_t *n, const char *optim)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(table[i].optim, optim))
            return &table[i];
    err_stats *s = &table[(*n)++];
    memset(s, 0, sizeof *s);
    copy_field(s->optim, sizeof s->optim, optim);
    return s;
}

/* Compare n values; returns how many are outside the tolerance. */
static size_t compare(err_stats *st, int verbose, const float *got, const float *want, size_t n,
                      const fx_case *c, const char *path, const char *what, long step)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double w = want[i], d = fabs((double)got[i] - w);
        double scaled = d / fmax(1.0, fabs(w));
        st->values++;
        st->exact += got[i] == want[i];
        if (d > st->worst_abs)
            st->worst_abs = d;
        double *part = strcmp(what, "params") ? &st->worst_state : &st->worst_params;
        if (scaled > *part)
            *part = scaled;
        if (scaled > st->worst_scaled) {
            st->worst_scaled = scaled;
            snprintf(st->worst_where, sizeof st->worst_where, "%s %s step %ld [%zu]", c->name,
                     what, step, i);
        }
        if (!(scaled <= TOL)) {   /* NaN counts as a mismatch */
            bad++;
            if (verbose && reported++ < MAX_REPORTED)
                fprintf(stderr, "%s (%s, %s): %s after step %ld, element %zu: got %.9g, torch %.9g\n",
                        c->name, c->spec, path, what, step, i, (double)got[i], w);
        }
    }
    return bad;
}

/* Compare ravine's final state buffer `name` with torch's. */
static size_t compare_state(err_stats *st, int verbose, const fx_blob *b, const fx_case *c,
                            const char *path, const char *name, const float *got, size_t t)
{
    for (size_t j = 0; j < c->n_state; j++)
        if (!strcmp(c->state[j], name)) {
            float *want = malloc(c->size[t] * sizeof *want);
            read_f32(b, off_state(c, j) + 4 * c->at[t], c->size[t], want);
            size_t bad = compare(st, verbose, got, want, c->size[t], c, path, name, c->steps);
            free(want);
            return bad;
        }
    CHECK_MSG(0, "%s: ravine state buffer '%s' has no torch counterpart", c->name, name);
    return 1;
}

/* Hyperparameters of every group: group 0 from the spec, the others as
   overrides of it (what rv_optim_add_group_spec does). */
static int case_hparams(const fx_case *c, const rv_optim_type **type, rv_hparams *h)
{
    rv_status s = rv_hparams_parse(c->spec, type, &h[0]);
    CHECK_MSG(s == RV_OK, "%s: %s", c->name, rv_errmsg());
    for (size_t g = 1; !s && g < c->n_groups; g++) {
        h[g] = h[0];
        s = rv_hparams_override(*type, &h[g], c->groups[g]);
        CHECK_MSG(s == RV_OK, "%s: group %zu: %s", c->name, g, rv_errmsg());
    }
    if (s)
        return 0;
    for (size_t g = 0; g < c->n_groups; g++) {
        CHECK_MSG(rv_state_count(*type, &h[g]) == c->n_state,
                  "%s: ravine keeps %zu state buffers, torch %zu", c->name,
                  rv_state_count(*type, &h[g]), c->n_state);
        if (rv_state_count(*type, &h[g]) != c->n_state)
            return 0;
    }
    return 1;
}

/* The lr of step k: the schedule's, checked against the lr torch used. */
static double schedule_lr(const fx_blob *b, const fx_case *c, const rv_schedule *s, long k)
{
    double ours = rv_schedule_lr(s, k), torch_lr = read_f64(b, off_lr(c, k));
    CHECK_MSG(fabs(ours - torch_lr) <= SCHED_TOL * fabs(torch_lr),
              "%s: schedule %s at t=%ld: %.17g, torch %.17g", c->name, c->schedule, k, ours,
              torch_lr);
    return ours;
}

/* ---- the two replays -------------------------------------------------------- */

/* Stateless: rv_update per tensor with caller-owned state. lr_scale != 1
   replays with a deliberately wrong lr. Returns mismatching values. */
static size_t replay_update(const fx_blob *b, const fx_case *c, err_stats *st, double lr_scale,
                            int verbose)
{
    const rv_optim_type *type;
    rv_hparams h[MAX_GROUPS];
    if (!case_hparams(c, &type, h))
        return 1;
    for (size_t g = 0; g < c->n_groups; g++)
        h[g].lr *= lr_scale;
    rv_schedule *sched = NULL;
    if (c->schedule[0])
        CHECK_STATUS(rv_schedule_parse(c->schedule, &sched), RV_OK);

    size_t n = c->numel, bad = 0;
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *want = malloc(n * sizeof *want);
    float *state = calloc(c->n_state * n + 1, sizeof *state);
    read_f32(b, c->offset, n, p);
    for (size_t t = 0; t < c->n_tensors; t++) {
        float *bufs[MAX_STATE];
        for (size_t i = 0; i < c->n_state; i++)
            bufs[i] = state + i * n + c->at[t];
        CHECK_STATUS(rv_state_init(type, &h[c->group[t]], c->size[t], bufs), RV_OK);
    }
    for (long k = 0; k < c->steps; k++) {
        if (sched) {
            double lr = schedule_lr(b, c, sched, k) * lr_scale;
            for (size_t gi = 0; gi < c->n_groups; gi++)
                h[gi].lr = lr;
        }
        read_f32(b, off_grads(c, k), n, g);
        for (size_t t = 0; t < c->n_tensors; t++) {
            float *bufs[MAX_STATE];
            for (size_t i = 0; i < c->n_state; i++)
                bufs[i] = state + i * n + c->at[t];
            rv_status s = rv_update(type, &h[c->group[t]], k + 1, c->size[t], p + c->at[t],
                                    g + c->at[t], bufs);
            if (s) {
                CHECK_MSG(0, "%s: rv_update at step %ld: %s", c->name, k + 1, rv_errmsg());
                bad++;
                goto done;
            }
        }
        read_f32(b, off_params(c, k), n, want);
        bad += compare(st, verbose, p, want, n, c, "rv_update", "params", k + 1);
    }
    for (size_t t = 0; t < c->n_tensors; t++)
        for (size_t i = 0; i < c->n_state; i++)
            bad += compare_state(st, verbose, b, c, "rv_update",
                                 rv_state_name(type, &h[c->group[t]], i),
                                 state + i * n + c->at[t], t);
done:
    st->cases++;
    st->steps += c->steps;
    rv_schedule_free(sched);
    free(p);
    free(g);
    free(want);
    free(state);
    return bad;
}

/* Stateful: rv_optim with param groups, state allocated by the optimizer. */
static size_t replay_optim(const fx_blob *b, const fx_case *c, err_stats *st)
{
    const rv_optim_type *type;
    rv_hparams h[MAX_GROUPS];
    if (!case_hparams(c, &type, h))
        return 1;
    rv_optim *opt = NULL;
    rv_status s = rv_optim_create_spec(&opt, c->spec);
    CHECK_MSG(s == RV_OK, "%s: %s", c->name, rv_errmsg());
    if (s)
        return 1;
    for (size_t gi = 1; gi < c->n_groups; gi++) {
        size_t index = 0;
        CHECK_STATUS(rv_optim_add_group_spec(opt, c->groups[gi], &index), RV_OK);
        CHECK(index == gi);
    }
    rv_schedule *sched = NULL;
    if (c->schedule[0])
        CHECK_STATUS(rv_schedule_parse(c->schedule, &sched), RV_OK);

    size_t n = c->numel, bad = 0;
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *want = malloc(n * sizeof *want);
    read_f32(b, c->offset, n, p);
    for (size_t t = 0; t < c->n_tensors; t++) {
        char name[16];
        snprintf(name, sizeof name, "t%zu", t);
        CHECK_STATUS(rv_optim_add_param(opt, c->group[t], name, p + c->at[t], g + c->at[t],
                                        c->size[t], NULL), RV_OK);
    }
    for (long k = 0; k < c->steps; k++) {
        if (sched)
            CHECK_STATUS(rv_optim_set_lr(opt, schedule_lr(b, c, sched, k)), RV_OK);
        read_f32(b, off_grads(c, k), n, g);
        s = rv_optim_step(opt);
        if (s) {
            CHECK_MSG(0, "%s: rv_optim_step at step %ld: %s", c->name, k + 1, rv_errmsg());
            bad++;
            goto done;
        }
        read_f32(b, off_params(c, k), n, want);
        bad += compare(st, 1, p, want, n, c, "rv_optim", "params", k + 1);
    }
    CHECK(rv_optim_step_count(opt) == c->steps);
    for (size_t t = 0; t < c->n_tensors; t++) {
        rv_param_view v;
        CHECK_STATUS(rv_optim_param_view(opt, t, &v), RV_OK);
        CHECK(v.n_state == c->n_state && v.step == c->steps && v.n == c->size[t]);
        for (size_t i = 0; i < v.n_state && i < c->n_state; i++)
            bad += compare_state(st, 1, b, c, "rv_optim", rv_state_name(type, &h[v.group], i),
                                 v.state[i], t);
    }
done:
    st->cases++;
    st->steps += c->steps;
    rv_schedule_free(sched);
    rv_optim_free(opt);
    free(p);
    free(g);
    free(want);
    return bad;
}

/* ---- driver -------------------------------------------------------------- */

static void print_table(const char *path, const err_stats *t, size_t n)
{
    printf("%-9s %-8s %5s %6s %8s %7s %10s %13s %12s  worst at\n", "path", "optim", "cases",
           "steps", "values", "exact", "worst_abs", "params_scaled", "state_scaled");
    for (size_t i = 0; i < n; i++)
        printf("%-9s %-8s %5ld %6ld %8zu %6.1f%% %10.3g %13.3g %12.3g  %s\n", path, t[i].optim,
               t[i].cases, t[i].steps, t[i].values, 100.0 * (double)t[i].exact / (double)t[i].values,
               t[i].worst_abs, t[i].worst_params, t[i].worst_state, t[i].worst_where);
}

int main(void)
{
    fx_blob blob = {0};
    FILE *index = fopen(fixture_path("parity_optim.txt"), "r");
    CHECK_MSG(index != NULL, "cannot open %s", fixture_path("parity_optim.txt"));
    CHECK_MSG(load_blob(&blob), "cannot read %s", fixture_path("parity_optim.bin"));
    if (!index || !blob.data)
        return check_summary("parity_optim");

    err_stats by_update[8], by_optim[8], wrong_lr[8];
    size_t n_update = 0, n_optim = 0, n_wrong = 0;
    char line[2048];
    long cases = 0;
    const char *optims_seen[8] = {0};
    while (fgets(line, sizeof line, index)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        fx_case c;
        int ok = parse_case(line, &c);
        CHECK_MSG(ok, "bad index line %ld", cases + 1);
        if (!ok)
            continue;
        CHECK_MSG(case_end(&c) <= blob.size, "%s: data past the end of the blob", c.name);
        if (case_end(&c) > blob.size)
            continue;
        cases++;
        char optim[16];
        snprintf(optim, sizeof optim, "%.*s", (int)strcspn(c.spec, "("), c.spec);
        size_t bad = replay_update(&blob, &c, stats_for(by_update, &n_update, optim), 1.0, 1);
        CHECK_MSG(bad == 0, "%s via rv_update: %zu values differ from torch", c.name, bad);
        bad = replay_optim(&blob, &c, stats_for(by_optim, &n_optim, optim));
        CHECK_MSG(bad == 0, "%s via rv_optim: %zu values differ from torch", c.name, bad);

        /* the first case of each optimizer again, with lr 0.1% too large: must fail */
        size_t k = 0;
        while (k < 8 && optims_seen[k] && strcmp(optims_seen[k], optim))
            k++;
        if (k < 8 && !optims_seen[k]) {
            optims_seen[k] = rv_optim_type_name(rv_optim_type_find(optim));
            bad = replay_update(&blob, &c, stats_for(wrong_lr, &n_wrong, optim), 1.001, 0);
            CHECK_MSG(bad > 0, "%s: a 0.1%% lr error went unnoticed", c.name);
        }
    }
    fclose(index);
    free(blob.data);

    CHECK_MSG(cases >= 150, "only %ld cases in the fixtures", cases);
    CHECK_MSG(n_update == 6, "%zu optimizers in the fixtures, want 6", n_update);
    for (size_t i = 0; i < n_update; i++)
        CHECK_MSG(by_update[i].steps / by_update[i].cases >= 200, "%s: fewer than 200 steps",
                  by_update[i].optim);
    printf("torch parity, tolerance |ours - torch| <= %g * max(1, |torch|), %ld cases\n", TOL,
           cases);
    print_table("rv_update", by_update, n_update);
    print_table("rv_optim", by_optim, n_optim);
    printf("sensitivity: the same replays with lr * 1.001 (must exceed the tolerance)\n");
    print_table("wrong_lr", wrong_lr, n_wrong);
    return check_summary("parity_optim");
}
