#include "spec/bind.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rv_status bad_type(const rv_spec *spec, const rv_arg *a, const char *expected)
{
    return rv_fail(RV_ERR_SPEC_TYPE, "spec '%s': %s=%s: expected %s", spec->text, a->key,
                   a->value.text, expected);
}

static rv_status bind_one(const rv_spec *spec, const rv_arg *a, const rv_binding *b)
{
    const rv_value *v = &a->value;
    switch (b->kind) {
    case RV_BIND_NUMBER:
    case RV_BIND_INTEGER:
        if (v->kind != RV_VALUE_NUMBER)
            return bad_type(spec, a, b->kind == RV_BIND_NUMBER ? "a number" : "a whole number");
        if (!isfinite(v->number))
            return rv_fail(RV_ERR_SPEC_RANGE, "spec '%s': %s=%s: must be finite", spec->text,
                           a->key, v->text);
        if (b->kind == RV_BIND_INTEGER && (v->number != floor(v->number) || fabs(v->number) > 9e15))
            return bad_type(spec, a, "a whole number");
        *(double *)b->dst = v->number;
        return RV_OK;
    case RV_BIND_BOOL:
        if (v->kind != RV_VALUE_BOOL)
            return bad_type(spec, a, "true or false");
        *(int *)b->dst = v->boolean;
        return RV_OK;
    case RV_BIND_WORD:
        if (v->kind == RV_VALUE_WORD)
            for (int i = 0; b->words[i]; i++)
                if (!strcmp(v->word, b->words[i])) {
                    *(int *)b->dst = i;
                    return RV_OK;
                }
        {
            char list[256] = "";
            for (int i = 0; b->words[i]; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, b->words[i], sizeof list - strlen(list) - 1);
            }
            return rv_fail(RV_ERR_SPEC_RANGE, "spec '%s': %s=%s: expected one of %s", spec->text,
                           a->key, v->text, list);
        }
    case RV_BIND_NUMBERS: {
        double *dst = b->dst;
        const rv_value *items = v->kind == RV_VALUE_TUPLE ? v->items : v;
        size_t n = v->kind == RV_VALUE_TUPLE ? v->n_items : 1;
        if (v->kind != RV_VALUE_TUPLE && v->kind != RV_VALUE_NUMBER)
            return bad_type(spec, a, b->exact ? "a tuple of numbers" : "a number or a tuple of numbers");
        if ((b->exact && n != b->cap) || n > b->cap) {
            char want[64];
            snprintf(want, sizeof want, b->exact ? "a tuple of %zu numbers" : "at most %zu numbers",
                     b->cap);
            return bad_type(spec, a, want);
        }
        for (size_t i = 0; i < n; i++) {
            if (items[i].kind != RV_VALUE_NUMBER)
                return bad_type(spec, a, "numbers only inside the tuple");
            if (!isfinite(items[i].number))
                return rv_fail(RV_ERR_SPEC_RANGE, "spec '%s': %s=%s: must be finite", spec->text,
                               a->key, v->text);
            dst[i] = items[i].number;
        }
        if (b->count)
            *b->count = n;
        return RV_OK;
    }
    case RV_BIND_CALL:
        if (v->kind != RV_VALUE_CALL && v->kind != RV_VALUE_WORD)
            return bad_type(spec, a, "a spec such as name(key=value)");
        *(const rv_value **)b->dst = v;
        return RV_OK;
    case RV_BIND_TEXT:
        *(const char **)b->dst = v->text;
        return RV_OK;
    }
    return rv_fail(RV_ERR_ARG, "internal: unknown binding kind");
}

rv_status rv_spec_bind(const rv_spec *spec, const rv_binding *table, size_t n)
{
    const char *keys[64];
    size_t nk = n < 63 ? n : 63;
    for (size_t i = 0; i < nk; i++)
        keys[i] = table[i].key;
    keys[nk] = NULL;

    for (size_t j = 0; j < spec->n_args; j++) {
        const rv_arg *a = &spec->args[j];
        const rv_binding *b = NULL;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(table[i].key, a->key))
                b = &table[i];
        if (!b) {
            const char *near = rv_closest_word(a->key, keys);
            char valid[512] = "";
            for (size_t i = 0; i < nk; i++) {
                strncat(valid, i ? ", " : "", sizeof valid - strlen(valid) - 1);
                strncat(valid, keys[i], sizeof valid - strlen(valid) - 1);
            }
            if (near)
                return rv_fail(RV_ERR_SPEC_UNKNOWN_KEY,
                               "spec '%s': unknown key '%s' for %s (did you mean '%s'?)",
                               spec->text, a->key, spec->name, near);
            return rv_fail(RV_ERR_SPEC_UNKNOWN_KEY, "spec '%s': unknown key '%s' for %s (valid keys: %s)",
                           spec->text, a->key, spec->name, nk ? valid : "none");
        }
        rv_status s = bind_one(spec, a, b);
        if (s)
            return s;
        if (b->given)
            *b->given = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!table[i].required)
            continue;
        int found = 0;
        for (size_t j = 0; j < spec->n_args; j++)
            found |= !strcmp(spec->args[j].key, table[i].key);
        if (!found)
            return rv_fail(RV_ERR_SPEC_MISSING_KEY, "spec '%s': %s needs the key '%s'", spec->text,
                           spec->name, table[i].key);
    }
    return RV_OK;
}

rv_numtext rv_num(double v)
{
    rv_numtext t;
    snprintf(t.s, sizeof t.s, "%.9g", v);
    if (strtod(t.s, NULL) != v && isfinite(v))
        snprintf(t.s, sizeof t.s, "%.17g", v);
    return t;
}

const char *rv_spec_value_text(const rv_spec *spec, const char *key)
{
    for (size_t j = 0; j < spec->n_args; j++)
        if (!strcmp(spec->args[j].key, key))
            return spec->args[j].value.text;
    return NULL;
}

rv_status rv_spec_range(const rv_spec *spec, rv_status code, const char *key, const char *why)
{
    const char *text = rv_spec_value_text(spec, key);
    if (text)
        return rv_fail(code, "spec '%s': %s=%s: %s", spec->text, key, text, why);
    return rv_fail(code, "spec '%s': %s (default): %s", spec->text, key, why);
}
