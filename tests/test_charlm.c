/* The character-level language model example: data handling, n-gram
   baselines, the hand-written backward pass against central differences,
   and the training loop (loss falls; bitwise deterministic for a seed and
   any thread count; a resumed run equals an uninterrupted one). */
#include "../examples/charlm/data.h"
#include "../examples/charlm/model.h"
#include "../examples/charlm/ngram.h"
#include "../examples/charlm/train.h"
#include "check.h"
#include "ravine/ravine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static charlm_words words_of(const char *text)
{
    charlm_words w;
    char *copy = strdup(text);
    CHECK(copy != NULL);
    CHECK(charlm_words_from_text(copy, strlen(copy), &w) == 0);
    return w;
}

/* Only lowercase a-z words survive, sorted and deduplicated. */
static void filters_and_dedupes(void)
{
    charlm_words w = words_of("Apple\nbanana\ncan't\ncaf\xc3\xa9\nbanana\nzebra\r\n\nab1\nant");
    CHECK(w.n == 3);
    if (w.n == 3) {
        CHECK_STR(w.items[0], "ant");
        CHECK_STR(w.items[1], "banana");
        CHECK_STR(w.items[2], "zebra");
    }
    free(w.items);
    free(w.blob);
}

/* "ab" with 3 characters of context: ... -> a, ..a -> b, .ab -> '.'. */
static void examples_of_a_word(void)
{
    charlm_words w = words_of("ab\n");
    charlm_examples e;
    CHECK(charlm_examples_build(&w, 3, &e) == 0);
    CHECK(e.n == 3);
    const uint8_t ctx[9] = {0, 0, 0, 0, 0, 1, 0, 1, 2}, y[3] = {1, 2, 0};
    CHECK(memcmp(e.ctx, ctx, 9) == 0);
    CHECK(memcmp(e.y, y, 3) == 0);
    charlm_examples_free(&e);
    free(w.items);
    free(w.blob);
}

/* The split is 80/10/10, a permutation of the words, and fixed by its seed. */
static void split_is_deterministic(void)
{
    char text[26 * 4 * 3 + 1];   /* 104 words of "xy\n" and the terminator */
    size_t at = 0;
    for (int i = 0; i < 26; i++)
        for (int j = 0; j < 4; j++)
            at += (size_t)sprintf(text + at, "%c%c\n", 'a' + i, 'a' + j);
    charlm_split a, b;
    CHECK(charlm_split_words(words_of(text), 7, &a) == 0);
    CHECK(charlm_split_words(words_of(text), 7, &b) == 0);
    CHECK(a.all.n == 104 && a.train.n == 83 && a.val.n == 10 && a.test.n == 11);
    int same = 1, sorted_differs = 0;
    for (size_t i = 0; i < a.all.n; i++) {
        same &= strcmp(a.order[i], b.order[i]) == 0;
        sorted_differs |= strcmp(a.order[i], a.all.items[i]) != 0;
    }
    CHECK(same);
    CHECK(sorted_differs);
    charlm_split_free(&a);
    charlm_split_free(&b);
}

/* Bigram counts on "ab": every seen transition has count 1 in a context
   seen once, so p = (1 + 0.1) / (1 + 27 * 0.1); unseen ones get 0.1 / 3.7. */
static void ngram_by_hand(void)
{
    charlm_words train = words_of("ab\n"), seen = words_of("ab\n"), unseen = words_of("ba\n");
    CHECK_NEAR(charlm_ngram_loss(&train, &seen, 2, 0.1), -log(1.1 / 3.7), 1e-12);
    CHECK_NEAR(charlm_ngram_loss(&train, &unseen, 2, 0.1), -log(0.1 / 3.7), 1e-12);
    /* unigram: counts a 1, b 1, '.' 1 of 3 tokens */
    CHECK_NEAR(charlm_ngram_loss(&train, &seen, 1, 0.1), -log(1.1 / 5.7), 1e-12);
    free(train.items), free(train.blob), free(seen.items), free(seen.blob);
    free(unseen.items), free(unseen.blob);
}

/* With every weight zero all logits are equal: loss = log 27 and the only
   nonzero gradient is b2's, 1/27 - (share of rows whose target is v). */
