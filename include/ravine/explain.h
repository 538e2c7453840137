/* ravine/explain.h — one optimizer update written out with its own numbers.

       rv_explainer *e;
       if (rv_explainer_create(&e, "adamw(lr=0.1, decay=after)", 2, (float[]){1, -1}))
           die(rv_errmsg());
       const rv_explain_step *st;
       rv_explainer_step(e, (float[]){0.25f, -0.5f}, &st);  // one update
       char text[4096];
       rv_explainer_describe(e, text, sizeof text);        // m, v, m_hat, v_hat, ... p
       // st->values[0].param_after == 0.8991f: seed 000's AdamW example
       rv_explainer_free(e);

   The numbers are not recomputed from formulas: each update runs the
   algorithm's own per-element kernel (the one rv_update and rv_optim_step
   use) in its traced form, which reports its intermediate values. So the
   parameters after an explained update equal rv_update's bit for bit, and
   an explanation can never disagree with the real update. The derived
   figures shown for reading (m_hat = m/(1-beta1^t), v_hat, the step) are
   computed in double from the kernel's values.

   Text: float32 values are written in their shortest form that reads back
   to the same float32 (0.8991, not 0.899100006). */
#ifndef RAVINE_EXPLAIN_H
#define RAVINE_EXPLAIN_H

#include <stddef.h>
#include "ravine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One element of one update, as the kernel computed it. */
typedef struct rv_explain_value {
    float grad;            /* gradient as read */
    float grad_used;       /* after maximize and L2 weight decay */
    float state_before[4]; /* the algorithm's state buffers before the update (rv_state_name order) */
    float state_after[4];  /* ... and after */
    float buf;             /* sgd momentum buffer / polyak velocity / rmsprop momentum buffer */
    float m, v, vmax;      /* adam moments (vmax: the v used, amsgrad max); rmsprop v = square_avg,
                              m = grad_avg; adagrad v = sum */
    float denom;           /* adam sqrt(v)/sqrt(1-beta2^t) + eps; rmsprop avg; adagrad std */
    float param_before;
    float param_decayed;   /* adamw decay=before: p*(1 - lr*wd); else param_before */
    float param_after;
    float param_eval;      /* what eval mode holds after the update: for sfadamw the average
                              x = lerp(y, z, 1 - 1/beta1) (rv_optim_eval); else param_after */
} rv_explain_value;

typedef struct rv_explain_step {
    long t;                /* 1-based index of this update */
    double lr;
    double bias1, bias2;   /* adam family: 1 - beta1^t, 1 - beta2^t (else 1) */
    double step_size;      /* adam: lr/(1-beta1^t); adagrad: lr/(1+(t-1)*lr_decay); else lr */
    size_t n;
    const rv_explain_value *values;   /* n values, valid until the next step or free */
    /* figures of the newer rules (0 where they do not apply) */
    double mu, mu_next;    /* nadam: momentum coefficients of updates t and t+1 */
    double mu_product;     /* nadam: mu_1*...*mu_t after the update, float32 as torch keeps it */
    double rho, rect;      /* radam: rho_t; r_t, the variance rectification (0 while rho_t <= 5,
                              when the step is unadapted momentum) */
    double avg_weight;     /* sfadamw: c = weight/weight_sum, this update's share of the average x */
    double lr_max, weight_sum;   /* sfadamw: running maximum of lr, sum of averaging weights */
} rv_explain_step;

typedef struct rv_explainer rv_explainer;   /* opaque */

/* An optimizer (any spec of ravine/optim.h) on n float32 parameters. */
rv_status rv_explainer_create(rv_explainer **out, const char *optim_spec, size_t n,
                              const float *params);
void rv_explainer_free(rv_explainer *e);

/* One update with n gradients; *out (optional) points at its values. */
rv_status rv_explainer_step(rv_explainer *e, const float *grads, const rv_explain_step **out);

/* Learning rate of the next updates (for schedules: set schedule(t) before
   update t). Fails with RV_ERR_LR and changes nothing if lr < 0 or not finite. */
rv_status rv_explainer_set_lr(rv_explainer *e, double lr);

/* Current parameters (n floats) and the canonical optimizer spec. */
const float *rv_explainer_params(const rv_explainer *e);
const char *rv_explainer_spec(const rv_explainer *e);

/* The last update as text, one block per parameter; like snprintf, returns
   the length it needed. Empty before the first step. */
size_t rv_explainer_describe(const rv_explainer *e, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
