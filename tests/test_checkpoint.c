/* Checkpoints: bit-identical resume for every optimizer and schedule, the
   file read back by an independent minimal reader, and every kind of
   damaged or foreign file refused with its exact message, changing nothing. */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_A "test_checkpoint_a.safetensors"
#define FILE_B "test_checkpoint_b.safetensors"
#include "checkpoint_kit.h"

static const char *const specs[] = {
    "sgd(lr=0.1)",
    "sgd(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)",
    "sgd(lr=0.05, momentum=0.9, nesterov=true, maximize=true)",
    "polyak(lr=0.1, beta=0.8, weight_decay=0.001)",
    "adam(lr=0.01)",
    "adam(lr=0.01, amsgrad=true, weight_decay=0.1)",
    "adamw(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)",
    "adamw(lr=0.01, decay=after, amsgrad=true)",
    "rmsprop(lr=0.01, momentum=0.5, centered=true)",
    "rmsprop(lr=0.01, alpha=0.9, weight_decay=0.01)",
    "adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)",
};
#define N_SPECS (sizeof specs / sizeof specs[0])

/* K steps straight == k steps, save, load into a fresh optimizer, K-k steps. */
static void resume_is_bit_identical(void)
{
    const char *schedules[] = {NULL, "warmup_cosine(peak=0.02, warmup_steps=4, decay_steps=14)",
                               "onecycle(max_lr=0.05, total_steps=14)"};
    for (size_t si = 0; si < N_SPECS; si++)
        for (size_t c = 0; c < 3; c++)
            for (long k = 0; k <= 12; k += 6) {   /* k = 0: saved before any state exists */
                rv_schedule *sched = NULL;
                if (schedules[c])
                    CHECK_STATUS(rv_schedule_parse(schedules[c], &sched), RV_OK);
                model straight, first, resumed;
                model_init(&straight, specs[si]);
                run_steps(&straight, sched, 0, 12);

                model_init(&first, specs[si]);
                run_steps(&first, sched, 0, k);
                CHECK_STATUS(rv_checkpoint_save(first.opt, schedules[c], FILE_A), RV_OK);

                model_init(&resumed, specs[si]);
                rv_checkpoint_info info;
                CHECK_STATUS(rv_checkpoint_load(resumed.opt, FILE_A, NULL, &info), RV_OK);
                CHECK(info.step == k && info.schedule_step == k);
                rv_schedule *again = NULL;
                if (schedules[c])
                    CHECK_STATUS(rv_schedule_parse(info.schedule, &again), RV_OK);
                else
                    CHECK_STR(info.schedule, "");
                run_steps(&resumed, again, info.schedule_step, 12);
                rv_checkpoint_info_free(&info);
                CHECK_MSG(same_bits(&straight, &resumed), "%s, schedule %s, k = %ld", specs[si],
                          schedules[c] ? schedules[c] : "none", k);
                rv_schedule_free(sched);
                rv_schedule_free(again);
                rv_optim_free(straight.opt);
                rv_optim_free(first.opt);
                rv_optim_free(resumed.opt);
            }
}

