/* PyTorch parity of every optimizer.

   Two fixture sets, both written by generators in tests/fixtures/ (see
   docs/parity.md):
   - parity_optim.{txt,bin} (gen_fixtures.py): runs of torch 1.13's own
     torch.optim classes: sgd, adam, adamw, rmsprop, adagrad, and polyak as
     an explicit float32 torch recurrence;
   - parity_modern.{txt,bin} (gen_modern.py): float32 transcriptions of the
     current references for what torch 1.13 lacks or computes otherwise:
     nadam, radam, adamax (torch >= 2.1 with decoupled decay), lion
     (lion-pytorch), adafactor (torch >= 2.5), muon (torch >= 2.9, Newton-
     Schulz in float32) and sfadamw (schedule_free), with tensor shapes;
   - parity_bf16.{txt,bin} (gen_bf16.py): bf16 parameters over float32
     master weights, every optimizer: torch's fp32 step on the master, then
     .to(torch.bfloat16), replayed through rv_optim_add_param_bf16.
   Every case is >= 100 steps of noisy gradients with the params after each
   step and the final state. Each is replayed through the stateless
   rv_update_state (element-wise algorithms) and through the stateful
   rv_optim, and every element of every step and of the final state must
   satisfy |ours - ref| <= tol * max(1, |ref|), tol = 1e-5 (1e-4 for muon,
   whose matrix products sum in another order). The element-wise algorithms
   must in fact agree bit for bit: the kernels round where torch's CPU
   kernels round (src/kernels/coeffs.h), so any difference is a defect.
   adafactor and muon reduce over rows, columns and matrix products, whose
   summation order is the library's own. The worst errors per optimizer are
   printed (docs/parity.md quotes them).

   With bf16 parameters the element-wise algorithms must reproduce both the
   masters and the bf16 parameters bit for bit; adafactor's and muon's
   masters are held to their tolerances and their bf16 parameters must be
   their own masters rounded to nearest even.

   A replay with lr off by 0.1% must fail the same comparison, so the
   tolerance is known to be tight enough to catch a wrong coefficient. */
#include "ravine/ravine.h"
#include "check.h"
#include "kernels/bf16.h"

#include <stdint.h>
#include <stdlib.h>

#define TOL 1e-5
#define TOL_MUON 1e-4
#define SCHED_TOL 1e-9
#define MAX_TENSORS 8
#define MAX_GROUPS 4
#define MAX_ENTRIES 6     /* state buffers and scalars of one tensor */
#define MAX_OPTIMS 16
#define MAX_REPORTED 20   /* mismatching elements printed in full */

/* One final-state entry of one tensor: a buffer or a scalar. */
typedef struct fx_entry {
    char name[32];
    size_t count;
    size_t offset;        /* byte offset in the blob */
} fx_entry;

