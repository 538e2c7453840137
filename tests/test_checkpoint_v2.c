/* Checkpoint format 2: every optimizer resumes bit for bit with what it
   holds: shaped tensors (adafactor's factored moments of 2-D and 3-D
   tensors and its vectors, muon's matrices), bf16 parameters over float32
   masters, bf16 and int8 state, per-tensor scalars, schedule-free's mode.
   Inconsistent files are refused with their reasons and change nothing;
   the format-1 files of tests/fixtures/checkpoint_v1 still load. */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"
#include "core/text.h"
#include "kernels/bf16.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FILE_A "test_checkpoint_v2_a.safetensors"
#define FILE_B "test_checkpoint_v2_b.safetensors"
#include "checkpoint_kit.h"

/* ---- a rig: a few shaped tensors in two groups, float32 or bf16 -------- */

enum { MAXT = 4, MAXN = 300, STEPS = 8 };

typedef struct tensor_def {
    const char *name;   /* NULL: unnamed ("tensor<i>") */
    size_t group;
    size_t ndim;
    size_t shape[3];
    int shaped;         /* 0: added without a shape (float32 only) */
} tensor_def;

/* element-wise algorithms: a matrix, an unshaped vector, a matrix of two
   int8 blocks, a 0-d tensor */
static const tensor_def elementwise_set[] = {
    {"w", 0, 2, {3, 4}, 1}, {"b", 1, 1, {5}, 0}, {"e", 0, 2, {20, 15}, 1}, {NULL, 1, 0, {0}, 1}};
/* adafactor: factored 2-D and 3-D tensors and a plain vector */
static const tensor_def factored_set[] = {
    {"m", 0, 2, {3, 4}, 1}, {"t", 1, 3, {2, 3, 4}, 1}, {"v", 0, 1, {5}, 1}, {"e", 0, 2, {20, 15}, 1}};
/* muon: matrices */
static const tensor_def matrix_set[] = {{"m", 0, 2, {4, 3}, 1}, {"n", 1, 2, {3, 5}, 1}, {"e", 0, 2, {20, 15}, 1}};

typedef struct rig {
    rv_optim *opt;
    const tensor_def *defs;
    size_t n_t;
    size_t n[MAXT];
    int bf16;
    float p[MAXT][MAXN], g[MAXT][MAXN];
    uint16_t p16[MAXT][MAXN], g16[MAXT][MAXN];
} rig;

static size_t numel(const tensor_def *d)
{
    size_t n = 1;
    for (size_t k = 0; k < d->ndim; k++)
        n *= d->shape[k];
    return n;
}

static rig *rig_new(const char *spec, int bf16)
{
    rig *r = calloc(1, sizeof *r);
    if (rv_optim_create_spec(&r->opt, spec)) {
        fprintf(stderr, "create %s: %s\n", spec, rv_errmsg());
        exit(1);
    }
    const char *name = rv_optim_type_name(rv_optim_get_type(r->opt));
    r->defs = !strcmp(name, "adafactor") ? factored_set : !strcmp(name, "muon") ? matrix_set : elementwise_set;
    r->n_t = r->defs == matrix_set ? 3 : 4;
    r->bf16 = bf16;
    size_t g1;
    CHECK_STATUS(rv_optim_add_group_spec(r->opt, "weight_decay=0", &g1), RV_OK);
    rv_optim_set_threads(r->opt, 1);
    for (size_t t = 0; t < r->n_t; t++) {
        const tensor_def *d = &r->defs[t];
        r->n[t] = numel(d);
        for (size_t i = 0; i < r->n[t]; i++) {
            r->p[t][i] = (float)(0.5 - 0.03 * (double)i + 0.1 * (double)t);
            r->p16[t][i] = rv_f32_to_bf16(r->p[t][i]);
        }
        size_t group = d->group ? g1 : 0;
        if (bf16)
            CHECK_STATUS(rv_optim_add_param_bf16(r->opt, group, d->name, r->p16[t], r->g16[t],
                                                 d->shaped ? d->ndim : 1, d->shaped ? d->shape : &r->n[t],
                                                 NULL),
                         RV_OK);
        else if (d->shaped)
            CHECK_STATUS(rv_optim_add_param_shaped(r->opt, group, d->name, r->p[t], r->g[t], d->ndim,
                                                   d->shape, NULL),
                         RV_OK);
        else
            CHECK_STATUS(rv_optim_add_param(r->opt, group, d->name, r->p[t], r->g[t], r->n[t], NULL),
                         RV_OK);
    }
    return r;
}

static void rig_free(rig *r)
{
    if (r)
        rv_optim_free(r->opt);
    free(r);
}

static void rig_run(rig *r, const rv_schedule *sched, long from, long to)
{
    for (long s = from; s < to; s++) {
        for (size_t t = 0; t < r->n_t; t++)
            for (size_t i = 0; i < r->n[t]; i++) {
                r->g[t][i] = (float)(sin(0.7 * (double)s + 1.3 * (double)i + (double)t) *
                                     (1.0 + 0.01 * (double)i));
                r->g16[t][i] = rv_f32_to_bf16(r->g[t][i]);
            }
        if (sched)
            CHECK_STATUS(rv_optim_set_lr(r->opt, rv_schedule_lr(sched, s)), RV_OK);
        CHECK_STATUS(rv_optim_step(r->opt), RV_OK);
    }
}

