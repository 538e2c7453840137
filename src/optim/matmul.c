/* Matrix products for whole-tensor algorithms; see matmul.h. */
#include "optim/matmul.h"

/* The lower triangle of a symmetric m x m matrix from its upper one. */
static void mirror_upper(size_t m, float *C)
{
    for (size_t i = 1; i < m; i++)
        for (size_t j = 0; j < i; j++)
            C[i * m + j] = C[j * m + i];
}

#ifdef RAVINE_HAVE_CBLAS
#include <cblas.h>

void rv_matmul(int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
               const float *B, float beta, float *C)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, alpha, A, (int)k, B, trans_b ? (int)k : (int)n, beta, C, (int)n);
}

void rv_matmul_gram(size_t m, size_t k, float alpha, const float *A, float beta, float *C)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)m, (int)k, alpha, A, (int)k, beta, C,
                (int)m);
    mirror_upper(m, C);
}

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

void rv_matmul_gram(size_t m, size_t k, float alpha, const float *A, float beta, float *C)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = i; j < m; j++) {
            float dot = 0.0f;
            for (size_t l = 0; l < k; l++)
                dot += A[i * k + l] * A[j * k + l];
            C[i * m + j] = alpha * dot + (beta == 0.0f ? 0.0f : beta * C[i * m + j]);
        }
    mirror_upper(m, C);
}

#endif
