/* The algorithm registry, hyperparameter defaults/validation/spec parsing,
   and the stateless rv_update entry point. */
#include "optim/type.h"
#include "spec/bind.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rv_optim_type *const *registry(void)
{
    static const rv_optim_type *types[7];
    if (!types[0]) {
        types[0] = rv_sgd;
        types[1] = rv_polyak;
        types[2] = rv_adam;
        types[3] = rv_adamw;
        types[4] = rv_rmsprop;
        types[5] = rv_adagrad;
        types[6] = NULL;
    }
    return types;
}

const rv_optim_type *rv_optim_type_at(size_t i)
{
    const rv_optim_type *const *t = registry();
    for (size_t k = 0; t[k]; k++)
        if (k == i)
            return t[k];
    return NULL;
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

rv_status rv_hparams_validate(const rv_optim_type *type, const rv_hparams *h)
{
    if (!type)
        return rv_fail(RV_ERR_NULL, "optimizer type is NULL");
    if (!h)
        return rv_fail(RV_ERR_NULL, "hyperparameters are NULL");
    return type->validate(h);
}

/* ---- spec keys -------------------------------------------------------- */

static const char *const decay_words[] = {"before", "after", NULL};

/* Bind the keys the algorithm accepts onto fields of *h. */
static rv_status bind_hparams(const rv_optim_type *type, const rv_spec *spec, rv_hparams *h)
{
    rv_binding table[16];
    size_t n = 0;
    double betas[2] = {h->beta1, h->beta2};
    int flags[4] = {h->nesterov, h->maximize, h->amsgrad, h->centered};
    int decay = h->decay == RV_DECAY_AFTER;
    for (size_t k = 0; type->keys[k]; k++) {
        const char *key = type->keys[k];
        rv_binding b = {.key = key, .kind = RV_BIND_NUMBER};
        if (!strcmp(key, "lr")) b.dst = &h->lr;
        else if (!strcmp(key, "momentum")) b.dst = &h->momentum;
        else if (!strcmp(key, "dampening")) b.dst = &h->dampening;
        else if (!strcmp(key, "weight_decay")) b.dst = &h->weight_decay;
        else if (!strcmp(key, "beta")) b.dst = &h->beta;
        else if (!strcmp(key, "eps")) b.dst = &h->eps;
        else if (!strcmp(key, "alpha")) b.dst = &h->alpha;
        else if (!strcmp(key, "lr_decay")) b.dst = &h->lr_decay;
        else if (!strcmp(key, "initial_accumulator_value")) b.dst = &h->initial_accumulator_value;
        else if (!strcmp(key, "betas")) {
            b.kind = RV_BIND_NUMBERS;
            b.dst = betas;
            b.cap = 2;
            b.exact = 1;
        } else if (!strcmp(key, "decay")) {
            b.kind = RV_BIND_WORD;
            b.dst = &decay;
            b.words = decay_words;
        } else {
            static const char *const bools[] = {"nesterov", "maximize", "amsgrad", "centered"};
            b.kind = RV_BIND_BOOL;
            for (int i = 0; i < 4; i++)
                if (!strcmp(key, bools[i]))
                    b.dst = &flags[i];
        }
        table[n++] = b;
    }
    rv_status s = rv_spec_bind(spec, table, n);
    if (s)
        return s;
    h->beta1 = betas[0];
    h->beta2 = betas[1];
    h->nesterov = flags[0];
    h->maximize = flags[1];
    h->amsgrad = flags[2];
    h->centered = flags[3];
    h->decay = decay ? RV_DECAY_AFTER : RV_DECAY_BEFORE;
    return RV_OK;
}

/* Validate, and on failure say which spec it came from: the field's own
   code, a message naming spec, field and value. */
static rv_status validate_in_spec(const rv_optim_type *type, const rv_hparams *h, const char *text)
{
    rv_status s = type->validate(h);
    if (s) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", rv_errmsg());
        return rv_fail(s, "spec '%s': %s", text, detail);
    }
    return RV_OK;
}

static rv_status unknown_name(const char *text, const char *name)
{
    const char *names[8];
    size_t k = 0;
    for (; rv_optim_type_at(k) && k < 7; k++)
        names[k] = rv_optim_type_at(k)->name;
    names[k] = NULL;
    const char *near = rv_closest_word(name, names);
    if (near)
        return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME,
                       "spec '%s': unknown optimizer '%s' (did you mean '%s'?)", text, name, near);
    return rv_fail(RV_ERR_SPEC_UNKNOWN_NAME,
                   "spec '%s': unknown optimizer '%s' (known: sgd, polyak, adam, adamw, rmsprop, "
                   "adagrad)",
                   text, name);
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