/* "adam(lr=0.01)" + "state=int8" -> "adam(lr=0.01, state=int8)" */
static void with_state(const char *spec, const char *state, char *out, size_t size)
{
    const char *close = strrchr(spec, ')');
    if (!state)
        snprintf(out, size, "%s", spec);
    else
        snprintf(out, size, "%.*s, state=%s)", (int)(close - spec), spec, state);
}

/* ---- bit-identical resume ------------------------------------------------ */

static const char *const element_specs[] = {
    "sgd(lr=0.05, momentum=0.9, nesterov=true)",
    "polyak(lr=0.1, beta=0.8, weight_decay=0.001)",
    "adam(lr=0.01, amsgrad=true, weight_decay=0.1)",
    "adamw(lr=0.01, betas=(0.8, 0.99))",
    "rmsprop(lr=0.01, momentum=0.5, centered=true)", /* float32 state only */
    "rmsprop(lr=0.01, momentum=0.5)",
    "adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)",
    "nadam(lr=0.01, decoupled_weight_decay=true, weight_decay=0.01)",
    "radam(lr=0.01)",
    "adamax(lr=0.01)",
    "lion(lr=0.001, weight_decay=0.1)",
    "sfadamw(lr=0.01, warmup_steps=2, weight_decay=0.01)",
};
#define N_ELEMENT (sizeof element_specs / sizeof *element_specs)
static const char *const tensor_specs[] = {"adafactor(lr=0.01, weight_decay=0.01)", "muon(lr=0.02)"};

static const char *const schedule = "warmup_cosine(peak=0.02, warmup_steps=3, decay_steps=12)";

/* STEPS steps straight == k steps, (eval,) save, load into a fresh
   optimizer, (train,) the rest. */
static void resume_case(const char *spec, int bf16, long k, int eval_at_save)
{
    char what[512];
    snprintf(what, sizeof what, "%s%s, k = %ld%s", spec, bf16 ? ", bf16 parameters" : "", k,
             eval_at_save ? ", saved in eval mode" : "");
    rv_schedule *sched, *again = NULL;
    CHECK_STATUS(rv_schedule_parse(schedule, &sched), RV_OK);
    rig *straight = rig_new(spec, bf16), *first = rig_new(spec, bf16), *resumed = rig_new(spec, bf16);
    rig_run(straight, sched, 0, k);
    if (eval_at_save) {
        CHECK_STATUS(rv_optim_eval(straight->opt), RV_OK);
        CHECK_STATUS(rv_optim_train(straight->opt), RV_OK);
    }
    rig_run(straight, sched, k, STEPS);

    rig_run(first, sched, 0, k);
    if (eval_at_save)
        CHECK_STATUS(rv_optim_eval(first->opt), RV_OK);
    CHECK_STATUS(rv_checkpoint_save(first->opt, schedule, FILE_A), RV_OK);

    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_load(resumed->opt, FILE_A, NULL, &info), RV_OK);
    CHECK_MSG(info.version == 2 && info.step == k && info.eval_mode == eval_at_save &&
                  info.n_params == resumed->n_t,
              "%s: info", what);
    for (size_t t = 0; t < resumed->n_t && t < info.n_params; t++) {
        const tensor_def *d = &resumed->defs[t];
        const rv_checkpoint_tensor_info *ti = &info.tensors[t];
        int shaped = d->shaped || bf16;
        size_t ndim = shaped ? d->ndim : 1;
        int same_shape = ti->ndim == ndim;
        for (size_t j = 0; same_shape && j < ndim; j++)
            same_shape = ti->shape[j] == (shaped ? d->shape[j] : resumed->n[t]);
        CHECK_MSG(same_shape && ti->n == resumed->n[t] && ti->group == d->group &&
                      ti->dtype == (bf16 ? RV_BF16 : RV_FP32) && ti->step == k && ti->has_state == (k > 0),
                  "%s: tensor %zu's description", what, t);
    }
    /* the loaded optimizer holds every bit the saved one held */
    CHECK_MSG(same_optimizer_bits(first->opt, resumed->opt), "%s: loaded state differs", what);
    CHECK(rv_optim_is_training(resumed->opt) == !eval_at_save);
    if (eval_at_save)
        CHECK_STATUS(rv_optim_train(resumed->opt), RV_OK);
    CHECK_STATUS(rv_schedule_parse(info.schedule, &again), RV_OK);
    rig_run(resumed, again, info.schedule_step, STEPS);
    CHECK_MSG(same_optimizer_bits(straight->opt, resumed->opt), "%s: resumed run differs", what);
    rv_checkpoint_info_free(&info);
    rv_schedule_free(sched);
    rv_schedule_free(again);
    rig_free(straight);
    rig_free(first);
    rig_free(resumed);
}

static void every_optimizer_resumes(void)
{
    char spec[256];
    const char *states[] = {NULL, "bf16", "int8"};
    for (size_t i = 0; i < N_ELEMENT; i++)
        for (size_t s = 0; s < 3; s++)
            for (int bf16 = 0; bf16 < 2; bf16++)
                for (long k = 0; k <= 4; k += 4) {
                    if (states[s] && strstr(element_specs[i], "centered=true"))
                        continue;
                    with_state(element_specs[i], states[s], spec, sizeof spec);
                    resume_case(spec, bf16, k, 0);
                }
    for (size_t i = 0; i < 2; i++)
        for (int bf16 = 0; bf16 < 2; bf16++)
            for (long k = 0; k <= 4; k += 4)
                resume_case(tensor_specs[i], bf16, k, 0);
    /* schedule-free saved in eval mode: the parameters hold x */
    for (size_t s = 0; s < 3; s++)
        for (int bf16 = 0; bf16 < 2; bf16++)
            for (long k = 0; k <= 4; k += 4) {
                with_state("sfadamw(lr=0.01, warmup_steps=2, weight_decay=0.01)", states[s], spec,
                           sizeof spec);
                resume_case(spec, bf16, k, 1);
            }
}