typedef struct fx_case {
    char name[64];
    char spec[256];
    char schedule[256];                   /* "" when lr is constant */
    char groups[MAX_GROUPS][128];         /* overrides of group 0 for groups 1.. */
    size_t n_groups;
    size_t n_tensors, size[MAX_TENSORS], group[MAX_TENSORS], at[MAX_TENSORS];
    size_t ndim[MAX_TENSORS], dims[MAX_TENSORS][RV_MAX_DIMS];   /* ndim 0: no shape given */
    size_t numel;                         /* N: elements over all tensors */
    long steps;
    fx_entry state[MAX_TENSORS][MAX_ENTRIES];
    size_t n_entries[MAX_TENSORS];
    int modern;                           /* tensor-major state, eval params */
    int bf16;                             /* bf16 params over float32 masters */
    size_t eval_offset;                   /* sfadamw: the params in eval mode */
    size_t lr_offset;                     /* with a schedule: K float64 */
    size_t end;
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
    double worst_params, worst_state;     /* scaled, params / final state only */
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

static int load_blob(const char *file, fx_blob *b)
{
    FILE *f = fopen(fixture_path(file), "rb");
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

/* Byte offsets of the parts of a case (see the generators). */
static size_t off_grads(const fx_case *c, long k)
{
    return c->offset + 4 * (c->numel + 2 * (size_t)k * c->numel);
}
static size_t off_params(const fx_case *c, long k) { return off_grads(c, k) + 4 * c->numel; }

/* bf16 cases: initial params (N uint16); per step grads (N uint16), params
   (N uint16) and masters (N float32) */
static size_t off_bf16_step(const fx_case *c, long k)
{
    return c->offset + 2 * c->numel + 8 * (size_t)k * c->numel;
}

static void read_u16(const fx_blob *b, size_t off, size_t n, uint16_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint16_t)(b->data[off + 2 * i] | b->data[off + 2 * i + 1] << 8);
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* "7@0,4x9@1": each tensor's shape (or size) and group */
static int parse_tensors(fx_case *c, const char *p)
{
    while (*p && c->n_tensors < MAX_TENSORS) {
        size_t t = c->n_tensors++;
        char *end;
        c->size[t] = 1;
        for (;;) {
            size_t d = (size_t)strtoul(p, &end, 10);
            if (end == p || c->ndim[t] >= RV_MAX_DIMS)
                return 0;
            c->dims[t][c->ndim[t]++] = d;
            c->size[t] *= d;
            p = end;
            if (*p != 'x')
                break;
            p++;
        }
        if (*p != '@')
            return 0;
        c->group[t] = (size_t)strtoul(p + 1, &end, 10);
        c->at[t] = c->numel;
        c->numel += c->size[t];
        p = *end == ',' ? end + 1 : end;
    }
    return 1;
}

/* legacy: "exp_avg,exp_avg_sq" (same buffers for every tensor, N floats each);
   modern: "row_var:4,col_var:9/variance:7" (per tensor, name:count) */
static int parse_state(fx_case *c, const char *val)
{
    if (!strcmp(val, "-"))
        return 1;
    const char *p = val;
    for (size_t t = 0; t < c->n_tensors && *p; t++) {
        size_t part = c->modern ? strcspn(p, "/") : strlen(p);
        const char *q = p;
        while (q < p + part) {
            size_t len = strcspn(q, ",/");
            if (len > (size_t)(p + part - q))
                len = (size_t)(p + part - q);
            fx_entry *e = &c->state[t][c->n_entries[t]];
            if (c->n_entries[t] >= MAX_ENTRIES)
                return 0;
            if (c->modern) {
                const char *colon = memchr(q, ':', len);
                if (!colon)
                    return strncmp(q, "-", len) == 0;
                snprintf(e->name, sizeof e->name, "%.*s", (int)(colon - q), q);
                e->count = (size_t)strtoul(colon + 1, NULL, 10);
            } else {
                snprintf(e->name, sizeof e->name, "%.*s", (int)len, q);
            }
            c->n_entries[t]++;
            q += len + (q[len] == ',');
        }
        if (!c->modern) {
            /* the same list for every tensor */
            for (size_t u = 1; u < c->n_tensors; u++) {
                memcpy(c->state[u], c->state[0], sizeof c->state[0]);
                c->n_entries[u] = c->n_entries[0];
            }
            break;
        }
        p += part + (p[part] == '/');
    }
    return 1;
}

/* Where each state entry, the eval params and the lrs lie. */
static void lay_out(fx_case *c)
{
    size_t off = c->bf16 ? off_bf16_step(c, c->steps) : off_grads(c, c->steps);
    if (c->bf16) {
        /* no final state: the masters of every step stand for it */
    } else if (c->modern) {
        for (size_t t = 0; t < c->n_tensors; t++)
            for (size_t j = 0; j < c->n_entries[t]; j++) {
                c->state[t][j].offset = off;
                off += 4 * c->state[t][j].count;
            }
        if (!strncmp(c->spec, "sfadamw", 7)) {
            c->eval_offset = off;
            off += 4 * c->numel;
        }
    } else {
        /* buffer-major: buffer j of every tensor, N floats per buffer */
        for (size_t t = 0; t < c->n_tensors; t++)
            for (size_t j = 0; j < c->n_entries[t]; j++) {
                c->state[t][j].count = c->size[t];
                c->state[t][j].offset = off + 4 * (j * c->numel + c->at[t]);
            }
        off += 4 * c->n_entries[0] * c->numel;
    }
    c->lr_offset = off;
    c->end = c->schedule[0] ? off + 8 * (size_t)c->steps : off;
}

/* One index line: space-separated key=value fields; group= may repeat. */
static int parse_case(char *line, fx_case *c, int modern, int bf16)
{
    memset(c, 0, sizeof *c);
    c->n_groups = 1;
    c->modern = modern || bf16;
    c->bf16 = bf16;
    const char *state = "-";
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
            if (!parse_tensors(c, val))
                return 0;
        } else if (!strcmp(key, "state")) {
            state = val;   /* needs the tensors: parsed last */
        }
    }
    for (size_t t = 0; t < c->n_tensors; t++)
        if (c->group[t] >= c->n_groups || !c->size[t])
            return 0;
    if (!c->modern)
        for (size_t t = 0; t < c->n_tensors; t++)
            c->ndim[t] = 0;   /* legacy cases are plain vectors */
    if (!parse_state(c, state))
        return 0;
    lay_out(c);
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

static double tolerance(const fx_case *c) { return strncmp(c->spec, "muon", 4) ? TOL : TOL_MUON; }

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
        if (!(scaled <= tolerance(c))) {   /* NaN counts as a mismatch */
            bad++;
            if (verbose && reported++ < MAX_REPORTED)
                fprintf(stderr, "%s (%s, %s): %s after step %ld, element %zu: got %.9g, ref %.9g\n",
                        c->name, c->spec, path, what, step, i, (double)got[i], w);
        }
    }
    return bad;
}

