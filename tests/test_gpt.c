/* The GPT example: the corpus and its split, token mapping, n-gram
   baselines by hand, the forward pass against an independent
   double-precision implementation, every parameter's gradient against
   central differences of that implementation, and training (loss falls;
   the same bits for one thread and two; a resumed run equals an
   uninterrupted one). */
#include "../examples/gpt/data.h"
#include "../examples/gpt/model.h"
#include "../examples/gpt/ngram.h"
#include "../examples/gpt/train.h"
#include "check.h"
#include "ravine/ravine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- data ----------------------------------------------------------------- */

static void add_text(gpt_docs *d, const char *text)
{
    char *copy = strdup(text);
    CHECK(copy != NULL);
    CHECK(gpt_docs_add_text(d, copy, strlen(copy)) == 0);
}

static int doc_is(const gpt_doc *d, const char *text)
{
    return d->len == strlen(text) && memcmp(d->text, text, d->len) == 0;
}

/* Fortunes end at a line "%" (also with CRLF); blank ones are dropped, the
   last one needs no delimiter, and duplicates across files are kept once. */
static void fortunes_are_split_and_deduplicated(void)
{
    gpt_docs d = {0};
    add_text(&d, "A stitch in time.\n%\n\n%\nTwo\nlines.\n%\r\n 100% sure\n%\nno end");
    add_text(&d, "Two\nlines.\n%\n");
    CHECK(d.n == 5);
    if (d.n == 5) {
        CHECK(doc_is(&d.items[0], "A stitch in time.\n"));
        CHECK(doc_is(&d.items[1], "Two\nlines.\n"));
        CHECK(doc_is(&d.items[2], " 100% sure\n"));
        CHECK(doc_is(&d.items[3], "no end"));
        CHECK(doc_is(&d.items[4], "Two\nlines.\n"));
    }
    gpt_docs_dedupe(&d);
    CHECK(d.n == 4);
    if (d.n == 4) {   /* bytewise order */
        CHECK(doc_is(&d.items[0], " 100% sure\n"));
        CHECK(doc_is(&d.items[1], "A stitch in time.\n"));
        CHECK(doc_is(&d.items[3], "no end"));
    }
    gpt_docs_free(&d);
}

static void tokens_map_characters(void)
{
    CHECK(gpt_token_of('\n') == 0 && gpt_token_of('\t') == 1);
    CHECK(gpt_token_of(' ') == 2 && gpt_token_of('~') == 96);
    CHECK(gpt_token_of('\b') == GPT_OTHER && gpt_token_of(0xc3) == GPT_OTHER);
    int round_trip = 1;
    for (int c = ' '; c <= '~'; c++)
        round_trip &= gpt_char_of(gpt_token_of((unsigned char)c)) == c;
    CHECK(round_trip);
    CHECK(gpt_char_of(GPT_OTHER) == '?');
}

/* 40 fortunes split 36/2/2, each part a stream of its fortunes with "%\n"
   after each; the same seed gives the same split. */
static void split_is_deterministic(void)
{
    gpt_corpus c[2];
    for (int k = 0; k < 2; k++) {
        gpt_docs d = {0};
        char text[40 * 8 + 1];
        size_t at = 0;
        for (int i = 0; i < 40; i++)
            at += (size_t)sprintf(text + at, "f%02d\n%%\n", i);
        add_text(&d, text);
        CHECK(gpt_corpus_build(&d, 7, &c[k]) == 0);
        gpt_docs_free(&d);
    }
    CHECK(c[0].fortunes == 40 && c[0].n_train == 36 && c[0].n_val == 2 && c[0].n_test == 2);
    CHECK(c[0].train.n == 36 * 6 && c[0].val.n == 12 && c[0].test.n == 12);
    CHECK(c[0].train.n == c[1].train.n &&
          memcmp(c[0].train.tokens, c[1].train.tokens, c[0].train.n) == 0);
    CHECK(c[0].val.tokens[3] == gpt_token_of('\n') && c[0].val.tokens[4] == gpt_token_of('%') &&
          c[0].val.tokens[5] == gpt_token_of('\n'));
    /* shuffled: the validation fortunes are not the last two in order */
    CHECK(!(c[0].val.tokens[1] == gpt_token_of('3') && c[0].val.tokens[2] == gpt_token_of('8')));
    gpt_corpus_free(&c[0]);
    gpt_corpus_free(&c[1]);
}

