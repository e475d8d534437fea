/* rnn_gemm.h - the recurrent layers' own matrix products (rnn_gemm.c). */
#ifndef SN_RNN_GEMM_H
#define SN_RNN_GEMM_H

#include "internal.h"

enum { SN_GEMM_MAX_PARTS = 8 };
/* Rows of C the kernel computes together (its register block). */
enum { SN_GEMM_ROW_BLOCK = 8 };

/* Floats of a packed [k, n] B (for sn_gemm_pack_b). */
size_t sn_gemm_packed_floats(int k, int n);
/* Floats of one thread's packing buffer for a product with n columns. */
size_t sn_gemm_pack_buffer_floats(int n);

/* Packs B [k, n] (or Bᵀ stored [n, k] when b_transposed) for
 * sn_gemm_nn_packed: constant operands such as the recurrent kernel are
 * packed once per pass, not once per time step. */
void sn_gemm_pack_b(int k, int n, const float *b, int ldb, bool b_transposed,
                    float *packed);

/* Packs the stacked [B1; B2] (B1 [k1, n], B2 [k2, n], both ldb) as one
 * [k1 + k2, n] operand for sn_gemm_split_packed. */
void sn_gemm_pack_b_stacked(int k1, const float *b1, int k2, const float *b2,
                            int n, int ldb, float *packed);

/* C = [A1 | A2] . packed + bias: A1 [m, k1] and A2 [m, k2] side by side
 * without copying them together (the fused step product [x_t | h].[K; R]). */
typedef struct sn_gemm_split {
    int m, n;
    const float *a1;
    int lda1, k1;
    const float *a2;
    int lda2, k2;
    const float *packed;  /* from sn_gemm_pack_b_stacked(k1, .., k2, ..) */
    const float *bias;    /* [n] or NULL                                 */
    float *c;
    int ldc;
    const int *rows;      /* m row indices of A1, A2 and C, or NULL = 0.. */
} sn_gemm_split;

void sn_gemm_split_packed(const sn_gemm_split *g);

/* C = A.B, or C += A.B with accumulate; A [m, k] row-major, B packed. */
void sn_gemm_nn_packed(int m, int n, int k, const float *a, int lda,
                       const float *packed, float *c, int ldc,
                       bool accumulate);
/* C = A.B on the m rows listed in rows (of both A and C) only. */
void sn_gemm_nn_packed_rows(int m, const int *rows, int n, int k,
                            const float *a, int lda, const float *packed,
                            float *c, int ldc);

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
    const float *bias;   /* [n] added to every row of C, or NULL         */
    const int *rows;     /* m row indices of A and C (A not transposed),
                            or NULL = rows 0..m-1                        */
    const int *krows;    /* A transposed, B plain: k stored row indices
                            of both (the sum runs over those), or NULL   */
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
    const int *krows;     /* k row indices of B, A1 and A2 (the sum runs
                             over those rows only), or NULL = 0..k-1      */
} sn_gemm_pair;

void sn_gemm_tn_pair(const sn_gemm_pair *g, int parts, float *pack_bufs);

#endif /* SN_RNN_GEMM_H */