/* The reference's entry `name` of tensor t, or NULL. */
static const fx_entry *entry(const fx_case *c, size_t t, const char *name)
{
    for (size_t j = 0; j < c->n_entries[t]; j++)
        if (!strcmp(c->state[t][j].name, name))
            return &c->state[t][j];
    return NULL;
}

/* Compare ravine's final state (buffers and scalars, as named by the
   library) of tensor t with the reference's: the same names, the same
   values. Every reference entry must be matched; a scalar the reference does
   not record (sfadamw's lr_max and weight_sum, group values upstream) is
   checked through the parameters it shapes. */
static size_t compare_final(err_stats *st, int verbose, const fx_blob *b, const fx_case *c,
                            const char *path, size_t t, const char *const *names,
                            const float *const *bufs, const size_t *lens, size_t n_bufs,
                            const char *const *scalar_names, const double *scalars,
                            size_t n_scalars)
{
    size_t bad = 0, matched = 0;
    for (size_t i = 0; i < n_bufs + n_scalars; i++) {
        const char *name = i < n_bufs ? names[i] : scalar_names[i - n_bufs];
        const fx_entry *e = entry(c, t, name);
        size_t len = i < n_bufs ? lens[i] : 1;
        if (!e && i >= n_bufs)
            continue;
        CHECK_MSG(e && e->count == len, "%s tensor %zu: ravine's %s (%zu values) is not in the "
                  "reference's state", c->name, t, name, len);
        if (!e || e->count != len) {
            bad++;
            continue;
        }
        matched++;
        float *want = malloc(len * sizeof *want), got1;
        read_f32(b, e->offset, len, want);
        if (i >= n_bufs)
            got1 = (float)scalars[i - n_bufs];
        bad += compare(st, verbose, i < n_bufs ? bufs[i] : &got1, want, len, c, path, name,
                       c->steps);
        free(want);
    }
    CHECK_MSG(matched == c->n_entries[t], "%s tensor %zu: the reference keeps %zu state entries, "
              "ravine matched %zu", c->name, t, c->n_entries[t], matched);
    return bad + (matched != c->n_entries[t]);
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
    return s == RV_OK;
}

/* The lr of step k: the schedule's, checked against the lr the reference used. */
static double schedule_lr(const fx_blob *b, const fx_case *c, const rv_schedule *s, long k)
{
    double ours = rv_schedule_lr(s, k), ref = read_f64(b, c->lr_offset + 8 * (size_t)k);
    CHECK_MSG(fabs(ours - ref) <= SCHED_TOL * fabs(ref),
              "%s: schedule %s at t=%ld: %.17g, reference %.17g", c->name, c->schedule, k, ours,
              ref);
    return ours;
}

/* ---- the two replays -------------------------------------------------------- */