static gpt_stream stream_of(const char *text)
{
    gpt_stream s = {malloc(strlen(text) + 1), strlen(text)};
    for (size_t i = 0; i < s.n; i++)
        s.tokens[i] = (uint8_t)gpt_token_of((unsigned char)text[i]);
    return s;
}

/* Bigram on "abab": after 'a' always 'b' (2 of 2), after 'b' 'a' once of
   once (the final 'b' starts no bigram); add-alpha at each alpha of the
   grid, the best one reported. */
static void ngram_by_hand(void)
{
    gpt_stream train = stream_of("abab"), eval = stream_of("ab");
    gpt_ngram_result r;
    /* position 1 ('b' after 'a'): (2 + a) / (2 + 98 a) */
    CHECK(gpt_ngram_loss(&train, &eval, 2, 1, 1, &r) == 0);
    double best = INFINITY, best_alpha = 0;
    for (size_t k = 0; k < GPT_NGRAM_ALPHAS; k++) {
        double a = gpt_ngram_alphas[k], loss = -log((2 + a) / (2 + 98 * a));
        if (loss < best)
            best = loss, best_alpha = a;
    }
    CHECK_NEAR(r.loss, best, 1e-12);
    CHECK(r.alpha == best_alpha);
    /* unigram over both positions: counts a 2, b 2 of 4 */
    CHECK(gpt_ngram_loss(&train, &eval, 1, 0, 0, &r) == 0);
    CHECK_NEAR(r.loss, -log((2 + r.alpha) / (4 + 98 * r.alpha)), 1e-12);
    /* position 0 reads '\n' before the stream, as train's first 'a' did: (1 + a) / (1 + 98 a) */
    CHECK(gpt_ngram_loss(&train, &eval, 2, 0, 1, &r) == 0);
    CHECK_NEAR(r.loss, -log((1 + r.alpha) / (1 + 98 * r.alpha)), 1e-12);
    free(train.tokens);
    free(eval.tokens);
}

/* ---- the model against a double-precision reference ---------------------------- */

/* The same network written plainly in double: the mean loss of B sequences
   of T tokens, with parameters read from m (optionally one replaced). */
