/* The two quantization maps of kernels/quant.h, built once: the levels by
   their formula, the midpoints between neighbouring levels, and the bucket
   table that lets an encoder find the nearest level in two comparisons. */
#include "kernels/quant.h"

#include <math.h>
#include <threads.h>

static rv_quant_map signed_map, unsigned_map;
static once_flag built = ONCE_FLAG_INIT;

/* magnitude levels of a B-bit dynamic-tree code, ascending (code order) */
static void build_levels(rv_quant_map *q, int bits)
{
    static const double decade[] = {1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7};
    q->n_levels = 1 << bits;
    q->level[0] = 0.0f;
    for (int e = 0; e < bits; e++) {
        int f = bits - 1 - e;
        for (int k = 0; k < (1 << f); k++)
            q->level[(1 << f) | k] =
                (float)(decade[e] * (0.1 + 0.9 * (double)(k + 1) / (double)(1 << f)));
    }
}

static void build_encoder(rv_quant_map *q)
{
    int n = q->n_levels;
    for (int i = 0; i + 1 < n; i++)
        q->mid[i] = (float)(((double)q->level[i] + (double)q->level[i + 1]) / 2.0);
    for (int i = n - 1; i < 256; i++)
        q->mid[i] = INFINITY;
    /* first[b]: the level of the bucket's smallest magnitude */
    int i = 0;
    for (int b = 0; b < RV_QUANT_BUCKETS; b++) {
        uint32_t u = (uint32_t)(b + ((127 - 27) << 8)) << 15;
        float lo;
        memcpy(&lo, &u, sizeof lo);
        if (b == 0)
            lo = 0.0f;
        while (lo >= q->mid[i])
            i++;
        q->first[b] = (uint8_t)i;
    }
}

static void build(void)
{
    build_levels(&signed_map, 7);
    build_encoder(&signed_map);
    signed_map.sign_bit = 0x80;
    for (int c = 0; c < 128; c++) {
        signed_map.value[c] = signed_map.level[c];
        signed_map.value[c | 0x80] = -signed_map.level[c];
    }
    build_levels(&unsigned_map, 8);
    build_encoder(&unsigned_map);
    for (int c = 0; c < 256; c++)
        unsigned_map.value[c] = unsigned_map.level[c];
}

const rv_quant_map *rv_quant_maps(int nonnegative)
{
    call_once(&built, build);
    return nonnegative ? &unsigned_map : &signed_map;
}