/* Stateless: rv_update_state per tensor with caller-owned state. lr_scale
   != 1 replays with a deliberately wrong lr. Returns mismatching values. */
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

    size_t n = c->numel, bad = 0, k_max = RV_MAX_STATE;
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *want = malloc(n * sizeof *want);
    float *mem = calloc(k_max * n + 1, sizeof *mem);
    rv_state state[MAX_TENSORS];
    read_f32(b, c->offset, n, p);
    for (size_t t = 0; t < c->n_tensors; t++) {
        memset(&state[t], 0, sizeof state[t]);
        for (size_t i = 0; i < k_max; i++)
            state[t].buf[i] = mem + i * n + c->at[t];
        CHECK_STATUS(rv_state_start(type, &h[c->group[t]], c->size[t], p + c->at[t], &state[t]),
                     RV_OK);
    }
    for (long k = 0; k < c->steps; k++) {
        if (sched) {
            double lr = schedule_lr(b, c, sched, k) * lr_scale;
            for (size_t gi = 0; gi < c->n_groups; gi++)
                h[gi].lr = lr;
        }
        read_f32(b, off_grads(c, k), n, g);
        for (size_t t = 0; t < c->n_tensors; t++) {
            rv_status s = rv_update_state(type, &h[c->group[t]], k + 1, c->size[t], p + c->at[t],
                                          g + c->at[t], &state[t]);
            if (s) {
                CHECK_MSG(0, "%s: rv_update_state at step %ld: %s", c->name, k + 1, rv_errmsg());
                bad++;
                goto done;
            }
        }
        read_f32(b, off_params(c, k), n, want);
        bad += compare(st, verbose, p, want, n, c, "stateless", "params", k + 1);
    }
    for (size_t t = 0; t < c->n_tensors; t++) {
        const rv_hparams *ht = &h[c->group[t]];
        const char *names[RV_MAX_STATE], *scalar_names[RV_MAX_SCALARS];
        const float *bufs[RV_MAX_STATE];
        size_t lens[RV_MAX_STATE], nb = rv_state_count(type, ht), ns = rv_scalar_count(type, ht);
        for (size_t i = 0; i < nb; i++) {
            names[i] = rv_state_name(type, ht, i);
            bufs[i] = state[t].buf[i];
            lens[i] = c->size[t];
        }
        for (size_t i = 0; i < ns; i++)
            scalar_names[i] = rv_scalar_name(type, ht, i);
        bad += compare_final(st, verbose, b, c, "stateless", t, names, bufs, lens, nb,
                             scalar_names, state[t].scalar, ns);
    }
done:
    st->cases++;
    st->steps += c->steps;
    rv_schedule_free(sched);
    free(p);
    free(g);
    free(want);
    free(mem);
    return bad;
}

/* Stateful: rv_optim with param groups and shapes, state allocated by the
   optimizer; sfadamw's eval-mode parameters at the end. */
