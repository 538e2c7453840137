/* Conversions between stored precisions and the float32 the kernels use;
   see precision.h. The loops are compiled for several instruction sets
   (optim/fused.h) so they vectorise like the update kernels. */
#include "optim/precision.h"
#include "optim/fused.h"
#include "kernels/bf16.h"

#include <math.h>
#include <string.h>

static size_t round64(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

size_t rv_buffer_bytes(rv_precision prec, size_t len)
{
    switch (prec) {
    case RV_BF16: return round64(2 * len);
    case RV_INT8: return round64(len) + round64(4 * rv_quant_blocks(len));
    default: return round64(4 * len);
    }
}

void rv_buffer_place(rv_buffer *b, rv_precision prec, int nonnegative, size_t len, void *mem)
{
    b->data = mem;
    b->prec = prec;
    b->absmax = prec == RV_INT8 ? (float *)(void *)((char *)mem + round64(len)) : NULL;
    b->nonnegative = nonnegative;
}

/* the cloned loops are static: clang emits multiversioned functions only
   for internal ones; the exported names call them */
RV_FUSED
static void widen(const uint16_t *restrict in, float *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = rv_bf16_to_f32(in[i]);
}

RV_FUSED
static void narrow(const float *restrict in, uint16_t *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = rv_f32_to_bf16(in[i]);
}

void rv_bf16_widen(const uint16_t *in, float *out, size_t n) { widen(in, out, n); }
void rv_bf16_narrow(const float *in, uint16_t *out, size_t n) { narrow(in, out, n); }

int rv_bf16_any_nonfinite(const uint16_t *x, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= rv_bf16_nonfinite(x[i]);
    return bad;
}

/* one block each way; the two maps get a loop each, so the map is a
   constant the compiler folds */
RV_FUSED
static void dequantize(int nonnegative, const uint8_t *restrict codes, float scale,
                       float *restrict out, size_t n)
{
    if (nonnegative)
        for (size_t i = 0; i < n; i++)
            out[i] = rv_quant_decode(1, codes[i], scale);
    else
        for (size_t i = 0; i < n; i++)
            out[i] = rv_quant_decode(0, codes[i], scale);
}

/* The scale of a block is its largest magnitude (kernels/quant.h). */
RV_FUSED
static float quantize(int nonnegative, const float *restrict in, uint8_t *restrict codes,
                      size_t n)
{
    uint32_t top = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = rv_quant_magnitude_bits(in[i]);
        top = u > top ? u : top;
    }
    float inv, absmax = rv_quant_scale(top, &inv);
    if (absmax != absmax) {
        memset(codes, 0, n);
        return absmax;
    }
    if (nonnegative)
        for (size_t i = 0; i < n; i++)
            codes[i] = (uint8_t)rv_quant_encode(1, in[i], inv);
    else
        for (size_t i = 0; i < n; i++)
            codes[i] = (uint8_t)rv_quant_encode(0, in[i], inv);
    return absmax;
}

void rv_buffer_load(const rv_buffer *b, size_t off, size_t n, float *out)
{
    switch (b->prec) {
    case RV_BF16:
        rv_bf16_widen((const uint16_t *)b->data + off, out, n);
        break;
    case RV_INT8:
        for (size_t i = 0; i < n; i += RV_QUANT_BLOCK) {
            size_t m = n - i < RV_QUANT_BLOCK ? n - i : RV_QUANT_BLOCK;
            dequantize(b->nonnegative, (const uint8_t *)b->data + off + i,
                       b->absmax[(off + i) / RV_QUANT_BLOCK], out + i, m);
        }
        break;
    default:
        memcpy(out, (const float *)b->data + off, n * sizeof *out);
    }
}

void rv_buffer_store(const rv_buffer *b, size_t off, size_t n, const float *in)
{
    switch (b->prec) {
    case RV_BF16:
        rv_bf16_narrow(in, (uint16_t *)b->data + off, n);
        break;
    case RV_INT8:
        for (size_t i = 0; i < n; i += RV_QUANT_BLOCK) {
            size_t m = n - i < RV_QUANT_BLOCK ? n - i : RV_QUANT_BLOCK;
            b->absmax[(off + i) / RV_QUANT_BLOCK] =
                quantize(b->nonnegative, in + i, (uint8_t *)b->data + off + i, m);
        }
        break;
    default:
        memcpy((float *)b->data + off, in, n * sizeof *in);
    }
}

void rv_buffer_fill(const rv_buffer *b, size_t off, size_t n, float value)
{
    float chunk[RV_QUANT_BLOCK];
    for (size_t i = 0; i < RV_QUANT_BLOCK; i++)
        chunk[i] = value;
    for (size_t i = 0; i < n; i += RV_QUANT_BLOCK) {
        size_t m = n - i < RV_QUANT_BLOCK ? n - i : RV_QUANT_BLOCK;
        rv_buffer_store(b, off + i, m, chunk);
    }
}