static double reference_loss(const gpt_model *m, const uint8_t *x, const uint8_t *y, int B, int T,
                             size_t changed, double value)
{
    const gpt_config c = m->cfg;
    int C = c.channels, NH = c.heads, hs = C / NH, V = c.vocab;
    size_t BT = (size_t)B * T;
    double *P = malloc(m->n_params * sizeof *P);
    for (size_t i = 0; i < m->n_params; i++)
        P[i] = m->params[i];
    if (changed < m->n_params)
        P[changed] = value;
#define PARAM(kind, l) (P + (m->p[kind] - m->params) + (size_t)(l) * m->kind_n[kind])
    double *h = malloc(BT * C * sizeof *h), *ln = malloc(BT * C * sizeof *ln);
    double *qkv = malloc(BT * 3 * C * sizeof *qkv), *att = malloc(BT * C * sizeof *att);
    double *fc = malloc(BT * 4 * C * sizeof *fc);
    for (size_t n = 0; n < BT; n++)
        for (int i = 0; i < C; i++)
            h[n * C + i] = PARAM(GPT_WTE, 0)[x[n] * C + i] + PARAM(GPT_WPE, 0)[(n % T) * C + i];
    /* ln = LayerNorm(h) with gain w and bias b */
#define LAYERNORM(w, b)                                                                       \
    for (size_t n = 0; n < BT; n++) {                                                         \
        double mean = 0, var = 0;                                                             \
        for (int i = 0; i < C; i++)                                                           \
            mean += h[n * C + i] / C;                                                         \
        for (int i = 0; i < C; i++)                                                           \
            var += (h[n * C + i] - mean) * (h[n * C + i] - mean) / C;                         \
        for (int i = 0; i < C; i++)                                                           \
            ln[n * C + i] = (h[n * C + i] - mean) / sqrt(var + 1e-5) * (w)[i] + (b)[i];       \
    }
    for (int l = 0; l < c.layers; l++) {
        LAYERNORM(PARAM(GPT_LN1W, l), PARAM(GPT_LN1B, l));
        for (size_t n = 0; n < BT; n++)
            for (int o = 0; o < 3 * C; o++) {
                double s = PARAM(GPT_QKVB, l)[o];
                for (int i = 0; i < C; i++)
                    s += ln[n * C + i] * PARAM(GPT_QKVW, l)[o * C + i];
                qkv[n * 3 * C + o] = s;
            }
        for (int b = 0; b < B; b++)
            for (int hd = 0; hd < NH; hd++)
                for (int t = 0; t < T; t++) {
                    const double *q = qkv + ((size_t)b * T + t) * 3 * C + hd * hs;
                    double w[64], mx = -INFINITY, sum = 0;
                    for (int u = 0; u <= t; u++) {
                        const double *k = qkv + ((size_t)b * T + u) * 3 * C + C + hd * hs;
                        w[u] = 0;
                        for (int i = 0; i < hs; i++)
                            w[u] += q[i] * k[i] / sqrt(hs);
                        mx = w[u] > mx ? w[u] : mx;
                    }
                    for (int u = 0; u <= t; u++)
                        sum += (w[u] = exp(w[u] - mx));
                    for (int i = 0; i < hs; i++) {
                        double s = 0;
                        for (int u = 0; u <= t; u++)
                            s += w[u] / sum * qkv[((size_t)b * T + u) * 3 * C + 2 * C + hd * hs + i];
                        att[((size_t)b * T + t) * C + hd * hs + i] = s;
                    }
                }
        for (size_t n = 0; n < BT; n++)
            for (int o = 0; o < C; o++) {
                double s = PARAM(GPT_ATTPROJB, l)[o];
                for (int i = 0; i < C; i++)
                    s += att[n * C + i] * PARAM(GPT_ATTPROJW, l)[o * C + i];
                ln[n * C + o] = s;   /* reuse as the projection's output */
            }
        for (size_t i = 0; i < BT * C; i++)
            h[i] += ln[i];
        LAYERNORM(PARAM(GPT_LN2W, l), PARAM(GPT_LN2B, l));
        for (size_t n = 0; n < BT; n++)
            for (int o = 0; o < 4 * C; o++) {
                double s = PARAM(GPT_FCB, l)[o];
                for (int i = 0; i < C; i++)
                    s += ln[n * C + i] * PARAM(GPT_FCW, l)[o * C + i];
                fc[n * 4 * C + o] = 0.5 * s * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (s + 0.044715 * s * s * s)));
            }
        for (size_t n = 0; n < BT; n++)
            for (int o = 0; o < C; o++) {
                double s = PARAM(GPT_FCPROJB, l)[o];
                for (int i = 0; i < 4 * C; i++)
                    s += fc[n * 4 * C + i] * PARAM(GPT_FCPROJW, l)[o * 4 * C + i];
                h[n * C + o] += s;
            }
    }
    LAYERNORM(PARAM(GPT_LNFW, 0), PARAM(GPT_LNFB, 0));
    double total = 0;
    for (size_t n = 0; n < BT; n++) {
        double z[128], mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) {
            z[v] = 0;
            for (int i = 0; i < C; i++)
                z[v] += ln[n * C + i] * PARAM(GPT_WTE, 0)[v * C + i];
            mx = z[v] > mx ? z[v] : mx;
        }
        for (int v = 0; v < V; v++)
            sum += exp(z[v] - mx);
        total += mx + log(sum) - z[y[n]];
    }
#undef LAYERNORM
#undef PARAM
    free(P), free(h), free(ln), free(qkv), free(att), free(fc);
    return total / (double)BT;
}