static void independent_reader(void)
{
    model m;
    model_init(&m, "adam(lr=0.01)");
    run_steps(&m, NULL, 0, 3);
    CHECK_STATUS(rv_checkpoint_save(m.opt, "cosine(lr=0.01, t_max=100)", FILE_A), RV_OK);
    blob x = slurp(FILE_A);
    unsigned n = header_len(&x);
    CHECK(n % 8 == 0 && 8 + n <= x.n && x.b[8] == '{');
    char *h = calloc(1, n + 1);
    memcpy(h, x.b + 8, n);
    const char *tensors[] = {"param/w", "state/w/exp_avg", "state/w/exp_avg_sq", "param/b",
                             "state/b/exp_avg", "param/tensor2", "state/tensor2/exp_avg_sq"};
    for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) {
        size_t cnt = 0, b = 0, e = 0;
        CHECK_MSG(find_entry(h, tensors[i], &cnt, &b, &e), "%s", tensors[i]);
        CHECK(e - b == 4 * cnt && 8 + n + e <= x.n);
        char key[128], want[16], got[16];
        snprintf(key, sizeof key, "crc32/%s", tensors[i]);
        CHECK(meta_value(h, key, got, sizeof got));
        snprintf(want, sizeof want, "%08x", (unsigned)crc32_bitwise(x.b + 8 + n + b, e - b));
        CHECK_STR(got, want);
    }
    /* parameter values, little-endian float32 */
    size_t cnt, b, e;
    CHECK(find_entry(h, "param/w", &cnt, &b, &e) && cnt == 5);
    for (size_t i = 0; i < cnt; i++) {
        const unsigned char *q = x.b + 8 + n + b + 4 * i;
        uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        CHECK(memcmp(&f, &m.p[0][i], 4) == 0);
    }
    char v[256];
    CHECK(meta_value(h, "format", v, sizeof v) && !strcmp(v, "ravine.checkpoint"));
    CHECK(meta_value(h, "format_version", v, sizeof v) && !strcmp(v, "2"));
    CHECK(meta_value(h, "mode", v, sizeof v) && !strcmp(v, "train"));
    CHECK(meta_value(h, "optimizer", v, sizeof v) && !strcmp(v, "adam"));
    CHECK(meta_value(h, "group/0/spec", v, sizeof v));
    CHECK_STR(v, "adam(lr=0.01,betas=(0.9,0.999),eps=1e-08,weight_decay=0,amsgrad=false,maximize=false)");
    CHECK(meta_value(h, "group/1/lr", v, sizeof v) && !strcmp(v, "0.0030000000000000001"));
    CHECK(meta_value(h, "param/b/group", v, sizeof v) && !strcmp(v, "1"));
    CHECK(meta_value(h, "param/w/step", v, sizeof v) && !strcmp(v, "3"));
    CHECK(meta_value(h, "step", v, sizeof v) && !strcmp(v, "3"));
    CHECK(meta_value(h, "schedule", v, sizeof v) && !strcmp(v, "cosine(lr=0.01,t_max=100,eta_min=0,exponent=1)"));
    CHECK(meta_value(h, "schedule_step", v, sizeof v) && !strcmp(v, "3"));
    /* the header checksum, recomputed with its digits as zeros */
    CHECK(meta_value(h, "header_crc32", v, sizeof v));
    char *digits = strstr(h, "\"header_crc32\":\"") + 16;
    memcpy(digits, "00000000", 8);
    char want[16];
    snprintf(want, sizeof want, "%08x", (unsigned)crc32_bitwise(h, n));
    CHECK_STR(v, want);

    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(FILE_A, &info), RV_OK);
    CHECK(info.version == 2 && info.n_groups == 2 && info.n_params == 3 && info.numel == 12);
    CHECK(info.step == 3 && info.skipped == 0 && info.schedule_step == 3);
    CHECK_STR(info.optimizer, "adam(lr=0.01,betas=(0.9,0.999),eps=1e-08,weight_decay=0,amsgrad=false,maximize=false)");
    rv_checkpoint_info_free(&info);
    free(h);
    free(x.b);
    rv_optim_free(m.opt);
}

