/* Internal: optimizer state and parameters stored below float32.

   A state buffer is float32, bfloat16 or block-wise int8 (kernels/quant.h);
   the update kernels only ever see float32, so a step moves a chunk of
   RV_QUANT_BLOCK elements into float32 scratch, runs the kernel, and writes
   it back (dequantize, update, requantize in one pass over memory). Rules
   bound by division and square roots (adam, adamw) also have loops that
   convert inside the update itself (type.h, update_stored), with the same
   results. The
   chunks of int8 buffers are their quantization blocks, which is why the
   index space is cut on multiples of RV_QUANT_BLOCK when int8 state is used. */
#ifndef RAVINE_OPTIM_PRECISION_H
#define RAVINE_OPTIM_PRECISION_H

#include <stddef.h>
#include <stdint.h>
#include "ravine/optim.h"
#include "kernels/quant.h"

typedef struct rv_buffer {
    void *data;          /* len values of the precision */
    float *absmax;       /* int8: one scale per block */
    rv_precision prec;
    int nonnegative;     /* int8: the unsigned map (second moments) */
} rv_buffer;

/* Bytes a buffer of len values takes (data, then for int8 its scales), each
   part rounded up to 64 bytes. */
size_t rv_buffer_bytes(rv_precision prec, size_t len);
/* Lay a buffer out at mem (64-byte aligned, rv_buffer_bytes long). */
void rv_buffer_place(rv_buffer *b, rv_precision prec, int nonnegative, size_t len, void *mem);

/* Values [off, off + n) as float32 (off a multiple of RV_QUANT_BLOCK for int8). */
void rv_buffer_load(const rv_buffer *b, size_t off, size_t n, float *out);
/* Write them back: rounded to bf16, or requantized block by block. */
void rv_buffer_store(const rv_buffer *b, size_t off, size_t n, const float *in);
/* Every value of [off, off + n) set to value (stored exactly where it can be). */
void rv_buffer_fill(const rv_buffer *b, size_t off, size_t n, float value);

void rv_bf16_widen(const uint16_t *in, float *out, size_t n);
void rv_bf16_narrow(const float *in, uint16_t *out, size_t n);
/* 1 if any of the n bf16 values is NaN or infinite */
int rv_bf16_any_nonfinite(const uint16_t *x, size_t n);

#endif
