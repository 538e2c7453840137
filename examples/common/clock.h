/* common/clock.h — wall time for throughput figures and progress lines. */
#ifndef EXAMPLES_COMMON_CLOCK_H
#define EXAMPLES_COMMON_CLOCK_H

#include <stdio.h>
#include <time.h>

/* Seconds on a monotonic clock. */
static inline double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "42s", "3m07s", or "--" when unknown, for progress lines. */
static inline void ex_format_duration(double s, char *buf, size_t size)
{
    if (!(s >= 0) || s > 359999)
        snprintf(buf, size, "--");
    else if (s >= 60)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, size, "%.0fs", s);
}

#endif