static void truncations(void)
{
    blob x = saved_file();
    unsigned n = header_len(&x);
    char want[512];
    for (size_t len = 0; len < 8; len++) {
        snprintf(want, sizeof want,
                 "checkpoint '" FILE_B "': file is %zu bytes, too short for the 8-byte header length", len);
        refuse(x.b, len, RV_ERR_FORMAT, want, "truncated in the length");
    }
    for (size_t len = 8; len < 8 + n; len += len < 16 || len + 9 > 8 + n ? 1 : 37) {
        snprintf(want, sizeof want,
                 "checkpoint '" FILE_B "': header length %llu is larger than the %zu bytes after it "
                 "(truncated file?)",
                 (unsigned long long)n, len - 8);
        refuse(x.b, len, RV_ERR_FORMAT, want, "truncated in the header");
    }
    /* at the end of the header and at every tensor boundary */
    const char *order[] = {"param/w", "state/w/exp_avg", "state/w/exp_avg_sq", "param/b",
                           "state/b/exp_avg", "state/b/exp_avg_sq", "param/tensor2",
                           "state/tensor2/exp_avg", "state/tensor2/exp_avg_sq"};
    const size_t numel[] = {5, 5, 5, 3, 3, 3, 4, 4, 4};
    size_t begin = 0;
    for (size_t t = 0; t < 9; t++) {
        size_t end = begin + 4 * numel[t];
        for (size_t cut = begin; cut < end; cut += cut == begin ? 1 : 4 * numel[t] - 2) {
            snprintf(want, sizeof want,
                     "checkpoint '" FILE_B "': tensor '%s' data [%zu, %zu) extends past the %zu data "
                     "bytes (truncated file?)",
                     order[t], begin, end, cut);
            refuse(x.b, 8 + n + cut, RV_ERR_FORMAT, want, "truncated in the data");
        }
        begin = end;
    }
    CHECK(8 + n + begin == x.n);
    /* one byte too many is refused as well */
    unsigned char *longer = malloc(x.n + 1);
    memcpy(longer, x.b, x.n);
    longer[x.n] = 0;
    refuse(longer, x.n + 1, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': 1 bytes after the last tensor belong to no tensor", "trailing byte");
    free(longer);
    free(x.b);
}

static void flips(void)
{
    blob x = saved_file();
    unsigned n = header_len(&x);
    unsigned char *y = malloc(x.n);
    /* every byte of the length and the header, every one refused */
    for (size_t i = 0; i < 8 + n; i++) {
        memcpy(y, x.b, x.n);
        y[i] ^= 0x01;
        char what[64];
        snprintf(what, sizeof what, "bit flip at byte %zu", i);
        refuse(y, x.n, RV_STATUS_COUNT, NULL, what);
    }
    /* a changed digit in the metadata: JSON still valid, checksum catches it */
    char want[512], stored[16];
    char *h0 = calloc(1, n + 1);
    memcpy(h0, x.b + 8, n);
    meta_value(h0, "header_crc32", stored, sizeof stored);
    memcpy(y, x.b, x.n);
    char *at = strstr((char *)y + 8, "\"step\":\"5\"");
    at[8] = '7';
    memcpy(h0, y + 8, n);
    memcpy(strstr(h0, "\"header_crc32\":\"") + 16, "00000000", 8);
    snprintf(want, sizeof want,
             "checkpoint '" FILE_B "': header checksum mismatch (stored %s, computed %08x): the "
             "header was changed or damaged",
             stored, (unsigned)crc32_bitwise(h0, n));
    refuse(y, x.n, RV_ERR_CHECKSUM, want, "changed step");
    free(h0);
    free(x.b);

    /* every data byte: the tensor it belongs to is named */
    x = saved_file();
    n = header_len(&x);
    for (size_t i = 8 + n; i < x.n; i++) {
        memcpy(y, x.b, x.n);
        y[i] ^= 0x80;
        char what[64];
        snprintf(what, sizeof what, "data flip at byte %zu", i);
        refuse(y, x.n, RV_ERR_CHECKSUM, NULL, what);
    }
    memcpy(y, x.b, x.n);
    size_t cnt, b, e;
    char *h = calloc(1, n + 1);
    memcpy(h, x.b + 8, n);
    CHECK(find_entry(h, "state/b/exp_avg", &cnt, &b, &e));
    y[8 + n + b + 2] ^= 0x10;
    char stored_crc[16];
    meta_value(h, "crc32/state/b/exp_avg", stored_crc, sizeof stored_crc);
    snprintf(want, sizeof want,
             "checkpoint '" FILE_B "': tensor 'state/b/exp_avg' checksum mismatch (stored %s, computed "
             "%08x): its data was changed or damaged",
             stored_crc, (unsigned)crc32_bitwise(y + 8 + n + b, e - b));
    refuse(y, x.n, RV_ERR_CHECKSUM, want, "data flip in state/b/exp_avg");
    free(h);
    free(y);
    free(x.b);
}

static void put_len(unsigned char *b, uint64_t n)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(n >> (8 * i));
}