/* A loaded file replaces whatever the optimizer held: state of another
   precision is rebuilt in the file's (its groups take the file's
   hyperparameters), and a file saved before the first step gives every
   tensor its starting values from the loaded parameters. */
static void load_into_trained(void)
{
    struct {
        const char *saved, *trained;
        int bf16;
        long k;
    } cases[] = {
        {"adamw(lr=0.01, state=int8)", "adamw(lr=0.5, state=bf16)", 0, 4},
        {"adamw(lr=0.01, state=int8)", "adamw(lr=0.5)", 1, 4},
        {"adamw(lr=0.01)", "adamw(lr=0.5, state=int8, amsgrad=true)", 0, 4},
        {"sfadamw(lr=0.01, state=bf16)", "sfadamw(lr=0.1)", 1, 4},
        {"sfadamw(lr=0.01)", "sfadamw(lr=0.1, state=int8)", 1, 0},
        {"nadam(lr=0.01)", "nadam(lr=0.1)", 0, 0},
        {"adafactor(lr=0.01)", "adafactor(lr=0.1)", 1, 4},
        {"muon(lr=0.02)", "muon(lr=0.1, nesterov=false)", 0, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        rig *straight = rig_new(cases[c].saved, cases[c].bf16);
        rig *first = rig_new(cases[c].saved, cases[c].bf16);
        rig *resumed = rig_new(cases[c].trained, cases[c].bf16);
        rig_run(straight, NULL, 0, STEPS);
        rig_run(first, NULL, 0, cases[c].k);
        CHECK_STATUS(rv_checkpoint_save(first->opt, NULL, FILE_A), RV_OK);
        rig_run(resumed, NULL, 0, 3);
        CHECK_STATUS(rv_checkpoint_load(resumed->opt, FILE_A, NULL, NULL), RV_OK);
        CHECK_MSG(same_optimizer_bits(first->opt, resumed->opt), "%s into trained %s: loaded", cases[c].saved,
                  cases[c].trained);
        rig_run(resumed, NULL, cases[c].k, STEPS);
        CHECK_MSG(same_optimizer_bits(straight->opt, resumed->opt), "%s into trained %s: resumed",
                  cases[c].saved, cases[c].trained);
        rig_free(straight);
        rig_free(first);
        rig_free(resumed);
    }
}

/* ---- the file, read without the library ---------------------------------- */

/* "name":{"dtype":"<dtype>","shape":<shape>,"data_offsets":[b,e]} by text */
static int entry_is(const char *h, const char *name, const char *dtype, const char *shape, size_t *b,
                    size_t *e)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[", name, dtype, shape);
    const char *at = strstr(h, pat);
    return at && sscanf(at + strlen(pat), "%zu,%zu]}", b, e) == 2;
}

static void layout_on_disk(void)
{
    rig *r = rig_new("sfadamw(lr=0.01, state=int8)", 1);
    rig_run(r, NULL, 0, 3);
    CHECK_STATUS(rv_optim_eval(r->opt), RV_OK);
    CHECK_STATUS(rv_checkpoint_save(r->opt, NULL, FILE_A), RV_OK);
    blob x = slurp(FILE_A);
    unsigned n = header_len(&x);
    char *h = calloc(1, n + 1);
    memcpy(h, x.b + 8, n);
    const unsigned char *data = x.b + 8 + n;
    size_t b, e;
    /* the bf16 parameter as its raw bits, with its shape */
    CHECK(entry_is(h, "param/e", "BF16", "[20,15]", &b, &e) && e - b == 600);
    CHECK(!memcmp(data + b, r->p16[2], 600));
    CHECK(entry_is(h, "param/tensor3", "BF16", "[]", &b, &e) && e - b == 2);
    CHECK(entry_is(h, "param/b", "BF16", "[5]", &b, &e));
    rv_param_view v;
    rv_optim_param_view(r->opt, 2, &v);
    CHECK(entry_is(h, "state/e/master", "F32", "[300]", &b, &e) && !memcmp(data + b, v.master, 1200));
    /* z is float32 whatever the state precision; the second moment int8 codes and two scales */
    CHECK(entry_is(h, "state/e/z", "F32", "[300]", &b, &e) && !memcmp(data + b, v.state_data[0], 1200));
    CHECK(entry_is(h, "state/e/exp_avg_sq", "U8", "[300]", &b, &e) && !memcmp(data + b, v.state_data[1], 300));
    CHECK(entry_is(h, "state/e/exp_avg_sq.absmax", "F32", "[2]", &b, &e) &&
          !memcmp(data + b, v.state_absmax[1], 8));
    /* the scalars, exact, as little-endian doubles */
    CHECK(entry_is(h, "scalar/e/lr_max", "F64", "[]", &b, &e) && e - b == 8);
    double lr_max, weight_sum;
    memcpy(&lr_max, data + b, 8);
    CHECK(entry_is(h, "scalar/e/weight_sum", "F64", "[]", &b, &e));
    memcpy(&weight_sum, data + b, 8);
    CHECK(lr_max == v.scalar[0] && weight_sum == v.scalar[1] && lr_max == 0.01);
    char value[64];
    CHECK(meta_value(h, "mode", value, sizeof value) && !strcmp(value, "eval"));
    CHECK(meta_value(h, "format_version", value, sizeof value) && !strcmp(value, "2"));
    /* every entry's checksum, recomputed */
    const char *names[] = {"param/e", "state/e/master", "state/e/exp_avg_sq", "state/e/exp_avg_sq.absmax",
                           "scalar/e/lr_max"};
    const char *dtypes[] = {"BF16", "F32", "U8", "F32", "F64"};
    const char *shapes[] = {"[20,15]", "[300]", "[300]", "[2]", "[]"};
    for (size_t i = 0; i < 5; i++) {
        char key[128], got[16], want[16];
        CHECK(entry_is(h, names[i], dtypes[i], shapes[i], &b, &e));
        snprintf(key, sizeof key, "crc32/%s", names[i]);
        CHECK(meta_value(h, key, got, sizeof got));
        snprintf(want, sizeof want, "%08x", (unsigned)crc32_bitwise(data + b, e - b));
        CHECK_STR(got, want);
    }
    /* adafactor's factored buffers at their own lengths */
    rig *f = rig_new("adafactor(lr=0.01)", 0);
    rig_run(f, NULL, 0, 2);
    CHECK_STATUS(rv_checkpoint_save(f->opt, NULL, FILE_B), RV_OK);
    blob y = slurp(FILE_B);
    unsigned m = header_len(&y);
    char *hf = calloc(1, m + 1);
    memcpy(hf, y.b + 8, m);
    CHECK(entry_is(hf, "param/t", "F32", "[2,3,4]", &b, &e));
    CHECK(entry_is(hf, "state/t/row_var", "F32", "[6]", &b, &e));
    CHECK(entry_is(hf, "state/t/col_var", "F32", "[8]", &b, &e));
    CHECK(entry_is(hf, "state/v/variance", "F32", "[5]", &b, &e));
    CHECK(meta_value(hf, "mode", value, sizeof value) && !strcmp(value, "train"));
    free(hf);
    free(y.b);
    rig_free(f);
    free(h);
    free(x.b);
    rig_free(r);
}

/* The strict header parser takes format 2's dtypes and 0-d shapes as they are. */
static void header_of_format_2(void)
{
    const char *text = "{\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
                       "\"c\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]},"
                       "\"p\":{\"dtype\":\"BF16\",\"shape\":[2,1,3],\"data_offsets\":[11,23]},"
                       "\"__metadata__\":{}}";
    rv_checkpoint_header h;
    CHECK_STATUS(rv_checkpoint_parse_header(text, strlen(text), "h", &h), RV_OK);
    CHECK(h.n_tensors == 3);
    CHECK(!strcmp(h.tensors[0].dtype, "F64") && h.tensors[0].rank == 0 && h.tensors[0].end == 8);
    CHECK(!strcmp(h.tensors[1].dtype, "U8") && h.tensors[1].rank == 1 && h.tensors[1].shape[0] == 3);
    CHECK(!strcmp(h.tensors[2].dtype, "BF16") && h.tensors[2].rank == 3 && h.tensors[2].shape[2] == 3);
    rv_checkpoint_header_free(&h);
}

/* ---- a file editor: change entries, rebuild checksums -------------------- */

enum { ED_MAX = 96 };

typedef struct ed_entry {
    char name[160], dtype[8];
    size_t rank;
    uint64_t shape[8];
    unsigned char *data;
    size_t bytes;
} ed_entry;

typedef struct edfile {
    ed_entry e[ED_MAX];
    size_t n;
    char *key[ED_MAX * 2], *value[ED_MAX * 2];
    size_t n_meta;
} edfile;

static int by_offset(const void *a, const void *b)
{
    const rv_checkpoint_tensor *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static void ed_load(edfile *f, const char *path)
{
    memset(f, 0, sizeof *f);
    blob x = slurp(path);
    unsigned n = header_len(&x);
    rv_checkpoint_header h;
    CHECK_STATUS(rv_checkpoint_parse_header((const char *)x.b + 8, n, path, &h), RV_OK);
    qsort(h.tensors, h.n_tensors, sizeof *h.tensors, by_offset);
    for (size_t i = 0; i < h.n_tensors && f->n < ED_MAX; i++) {
        const rv_checkpoint_tensor *t = &h.tensors[i];
        ed_entry *e = &f->e[f->n++];
        snprintf(e->name, sizeof e->name, "%s", t->name);
        snprintf(e->dtype, sizeof e->dtype, "%s", t->dtype);
        e->rank = t->rank;
        memcpy(e->shape, t->shape, t->rank * sizeof *t->shape);
        e->bytes = (size_t)(t->end - t->begin);
        e->data = malloc(e->bytes + 1);
        memcpy(e->data, x.b + 8 + n + t->begin, e->bytes);
    }
    for (size_t i = 0; i < h.n_meta; i++)
        if (strncmp(h.meta[i].key, "crc32/", 6) && strcmp(h.meta[i].key, "header_crc32")) {
            f->key[f->n_meta] = strdup(h.meta[i].key);
            f->value[f->n_meta++] = strdup(h.meta[i].value);
        }
    rv_checkpoint_header_free(&h);
    free(x.b);
}

static void ed_free(edfile *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->e[i].data);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->key[i]);
        free(f->value[i]);
    }
}

