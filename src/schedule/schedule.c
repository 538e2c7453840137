/* Learning-rate schedules: parsed once, then evaluated as pure functions of
   the update index t. Formulas follow torch.optim.lr_scheduler's closed forms
   (and optax's for warmup_cosine); docs/schedules.md lists them. */
#include "ravine/schedule.h"
#include "spec/bind.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MAX_MILESTONES 64

typedef enum kind {
    K_CONSTANT, K_STEP, K_MULTISTEP, K_EXPONENTIAL, K_COSINE, K_LINEAR, K_POLY,
    K_WARMUP_COSINE, K_ONECYCLE, K_COSINE_RESTARTS, K_WSD, K_INVERSE_SQRT, K_THEN, K_SCALE,
    K_COUNT
} kind;

static const char *const kind_names[K_COUNT + 1] = {
    "constant", "step", "multistep", "exponential", "cosine", "linear", "poly",
    "warmup_cosine", "onecycle", "cosine_restarts", "wsd", "inverse_sqrt", "then", "scale", NULL};

struct rv_schedule {
    kind kind;
    char *text;                 /* canonical spec */
    double lr, gamma, eta_min, start_factor, end_factor, power, init, end, factor;
    double pct_start, div_factor, final_div_factor;
    double step_size, t_max, total, warmup, stable, decay_steps, t_0, t_mult, at;
    double milestones[MAX_MILESTONES];
    size_t n_milestones;
    int anneal;                 /* onecycle: 0 cos, 1 linear; wsd: 0 linear, 1 cosine, 2 sqrt */
    int three_phase;
    rv_schedule *first, *second;
};

const char *rv_schedule_name_at(size_t i) { return i < K_COUNT ? kind_names[i] : NULL; }
const char *rv_schedule_name(const rv_schedule *s) { return s ? kind_names[s->kind] : ""; }

void rv_schedule_free(rv_schedule *s)
{
    if (!s)
        return;
    rv_schedule_free(s->first);
    rv_schedule_free(s->second);
    free(s->text);
    free(s);
}

static double cosine_between(double from, double to, double frac)
{
    return to + (from - to) * (1.0 + cos(M_PI * frac)) / 2.0;
}

static double onecycle_lr(const rv_schedule *s, double t)
{
    double initial = s->lr / s->div_factor;
    double min_lr = initial / s->final_div_factor;
    double ends[3], from[3], to[3];
    int phases;
    if (s->three_phase) {
        phases = 3;
        ends[0] = s->pct_start * s->total - 1;
        ends[1] = 2 * s->pct_start * s->total - 2;
        ends[2] = s->total - 1;
        from[0] = initial, to[0] = s->lr;
        from[1] = s->lr, to[1] = initial;
        from[2] = initial, to[2] = min_lr;
    } else {
        phases = 2;
        ends[0] = s->pct_start * s->total - 1;
        ends[1] = s->total - 1;
        from[0] = initial, to[0] = s->lr;
        from[1] = s->lr, to[1] = min_lr;
    }
    if (t > s->total - 1)
        t = s->total - 1;
    double start = 0;
    for (int i = 0; i < phases; i++) {
        if (t <= ends[i] || i == phases - 1) {
            double pct = (t - start) / (ends[i] - start);
            if (s->anneal == 1)
                return (to[i] - from[i]) * pct + from[i];
            return to[i] + (from[i] - to[i]) / 2.0 * (cos(M_PI * pct) + 1);
        }
        start = ends[i];
    }
    return min_lr;
}

