/* Schedules: hand-computed values, joins, canonical forms and every error path. */
#include "ravine/ravine.h"
#include "check.h"

static double lr_at(const char *spec, long t)
{
    rv_schedule *s;
    rv_status st = rv_schedule_parse(spec, &s);
    CHECK_MSG(st == RV_OK, "%s: %s", spec, rv_errmsg());
    if (st)
        return NAN;
    double v = rv_schedule_lr(s, t);
    rv_schedule_free(s);
    return v;
}

static void values(void)
{
    CHECK_NEAR(lr_at("constant(lr=0.3)", 1000), 0.3, 0);
    /* StepLR: 0.1 * 0.5^floor(t/3) */
    CHECK_NEAR(lr_at("step(lr=0.1, step_size=3, gamma=0.5)", 2), 0.1, 1e-15);
    CHECK_NEAR(lr_at("step(lr=0.1, step_size=3, gamma=0.5)", 3), 0.05, 1e-15);
    CHECK_NEAR(lr_at("step(lr=0.1, step_size=3, gamma=0.5)", 7), 0.025, 1e-15);
    CHECK_NEAR(lr_at("step(lr=1, step_size=10)", 25), 0.01, 1e-15);
    /* MultiStepLR counts milestones <= t, duplicates twice */
    CHECK_NEAR(lr_at("multistep(lr=1, milestones=(2,5,5), gamma=0.1)", 1), 1, 0);
    CHECK_NEAR(lr_at("multistep(lr=1, milestones=(2,5,5), gamma=0.1)", 2), 0.1, 1e-15);
    CHECK_NEAR(lr_at("multistep(lr=1, milestones=(2,5,5), gamma=0.1)", 5), 1e-3, 1e-15);
    CHECK_NEAR(lr_at("exponential(lr=2, gamma=0.5)", 3), 0.25, 0);
    /* cosine: halfway is the mean of lr and eta_min; eta_min after t_max */
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10, eta_min=0.2)", 0), 1, 1e-15);
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10, eta_min=0.2)", 5), 0.6, 1e-15);
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10, eta_min=0.2)", 10), 0.2, 1e-15);
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10, eta_min=0.2)", 15), 0.2, 0);
    /* LinearLR defaults: 1/3 -> 1 over 5 iterations */
    CHECK_NEAR(lr_at("linear(lr=0.3)", 0), 0.1, 1e-15);
    CHECK_NEAR(lr_at("linear(lr=0.3)", 1), 0.3 * (1.0 / 3 + (2.0 / 3) / 5), 1e-15);
    CHECK_NEAR(lr_at("linear(lr=0.3)", 9), 0.3, 1e-15);
    CHECK_NEAR(lr_at("poly(lr=1, total_iters=4, power=2)", 2), 0.25, 1e-15);
    CHECK_NEAR(lr_at("poly(lr=1, total_iters=4, power=2)", 6), 0, 0);
    /* optax warmup_cosine_decay: 0 -> peak over 10 steps, cosine to end at 110 */
    CHECK_NEAR(lr_at("warmup_cosine(peak=1, warmup_steps=10, decay_steps=110)", 0), 0, 0);
    CHECK_NEAR(lr_at("warmup_cosine(peak=1, warmup_steps=10, decay_steps=110)", 5), 0.5, 1e-15);
    CHECK_NEAR(lr_at("warmup_cosine(peak=1, warmup_steps=10, decay_steps=110)", 10), 1, 1e-15);
    CHECK_NEAR(lr_at("warmup_cosine(peak=1, warmup_steps=10, decay_steps=110)", 60), 0.5, 1e-15);
    CHECK_NEAR(lr_at("warmup_cosine(peak=1, warmup_steps=10, decay_steps=110, end=0.1)", 110), 0.1,
               1e-15);
    CHECK_NEAR(lr_at("warmup_cosine(peak=1, warmup_steps=10, decay_steps=110, end=0.1)", 500), 0.1,
               1e-15);
    /* OneCycleLR: starts at max_lr/div_factor, peaks at pct_start*total - 1, ends at
       max_lr/div_factor/final_div_factor */
    CHECK_NEAR(lr_at("onecycle(max_lr=1, total_steps=100)", 0), 0.04, 1e-15);
    CHECK_NEAR(lr_at("onecycle(max_lr=1, total_steps=100)", 29), 1, 1e-15);
    CHECK_NEAR(lr_at("onecycle(max_lr=1, total_steps=100)", 99), 4e-6, 1e-15);
    CHECK_NEAR(lr_at("onecycle(max_lr=1, total_steps=100, anneal=linear)", 14), 0.04 + 0.96 * 14 / 29.0, 1e-12);
    /* warm restarts: period 10, then 20 with t_mult=2 */
    CHECK_NEAR(lr_at("cosine_restarts(lr=1, t_0=10)", 15), 0.5, 1e-15);
    CHECK_NEAR(lr_at("cosine_restarts(lr=1, t_0=10, t_mult=2)", 10), 1, 1e-15);
    CHECK_NEAR(lr_at("cosine_restarts(lr=1, t_0=10, t_mult=2)", 20), 0.5, 1e-15);
    CHECK_NEAR(lr_at("cosine_restarts(lr=1, t_0=10, t_mult=2)", 30), 1, 1e-15);
    /* wsd: warmup 10, stable 20, decay 10 to 0 */
    CHECK_NEAR(lr_at("wsd(lr=1, warmup_steps=10, stable_steps=20, decay_steps=10)", 5), 0.5, 1e-15);
    CHECK_NEAR(lr_at("wsd(lr=1, warmup_steps=10, stable_steps=20, decay_steps=10)", 29), 1, 0);
    CHECK_NEAR(lr_at("wsd(lr=1, warmup_steps=10, stable_steps=20, decay_steps=10)", 35), 0.5, 1e-15);
    CHECK_NEAR(lr_at("wsd(lr=1, warmup_steps=10, stable_steps=20, decay_steps=10, decay=sqrt)", 35),
               1 - sqrt(0.5), 1e-15);
    CHECK_NEAR(lr_at("wsd(lr=1, warmup_steps=10, stable_steps=20, decay_steps=10, end=0.1)", 40), 0.1,
               0);
    CHECK_NEAR(lr_at("inverse_sqrt(lr=1, warmup_steps=4)", 2), 0.5, 1e-15);
    CHECK_NEAR(lr_at("inverse_sqrt(lr=1, warmup_steps=4)", 16), 0.5, 1e-15);
    /* joins: linear warmup for 10 steps, then cosine from its own t = 0 */
    const char *join = "then(first=linear(lr=1, start_factor=0.1, total_iters=10), "
                       "second=cosine(lr=1, t_max=20), at=10)";
    CHECK_NEAR(lr_at(join, 0), 0.1, 1e-15);
    CHECK_NEAR(lr_at(join, 10), 1, 1e-15);
    CHECK_NEAR(lr_at(join, 20), 0.5, 1e-15);
    CHECK_NEAR(lr_at("scale(of=constant(lr=2), factor=0.25)", 3), 0.5, 0);
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10)", -5), 1, 0);
}

