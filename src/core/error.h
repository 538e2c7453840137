/* Internal: setting the detailed error message. */
#ifndef RAVINE_CORE_ERROR_H
#define RAVINE_CORE_ERROR_H

#include "ravine/status.h"

#if defined(__GNUC__)
#define RV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RV_PRINTF(a, b)
#endif

/* Record a detailed message for rv_errmsg() and return status unchanged,
   so callers can write `return rv_fail(RV_ERR_LR, "lr must be ...");`. */
rv_status rv_fail(rv_status status, const char *fmt, ...) RV_PRINTF(2, 3);

#endif
