/* Allocation failure on demand, for tests linked with
   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=strdup
   (tests/nomem.cmake): every allocation the program's own code makes (the
   library included; not the C library's internal ones) goes through these.
   nomem_arm(k): the k-th allocation from now fails, and only that one. */
#ifndef RAVINE_TESTS_FAILING_ALLOC_H
#define RAVINE_TESTS_FAILING_ALLOC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
char *__wrap_strdup(const char *s);

static long nomem_countdown;   /* 0: off */
static long nomem_failures;    /* how many were made to fail */

static inline void nomem_arm(long k) { nomem_countdown = k, nomem_failures = 0; }
static inline void nomem_off(void) { nomem_countdown = 0; }

static inline int nomem_fail_now(void)
{
    if (nomem_countdown > 0 && --nomem_countdown == 0) {
        nomem_failures++;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) { return nomem_fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { return nomem_fail_now() ? NULL : __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { return nomem_fail_now() ? NULL : __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    return nomem_fail_now() ? NULL : __real_aligned_alloc(a, n);
}
char *__wrap_strdup(const char *s) { return nomem_fail_now() ? NULL : __real_strdup(s); }

#endif