/* The schedules of optax, keras and torch added for their users, by hand. */
static void peers(void)
{
    /* optax polynomial_schedule: held until transition_begin, then from lr to end */
    const char *poly = "poly(lr=1, total_iters=10, power=2, end=0.1, transition_begin=5)";
    CHECK_NEAR(lr_at(poly, 0), 1, 0);
    CHECK_NEAR(lr_at(poly, 5), 1, 0);
    CHECK_NEAR(lr_at(poly, 10), 0.1 + 0.9 * 0.25, 1e-15);
    CHECK_NEAR(lr_at(poly, 15), 0.1, 1e-15);
    CHECK_NEAR(lr_at(poly, 1000), 0.1, 1e-15);
    /* optax exponential_decay: 2 * 0.5^((t - 4) / 2), floored with staircase, bounded by end */
    const char *expo = "exponential(lr=2, gamma=0.5, transition_steps=2, transition_begin=4)";
    CHECK_NEAR(lr_at(expo, 3), 2, 0);
    CHECK_NEAR(lr_at(expo, 4), 2, 0);
    CHECK_NEAR(lr_at(expo, 5), 2 * sqrt(0.5), 1e-15);
    CHECK_NEAR(lr_at(expo, 8), 0.5, 1e-15);
    CHECK_NEAR(lr_at("exponential(lr=2, gamma=0.5, transition_steps=2, staircase=true)", 3), 1, 0);
    CHECK_NEAR(lr_at("exponential(lr=2, gamma=0.5, end=0.3)", 2), 0.5, 0);
    CHECK_NEAR(lr_at("exponential(lr=2, gamma=0.5, end=0.3)", 3), 0.3, 0);
    CHECK_NEAR(lr_at("exponential(lr=1, gamma=2, end=5)", 10), 5, 0);   /* growth: an upper bound */
    /* optax cosine_decay_schedule's exponent: ((1 + cos(pi t / T)) / 2)^p */
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10, exponent=2)", 5), 0.25, 1e-15);
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10, eta_min=0.2, exponent=3)", 5), 0.2 + 0.8 / 8, 1e-15);
    CHECK_NEAR(lr_at("cosine(lr=1, t_max=10, eta_min=0.2, exponent=3)", 10), 0.2, 0);
    /* keras InverseTimeDecay: lr / (1 + rate * t / steps) */
    CHECK_NEAR(lr_at("inverse_time(lr=1, decay_steps=10, decay_rate=0.5)", 10), 1 / 1.5, 1e-15);
    CHECK_NEAR(lr_at("inverse_time(lr=1, decay_steps=10, decay_rate=0.5)", 5), 1 / 1.25, 1e-15);
    CHECK_NEAR(lr_at("inverse_time(lr=1, decay_steps=10, decay_rate=0.5, staircase=true)", 19),
               1 / 1.5, 1e-15);
    /* torch CyclicLR: 0.1 -> 1 over 4 steps, down over 6 */
    const char *tri = "cyclic(base_lr=0.1, max_lr=1, step_size_up=4, step_size_down=6)";
    CHECK_NEAR(lr_at(tri, 0), 0.1, 0);
    CHECK_NEAR(lr_at(tri, 2), 0.55, 1e-15);
    CHECK_NEAR(lr_at(tri, 4), 1, 1e-15);
    CHECK_NEAR(lr_at(tri, 7), 0.55, 1e-15);
    CHECK_NEAR(lr_at(tri, 10), 0.1, 1e-15);
    CHECK_NEAR(lr_at(tri, 14), 1, 1e-15);
    /* triangular2 halves each cycle's height; exp_range scales it by gamma^t */
    CHECK_NEAR(lr_at("cyclic(base_lr=0, max_lr=1, step_size_up=2, mode=triangular2)", 6), 0.5, 1e-15);
    CHECK_NEAR(lr_at("cyclic(base_lr=0, max_lr=1, step_size_up=2, mode=triangular2)", 10), 0.25, 1e-15);
    CHECK_NEAR(lr_at("cyclic(base_lr=0, max_lr=1, step_size_up=2, mode=exp_range, gamma=0.5)", 2),
               0.25, 1e-15);
    /* keras CosineDecayRestarts' m_mul: restart i peaks at m_mul^i */
    const char *restarts = "cosine_restarts(lr=1, t_0=10, t_mult=2, eta_min=0.1, m_mul=0.5)";
    CHECK_NEAR(lr_at(restarts, 0), 1, 0);
    CHECK_NEAR(lr_at(restarts, 10), 0.1 + 0.9 * 0.5, 1e-15);
    CHECK_NEAR(lr_at(restarts, 20), 0.1 + 0.9 * 0.25, 1e-15);
    CHECK_NEAR(lr_at(restarts, 30), 0.1 + 0.9 * 0.25, 1e-15);
    CHECK_NEAR(lr_at("cosine_restarts(lr=1, t_0=4, m_mul=0.5)", 14), 0.125 * 0.5, 1e-15);
    /* torch ChainedScheduler: the product of the schedules */
    const char *chain = "product(of=(exponential(lr=0.1, gamma=0.9), "
                        "then(first=constant(lr=0.5), second=constant(lr=1), at=3)))";
    CHECK_NEAR(lr_at(chain, 0), 0.05, 1e-15);
    CHECK_NEAR(lr_at(chain, 2), 0.05 * 0.81, 1e-15);
    CHECK_NEAR(lr_at(chain, 3), 0.1 * 0.729, 1e-15);
}

