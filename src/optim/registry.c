/* The algorithm registry, hyperparameter defaults/validation/spec parsing,
   and the stateless rv_update entry point. */
#include "optim/type.h"
#include "spec/bind.h"
#include "core/error.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A constant table (addresses of the public pointer objects are address
   constants), so concurrent first lookups share nothing mutable. */
static const rv_optim_type *const *const registry[] = {
    &rv_sgd,  &rv_polyak, &rv_adam,  &rv_adamw,     &rv_rmsprop, &rv_adagrad, &rv_nadam,
    &rv_radam, &rv_adamax, &rv_lion, &rv_adafactor, &rv_muon,    &rv_sfadamw};

const rv_optim_type *rv_optim_type_at(size_t i)
{
    return i < sizeof registry / sizeof *registry ? *registry[i] : NULL;
}

const rv_optim_type *rv_optim_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t k = 0; rv_optim_type_at(k); k++)
        if (!strcmp(rv_optim_type_at(k)->name, name))
            return rv_optim_type_at(k);
    return NULL;
}

const char *rv_optim_type_name(const rv_optim_type *type) { return type ? type->name : "(null)"; }
const char *rv_optim_type_summary(const rv_optim_type *type) { return type ? type->summary : ""; }
int rv_optim_type_elementwise(const rv_optim_type *type) { return type && type->update != NULL; }
rv_shape_need rv_optim_type_shape_need(const rv_optim_type *type)
{
    return type ? type->shape_need : RV_SHAPE_ANY;
}

rv_hparams rv_hparams_defaults(const rv_optim_type *type)
{
    rv_hparams h = {0};
    if (type)
        type->defaults(&h);
    return h;
}
rv_hparams rv_sgd_defaults(void) { return rv_hparams_defaults(rv_sgd); }
rv_hparams rv_polyak_defaults(void) { return rv_hparams_defaults(rv_polyak); }
rv_hparams rv_adam_defaults(void) { return rv_hparams_defaults(rv_adam); }
rv_hparams rv_adamw_defaults(void) { return rv_hparams_defaults(rv_adamw); }
rv_hparams rv_rmsprop_defaults(void) { return rv_hparams_defaults(rv_rmsprop); }
rv_hparams rv_adagrad_defaults(void) { return rv_hparams_defaults(rv_adagrad); }
rv_hparams rv_nadam_defaults(void) { return rv_hparams_defaults(rv_nadam); }
rv_hparams rv_radam_defaults(void) { return rv_hparams_defaults(rv_radam); }
rv_hparams rv_adamax_defaults(void) { return rv_hparams_defaults(rv_adamax); }
rv_hparams rv_lion_defaults(void) { return rv_hparams_defaults(rv_lion); }
rv_hparams rv_adafactor_defaults(void) { return rv_hparams_defaults(rv_adafactor); }
rv_hparams rv_muon_defaults(void) { return rv_hparams_defaults(rv_muon); }
rv_hparams rv_sfadamw_defaults(void) { return rv_hparams_defaults(rv_sfadamw); }

rv_status rv_hparams_validate(const rv_optim_type *type, const rv_hparams *h)
{
    if (!type)
        return rv_fail(RV_ERR_NULL, "optimizer type is NULL");
    if (!h)
        return rv_fail(RV_ERR_NULL, "hyperparameters are NULL");
    return rv_type_validate(type, h);
}

/* ---- spec keys -------------------------------------------------------- */

/* Every hyperparameter key, once: how its value is written and which field
   of rv_hparams holds it. Binding, validation messages and the canonical
   format all read this one table; a type lists the ids of its keys. */
typedef enum hp_kind {
    HP_NUMBER,   /* double */
    HP_WHOLE,    /* double holding a whole number */
    HP_BOOL,     /* int */
    HP_WORD,     /* int (an enum): index into words */
    HP_TUPLE,    /* count doubles at offsets[] */
    HP_EPS_PAIR  /* adafactor's eps=(eps1 or None, eps2) */
} hp_kind;

typedef struct hp_key {
    const char *id;        /* what type->keys names */
    const char *key;       /* what specs write */
    hp_kind kind;
    size_t offsets[3];
    size_t count;
    const char *const *words;
    int quiet;             /* left out of canonical specs at its default (word 0) */
} hp_key;

