/* gpt/data.h — the fortunes corpus, its split, and its tokens.

   The text of Debian's `fortunes` package: every file without an extension
   in the folder (art, computers, cookie, ..., zippy), in name order. A file
   is a list of fortunes separated by lines holding a single '%'. Each
   fortune is its text up to that line (its last newline included); blank
   fortunes are dropped and exact duplicates (the same fortune in two
   files) kept once, so no fortune lands on both sides of the split.

   Split: the distinct fortunes, sorted bytewise, are shuffled with a fixed
   seed (splitmix64, Fisher-Yates) and cut 90/5/5 into train, validation and
   test. Each part is one stream: its fortunes in shuffled order, each
   followed by "%\n" as in the files, so the model also learns where a
   fortune ends.

   Tokens are characters: '\n' is 0, '\t' is 1, the printable ASCII bytes
   ' '..'~' are 2..96, and every other byte (a few hundred backspaces, bells
   and Latin-1/UTF-8 bytes among 2.5 MB) is 97. */
#ifndef GPT_DATA_H
#define GPT_DATA_H

#include "../common/rng.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GPT_VOCAB 98
#define GPT_OTHER 97

static inline int gpt_token_of(unsigned char c)
{
    if (c == '\n')
        return 0;
    if (c == '\t')
        return 1;
    if (c >= ' ' && c <= '~')
        return c - ' ' + 2;
    return GPT_OTHER;
}

/* The character a token stands for ('?' for the catch-all token). */
static inline char gpt_char_of(int t)
{
    if (t == 0)
        return '\n';
    if (t == 1)
        return '\t';
    if (t >= 2 && t < GPT_OTHER)
        return (char)(' ' + t - 2);
    return '?';
}

/* A fortune: len bytes at text (in a blob owned by the gpt_docs). */
typedef struct gpt_doc {
    const char *text;
    size_t len;
} gpt_doc;

typedef struct gpt_docs {
    gpt_doc *items;
    size_t n, cap;
    char **blobs;
    size_t n_blobs;
    size_t files;   /* files read */
} gpt_docs;

static inline void gpt_docs_free(gpt_docs *d)
{
    for (size_t i = 0; i < d->n_blobs; i++)
        free(d->blobs[i]);
    free(d->blobs);
    free(d->items);
    memset(d, 0, sizeof *d);
}

static inline int gpt_docs_push(gpt_docs *d, const char *text, size_t len)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        gpt_doc *grown = realloc(d->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        d->items = grown;
        d->cap = cap;
    }
    d->items[d->n++] = (gpt_doc){text, len};
    return 0;
}

/* Take ownership of text (size bytes, malloc'ed) and add its fortunes.
   Returns 0, or -1 out of memory (text is freed either way). */
static inline int gpt_docs_add_text(gpt_docs *d, char *text, size_t size)
{
    char **grown = realloc(d->blobs, (d->n_blobs + 1) * sizeof *grown);
    if (!grown)
        return free(text), -1;
    d->blobs = grown;
    d->blobs[d->n_blobs++] = text;
    const char *start = text, *line = text, *end = text + size;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *next = nl ? nl + 1 : end;
        size_t len = (size_t)((nl ? nl : end) - line);
        if (len && line[len - 1] == '\r')
            len--;
        int delimiter = len == 1 && line[0] == '%';
        if (delimiter || next == end) {
            const char *stop = delimiter ? line : end;
            int blank = 1;
            for (const char *p = start; p < stop; p++)
                blank &= *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
            if (!blank && gpt_docs_push(d, start, (size_t)(stop - start)))
                return -1;
            start = next;
        }
        line = next;
    }
    return 0;
}