static void hostile_headers(void)
{
    blob x = saved_file();
    unsigned n = header_len(&x);
    unsigned char *y = malloc(x.n);
    char want[512];

    memcpy(y, x.b, x.n);
    put_len(y, x.n - 7);
    snprintf(want, sizeof want,
             "checkpoint '" FILE_B "': header length %zu is larger than the %zu bytes after it "
             "(truncated file?)",
             x.n - 7, x.n - 8);
    refuse(y, x.n, RV_ERR_FORMAT, want, "header length past the end");

    put_len(y, (uint64_t)1 << 40);
    refuse(y, x.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': header length 1099511627776 exceeds the 100000000-byte limit",
           "huge header length");
    put_len(y, UINT64_MAX);
    refuse(y, x.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': header length 18446744073709551615 exceeds the 100000000-byte limit",
           "header length 2^64-1");
    put_len(y, 1);
    refuse(y, x.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': header length 1 is too small for a JSON object", "tiny header");

    /* shorter header length: the JSON is cut */
    memcpy(y, x.b, x.n);
    put_len(y, n - 8);
    refuse(y, x.n, RV_ERR_FORMAT, NULL, "header length 8 short");

    /* consistent files with one deliberate fault each */
    blob z = rewrite(&x, "\"param/b\":", "\"param/w\":");
    refuse(z.b, z.n, RV_ERR_FORMAT, "checkpoint '" FILE_B "': tensor 'param/w' appears twice in the header",
           "duplicate tensor");
    free(z.b);
    z = rewrite(&x, "\"data_offsets\":[60,72]", "\"data_offsets\":[56,68]");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': tensors 'state/w/exp_avg_sq' [40, 60) and 'param/b' [56, 68) overlap",
           "overlapping tensors");
    free(z.b);
    z = rewrite(&x, "\"shape\":[5],\"data_offsets\":[0,20]", "\"shape\":[6],\"data_offsets\":[0,20]");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': tensor 'param/w' has 6 elements but data_offsets [0, 20) hold 20 bytes",
           "shape disagrees with offsets");
    free(z.b);
    z = rewrite(&x, "\"shape\":[5],\"data_offsets\":[0,20]",
                "\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,20]");
    refuse(z.b, z.n, RV_ERR_FORMAT, NULL, "shape product overflow");
    free(z.b);
    z = rewrite(&x, "\"F32\",\"shape\":[5]", "\"I32\",\"shape\":[5]");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': tensor 'param/w' has dtype I32; ravine reads F32, BF16, U8 and F64",
           "dtype");
    free(z.b);
    z = rewrite(&x, "\"format_version\":\"2\"", "\"format_version\":\"3\"");
    refuse(z.b, z.n, RV_ERR_VERSION,
           "checkpoint '" FILE_B "': format version 3 is newer than this ravine reads (2)", "future version");
    free(z.b);
    z = rewrite(&x, "\"format\":\"ravine.checkpoint\",", "");
    refuse(z.b, z.n, RV_ERR_FORMAT, "checkpoint '" FILE_B "': metadata 'format' is missing", "no format");
    free(z.b);
    z = rewrite(&x, "\"step\":\"5\"", "\"step\":\"-5\"");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': metadata 'step' = '-5' is not a whole number in [0, 9007199254740992]",
           "negative step");
    free(z.b);
    z = rewrite(&x, "\"group/0/lr\":\"0.01\"", "\"group/0/lr\":\"0.02\"");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': metadata 'group/0/lr' = '0.02' is not the group's lr", "lr disagrees");
    free(z.b);
    z = rewrite(&x, "\"groups\":\"2\"", "\"groups\":\"1000000000\"");
    refuse(z.b, z.n, RV_ERR_FORMAT, NULL, "a billion groups");
    CHECK(strstr(rv_errmsg(), "metadata 'groups' = '1000000000' is not a whole number in [0, ") != NULL);
    free(z.b);
    z = rewrite(&x, "\"tensors\":\"3\"", "\"tensors\":\"2\"");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': tensor 'param/tensor2' is not described by the metadata", "extra tensor");
    free(z.b);
    z = rewrite(&x, "{", "{\"extra\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': tensor 'extra' is not described by the metadata", "unknown empty tensor");
    free(z.b);
    z = rewrite(&x, "\"__metadata__\"", "\"__metadatb__\"");
    refuse(z.b, z.n, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': header has no __metadata__ object (not a ravine checkpoint)", "no metadata");
    free(z.b);

    /* plain garbage and an empty JSON header */
    memcpy(y, x.b, x.n);
    memset(y + 8, 'x', n);
    snprintf(want, sizeof want,
             "checkpoint '" FILE_B "': header is not valid JSON: the header must start with '{' (error "
             "at byte 0 of %llu)",
             (unsigned long long)n);
    refuse(y, x.n, RV_ERR_FORMAT, want, "garbage header");
    free(y);
    free(x.b);
    unsigned char tiny[8 + 8] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    refuse(tiny, sizeof tiny, RV_ERR_FORMAT,
           "checkpoint '" FILE_B "': header has no __metadata__ object (not a ravine checkpoint)", "{}");
    remove(FILE_B);
    model m;
    model_init(&m, "adam");
    CHECK_STATUS(rv_checkpoint_load(m.opt, FILE_B, NULL, NULL), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_B "': cannot open: No such file or directory");
    rv_optim_free(m.opt);
}

/* Files from another optimizer or layout. */
static void mismatches(void)
{
    model m;
    model_init(&m, "adam(lr=0.01)");
    run_steps(&m, NULL, 0, 2);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_OK);
    rv_optim_free(m.opt);

    model other;
    model_init(&other, "sgd(lr=0.01, momentum=0.9)");
    CHECK_STATUS(rv_checkpoint_load(other.opt, FILE_A, NULL, NULL), RV_ERR_MISMATCH);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': saved by optimizer 'adam', this optimizer is 'sgd'");
    rv_optim_free(other.opt);

    rv_optim *opt;
    float p[6] = {0}, g[6] = {0};
    rv_optim_create_spec(&opt, "adam(lr=0.01)");
    rv_optim_add_group_spec(opt, "lr=0.003", NULL);
    rv_optim_add_param(opt, 0, "w", p, g, 6, NULL);
    rv_optim_add_param(opt, 1, "b", p, g, 3, NULL);
    rv_optim_add_param(opt, 0, NULL, p, g, 4, NULL);
    CHECK_STATUS(rv_checkpoint_load(opt, FILE_A, NULL, NULL), RV_ERR_MISMATCH);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': tensor 'w' has 5 elements, the optimizer's has 6");
    CHECK(p[0] == 0.0f && rv_optim_step_count(opt) == 0);
    rv_optim_free(opt);

    rv_optim_create_spec(&opt, "adam(lr=0.01)");
    rv_optim_add_group_spec(opt, "lr=0.003", NULL);
    rv_optim_add_param(opt, 0, "w", p, g, 5, NULL);
    rv_optim_add_param(opt, 1, "bias", p, g, 3, NULL);
    rv_optim_add_param(opt, 0, NULL, p, g, 4, NULL);
    CHECK_STATUS(rv_checkpoint_load(opt, FILE_A, NULL, NULL), RV_ERR_MISMATCH);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': has no tensor 'bias' (the optimizer's tensor 1)");
    rv_optim_free(opt);

    rv_optim_create_spec(&opt, "adam(lr=0.01)");
    rv_optim_add_param(opt, 0, "w", p, g, 5, NULL);
    CHECK_STATUS(rv_checkpoint_load(opt, FILE_A, NULL, NULL), RV_ERR_MISMATCH);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': has 2 param groups, the optimizer 1");
    rv_optim_free(opt);

    rv_optim_create_spec(&opt, "adam(lr=0.01)");
    rv_optim_add_group_spec(opt, "lr=0.003", NULL);
    rv_optim_add_param(opt, 0, "w", p, g, 5, NULL);
    rv_optim_add_param(opt, 1, "b", p, g, 3, NULL);
    rv_optim_add_param(opt, 0, "w", p, g, 5, NULL);
    CHECK_STATUS(rv_checkpoint_load(opt, FILE_A, NULL, NULL), RV_ERR_MISMATCH);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': the optimizer has two tensors named 'w'");
    rv_optim_free(opt);

    /* hyperparameters: restored like torch by default, kept on request */
    model restore, keep;
    model_init(&restore, "adam(lr=0.5, amsgrad=true)");
    run_steps(&restore, NULL, 0, 3);   /* 3 state buffers allocated; the file has 2 */
    CHECK_STATUS(rv_checkpoint_load(restore.opt, FILE_A, NULL, NULL), RV_OK);
    model same_run;
    model_init(&same_run, "adam(lr=0.01)");
    run_steps(&same_run, NULL, 0, 2);
    CHECK(same_bits(&restore, &same_run));
    rv_optim_free(same_run.opt);
    rv_hparams h;
    rv_optim_group_hparams(restore.opt, 0, &h);
    CHECK(h.lr == 0.01 && !h.amsgrad);
    rv_optim_group_hparams(restore.opt, 1, &h);
    CHECK(h.lr == 0.003);
    rv_optim_free(restore.opt);

    rv_checkpoint_options keep_opts = {.keep_hparams = 1};
    model_init(&keep, "adam(lr=0.5)");
    CHECK_STATUS(rv_checkpoint_load(keep.opt, FILE_A, &keep_opts, NULL), RV_OK);
    rv_optim_group_hparams(keep.opt, 0, &h);
    CHECK(h.lr == 0.5 && rv_optim_step_count(keep.opt) == 2);
    rv_optim_free(keep.opt);
    model_init(&keep, "adam(lr=0.5, amsgrad=true)");
    CHECK_STATUS(rv_checkpoint_load(keep.opt, FILE_A, &keep_opts, NULL), RV_ERR_MISMATCH);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': tensor 'w' has state buffers exp_avg, exp_avg_sq; "
                           "this optimizer's hyperparameters use exp_avg, exp_avg_sq, max_exp_avg_sq");
    rv_optim_free(keep.opt);
}