size_t rv_hparams_format(const rv_optim_type *type, const rv_hparams *h, char *buf, size_t size)
{
    char out[1024];
    size_t used = 0;
    if (!type || !h) {
        if (size)
            buf[0] = '\0';
        return 0;
    }
#define PUT(...) used += (size_t)snprintf(out + used, used < sizeof out ? sizeof out - used : 0, __VA_ARGS__)
    PUT("%s(", type->name);
    for (size_t k = 0; type->keys[k]; k++) {
        const char *key = type->keys[k];
        if (k)
            PUT(",");
        if (!strcmp(key, "lr"))
            PUT("lr=%s", rv_num(h->lr).s);
        else if (!strcmp(key, "momentum"))
            PUT("momentum=%s", rv_num(h->momentum).s);
        else if (!strcmp(key, "dampening"))
            PUT("dampening=%s", rv_num(h->dampening).s);
        else if (!strcmp(key, "weight_decay"))
            PUT("weight_decay=%s", rv_num(h->weight_decay).s);
        else if (!strcmp(key, "beta"))
            PUT("beta=%s", rv_num(h->beta).s);
        else if (!strcmp(key, "betas"))
            PUT("betas=(%s,%s)", rv_num(h->beta1).s, rv_num(h->beta2).s);
        else if (!strcmp(key, "eps"))
            PUT("eps=%s", rv_num(h->eps).s);
        else if (!strcmp(key, "alpha"))
            PUT("alpha=%s", rv_num(h->alpha).s);
        else if (!strcmp(key, "lr_decay"))
            PUT("lr_decay=%s", rv_num(h->lr_decay).s);
        else if (!strcmp(key, "initial_accumulator_value"))
            PUT("initial_accumulator_value=%s", rv_num(h->initial_accumulator_value).s);
        else if (!strcmp(key, "nesterov"))
            PUT("nesterov=%s", h->nesterov ? "true" : "false");
        else if (!strcmp(key, "maximize"))
            PUT("maximize=%s", h->maximize ? "true" : "false");
        else if (!strcmp(key, "amsgrad"))
            PUT("amsgrad=%s", h->amsgrad ? "true" : "false");
        else if (!strcmp(key, "centered"))
            PUT("centered=%s", h->centered ? "true" : "false");
        else if (!strcmp(key, "decay"))
            PUT("decay=%s", h->decay == RV_DECAY_AFTER ? "after" : "before");
    }
    PUT(")");
#undef PUT
    if (size) {
        snprintf(buf, size, "%s", out);
    }
    return used;
}

/* ---- stateless kernels ------------------------------------------------ */

size_t rv_state_count(const rv_optim_type *type, const rv_hparams *h)
{
    return type && h ? type->state_count(h) : 0;
}

const char *rv_state_name(const rv_optim_type *type, const rv_hparams *h, size_t i)
{
    return type && h ? type->state_name(h, i) : NULL;
}

static rv_status check_buffers(const rv_optim_type *type, const rv_hparams *h, size_t n,
                               float *const *state)
{
    size_t k = type->state_count(h);
    if (n && k && !state)
        return rv_fail(RV_ERR_NULL, "%s needs %zu state buffers, got state = NULL", type->name, k);
    for (size_t i = 0; n && i < k; i++)
        if (!state[i])
            return rv_fail(RV_ERR_NULL, "%s: state buffer %zu (%s) is NULL", type->name, i,
                           type->state_name(h, i));
    return RV_OK;
}

rv_status rv_state_init(const rv_optim_type *type, const rv_hparams *h, size_t n,
                        float *const *state)
{
    rv_status s = rv_hparams_validate(type, h);
    if (s || (s = check_buffers(type, h, n, state)))
        return s;
    size_t k = type->state_count(h);
    for (size_t i = 0; i < k && n; i++) {
        float v0 = type->state_initial ? type->state_initial(h, i) : 0.0f;
        for (size_t j = 0; j < n; j++)
            state[i][j] = v0;
    }
    return RV_OK;
}

rv_status rv_update(const rv_optim_type *type, const rv_hparams *h, long step, size_t n,
                    float *param, const float *grad, float *const *state)
{
    rv_status s = rv_hparams_validate(type, h);
    if (s)
        return s;
    if (step < 1)
        return rv_fail(RV_ERR_ARG, "step must be >= 1 (the 1-based index of this update), got %ld",
                       step);
    if (n && (!param || !grad))
        return rv_fail(RV_ERR_NULL, "%s is NULL", param ? "grad" : "param");
    if ((s = check_buffers(type, h, n, state)))
        return s;
    if (!n)
        return RV_OK;
    rv_coeffs c;
    type->prepare(h, step, &c);
    type->update(&c, n, param, grad, state);
    return RV_OK;
}