/* Canonical specs of any length are kept whole: three schedules of 64
   milestones each, joined, are over the 1,024 characters that used to cut
   them, and read back the same. */
static void long_canonical(void)
{
    char spec[2048];
    int len = snprintf(spec, sizeof spec, "multistep(lr=0.1, milestones=(");
    for (int i = 0; i < 64; i++)
        len += snprintf(spec + len, sizeof spec - (size_t)len, "%s%d", i ? "," : "", 1000 + 37 * i);
    len += snprintf(spec + len, sizeof spec - (size_t)len, "), gamma=0.12345678901234567)");
    char outer[3 * sizeof spec + 64];
    snprintf(outer, sizeof outer, "product(of=(%s, then(first=%s, second=%s, at=100)))", spec, spec,
             spec);
    rv_schedule *s, *back;
    CHECK_STATUS(rv_schedule_parse(outer, &s), RV_OK);
    const char *text = rv_schedule_text(s);
    CHECK(strlen(text) > 1024);
    char small[16];
    CHECK(rv_schedule_format(s, small, sizeof small) == strlen(text));
    CHECK(strlen(small) == sizeof small - 1 && !strncmp(small, text, sizeof small - 1));
    CHECK_STATUS(rv_schedule_parse(text, &back), RV_OK);
    CHECK_STR(rv_schedule_text(back), text);
    for (long t = 0; t < 4000; t += 37)
        CHECK(rv_schedule_lr(s, t) == rv_schedule_lr(back, t));
    rv_schedule_free(back);
    rv_schedule_free(s);
}