static ed_entry *ed_find(edfile *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].name, name))
            return &f->e[i];
    fprintf(stderr, "edit: no entry '%s'\n", name);
    return NULL;
}

static void ed_drop(edfile *f, const char *name)
{
    ed_entry *e = ed_find(f, name);
    if (!e)
        return;
    free(e->data);
    memmove(e, e + 1, (size_t)(f->e + f->n - e - 1) * sizeof *e);
    f->n--;
}

/* value NULL: drop the key */
static void ed_meta(edfile *f, const char *key, const char *value)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->key[i], key)) {
            free(f->value[i]);
            if (value) {
                f->value[i] = strdup(value);
            } else {
                free(f->key[i]);
                f->key[i] = f->key[--f->n_meta];
                f->value[i] = f->value[f->n_meta];
            }
            return;
        }
    if (value) {
        f->key[f->n_meta] = strdup(key);
        f->value[f->n_meta++] = strdup(value);
    }
}

static void ed_save(const edfile *f, const char *path)
{
    rv_text t = {0};
    rv_text_put(&t, "{");
    size_t at = 0;
    for (size_t i = 0; i < f->n; i++) {
        const ed_entry *e = &f->e[i];
        rv_text_putf(&t, "\"%s\":{\"dtype\":\"%s\",\"shape\":[", e->name, e->dtype);
        for (size_t d = 0; d < e->rank; d++)
            rv_text_putf(&t, "%s%llu", d ? "," : "", (unsigned long long)e->shape[d]);
        rv_text_putf(&t, "],\"data_offsets\":[%zu,%zu]},", at, at + e->bytes);
        at += e->bytes;
    }
    rv_text_put(&t, "\"__metadata__\":{");
    for (size_t i = 0; i < f->n_meta; i++)
        rv_text_putf(&t, "\"%s\":\"%s\",", f->key[i], f->value[i]);
    for (size_t i = 0; i < f->n; i++)
        rv_text_putf(&t, "\"crc32/%s\":\"%08x\",", f->e[i].name,
                     (unsigned)crc32_bitwise(f->e[i].data, f->e[i].bytes));
    rv_text_put(&t, "\"header_crc32\":\"00000000\"}}");
    while (t.len % 8)
        rv_text_put(&t, " ");
    char digits[9];
    snprintf(digits, sizeof digits, "%08x", (unsigned)crc32_bitwise(t.s, t.len));
    memcpy(strstr(t.s, "\"header_crc32\":\"") + 16, digits, 8);
    remove(path);
    FILE *out = fopen(path, "wb");
    unsigned char len8[8];
    for (int b = 0; b < 8; b++)
        len8[b] = (unsigned char)((uint64_t)t.len >> (8 * b));
    fwrite(len8, 1, 8, out);
    fwrite(t.s, 1, t.len, out);
    for (size_t i = 0; i < f->n; i++)
        fwrite(f->e[i].data, 1, f->e[i].bytes, out);
    fclose(out);
    rv_text_free(&t);
}