static inline int gpt_doc_cmp(const void *a, const void *b)
{
    const gpt_doc *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sort bytewise and keep one of each. */
static inline void gpt_docs_dedupe(gpt_docs *d)
{
    if (d->n)
        qsort(d->items, d->n, sizeof *d->items, gpt_doc_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < d->n; i++)
        if (kept == 0 || gpt_doc_cmp(&d->items[kept - 1], &d->items[i]) != 0)
            d->items[kept++] = d->items[i];
    d->n = kept;
}

static inline int gpt_cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline char *gpt_read_file(const char *path, size_t *size, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return *why = "cannot open", NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *grown = realloc(buf, 2 * cap);
        if (!grown)
            free(buf);
        buf = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return *why = "out of memory", NULL;
    if (bad)
        return free(buf), *why = "read error", NULL;
    *size = n;
    return buf;
}

/* Read the fortunes of every regular file without a '.' in its name in
   dir, in name order. Returns 0, or -1 with why (and the failing file in
   path_out, size path_size). */
static inline int gpt_docs_load_dir(const char *dir, gpt_docs *d, const char **why,
                                    char *path_out, size_t path_size)
{
    memset(d, 0, sizeof *d);
    snprintf(path_out, path_size, "%s", dir);
    DIR *dp = opendir(dir);
    if (!dp)
        return *why = "cannot open the folder", -1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    int failed = 0;
    while (!failed && (e = readdir(dp))) {
        if (strchr(e->d_name, '.'))
            continue;
        char **grown = realloc(names, (n + 1) * sizeof *grown);
        char *copy = strdup(e->d_name);
        if (!grown || !copy) {
            free(copy);
            if (grown)
                names = grown;
            failed = 1;
            break;
        }
        names = grown;
        names[n++] = copy;
    }
    closedir(dp);
    if (!failed && n)
        qsort(names, n, sizeof *names, gpt_cmp_name);
    for (size_t i = 0; i < n && !failed; i++) {
        snprintf(path_out, path_size, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path_out, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        size_t size;
        char *text = gpt_read_file(path_out, &size, why);
        if (!text || gpt_docs_add_text(d, text, size)) {
            if (text)
                *why = "out of memory";
            failed = 1;
        }
        d->files++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (failed && !*why)
        *why = "out of memory";
    if (failed)
        return gpt_docs_free(d), -1;
    snprintf(path_out, path_size, "%s", dir);
    if (d->n == 0)
        return gpt_docs_free(d), *why = "no fortunes in files without an extension", -1;
    return 0;
}

/* A token stream. */
typedef struct gpt_stream {
    uint8_t *tokens;
    size_t n;
} gpt_stream;

typedef struct gpt_corpus {
    size_t files, fortunes;                 /* files read, distinct fortunes */
    size_t n_train, n_val, n_test;          /* fortunes per part */
    gpt_stream train, val, test;
} gpt_corpus;

static inline void gpt_corpus_free(gpt_corpus *c)
{
    free(c->train.tokens);
    free(c->val.tokens);
    free(c->test.tokens);
    memset(c, 0, sizeof *c);
}

static inline int gpt_stream_build(const gpt_doc *docs, size_t n, gpt_stream *out)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += docs[i].len + 2;
    out->tokens = malloc(total + 1);
    out->n = total;
    if (!out->tokens)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < docs[i].len; j++)
            out->tokens[k++] = (uint8_t)gpt_token_of((unsigned char)docs[i].text[j]);
        out->tokens[k++] = (uint8_t)gpt_token_of('%');
        out->tokens[k++] = (uint8_t)gpt_token_of('\n');
    }
    return 0;
}

/* Dedupe d, shuffle it with split_seed and cut 90/5/5 into token streams.
   d is reordered; the corpus does not borrow from it. Returns 0, or -1 out
   of memory. */
static inline int gpt_corpus_build(gpt_docs *d, uint64_t split_seed, gpt_corpus *out)
{
    memset(out, 0, sizeof *out);
    gpt_docs_dedupe(d);
    ex_rng r = {split_seed};
    for (size_t i = d->n; i > 1; i--) {
        size_t j = ex_rng_below(&r, i);
        gpt_doc t = d->items[i - 1];
        d->items[i - 1] = d->items[j];
        d->items[j] = t;
    }
    out->files = d->files;
    out->fortunes = d->n;
    out->n_train = d->n * 9 / 10;
    out->n_val = d->n / 20;
    out->n_test = d->n - out->n_train - out->n_val;
    if (gpt_stream_build(d->items, out->n_train, &out->train) ||
        gpt_stream_build(d->items + out->n_train, out->n_val, &out->val) ||
        gpt_stream_build(d->items + out->n_train + out->n_val, out->n_test, &out->test))
        return gpt_corpus_free(out), -1;
    return 0;
}

#endif