/* A small model with every parameter random (gains near 1), so attention
   is far from uniform and every path carries gradient. */
static void tiny_model(gpt_model *m, gpt_config cfg, int B, uint64_t seed)
{
    CHECK(gpt_model_init(m, cfg, B, seed) == 0);
    ex_rng r = {seed * 7 + 1};
    for (size_t k = 0; k < m->n_tensors; k++) {
        const gpt_tensor *t = &m->tensors[k];
        int gain = strstr(t->name, "ln_") && strstr(t->name, ".weight");
        for (size_t i = 0; i < t->n; i++)
            m->params[t->offset + i] = (float)((gain ? 1.0 : 0.0) + 0.4 * ex_rng_normal(&r));
    }
}

/* An all-zero model predicts uniformly: loss log V, gradient 0 except the
   embeddings (the output layer's gradient is LN_f's output, 0 too). */
static void zero_model_predicts_uniformly(void)
{
    gpt_model m;
    CHECK(gpt_model_init(&m, (gpt_config){11, 4, 1, 2, 8}, 2, 1) == 0);
    memset(m.params, 0, m.n_params * sizeof(float));
    const uint8_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {2, 3, 4, 5, 6, 7, 8, 9};
    double loss = gpt_loss(&m, x, y, 2, 4, GPT_BACKWARD) / 8;
    CHECK_NEAR(loss, log(11.0), 1e-6);
    float most = 0;
    for (size_t i = 0; i < m.n_params; i++)
        most = fmaxf(most, fabsf(m.grads[i]));
    CHECK(most == 0);
    gpt_model_free(&m);
}

/* The float forward pass equals the double reference to float rounding,
   for full and shorter sequences. */
static void forward_matches_reference(void)
{
    gpt_model m;
    gpt_config cfg = {13, 6, 2, 2, 8};
    tiny_model(&m, cfg, 3, 5);
    uint8_t x[18], y[18];
    ex_rng r = {3};
    for (int i = 0; i < 18; i++)
        x[i] = (uint8_t)ex_rng_below(&r, 13), y[i] = (uint8_t)ex_rng_below(&r, 13);
    for (int T = 6; T >= 1; T -= 5) {
        double ours = gpt_loss(&m, x, y, 3, T, 0) / (3.0 * T);
        double ref = reference_loss(&m, x, y, 3, T, SIZE_MAX, 0);
        printf("forward, T=%d: loss %.9f, reference %.9f\n", T, ours, ref);
        CHECK_NEAR(ours, ref, 2e-6 * ref);
    }
    gpt_model_free(&m);
}

/* Largest |analytic - numeric| / (|analytic| + |numeric| + 1e-4) over all
   parameters, the numeric gradient a central difference of the double
   reference (step 1e-5: truncation and rounding both near 1e-10). The
   1e-4 keeps float noise in gradients that are exactly 0 in theory (the
   key biases: softmax ignores a constant added to a row of scores) from
   counting as errors; typical gradients here are 1e-3 to 1e-1. */
static double gradcheck_error(const gpt_model *m, const uint8_t *x, const uint8_t *y, int B, int T,
                              const float *analytic, size_t *worst_at)
{
    double worst = 0;
    for (size_t i = 0; i < m->n_params; i++) {
        double p = m->params[i], h = 1e-5;
        double numeric = (reference_loss(m, x, y, B, T, i, p + h) -
                          reference_loss(m, x, y, B, T, i, p - h)) / (2 * h);
        double err = fabs(analytic[i] - numeric) / (fabs(analytic[i]) + fabs(numeric) + 1e-4);
        if (err > worst)
            worst = err, *worst_at = i;

    }
    return worst;
}

static const char *tensor_of(const gpt_model *m, size_t i)
{
    for (size_t k = 0; k < m->n_tensors; k++)
        if (i >= m->tensors[k].offset && i < m->tensors[k].offset + m->tensors[k].n)
            return m->tensors[k].name;
    return "?";
}

/* Every parameter of a 2-layer model (embeddings shared with the output,
   LayerNorms, attention, MLP, all biases) against central differences. */