static const char *const decay_words[] = {"before", "after", NULL};
static const char *const adjust_words[] = {"original", "match_rms_adamw", NULL};
static const char *const precision_words[] = {"fp32", "bf16", "int8", NULL};

#define AT(field) {offsetof(rv_hparams, field)}
static const hp_key hp_keys[] = {
    {"lr", "lr", HP_NUMBER, AT(lr), 1, NULL, 0},
    {"momentum", "momentum", HP_NUMBER, AT(momentum), 1, NULL, 0},
    {"dampening", "dampening", HP_NUMBER, AT(dampening), 1, NULL, 0},
    {"weight_decay", "weight_decay", HP_NUMBER, AT(weight_decay), 1, NULL, 0},
    {"beta", "beta", HP_NUMBER, AT(beta), 1, NULL, 0},
    {"betas", "betas", HP_TUPLE,
     {offsetof(rv_hparams, beta1), offsetof(rv_hparams, beta2)}, 2, NULL, 0},
    {"eps", "eps", HP_NUMBER, AT(eps), 1, NULL, 0},
    {"eps_pair", "eps", HP_EPS_PAIR, {offsetof(rv_hparams, eps), offsetof(rv_hparams, eps2)}, 2,
     NULL, 0},
    {"alpha", "alpha", HP_NUMBER, AT(alpha), 1, NULL, 0},
    {"lr_decay", "lr_decay", HP_NUMBER, AT(lr_decay), 1, NULL, 0},
    {"initial_accumulator_value", "initial_accumulator_value", HP_NUMBER,
     AT(initial_accumulator_value), 1, NULL, 0},
    {"nesterov", "nesterov", HP_BOOL, AT(nesterov), 1, NULL, 0},
    {"maximize", "maximize", HP_BOOL, AT(maximize), 1, NULL, 0},
    {"amsgrad", "amsgrad", HP_BOOL, AT(amsgrad), 1, NULL, 0},
    {"centered", "centered", HP_BOOL, AT(centered), 1, NULL, 0},
    {"decay", "decay", HP_WORD, AT(decay), 1, decay_words, 0},
    {"momentum_decay", "momentum_decay", HP_NUMBER, AT(momentum_decay), 1, NULL, 0},
    {"decoupled_weight_decay", "decoupled_weight_decay", HP_BOOL, AT(decoupled_weight_decay), 1,
     NULL, 0},
    {"beta2_decay", "beta2_decay", HP_NUMBER, AT(beta2_decay), 1, NULL, 0},
    {"d", "d", HP_NUMBER, AT(d), 1, NULL, 0},
    {"ns_coefficients", "ns_coefficients", HP_TUPLE,
     {offsetof(rv_hparams, ns_coefficients), offsetof(rv_hparams, ns_coefficients) + sizeof(double),
      offsetof(rv_hparams, ns_coefficients) + 2 * sizeof(double)},
     3, NULL, 0},
    {"ns_steps", "ns_steps", HP_WHOLE, AT(ns_steps), 1, NULL, 0},
    {"adjust_lr_fn", "adjust_lr_fn", HP_WORD, AT(adjust_lr_fn), 1, adjust_words, 0},
    {"warmup_steps", "warmup_steps", HP_WHOLE, AT(warmup_steps), 1, NULL, 0},
    {"r", "r", HP_NUMBER, AT(r), 1, NULL, 0},
    {"weight_lr_power", "weight_lr_power", HP_NUMBER, AT(weight_lr_power), 1, NULL, 0},
    /* how the state is stored, not how it is updated: canonical specs name it
       only when it is not float32, so they read as torch's arguments do */
    {"state", "state", HP_WORD, AT(state), 1, precision_words, 1},
};
#undef AT

static const hp_key *hp_find(const char *id)
{
    for (size_t i = 0; i < sizeof hp_keys / sizeof hp_keys[0]; i++)
        if (!strcmp(hp_keys[i].id, id))
            return &hp_keys[i];
    return NULL;
}

static double *hp_num(rv_hparams *h, const hp_key *k, size_t i)
{
    return (double *)(void *)((char *)h + k->offsets[i]);
}
static int *hp_int(rv_hparams *h, const hp_key *k) { return (int *)(void *)((char *)h + k->offsets[0]); }
static double hp_num_c(const rv_hparams *h, const hp_key *k, size_t i)
{
    return *(const double *)(const void *)((const char *)h + k->offsets[i]);
}
static int hp_int_c(const rv_hparams *h, const hp_key *k)
{
    return *(const int *)(const void *)((const char *)h + k->offsets[0]);
}

/* A spec echoed in a message: long ones are cut so the reason that follows
   always fits (rv_errmsg holds one line of about 1 KB). */
typedef struct spec_echo {
    char s[160];
} spec_echo;
static spec_echo echo(const char *text)
{
    spec_echo e;
    size_t len = strlen(text);
    if (len < sizeof e.s)
        snprintf(e.s, sizeof e.s, "%s", text);
    else
        snprintf(e.s, sizeof e.s, "%.*s...(%zu chars)", 120, text, len);
    return e;
}

/* adafactor's eps=(eps1, eps2): each a number, eps1 may be None. */
static rv_status bind_eps_pair(const rv_spec *spec, const rv_value *v, rv_hparams *h)
{
    if (v->kind != RV_VALUE_TUPLE || v->n_items != 2)
        return rv_fail(RV_ERR_SPEC_TYPE, "spec '%s': eps=%s: expected a pair (eps1, eps2), eps1 "
                       "a number or None", echo(spec->text).s, v->text);
    const rv_value *a = &v->items[0], *b = &v->items[1];
    int none = a->kind == RV_VALUE_WORD && !strcmp(a->word, "None");
    if ((!none && a->kind != RV_VALUE_NUMBER) || b->kind != RV_VALUE_NUMBER)
        return rv_fail(RV_ERR_SPEC_TYPE, "spec '%s': eps=%s: expected (number or None, number)",
                       echo(spec->text).s, v->text);
    if ((!none && !isfinite(a->number)) || !isfinite(b->number))
        return rv_fail(RV_ERR_SPEC_RANGE, "spec '%s': eps=%s: must be finite", echo(spec->text).s,
                       v->text);
    h->eps_none = none;
    h->eps = none ? 0.0 : a->number;
    h->eps2 = b->number;
    return RV_OK;
}

/* Bind the keys the algorithm accepts onto fields of *h. */
static rv_status bind_hparams(const rv_optim_type *type, const rv_spec *spec, rv_hparams *h)
{
    enum { MAX_KEYS = 16 };
    rv_binding table[MAX_KEYS] = {{0}};
    double nums[MAX_KEYS][3];
    int ints[MAX_KEYS];
    int given[MAX_KEYS] = {0};
    const char *texts[MAX_KEYS];
    const hp_key *keys[MAX_KEYS];
    size_t n = 0;
    for (; type->keys[n] && n < MAX_KEYS; n++) {
        const hp_key *k = keys[n] = hp_find(type->keys[n]);
        rv_binding b = {.key = k->key, .dst = nums[n], .given = &given[n]};
        switch (k->kind) {
        case HP_NUMBER: b.kind = RV_BIND_NUMBER; break;
        case HP_WHOLE: b.kind = RV_BIND_INTEGER; break;
        case HP_BOOL: b.kind = RV_BIND_BOOL; b.dst = &ints[n]; break;
        case HP_WORD: b.kind = RV_BIND_WORD; b.dst = &ints[n]; b.words = k->words; break;
        case HP_TUPLE: b.kind = RV_BIND_NUMBERS; b.cap = k->count; b.exact = 1; break;
        case HP_EPS_PAIR: b.kind = RV_BIND_TEXT; b.dst = &texts[n]; break;
        }
        table[n] = b;
    }
    rv_status s = rv_spec_bind(spec, table, n);
    if (s)
        return s;
    for (size_t i = 0; i < n; i++) {
        const hp_key *k = keys[i];
        if (!given[i])
            continue;
        switch (k->kind) {
        case HP_BOOL:
        case HP_WORD: *hp_int(h, k) = ints[i]; break;
        case HP_EPS_PAIR:
            for (size_t j = 0; j < spec->n_args; j++)
                if (!strcmp(spec->args[j].key, k->key) &&
                    (s = bind_eps_pair(spec, &spec->args[j].value, h)))
                    return s;
            break;
        default:
            for (size_t j = 0; j < k->count; j++)
                *hp_num(h, k, j) = nums[i][j];
        }
    }
    return RV_OK;
}

/* Validate, and on failure say which spec it came from: the field's own
   code, a message naming spec, field and value. */
