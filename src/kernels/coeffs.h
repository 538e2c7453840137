/* Per-step coefficients shared by the per-element update kernels.

   Everything that does not depend on the element (bias corrections,
   lr*wd, 1 - beta) is computed once per tensor and step by the algorithm's
   prepare function, in double, and rounded to float once, the way torch
   rounds Python-float hyperparameters when it hands them to a float kernel.
   The kernels in this folder are pure per-element functions of these
   coefficients: the CPU loops, the threaded step, the WebAssembly page and
   the lab's explanations all call the same ones. */
#ifndef RAVINE_KERNELS_COEFFS_H
#define RAVINE_KERNELS_COEFFS_H

#include <math.h>

#if defined(__GNUC__)
#define RV_INLINE static inline __attribute__((always_inline))
#else
#define RV_INLINE static inline
#endif

/* The kernels round exactly where torch's CPU kernels round, so that float32
   results agree bit for bit: torch's `a.add_(b, alpha=s)`, `a.sub_(b, alpha=s)`,
   `a.addcmul_(b, c, value=s)` and `a.lerp_(b, w)` are fused multiply-adds on
   CPUs with FMA (measured on torch 1.13: every element), while mul_, div,
   addcdiv_ and plain add_ round each operation. RV_FMA is that single
   rounding (the fmaf instruction where the CPU has one, an exact library
   routine elsewhere); the build forbids the compiler from fusing anything
   else (-ffp-contract=off). */
#define RV_FMA(a, b, c) fmaf((a), (b), (c))

typedef struct rv_coeffs {
    float neg_lr;            /* -lr; adam: -lr/(1-beta1^t); adagrad: -lr/(1+(t-1)*lr_decay) */
    float wd;                /* L2 weight decay added to the gradient */
    float decay_mul;         /* adamw (before): 1 - lr*wd */
    float decay_lr_wd;       /* adamw (after): lr*wd */
    float momentum;
    float one_minus_dampening;
    float beta1, one_minus_beta1;
    float beta2, one_minus_beta2;
    float bc2_sqrt;          /* sqrt(1-beta2^t), a divisor as in torch */
    float eps;
    float alpha, one_minus_alpha;
    float lerp_w;            /* a torch lerp weight: 1 - beta1 (nadam, radam, adamax), ckp1 (sfadamw) */
    float lerp_w2;           /* muon: momentum, for the Nesterov lerp */
    float bc1, bc2;          /* bias corrections used as divisors: 1 - beta^t */
    float neg_lr2;           /* nadam: -lr*mu_next/(1 - mu_product_next) */
    float sqrt_bc2, rect;    /* radam: sqrt(1 - beta2^t), the variance rectification */
    float lr;                /* radam, sfadamw (z step), lion */
    float y_coef;            /* sfadamw: lr*(beta1*(1 - ckp1) - 1) */
    double rho, omb2;        /* adafactor: min(lr, 1/sqrt(t)) and 1 - beta2_t = t^beta2_decay */
    /* flags, chosen once per call so loops can be specialised */
    int maximize, has_wd, has_momentum, nesterov, first, amsgrad, centered;
    int decay;               /* 0 none, 1 torch (before), 2 seed (after) */
    int decoupled;           /* nadam, radam: p *= 1 - lr*wd instead of L2 */
    int rectify;             /* radam: rho_t > 5 */
} rv_coeffs;

/* Intermediate values of one element's update, for explanations. The
   kernels fill it only when given a non-NULL pointer (never in hot loops). */
typedef struct rv_trace {
    float grad;       /* gradient as read */
    float grad_used;  /* after maximize and L2 weight decay */
    float buf;        /* sgd momentum buffer / polyak velocity / rmsprop momentum buffer */
    float m, v, vmax; /* adam moments (rmsprop: v = square_avg, m = grad_avg; adagrad: v = sum;
                         adamax: vmax = exp_inf; sfadamw: m = z; lion: m = exp_avg, buf = the
                         interpolation whose sign is the step) */
    float denom;      /* adam: sqrt(v)/sqrt(bc2) + eps; rmsprop: avg; adagrad: std */
    float param_before, param_decayed, param_after;
} rv_trace;

#endif
