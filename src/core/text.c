#include "core/text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(rv_text *t, size_t extra)
{
    if (t->oom)
        return 0;
    if (extra > SIZE_MAX - t->len - 1) {
        t->oom = 1;
        return 0;
    }
    size_t need = t->len + extra + 1;
    if (need <= t->cap)
        return 1;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
    char *grown = realloc(t->s, cap);
    if (!grown) {
        t->oom = 1;
        return 0;
    }
    t->s = grown;
    t->cap = cap;
    return 1;
}

void rv_text_put_n(rv_text *t, const char *s, size_t n)
{
    if (!reserve(t, n))
        return;
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

void rv_text_put(rv_text *t, const char *s) { rv_text_put_n(t, s, strlen(s)); }

void rv_text_putf(rv_text *t, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        t->oom = 1;
    else if (reserve(t, (size_t)n)) {
        vsnprintf(t->s + t->len, (size_t)n + 1, fmt, again);
        t->len += (size_t)n;
    }
    va_end(again);
}

const char *rv_text_str(const rv_text *t) { return t->s ? t->s : ""; }

char *rv_text_take(rv_text *t)
{
    char *s = t->oom ? NULL : t->s;
    if (t->oom)
        free(t->s);
    else if (!s)
        s = calloc(1, 1);
    memset(t, 0, sizeof *t);
    return s;
}

void rv_text_free(rv_text *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}
