/* common/rng.h — the examples' one source of randomness: splitmix64.

   Every random choice (split, initialisation, batches, sampling) draws from
   a generator seeded from --seed, so two runs with the same seed are equal
   bit for bit. Batches are drawn from a generator keyed by (seed, step), so
   a run resumed at step t sees the same batches as one that never stopped. */
#ifndef EXAMPLES_COMMON_RNG_H
#define EXAMPLES_COMMON_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ex_rng {
    uint64_t state;
} ex_rng;

static inline uint64_t ex_rng_next(ex_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A generator for an independent stream `key` of `seed` (e.g. the step). */
static inline ex_rng ex_rng_keyed(uint64_t seed, uint64_t key)
{
    ex_rng r = {seed ^ (key * 0xd1b54a32d192ed03ull)};
    ex_rng_next(&r);
    return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double ex_rng_uniform(ex_rng *r)
{
    return (double)(ex_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n > 0 (modulo bias < n / 2^64). */
static inline size_t ex_rng_below(ex_rng *r, size_t n)
{
    return (size_t)(ex_rng_next(r) % (uint64_t)n);
}

/* Standard normal (Box-Muller; one value per call keeps streams simple). */
static inline double ex_rng_normal(ex_rng *r)
{
    double u1 = 1.0 - ex_rng_uniform(r);   /* (0, 1]: log is finite */
    double u2 = ex_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
