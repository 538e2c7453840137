/* ravine schedule: print a learning-rate schedule, one line per update. */
#include "commands.h"

static int run(int argc, char **argv)
{
    const char *steps = NULL;
    const char *spec = NULL;
    size_t np = 0;
    const cli_option opts[] = {{"steps", 1, &steps}};
    cli_parse(&cmd_schedule, argc, argv, opts, 1, &spec, 1, &np);
    if (!np)
        cli_die("schedule", "a schedule spec is required, e.g. ravine schedule 'cosine(lr=0.1, t_max=100)' --steps 100");
    if (!steps)
        cli_die("schedule", "--steps N is required");
    long n = cli_parse_long("--steps", steps, 0, 100000000L);
    rv_schedule *s;
    rv_status st = rv_schedule_parse(spec, &s);
    if (st)
        cli_die_status("schedule", st);
    printf("step,lr\n");
    for (long t = 0; t < n; t++) {
        printf("%ld,%.9g\n", t, rv_schedule_lr(s, t));
        cli_stdout_check();
    }
    rv_schedule_free(s);
    return 0;
}

const cli_command cmd_schedule = {
    "schedule", "print a learning-rate schedule (step,lr for t = 0..N-1)",
    "ravine schedule SPEC --steps N\n"
    "  schedules: constant(lr), step(lr, step_size, gamma=0.1), multistep(lr, milestones=(..), gamma=0.1),\n"
    "    exponential(lr, gamma, transition_steps=1, transition_begin=0, staircase=false, end=none),\n"
    "    cosine(lr, t_max, eta_min=0, exponent=1),\n"
    "    linear(lr, start_factor=1/3, end_factor=1, total_iters=5),\n"
    "    poly(lr, total_iters, power=1, end=0, transition_begin=0),\n"
    "    warmup_cosine(peak, warmup_steps, decay_steps, init=0, end=0),\n"
    "    onecycle(max_lr, total_steps, pct_start=0.3, div_factor=25, final_div_factor=1e4,\n"
    "             anneal=cos|linear, three_phase=false),\n"
    "    cosine_restarts(lr, t_0, t_mult=1, eta_min=0, m_mul=1),\n"
    "    wsd(lr, warmup_steps, stable_steps, decay_steps, init=0, end=0, decay=linear|cosine|sqrt),\n"
    "    inverse_sqrt(lr, warmup_steps, init=0), inverse_time(lr, decay_steps, decay_rate, staircase=false),\n"
    "    cyclic(base_lr, max_lr, step_size_up=2000, step_size_down=step_size_up,\n"
    "           mode=triangular|triangular2|exp_range, gamma=1),\n"
    "    then(first=SPEC, second=SPEC, at=N), scale(of=SPEC, factor=F), product(of=(SPEC, SPEC, ...))\n"
    "  (docs/schedules.md has the formulas)",
    run};
