/* No fixed text limit loses data: canonical schedule and surface specs of
   any length are kept whole (and a checkpoint stores and returns them
   whole); an error message about a long spec keeps its reason and says how
   much of the echo it left out, cutting only between UTF-8 characters. */
#include "ravine/ravine.h"
#include "checkpoint/internal.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

#define FILE_A "test_no_cut_text_a.safetensors"

static int valid_utf8(const char *s)
{
    return rv_checkpoint_valid_utf8(s);
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

/* A schedule spec of about 4 KB. */
static char *long_schedule(void)
{
    char *s = malloc(8192), *p = s;
    p += sprintf(p, "then(first=multistep(lr=0.1, milestones=(");
    for (int i = 0; i < 64; i++)
        p += sprintf(p, "%s%d", i ? "," : "", 100000 + 1000 * i);
    p += sprintf(p, "), gamma=0.12345678901234567), second=product(of=(");
    for (int i = 0; i < 16; i++)
        p += sprintf(p, "%scosine_restarts(lr=0.%d, t_0=%d, t_mult=2, eta_min=0.000%d, m_mul=0.9%d)",
                     i ? ", " : "", i + 1, 10 + i, i + 1, i);
    p += sprintf(p, ")), at=50)");
    return s;
}

static void schedules_in_checkpoints(void)
{
    char *spec = long_schedule();
    rv_schedule *s;
    CHECK_STATUS(rv_schedule_parse(spec, &s), RV_OK);
    const char *canon = rv_schedule_text(s);
    CHECK(strlen(canon) > 1500);
    float p[3] = {1, 2, 3}, g[3] = {0};
    rv_optim *opt;
    rv_optim_create_spec(&opt, "adam(lr=0.1)");
    rv_optim_add_param(opt, 0, "w", p, g, 3, NULL);
    CHECK_STATUS(rv_checkpoint_save(opt, spec, FILE_A), RV_OK);
    rv_checkpoint_info info;
    CHECK_STATUS(rv_checkpoint_inspect(FILE_A, &info), RV_OK);
    CHECK_STR(info.schedule, canon);   /* whole, not cut at 1,024 bytes */
    rv_schedule *back;
    CHECK_STATUS(rv_schedule_parse(info.schedule, &back), RV_OK);
    for (long t = 0; t < 300000; t += 997)
        CHECK(rv_schedule_lr(s, t) == rv_schedule_lr(back, t));
    rv_checkpoint_info_free(&info);
    rv_schedule_free(back);
    rv_schedule_free(s);
    rv_optim_free(opt);
    free(spec);
}

static void long_messages(void)
{
    /* a fault at the end of a 4 KB schedule: the reason survives */
    char *spec = long_schedule();
    char *bad = malloc(strlen(spec) + 8);
    strcpy(bad, spec);
    strcpy(strstr(bad, "at=50"), "at=-50)");
    rv_schedule *s;
    CHECK_STATUS(rv_schedule_parse(bad, &s), RV_ERR_SCHED_JOIN);
    const char *msg = rv_errmsg();
    CHECK(strlen(msg) < 1024);
    CHECK(!strncmp(msg, "spec 'then(first=multistep(lr=0.1,milestones=(100000,", 53));
    CHECK_MSG(ends_with(msg, ",at=-50)': at=-50: must be >= 0"), "%s", msg);
    CHECK(strstr(msg, " bytes left out ...] ") != NULL);
    free(bad);
    free(spec);
    /* the same through an optimizer spec */
    char *opt_spec = malloc(20000), *p = opt_spec;
    p += sprintf(p, "adam(lr=0.1, betas=(");
    for (int i = 0; i < 3000; i++)
        p += sprintf(p, "%s0.9", i ? "," : "");
    strcpy(p, "))");
    rv_optim *opt;
    CHECK_STATUS(rv_optim_create_spec(&opt, opt_spec), RV_ERR_SPEC_TYPE);
    CHECK_MSG(ends_with(rv_errmsg(), "0.9,0.9): expected a tuple of 2 numbers"), "%s", rv_errmsg());
    CHECK(strlen(rv_errmsg()) < 1024);
    free(opt_spec);
    /* the cut falls between UTF-8 characters */
    char *wide = malloc(8000);
    p = wide;
    p += sprintf(p, "cosine(lr=1, t_max=10, note=");
    for (int i = 0; i < 1500; i++)
        p += sprintf(p, "\xc3\xa9");
    strcpy(p, ")");
    CHECK_STATUS(rv_schedule_parse(wide, &s), RV_ERR_SPEC_SYNTAX);
    CHECK(valid_utf8(rv_errmsg()));
    free(wide);
    char *words = malloc(8000);
    p = words;
    p += sprintf(p, "cosine(lr=1, t_max=10, note=");
    for (int i = 0; i < 1500; i++)
        p += sprintf(p, "word");
    strcpy(p, ")");
    CHECK_STATUS(rv_schedule_parse(words, &s), RV_ERR_SPEC_UNKNOWN_KEY);
    CHECK_MSG(ends_with(rv_errmsg(), "unknown key 'note' for cosine (valid keys: lr, t_max, eta_min, exponent)"),
              "%s", rv_errmsg());
    free(words);
}

/* A surface's canonical spec is as long as its formula needs. */
static void long_surfaces(void)
{
    char f[1100] = "";
    for (int i = 0; i < 35; i++)   /* 35 terms of 6 nodes: within the 256 a formula may have */
        snprintf(f + strlen(f), sizeof f - strlen(f), "%s0.12345678901234%d*x^2", i ? "+" : "", i % 10);
    strcat(f, "+y^2");
    char spec[1200];
    snprintf(spec, sizeof spec, "expr(f=\"%s\")", f);
    rv_surface *s;
    CHECK_STATUS(rv_surface_parse(spec, &s), RV_OK);
    size_t need = rv_surface_format(s, NULL, 0);
    CHECK(need == strlen(spec) && need > 512);
    char *back = malloc(need + 1);
    rv_surface_format(s, back, need + 1);
    CHECK_STR(back, spec);
    free(back);
    rv_surface_free(s);
}

int main(void)
{
    schedules_in_checkpoints();
    long_messages();
    long_surfaces();
    remove(FILE_A);
    return check_summary("no_cut_text");
}