static void zero_model_closed_form(void)
{
    charlm_model m;
    CHECK(charlm_model_init(&m, (charlm_shape){2, 3, 5}, 4, 1) == 0);
    memset(m.params, 0, m.n_params * sizeof(float));
    const uint8_t ctx[8] = {0, 0, 0, 1, 1, 2, 0, 0}, y[4] = {1, 2, 0, 1};
    double sum = charlm_loss(&m, ctx, y, 4, CHARLM_BACKWARD);
    CHECK_NEAR(sum / 4, log(27.0), 1e-6);
    const float *db2 = charlm_grad(&m, CHARLM_B2);
    CHECK_NEAR(db2[1], 1.0 / 27 - 0.5, 1e-7);
    CHECK_NEAR(db2[0], 1.0 / 27 - 0.25, 1e-7);
    CHECK_NEAR(db2[5], 1.0 / 27, 1e-7);
    float others = 0;
    for (size_t i = 0; i < m.tensors[CHARLM_B2].offset; i++)
        others = fmaxf(others, fabsf(m.grads[i]));
    CHECK(others == 0);
    charlm_model_free(&m);
}

/* Central difference of the mean loss in parameter i with step h (the step
   as rounded to float). */
static double central_difference(charlm_model *m, const uint8_t *ctx, const uint8_t *y,
                                 size_t rows, int flags, size_t i, float h)
{
    float keep = m->params[i], hi = keep + h, lo = keep - h;
    m->params[i] = hi;
    double up = charlm_loss(m, ctx, y, rows, flags) / (double)rows;
    m->params[i] = lo;
    double down = charlm_loss(m, ctx, y, rows, flags) / (double)rows;
    m->params[i] = keep;
    return (up - down) / ((double)hi - (double)lo);
}

/* Largest |analytic - numeric| / (|analytic| + |numeric| + 1e-3) over all
   parameters. The numeric gradient is Richardson's extrapolation of two
   central differences, (4 D(h/2) - D(h)) / 3, which cancels the h^2 error
   term, so h can stay large enough for float rounding not to matter. */
static double gradcheck_error(charlm_model *m, const uint8_t *ctx, const uint8_t *y, size_t rows,
                              int flags, const float *analytic)
{
    const float h = 4e-2f;
    double worst = 0;
    for (size_t i = 0; i < m->n_params; i++) {
        double d1 = central_difference(m, ctx, y, rows, flags, i, h);
        double d2 = central_difference(m, ctx, y, rows, flags, i, h / 2);
        double numeric = (4 * d2 - d1) / 3;
        double err = fabs(analytic[i] - numeric) / (fabs(analytic[i]) + fabs(numeric) + 1e-3);
        worst = err > worst ? err : worst;
    }
    return worst;
}

/* Every parameter's gradient (embeddings, both layers, both biases) against
   central differences on a tiny model with random weights and biases. */
static void gradient_check(void)
{
    charlm_shape shape = {3, 4, 8};
    const size_t rows = 6;
    charlm_model m;
    CHECK(charlm_model_init(&m, shape, rows, 11) == 0);
    ex_rng r = {99};
    for (size_t i = 0; i < m.n_params; i++)   /* biases too, and larger output weights */
        m.params[i] = (float)(0.5 * ex_rng_normal(&r));
    uint8_t ctx[6 * 3], y[6];
    for (size_t i = 0; i < rows * 3; i++)
        ctx[i] = (uint8_t)ex_rng_below(&r, CHARLM_VOCAB);
    for (size_t i = 0; i < rows; i++)
        y[i] = (uint8_t)ex_rng_below(&r, CHARLM_VOCAB);
    ctx[0] = ctx[4] = 5;   /* one character twice: embedding gradients accumulate */

    float *analytic = malloc(m.n_params * sizeof(float));
    for (int flags = 0; flags <= CHARLM_DROPOUT; flags += CHARLM_DROPOUT) {
        if (flags)   /* the same mask for the analytic and every numeric evaluation */
            charlm_dropout_mask(&m, rows, 0.3, &r);
        charlm_loss(&m, ctx, y, rows, flags | CHARLM_BACKWARD);
        memcpy(analytic, m.grads, m.n_params * sizeof(float));
        double err = gradcheck_error(&m, ctx, y, rows, flags, analytic);
        printf("gradient check%s: %zu parameters, worst relative error %.3g\n",
               flags ? " with dropout" : "", m.n_params, err);
        CHECK_MSG(err < 2e-3, "worst relative gradient error %g (flags %d)", err, flags);
    }

    /* the check can fail: a wrong factor in one W1 entry is caught */
    analytic[m.tensors[CHARLM_W1].offset + 3] *= 1.05f;
    double wrong = gradcheck_error(&m, ctx, y, rows, CHARLM_DROPOUT, analytic);
    CHECK_MSG(wrong > 1e-2, "a 5%% error in one gradient went unnoticed (%g)", wrong);
    free(analytic);
    charlm_model_free(&m);
}

/* ---- training ---------------------------------------------------------- */

