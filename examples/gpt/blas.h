/* gpt/blas.h — the matrix products of the GPT: one sgemm (OpenBLAS through
   CBLAS when the build found it, else a plain C loop nest) and the
   block-parallel products the layers call.

   Determinism: every product is cut into blocks whose sizes depend only on
   the matrix shapes, each block is one single-threaded sgemm call, and the
   OpenMP threads share out whole blocks. Each output element is therefore
   computed by one call in one fixed order, whatever the thread count: a run
   on one thread and on two give the same bits. (OpenBLAS's own threading
   is switched off; splitting the work ourselves was also faster on two
   cores: about 190 against 150 GFLOP/s on the layers' shapes.) A block
   may go to any thread (dynamic scheduling balances blocks of unequal
   size); what it computes does not depend on which.

   OpenBLAS 0.3.21 picks its kernels by CPU model and falls back to its
   SSE3 ("Prescott") kernels on models it does not know, 5x slower on an
   AVX-512 machine. gpt_tune_environment() re-runs the program with
   OPENBLAS_CORETYPE set to the newest kernel family the CPU supports when
   that happens (see docs/gpt.md). */
#ifndef GPT_BLAS_H
#define GPT_BLAS_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef GPT_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#define GPT_PRAGMA(text) _Pragma(#text)
#define GPT_PARALLEL_FOR GPT_PRAGMA(omp parallel for schedule(static))
#else
#define GPT_PRAGMA(text)
#define GPT_PARALLEL_FOR
#endif

/* Elementwise kernels are built for AVX-512, AVX2 and baseline x86-64 and
   the loader picks one (as ravine's optimizer loops do). Per element the
   arithmetic is the same in every copy (no fused multiply-add, no
   reassociation), so results do not change with the vector width. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && defined(__ELF__)
#define GPT_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GPT_SIMD
#endif

/* C[M x N] = alpha op(A) op(B) + beta C, row-major; ta/tb: 1 = transposed. */
static inline void gpt_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                             int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
#ifdef GPT_HAVE_OPENBLAS
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * (size_t)ldc;
        for (int j = 0; j < N; j++)
            c[j] = beta == 0 ? 0.0f : beta * c[j];
        for (int k = 0; k < K; k++) {
            float a = alpha * (ta ? A[(size_t)k * (size_t)lda + (size_t)i]
                                  : A[(size_t)i * (size_t)lda + (size_t)k]);
            if (tb)
                for (int j = 0; j < N; j++)
                    c[j] += a * B[(size_t)j * (size_t)ldb + (size_t)k];
            else
                for (int j = 0; j < N; j++)
                    c[j] += a * B[(size_t)k * (size_t)ldb + (size_t)j];
        }
    }
#endif
}

/* Blocks: the rows of activations (B*T of them) in groups of GPT_ROWS; a
   weight gradient in bands of GPT_BAND output rows. Larger blocks pack
   each weight matrix fewer times (OpenBLAS copies its operands into
   aligned panels per call); these sizes were the fastest on two cores. */
#define GPT_ROWS 512
#define GPT_BAND 128

/* out[N x OC] = inp[N x C] w[OC x C]^T + bias (bias may be NULL). */
static inline void gpt_matmul_forward(float *out, const float *inp, const float *w,
                                      const float *bias, size_t N, size_t C, size_t OC)
{
    long blocks = (long)((N + GPT_ROWS - 1) / GPT_ROWS);
    GPT_PRAGMA(omp parallel for schedule(dynamic, 1))
    for (long blk = 0; blk < blocks; blk++) {
        size_t r0 = (size_t)blk * GPT_ROWS, rows = N - r0 < GPT_ROWS ? N - r0 : GPT_ROWS;
        float *o = out + r0 * OC;
        if (bias)
            for (size_t r = 0; r < rows; r++)
                memcpy(o + r * OC, bias, OC * sizeof(float));
        gpt_sgemm(0, 1, (int)rows, (int)OC, (int)C, 1.0f, inp + r0 * C, (int)C, w, (int)C,
                  bias ? 1.0f : 0.0f, o, (int)OC);
    }
}

/* Given dout = dLoss/dout of gpt_matmul_forward: dinp = dout w (written),
   dw += dout^T inp, dbias += the column sums of dout (dbias may be NULL).
   The three kinds of block share one work list, handed out one at a time
   (which thread takes a block does not change what it computes). */
