/* Recursive-descent parser for spec strings (grammar in ravine/spec.h). */
#include "ravine/spec.h"
#include "core/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *src;   /* whole input, for messages */
    const char *p;     /* cursor */
} parser;

static void skip_space(parser *ps)
{
    while (*ps->p && isspace((unsigned char)*ps->p))
        ps->p++;
}

static rv_status syntax(parser *ps, const char *what)
{
    return rv_fail(RV_ERR_SPEC_SYNTAX, "spec '%s': %s at column %d", ps->src, what,
                   (int)(ps->p - ps->src) + 1);
}

/* Copy [begin, end) without whitespace. */
static char *squeeze(const char *begin, const char *end)
{
    char *s = malloc((size_t)(end - begin) + 1);
    if (!s)
        return NULL;
    size_t k = 0;
    for (const char *c = begin; c < end; c++)
        if (!isspace((unsigned char)*c))
            s[k++] = *c;
    s[k] = '\0';
    return s;
}

static int is_word_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static int is_word_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.'; }

static rv_status parse_word(parser *ps, char **out)
{
    skip_space(ps);
    if (!is_word_start(*ps->p))
        return syntax(ps, "expected a name");
    const char *b = ps->p;
    while (is_word_char(*ps->p))
        ps->p++;
    *out = squeeze(b, ps->p);
    return *out ? RV_OK : rv_fail(RV_ERR_NOMEM, "out of memory parsing spec");
}

static void value_free(rv_value *v);
static rv_status parse_call_rest(parser *ps, rv_spec *out, int depth);

#define RV_STR_(x) #x
#define RV_STR(x) RV_STR_(x)

/* Arrays grow by doubling, so n items cost O(n) copies in all. */
/* The array with room for item n (doubling), or NULL (the old array is
   kept). Returning the pointer keeps each array's own type at its use. */
static void *grow(void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    size_t want = *cap ? 2 * *cap : 4;
    void *grown = realloc(items, want * size);
    if (grown)
        *cap = want;
    return grown;
}

static rv_status parse_value(parser *ps, rv_value *v, int depth)
{
    memset(v, 0, sizeof *v);
    skip_space(ps);
    const char *begin = ps->p;
    rv_status s = RV_OK;
    if (depth > RV_SPEC_MAX_DEPTH)
        return syntax(ps, "values nested too deeply");
    if (*ps->p == '(') {
        v->kind = RV_VALUE_TUPLE;
        ps->p++;
        size_t cap = 0;
        for (;;) {
            if (v->n_items == RV_SPEC_MAX_ITEMS) {
                s = syntax(ps, "more than " RV_STR(RV_SPEC_MAX_ITEMS) " values in a tuple");
                goto fail;
            }
            rv_value *items = grow(v->items, v->n_items, &cap, sizeof *v->items);
            if (!items) {
                s = rv_fail(RV_ERR_NOMEM, "out of memory parsing spec");
                goto fail;
            }
            v->items = items;
            s = parse_value(ps, &v->items[v->n_items], depth + 1);
            if (s)
                goto fail;
            v->n_items++;
            skip_space(ps);
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == ')') {
                ps->p++;
                break;
            }
            s = syntax(ps, "expected ',' or ')' in a tuple");
            goto fail;
        }
    } else if (isdigit((unsigned char)*ps->p) || *ps->p == '.' || *ps->p == '-' || *ps->p == '+') {
        char *end;
        v->kind = RV_VALUE_NUMBER;
        v->number = strtod(ps->p, &end);
        /* strtod also accepts "inf"/"nan" and hex; numbers here are decimal C literals */
        int plain = end > ps->p;
        for (const char *c = ps->p; c < end; c++)
            if (!isdigit((unsigned char)*c) && !strchr("+-.eE", *c))
                plain = 0;
        if (!plain || is_word_char(*end))
            return syntax(ps, "malformed number");
        ps->p = end;
    } else if (is_word_start(*ps->p)) {
        char *w;
        if ((s = parse_word(ps, &w)))
            return s;
        skip_space(ps);
        if (*ps->p == '(') {
            v->kind = RV_VALUE_CALL;
            v->call = calloc(1, sizeof *v->call);
            if (!v->call) {
                free(w);
                return rv_fail(RV_ERR_NOMEM, "out of memory parsing spec");
            }
            v->call->name = w;
            if ((s = parse_call_rest(ps, v->call, depth + 1)))
                goto fail;
        } else if (!strcmp(w, "true") || !strcmp(w, "True") || !strcmp(w, "false") ||
                   !strcmp(w, "False")) {
            v->kind = RV_VALUE_BOOL;
            v->boolean = (w[0] == 't' || w[0] == 'T');
            free(w);
        } else {
            v->kind = RV_VALUE_WORD;
            v->word = w;
        }
    } else {
        return syntax(ps, *ps->p ? "expected a value" : "expected a value, found the end");
    }
    v->text = squeeze(begin, ps->p);
    if (v->text && v->kind == RV_VALUE_CALL && !(v->call->text = strdup(v->text))) {
        free(v->text);
        v->text = NULL;
    }
    if (!v->text) {
        s = rv_fail(RV_ERR_NOMEM, "out of memory parsing spec");
        goto fail;
    }
    return RV_OK;
