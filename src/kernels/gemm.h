/*
 * gemm.h - the recurrent layers' own matrix products.
 *
 * gemm_kernel.c is compiled once per instruction-set path (cpu.h), each
 * copy with a register block sized for that path's vector registers, and
 * exports one table of entry points (sn_gemm_ops); gemm.c forwards the
 * calls below to the table of the path in use and splits the large
 * products over a thread pool (threadpool.h).  Packed operands are laid
 * out for one path: pack and multiply through the same process.
 */
#ifndef SN_KERNELS_GEMM_H
#define SN_KERNELS_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/cpu.h"
#include "kernels/threadpool.h"

enum { SN_GEMM_MAX_PARTS = SN_POOL_MAX_THREADS };

/* Rows of C the active kernel computes together (its register block):
 * products with fewer rows waste most of the block. */
int sn_gemm_row_block(void);

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

void sn_gemm_parallel(const sn_gemm_args *g, sn_pool *pool, int parts,
                      float *pack_bufs);

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

void sn_gemm_tn_pair(const sn_gemm_pair *g, sn_pool *pool, int parts,
                     float *pack_bufs);

/* ------------------------------------------------- one path's kernels */

/* What each copy of gemm_kernel.c provides; all single-threaded.
 * general: sn_gemm_args on one thread with one packing buffer.
 * pair_rows: rows [r1, r1+m1) of C1 and [r2, r2+m2) of C2 of a pair. */
typedef struct sn_gemm_ops {
    int row_block;   /* MR: rows of C in the register block            */
    int col_block;   /* NR: columns of C in it (B's packing width)     */
    size_t (*packed_floats)(int k, int n);
    size_t (*pack_buffer_floats)(int n);
    void (*pack_b)(int k, int n, const float *b, int ldb, bool b_transposed,
                   float *packed);
    void (*pack_b_stacked)(int k1, const float *b1, int k2, const float *b2,
                           int n, int ldb, float *packed);
    void (*split_packed)(const sn_gemm_split *g);
    void (*nn_packed)(int m, int n, int k, const float *a, int lda,
                      const float *packed, float *c, int ldc,
                      bool accumulate);
    void (*nn_packed_rows)(int m, const int *rows, int n, int k,
                           const float *a, int lda, const float *packed,
                           float *c, int ldc);
    void (*general)(const sn_gemm_args *g, float *pack_buf);
    void (*pair_rows)(const sn_gemm_pair *g, int r1, int m1, int r2, int m2,
                      float *pack_buf);
} sn_gemm_ops;

/* The copies the build compiled (the x86 ones with SN_X86_KERNELS), and
 * the CBLAS table (gemm_blas.c: every build; the neon path's). */
extern const sn_gemm_ops sn_gemm_ops_blas;
extern const sn_gemm_ops sn_gemm_ops_generic;
extern const sn_gemm_ops sn_gemm_ops_avx2;
extern const sn_gemm_ops sn_gemm_ops_avx512;

/* The table of a path, NULL when the build has none for it. */
const sn_gemm_ops *sn_gemm_ops_for(sn_isa isa);
/* The table of the path in use. */
const sn_gemm_ops *sn_gemm_active(void);

#endif /* SN_KERNELS_GEMM_H */