static size_t replay_optim(const fx_blob *b, const fx_case *c, err_stats *st, double lr_scale,
                           int verbose)
{
    const rv_optim_type *type;
    rv_hparams h[MAX_GROUPS];
    if (!case_hparams(c, &type, h))
        return 1;
    rv_optim *opt = NULL;
    rv_status s = rv_optim_create(&opt, type, &h[0]);
    CHECK_MSG(s == RV_OK, "%s: %s", c->name, rv_errmsg());
    if (s)
        return 1;
    for (size_t gi = 1; gi < c->n_groups; gi++) {
        size_t index = 0;
        CHECK_STATUS(rv_optim_add_group(opt, &h[gi], &index), RV_OK);
        CHECK(index == gi);
    }
    for (size_t gi = 0; gi < c->n_groups; gi++)
        CHECK_STATUS(rv_optim_group_set_lr(opt, gi, h[gi].lr * lr_scale), RV_OK);
    rv_schedule *sched = NULL;
    if (c->schedule[0])
        CHECK_STATUS(rv_schedule_parse(c->schedule, &sched), RV_OK);

    size_t n = c->numel, bad = 0;
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *want = malloc(n * sizeof *want);
    read_f32(b, c->offset, n, p);
    for (size_t t = 0; t < c->n_tensors; t++) {
        char name[16];
        snprintf(name, sizeof name, "t%zu", t);
        if (c->ndim[t])
            s = rv_optim_add_param_shaped(opt, c->group[t], name, p + c->at[t], g + c->at[t],
                                          c->ndim[t], c->dims[t], NULL);
        else
            s = rv_optim_add_param(opt, c->group[t], name, p + c->at[t], g + c->at[t],
                                   c->size[t], NULL);
        CHECK_MSG(s == RV_OK, "%s: %s", c->name, rv_errmsg());
    }
    for (long k = 0; k < c->steps; k++) {
        if (sched)
            CHECK_STATUS(rv_optim_set_lr(opt, schedule_lr(b, c, sched, k) * lr_scale), RV_OK);
        read_f32(b, off_grads(c, k), n, g);
        s = rv_optim_step(opt);
        if (s) {
            CHECK_MSG(0, "%s: rv_optim_step at step %ld: %s", c->name, k + 1, rv_errmsg());
            bad++;
            goto done;
        }
        read_f32(b, off_params(c, k), n, want);
        bad += compare(st, verbose, p, want, n, c, "rv_optim", "params", k + 1);
    }
    CHECK(rv_optim_step_count(opt) == c->steps);
    for (size_t t = 0; t < c->n_tensors; t++) {
        rv_param_view v;
        CHECK_STATUS(rv_optim_param_view(opt, t, &v), RV_OK);
        CHECK(v.step == c->steps && v.n == c->size[t]);
        bad += compare_final(st, verbose, b, c, "rv_optim", t, v.state_name,
                             (const float *const *)v.state, v.state_len, v.n_state, v.scalar_name,
                             v.scalar, v.n_scalars);
    }
    if (c->eval_offset) {
        CHECK_STATUS(rv_optim_eval(opt), RV_OK);
        read_f32(b, c->eval_offset, n, want);
        bad += compare(st, verbose, p, want, n, c, "rv_optim", "eval params", c->steps);
        CHECK_STATUS(rv_optim_step(opt), RV_ERR_MODE);
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

/* bf16 parameters over float32 masters: rv_optim_add_param_bf16, the
   reference's gradients, and after every step the bf16 parameters and the
   masters compared. bad_rounding counts bf16 parameters that are not their
   own master rounded to nearest even (always a defect). */
static size_t replay_bf16(const fx_blob *b, const fx_case *c, err_stats *st, err_stats *st16,
                          size_t *bad_rounding, double lr_scale, int verbose)
{
    const rv_optim_type *type;
    rv_hparams h[MAX_GROUPS];
    if (!case_hparams(c, &type, h))
        return 1;
    rv_optim *opt = NULL;
    rv_status s = rv_optim_create(&opt, type, &h[0]);
    CHECK_MSG(s == RV_OK, "%s: %s", c->name, rv_errmsg());
    if (s)
        return 1;
    for (size_t gi = 1; gi < c->n_groups; gi++)
        CHECK_STATUS(rv_optim_add_group(opt, &h[gi], NULL), RV_OK);
    for (size_t gi = 0; gi < c->n_groups; gi++)
        CHECK_STATUS(rv_optim_group_set_lr(opt, gi, h[gi].lr * lr_scale), RV_OK);
    rv_schedule *sched = NULL;
    if (c->schedule[0])
        CHECK_STATUS(rv_schedule_parse(c->schedule, &sched), RV_OK);

    size_t n = c->numel, bad = 0;
    uint16_t *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *want16 = malloc(n * sizeof *want16);
    float *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    float *master[MAX_TENSORS];
    read_u16(b, c->offset, n, p);
    for (size_t t = 0; t < c->n_tensors; t++) {
        char name[16];
        snprintf(name, sizeof name, "t%zu", t);
        s = rv_optim_add_param_bf16(opt, c->group[t], name, p + c->at[t], g + c->at[t],
                                    c->ndim[t], c->dims[t], NULL);
        CHECK_MSG(s == RV_OK, "%s: %s", c->name, rv_errmsg());
    }
    for (long k = 0; k < c->steps; k++) {
        if (sched)
            CHECK_STATUS(rv_optim_set_lr(opt, schedule_lr(b, c, sched, k) * lr_scale), RV_OK);
        read_u16(b, off_bf16_step(c, k), n, g);
        if ((s = rv_optim_step(opt))) {
            CHECK_MSG(0, "%s: rv_optim_step at step %ld: %s", c->name, k + 1, rv_errmsg());
            bad++;
            break;
        }
        if (k == 0)
            for (size_t t = 0; t < c->n_tensors; t++) {
                rv_param_view v;
                CHECK_STATUS(rv_optim_param_view(opt, t, &v), RV_OK);
                master[t] = v.master;
            }
        /* masters against the reference's masters */
        for (size_t t = 0; t < c->n_tensors; t++)
            memcpy(got + c->at[t], master[t], c->size[t] * sizeof *got);
        read_f32(b, off_bf16_step(c, k) + 4 * n, n, want);
        bad += compare(st, verbose, got, want, n, c, "bf16", "masters", k + 1);
        /* the bf16 parameters, widened, against the reference's */
        read_u16(b, off_bf16_step(c, k) + 2 * n, n, want16);
        float *p32 = malloc(n * sizeof *p32), *w32 = malloc(n * sizeof *w32);
        for (size_t i = 0; i < n; i++) {
            p32[i] = rv_bf16_to_f32(p[i]);
            w32[i] = rv_bf16_to_f32(want16[i]);
            *bad_rounding += p[i] != rv_f32_to_bf16(got[i]);
        }
        size_t bad16 = compare(st16, verbose && rv_optim_type_elementwise(type), p32, w32, n, c,
                               "bf16", "params", k + 1);
        /* adafactor's and muon's bf16 params follow their own masters */
        if (rv_optim_type_elementwise(type))
            bad += bad16;
        free(p32);
        free(w32);
    }
    st->cases++;
    st->steps += c->steps;
    st16->cases++;
    st16->steps += c->steps;
    rv_schedule_free(sched);
    rv_optim_free(opt);
    free(p);
    free(g);
    free(want16);
    free(got);
    free(want);
    return bad;
}

/* ---- driver -------------------------------------------------------------- */

static void print_table(const char *path, const err_stats *t, size_t n)
{
    printf("%-9s %-9s %5s %6s %8s %7s %10s %13s %12s  worst at\n", "path", "optim", "cases",
           "steps", "values", "exact", "worst_abs", "params_scaled", "state_scaled");
    for (size_t i = 0; i < n; i++)
        printf("%-9s %-9s %5ld %6ld %8zu %6.1f%% %10.3g %13.3g %12.3g  %s\n", path, t[i].optim,
               t[i].cases, t[i].steps, t[i].values, 100.0 * (double)t[i].exact / (double)t[i].values,
               t[i].worst_abs, t[i].worst_params, t[i].worst_state, t[i].worst_where);
}

typedef struct run_stats {
    err_stats by_update[MAX_OPTIMS], by_optim[MAX_OPTIMS], wrong_lr[MAX_OPTIMS];
    err_stats masters[MAX_OPTIMS], bf16[MAX_OPTIMS];
    size_t n_update, n_optim, n_wrong, n_masters, n_bf16, bad_rounding;
    long cases;
} run_stats;

/* Replay every case of one fixture set. */
static void replay_file(const char *stem, int modern, int bf16, run_stats *r)
{
    char txt[64], bin[64];
    snprintf(txt, sizeof txt, "%s.txt", stem);
    snprintf(bin, sizeof bin, "%s.bin", stem);
    fx_blob blob = {0};
    FILE *index = fopen(fixture_path(txt), "r");
    CHECK_MSG(index != NULL, "cannot open %s", fixture_path(txt));
    CHECK_MSG(load_blob(bin, &blob), "cannot read %s", fixture_path(bin));
    if (!index || !blob.data) {
        if (index)
            fclose(index);
        free(blob.data);
        return;
    }
    char line[4096];
    const char *optims_seen[MAX_OPTIMS] = {0};
    while (fgets(line, sizeof line, index)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        fx_case c;
        int ok = parse_case(line, &c, modern, bf16);
        CHECK_MSG(ok, "%s: bad index line after %ld cases", txt, r->cases);
        if (!ok)
            continue;
        CHECK_MSG(c.end <= blob.size, "%s: data past the end of the blob", c.name);
        if (c.end > blob.size)
            continue;
        r->cases++;
        char optim[16];
        snprintf(optim, sizeof optim, "%.*s", (int)strcspn(c.spec, "("), c.spec);
        const rv_optim_type *type = rv_optim_type_find(optim);
        int elementwise = rv_optim_type_elementwise(type);
        size_t bad;
        if (bf16) {
            bad = replay_bf16(&blob, &c, stats_for(r->masters, &r->n_masters, optim),
                              stats_for(r->bf16, &r->n_bf16, optim), &r->bad_rounding, 1.0, 1);
            CHECK_MSG(bad == 0, "%s with bf16 parameters: %zu values differ", c.name, bad);
            continue;
        }
        if (elementwise) {
            bad = replay_update(&blob, &c, stats_for(r->by_update, &r->n_update, optim), 1.0, 1);
            CHECK_MSG(bad == 0, "%s via rv_update_state: %zu values differ", c.name, bad);
        }
        bad = replay_optim(&blob, &c, stats_for(r->by_optim, &r->n_optim, optim), 1.0, 1);
        CHECK_MSG(bad == 0, "%s via rv_optim: %zu values differ", c.name, bad);

        /* the first case of each optimizer again, with lr 0.1% too large: must fail */
        size_t k = 0;
        while (k < MAX_OPTIMS && optims_seen[k] && strcmp(optims_seen[k], optim))
            k++;
        if (k < MAX_OPTIMS && !optims_seen[k]) {
            optims_seen[k] = rv_optim_type_name(type);
            err_stats *w = stats_for(r->wrong_lr, &r->n_wrong, optim);
            bad = elementwise ? replay_update(&blob, &c, w, 1.001, 0)
                              : replay_optim(&blob, &c, w, 1.001, 0);
            CHECK_MSG(bad > 0, "%s: a 0.1%% lr error went unnoticed", c.name);
        }
    }
    fclose(index);
    free(blob.data);
}

int main(void)
{
    static run_stats r;
    replay_file("parity_optim", 0, 0, &r);
    long legacy = r.cases;
    replay_file("parity_modern", 1, 0, &r);
    long fp32 = r.cases;
    replay_file("parity_bf16", 0, 1, &r);

    CHECK_MSG(legacy >= 150, "only %ld cases in parity_optim", legacy);
    for (size_t i = 0; i < r.n_optim; i++) {
        const err_stats *o = &r.by_optim[i];
        if (!rv_optim_type_elementwise(rv_optim_type_find(o->optim)))
            continue;
        const err_stats *u = stats_for(r.by_update, &r.n_update, o->optim);
        CHECK_MSG(o->exact == o->values && u->exact == u->values,
                  "%s: %zu of %zu values not bit-identical to the reference", o->optim,
                  o->values - o->exact, o->values);
    }
    CHECK_MSG(r.n_optim == 13, "%zu optimizers in the fixtures, want 13", r.n_optim);
    for (size_t i = 0; i < r.n_optim; i++)
        CHECK_MSG(r.by_optim[i].steps / r.by_optim[i].cases >= 100, "%s: fewer than 100 steps",
                  r.by_optim[i].optim);
    printf("parity, tolerance |ours - ref| <= %g * max(1, |ref|) (muon %g), %ld cases\n", TOL,
           TOL_MUON, r.cases);
    print_table("stateless", r.by_update, r.n_update);
    print_table("rv_optim", r.by_optim, r.n_optim);
    printf("sensitivity: the same replays with lr * 1.001 (must exceed the tolerance)\n");
    print_table("wrong_lr", r.wrong_lr, r.n_wrong);
    printf("bf16 parameters over float32 masters, %ld cases: the masters, then the bf16 "
           "parameters\n", r.cases - fp32);
    print_table("masters", r.masters, r.n_masters);
    print_table("bf16", r.bf16, r.n_bf16);
    CHECK_MSG(r.n_bf16 == 13, "%zu optimizers in the bf16 fixtures, want 13", r.n_bf16);
    CHECK_MSG(r.bad_rounding == 0, "%zu bf16 parameters are not their master rounded to nearest "
              "even", r.bad_rounding);
    for (size_t i = 0; i < r.n_bf16; i++) {
        const err_stats *m = &r.masters[i], *p = &r.bf16[i];
        if (rv_optim_type_elementwise(rv_optim_type_find(p->optim)))
            CHECK_MSG(m->exact == m->values && p->exact == p->values,
                      "%s: bf16 run not bit-identical to torch (%zu masters, %zu params differ)",
                      p->optim, m->values - m->exact, p->values - p->exact);
    }
    return check_summary("parity_optim");
}