double rv_schedule_lr(const rv_schedule *s, long step)
{
    if (!s)
        return 0.0;
    double t = step < 0 ? 0.0 : (double)step;
    switch (s->kind) {
    case K_CONSTANT:
        return s->lr;
    case K_STEP:
        return s->lr * pow(s->gamma, floor(t / s->step_size));
    case K_MULTISTEP: {
        int k = 0;
        for (size_t i = 0; i < s->n_milestones; i++)
            k += s->milestones[i] <= t;
        return s->lr * pow(s->gamma, k);
    }
    case K_EXPONENTIAL:
        return s->lr * pow(s->gamma, t);
    case K_COSINE:
        return t >= s->t_max ? s->eta_min : cosine_between(s->lr, s->eta_min, t / s->t_max);
    case K_LINEAR: {
        double f = s->start_factor +
                   (s->end_factor - s->start_factor) * fmin(t, s->total) / s->total;
        return s->lr * f;
    }
    case K_POLY:
        return s->lr * pow(1.0 - fmin(t, s->total) / s->total, s->power);
    case K_WARMUP_COSINE:
        if (t < s->warmup)
            return s->init + (s->lr - s->init) * t / s->warmup;
        {
            double span = s->decay_steps - s->warmup;
            return cosine_between(s->lr, s->end, fmin(t - s->warmup, span) / span);
        }
    case K_ONECYCLE:
        return onecycle_lr(s, t);
    case K_COSINE_RESTARTS: {
        double cur = t, len = s->t_0;
        if (s->t_mult == 1.0) {
            cur = fmod(t, s->t_0);
        } else {
            while (cur >= len) {
                cur -= len;
                len *= s->t_mult;
            }
        }
        return cosine_between(s->lr, s->eta_min, cur / len);
    }
    case K_WSD: {
        if (t < s->warmup)
            return s->init + (s->lr - s->init) * t / s->warmup;
        double d = t - s->warmup - s->stable;
        if (d < 0)
            return s->lr;
        if (d >= s->decay_steps)
            return s->end;
        double frac = d / s->decay_steps;
        if (s->anneal == 1)
            return cosine_between(s->lr, s->end, frac);
        if (s->anneal == 2)
            return s->lr + (s->end - s->lr) * sqrt(frac);
        return s->lr + (s->end - s->lr) * frac;
    }
    case K_INVERSE_SQRT:
        if (t < s->warmup)
            return s->init + (s->lr - s->init) * t / s->warmup;
        return s->warmup > 0 ? s->lr * sqrt(s->warmup / t) : s->lr / sqrt(t + 1.0);
    case K_THEN:
        return t < s->at ? rv_schedule_lr(s->first, step) : rv_schedule_lr(s->second, step - (long)s->at);
    case K_SCALE:
        return s->factor * rv_schedule_lr(s->first, step);
    case K_COUNT:
        break;
    }
    return 0.0;
}

size_t rv_schedule_format(const rv_schedule *s, char *buf, size_t size)
{
    const char *text = s ? s->text : "";
    if (size)
        snprintf(buf, size, "%s", text);
    return strlen(text);
}

/* ---- parsing ---------------------------------------------------------- */

static const char *const anneal_words[] = {"cos", "linear", NULL};
static const char *const wsd_words[] = {"linear", "cosine", "sqrt", NULL};

static rv_status parse_spec(const rv_spec *spec, rv_schedule **out, int depth);

static rv_status parse_nested(const rv_value *v, rv_schedule **out, int depth)
{
    if (v->kind == RV_VALUE_CALL)
        return parse_spec(v->call, out, depth + 1);
    rv_spec bare = {.name = v->word, .text = v->word};
    return parse_spec(&bare, out, depth + 1);
}

#define NUM(k, field, req) {.key = k, .kind = RV_BIND_NUMBER, .dst = &s->field, .required = req}
#define INT(k, field, req) {.key = k, .kind = RV_BIND_INTEGER, .dst = &s->field, .required = req}
#define BIND(...)                                                                     \
    do {                                                                              \
        const rv_binding table[] = {__VA_ARGS__};                                    \
        st = rv_spec_bind(spec, table, sizeof table / sizeof table[0]);              \
    } while (0)
#define RANGE(cond, code, key, why)                                                   \
    do {                                                                              \
        if (!st && !(cond))                                                           \
            st = rv_spec_range(spec, code, key, why);                                 \
    } while (0)

