/* Internal: the matrix products whole-tensor algorithms need (muon's
   Newton-Schulz iteration), through CBLAS when the build found a BLAS
   (OpenBLAS on Debian), else a plain loop (the WebAssembly build). */
#ifndef RAVINE_OPTIM_MATMUL_H
#define RAVINE_OPTIM_MATMUL_H
#include <stddef.h>

/* C = alpha * A * op(B) + beta * C, row-major, contiguous: A is m x k,
   op(B) is k x n (B stored n x k when trans_b), C is m x n. */
void rv_matmul(int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
               const float *B, float beta, float *C);

/* C = alpha * A * A^T + beta * C for A m x k and C m x m, row-major: a
   symmetric product, so half the work of rv_matmul. C is written whole
   (the lower triangle mirrors the upper). */
void rv_matmul_gram(size_t m, size_t k, float alpha, const float *A, float beta, float *C);

#endif
