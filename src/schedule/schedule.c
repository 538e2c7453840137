/* Learning-rate schedules: parsed once, then evaluated as pure functions of
   the update index t. Formulas follow torch.optim.lr_scheduler's closed forms
   (and optax's for warmup_cosine); docs/schedules.md lists them. */
#include "ravine/schedule.h"
#include "spec/bind.h"
#include "core/error.h"
#include "core/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MAX_MILESTONES 64

#define MAX_FACTORS 16

typedef enum kind {
    K_CONSTANT, K_STEP, K_MULTISTEP, K_EXPONENTIAL, K_COSINE, K_LINEAR, K_POLY,
    K_WARMUP_COSINE, K_ONECYCLE, K_COSINE_RESTARTS, K_WSD, K_INVERSE_SQRT, K_INVERSE_TIME,
    K_CYCLIC, K_THEN, K_SCALE, K_PRODUCT,
    K_COUNT
} kind;

static const char *const kind_names[K_COUNT + 1] = {
    "constant", "step", "multistep", "exponential", "cosine", "linear", "poly",
    "warmup_cosine", "onecycle", "cosine_restarts", "wsd", "inverse_sqrt", "inverse_time",
    "cyclic", "then", "scale", "product", NULL};

struct rv_schedule {
    kind kind;
    char *text;                 /* canonical spec */
    double lr, gamma, eta_min, start_factor, end_factor, power, init, end, factor;
    double pct_start, div_factor, final_div_factor, exponent, m_mul, max_lr;
    double step_size, step_down, t_max, total, warmup, stable, decay_steps, t_0, t_mult, at;
    double begin;               /* transition_begin: steps held at lr before the decay */
    int has_end;                /* exponential: end bounds the decay */
    int staircase;
    double milestones[MAX_MILESTONES];
    size_t n_milestones;
    int anneal;                 /* onecycle: 0 cos, 1 linear; wsd: 0 linear, 1 cosine, 2 sqrt;
                                   cyclic: 0 triangular, 1 triangular2, 2 exp_range */
    int three_phase;
    rv_schedule *first, *second;
    rv_schedule *factors[MAX_FACTORS];   /* product */
    size_t n_factors;
};

const char *rv_schedule_name_at(size_t i) { return i < K_COUNT ? kind_names[i] : NULL; }
const char *rv_schedule_name(const rv_schedule *s) { return s ? kind_names[s->kind] : ""; }