/* ---- refusals: exact reasons, nothing changed ------------------------------ */

/* Load FILE_B into a trained rig of `spec`; it must fail with `code` and
   (when given) exactly `want`, and the rig must not change. */
static void refused(const char *spec, int bf16, int keep, rv_status code, const char *want, const char *what)
{
    rig *r = rig_new(spec, bf16), *ref = rig_new(spec, bf16);
    rig_run(r, NULL, 0, 2);
    rig_run(ref, NULL, 0, 2);
    CHECK_STATUS(rv_optim_eval(r->opt), RV_OK);   /* the mode must survive too */
    CHECK_STATUS(rv_optim_eval(ref->opt), RV_OK);
    rv_checkpoint_options o = {keep};
    rv_checkpoint_info info = {0};
    rv_status s = rv_checkpoint_load(r->opt, FILE_B, &o, &info);
    CHECK_MSG(s == code, "%s: got %d (%s), want %d", what, (int)s, rv_errmsg(), (int)code);
    if (want)
        CHECK_MSG(!strcmp(rv_errmsg(), want), "%s:\n  got  %s\n  want %s", what, rv_errmsg(), want);
    CHECK_MSG(same_optimizer_bits(r->opt, ref->opt), "%s changed the optimizer", what);
    CHECK(info.optimizer == NULL && info.tensors == NULL);
    rig_free(r);
    rig_free(ref);
}

/* FILE_A: spec after 3 steps, loaded into an editor */
static void saved_for_edit(const char *spec, int bf16, int eval, edfile *f)
{
    rig *r = rig_new(spec, bf16);
    rig_run(r, NULL, 0, 3);
    if (eval)
        CHECK_STATUS(rv_optim_eval(r->opt), RV_OK);
    CHECK_STATUS(rv_checkpoint_save(r->opt, NULL, FILE_A), RV_OK);
    rig_free(r);
    ed_load(f, FILE_A);
}

#define IN_B "checkpoint '" FILE_B "': "

