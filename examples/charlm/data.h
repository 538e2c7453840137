/* charlm/data.h — the word list, its split, and (context -> next char) examples.

   Words are lowercase a-z only (anything with an apostrophe, a capital or a
   non-ASCII byte is dropped), sorted and deduplicated, then shuffled with a
   fixed seed and cut 80/10/10 into train/val/test. Splitting by word keeps
   every character of a word on one side, so validation measures how well
   the model spells words it has never seen.

   Token 0 is '.', the start/end marker (makemore style); 'a'..'z' are 1..26.
   A word of n letters gives n + 1 examples: each letter and the final '.',
   each predicted from the `context` tokens before it, padded with '.'. */
#ifndef CHARLM_DATA_H
#define CHARLM_DATA_H

#include "../common/rng.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHARLM_VOCAB 27
#define CHARLM_MAX_WORD 64

static inline int charlm_token(char c) { return c == '.' ? 0 : c - 'a' + 1; }
static inline char charlm_char(int t) { return t == 0 ? '.' : (char)('a' + t - 1); }

typedef struct charlm_words {
    char **items;   /* pointers into blob */
    size_t n;
    char *blob;     /* owned by the full list; splits borrow it */
} charlm_words;

typedef struct charlm_split {
    charlm_words all;          /* sorted, deduplicated */
    charlm_words train, val, test;
    char **order;              /* all.items shuffled; the splits are slices of it */
} charlm_split;

static inline int charlm_word_ok(const char *w, size_t len)
{
    if (len == 0 || len >= CHARLM_MAX_WORD)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return 0;
    return 1;
}

static inline int charlm_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep the valid words of text (one per line; modified in place and owned
   by the result), sorted and deduplicated. Returns 0, or -1 out of memory. */
static inline int charlm_words_from_text(char *text, size_t size, charlm_words *out)
{
    size_t cap = 1024, n = 0;
    char **items = malloc(cap * sizeof *items);
    if (!items)
        return -1;
    char *line = text, *end = text + size;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - line);
        if (len && line[len - 1] == '\r')
            len--;
        if (charlm_word_ok(line, len)) {
            line[len] = '\0';
            if (n == cap) {
                char **grown = realloc(items, 2 * cap * sizeof *items);
                if (!grown)
                    return free(items), -1;
                items = grown;
                cap *= 2;
            }
            items[n++] = line;
        }
        line = stop + 1;
    }
    qsort(items, n, sizeof *items, charlm_cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || strcmp(items[kept - 1], items[i]) != 0)
            items[kept++] = items[i];
    out->items = items;
    out->n = kept;
    out->blob = text;
    return 0;
}

/* Read a word list file. Returns 0, or -1 with errno-style detail in why. */
static inline int charlm_words_load(const char *path, charlm_words *out, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return *why = "cannot open", -1;
    size_t cap = 1 << 20, size = 0;
    char *text = malloc(cap + 1);
    for (;;) {
        if (!text)
            return fclose(f), *why = "out of memory", -1;
        size += fread(text + size, 1, cap - size, f);
        if (size < cap)
            break;
        char *grown = realloc(text, 2 * cap + 1);
        if (!grown)
            free(text);
        text = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return free(text), *why = "read error", -1;
    text[size] = '\0';
    if (charlm_words_from_text(text, size, out))
        return free(text), *why = "out of memory", -1;
    if (out->n == 0)
        return free(out->items), free(text), *why = "no lowercase a-z words", -1;
    return 0;
}

/* Shuffle with split_seed and cut 80/10/10. Takes ownership of all. */
static inline int charlm_split_words(charlm_words all, uint64_t split_seed, charlm_split *out)
{
    memset(out, 0, sizeof *out);
    out->all = all;
    out->order = malloc((all.n ? all.n : 1) * sizeof *out->order);
    if (!out->order)
        return -1;
    memcpy(out->order, all.items, all.n * sizeof *all.items);
    ex_rng r = {split_seed};
    for (size_t i = all.n; i > 1; i--) {
        size_t j = ex_rng_below(&r, i);
        char *t = out->order[i - 1];
        out->order[i - 1] = out->order[j];
        out->order[j] = t;
    }
    size_t n_train = all.n * 8 / 10, n_val = all.n / 10;
    out->train = (charlm_words){out->order, n_train, NULL};
    out->val = (charlm_words){out->order + n_train, n_val, NULL};
    out->test = (charlm_words){out->order + n_train + n_val, all.n - n_train - n_val, NULL};
    return 0;
}

static inline void charlm_split_free(charlm_split *s)
{
    free(s->order);
    free(s->all.items);
    free(s->all.blob);
    memset(s, 0, sizeof *s);
}

/* Examples: ctx[i * context + c] is the c-th context token of example i
   (oldest first), y[i] the token to predict. */
typedef struct charlm_examples {
    uint8_t *ctx;
    uint8_t *y;
    size_t n;
    int context;
} charlm_examples;

static inline size_t charlm_count_tokens(const charlm_words *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += strlen(w->items[i]) + 1;
    return n;
}

static inline int charlm_examples_build(const charlm_words *w, int context, charlm_examples *out)
{
    size_t n = charlm_count_tokens(w);
    out->ctx = malloc(n * (size_t)context + 1);
    out->y = malloc(n + 1);
    out->n = n;
    out->context = context;
    if (!out->ctx || !out->y)
        return free(out->ctx), free(out->y), -1;
    size_t k = 0;
    uint8_t window[CHARLM_MAX_WORD];
    for (size_t i = 0; i < w->n; i++) {
        memset(window, 0, (size_t)context);
        for (const char *p = w->items[i];; p++) {
            int t = *p ? charlm_token(*p) : 0;
            memcpy(out->ctx + k * (size_t)context, window, (size_t)context);
            out->y[k++] = (uint8_t)t;
            if (!*p)
                break;
            memmove(window, window + 1, (size_t)context - 1);
            window[context - 1] = (uint8_t)t;
        }
    }
    return 0;
}

static inline void charlm_examples_free(charlm_examples *e)
{
    free(e->ctx);
    free(e->y);
    memset(e, 0, sizeof *e);
}

#endif
