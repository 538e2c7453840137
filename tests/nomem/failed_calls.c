/* A failed call changes nothing, also when memory runs out half-way: each
   call below is repeated with its 1st, 2nd, 3rd, ... allocation failing
   until it needs no more, and every failure must be RV_ERR_NOMEM with a
   message saying so (never "empty" or "not valid JSON"), leave the
   optimizer bit for bit as it was, leave a saved file as it was (and no
   temporary file), and leave outputs unset. */
#include "ravine/ravine.h"
#include "check.h"
#include "nomem/failing_alloc.h"

#include <dirent.h>
#include <stdio.h>

#define FILE_A "nomem_failed_calls_a.safetensors"
#define FILE_B "nomem_failed_calls_b.safetensors"
#include "checkpoint_kit.h"

static int says_out_of_memory(rv_status s)
{
    return s == RV_ERR_NOMEM && strstr(rv_errmsg(), "out of memory") != NULL;
}

/* Load a file saved by `saved` into an optimizer built from `into` with
   2 steps of state, failing each allocation in turn. */
static void load(const char *saved, const char *into, int keep_hparams, const char *what)
{
    model src;
    model_init(&src, saved);
    run_steps(&src, NULL, 0, 3);
    CHECK_STATUS(rv_checkpoint_save(src.opt, "warmup_cosine(peak=0.1, warmup_steps=2, decay_steps=9)",
                                    FILE_A),
                 RV_OK);
    rv_optim_free(src.opt);
    rv_checkpoint_options o = {keep_hparams};
    long k = 1, failures = 0;
    for (;; k++) {
        model m, ref;
        model_init(&m, into);
        model_init(&ref, into);
        run_steps(&m, NULL, 0, 2);
        run_steps(&ref, NULL, 0, 2);
        rv_checkpoint_info info = {0};
        nomem_arm(k);
        rv_status s = rv_checkpoint_load(m.opt, FILE_A, &o, &info);
        nomem_off();
        int failed = nomem_failures > 0;
        if (failed) {
            failures++;
            CHECK_MSG(says_out_of_memory(s), "%s, allocation %ld: %d (%s)", what, k, (int)s, rv_errmsg());
            CHECK_MSG(same_bits(&m, &ref), "%s: allocation %ld failing changed the optimizer", what, k);
            CHECK(info.optimizer == NULL && info.schedule == NULL);
        } else {
            CHECK_MSG(s == RV_OK, "%s: %s", what, rv_errmsg());
            CHECK(rv_optim_step_count(m.opt) == 3 && info.schedule && info.schedule[0]);
            rv_checkpoint_info_free(&info);
        }
        rv_optim_free(m.opt);
        rv_optim_free(ref.opt);
        if (!failed)
            break;
    }
    CHECK_MSG(failures > 10, "%s: only %ld allocations tried", what, failures);
    printf("load %s: %ld allocation failures, each refused, optimizer unchanged\n", what, failures);
}

static void save(void)
{
    model m;
    model_init(&m, "adamw(lr=0.01, amsgrad=true)");
    run_steps(&m, NULL, 0, 2);
    CHECK_STATUS(rv_checkpoint_save(m.opt, NULL, FILE_B), RV_OK);
    blob before = slurp(FILE_B);
    run_steps(&m, NULL, 2, 4);
    long k = 1;
    for (;; k++) {
        nomem_arm(k);
        rv_status s = rv_checkpoint_save(m.opt, "product(of=(constant(lr=0.1), cosine(lr=1, t_max=9)))",
                                         FILE_B);
        nomem_off();
        if (!nomem_failures) {
            CHECK_STATUS(s, RV_OK);
            break;
        }
        CHECK_MSG(says_out_of_memory(s), "save, allocation %ld: %d (%s)", k, (int)s, rv_errmsg());
        blob after = slurp(FILE_B);
        CHECK_MSG(after.n == before.n && !memcmp(after.b, before.b, before.n),
                  "save, allocation %ld: the old file changed", k);
        free(after.b);
        CHECK(!temp_files_left_of(FILE_B));
    }
    printf("save: %ld allocation failures, old file kept each time\n", k - 1);
    free(before.b);
    rv_optim_free(m.opt);
}

static void parsers(void)
{
    const char *sched = "product(of=(then(first=linear(lr=1, start_factor=0.1, total_iters=5), "
                        "second=multistep(lr=1, milestones=(10, 20, 30)), at=5), "
                        "cyclic(base_lr=0.1, max_lr=1, step_size_up=4)))";
    long k = 1;
    for (;; k++) {
        rv_schedule *s = (rv_schedule *)&k;
        nomem_arm(k);
        rv_status st = rv_schedule_parse(sched, &s);
        nomem_off();
        if (!nomem_failures) {
            CHECK_STATUS(st, RV_OK);
            rv_schedule_free(s);
            break;
        }
        CHECK_MSG(says_out_of_memory(st), "schedule, allocation %ld: %s", k, rv_errmsg());
        CHECK(s == NULL);
    }
    for (k = 1;; k++) {
        rv_surface *s = (rv_surface *)&k;
        nomem_arm(k);
        rv_status st = rv_surface_parse("expr(f=\"sin(x)*exp(y) + x^2\")", &s);
        nomem_off();
        if (!nomem_failures) {
            CHECK_STATUS(st, RV_OK);
            rv_surface_free(s);
            break;
        }
        CHECK_MSG(says_out_of_memory(st), "surface, allocation %ld: %s", k, rv_errmsg());
    }
    double loss[64];
    for (int i = 0; i < 64; i++)
        loss[i] = 2.0 * pow(0.97, i) + 0.01 * (i % 3);
    for (k = 1;; k++) {
        rv_diagnosis d;
        memset(&d, 0x5A, sizeof d);
        nomem_arm(k);
        rv_status st = rv_diagnose(loss, NULL, 64, &d);
        nomem_off();
        if (!nomem_failures) {
            CHECK_STATUS(st, RV_OK);
            break;
        }
        CHECK_MSG(says_out_of_memory(st), "diagnose, allocation %ld: %s", k, rv_errmsg());
        unsigned char untouched[sizeof d];
        memset(untouched, 0x5A, sizeof untouched);
        CHECK(!memcmp(&d, untouched, sizeof d));
    }
}

int main(void)
{
    load("adam(lr=0.01)", "adam(lr=0.5)", 0, "into the same layout");
    /* the file has 2 state buffers, the optimizer 3: its state is rebuilt */
    load("adam(lr=0.01)", "adam(lr=0.5, amsgrad=true)", 0, "rebuilding the state");
    load("rmsprop(lr=0.01, momentum=0.9)", "rmsprop(lr=0.01, momentum=0.9)", 1, "keeping hyperparameters");
    /* int8 state (codes and scales) rebuilt as bf16; scalars and float32 state put back */
    load("adam(lr=0.01, state=int8)", "adam(lr=0.5, state=bf16)", 0, "another precision");
    load("nadam(lr=0.01, state=bf16)", "nadam(lr=0.5)", 0, "scalars, another precision");
    load("sfadamw(lr=0.01)", "sfadamw(lr=0.1, state=int8)", 0, "schedule-free");
    save();
    parsers();
    remove(FILE_A);
    remove(FILE_B);
    return check_summary("failed_calls");
}
