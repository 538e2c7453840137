/* ravine/schedule.h — learning-rate schedules as pure functions of the step.

       rv_schedule *s;
       if (rv_schedule_parse("warmup_cosine(peak=3e-4, warmup_steps=100, decay_steps=5000)", &s))
           die(rv_errmsg());
       for (long t = 0; t < 5000; t++) {
           rv_optim_set_lr(opt, rv_schedule_lr(s, t));   // update t uses schedule(t)
           ...
       }
       rv_schedule_free(s);

   rv_schedule_lr(s, t) depends on nothing but s and t (no hidden state), so
   a resumed run gets the same lr at every step as an uninterrupted one.
   t counts updates from 0. Schedules (keys, torch/optax/keras meaning):

       constant(lr)
       step(lr, step_size, gamma=0.1)                       torch StepLR
       multistep(lr, milestones=(m1,...), gamma=0.1)        torch MultiStepLR
       exponential(lr, gamma, transition_steps=1, transition_begin=0, staircase=false, end=none)
                                                            torch ExponentialLR; optax exponential_decay
       cosine(lr, t_max, eta_min=0, exponent=1)             torch CosineAnnealingLR (eta_min after
                                                            t_max); optax cosine_decay_schedule
       linear(lr, start_factor=1/3, end_factor=1, total_iters=5)   torch LinearLR
       poly(lr, total_iters, power=1, end=0, transition_begin=0)
                                                            torch PolynomialLR; optax polynomial_schedule
       warmup_cosine(peak, warmup_steps, decay_steps, init=0, end=0)  optax warmup_cosine_decay_schedule
       onecycle(max_lr, total_steps, pct_start=0.3, div_factor=25,
                final_div_factor=1e4, anneal=cos|linear, three_phase=false)   torch OneCycleLR
       cosine_restarts(lr, t_0, t_mult=1, eta_min=0, m_mul=1)
                                                            torch CosineAnnealingWarmRestarts;
                                                            keras CosineDecayRestarts (m_mul)
       wsd(lr, warmup_steps, stable_steps, decay_steps, init=0, end=0, decay=linear|cosine|sqrt)
                                                            warmup-stable-decay
       inverse_sqrt(lr, warmup_steps, init=0)               transformer rsqrt schedule
       inverse_time(lr, decay_steps, decay_rate, staircase=false)   keras InverseTimeDecay
       cyclic(base_lr, max_lr, step_size_up=2000, step_size_down=step_size_up,
              mode=triangular|triangular2|exp_range, gamma=1)        torch CyclicLR (lr only)
       then(first=SPEC, second=SPEC, at=N)                  first for t < at, second(t - at) after
       scale(of=SPEC, factor=F)                             F * SPEC(t)
       product(of=(SPEC, SPEC, ...))                        the product: torch ChainedScheduler

   See docs/schedules.md for the exact formulas. */
#ifndef RAVINE_SCHEDULE_H
#define RAVINE_SCHEDULE_H

#include <stddef.h>
#include "ravine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_schedule rv_schedule;   /* opaque */

/* Parse and validate a schedule spec; each bad field has its own code
   (RV_ERR_SCHED_GAMMA, ...) and a message naming spec, key and value. */
rv_status rv_schedule_parse(const char *spec, rv_schedule **out);
void rv_schedule_free(rv_schedule *s);

/* The learning rate for update t (t >= 0; negative t is treated as 0). */
double rv_schedule_lr(const rv_schedule *s, long t);

/* The schedule's name ("cosine") and canonical spec with every key, which
   parses back to the same schedule. rv_schedule_text returns the whole text
   (valid while s lives; it has no length limit); rv_schedule_format copies
   it like snprintf and returns the length it needs. */
const char *rv_schedule_name(const rv_schedule *s);
const char *rv_schedule_text(const rv_schedule *s);
size_t rv_schedule_format(const rv_schedule *s, char *buf, size_t size);

/* The i-th schedule name, NULL past the end (for listings and --help). */
const char *rv_schedule_name_at(size_t i);

#ifdef __cplusplus
}
#endif
#endif