/* ---- saving ----------------------------------------------------------- */

static size_t fail_after;
static ssize_t failing_write(int fd, const void *buf, size_t n)
{
    if (n > fail_after)
        n = fail_after;
    if (!n) {
        errno = ENOSPC;
        return -1;
    }
    fail_after -= n;
    return write(fd, buf, n);
}

static void failed_save_keeps_old_file(void)
{
    model m;
    model_init(&m, "adamw(lr=0.01)");
    run_steps(&m, NULL, 0, 3);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_OK);
    blob before = slurp(FILE_A);
    run_steps(&m, NULL, 3, 6);
    size_t points[] = {0, 5, 8, 100, before.n - 1};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        fail_after = points[i];
        rv_checkpoint_write_fn = failing_write;
        CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_ERR_IO);
        rv_checkpoint_write_fn = write;
        CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': write failed: No space left on device; the old "
                               "file is unchanged");
        blob after = slurp(FILE_A);
        CHECK(after.n == before.n && !memcmp(after.b, before.b, before.n));
        free(after.b);
        CHECK(!temp_files_left_of(FILE_A));
    }
    /* a folder that does not exist */
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, "no-such-folder/x.safetensors"), RV_ERR_IO);
    CHECK_STR(rv_errmsg(), "checkpoint 'no-such-folder/x.safetensors': cannot create a temporary file in "
                           "'no-such-folder': No such file or directory");
    /* the next good save replaces the file */
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_OK);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(FILE_A, &info), RV_OK);
    CHECK(info.step == 6);
    rv_checkpoint_info_free(&info);
    free(before.b);
    rv_optim_free(m.opt);
}

