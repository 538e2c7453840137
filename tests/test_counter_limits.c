/* Counters at the end of their range. A checkpoint's step counts are whole
   numbers up to 2^53: a file claiming INT64_MAX steps (whose next step
   would overflow, wrap negative and turn bias corrections into NaN) is
   refused on load, a run at 2^53 loads and steps on with finite values
   and saves a file that loads again, and a save whose counters a load
   would refuse is refused itself, so no unloadable file is ever written. */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

#define FILE_A "test_counter_limits_a.safetensors"
#define FILE_B "test_counter_limits_b.safetensors"
#include "checkpoint_kit.h"

#define MAX_STEP 9007199254740992L   /* 2^53 */

static void refused_on_load(void)
{
    blob x = saved_file();   /* 5 steps */
    static const struct {
        const char *from, *to, *key;
    } cases[] = {
        {"\"step\":\"5\"", "\"step\":\"9223372036854775807\"", "step"},
        {"\"step\":\"5\"", "\"step\":\"9007199254740993\"", "step"},
        {"\"step\":\"5\"", "\"step\":\"99999999999999999999999\"", "step"},
        {"\"param/w/step\":\"5\"", "\"param/w/step\":\"9223372036854775807\"", "param/w/step"},
        {"\"skipped\":\"0\"", "\"skipped\":\"9223372036854775807\"", "skipped"},
        {"\"schedule_step\":\"5\"", "\"schedule_step\":\"18446744073709551615\"", "schedule_step"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        blob y = rewrite(&x, cases[i].from, cases[i].to);
        char want[512];
        const char *value = strchr(cases[i].to + 1, ':') + 2;
        snprintf(want, sizeof want,
                 "checkpoint '" FILE_B "': metadata '%s' = '%.*s' is not a whole number in [0, "
                 "9007199254740992]",
                 cases[i].key, (int)(strlen(value) - 1), value);
        refuse(y.b, y.n, RV_ERR_FORMAT, want, cases[i].to);
        free(y.b);
    }
    free(x.b);
}

/* 2^53 itself: loads, steps on finitely, saves, loads again. */
static void at_the_limit(void)
{
    blob x = saved_file();
    blob y = rewrite(&x, "\"step\":\"5\"", "\"step\":\"9007199254740992\"");
    blob z = rewrite(&y, "\"param/w/step\":\"5\"", "\"param/w/step\":\"9007199254740992\"");
    free(y.b);
    y = rewrite(&z, "\"schedule_step\":\"5\"", "\"schedule_step\":\"9007199254740992\"");
    spit(FILE_B, y.b, y.n);
    model m;
    model_init(&m, "adam(lr=0.01)");
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_load(m.opt, FILE_B, NULL, &info), RV_OK);
    CHECK(info.step == MAX_STEP && info.schedule_step == MAX_STEP);
    rv_checkpoint_info_free(&info);
    rv_schedule *sched;
    CHECK_STATUS(rv_schedule_parse("cosine_restarts(lr=0.01, t_0=7, t_mult=2)", &sched), RV_OK);
    run_steps(&m, sched, MAX_STEP, MAX_STEP + 10);
    rv_param_view v;
    rv_optim_param_view(m.opt, 0, &v);
    CHECK(v.step == MAX_STEP + 10);
    int finite = 1;
    for (size_t t = 0; t < 3; t++) {
        rv_optim_param_view(m.opt, t, &v);
        for (size_t i = 0; i < v.n; i++) {
            finite &= isfinite(v.param[i]);
            for (size_t k = 0; k < v.n_state; k++)
                finite &= isfinite(v.state[k][i]);
        }
    }
    CHECK(finite);
    CHECK(isfinite(rv_schedule_lr(sched, MAX_STEP + 10)) && rv_schedule_lr(sched, MAX_STEP + 10) >= 0);
    /* past 2^53 now: the save says so instead of writing a file no load accepts */
    remove(FILE_A);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': the step count 9007199254741002 (skipped 0) is past 2^53");
    CHECK_STATUS(rv_optim_set_step_count(m.opt, 12), RV_OK);   /* one tensor's own count */
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': tensor 0's step count 9007199254741002 is past 2^53");
    FILE *f = fopen(FILE_A, "rb");
    CHECK(f == NULL);
    if (f)
        fclose(f);
    rv_optim_free(m.opt);
    rv_schedule_free(sched);
    free(x.b);
    free(y.b);
    free(z.b);

    /* at exactly 2^53 the save is fine and loads back */
    model_init(&m, "sgd(lr=0.1, momentum=0.9)");
    run_steps(&m, NULL, 0, 1);
    for (size_t t = 0; t < 3; t++)
        CHECK_STATUS(rv_optim_set_param_step(m.opt, t, MAX_STEP), RV_OK);
    CHECK_STATUS(rv_optim_set_step_count(m.opt, MAX_STEP), RV_OK);
    CHECK_STATUS(rv_checkpoint_save_at(m.opt, "constant(lr=0.1)", MAX_STEP, FILE_A), RV_OK);
    model back;
    model_init(&back, "sgd(lr=0.1, momentum=0.9)");
    CHECK_STATUS(rv_checkpoint_load(back.opt, FILE_A, NULL, NULL), RV_OK);
    CHECK(same_bits(&m, &back));
    /* the global count, the skipped count and the schedule position are bounded alike */
    CHECK_STATUS(rv_optim_set_step_count(m.opt, MAX_STEP + 1), RV_OK);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': the step count 9007199254740993 (skipped 0) is past 2^53");
    CHECK_STATUS(rv_optim_set_step_count(m.opt, 1), RV_OK);
    CHECK_STATUS(rv_checkpoint_save_at(m.opt, NULL, MAX_STEP + 1, FILE_A), RV_ERR_ARG);
    CHECK_STR(rv_errmsg(), "checkpoint '" FILE_A "': schedule_step must be in [0, 2^53], got 9007199254740993");
    CHECK_STATUS(rv_checkpoint_save_at(m.opt, NULL, -1, FILE_A), RV_ERR_ARG);
    rv_optim_free(m.opt);
    rv_optim_free(back.opt);
}

int main(void)
{
    refused_on_load();
    at_the_limit();
    remove(FILE_A);
    remove(FILE_B);
    return check_summary("counter_limits");
}