static rv_status parse_spec(const rv_spec *spec, rv_schedule **out, int depth)
{
    *out = NULL;
    if (depth > 8)
        return rv_fail(RV_ERR_SCHED_JOIN, "spec '%s': schedules nested too deeply", spec->text);
    int k = 0;
    while (kind_names[k] && strcmp(kind_names[k], spec->name))
        k++;
    if (k == K_COUNT) {
        const char *near = rv_closest_word(spec->name, kind_names);
        if (near)
            return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME,
                           "spec '%s': unknown schedule '%s' (did you mean '%s'?)", spec->text,
                           spec->name, near);
        return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME, "spec '%s': unknown schedule '%s' (see ravine schedule --help)",
                       spec->text, spec->name);
    }
    rv_schedule *s = calloc(1, sizeof *s);
    if (!s)
        return rv_fail(RV_ERR_NOMEM, "out of memory");
    s->kind = (kind)k;
    rv_status st = RV_OK;
    const rv_value *first = NULL, *second = NULL;
    char canon[1024];
    canon[0] = '\0';
    switch (s->kind) {
    case K_CONSTANT:
        BIND(NUM("lr", lr, 1));
        snprintf(canon, sizeof canon, "constant(lr=%s)", rv_num(s->lr).s);
        break;
    case K_STEP:
        s->gamma = 0.1;
        BIND(NUM("lr", lr, 1), INT("step_size", step_size, 1), NUM("gamma", gamma, 0));
        RANGE(s->step_size >= 1, RV_ERR_SCHED_STEP_SIZE, "step_size", "must be >= 1");
        RANGE(s->gamma >= 0, RV_ERR_SCHED_GAMMA, "gamma", "must be >= 0");
        snprintf(canon, sizeof canon, "step(lr=%s,step_size=%s,gamma=%s)", rv_num(s->lr).s,
                 rv_num(s->step_size).s, rv_num(s->gamma).s);
        break;
    case K_MULTISTEP: {
        s->gamma = 0.1;
        const rv_binding table[] = {
            NUM("lr", lr, 1),
            {.key = "milestones", .kind = RV_BIND_NUMBERS, .dst = s->milestones, .required = 1,
             .cap = MAX_MILESTONES, .count = &s->n_milestones},
            NUM("gamma", gamma, 0)};
        st = rv_spec_bind(spec, table, 3);
        for (size_t i = 0; !st && i < s->n_milestones; i++)
            RANGE(s->milestones[i] >= 0 && s->milestones[i] == floor(s->milestones[i]) &&
                      (i == 0 || s->milestones[i] >= s->milestones[i - 1]),
                  RV_ERR_SCHED_MILESTONES, "milestones",
                  "must be whole numbers >= 0 in increasing order");
        RANGE(s->gamma >= 0, RV_ERR_SCHED_GAMMA, "gamma", "must be >= 0");
        int len = snprintf(canon, sizeof canon, "multistep(lr=%s,milestones=(", rv_num(s->lr).s);
        for (size_t i = 0; i < s->n_milestones && len < (int)sizeof canon; i++)
            len += snprintf(canon + len, sizeof canon - (size_t)len, "%s%s", i ? "," : "",
                            rv_num(s->milestones[i]).s);
        if (len < (int)sizeof canon)
            snprintf(canon + len, sizeof canon - (size_t)len, "),gamma=%s)", rv_num(s->gamma).s);
        break;
    }
    case K_EXPONENTIAL:
        BIND(NUM("lr", lr, 1), NUM("gamma", gamma, 1));
        RANGE(s->gamma >= 0, RV_ERR_SCHED_GAMMA, "gamma", "must be >= 0");
        snprintf(canon, sizeof canon, "exponential(lr=%s,gamma=%s)", rv_num(s->lr).s,
                 rv_num(s->gamma).s);
        break;
    case K_COSINE:
        BIND(NUM("lr", lr, 1), INT("t_max", t_max, 1), NUM("eta_min", eta_min, 0));
        RANGE(s->t_max >= 1, RV_ERR_SCHED_T_MAX, "t_max", "must be >= 1");
        RANGE(s->eta_min >= 0, RV_ERR_SCHED_ETA_MIN, "eta_min", "must be >= 0");
        snprintf(canon, sizeof canon, "cosine(lr=%s,t_max=%s,eta_min=%s)", rv_num(s->lr).s,
                 rv_num(s->t_max).s, rv_num(s->eta_min).s);
        break;
    case K_LINEAR:
        s->start_factor = 1.0 / 3.0, s->end_factor = 1.0, s->total = 5;
        BIND(NUM("lr", lr, 1), NUM("start_factor", start_factor, 0),
             NUM("end_factor", end_factor, 0), INT("total_iters", total, 0));
        RANGE(s->start_factor > 0 && s->start_factor <= 1, RV_ERR_SCHED_FACTOR, "start_factor",
              "must be in (0, 1]");
        RANGE(s->end_factor >= 0 && s->end_factor <= 1, RV_ERR_SCHED_FACTOR, "end_factor",
              "must be in [0, 1]");
        RANGE(s->total >= 1, RV_ERR_SCHED_TOTAL, "total_iters", "must be >= 1");
        snprintf(canon, sizeof canon, "linear(lr=%s,start_factor=%s,end_factor=%s,total_iters=%s)",
                 rv_num(s->lr).s, rv_num(s->start_factor).s, rv_num(s->end_factor).s,
                 rv_num(s->total).s);
        break;
    case K_POLY:
        s->power = 1;
        BIND(NUM("lr", lr, 1), INT("total_iters", total, 1), NUM("power", power, 0));
        RANGE(s->total >= 1, RV_ERR_SCHED_TOTAL, "total_iters", "must be >= 1");
        RANGE(s->power >= 0, RV_ERR_SCHED_POWER, "power", "must be >= 0");
        snprintf(canon, sizeof canon, "poly(lr=%s,total_iters=%s,power=%s)", rv_num(s->lr).s,
                 rv_num(s->total).s, rv_num(s->power).s);
        break;
    case K_WARMUP_COSINE:
        BIND(NUM("peak", lr, 1), INT("warmup_steps", warmup, 1), INT("decay_steps", decay_steps, 1),
             NUM("init", init, 0), NUM("end", end, 0));
        RANGE(s->lr >= 0, RV_ERR_SCHED_LR, "peak", "must be >= 0");
        RANGE(s->warmup >= 0, RV_ERR_SCHED_WARMUP, "warmup_steps", "must be >= 0");
        RANGE(s->decay_steps > s->warmup, RV_ERR_SCHED_TOTAL, "decay_steps",
              "must be greater than warmup_steps (it includes the warmup)");
        RANGE(s->init >= 0, RV_ERR_SCHED_LR, "init", "must be >= 0");
        RANGE(s->end >= 0, RV_ERR_SCHED_ETA_MIN, "end", "must be >= 0");
        snprintf(canon, sizeof canon,
                 "warmup_cosine(peak=%s,warmup_steps=%s,decay_steps=%s,init=%s,end=%s)",
                 rv_num(s->lr).s, rv_num(s->warmup).s, rv_num(s->decay_steps).s, rv_num(s->init).s,
                 rv_num(s->end).s);
        break;
    case K_ONECYCLE:
        s->pct_start = 0.3, s->div_factor = 25, s->final_div_factor = 1e4;
        {
            const rv_binding table[] = {
                NUM("max_lr", lr, 1), INT("total_steps", total, 1), NUM("pct_start", pct_start, 0),
                NUM("div_factor", div_factor, 0), NUM("final_div_factor", final_div_factor, 0),
                {.key = "anneal", .kind = RV_BIND_WORD, .dst = &s->anneal, .words = anneal_words},
                {.key = "three_phase", .kind = RV_BIND_BOOL, .dst = &s->three_phase}};
            st = rv_spec_bind(spec, table, sizeof table / sizeof table[0]);
        }
        RANGE(s->lr >= 0, RV_ERR_SCHED_LR, "max_lr", "must be >= 0");
        RANGE(s->total >= 2, RV_ERR_SCHED_TOTAL, "total_steps", "must be >= 2");
        RANGE(s->pct_start > 0 && s->pct_start < 1 &&
                  s->pct_start * s->total - 1 > 0 &&
                  (!s->three_phase || 2 * s->pct_start * s->total - 2 < s->total - 1),
              RV_ERR_SCHED_PCT, "pct_start",
              "must be in (0, 1) and leave every phase at least one step");
        RANGE(s->div_factor > 0, RV_ERR_SCHED_DIV, "div_factor", "must be > 0");
        RANGE(s->final_div_factor > 0, RV_ERR_SCHED_DIV, "final_div_factor", "must be > 0");
        snprintf(canon, sizeof canon,
                 "onecycle(max_lr=%s,total_steps=%s,pct_start=%s,div_factor=%s,"
                 "final_div_factor=%s,anneal=%s,three_phase=%s)",
                 rv_num(s->lr).s, rv_num(s->total).s, rv_num(s->pct_start).s,
                 rv_num(s->div_factor).s, rv_num(s->final_div_factor).s, anneal_words[s->anneal],
                 s->three_phase ? "true" : "false");
        break;
    case K_COSINE_RESTARTS:
        s->t_mult = 1;
        BIND(NUM("lr", lr, 1), INT("t_0", t_0, 1), INT("t_mult", t_mult, 0),
             NUM("eta_min", eta_min, 0));
        RANGE(s->t_0 >= 1, RV_ERR_SCHED_T_MAX, "t_0", "must be >= 1");
        RANGE(s->t_mult >= 1, RV_ERR_SCHED_T_MULT, "t_mult", "must be a whole number >= 1");
        RANGE(s->eta_min >= 0, RV_ERR_SCHED_ETA_MIN, "eta_min", "must be >= 0");
        snprintf(canon, sizeof canon, "cosine_restarts(lr=%s,t_0=%s,t_mult=%s,eta_min=%s)",
                 rv_num(s->lr).s, rv_num(s->t_0).s, rv_num(s->t_mult).s, rv_num(s->eta_min).s);
        break;
    case K_WSD: {
        const rv_binding table[] = {
            NUM("lr", lr, 1), INT("warmup_steps", warmup, 1), INT("stable_steps", stable, 1),
            INT("decay_steps", decay_steps, 1), NUM("init", init, 0), NUM("end", end, 0),
            {.key = "decay", .kind = RV_BIND_WORD, .dst = &s->anneal, .words = wsd_words}};
        st = rv_spec_bind(spec, table, sizeof table / sizeof table[0]);
        RANGE(s->warmup >= 0, RV_ERR_SCHED_WARMUP, "warmup_steps", "must be >= 0");
        RANGE(s->stable >= 0, RV_ERR_SCHED_TOTAL, "stable_steps", "must be >= 0");
        RANGE(s->decay_steps >= 1, RV_ERR_SCHED_TOTAL, "decay_steps", "must be >= 1");
        RANGE(s->init >= 0, RV_ERR_SCHED_LR, "init", "must be >= 0");
        RANGE(s->end >= 0, RV_ERR_SCHED_ETA_MIN, "end", "must be >= 0");
        snprintf(canon, sizeof canon,
                 "wsd(lr=%s,warmup_steps=%s,stable_steps=%s,decay_steps=%s,init=%s,"
                 "end=%s,decay=%s)",
                 rv_num(s->lr).s, rv_num(s->warmup).s, rv_num(s->stable).s,
                 rv_num(s->decay_steps).s, rv_num(s->init).s, rv_num(s->end).s,
                 wsd_words[s->anneal]);
        break;
    }
    case K_INVERSE_SQRT:
        BIND(NUM("lr", lr, 1), INT("warmup_steps", warmup, 1), NUM("init", init, 0));
        RANGE(s->warmup >= 0, RV_ERR_SCHED_WARMUP, "warmup_steps", "must be >= 0");
        RANGE(s->init >= 0, RV_ERR_SCHED_LR, "init", "must be >= 0");
        snprintf(canon, sizeof canon, "inverse_sqrt(lr=%s,warmup_steps=%s,init=%s)",
                 rv_num(s->lr).s, rv_num(s->warmup).s, rv_num(s->init).s);
        break;
    case K_THEN: {
        const rv_binding table[] = {
            {.key = "first", .kind = RV_BIND_CALL, .dst = &first, .required = 1},
            {.key = "second", .kind = RV_BIND_CALL, .dst = &second, .required = 1},
            INT("at", at, 1)};
        st = rv_spec_bind(spec, table, 3);
        RANGE(s->at >= 0, RV_ERR_SCHED_JOIN, "at", "must be >= 0");
        if (!st)
            st = parse_nested(first, &s->first, depth);
        if (!st)
            st = parse_nested(second, &s->second, depth);
        if (!st)
            snprintf(canon, sizeof canon, "then(first=%s,second=%s,at=%s)", s->first->text,
                     s->second->text, rv_num(s->at).s);
        break;
    }
    case K_SCALE: {
        const rv_binding table[] = {
            {.key = "of", .kind = RV_BIND_CALL, .dst = &first, .required = 1},
            NUM("factor", factor, 1)};
        st = rv_spec_bind(spec, table, 2);
        RANGE(s->factor >= 0, RV_ERR_SCHED_FACTOR, "factor", "must be >= 0");
        if (!st)
            st = parse_nested(first, &s->first, depth);
        if (!st)
            snprintf(canon, sizeof canon, "scale(of=%s,factor=%s)", s->first->text,
                     rv_num(s->factor).s);
        break;
    }
    case K_COUNT:
        break;
    }
    if (!st && s->kind != K_WARMUP_COSINE && s->kind != K_ONECYCLE && s->kind != K_THEN &&
        s->kind != K_SCALE)
        RANGE(s->lr >= 0, RV_ERR_SCHED_LR, "lr", "must be >= 0");
    if (!st && !(s->text = strdup(canon)))
        st = rv_fail(RV_ERR_NOMEM, "out of memory");
    if (st) {
        rv_schedule_free(s);
        return st;
    }
    *out = s;
    return RV_OK;
}

rv_status rv_schedule_parse(const char *text, rv_schedule **out)
{
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_schedule_parse: out is NULL");
    *out = NULL;
    if (!text)
        return rv_fail(RV_ERR_NULL, "rv_schedule_parse: spec is NULL");
    rv_spec spec;
    rv_status s = rv_spec_parse(text, &spec);
    if (s)
        return s;
    s = parse_spec(&spec, out, 0);
    rv_spec_free(&spec);
    return s;
}