static void canonical(void)
{
    rv_schedule *s;
    char buf[512];
    CHECK_STATUS(rv_schedule_parse("step(lr=0.1, step_size=30)", &s), RV_OK);
    rv_schedule_format(s, buf, sizeof buf);
    CHECK_STR(buf, "step(lr=0.1,step_size=30,gamma=0.1)");
    CHECK_STR(rv_schedule_name(s), "step");
    rv_schedule_free(s);
    CHECK_STATUS(rv_schedule_parse("then(first=constant(lr=1),second=step(lr=1,step_size=2),at=5)", &s),
                 RV_OK);
    rv_schedule_format(s, buf, sizeof buf);
    CHECK_STR(buf, "then(first=constant(lr=1),second=step(lr=1,step_size=2,gamma=0.1),at=5)");
    rv_schedule_free(s);
    CHECK_STATUS(rv_schedule_parse("exponential(lr=1, gamma=0.9)", &s), RV_OK);
    CHECK_STR(rv_schedule_text(s), "exponential(lr=1,gamma=0.9,transition_steps=1,transition_begin=0,"
                                   "staircase=false,end=none)");
    rv_schedule_free(s);
    CHECK_STATUS(rv_schedule_parse("cyclic(base_lr=0.1, max_lr=1)", &s), RV_OK);
    CHECK_STR(rv_schedule_text(s), "cyclic(base_lr=0.1,max_lr=1,step_size_up=2000,step_size_down=2000,"
                                   "mode=triangular,gamma=1)");
    rv_schedule_free(s);
    CHECK_STATUS(rv_schedule_parse("product(of=(constant(lr=2), cosine(lr=1, t_max=5)))", &s), RV_OK);
    CHECK_STR(rv_schedule_text(s), "product(of=(constant(lr=2),cosine(lr=1,t_max=5,eta_min=0,exponent=1)))");
    rv_schedule_free(s);
    /* all digits survive when %.9g would round */
    CHECK_STATUS(rv_schedule_parse("step(lr=0.1234567891, step_size=1, gamma=0.9999999999)", &s), RV_OK);
    rv_schedule_format(s, buf, sizeof buf);
    CHECK_STR(buf, "step(lr=0.12345678910000001,step_size=1,gamma=0.99999999989999999)");
    double want = rv_schedule_lr(s, 1000);
    rv_schedule_free(s);
    CHECK_STATUS(rv_schedule_parse(buf, &s), RV_OK);
    CHECK(rv_schedule_lr(s, 1000) == want);
    rv_schedule_free(s);
    size_t n = 0;
    while (rv_schedule_name_at(n))
        n++;
    CHECK(n == 17);
}

