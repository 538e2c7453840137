/* libFuzzer target: the spec-string parser and everything built on it
   (optimizer specs, group overrides, schedules, surfaces with expr()
   formulas), on inputs up to thousands of bytes. Any input must give RV_OK
   or an error with a message; never a crash, a sanitizer report or a leak.
   Beyond that: every canonical text parses back to the same object (the
   same values at the same points), whatever its length. */
#include "ravine/ravine.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_number(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static void optimizer(const char *text)
{
    rv_optim *opt;
    if (rv_optim_create_spec(&opt, text) != RV_OK)
        return;
    rv_hparams h;
    rv_optim_group_hparams(opt, 0, &h);
    size_t need = rv_hparams_format(rv_optim_get_type(opt), &h, NULL, 0);
    char *buf = malloc(need + 1);
    if (!buf || rv_hparams_format(rv_optim_get_type(opt), &h, buf, need + 1) != need)
        __builtin_trap();
    /* the canonical spec parses back to the same algorithm */
    rv_optim *again;
    if (rv_optim_create_spec(&again, buf) != RV_OK)
        __builtin_trap();
    rv_optim_free(again);
    free(buf);
    rv_optim_add_group_spec(opt, text, NULL);   /* the text as overrides too */
    rv_optim_free(opt);
}

static void schedule(const char *text)
{
    rv_schedule *s, *back;
    if (rv_schedule_parse(text, &s) != RV_OK)
        return;
    const char *canon = rv_schedule_text(s);
    char small[8];
    if (rv_schedule_format(s, small, sizeof small) != strlen(canon))
        __builtin_trap();
    if (rv_schedule_parse(canon, &back) != RV_OK)
        __builtin_trap();   /* a canonical spec that does not read back */
    if (strcmp(rv_schedule_text(back), canon))
        __builtin_trap();
    const long ts[] = {0, 1, 7, 100, 12345, 1L << 40, 9007199254740992L};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
        if (!same_number(rv_schedule_lr(s, ts[i]), rv_schedule_lr(back, ts[i])))
            __builtin_trap();
    rv_schedule_free(back);
    rv_schedule_free(s);
}

static void surface(const char *text)
{
    rv_surface *s, *back;
    if (rv_surface_parse(text, &s) != RV_OK)
        return;
    size_t need = rv_surface_format(s, NULL, 0);
    char *canon = malloc(need + 1);
    if (!canon)
        __builtin_trap();
    rv_surface_format(s, canon, need + 1);
    if (rv_surface_parse(canon, &back) != RV_OK)
        __builtin_trap();
    const double pts[][2] = {{0, 0}, {1, -1}, {-4, 1}, {0.5, 2}, {1e3, -1e3}};
    for (size_t i = 0; i < sizeof pts / sizeof *pts; i++) {
        double f1 = NAN, f2 = NAN, g1[2], g2[2], h1[4], h2[4];
        rv_status a = rv_surface_eval(s, pts[i], &f1, g1, h1);
        rv_status b = rv_surface_eval(back, pts[i], &f2, g2, h2);
        if (a != b || (!a && !same_number(f1, f2)))
            __builtin_trap();
    }
    free(canon);
    rv_surface_free(back);
    rv_surface_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';   /* specs are C strings: an embedded NUL ends them */

    rv_spec spec;
    if (rv_spec_parse(text, &spec) == RV_OK)
        rv_spec_free(&spec);
    else if (!rv_errmsg()[0])
        __builtin_trap();   /* every failure explains itself */
    optimizer(text);
    schedule(text);
    surface(text);
    free(text);
    return 0;
}