fail:
    value_free(v);
    return s;
}

/* After the name: optional "(" args ")". Fills out->args and out->text. */
static rv_status parse_call_rest(parser *ps, rv_spec *out, int depth)
{
    const char *name_end = ps->p;
    rv_status s;
    skip_space(ps);
    if (*ps->p == '(') {
        ps->p++;
        skip_space(ps);
        if (*ps->p == ')') {
            ps->p++;
        } else {
            size_t cap = 0;
            for (;;) {
                if (out->n_args == RV_SPEC_MAX_ARGS)
                    return syntax(ps, "more than " RV_STR(RV_SPEC_MAX_ARGS) " keys in one call");
                rv_arg *args = grow(out->args, out->n_args, &cap, sizeof *out->args);
                if (!args)
                    return rv_fail(RV_ERR_NOMEM, "out of memory parsing spec");
                out->args = args;
                rv_arg *a = &out->args[out->n_args];
                memset(a, 0, sizeof *a);
                skip_space(ps);
                if (!is_word_start(*ps->p))
                    return syntax(ps, "expected key=value (arguments are keywords only)");
                if ((s = parse_word(ps, &a->key)))
                    return s;
                out->n_args++;
                skip_space(ps);
                if (*ps->p != '=')
                    return syntax(ps, "expected '=' after a key (arguments are keywords only)");
                ps->p++;
                if ((s = parse_value(ps, &a->value, depth)))
                    return s;
                /* at most RV_SPEC_MAX_ARGS keys, so this stays linear in the text */
                for (size_t i = 0; i + 1 < out->n_args; i++)
                    if (!strcmp(out->args[i].key, a->key))
                        return rv_fail(RV_ERR_SPEC_DUPLICATE_KEY, "spec '%s': key '%s' given twice",
                                       ps->src, a->key);
                skip_space(ps);
                if (*ps->p == ',') {
                    ps->p++;
                    continue;
                }
                if (*ps->p == ')') {
                    ps->p++;
                    break;
                }
                return syntax(ps, "expected ',' or ')'");
            }
        }
    } else {
        ps->p = name_end;
    }
    return RV_OK;
}

static void value_free(rv_value *v)
{
    free(v->word);
    for (size_t i = 0; i < v->n_items; i++)
        value_free(&v->items[i]);
    free(v->items);
    if (v->call) {
        rv_spec_free(v->call);
        free(v->call);
    }
    free(v->text);
    memset(v, 0, sizeof *v);
}

void rv_spec_free(rv_spec *spec)
{
    if (!spec)
        return;
    free(spec->name);
    for (size_t i = 0; i < spec->n_args; i++) {
        free(spec->args[i].key);
        value_free(&spec->args[i].value);
    }
    free(spec->args);
    free(spec->text);
    memset(spec, 0, sizeof *spec);
}

rv_status rv_spec_parse(const char *text, rv_spec *out)
{
    if (!out)
        return rv_fail(RV_ERR_NULL, "rv_spec_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!text)
        return rv_fail(RV_ERR_NULL, "rv_spec_parse: text is NULL");
    parser ps = {text, text};
    rv_status s = parse_word(&ps, &out->name);
    if (!s)
        s = parse_call_rest(&ps, out, 0);
    if (!s) {
        skip_space(&ps);
        if (*ps.p)
            s = syntax(&ps, "unexpected text after the spec");
    }
    if (!s) {
        out->text = squeeze(text, ps.p);
        if (!out->text)
            s = rv_fail(RV_ERR_NOMEM, "out of memory parsing spec");
    }
    if (s)
        rv_spec_free(out);
    return s;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *rv_closest_word(const char *word, const char *const *candidates)
{
    if (!word || !candidates)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; candidates[i]; i++) {
        size_t d = edit_distance(word, candidates[i]);
        /* a prefix like "lr_dec" for "lr_decay" is a plausible typo too */
        if (strlen(word) >= 2 && !strncmp(word, candidates[i], strlen(word)))
            d = d < 2 ? d : 2;
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    size_t limit = strlen(word) / 3 + 1;
    if (limit < 2)
        limit = 2;
    return best_d <= limit ? best : NULL;
}
