/* common/sorted.h — counting by sorting: the n-gram baselines turn every
   n-gram into an integer code, sort the codes, and count a code (or a range
   of codes sharing a context) as the distance between two lower bounds. */
#ifndef EXAMPLES_COMMON_SORTED_H
#define EXAMPLES_COMMON_SORTED_H

#include <stddef.h>
#include <stdint.h>

static inline int ex_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* First index in sorted[0, n) whose value is >= key. */
static inline size_t ex_lower_bound(const uint64_t *sorted, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif
