/* Matrix products for whole-tensor algorithms; see matmul.h. */
#include "optim/matmul.h"

#ifdef RAVINE_HAVE_CBLAS
#include <cblas.h>

void rv_matmul(int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
               const float *B, float beta, float *C)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, alpha, A, (int)k, B, trans_b ? (int)k : (int)n, beta, C, (int)n);
}

int rv_matmul_uses_blas(void) { return 1; }

#else

void rv_matmul(int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
               const float *B, float beta, float *C)
{
    for (size_t i = 0; i < m; i++) {
        float *c = C + i * n;
        for (size_t j = 0; j < n; j++)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (size_t l = 0; l < k; l++) {
            float a = alpha * A[i * k + l];
            if (trans_b)
                for (size_t j = 0; j < n; j++)
                    c[j] += a * B[j * k + l];
            else
                for (size_t j = 0; j < n; j++)
                    c[j] += a * B[l * n + j];
        }
    }
}

int rv_matmul_uses_blas(void) { return 0; }

#endif