/* FILE_A of spec without one of its entries, refused */
static void refuse_without(const char *spec, int bf16, const char *entry, rv_status code, const char *want)
{
    edfile f;
    saved_for_edit(spec, bf16, 0, &f);
    ed_drop(&f, entry);
    ed_save(&f, FILE_B);
    char what[256];
    snprintf(what, sizeof what, "%s without %s", spec, entry);
    refused(spec, bf16, 0, code, want, what);
    ed_free(&f);
}

static void inconsistent_files(void)
{
    edfile f;
    /* the editor itself writes a file that loads */
    saved_for_edit("nadam(lr=0.01, state=int8)", 1, 0, &f);
    ed_save(&f, FILE_B);
    rig *ok = rig_new("nadam(lr=0.01, state=int8)", 1);
    CHECK_STATUS(rv_checkpoint_load(ok->opt, FILE_B, NULL, NULL), RV_OK);
    rig_free(ok);

    /* dtypes: the optimizer's tensors and the file's must agree */
    refused("nadam(lr=0.01, state=int8)", 0, 0, RV_ERR_MISMATCH,
            IN_B "tensor 'w' is bfloat16 (BF16) in the file, the optimizer's is float32 (F32)",
            "bf16 file, float32 optimizer");
    ed_free(&f);
    saved_for_edit("nadam(lr=0.01)", 0, 0, &f);
    ed_save(&f, FILE_B);
    refused("nadam(lr=0.01)", 1, 0, RV_ERR_MISMATCH,
            IN_B "tensor 'w' is float32 (F32) in the file, the optimizer's is bfloat16 (BF16)",
            "float32 file, bf16 optimizer");
    ed_free(&f);

    /* a missing scalar (the state cannot resume exactly), master, buffer */
    const char *nadam = "nadam(lr=0.01, state=int8)";
    refuse_without(nadam, 1, "scalar/w/mu_product", RV_ERR_FORMAT,
                   IN_B "tensor 'w' has state but not 'scalar/w/mu_product' (nadam keeps it per tensor)");
    refuse_without(nadam, 1, "state/w/master", RV_ERR_FORMAT,
                   IN_B "tensor 'state/w/master' is missing while 'state/w/exp_avg' is present (a tensor's "
                        "state is stored whole or not at all)");
    refuse_without(nadam, 1, "state/e/exp_avg_sq", RV_ERR_FORMAT,
                   IN_B "tensor 'state/e/exp_avg_sq' is missing while 'state/e/master' is present (a "
                        "tensor's state is stored whole or not at all)");
    refuse_without("sfadamw(lr=0.01)", 0, "scalar/b/lr_max", RV_ERR_FORMAT,
                   IN_B "tensor 'b' has state but not 'scalar/b/lr_max' (sfadamw keeps it per tensor)");

    /* block scales of the wrong length */
    saved_for_edit("nadam(lr=0.01, state=int8)", 1, 0, &f);
    ed_entry *e = ed_find(&f, "state/e/exp_avg.absmax");
    e->shape[0] = 1;
    e->bytes = 4;
    ed_save(&f, FILE_B);
    refused("nadam(lr=0.01, state=int8)", 1, 0, RV_ERR_FORMAT,
            IN_B "tensor 'state/e/exp_avg.absmax' has shape [1], expected [2] (int8 state's block scales, "
              "one per 256 values)",
            "absmax of the wrong length");
    ed_free(&f);
    /* a negative or infinite block scale (a valid checksum does not make it one) */
    const float bad_scales[] = {-1.0f, INFINITY};
    for (int b = 0; b < 2; b++) {
        saved_for_edit("nadam(lr=0.01, state=int8)", 1, 0, &f);
        e = ed_find(&f, "state/e/exp_avg_sq.absmax");
        memcpy((unsigned char *)e->data + 4, &bad_scales[b], 4);
        ed_save(&f, FILE_B);
        char want[256];
        snprintf(want, sizeof want,
                 IN_B "tensor 'state/e/exp_avg_sq.absmax' holds %s at index 1; a block scale is a "
                      "largest magnitude (>= 0, finite, or NaN)",
                 b ? "inf" : "-1");
        refused("nadam(lr=0.01, state=int8)", 1, 0, RV_ERR_FORMAT, want, "bad block scale");
        ed_free(&f);
    }

    /* U8 codes where the file's own group keeps float32 state */
    saved_for_edit("adamw(lr=0.01, state=int8)", 0, 0, &f);
    char spec[256];
    rv_hparams h = rv_adamw_defaults();
    h.lr = 0.01;
    rv_hparams_format(rv_adamw, &h, spec, sizeof spec);
    ed_meta(&f, "group/0/spec", spec);
    ed_save(&f, FILE_B);
    refused("adamw(lr=0.01)", 0, 0, RV_ERR_FORMAT,
            IN_B "tensor 'state/w/exp_avg' has dtype U8, expected F32 (param group 0 keeps state=fp32)",
            "U8 for float32 state");
    ed_free(&f);

    /* keep_hparams: the optimizer's precision must be the file's */
    saved_for_edit("adamw(lr=0.01, state=int8)", 0, 0, &f);
    ed_save(&f, FILE_B);
    refused("adamw(lr=0.01, state=bf16)", 0, 1, RV_ERR_MISMATCH,
            IN_B "tensor 'w' keeps its state as int8 (the file's param group 0: state=int8), the "
              "optimizer's param group 0 keeps state=bf16; load without keep_hparams to take the file's",
            "keep_hparams, other precision");
    ed_free(&f);

    /* shapes: a file's matrix must be the tensor's */
    saved_for_edit("adamw(lr=0.01)", 0, 0, &f);
    e = ed_find(&f, "param/w");
    e->shape[0] = 4, e->shape[1] = 3;
    ed_save(&f, FILE_B);
    refused("adamw(lr=0.01)", 0, 0, RV_ERR_MISMATCH, IN_B "tensor 'w' has shape [4, 3], the optimizer's has [3, 4]",
            "transposed shape");
    e->rank = 1, e->shape[0] = 12;   /* a vector for a matrix */
    ed_save(&f, FILE_B);
    refused("adamw(lr=0.01)", 0, 0, RV_ERR_MISMATCH, IN_B "tensor 'w' has shape [12], the optimizer's has [3, 4]",
            "vector for a matrix");
    ed_free(&f);
    saved_for_edit("adamw(lr=0.01)", 0, 0, &f);
    e = ed_find(&f, "param/b");   /* added without a shape: [5] */
    e->rank = 2, e->shape[0] = 5, e->shape[1] = 1;
    ed_save(&f, FILE_B);
    refused("adamw(lr=0.01)", 0, 0, RV_ERR_MISMATCH,
            IN_B "tensor 'b' has shape [5, 1], the optimizer's has [5] (added without a shape)", "matrix for an unshaped tensor");
    ed_free(&f);
    /* adafactor: a factored buffer of the wrong length for its file's shape */
    saved_for_edit("adafactor(lr=0.01)", 0, 0, &f);
    e = ed_find(&f, "state/t/col_var");
    e->shape[0] = 7;
    e->bytes = 28;
    ed_save(&f, FILE_B);
    refused("adafactor(lr=0.01)", 0, 0, RV_ERR_FORMAT,
            IN_B "tensor 'state/t/col_var' has shape [7], expected [8] (param group 1 keeps state=fp32)",
            "adafactor col_var length");
    ed_free(&f);

    /* scalars: F64 of shape [], finite */
    saved_for_edit("sfadamw(lr=0.01)", 0, 1, &f);
    e = ed_find(&f, "scalar/w/weight_sum");
    e->rank = 1, e->shape[0] = 1;
    ed_save(&f, FILE_B);
    refused("sfadamw(lr=0.01)", 0, 0, RV_ERR_FORMAT,
            IN_B "tensor 'scalar/w/weight_sum' has shape [1], expected [] (a per-tensor scalar)", "scalar shape");
    e->rank = 0;
    double nan_value = NAN;
    memcpy(e->data, &nan_value, 8);
    ed_save(&f, FILE_B);
    refused("sfadamw(lr=0.01)", 0, 0, RV_ERR_FORMAT, IN_B "tensor 'scalar/w/weight_sum' holds nan; a scalar must be finite",
            "non-finite scalar");
    ed_free(&f);

    /* the mode */
    saved_for_edit("sfadamw(lr=0.01)", 0, 1, &f);
    ed_meta(&f, "mode", "sleep");
    ed_save(&f, FILE_B);
    refused("sfadamw(lr=0.01)", 0, 0, RV_ERR_FORMAT, IN_B "metadata 'mode' = 'sleep' is neither 'train' nor 'eval'",
            "unknown mode");
    ed_meta(&f, "mode", NULL);
    ed_save(&f, FILE_B);
    refused("sfadamw(lr=0.01)", 0, 0, RV_ERR_FORMAT, IN_B "metadata 'mode' is missing", "no mode");
    ed_free(&f);

    /* a parameter of a state dtype, an entry nobody describes */
    saved_for_edit("adamw(lr=0.01)", 0, 0, &f);
    e = ed_find(&f, "param/b");
    snprintf(e->dtype, sizeof e->dtype, "U8");
    e->bytes = 5;
    ed_save(&f, FILE_B);
    refused("adamw(lr=0.01)", 0, 0, RV_ERR_FORMAT, IN_B "tensor 'param/b' has dtype U8; a parameter is F32 or BF16",
            "U8 parameter");
    ed_free(&f);
    saved_for_edit("adamw(lr=0.01)", 0, 0, &f);
    e = &f.e[f.n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "state/w/bogus");
    snprintf(e->dtype, sizeof e->dtype, "F32");
    e->rank = 1, e->shape[0] = 1, e->bytes = 4;
    e->data = calloc(1, 4);
    ed_save(&f, FILE_B);
    refused("adamw(lr=0.01)", 0, 0, RV_ERR_FORMAT, IN_B "tensor 'state/w/bogus' is not described by the metadata",
            "an extra entry");
    ed_free(&f);

}

