/* gpt/ngram.h — count-based character n-gram baselines on a token stream.

   P(c | previous n-1 tokens) = (count(context, c) + alpha) / (count(context) + V alpha),
   counted on the training stream. The loss is the mean negative
   log-likelihood (nats/char) over the evaluated positions, each predicted
   from the n-1 tokens before it in the same stream (positions before the
   stream's start read as '\n', which is token 0).

   As in charlm's baselines (examples/charlm/ngram.h) counting sorts the
   n-grams' base-V codes (V^6 < 2^40; common/sorted.h), so any order costs
   one uint64 per training token. alpha is the best of a small grid for each order, chosen
   on the evaluated stream itself: the baseline gets the most add-alpha
   smoothing can give. */
#ifndef GPT_NGRAM_H
#define GPT_NGRAM_H

#include "../common/sorted.h"
#include "data.h"

#include <math.h>

#define GPT_NGRAM_MAX 6
static const double gpt_ngram_alphas[] = {0.003, 0.01, 0.03, 0.1, 0.3, 1.0};
#define GPT_NGRAM_ALPHAS (sizeof gpt_ngram_alphas / sizeof gpt_ngram_alphas[0])

/* The code of the n-gram ending at position i: context * V + token. */
static inline uint64_t gpt_ngram_code(const uint8_t *tokens, size_t i, int order)
{
    uint64_t code = 0;
    for (int k = order - 1; k >= 0; k--) {
        uint64_t t = (size_t)k <= i ? tokens[i - (size_t)k] : 0;
        code = code * GPT_VOCAB + t;
    }
    return code;
}

typedef struct gpt_ngram_result {
    double loss;     /* at the best alpha */
    double alpha;
} gpt_ngram_result;

/* The order-n model counted on train, scored on positions [first, first +
   count) of eval (count 0: all). Returns 0, or -1 out of memory. */
static inline int gpt_ngram_loss(const gpt_stream *train, const gpt_stream *eval, int order,
                                 size_t first, size_t count, gpt_ngram_result *out)
{
    if (count == 0 || first + count > eval->n)
        count = eval->n > first ? eval->n - first : 0;
    uint64_t *codes = malloc((train->n + 1) * sizeof *codes);
    if (!codes)
        return -1;
    for (size_t i = 0; i < train->n; i++)
        codes[i] = gpt_ngram_code(train->tokens, i, order);
    qsort(codes, train->n, sizeof *codes, ex_cmp_u64);
    double nll[GPT_NGRAM_ALPHAS] = {0};
    for (size_t i = first; i < first + count; i++) {
        uint64_t code = gpt_ngram_code(eval->tokens, i, order);
        uint64_t ctx = code - code % GPT_VOCAB;
        size_t lo = ex_lower_bound(codes, train->n, ctx);
        size_t hi = ex_lower_bound(codes, train->n, ctx + GPT_VOCAB);
        size_t at = ex_lower_bound(codes + lo, hi - lo, code) + lo;
        size_t end = ex_lower_bound(codes + lo, hi - lo, code + 1) + lo;
        for (size_t a = 0; a < GPT_NGRAM_ALPHAS; a++) {
            double alpha = gpt_ngram_alphas[a];
            nll[a] -= log(((double)(end - at) + alpha) / ((double)(hi - lo) + GPT_VOCAB * alpha));
        }
    }
    free(codes);
    out->loss = INFINITY;
    out->alpha = gpt_ngram_alphas[0];
    for (size_t a = 0; a < GPT_NGRAM_ALPHAS; a++) {
        double loss = count ? nll[a] / (double)count : NAN;
        if (loss < out->loss)
            out->loss = loss, out->alpha = gpt_ngram_alphas[a];
    }
    return 0;
}

#endif