static void gradient_check(void)
{
    gpt_model m;
    gpt_config cfg = {7, 5, 2, 2, 8};
    const int B = 2, T = 5;
    tiny_model(&m, cfg, B, 11);
    uint8_t x[10] = {1, 3, 3, 0, 6, 2, 5, 1, 4, 3}, y[10];
    for (int i = 0; i < 10; i++)   /* next tokens, token 3 repeated: embeddings accumulate */
        y[i] = (uint8_t)((x[i] * 3 + i) % 7);
    gpt_loss(&m, x, y, B, T, GPT_BACKWARD);
    float *analytic = malloc(m.n_params * sizeof(float));
    memcpy(analytic, m.grads, m.n_params * sizeof(float));
    size_t at = 0;
    double err = gradcheck_error(&m, x, y, B, T, analytic, &at);
    printf("gradient check: %zu parameters, worst relative error %.3g (%s)\n", m.n_params, err,
           tensor_of(&m, at));
    CHECK_MSG(err < 1e-3, "worst relative gradient error %g at %zu (%s)", err, at,
              tensor_of(&m, at));
    /* the check can fail: a 1% error in one attention weight's gradient */
    size_t i = m.tensors[4].offset + 17;
    CHECK_STR(m.tensors[4].name, "h.0.attn.c_attn.weight");
    analytic[i] += 0.01f * fabsf(analytic[i]) + 1e-5f;
    double wrong = gradcheck_error(&m, x, y, B, T, analytic, &at);
    CHECK_MSG(wrong > 2e-3 && at == i, "a 1%% error in one gradient went unnoticed (%g at %zu)",
              wrong, at);
    free(analytic);
    gpt_model_free(&m);
}

/* ---- training ---------------------------------------------------------------- */

static const char corpus_text[] =
    "The quick brown fox jumps over the lazy dog.\n%\n"
    "A journey of a thousand miles begins with a single step.\n%\n"
    "All that glitters is not gold.\n%\n"
    "Actions speak louder than words.\n%\n"
    "Beauty is in the eye of the beholder.\n%\n"
    "Better late than never.\n%\n"
    "Birds of a feather flock together.\n%\n"
    "Don't count your chickens before they hatch.\n%\n"
    "Every cloud has a silver lining.\n%\n"
    "Fortune favors the bold.\n%\n"
    "Honesty is the best policy.\n%\n"
    "If it ain't broke, don't fix it.\n%\n"
    "Knowledge is power.\n%\n"
    "Laughter is the best medicine.\n%\n"
    "Look before you leap.\n%\n"
    "No man is an island.\n%\n"
    "Practice makes perfect.\n%\n"
    "Rome wasn't built in a day.\n%\n"
    "The early bird catches the worm.\n%\n"
    "The pen is mightier than the sword.\n%\n"
    "There's no place like home.\n%\n"
    "Time is money.\n%\n"
    "When in Rome, do as the Romans do.\n%\n"
    "You can't judge a book by its cover.\n%\n";

static void corpus_of_text(gpt_corpus *c)
{
    gpt_docs d = {0};
    add_text(&d, corpus_text);
    CHECK(gpt_corpus_build(&d, 3, c) == 0);
    gpt_docs_free(&d);
}

typedef struct trained {
    gpt_model m;
    gpt_optims o;
    gpt_result res;
} trained;

static const char tiny_optim[] = "adamw(lr=0.01, betas=(0.9, 0.95), weight_decay=0.1)";
static const char tiny_muon[] = "muon(lr=0.05)";

/* Train cfg with spec for steps (of a 40-step schedule), optionally resuming. */
static void train_spec(const gpt_corpus *c, gpt_config cfg, int B, long steps, uint64_t seed,
                       const char *spec, const char *resume, trained *out)
{
    CHECK(gpt_model_init(&out->m, cfg, B, seed) == 0);
    CHECK_STATUS(gpt_optims_create(&out->m, spec, tiny_optim, 40, NULL, &out->o, NULL), RV_OK);
    if (resume)
        CHECK_STATUS(gpt_optims_load(&out->o, resume), RV_OK);
    gpt_train_config tc = {.steps = steps, .seed = seed, .clip = 1.0, .eval_every = 10,
                           .eval_windows = 0, .final_eval = 1};
    CHECK_STATUS(gpt_train(&out->m, &out->o, &c->train, &c->train, &tc, &out->res), RV_OK);
}

