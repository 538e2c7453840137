/* Status codes to sentences, and the per-thread detailed error message. */
#include "ravine/status.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const messages[RV_STATUS_COUNT] = {
    [RV_OK] = "success",
    [RV_ERR_NULL] = "a required pointer argument is NULL",
    [RV_ERR_NOMEM] = "out of memory",
    [RV_ERR_SIZE] = "sizes do not match or are out of range",
    [RV_ERR_INDEX] = "index out of range",
    [RV_ERR_ARG] = "invalid argument",
    [RV_ERR_NONFINITE_GRAD] = "non-finite gradient",
    [RV_ERR_NONFINITE_ARG] = "non-finite argument",
    [RV_ERR_LR] = "invalid learning rate",
    [RV_ERR_MOMENTUM] = "invalid momentum",
    [RV_ERR_DAMPENING] = "invalid dampening",
    [RV_ERR_WEIGHT_DECAY] = "invalid weight decay",
    [RV_ERR_NESTEROV] = "nesterov momentum requires momentum > 0 and zero dampening",
    [RV_ERR_BETA] = "invalid beta",
    [RV_ERR_BETA1] = "invalid beta1",
    [RV_ERR_BETA2] = "invalid beta2",
    [RV_ERR_EPS] = "invalid eps",
    [RV_ERR_ALPHA] = "invalid alpha",
    [RV_ERR_LR_DECAY] = "invalid lr_decay",
    [RV_ERR_INITIAL_ACCUMULATOR] = "invalid initial_accumulator_value",
    [RV_ERR_DECAY_ORDER] = "invalid decay order",
    [RV_ERR_MOMENTUM_DECAY] = "invalid momentum_decay",
    [RV_ERR_BETA2_DECAY] = "invalid beta2_decay",
    [RV_ERR_EPS2] = "invalid eps2 (the second value of eps)",
    [RV_ERR_D] = "invalid d (update clipping threshold)",
    [RV_ERR_NS_COEFFICIENTS] = "invalid ns_coefficients",
    [RV_ERR_NS_STEPS] = "invalid ns_steps",
    [RV_ERR_ADJUST_LR] = "invalid adjust_lr_fn",
    [RV_ERR_WARMUP_STEPS] = "invalid warmup_steps",
    [RV_ERR_R] = "invalid r (averaging power)",
    [RV_ERR_WEIGHT_LR_POWER] = "invalid weight_lr_power",
    [RV_ERR_STATE_PRECISION] = "invalid state precision",
    [RV_ERR_SHAPE] = "tensor shape missing or not what the algorithm needs",
    [RV_ERR_ALIGN] = "pointer not aligned for float",
    [RV_ERR_MODE] = "optimizer is in the wrong mode (schedule-free train/eval)",
    [RV_ERR_SPEC_SYNTAX] = "spec syntax error",
    [RV_ERR_SPEC_UNKNOWN_NAME] = "unknown name in spec",
    [RV_ERR_SPEC_UNKNOWN_KEY] = "unknown key in spec",
    [RV_ERR_SPEC_DUPLICATE_KEY] = "duplicate key in spec",
    [RV_ERR_SPEC_MISSING_KEY] = "missing required key in spec",
    [RV_ERR_SPEC_TYPE] = "value of the wrong type in spec",
    [RV_ERR_SPEC_RANGE] = "value out of range in spec",
    [RV_ERR_SCHED_LR] = "invalid schedule learning rate",
    [RV_ERR_SCHED_STEP_SIZE] = "invalid schedule step_size",
    [RV_ERR_SCHED_GAMMA] = "invalid schedule gamma",
    [RV_ERR_SCHED_MILESTONES] = "invalid schedule milestones",
    [RV_ERR_SCHED_T_MAX] = "invalid schedule period",
    [RV_ERR_SCHED_ETA_MIN] = "invalid schedule minimum learning rate",
    [RV_ERR_SCHED_FACTOR] = "invalid schedule factor",
    [RV_ERR_SCHED_TOTAL] = "invalid schedule length",
    [RV_ERR_SCHED_POWER] = "invalid schedule power",
    [RV_ERR_SCHED_WARMUP] = "invalid schedule warmup",
    [RV_ERR_SCHED_PCT] = "invalid schedule phase fraction",
    [RV_ERR_SCHED_DIV] = "invalid schedule divisor",
    [RV_ERR_SCHED_T_MULT] = "invalid schedule period multiplier",
    [RV_ERR_SCHED_JOIN] = "invalid schedule join",
    [RV_ERR_SCHED_BEGIN] = "invalid schedule transition_begin",
    [RV_ERR_SCHED_END] = "invalid schedule end",
    [RV_ERR_SCHED_EXPONENT] = "invalid schedule exponent",
    [RV_ERR_SCHED_M_MUL] = "invalid schedule m_mul",
    [RV_ERR_SCHED_DECAY_RATE] = "invalid schedule decay_rate",
    [RV_ERR_SCHED_TRANSITION] = "invalid schedule transition_steps or decay_steps",
    [RV_ERR_SURFACE_PARAM] = "invalid surface parameter",
    [RV_ERR_SURFACE_DOMAIN] = "point outside the surface's domain",
    [RV_ERR_EXPR] = "invalid expression",
    [RV_ERR_IO] = "input/output error",
    [RV_ERR_FORMAT] = "malformed file",
    [RV_ERR_CHECKSUM] = "checksum mismatch",
    [RV_ERR_VERSION] = "unsupported format version",
    [RV_ERR_MISMATCH] = "file does not match the optimizer",
    [RV_ERR_RANKS] = "the ranks disagree",
    [RV_ERR_COMM] = "communication failed",
};

const char *rv_strerror(rv_status status)
{
    if ((int)status < 0 || status >= RV_STATUS_COUNT || !messages[status])
        return "unknown status code";
    return messages[status];
}

/* Messages longer than this keep their start (what failed) and their end
   (why), and say how much of the middle, usually an echoed spec, was left
   out: the reason is never lost to a long echo. */
#define MESSAGE_MAX 1024
#define MESSAGE_HEAD 360

static _Thread_local char last_message[MESSAGE_MAX];

const char *rv_errmsg(void) { return last_message; }

void rv_clear_error(void) { last_message[0] = '\0'; }

static int continuation(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

/* Copy the head and tail of full (len bytes) around a note of what was left
   out, cutting only between UTF-8 characters. */
static void elide(const char *full, size_t len)
{
    char note[64];
    size_t head = MESSAGE_HEAD;
    while (head > 0 && continuation(full[head]))
        head--;
    size_t room = MESSAGE_MAX - 1 - head - (sizeof note - 1);
    size_t tail = len - room;
    while (tail < len && continuation(full[tail]))
        tail++;
    int n = snprintf(note, sizeof note, " [... %zu bytes left out ...] ", tail - head);
    memcpy(last_message, full, head);
    memcpy(last_message + head, note, (size_t)n);
    memcpy(last_message + head + (size_t)n, full + tail, len - tail);
    last_message[head + (size_t)n + (len - tail)] = '\0';
}

rv_status rv_fail(rv_status status, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof last_message) {
        char *full = malloc((size_t)n + 1);
        if (full) {
            vsnprintf(full, (size_t)n + 1, fmt, again);
            elide(full, (size_t)n);
            free(full);
        } else {
            /* no memory for the whole text: say so instead of a cut reason */
            static const char cut[] = " [... message cut: out of memory ...]";
            memcpy(last_message + sizeof last_message - sizeof cut, cut, sizeof cut);
        }
    }
    va_end(again);
    return status;
}