void rv_schedule_free(rv_schedule *s)
{
    if (!s)
        return;
    rv_schedule_free(s->first);
    rv_schedule_free(s->second);
    for (size_t i = 0; i < s->n_factors; i++)
        rv_schedule_free(s->factors[i]);
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
    case K_EXPONENTIAL: {
        /* optax exponential_decay; torch ExponentialLR with the defaults */
        double count = t - s->begin;
        if (count <= 0)
            return s->lr;
        double p = count / s->step_size;
        double v = s->lr * pow(s->gamma, s->staircase ? floor(p) : p);
        if (s->has_end)
            v = s->gamma < 1 ? fmax(v, s->end) : fmin(v, s->end);
        return v;
    }
    case K_COSINE: {
        if (t >= s->t_max)
            return s->eta_min;
        if (s->exponent == 1.0)
            return cosine_between(s->lr, s->eta_min, t / s->t_max);
        double c = (1.0 + cos(M_PI * t / s->t_max)) / 2.0;   /* optax's exponent */
        return s->eta_min + (s->lr - s->eta_min) * pow(c, s->exponent);
    }
    case K_LINEAR: {
        double f = s->start_factor +
                   (s->end_factor - s->start_factor) * fmin(t, s->total) / s->total;
        return s->lr * f;
    }
    case K_POLY:
        /* torch PolynomialLR; with end and transition_begin, optax polynomial_schedule */
        return s->end + (s->lr - s->end) *
                            pow(1.0 - fmin(fmax(t - s->begin, 0.0), s->total) / s->total, s->power);
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
        double cur = t, len = s->t_0, restarts = 0;
        if (s->t_mult == 1.0) {
            restarts = floor(t / s->t_0);
            cur = fmod(t, s->t_0);
        } else {
            while (cur >= len) {
                cur -= len;
                len *= s->t_mult;
                restarts++;
            }
        }
        if (s->m_mul == 1.0)
            return cosine_between(s->lr, s->eta_min, cur / len);
        /* keras CosineDecayRestarts: restart i peaks at m_mul^i of the first */
        return s->eta_min + (s->lr - s->eta_min) * pow(s->m_mul, restarts) *
                                ((1.0 + cos(M_PI * cur / len)) / 2.0);
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
    case K_INVERSE_TIME: {
        /* keras InverseTimeDecay */
        double p = t / s->decay_steps;
        return s->lr / (1.0 + s->gamma * (s->staircase ? floor(p) : p));
    }
    case K_CYCLIC: {
        /* torch CyclicLR, as its get_lr computes it */
        double total = s->step_size + s->step_down, ratio = s->step_size / total;
        double cycle = floor(1.0 + t / total), x = 1.0 + t / total - cycle;
        double scale = x <= ratio ? x / ratio : (x - 1.0) / (ratio - 1.0);
        double height = (s->max_lr - s->lr) * scale;
        if (s->anneal == 1)
            return s->lr + height * (1.0 / pow(2.0, cycle - 1.0));
        if (s->anneal == 2)
            return s->lr + height * pow(s->gamma, t);
        return s->lr + height * 1.0;
    }
    case K_THEN:
        return t < s->at ? rv_schedule_lr(s->first, step) : rv_schedule_lr(s->second, step - (long)s->at);
    case K_SCALE:
        return s->factor * rv_schedule_lr(s->first, step);
    case K_PRODUCT: {
        double v = rv_schedule_lr(s->factors[0], step);
        for (size_t i = 1; i < s->n_factors; i++)
            v *= rv_schedule_lr(s->factors[i], step);
        return v;
    }
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

const char *rv_schedule_text(const rv_schedule *s) { return s ? s->text : ""; }

/* ---- parsing ---------------------------------------------------------- */

static const char *const anneal_words[] = {"cos", "linear", NULL};
static const char *const wsd_words[] = {"linear", "cosine", "sqrt", NULL};
static const char *const cyclic_words[] = {"triangular", "triangular2", "exp_range", NULL};

static rv_status parse_spec(const rv_spec *spec, rv_schedule **out, int depth);

static rv_status parse_nested(const rv_value *v, rv_schedule **out, int depth)
{
    if (v->kind == RV_VALUE_CALL)
        return parse_spec(v->call, out, depth + 1);
    rv_spec bare = {.name = v->word, .text = v->word};
    return parse_spec(&bare, out, depth + 1);
}

/* The value given for key, or NULL. */
static const rv_value *arg_value(const rv_spec *spec, const char *key)
{
    for (size_t j = 0; j < spec->n_args; j++)
        if (!strcmp(spec->args[j].key, key))
            return &spec->args[j].value;
    return NULL;
}

/* exponential's end: a number, or none (no bound, the default). */
static rv_status bind_optional_end(const rv_spec *spec, rv_schedule *s)
{
    const rv_value *v = arg_value(spec, "end");
    if (!v || (v->kind == RV_VALUE_WORD && (!strcmp(v->word, "none") || !strcmp(v->word, "None"))))
        return RV_OK;
    if (v->kind != RV_VALUE_NUMBER || !isfinite(v->number))
        return rv_fail(RV_ERR_SPEC_TYPE, "spec '%s': end=%s: expected a finite number or none",
                       spec->text, v->text);
    s->has_end = 1;
    s->end = v->number;
    return RV_OK;
}

/* product's of=(SPEC, SPEC, ...): between 2 and MAX_FACTORS schedules. */
static rv_status parse_factors(const rv_spec *spec, rv_schedule *s, int depth)
{
    const rv_value *v = arg_value(spec, "of");
    if (!v || v->kind != RV_VALUE_TUPLE || v->n_items < 2 || v->n_items > MAX_FACTORS)
        return rv_fail(RV_ERR_SCHED_JOIN,
                       "spec '%s': of=%s: expected a tuple of 2 to %d schedules, such as "
                       "of=(exponential(lr=0.1, gamma=0.9), linear(lr=1, start_factor=0.1))",
                       spec->text, v ? v->text : "(missing)", MAX_FACTORS);
    for (size_t i = 0; i < v->n_items; i++) {
        const rv_value *item = &v->items[i];
        if (item->kind != RV_VALUE_CALL && item->kind != RV_VALUE_WORD)
            return rv_fail(RV_ERR_SPEC_TYPE, "spec '%s': of: item %zu (%s) is not a schedule",
                           spec->text, i + 1, item->text);
        rv_status st = parse_nested(item, &s->factors[i], depth);
        if (st)
            return st;
        s->n_factors++;
    }
    return RV_OK;
}

#define NUM(k, field, req) {.key = k, .kind = RV_BIND_NUMBER, .dst = &s->field, .required = req}
#define INT(k, field, req) {.key = k, .kind = RV_BIND_INTEGER, .dst = &s->field, .required = req}
#define BOOL(k, field) {.key = k, .kind = RV_BIND_BOOL, .dst = &s->field}
#define WORD(k, field, list) {.key = k, .kind = RV_BIND_WORD, .dst = &s->field, .words = list}
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
/* the canonical spec: every key, numbers that read back exactly */
#define N(v) rv_num(v).s
#define B(v) ((v) ? "true" : "false")
#define CANON(...)                                                                    \
    do {                                                                              \
        if (!st)                                                                      \
            rv_text_putf(&canon, __VA_ARGS__);                                        \
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
    rv_text canon = {0};
    switch (s->kind) {
    case K_CONSTANT:
        BIND(NUM("lr", lr, 1));
        CANON("constant(lr=%s)", N(s->lr));
        break;
    case K_STEP:
        s->gamma = 0.1;
        BIND(NUM("lr", lr, 1), INT("step_size", step_size, 1), NUM("gamma", gamma, 0));
        RANGE(s->step_size >= 1, RV_ERR_SCHED_STEP_SIZE, "step_size", "must be >= 1");
        RANGE(s->gamma >= 0, RV_ERR_SCHED_GAMMA, "gamma", "must be >= 0");
        CANON("step(lr=%s,step_size=%s,gamma=%s)", N(s->lr), N(s->step_size), N(s->gamma));
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
        CANON("multistep(lr=%s,milestones=(", N(s->lr));
        for (size_t i = 0; i < s->n_milestones; i++)
            CANON("%s%s", i ? "," : "", N(s->milestones[i]));
        CANON("),gamma=%s)", N(s->gamma));
        break;
    }
    case K_EXPONENTIAL:
        s->step_size = 1;
        BIND(NUM("lr", lr, 1), NUM("gamma", gamma, 1), INT("transition_steps", step_size, 0),
             INT("transition_begin", begin, 0), BOOL("staircase", staircase),
             {.key = "end", .kind = RV_BIND_TEXT, .dst = &(const char *){NULL}});
        if (!st)
            st = bind_optional_end(spec, s);
        RANGE(s->gamma >= 0, RV_ERR_SCHED_GAMMA, "gamma", "must be >= 0");
        RANGE(s->step_size >= 1, RV_ERR_SCHED_TRANSITION, "transition_steps", "must be >= 1");
        RANGE(s->begin >= 0, RV_ERR_SCHED_BEGIN, "transition_begin", "must be >= 0");
        RANGE(!s->has_end || s->end >= 0, RV_ERR_SCHED_END, "end", "must be >= 0");
        CANON("exponential(lr=%s,gamma=%s,transition_steps=%s,transition_begin=%s,staircase=%s,end=%s)",
              N(s->lr), N(s->gamma), N(s->step_size), N(s->begin), B(s->staircase),
              s->has_end ? N(s->end) : "none");
        break;
    case K_COSINE:
        s->exponent = 1;
        BIND(NUM("lr", lr, 1), INT("t_max", t_max, 1), NUM("eta_min", eta_min, 0),
             NUM("exponent", exponent, 0));
        RANGE(s->t_max >= 1, RV_ERR_SCHED_T_MAX, "t_max", "must be >= 1");
        RANGE(s->eta_min >= 0, RV_ERR_SCHED_ETA_MIN, "eta_min", "must be >= 0");
        RANGE(s->exponent > 0, RV_ERR_SCHED_EXPONENT, "exponent", "must be > 0");
        CANON("cosine(lr=%s,t_max=%s,eta_min=%s,exponent=%s)", N(s->lr), N(s->t_max),
              N(s->eta_min), N(s->exponent));
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
        CANON("linear(lr=%s,start_factor=%s,end_factor=%s,total_iters=%s)", N(s->lr),
              N(s->start_factor), N(s->end_factor), N(s->total));
        break;
    case K_POLY:
        s->power = 1;
        BIND(NUM("lr", lr, 1), INT("total_iters", total, 1), NUM("power", power, 0),
             NUM("end", end, 0), INT("transition_begin", begin, 0));
        RANGE(s->total >= 1, RV_ERR_SCHED_TOTAL, "total_iters", "must be >= 1");
        RANGE(s->power >= 0, RV_ERR_SCHED_POWER, "power", "must be >= 0");
        RANGE(s->end >= 0, RV_ERR_SCHED_END, "end", "must be >= 0");
        RANGE(s->begin >= 0, RV_ERR_SCHED_BEGIN, "transition_begin", "must be >= 0");
        CANON("poly(lr=%s,total_iters=%s,power=%s,end=%s,transition_begin=%s)", N(s->lr),
              N(s->total), N(s->power), N(s->end), N(s->begin));
        break;
    case K_WARMUP_COSINE:
        BIND(NUM("peak", lr, 1), INT("warmup_steps", warmup, 1), INT("decay_steps", decay_steps, 1),
             NUM("init", init, 0), NUM("end", end, 0));
        RANGE(s->lr >= 0, RV_ERR_SCHED_LR, "peak", "must be >= 0");
        RANGE(s->warmup >= 0, RV_ERR_SCHED_WARMUP, "warmup_steps", "must be >= 0");
        RANGE(s->decay_steps > s->warmup, RV_ERR_SCHED_TOTAL, "decay_steps",
              "must be greater than warmup_steps (it includes the warmup)");
        RANGE(s->init >= 0, RV_ERR_SCHED_LR, "init", "must be >= 0");
        RANGE(s->end >= 0, RV_ERR_SCHED_END, "end", "must be >= 0");
        CANON("warmup_cosine(peak=%s,warmup_steps=%s,decay_steps=%s,init=%s,end=%s)", N(s->lr),
              N(s->warmup), N(s->decay_steps), N(s->init), N(s->end));
        break;
    case K_ONECYCLE:
        s->pct_start = 0.3, s->div_factor = 25, s->final_div_factor = 1e4;
        BIND(NUM("max_lr", lr, 1), INT("total_steps", total, 1), NUM("pct_start", pct_start, 0),
             NUM("div_factor", div_factor, 0), NUM("final_div_factor", final_div_factor, 0),
             WORD("anneal", anneal, anneal_words), BOOL("three_phase", three_phase));
        RANGE(s->lr >= 0, RV_ERR_SCHED_LR, "max_lr", "must be >= 0");
        RANGE(s->total >= 2, RV_ERR_SCHED_TOTAL, "total_steps", "must be >= 2");
        RANGE(s->pct_start > 0 && s->pct_start < 1 &&
                  s->pct_start * s->total - 1 > 0 &&
                  (!s->three_phase || 2 * s->pct_start * s->total - 2 < s->total - 1),
              RV_ERR_SCHED_PCT, "pct_start",
              "must be in (0, 1) and leave every phase at least one step");
        RANGE(s->div_factor > 0, RV_ERR_SCHED_DIV, "div_factor", "must be > 0");
        RANGE(s->final_div_factor > 0, RV_ERR_SCHED_DIV, "final_div_factor", "must be > 0");
        CANON("onecycle(max_lr=%s,total_steps=%s,pct_start=%s,div_factor=%s,final_div_factor=%s,"
              "anneal=%s,three_phase=%s)",
              N(s->lr), N(s->total), N(s->pct_start), N(s->div_factor), N(s->final_div_factor),
              anneal_words[s->anneal], B(s->three_phase));
        break;
    case K_COSINE_RESTARTS:
        s->t_mult = 1, s->m_mul = 1;
        BIND(NUM("lr", lr, 1), INT("t_0", t_0, 1), INT("t_mult", t_mult, 0),
             NUM("eta_min", eta_min, 0), NUM("m_mul", m_mul, 0));
        RANGE(s->t_0 >= 1, RV_ERR_SCHED_T_MAX, "t_0", "must be >= 1");
        RANGE(s->t_mult >= 1, RV_ERR_SCHED_T_MULT, "t_mult", "must be a whole number >= 1");
        RANGE(s->eta_min >= 0, RV_ERR_SCHED_ETA_MIN, "eta_min", "must be >= 0");
        RANGE(s->m_mul >= 0, RV_ERR_SCHED_M_MUL, "m_mul", "must be >= 0");
        CANON("cosine_restarts(lr=%s,t_0=%s,t_mult=%s,eta_min=%s,m_mul=%s)", N(s->lr), N(s->t_0),
              N(s->t_mult), N(s->eta_min), N(s->m_mul));
        break;
    case K_WSD:
        BIND(NUM("lr", lr, 1), INT("warmup_steps", warmup, 1), INT("stable_steps", stable, 1),
             INT("decay_steps", decay_steps, 1), NUM("init", init, 0), NUM("end", end, 0),
             WORD("decay", anneal, wsd_words));
        RANGE(s->warmup >= 0, RV_ERR_SCHED_WARMUP, "warmup_steps", "must be >= 0");
        RANGE(s->stable >= 0, RV_ERR_SCHED_TOTAL, "stable_steps", "must be >= 0");
        RANGE(s->decay_steps >= 1, RV_ERR_SCHED_TOTAL, "decay_steps", "must be >= 1");
        RANGE(s->init >= 0, RV_ERR_SCHED_LR, "init", "must be >= 0");
        RANGE(s->end >= 0, RV_ERR_SCHED_END, "end", "must be >= 0");
        CANON("wsd(lr=%s,warmup_steps=%s,stable_steps=%s,decay_steps=%s,init=%s,end=%s,decay=%s)",
              N(s->lr), N(s->warmup), N(s->stable), N(s->decay_steps), N(s->init), N(s->end),
              wsd_words[s->anneal]);
        break;
    case K_INVERSE_SQRT:
        BIND(NUM("lr", lr, 1), INT("warmup_steps", warmup, 1), NUM("init", init, 0));
        RANGE(s->warmup >= 0, RV_ERR_SCHED_WARMUP, "warmup_steps", "must be >= 0");
        RANGE(s->init >= 0, RV_ERR_SCHED_LR, "init", "must be >= 0");
        CANON("inverse_sqrt(lr=%s,warmup_steps=%s,init=%s)", N(s->lr), N(s->warmup), N(s->init));
        break;
    case K_INVERSE_TIME:
        BIND(NUM("lr", lr, 1), NUM("decay_steps", decay_steps, 1), NUM("decay_rate", gamma, 1),
             BOOL("staircase", staircase));
        RANGE(s->decay_steps > 0, RV_ERR_SCHED_TRANSITION, "decay_steps", "must be > 0");
        RANGE(s->gamma >= 0, RV_ERR_SCHED_DECAY_RATE, "decay_rate", "must be >= 0");
        CANON("inverse_time(lr=%s,decay_steps=%s,decay_rate=%s,staircase=%s)", N(s->lr),
              N(s->decay_steps), N(s->gamma), B(s->staircase));
        break;
    case K_CYCLIC: {
        s->step_size = 2000, s->gamma = 1;
        int down_given = 0;
        BIND(NUM("base_lr", lr, 1), NUM("max_lr", max_lr, 1), INT("step_size_up", step_size, 0),
             {.key = "step_size_down", .kind = RV_BIND_INTEGER, .dst = &s->step_down,
              .given = &down_given},
             WORD("mode", anneal, cyclic_words), NUM("gamma", gamma, 0));
        if (!down_given)
            s->step_down = s->step_size;
        RANGE(s->lr >= 0, RV_ERR_SCHED_LR, "base_lr", "must be >= 0");
        RANGE(s->max_lr >= 0, RV_ERR_SCHED_LR, "max_lr", "must be >= 0");
        RANGE(s->step_size >= 1, RV_ERR_SCHED_STEP_SIZE, "step_size_up", "must be >= 1");
        RANGE(s->step_down >= 1, RV_ERR_SCHED_STEP_SIZE, "step_size_down", "must be >= 1");
        RANGE(s->gamma > 0, RV_ERR_SCHED_GAMMA, "gamma", "must be > 0");
        CANON("cyclic(base_lr=%s,max_lr=%s,step_size_up=%s,step_size_down=%s,mode=%s,gamma=%s)",
              N(s->lr), N(s->max_lr), N(s->step_size), N(s->step_down), cyclic_words[s->anneal],
              N(s->gamma));
        break;
    }
    case K_THEN:
        BIND({.key = "first", .kind = RV_BIND_CALL, .dst = &first, .required = 1},
             {.key = "second", .kind = RV_BIND_CALL, .dst = &second, .required = 1},
             INT("at", at, 1));
        RANGE(s->at >= 0, RV_ERR_SCHED_JOIN, "at", "must be >= 0");
        if (!st)
            st = parse_nested(first, &s->first, depth);
        if (!st)
            st = parse_nested(second, &s->second, depth);
        CANON("then(first=%s,second=%s,at=%s)", s->first->text, s->second->text, N(s->at));
        break;
    case K_SCALE:
        BIND({.key = "of", .kind = RV_BIND_CALL, .dst = &first, .required = 1},
             NUM("factor", factor, 1));
        RANGE(s->factor >= 0, RV_ERR_SCHED_FACTOR, "factor", "must be >= 0");
        if (!st)
            st = parse_nested(first, &s->first, depth);
        CANON("scale(of=%s,factor=%s)", s->first->text, N(s->factor));
        break;
    case K_PRODUCT:
        BIND({.key = "of", .kind = RV_BIND_TEXT, .dst = &(const char *){NULL}, .required = 1});
        if (!st)
            st = parse_factors(spec, s, depth);
        CANON("product(of=(");
        for (size_t i = 0; i < s->n_factors; i++)
            CANON("%s%s", i ? "," : "", s->factors[i]->text);
        CANON("))");
        break;
    case K_COUNT:
        break;
    }
    if (!st && s->kind != K_WARMUP_COSINE && s->kind != K_ONECYCLE && s->kind != K_THEN &&
        s->kind != K_SCALE && s->kind != K_CYCLIC && s->kind != K_PRODUCT)
        RANGE(s->lr >= 0, RV_ERR_SCHED_LR, "lr", "must be >= 0");
    if (!st && !(s->text = rv_text_take(&canon)))
        st = rv_fail(RV_ERR_NOMEM, "out of memory");
    rv_text_free(&canon);
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