static void train_tiny(const gpt_corpus *c, gpt_config cfg, int B, long steps, uint64_t seed,
                       const char *resume, trained *out)
{
    train_spec(c, cfg, B, steps, seed, tiny_optim, resume, out);
}

static void trained_free(trained *t)
{
    gpt_result_free(&t->res);
    gpt_optims_free(&t->o);
    gpt_model_free(&t->m);
}

static int same_params(const trained *a, const trained *b)
{
    return a->m.n_params == b->m.n_params &&
           memcmp(a->m.params, b->m.params, a->m.n_params * sizeof(float)) == 0;
}

static void loss_falls_and_is_deterministic(void)
{
    gpt_corpus c;
    corpus_of_text(&c);
    gpt_config cfg = {GPT_VOCAB, 16, 2, 2, 16};
    trained a, b, other;
    train_tiny(&c, cfg, 8, 40, 5, NULL, &a);
    train_tiny(&c, cfg, 8, 40, 5, NULL, &b);
    train_tiny(&c, cfg, 8, 40, 6, NULL, &other);
    CHECK(a.res.n_curve == 5 && a.res.curve[4].step == 40 && a.res.steps == 40);
    double first = a.res.curve[0].val_loss, last = a.res.val_loss;
    printf("40 updates: loss on the training stream %.4f -> %.4f\n", first, last);
    CHECK_MSG(last < first - 1.0, "loss %g -> %g", first, last);
    CHECK(same_params(&a, &b));
    CHECK(memcmp(&a.res.val_loss, &b.res.val_loss, sizeof(double)) == 0);
    CHECK(!same_params(&a, &other));
    trained_free(&a);
    trained_free(&b);
    trained_free(&other);
    gpt_corpus_free(&c);
}

/* Products big enough to be cut into several blocks (1024 rows, bands of
   128 of 256 output features), heads and spans shared out: one thread and
   two give the same bits. */
static void thread_count_does_not_matter(void)
{
#ifdef _OPENMP
    gpt_corpus c;
    corpus_of_text(&c);
    gpt_config cfg = {GPT_VOCAB, 64, 2, 4, 64};
    trained one, two;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    train_tiny(&c, cfg, 16, 6, 9, NULL, &one);
    omp_set_num_threads(2);
    train_tiny(&c, cfg, 16, 6, 9, NULL, &two);
    omp_set_num_threads(saved);
    CHECK(same_params(&one, &two));
    CHECK(memcmp(&one.res.val_loss, &two.res.val_loss, sizeof(double)) == 0);
    trained_free(&one);
    trained_free(&two);
    /* Muon's Newton-Schulz products too */
    omp_set_num_threads(1);
    train_spec(&c, cfg, 16, 4, 9, tiny_muon, NULL, &one);
    omp_set_num_threads(2);
    train_spec(&c, cfg, 16, 4, 9, tiny_muon, NULL, &two);
    omp_set_num_threads(saved);
    CHECK(one.o.matrix != NULL && same_params(&one, &two));
    trained_free(&one);
    trained_free(&two);
    gpt_corpus_free(&c);
#endif
}

/* 20 updates, a checkpoint, 20 more: the same bits as 40 in one go; a
   damaged file is refused and changes nothing. */
