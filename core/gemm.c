#include "gemm.h"
#include "real.h"

#include <cblas.h>

#ifdef NERVE_F64
#define GEMV cblas_dgemv
#else
#define GEMV cblas_sgemv
#endif

void
NK (nerve_gemm_ref) (gboolean trans_a, gboolean trans_b, int M, int N, int K,
                     nreal alpha, const nreal *A, int lda, const nreal *B, int ldb,
                     nreal beta, nreal *C, int ldc)
{
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      nreal acc = 0;
      for (int k = 0; k < K; k++) {
        nreal a = trans_a ? A[(gsize) k * lda + i] : A[(gsize) i * lda + k];
        nreal b = trans_b ? B[(gsize) j * ldb + k] : B[(gsize) k * ldb + j];
        acc += a * b;
      }
      nreal *c = &C[(gsize) i * ldc + j];
      *c = alpha * acc + (beta == 0 ? 0 : beta * *c);
    }
}

void
NK (nerve_gemm) (gboolean trans_a, gboolean trans_b, int M, int N, int K,
                 nreal alpha, const nreal *A, int lda, const nreal *B, int ldb,
                 nreal beta, nreal *C, int ldc)
{
  if (M <= 0 || N <= 0)
    return;
  /* One row or column is a matrix-vector product: GEMM would repack the whole matrix
   * per call, GEMV streams it once (5x faster for batch-1 inference). beta == 0 must
   * not read C, so clear it first. */
  if (M == 1 || N == 1) {
    if (beta == 0)
      for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
          C[(gsize) i * ldc + j] = 0;
    if (M == 1) /* c[N] = op(B)ᵀ a, a = row 0 of op(A) */
      GEMV (CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, trans_b ? N : K, trans_b ? K : N, alpha, B,
            ldb, A, trans_a ? lda : 1, beta, C, 1);
    else /* c[M] = op(A) b, b = column 0 of op(B) */
      GEMV (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_a ? K : M, trans_a ? M : K, alpha, A,
            lda, B, trans_b ? 1 : ldb, beta, C, ldc);
    return;
  }
#ifdef NERVE_F64
  cblas_dgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
               beta, C, ldc);
#else
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
               beta, C, ldc);
#endif
}

#ifndef NERVE_F64
void
nerve_set_threads (int n)
{
  openblas_set_num_threads (n < 1 ? 1 : n);
}

int
nerve_get_threads (void)
{
  return openblas_get_num_threads ();
}
#endif
