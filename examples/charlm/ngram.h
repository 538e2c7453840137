/* charlm/ngram.h — count-based n-gram baselines on the same split.

   P(c | previous n-1 tokens) = (count(context, c) + alpha) / (count(context) + 27 alpha),
   contexts padded with '.' exactly like the MLP's. The loss is the mean
   negative log-likelihood per predicted token (nats/char) on the evaluated
   words, end marker included.

   Counting sorts the base-27 codes of the training n-grams
   (common/sorted.h), so memory is one uint64 per training token whatever
   n is. */
#ifndef CHARLM_NGRAM_H
#define CHARLM_NGRAM_H

#include "../common/sorted.h"
#include "data.h"

#include <math.h>

#define CHARLM_NGRAM_MAX 6

/* Calls visit(code, arg) for every n-gram of w: code = context * 27 + next. */
static inline void charlm_ngram_codes(const charlm_words *w, int order,
                                      void (*visit)(uint64_t code, void *arg), void *arg)
{
    uint64_t mod = 1;
    for (int i = 0; i < order - 1; i++)
        mod *= CHARLM_VOCAB;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t ctx = 0;   /* all '.' */
        for (const char *p = w->items[i];; p++) {
            uint64_t t = *p ? (uint64_t)charlm_token(*p) : 0;
            visit(ctx * CHARLM_VOCAB + t, arg);
            if (!*p)
                break;
            ctx = (ctx * CHARLM_VOCAB + t) % mod;
        }
    }
}

typedef struct charlm_ngram_acc {
    uint64_t *codes;
    size_t n;
    double nll;
    size_t tokens;
    double alpha;
} charlm_ngram_acc;

static inline void charlm_ngram_collect(uint64_t code, void *arg)
{
    charlm_ngram_acc *a = arg;
    a->codes[a->n++] = code;
}

static inline void charlm_ngram_score(uint64_t code, void *arg)
{
    charlm_ngram_acc *a = arg;
    uint64_t first = code - code % CHARLM_VOCAB;
    size_t lo = ex_lower_bound(a->codes, a->n, first);
    size_t hi = ex_lower_bound(a->codes, a->n, first + CHARLM_VOCAB);
    size_t at = ex_lower_bound(a->codes, a->n, code);
    size_t end = ex_lower_bound(a->codes, a->n, code + 1);
    double p = ((double)(end - at) + a->alpha) / ((double)(hi - lo) + CHARLM_VOCAB * a->alpha);
    a->nll -= log(p);
    a->tokens++;
}

/* Mean NLL (nats/token) on eval of the order-n model counted on train;
   order in [1, CHARLM_NGRAM_MAX]. Returns NAN if out of memory. */
static inline double charlm_ngram_loss(const charlm_words *train, const charlm_words *eval,
                                       int order, double alpha)
{
    charlm_ngram_acc a = {0};
    a.alpha = alpha;
    a.codes = malloc((charlm_count_tokens(train) + 1) * sizeof *a.codes);
    if (!a.codes)
        return NAN;
    charlm_ngram_codes(train, order, charlm_ngram_collect, &a);
    qsort(a.codes, a.n, sizeof *a.codes, ex_cmp_u64);
    charlm_ngram_codes(eval, order, charlm_ngram_score, &a);
    free(a.codes);
    return a.tokens ? a.nll / (double)a.tokens : NAN;
}

#endif