static void resume_equals_uninterrupted(void)
{
    gpt_corpus c;
    corpus_of_text(&c);
    gpt_config cfg = {GPT_VOCAB, 16, 2, 2, 16};
    const char *path = "gpt_test.safetensors";
    trained whole, first, second;
    train_tiny(&c, cfg, 8, 40, 5, NULL, &whole);
    train_tiny(&c, cfg, 8, 20, 5, NULL, &first);
    CHECK_STATUS(gpt_optims_save(&first.o, path, NULL, 0), RV_OK);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(path, &info), RV_OK);
    CHECK(info.step == 20 && info.n_params == first.m.n_tensors && info.numel == first.m.n_params);
    CHECK(strncmp(info.schedule, "warmup_cosine(", 14) == 0);
    rv_checkpoint_info_free(&info);
    train_tiny(&c, cfg, 8, 40, 5, path, &second);
    CHECK(gpt_optims_step_count(&second.o) == 40 && second.res.steps == 20);
    CHECK(same_params(&whole, &second));
    CHECK(memcmp(&whole.res.val_loss, &second.res.val_loss, sizeof(double)) == 0);

    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, -4, SEEK_END);
        fputc(0x55, f);
        fclose(f);
    }
    float before = second.m.params[0];
    CHECK_STATUS(gpt_optims_load(&second.o, path), RV_ERR_CHECKSUM);
    CHECK(second.m.params[0] == before && gpt_optims_step_count(&second.o) == 40);
    remove(path);
    trained_free(&whole);
    trained_free(&first);
    trained_free(&second);

    /* Muon on the hidden matrices and AdamW on the rest: two files */
    train_spec(&c, cfg, 8, 40, 5, tiny_muon, NULL, &whole);
    train_spec(&c, cfg, 8, 20, 5, tiny_muon, NULL, &first);
    CHECK(first.o.matrix != NULL && rv_optim_param_count(first.o.matrix) == 4 * 2);
    CHECK(rv_optim_param_count(first.o.main) == first.m.n_tensors - 4 * 2);
    CHECK_STATUS(gpt_optims_save(&first.o, path, NULL, 0), RV_OK);
    const char *matrix_path = "gpt_test.matrix.safetensors";
    CHECK_STATUS(rv_checkpoint_inspect(matrix_path, &info), RV_OK);
    CHECK(info.step == 20 && strncmp(info.optimizer, "muon(lr=", 8) == 0);
    rv_checkpoint_info_free(&info);
    train_spec(&c, cfg, 8, 40, 5, tiny_muon, path, &second);
    CHECK(same_params(&whole, &second));
    CHECK(!same_params(&whole, &first));
    /* the two files must agree on the step: a step-40 matrix file beside a
       step-20 main file is refused, and nothing changes */
    CHECK_STATUS(gpt_optims_save(&whole.o, "gpt_test40.safetensors", NULL, 0), RV_OK);
    CHECK(rename("gpt_test40.matrix.safetensors", matrix_path) == 0);
    remove("gpt_test40.safetensors");
    before = second.m.params[0];
    CHECK_STATUS(gpt_optims_load(&second.o, path), RV_ERR_MISMATCH);
    CHECK(second.m.params[0] == before && gpt_optims_step_count(&second.o) == 40);
    /* a matrix file of a wider model at the same step: refused before the
       main file (which fits) changes anything */
    trained wide;
    gpt_config wider = cfg;
    wider.channels = 32;
    train_spec(&c, wider, 8, 20, 5, tiny_muon, NULL, &wide);
    CHECK_STATUS(gpt_optims_save(&wide.o, "gpt_wide.safetensors", NULL, 0), RV_OK);
    CHECK(rename("gpt_wide.matrix.safetensors", matrix_path) == 0);
    remove("gpt_wide.safetensors");
    CHECK_STATUS(gpt_optims_load(&second.o, path), RV_ERR_MISMATCH);
    CHECK(second.m.params[0] == before && rv_optim_step_count(second.o.main) == 40);
    trained_free(&wide);
    remove(path);
    remove(matrix_path);
    trained_free(&whole);
    trained_free(&first);
    trained_free(&second);
    gpt_corpus_free(&c);
}

int main(void)
{
    fortunes_are_split_and_deduplicated();
    tokens_map_characters();
    split_is_deterministic();
    ngram_by_hand();
    zero_model_predicts_uniformly();
    forward_matches_reference();
    gradient_check();
    loss_falls_and_is_deterministic();
    thread_count_does_not_matter();
    resume_equals_uninterrupted();
    return check_summary("gpt");
}