static inline void gpt_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout,
                                       const float *inp, const float *w, size_t N, size_t C,
                                       size_t OC)
{
    long row_blocks = (long)((N + GPT_ROWS - 1) / GPT_ROWS);
    long bands = (long)((OC + GPT_BAND - 1) / GPT_BAND);
    long tasks = row_blocks + bands + (dbias ? 1 : 0);
    GPT_PRAGMA(omp parallel for schedule(dynamic, 1))
    for (long task = 0; task < tasks; task++) {
        if (task < bands) {   /* the weight gradient, GPT_BAND rows at a time */
            size_t o0 = (size_t)task * GPT_BAND, no = OC - o0 < GPT_BAND ? OC - o0 : GPT_BAND;
            gpt_sgemm(1, 0, (int)no, (int)C, (int)N, 1.0f, dout + o0, (int)OC, inp, (int)C, 1.0f,
                      dw + o0 * C, (int)C);
        } else if (task < bands + row_blocks) {
            size_t r0 = (size_t)(task - bands) * GPT_ROWS;
            size_t rows = N - r0 < GPT_ROWS ? N - r0 : GPT_ROWS;
            gpt_sgemm(0, 0, (int)rows, (int)C, (int)OC, 1.0f, dout + r0 * OC, (int)OC, w, (int)C,
                      0.0f, dinp + r0 * C, (int)C);
        } else {   /* the bias: each column summed over the rows in order */
            for (size_t n = 0; n < N; n++) {
                const float *d = dout + n * OC;
                for (size_t o = 0; o < OC; o++)
                    dbias[o] += d[o];
            }
        }
    }
}

/* ---- the BLAS in use -------------------------------------------------------- */

/* One line naming the BLAS, for reports: "OpenBLAS 0.3.21 ... (SkylakeX kernels)". */
static inline void gpt_blas_describe(char *buf, size_t size)
{
#ifdef GPT_HAVE_OPENBLAS
    const char *config = openblas_get_config(), *core = openblas_get_corename();
    const char *forced = getenv("OPENBLAS_CORETYPE");
    snprintf(buf, size, "%s (%s kernels%s%s)", config ? config : "OpenBLAS", core ? core : "?",
             forced ? ", OPENBLAS_CORETYPE=" : "", forced ? forced : "");
#else
    snprintf(buf, size, "none (the example's own C loops)");
#endif
}

/* Products run one sgemm per block on the calling thread. */
static inline void gpt_blas_init(void)
{
#ifdef GPT_HAVE_OPENBLAS
    openblas_set_num_threads(1);
#endif
}

/* The kernels OpenBLAS should use, or NULL if its own choice is fine: it
   picks pre-AVX2 kernels on x86 CPUs its table lacks, even when they have
   AVX2 and FMA or AVX-512. */
static inline const char *gpt_blas_better_core(void)
{
#if defined(GPT_HAVE_OPENBLAS) && defined(__x86_64__) && defined(__GNUC__)
    static const char *const old_cores[] = {"Prescott", "Core2",   "Penryn",  "Dunnington",
                                            "Nehalem",  "Atom",    "Banias",  "Katmai",
                                            "Northwood", "Generic", "Sandybridge"};
    const char *core = openblas_get_corename();
    int old = 0;
    for (size_t i = 0; core && i < sizeof old_cores / sizeof old_cores[0]; i++)
        old |= strcasecmp(core, old_cores[i]) == 0;
    if (!old)
        return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return "SKYLAKEX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "HASWELL";
#endif
    return NULL;
}

/* Both settings below are read from the environment when the libraries
   load, so the program sets them and runs itself again (once: the second
   time they are set). Variables the user set are left alone.
   - OPENBLAS_CORETYPE: see gpt_blas_better_core (5x on AVX-512 machines).
   - OMP_WAIT_POLICY=passive: idle OpenMP threads sleep instead of spinning.
     On a machine shared with other work a spinning thread takes the core
     its partner needs; passive waiting doubled the throughput on two busy
     cores and costs about a hundred thread wake-ups per update otherwise.
   Returns only if nothing needed doing or the exec failed. */
static inline void gpt_tune_environment(char **argv)
{
#if defined(__linux__)
    int changed = 0;
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : gpt_blas_better_core();
    if (core && setenv("OPENBLAS_CORETYPE", core, 1) == 0)
        changed = 1;
    if (!getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "passive", 1) == 0)
        changed = 1;
    if (changed) {
        fflush(NULL);
        execv("/proc/self/exe", argv);
    }
#else
    (void)argv;
#endif
}

#endif
