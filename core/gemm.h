/* Row-major GEMM: C = alpha * op(A) * op(B) + beta * C, op = transpose when trans_*.
 * op(A) is [M,K], op(B) is [K,N], C is [M,N]; lda/ldb/ldc are row strides.
 * nerve_gemm goes to OpenBLAS; nerve_gemm_ref is the naive loop kept beside it
 * and compared with it in tests. _f64 variants serve the double-precision tests. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

void nerve_gemm (gboolean trans_a, gboolean trans_b, int M, int N, int K,
                 float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);
void nerve_gemm_ref (gboolean trans_a, gboolean trans_b, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc);
void nerve_gemm_f64 (gboolean trans_a, gboolean trans_b, int M, int N, int K,
                     double alpha, const double *A, int lda, const double *B, int ldb,
                     double beta, double *C, int ldc);
void nerve_gemm_ref_f64 (gboolean trans_a, gboolean trans_b, int M, int N, int K,
                         double alpha, const double *A, int lda, const double *B, int ldb,
                         double beta, double *C, int ldc);

/* OpenBLAS threads are process-global; streaming elements use 1 by default. */
void nerve_set_threads (int n);
int nerve_get_threads (void);

G_END_DECLS
