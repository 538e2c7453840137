/* Minimal test harness: CHECK macros count failures and print where they
   happened; main returns check_summary(), which prints "N passed, M failed". */
#ifndef RAVINE_TESTS_CHECK_H
#define RAVINE_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            check_passed++;                                                           \
        } else {                                                                      \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (cond) {                                                                   \
            check_passed++;                                                           \
        } else {                                                                      \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

/* |got - want| <= tol */
#define CHECK_NEAR(got, want, tol)                                                    \
    CHECK_MSG(fabs((double)(got) - (double)(want)) <= (tol), "got %.9g, want %.9g (tol %g)", \
              (double)(got), (double)(want), (double)(tol))

#define CHECK_STATUS(expr, want)                                                      \
    do {                                                                              \
        rv_status check_s_ = (expr);                                                  \
        CHECK_MSG(check_s_ == (want), "%s returned %d (%s: %s), want %d", #expr,      \
                  (int)check_s_, rv_strerror(check_s_), rv_errmsg(), (int)(want));    \
    } while (0)

#define CHECK_STR(got, want)                                                          \
    CHECK_MSG(strcmp((got), (want)) == 0, "got \"%s\", want \"%s\"", (got), (want))

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
