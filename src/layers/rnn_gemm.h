/* rnn_gemm.h - the single-threaded step product of the recurrent layers. */
#ifndef SN_RNN_GEMM_H
#define SN_RNN_GEMM_H

#include "internal.h"

/* C = A.B, or C += A.B with accumulate; A [m, k], B [k, n], C [m, n],
 * row-major with leading dimensions lda, ldb, ldc. */
void sn_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b,
                int ldb, float *c, int ldc, bool accumulate);

/* The same with A stored transposed: element (i, p) at a[p*lda + i]. */
void sn_gemm_tn(int m, int n, int k, const float *a, int lda, const float *b,
                int ldb, float *c, int ldc, bool accumulate);

enum { SN_GEMM_MAX_PARTS = 8 };

/* sn_gemm_nn / sn_gemm_tn with the rows of C split over `parts` threads
 * (the calling thread takes the first share). */
void sn_gemm_parallel(bool a_transposed, int m, int n, int k, const float *a,
                      int lda, const float *b, int ldb, float *c, int ldc,
                      bool accumulate, int parts);

#endif /* SN_RNN_GEMM_H */