static void bad_saves(void)
{
    rv_optim *opt;
    float p[2] = {1, 2}, g[2] = {0};
    rv_optim_create_spec(&opt, "sgd");
    rv_optim_add_param(opt, 0, "x", p, g, 2, NULL);
    rv_optim_add_param(opt, 0, "x", p, g, 2, NULL);
    CHECK_STATUS(rv_checkpoint_save(opt, NULL, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': tensors 0 and 1 are both named 'x'; checkpoints need "
                           "unique names");
    rv_optim_free(opt);
    rv_optim_create_spec(&opt, "sgd");
    rv_optim_add_param(opt, 0, "bad\xff", p, g, 2, NULL);
    CHECK_STATUS(rv_checkpoint_save(opt, NULL, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': tensor 0's name is not valid UTF-8, which safetensors "
                           "headers require");
    rv_optim_free(opt);
    /* names with quotes, backslashes, slashes and UTF-8 round-trip */
    rv_optim_create_spec(&opt, "sgd(lr=0.5, momentum=0.9)");
    rv_optim_add_param(opt, 0, "layer\"1\"/w\\\xc3\xa9", p, g, 2, NULL);
    g[0] = 1;
    rv_optim_step(opt);
    CHECK_STATUS(rv_checkpoint_save(opt, "sgd_is_not_a_schedule", FILE_A), RV_ERR_SPEC_UNKNOWN_NAME);
    CHECK_STATUS(rv_checkpoint_save(opt, NULL, FILE_A), RV_OK);
    float q[2] = {0}, h[2] = {0};
    rv_optim *back;
    rv_optim_create_spec(&back, "sgd(lr=0.5, momentum=0.9)");
    rv_optim_add_param(back, 0, "layer\"1\"/w\\\xc3\xa9", q, h, 2, NULL);
    CHECK_STATUS(rv_checkpoint_load(back, FILE_A, NULL, NULL), RV_OK);
    CHECK(q[0] == p[0] && q[1] == p[1]);
    rv_optim_free(back);
    CHECK_STATUS(rv_checkpoint_save(NULL, NULL, FILE_A), RV_ERR_NULL);
    CHECK_STATUS(rv_checkpoint_save(opt, NULL, ""), RV_ERR_ARG);
    rv_optim_free(opt);
}

/* Empty tensors and an optimizer without tensors round-trip too. */
static void empty_tensors(void)
{
    rv_optim *opt, *back;
    float p[3] = {1, 2, 3}, g[3] = {0.5f, -1, 2}, q[3] = {0}, h[3] = {0};
    rv_optim_create_spec(&opt, "adam(lr=0.1)");
    rv_optim_add_param(opt, 0, "empty", NULL, NULL, 0, NULL);
    rv_optim_add_param(opt, 0, "x", p, g, 3, NULL);
    rv_optim_step(opt);
    rv_optim_step(opt);
    CHECK_STATUS(rv_checkpoint_save(opt, NULL, FILE_A), RV_OK);
    rv_optim_create_spec(&back, "adam(lr=0.1)");
    rv_optim_add_param(back, 0, "empty", NULL, NULL, 0, NULL);
    rv_optim_add_param(back, 0, "x", q, h, 3, NULL);
    CHECK_STATUS(rv_checkpoint_load(back, FILE_A, NULL, NULL), RV_OK);
    CHECK(!memcmp(p, q, sizeof p));
    memcpy(h, g, sizeof g);
    rv_optim_step(opt);
    rv_optim_step(back);
    CHECK(!memcmp(p, q, sizeof p));
    rv_optim_free(opt);
    rv_optim_free(back);

    rv_optim_create_spec(&opt, "sgd");
    CHECK_STATUS(rv_checkpoint_save(opt, "constant(lr=0.5)", FILE_A), RV_OK);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_load(opt, FILE_A, NULL, &info), RV_OK);
    CHECK(info.n_params == 0 && info.numel == 0 && info.n_groups == 1);
    CHECK_STR(info.schedule, "constant(lr=0.5)");
    rv_checkpoint_info_free(&info);
    rv_optim_free(opt);
}

/* The caller's own entries travel with the file and are checked on save. */
static void extra_entries(void)
{
    model m;
    model_init(&m, "sgd(lr=0.1, momentum=0.9)");
    run_steps(&m, NULL, 0, 2);
    const rv_checkpoint_extra extra[] = {{"data/seed", "42"}, {"note", "caf\xc3\xa9 \"quoted\"\n"}};
    CHECK_STATUS(rv_checkpoint_save_extra(m.opt, NULL, 2, extra, 2, FILE_A), RV_OK);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(FILE_A, &info), RV_OK);
    CHECK(info.n_extra == 2);
    CHECK_STR(rv_checkpoint_extra_value(&info, "data/seed"), "42");
    CHECK_STR(rv_checkpoint_extra_value(&info, "note"), "caf\xc3\xa9 \"quoted\"\n");
    CHECK(rv_checkpoint_extra_value(&info, "missing") == NULL);
    rv_checkpoint_info_free(&info);
    rv_checkpoint_info_free(&info);   /* twice is fine */
    CHECK(info.extra == NULL && info.n_extra == 0);
    /* a file without entries has none */
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_OK);
    CHECK_STATUS(rv_checkpoint_load(m.opt, FILE_A, NULL, &info), RV_OK);
    CHECK(info.n_extra == 0 && rv_checkpoint_extra_value(&info, "data/seed") == NULL);
    rv_checkpoint_info_free(&info);
    const rv_checkpoint_extra twice[] = {{"k", "1"}, {"k", "2"}};
    CHECK_STATUS(rv_checkpoint_save_extra(m.opt, NULL, 2, twice, 2, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': two extra entries have the same key");
    const rv_checkpoint_extra empty[] = {{"", "1"}};
    CHECK_STATUS(rv_checkpoint_save_extra(m.opt, NULL, 2, empty, 1, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': extra entry 0's key is empty");
    const rv_checkpoint_extra bad[] = {{"k", "\xff"}};
    CHECK_STATUS(rv_checkpoint_save_extra(m.opt, NULL, 2, bad, 1, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': extra entry 0's value is not valid UTF-8");
    CHECK_STATUS(rv_checkpoint_save_extra(m.opt, NULL, 2, NULL, 1, FILE_A), RV_ERR_NULL);
    rv_optim_free(m.opt);
}

static int no_fsync(int fd)
{
    (void)fd;
    return 0;
}

int main(void)
{
    failed_save_keeps_old_file();   /* with real fsyncs */
    rv_checkpoint_fsync_fn = no_fsync;   /* the disk's speed is not under test below */
    resume_is_bit_identical();
    independent_reader();
    truncations();
    flips();
    hostile_headers();
    mismatches();
    bad_saves();
    empty_tensors();
    extra_entries();
    remove(FILE_A);
    remove(FILE_B);
    return check_summary("checkpoint");
}
