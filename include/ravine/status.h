/* ravine/status.h — status codes and error messages.

   Every ravine function that can fail returns an rv_status. RV_OK is 0, so

       rv_status s = rv_optim_create_spec(&opt, "adamw(lr=3e-4)");
       if (s != RV_OK) {
           fprintf(stderr, "%s: %s\n", rv_strerror(s), rv_errmsg());
           return 1;
       }

   rv_strerror(code) is a fixed sentence for the code. rv_errmsg() is the
   detailed message of the last failing ravine call on the calling thread,
   naming the field and the value ("adamw(lr=-1): lr must be >= 0, got -1").
   Each invalid hyperparameter has its own code, so a program can react to a
   bad eps differently from a bad lr without parsing text.

   The library never prints, exits or aborts: a failing call returns a code,
   leaves its outputs and every buffer untouched, and sets rv_errmsg(). */
#ifndef RAVINE_STATUS_H
#define RAVINE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_status {
    RV_OK = 0,

    /* generic argument errors */
    RV_ERR_NULL,            /* a required pointer argument is NULL */
    RV_ERR_NOMEM,           /* an allocation failed */
    RV_ERR_SIZE,            /* sizes do not match or are out of range */
    RV_ERR_INDEX,           /* a group, tensor or element index is out of range */
    RV_ERR_ARG,             /* another argument is invalid (see rv_errmsg) */
    RV_ERR_NONFINITE_GRAD,  /* a gradient element is NaN or infinite */
    RV_ERR_NONFINITE_ARG,   /* a non-finite value was passed where a finite one is needed */

    /* optimizer hyperparameters: one code per field */
    RV_ERR_LR,
    RV_ERR_MOMENTUM,
    RV_ERR_DAMPENING,
    RV_ERR_WEIGHT_DECAY,
    RV_ERR_NESTEROV,        /* nesterov needs momentum > 0 and dampening = 0 */
    RV_ERR_BETA,            /* polyak beta */
    RV_ERR_BETA1,
    RV_ERR_BETA2,
    RV_ERR_EPS,
    RV_ERR_ALPHA,
    RV_ERR_LR_DECAY,
    RV_ERR_INITIAL_ACCUMULATOR,
    RV_ERR_DECAY_ORDER,
    RV_ERR_MOMENTUM_DECAY,  /* nadam */
    RV_ERR_BETA2_DECAY,     /* adafactor */
    RV_ERR_EPS2,            /* adafactor */
    RV_ERR_D,               /* adafactor */
    RV_ERR_NS_COEFFICIENTS, /* muon */
    RV_ERR_NS_STEPS,        /* muon */
    RV_ERR_ADJUST_LR,       /* muon */
    RV_ERR_WARMUP_STEPS,    /* sfadamw */
    RV_ERR_R,               /* sfadamw */
    RV_ERR_WEIGHT_LR_POWER, /* sfadamw */
    RV_ERR_STATE_PRECISION, /* state=fp32|bf16|int8 */

    /* tensors and the optimizer's mode */
    RV_ERR_SHAPE,           /* a tensor lacks the shape its algorithm needs, or the shape is wrong */
    RV_ERR_ALIGN,           /* a float pointer is not aligned for float */
    RV_ERR_MODE,            /* the call needs the other mode (schedule-free train / eval) */

    /* spec strings */
    RV_ERR_SPEC_SYNTAX,
    RV_ERR_SPEC_UNKNOWN_NAME,
    RV_ERR_SPEC_UNKNOWN_KEY,
    RV_ERR_SPEC_DUPLICATE_KEY,
    RV_ERR_SPEC_MISSING_KEY,
    RV_ERR_SPEC_TYPE,
    RV_ERR_SPEC_RANGE,

    /* schedules: one code per field */
    RV_ERR_SCHED_LR,
    RV_ERR_SCHED_STEP_SIZE,
    RV_ERR_SCHED_GAMMA,
    RV_ERR_SCHED_MILESTONES,
    RV_ERR_SCHED_T_MAX,
    RV_ERR_SCHED_ETA_MIN,
    RV_ERR_SCHED_FACTOR,
    RV_ERR_SCHED_TOTAL,
    RV_ERR_SCHED_POWER,
    RV_ERR_SCHED_WARMUP,
    RV_ERR_SCHED_PCT,
    RV_ERR_SCHED_DIV,
    RV_ERR_SCHED_T_MULT,
    RV_ERR_SCHED_JOIN,
    RV_ERR_SCHED_BEGIN,     /* transition_begin */
    RV_ERR_SCHED_END,       /* end (exponential, polynomial, warmup schedules) */
    RV_ERR_SCHED_EXPONENT,  /* exponent (cosine) */
    RV_ERR_SCHED_M_MUL,     /* m_mul (cosine restarts) */
    RV_ERR_SCHED_DECAY_RATE, /* decay_rate (inverse time) */
    RV_ERR_SCHED_TRANSITION, /* transition_steps, inverse time's decay_steps */

    /* surfaces (the lab) */
    RV_ERR_SURFACE_PARAM,
    RV_ERR_SURFACE_DOMAIN,
    RV_ERR_EXPR,

    /* files and checkpoints */
    RV_ERR_IO,
    RV_ERR_FORMAT,
    RV_ERR_CHECKSUM,
    RV_ERR_VERSION,
    RV_ERR_MISMATCH,

    /* ranks of a sharded optimizer (ravine/dist.h) */
    RV_ERR_RANKS,           /* the ranks disagree (setup, call, or this step's settings) */
    RV_ERR_COMM,            /* a communication call failed */

    RV_STATUS_COUNT
} rv_status;

/* A fixed, human-readable sentence for a status code (never NULL). */
const char *rv_strerror(rv_status status);

/* The detailed message of the last failing call on this thread, or "" if
   none has failed. The text stays valid until the next failing call. */
const char *rv_errmsg(void);

/* Forget the last message (rv_errmsg() returns "" afterwards). */
void rv_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