static rv_status validate_in_spec(const rv_optim_type *type, const rv_hparams *h, const char *text)
{
    rv_status s = rv_type_validate(type, h);
    if (s) {
        char detail[1024];   /* rv_errmsg's own size: the reason is never cut here */
        snprintf(detail, sizeof detail, "%s", rv_errmsg());
        return rv_fail(s, "spec '%s': %s", echo(text).s, detail);
    }
    return RV_OK;
}

static rv_status unknown_name(const char *text, const char *name)
{
    const char *names[16];
    char known[256] = "";
    size_t k = 0;
    for (; rv_optim_type_at(k) && k < 15; k++) {
        names[k] = rv_optim_type_at(k)->name;
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                 names[k]);
    }
    names[k] = NULL;
    const char *near = rv_closest_word(name, names);
    if (near)
        return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME,
                       "spec '%s': unknown optimizer '%s' (did you mean '%s'?)", echo(text).s,
                       echo(name).s, near);
    return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME, "spec '%s': unknown optimizer '%s' (known: %s)",
                   echo(text).s, echo(name).s, known);
}

rv_status rv_hparams_parse(const char *text, const rv_optim_type **type, rv_hparams *h)
{
    if (!text || !type || !h)
        return rv_fail(RV_ERR_NULL, "rv_hparams_parse: NULL argument");
    rv_spec spec;
    rv_status s = rv_spec_parse(text, &spec);
    if (s)
        return s;
    const rv_optim_type *t = rv_optim_type_find(spec.name);
    rv_hparams tmp = rv_hparams_defaults(t);
    if (!t)
        s = unknown_name(spec.text, spec.name);
    if (!s)
        s = bind_hparams(t, &spec, &tmp);
    if (!s)
        s = validate_in_spec(t, &tmp, spec.text);
    if (!s) {
        *type = t;
        *h = tmp;
    }
    rv_spec_free(&spec);
    return s;
}

rv_status rv_hparams_override(const rv_optim_type *type, rv_hparams *h, const char *overrides)
{
    if (!type || !h || !overrides)
        return rv_fail(RV_ERR_NULL, "rv_hparams_override: NULL argument");
    /* reuse the spec grammar: "<name>(<overrides>)" */
    size_t len = strlen(type->name) + strlen(overrides) + 3;
    char *text = malloc(len);
    if (!text)
        return rv_fail(RV_ERR_NOMEM, "out of memory");
    snprintf(text, len, "%s(%s)", type->name, overrides);
    rv_spec spec;
    rv_status s = rv_spec_parse(text, &spec);
    free(text);
    if (s)
        return s;
    rv_hparams tmp = *h;
    s = bind_hparams(type, &spec, &tmp);
    if (!s)
        s = validate_in_spec(type, &tmp, spec.text);
    if (!s)
        *h = tmp;
    rv_spec_free(&spec);
    return s;
}

/* Text written into buf as far as it fits, and counted all the same. */
typedef struct writer {
    char *buf;
    size_t size, used;
} writer;

