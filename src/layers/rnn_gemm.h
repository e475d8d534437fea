/* rnn_gemm.h - the recurrent layers' own matrix products (rnn_gemm.c). */
#ifndef SN_RNN_GEMM_H
#define SN_RNN_GEMM_H

#include "internal.h"

enum { SN_GEMM_MAX_PARTS = 8 };

/* Floats of a packed [k, n] B (for sn_gemm_pack_b). */
size_t sn_gemm_packed_floats(int k, int n);
/* Floats of one thread's packing buffer for a product with n columns. */
size_t sn_gemm_pack_buffer_floats(int n);

/* Packs B [k, n] (or Bᵀ stored [n, k] when b_transposed) for
 * sn_gemm_nn_packed: constant operands such as the recurrent kernel are
 * packed once per pass, not once per time step. */
void sn_gemm_pack_b(int k, int n, const float *b, int ldb, bool b_transposed,
                    float *packed);

/* C = A.B, or C += A.B with accumulate; A [m, k] row-major, B packed. */
void sn_gemm_nn_packed(int m, int n, int k, const float *a, int lda,
                       const float *packed, float *c, int ldc,
                       bool accumulate);

/* A general product split by rows of C over `parts` threads (the caller
 * takes the first share).  pack_bufs: parts times
 * sn_gemm_pack_buffer_floats(n) floats. */
typedef struct sn_gemm_args {
    bool a_transposed;   /* A stored [k, m]                              */
    bool b_transposed;   /* B stored [n, k]                              */
    int m, n, k;
    const float *a;
    int lda;
    const float *b;
    int ldb;
    float *c;
    int ldc;
    bool accumulate;
} sn_gemm_args;

void sn_gemm_parallel(const sn_gemm_args *g, int parts, float *pack_bufs);

/* C1 += A1ᵀ.B and C2 += A2ᵀ.B with one B (the weight gradients dK and dR
 * from one dZ): each panel of B is packed once for both.  A1 is stored
 * [k, m1], A2 [k, m2], B [k, n], C1 [m1, n], C2 [m2, n] (both ldc). */
typedef struct sn_gemm_pair {
    int k, n;
    const float *b;
    int ldb;
    const float *a1;
    int lda1, m1;
    float *c1;
    const float *a2;
    int lda2, m2;
    float *c2;
    int ldc;
} sn_gemm_pair;

void sn_gemm_tn_pair(const sn_gemm_pair *g, int parts, float *pack_bufs);

#endif /* SN_RNN_GEMM_H */