static const char corpus[] =
    "able about above act add after again age ago air all also always am an and animal another "
    "answer any are area arm around art as ask at away back bad ball bank base be bear beat "
    "beauty bed been before began begin behind being bell best better between big bird black "
    "blood blue board boat body bone book born both bottom box boy bread break bright bring "
    "broad brother brought brown build burn busy but buy by call came camp can capital captain "
    "car card care carry case cat catch caught cause cell cent center certain chair chance "
    "change character charge chart check chick chief child children choose chord circle city "
    "claim class clean clear climb clock close clothe cloud coast coat cold collect colony "
    "color column come common company compare complete condition connect consider consonant "
    "contain continent continue control cook cool copy corn corner correct cost cotton could "
    "count country course cover cow crease create crop cross crowd cry current cut dad dance "
    "danger dark day dead deal dear death decide decimal deep degree depend describe desert "
    "design determine develop dictionary did die differ difficult direct discuss distant "
    "divide division doctor does dog dollar done door double down draw dream dress drink drive "
    "drop dry duck during each ear early earth ease east eat edge effect egg eight either "
    "electric element else end enemy energy engine enough enter equal equate especially even "
    "evening event ever every exact example except excite exercise expect experience "
    "experiment eye face fact fair fall family famous far farm fast fat father favor fear feed "
    "feel feet fell felt few field fig fight figure fill final find fine finger finish fire "
    "first fish fit five flat floor flow flower fly follow food foot for force forest form "
    "forward found four fraction free fresh friend from front fruit full fun game garden gas "
    "gather gave general gentle get girl give glad glass go gold gone good got govern grand "
    "grass gray great green grew ground group grow guess guide gun had hair half hand happen "
    "happy hard has hat have he head hear heard heart heat heavy held help her here high hill "
    "him his history hit hold hole home hope horse hot hot hour house how huge human hundred "
    "hunt hurry";

typedef struct tiny_setup {
    charlm_split split;
    charlm_examples train, val;
} tiny_setup;

static void tiny_setup_init(tiny_setup *t, int context)
{
    char *text = strdup(corpus);
    for (char *p = text; *p; p++)
        if (*p == ' ')
            *p = '\n';
    charlm_words w;
    CHECK(charlm_words_from_text(text, strlen(text), &w) == 0);
    CHECK(charlm_split_words(w, 3, &t->split) == 0);
    CHECK(charlm_examples_build(&t->split.train, context, &t->train) == 0);
    CHECK(charlm_examples_build(&t->split.val, context, &t->val) == 0);
}

static void tiny_setup_free(tiny_setup *t)
{
    charlm_examples_free(&t->train);
    charlm_examples_free(&t->val);
    charlm_split_free(&t->split);
}

typedef struct trained {
    charlm_model m;
    charlm_result res;
    rv_optim *opt;
} trained;

static const char tiny_schedule[] = "warmup_cosine(peak=0.01, warmup_steps=5, decay_steps=60)";

/* Train shape for steps (out of 60, the schedule's length), optionally
   resuming from a checkpoint file first. */
static void train_tiny(const tiny_setup *t, charlm_shape shape, size_t batch, long steps,
                       uint64_t seed, const char *resume, trained *out)
{
    CHECK(charlm_model_init(&out->m, shape, batch, seed) == 0);
    CHECK_STATUS(charlm_optim_create(&out->m, "adamw(lr=0.01, weight_decay=0.1)", &out->opt),
                 RV_OK);
    if (resume)
        CHECK_STATUS(rv_checkpoint_load(out->opt, resume, NULL, NULL), RV_OK);
    rv_schedule *sched;
    CHECK_STATUS(rv_schedule_parse(tiny_schedule, &sched), RV_OK);
    charlm_config cfg = {.steps = steps, .seed = seed, .clip = 1.0, .dropout = 0.1,
                         .eval_every = 10};
    CHECK_STATUS(charlm_train(&out->m, out->opt, sched, &t->train, &t->val, &cfg, &out->res),
                 RV_OK);
    rv_schedule_free(sched);
}

static void trained_free(trained *t)
{
    charlm_result_free(&t->res);
    rv_optim_free(t->opt);
    charlm_model_free(&t->m);
}

static int same_params(const trained *a, const trained *b)
{
    return a->m.n_params == b->m.n_params &&
           memcmp(a->m.params, b->m.params, a->m.n_params * sizeof(float)) == 0;
}

static int same_curve(const charlm_result *a, const charlm_result *b)
{
    if (a->n_curve != b->n_curve)
        return 0;
    for (size_t i = 0; i < a->n_curve; i++)
        if (a->curve[i].step != b->curve[i].step ||
            memcmp(&a->curve[i].val_loss, &b->curve[i].val_loss, sizeof(double)) ||
            (i && memcmp(&a->curve[i].train_loss, &b->curve[i].train_loss, sizeof(double))))
            return 0;
    return 1;
}

/* Sixty updates on a small word list: validation loss starts at about
   log 27 and falls well below the unigram level; two runs with the same
   seed agree bit for bit, a different seed does not. */