static void put(writer *w, const char *fmt, ...) RV_PRINTF(2, 3);
static void put(writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = w->used < w->size ? w->size - w->used : 0;
    int n = vsnprintf(room ? w->buf + w->used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->used += (size_t)n;
}

/* An enum field of an unvalidated rv_hparams may hold any int: it is printed
   as a number, never used to index past the words. */
static void put_word(writer *w, const char *const *words, int value)
{
    for (int i = 0; words[i]; i++)
        if (i == value) {
            put(w, "%s", words[i]);
            return;
        }
    put(w, "%d", value);
}

size_t rv_hparams_format(const rv_optim_type *type, const rv_hparams *h, char *buf, size_t size)
{
    writer w = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    if (!type || !h)
        return 0;
    put(&w, "%s(", type->name);
    for (size_t i = 0; type->keys[i]; i++) {
        const hp_key *k = hp_find(type->keys[i]);
        if (k->quiet && hp_int_c(h, k) == 0)
            continue;
        put(&w, "%s%s=", i ? "," : "", k->key);
        switch (k->kind) {
        case HP_NUMBER: put(&w, "%s", rv_num(hp_num_c(h, k, 0)).s); break;
        case HP_WHOLE: put(&w, "%.0f", hp_num_c(h, k, 0)); break;
        case HP_BOOL: put(&w, "%s", hp_int_c(h, k) ? "true" : "false"); break;
        case HP_WORD: put_word(&w, k->words, hp_int_c(h, k)); break;
        case HP_TUPLE:
            for (size_t j = 0; j < k->count; j++)
                put(&w, "%s%s", j ? "," : "(", rv_num(hp_num_c(h, k, j)).s);
            put(&w, ")");
            break;
        case HP_EPS_PAIR:
            put(&w, "(%s,%s)", h->eps_none ? "None" : rv_num(h->eps).s, rv_num(h->eps2).s);
            break;
        }
    }
    put(&w, ")");
    return w.used;
}

/* ---- stateless kernels ------------------------------------------------ */

size_t rv_state_count(const rv_optim_type *type, const rv_hparams *h)
{
    return type && h ? type->state_count(h, NULL) : 0;
}

const char *rv_state_name(const rv_optim_type *type, const rv_hparams *h, size_t i)
{
    return type && h ? type->state_name(h, NULL, i) : NULL;
}

size_t rv_scalar_count(const rv_optim_type *type, const rv_hparams *h)
{
    (void)h;
    return type ? type->n_scalars : 0;
}

const char *rv_scalar_name(const rv_optim_type *type, const rv_hparams *h, size_t i)
{
    (void)h;
    return type && i < type->n_scalars ? type->scalar_names[i] : NULL;
}

size_t rv_state_floats(const rv_optim_type *type, const rv_hparams *h, size_t n, size_t ndim,
                       const size_t *dims)
{
    if (!type || !h || ndim > RV_MAX_DIMS || (ndim && !dims))
        return 0;
    rv_shape s = {.n = ndim ? 1 : n, .ndim = ndim, .has_shape = ndim > 0};
    for (size_t d = 0; d < ndim; d++) {
        s.dims[d] = dims[d];
        s.n *= dims[d];
    }
    size_t total = 0;
    for (size_t i = 0; i < type->state_count(h, &s); i++)
        total += rv_type_state_len(type, h, &s, i);
    return total;
}

size_t rv_state_bytes(const rv_optim_type *type, const rv_hparams *h, size_t n, size_t ndim,
                      const size_t *dims)
{
    if (!type || !h || ndim > RV_MAX_DIMS || (ndim && !dims))
        return 0;
    rv_shape s = {.n = ndim ? 1 : n, .ndim = ndim, .has_shape = ndim > 0};
    for (size_t d = 0; d < ndim; d++) {
        s.dims[d] = dims[d];
        s.n *= dims[d];
    }
    size_t total = 0;
    for (size_t i = 0; i < type->state_count(h, &s); i++) {
        size_t len = rv_type_state_len(type, h, &s, i);
        int exact = type->state_kind && type->state_kind(h, i) == RV_BUF_EXACT;
        rv_precision prec = exact ? RV_FP32 : h->state;
        total += prec == RV_BF16 ? 2 * len
                 : prec == RV_INT8 ? len + 4 * ((len + RV_QUANT_BLOCK - 1) / RV_QUANT_BLOCK)
                                   : 4 * len;
    }
    return total;
}

static rv_status check_stateless(const rv_optim_type *type, const rv_hparams *h, size_t n,
                                 const float *param, const rv_state *state)
{
    rv_status s = rv_hparams_validate(type, h);
    if (s)
        return s;
    if (!type->update)
        return rv_fail(RV_ERR_SHAPE,
                       "%s updates whole tensors and needs their shapes: use rv_optim with "
                       "rv_optim_add_param_shaped",
                       type->name);
    if (h->state != RV_FP32)
        return rv_fail(RV_ERR_STATE_PRECISION,
                       "state=%s is stored by rv_optim in its own buffers; the stateless kernels "
                       "take float32 state",
                       h->state == RV_BF16 ? "bf16" : "int8");
    if (!state)
        return rv_fail(RV_ERR_NULL, "%s: state is NULL", type->name);
    if (n && param && ((uintptr_t)param % _Alignof(float)))
        return rv_fail(RV_ERR_ALIGN, "param %p is not aligned for float", (const void *)param);
    size_t k = type->state_count(h, NULL);
    for (size_t i = 0; n && i < k; i++) {
        if (!state->buf[i])
            return rv_fail(RV_ERR_NULL, "%s: state buffer %zu (%s) is NULL", type->name, i,
                           type->state_name(h, NULL, i));
        if ((uintptr_t)state->buf[i] % _Alignof(float))
            return rv_fail(RV_ERR_ALIGN, "%s: state buffer %zu (%s) is not aligned for float",
                           type->name, i, type->state_name(h, NULL, i));
    }
    return RV_OK;
}

/* Fill buffers [0, k) of a tensor's state over elements [off, off + len). */
void rv_state_fill_range(const rv_optim_type *type, const rv_hparams *h, size_t k, size_t off,
                         size_t len, const float *param, float *const *bufs)
{
    for (size_t i = 0; i < k; i++) {
        rv_state_fill f = type->state_fill ? type->state_fill(h, i) : (rv_state_fill){0};
        float *b = bufs[i] + off;
        if (f.from_param)
            memcpy(b, param + off, len * sizeof *b);
        else
            for (size_t j = 0; j < len; j++)
                b[j] = f.value;
    }
}

rv_status rv_state_start(const rv_optim_type *type, const rv_hparams *h, size_t n,
                         const float *param, rv_state *state)
{
    rv_status s = check_stateless(type, h, n, param, state);
    if (s)
        return s;
    size_t k = type->state_count(h, NULL);
    for (size_t i = 0; i < k; i++)
        if (n && !param && type->state_fill && type->state_fill(h, i).from_param)
            return rv_fail(RV_ERR_NULL, "%s: state buffer %s starts as a copy of the parameter, "
                           "param is NULL", type->name, type->state_name(h, NULL, i));
    if (n)
        rv_state_fill_range(type, h, k, 0, n, param, state->buf);
    if (type->scalars_start)
        type->scalars_start(h, state->scalar);
    return RV_OK;
}

rv_status rv_update_state(const rv_optim_type *type, const rv_hparams *h, long step, size_t n,
                          float *param, const float *grad, rv_state *state)
{
    rv_status s = check_stateless(type, h, n, param, state);
    if (s)
        return s;
    if (step < 1)
        return rv_fail(RV_ERR_ARG, "step must be >= 1 (the 1-based index of this update), got %ld",
                       step);
    if (n && (!param || !grad))
        return rv_fail(RV_ERR_NULL, "%s is NULL", param ? "grad" : "param");
    if (n && ((uintptr_t)grad % _Alignof(float)))
        return rv_fail(RV_ERR_ALIGN, "grad %p is not aligned for float", (const void *)grad);
    rv_coeffs c;
    type->prepare(h, step, state->scalar, &c);
    if (n)
        type->update(&c, n, param, grad, state->buf);
    return RV_OK;
}

static rv_status plain_state(const rv_optim_type *type, float *const *bufs, size_t n, size_t k,
                             rv_state *st)
{
    memset(st, 0, sizeof *st);
    if (type->n_scalars)
        return rv_fail(RV_ERR_ARG,
                       "%s keeps per-tensor scalars (%s): use rv_state_start and rv_update_state",
                       type->name, type->scalar_names[0]);
    if (n && k && !bufs)
        return rv_fail(RV_ERR_NULL, "%s needs %zu state buffers, got state = NULL", type->name, k);
    for (size_t i = 0; i < k && i < RV_MAX_STATE; i++)
        st->buf[i] = n ? bufs[i] : NULL;
    return RV_OK;
}

rv_status rv_state_init(const rv_optim_type *type, const rv_hparams *h, size_t n,
                        float *const *state)
{
    rv_state st;
    rv_status s = rv_hparams_validate(type, h);
    if (s || (s = plain_state(type, state, n, type->state_count(h, NULL), &st)))
        return s;
    return rv_state_start(type, h, n, NULL, &st);
}

rv_status rv_update(const rv_optim_type *type, const rv_hparams *h, long step, size_t n,
                    float *param, const float *grad, float *const *state)
{
    rv_state st;
    rv_status s = rv_hparams_validate(type, h);
    if (s)
        return s;
    /* before the buffers are read: the state array may be short of a bad call's needs */
    if (n && (!param || !grad))
        return rv_fail(RV_ERR_NULL, "%s is NULL", param ? "grad" : "param");
    if ((s = plain_state(type, state, n, type->state_count(h, NULL), &st)))
        return s;
    return rv_update_state(type, h, step, n, param, grad, &st);
}
