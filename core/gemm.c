#include "gemm.h"
#include "real.h"

#include <cblas.h>

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