static void loss_falls_and_is_deterministic(void)
{
    tiny_setup t;
    tiny_setup_init(&t, 4);
    charlm_shape shape = {4, 8, 32};
    trained a, b, c;
    train_tiny(&t, shape, 32, 60, 5, NULL, &a);
    train_tiny(&t, shape, 32, 60, 5, NULL, &b);
    train_tiny(&t, shape, 32, 60, 6, NULL, &c);
    CHECK(a.res.n_curve == 7 && a.res.curve[6].step == 60 && a.res.steps == 60);
    double first = a.res.curve[0].val_loss, last = a.res.curve[a.res.n_curve - 1].val_loss;
    CHECK_NEAR(first, log(27.0), 0.05);
    double unigram = charlm_ngram_loss(&t.split.train, &t.split.val, 1, 0.1);
    printf("60 updates: val loss %.4f -> %.4f (unigram %.4f), train %.4f -> %.4f\n", first, last,
           unigram, a.res.curve[1].train_loss, a.res.curve[6].train_loss);
    CHECK_MSG(last < unigram - 0.2, "val loss %g after 60 updates, unigram %g", last, unigram);
    CHECK_MSG(a.res.curve[6].train_loss < a.res.curve[1].train_loss - 0.4,
              "train loss %g -> %g", a.res.curve[1].train_loss, a.res.curve[6].train_loss);
    CHECK(same_curve(&a.res, &b.res));
    CHECK(same_params(&a, &b));
    CHECK(memcmp(&a.res.val_loss, &b.res.val_loss, sizeof(double)) == 0);
    CHECK(!same_curve(&a.res, &c.res));
    trained_free(&a);
    trained_free(&b);
    trained_free(&c);
    tiny_setup_free(&t);
}

/* A layer wide enough for the products to run in parallel gives the same
   bits on one thread as on two. */
static void thread_count_does_not_matter(void)
{
#ifdef _OPENMP
    tiny_setup t;
    tiny_setup_init(&t, 4);
    charlm_shape shape = {4, 16, 1024};   /* 64 x 64 x 1024 products: above the parallel cutoff */
    trained one, two;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    train_tiny(&t, shape, 64, 12, 9, NULL, &one);
    omp_set_num_threads(2);
    train_tiny(&t, shape, 64, 12, 9, NULL, &two);
    omp_set_num_threads(saved);
    CHECK(same_curve(&one.res, &two.res));
    CHECK(same_params(&one, &two));
    trained_free(&one);
    trained_free(&two);
    tiny_setup_free(&t);
#endif
}

/* 30 updates, a checkpoint, 30 more: the same bits as 60 in one go. */
static void resume_equals_uninterrupted(void)
{
    tiny_setup t;
    tiny_setup_init(&t, 4);
    charlm_shape shape = {4, 8, 32};
    const char *path = "charlm_test.safetensors";
    trained whole, first, second;
    train_tiny(&t, shape, 32, 60, 5, NULL, &whole);
    train_tiny(&t, shape, 32, 30, 5, NULL, &first);
    CHECK_STATUS(rv_checkpoint_save(first.opt, tiny_schedule, path), RV_OK);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(path, &info), RV_OK);
    CHECK(info.step == 30 && info.n_params == CHARLM_TENSORS && info.numel == first.m.n_params);
    CHECK(strncmp(info.schedule, "warmup_cosine(", 14) == 0);
    rv_checkpoint_info_free(&info);
    train_tiny(&t, shape, 32, 60, 5, path, &second);
    CHECK(rv_optim_step_count(second.opt) == 60 && second.res.steps == 30);
    CHECK(same_params(&whole, &second));
    CHECK(memcmp(&whole.res.val_loss, &second.res.val_loss, sizeof(double)) == 0);

    /* a damaged file is refused and changes nothing */
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, -4, SEEK_END);
        fputc(0x55, f);
        fclose(f);
    }
    float before = second.m.params[second.m.n_params - 1];
    CHECK_STATUS(rv_checkpoint_load(second.opt, path, NULL, NULL), RV_ERR_CHECKSUM);
    CHECK(second.m.params[second.m.n_params - 1] == before);
    CHECK(rv_optim_step_count(second.opt) == 60);
    remove(path);
    trained_free(&whole);
    trained_free(&first);
    trained_free(&second);
    tiny_setup_free(&t);
}

int main(void)
{
    filters_and_dedupes();
    examples_of_a_word();
    split_is_deterministic();
    ngram_by_hand();
    zero_model_closed_form();
    gradient_check();
    loss_falls_and_is_deterministic();
    thread_count_does_not_matter();
    resume_equals_uninterrupted();
    return check_summary("charlm");
}