/* ---- format version 1 ------------------------------------------------------ */

static char *fixture(const char *name)
{
    const char *dir = getenv("RAVINE_FIXTURES");
    char *path = malloc(1024);
    snprintf(path, 1024, "%s/checkpoint_v1/%s", dir ? dir : "fixtures", name);
    return path;
}

/* Files the format-1 writer saved (tests/fixtures/checkpoint_v1/gen_v1.c):
   each resumes the checkpoint kit's model exactly; nadam's, whose
   mu_product format 1 did not store, only before its first step. */
static void version_1_files(void)
{
    struct {
        const char *file, *spec;
        long k;
    } files[] = {
        {"adamw_k5.safetensors", "adamw(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)", 5},
        {"sgd_k4.safetensors", "sgd(lr=0.05, momentum=0.9, nesterov=true)", 4},
        {"rmsprop_k0.safetensors", "rmsprop(lr=0.01, momentum=0.5, centered=true)", 0},
        {"nadam_k0.safetensors", "nadam(lr=0.01)", 0},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *path = fixture(files[i].file);
        rv_checkpoint_info info;
        CHECK_STATUS(rv_checkpoint_inspect(path, &info), RV_OK);
        CHECK(info.version == 1 && info.step == files[i].k && info.n_params == 3 && info.eval_mode == 0);
        CHECK(info.tensors[0].ndim == 1 && info.tensors[0].shape[0] == 5 && info.tensors[0].dtype == RV_FP32);
        CHECK(info.tensors[1].group == 1 && info.tensors[1].has_state == (files[i].k > 0));
        CHECK_STR(info.tensors[2].key, "tensor2");
        rv_checkpoint_info_free(&info);
        rv_schedule *sched = NULL, *again = NULL;
        model straight, resumed;
        model_init(&straight, files[i].spec);
        model_init(&resumed, files[i].spec);
        CHECK_STATUS(rv_optim_eval(resumed.opt), RV_OK);   /* a format-1 file is in train mode */
        CHECK_STATUS(rv_checkpoint_load(resumed.opt, path, NULL, &info), RV_OK);
        CHECK(rv_optim_is_training(resumed.opt));
        if (info.schedule[0])
            CHECK_STATUS(rv_schedule_parse(info.schedule, &sched), RV_OK);
        if (info.schedule[0])
            CHECK_STATUS(rv_schedule_parse(info.schedule, &again), RV_OK);
        run_steps(&straight, sched, 0, 12);
        run_steps(&resumed, again, info.schedule_step, 12);
        CHECK_MSG(same_bits(&straight, &resumed), "format-1 %s", files[i].file);
        rv_checkpoint_info_free(&info);
        rv_schedule_free(sched);
        rv_schedule_free(again);
        rv_optim_free(straight.opt);
        rv_optim_free(resumed.opt);
        free(path);
    }
    /* nadam after 3 steps: its state without mu_product cannot resume */
    char *path = fixture("nadam_k3.safetensors"), want[1200];
    model m, ref;
    model_init(&m, "nadam(lr=0.01)");
    model_init(&ref, "nadam(lr=0.01)");
    CHECK_STATUS(rv_checkpoint_load(m.opt, path, NULL, NULL), RV_ERR_FORMAT);
    snprintf(want, sizeof want,
             "checkpoint '%s': tensor 'w' has state but not 'scalar/w/mu_product' (nadam keeps it per "
             "tensor; format version 1 did not store it, so this state cannot resume exactly)",
             path);
    CHECK_STR(rv_errmsg(), want);
    CHECK(same_bits(&m, &ref));
    rv_optim_free(m.opt);
    rv_optim_free(ref.opt);
    free(path);

    /* a format-1 file whose group keeps bf16 state: that writer stored none */
    path = fixture("adamw_k5.safetensors");
    blob x = slurp(path);
    blob y = rewrite(&x, "maximize=false,decay=before)", "maximize=false,decay=before,state=bf16)");
    spit(FILE_B, y.b, y.n);
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, NULL), RV_ERR_FORMAT);
    CHECK_STR(rv_errmsg(), IN_B "tensor 'w' has float32 state, but format version 1 held none for state=bf16 "
                             "(param group 0)");
    free(x.b);
    free(y.b);
    free(path);
    /* ... and a tensor of such a group that has stepped has lost its state */
    path = fixture("rmsprop_k0.safetensors");
    x = slurp(path);
    /* (centered RMSprop keeps float32 state only) */
    y = rewrite(&x, "centered=true,maximize=false)", "centered=false,maximize=false,state=int8)");
    blob z = rewrite(&y, "\"param/w/step\":\"0\"", "\"param/w/step\":\"3\"");
    spit(FILE_B, z.b, z.n);
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, NULL), RV_ERR_FORMAT);
    CHECK_STR(rv_errmsg(), IN_B "tensor 'w' has taken 3 steps but the file holds no state for it (format "
                                "version 1 did not store state=int8), so it cannot resume exactly");
    free(x.b);
    free(y.b);
    free(z.b);
    free(path);
    /* and F64 is not a format-1 dtype */
    path = fixture("sgd_k4.safetensors");
    x = slurp(path);
    y = rewrite(&x, "\"F32\",\"shape\":[5]", "\"F64\",\"shape\":[5]");
    spit(FILE_B, y.b, y.n);
    CHECK_STATUS(rv_checkpoint_inspect(FILE_B, NULL), RV_ERR_FORMAT);
    CHECK_STR(rv_errmsg(), IN_B "tensor 'param/w' has dtype F64; format version 1 holds F32 only");
    free(x.b);
    free(y.b);
    free(path);
}

static int no_fsync(int fd)
{
    (void)fd;
    return 0;
}

int main(void)
{
    rv_checkpoint_fsync_fn = no_fsync;   /* the disk's speed is not under test */
    every_optimizer_resumes();
    load_into_trained();
    layout_on_disk();
    header_of_format_2();
    inconsistent_files();
    version_1_files();
    remove(FILE_A);
    remove(FILE_B);
    return check_summary("checkpoint_v2");
}