static void errors(void)
{
    static const struct {
        const char *text;
        rv_status code;
        const char *msg;
    } cases[] = {
        {"cosin(lr=1, t_max=5)", RV_ERR_SPEC_UNKNOWN_NAME,
         "spec 'cosin(lr=1,t_max=5)': unknown schedule 'cosin' (did you mean 'cosine'?)"},
        {"cosine(lr=1)", RV_ERR_SPEC_MISSING_KEY, "spec 'cosine(lr=1)': cosine needs the key 't_max'"},
        {"cosine(lr=1, tmax=5)", RV_ERR_SPEC_UNKNOWN_KEY,
         "spec 'cosine(lr=1,tmax=5)': unknown key 'tmax' for cosine (did you mean 't_max'?)"},
        {"cosine(lr=1, t_max=2.5)", RV_ERR_SPEC_TYPE,
         "spec 'cosine(lr=1,t_max=2.5)': t_max=2.5: expected a whole number"},
        {"cosine(lr=-1, t_max=5)", RV_ERR_SCHED_LR, "spec 'cosine(lr=-1,t_max=5)': lr=-1: must be >= 0"},
        {"cosine(lr=1, t_max=0)", RV_ERR_SCHED_T_MAX, "spec 'cosine(lr=1,t_max=0)': t_max=0: must be >= 1"},
        {"step(lr=1, step_size=0)", RV_ERR_SCHED_STEP_SIZE,
         "spec 'step(lr=1,step_size=0)': step_size=0: must be >= 1"},
        {"step(lr=1, step_size=2, gamma=-1)", RV_ERR_SCHED_GAMMA,
         "spec 'step(lr=1,step_size=2,gamma=-1)': gamma=-1: must be >= 0"},
        {"multistep(lr=1, milestones=(5,2))", RV_ERR_SCHED_MILESTONES,
         "spec 'multistep(lr=1,milestones=(5,2))': milestones=(5,2): must be whole numbers >= 0 in "
         "increasing order"},
        {"linear(lr=1, start_factor=0)", RV_ERR_SCHED_FACTOR,
         "spec 'linear(lr=1,start_factor=0)': start_factor=0: must be in (0, 1]"},
        {"poly(lr=1, total_iters=0)", RV_ERR_SCHED_TOTAL,
         "spec 'poly(lr=1,total_iters=0)': total_iters=0: must be >= 1"},
        {"poly(lr=1, total_iters=5, power=-1)", RV_ERR_SCHED_POWER,
         "spec 'poly(lr=1,total_iters=5,power=-1)': power=-1: must be >= 0"},
        {"warmup_cosine(peak=1, warmup_steps=10, decay_steps=10)", RV_ERR_SCHED_TOTAL,
         "spec 'warmup_cosine(peak=1,warmup_steps=10,decay_steps=10)': decay_steps=10: must be "
         "greater than warmup_steps (it includes the warmup)"},
        {"onecycle(max_lr=1, total_steps=100, pct_start=1.5)", RV_ERR_SCHED_PCT,
         "spec 'onecycle(max_lr=1,total_steps=100,pct_start=1.5)': pct_start=1.5: must be in (0, 1) "
         "and leave every phase at least one step"},
        {"onecycle(max_lr=1, total_steps=100, anneal=sin)", RV_ERR_SPEC_RANGE,
         "spec 'onecycle(max_lr=1,total_steps=100,anneal=sin)': anneal=sin: expected one of cos, "
         "linear"},
        {"cosine_restarts(lr=1, t_0=10, t_mult=0)", RV_ERR_SCHED_T_MULT,
         "spec 'cosine_restarts(lr=1,t_0=10,t_mult=0)': t_mult=0: must be a whole number >= 1"},
        {"then(first=constant(lr=1), second=cosin(lr=1, t_max=2), at=3)", RV_ERR_SPEC_UNKNOWN_NAME,
         "spec 'cosin(lr=1,t_max=2)': unknown schedule 'cosin' (did you mean 'cosine'?)"},
        {"then(first=constant(lr=1), second=2, at=3)", RV_ERR_SPEC_TYPE,
         "spec 'then(first=constant(lr=1),second=2,at=3)': second=2: expected a spec such as "
         "name(key=value)"},
        {"then(first=constant(lr=1), second=constant(lr=1))", RV_ERR_SPEC_MISSING_KEY,
         "spec 'then(first=constant(lr=1),second=constant(lr=1))': then needs the key 'at'"},
        {"poly(lr=1, total_iters=5, transition_begin=-1)", RV_ERR_SCHED_BEGIN,
         "spec 'poly(lr=1,total_iters=5,transition_begin=-1)': transition_begin=-1: must be >= 0"},
        {"poly(lr=1, total_iters=5, end=-0.5)", RV_ERR_SCHED_END,
         "spec 'poly(lr=1,total_iters=5,end=-0.5)': end=-0.5: must be >= 0"},
        {"exponential(lr=1, gamma=0.9, transition_steps=0)", RV_ERR_SCHED_TRANSITION,
         "spec 'exponential(lr=1,gamma=0.9,transition_steps=0)': transition_steps=0: must be >= 1"},
        {"exponential(lr=1, gamma=0.9, end=low)", RV_ERR_SPEC_TYPE,
         "spec 'exponential(lr=1,gamma=0.9,end=low)': end=low: expected a finite number or none"},
        {"exponential(lr=1, gamma=0.9, end=-1)", RV_ERR_SCHED_END,
         "spec 'exponential(lr=1,gamma=0.9,end=-1)': end=-1: must be >= 0"},
        {"cosine(lr=1, t_max=5, exponent=0)", RV_ERR_SCHED_EXPONENT,
         "spec 'cosine(lr=1,t_max=5,exponent=0)': exponent=0: must be > 0"},
        {"inverse_time(lr=1, decay_steps=2, decay_rate=-1)", RV_ERR_SCHED_DECAY_RATE,
         "spec 'inverse_time(lr=1,decay_steps=2,decay_rate=-1)': decay_rate=-1: must be >= 0"},
        {"inverse_time(lr=1, decay_steps=0, decay_rate=1)", RV_ERR_SCHED_TRANSITION,
         "spec 'inverse_time(lr=1,decay_steps=0,decay_rate=1)': decay_steps=0: must be > 0"},
        {"inverse_time(lr=1, decay_steps=1)", RV_ERR_SPEC_MISSING_KEY,
         "spec 'inverse_time(lr=1,decay_steps=1)': inverse_time needs the key 'decay_rate'"},
        {"cyclic(base_lr=0.1, max_lr=1, mode=triangle)", RV_ERR_SPEC_RANGE,
         "spec 'cyclic(base_lr=0.1,max_lr=1,mode=triangle)': mode=triangle: expected one of "
         "triangular, triangular2, exp_range"},
        {"cyclic(base_lr=0.1, max_lr=1, step_size_down=0)", RV_ERR_SCHED_STEP_SIZE,
         "spec 'cyclic(base_lr=0.1,max_lr=1,step_size_down=0)': step_size_down=0: must be >= 1"},
        {"cyclic(base_lr=0.1, max_lr=1, mode=exp_range, gamma=0)", RV_ERR_SCHED_GAMMA,
         "spec 'cyclic(base_lr=0.1,max_lr=1,mode=exp_range,gamma=0)': gamma=0: must be > 0"},
        {"cosine_restarts(lr=1, t_0=10, m_mul=-2)", RV_ERR_SCHED_M_MUL,
         "spec 'cosine_restarts(lr=1,t_0=10,m_mul=-2)': m_mul=-2: must be >= 0"},
        {"product(of=constant(lr=1))", RV_ERR_SCHED_JOIN,
         "spec 'product(of=constant(lr=1))': of=constant(lr=1): expected a tuple of 2 to 16 "
         "schedules, such as of=(exponential(lr=0.1, gamma=0.9), linear(lr=1, start_factor=0.1))"},
        {"product(of=(constant(lr=1), 3))", RV_ERR_SPEC_TYPE,
         "spec 'product(of=(constant(lr=1),3))': of: item 2 (3) is not a schedule"},
        {"product(of=(constant(lr=1), cosine(lr=1)))", RV_ERR_SPEC_MISSING_KEY,
         "spec 'cosine(lr=1)': cosine needs the key 't_max'"},
        {"product()", RV_ERR_SPEC_MISSING_KEY, "spec 'product()': product needs the key 'of'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rv_schedule *s = (rv_schedule *)&cases;
        CHECK_STATUS(rv_schedule_parse(cases[i].text, &s), cases[i].code);
        CHECK_STR(rv_errmsg(), cases[i].msg);
        CHECK(s == NULL);
    }
    CHECK_STATUS(rv_schedule_parse(NULL, &(rv_schedule *){0}), RV_ERR_NULL);
    CHECK(rv_schedule_lr(NULL, 3) == 0);
}

int main(void)
{
    values();
    peers();
    long_canonical();
    canonical();
    errors();
    return check_summary("schedule");
}
