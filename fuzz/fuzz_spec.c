/* libFuzzer target: the spec-string parser and everything built on it
   (optimizer specs, group overrides, schedules). Any input must give RV_OK
   or an error with a message; never a crash, a sanitizer report or a leak. */
#include "ravine/ravine.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

    rv_optim *opt;
    if (rv_optim_create_spec(&opt, text) == RV_OK) {
        char buf[1024];
        rv_hparams h;
        rv_optim_group_hparams(opt, 0, &h);
        size_t need = rv_hparams_format(rv_optim_get_type(opt), &h, buf, sizeof buf);
        if (need >= sizeof buf)
            __builtin_trap();
        /* the canonical spec parses back to the same algorithm */
        rv_optim *again;
        if (rv_optim_create_spec(&again, buf) != RV_OK)
            __builtin_trap();
        rv_optim_free(again);
        rv_optim_add_group_spec(opt, text, NULL);   /* the text as overrides too */
        rv_optim_free(opt);
    }

    rv_schedule *s;
    if (rv_schedule_parse(text, &s) == RV_OK) {
        char buf[2048];
        rv_schedule_format(s, buf, sizeof buf);
        const long ts[] = {0, 1, 7, 100, 12345, 1L << 40};
        for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) {
            double lr = rv_schedule_lr(s, ts[i]);
            (void)lr;
        }
        rv_schedule_free(s);
    }
    free(text);
    return 0;
}
