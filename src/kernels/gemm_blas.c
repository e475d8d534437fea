/*
 * gemm_blas.c - the recurrent products of gemm.h through the CBLAS the
 * library links (OpenBLAS or BLIS): the table sn_gemm_ops_blas.
 *
 * The "neon" path of aarch64 (cpu.h) uses it by default: OpenBLAS ships
 * hand-written NEON and SVE kernels for the ARM cores, tuned per core,
 * which our portable 8 x 12 block (gemm_kernel.c, compiled for ARMv8-A
 * and reached with SN_CPU=generic) cannot be shown to beat without an ARM
 * machine to time both on.  Compiled once, on every architecture, so that
 * its correctness is tested everywhere (check_internal_kernels).
 *
 * "Packing" here is a plain row-major copy [k, n] of B (transposed when B
 * is given as Bᵀ), which is what cblas_sgemm reads.  Products on listed
 * rows of A and C (sn_gemm_args.rows, the masked batch rows) go row by row
 * through cblas_sgemv; products summed over listed rows of k (krows) as
 * rank-1 updates (cblas_sger): both avoid gathering copies, for which the
 * interface has no buffer.  The bias is written into C before the product,
 * which then accumulates (beta = 1).
 */
#include <cblas.h>
#include <string.h>

#include "kernels/gemm.h"

enum { BLAS_ROW_BLOCK = 8, BLAS_COL_BLOCK = 16 };

static size_t blas_packed_floats(int k, int n)
{
    return (size_t)k * (size_t)n;
}

/* No packing buffer is used; a non-empty one keeps callers' allocations
 * from being of size 0. */
static size_t blas_pack_buffer_floats(int n)
{
    return n > 0 ? (size_t)n : 1;
}

static void blas_pack_b(int k, int n, const float *b, int ldb,
                        bool b_transposed, float *packed)
{
    for (int p = 0; p < k; p++) {
        float *row = packed + (size_t)p * n;
        if (!b_transposed) {
            memcpy(row, b + (size_t)p * ldb, (size_t)n * sizeof *row);
            continue;
        }
        for (int j = 0; j < n; j++)
            row[j] = b[(size_t)j * ldb + p];
    }
}

static void blas_pack_b_stacked(int k1, const float *b1, int k2,
                                const float *b2, int n, int ldb,
                                float *packed)
{
    blas_pack_b(k1, n, b1, ldb, false, packed);
    blas_pack_b(k2, n, b2, ldb, false, packed + (size_t)k1 * n);
}

/* One row of C before the product adds to it: the bias (or zeros), plus
 * what it held when accumulating. */
static void start_row(float *c, int n, bool accumulate, const float *bias)
{
    if (!accumulate) {
        if (bias != NULL)
            memcpy(c, bias, (size_t)n * sizeof *c);
        else
            memset(c, 0, (size_t)n * sizeof *c);
        return;
    }
    if (bias != NULL)
        for (int j = 0; j < n; j++)
            c[j] += bias[j];
}

static int row_of(const int *rows, int i)
{
    return rows != NULL ? rows[i] : i;
}

/* c[n] += a[k] . B, B [k, n] row-major (or stored [n, k] when bt); a's
 * elements inca apart. */
static void row_times_b(int n, int k, const float *a, int inca,
                        const float *b, int ldb, bool bt, float *c)
{
    if (k == 0)
        return;
    if (bt)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, b, ldb, a,
                    inca, 1.0f, c, 1);
    else
        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, b, ldb, a, inca,
                    1.0f, c, 1);
}

/* C (+)= A.B + bias with A's rows (rows of C too) listed or not; no krows. */
static void product(const sn_gemm_args *g)
{
    for (int i = 0; i < g->m; i++)
        start_row(g->c + (size_t)row_of(g->rows, i) * g->ldc, g->n,
                  g->accumulate, g->bias);
    if (g->k == 0)
        return;
    if (g->rows == NULL) {
        cblas_sgemm(CblasRowMajor, g->a_transposed ? CblasTrans : CblasNoTrans,
                    g->b_transposed ? CblasTrans : CblasNoTrans, g->m, g->n,
                    g->k, 1.0f, g->a, g->lda, g->b, g->ldb, 1.0f, g->c,
                    g->ldc);
        return;
    }
    for (int i = 0; i < g->m; i++) {
        int r = g->rows[i];
        const float *a = g->a_transposed ? g->a + r : g->a + (size_t)r * g->lda;
        row_times_b(g->n, g->k, a, g->a_transposed ? g->lda : 1, g->b, g->ldb,
                    g->b_transposed, g->c + (size_t)r * g->ldc);
    }
}

/* The sum over the listed stored rows krows of Aᵀ (A stored [k, m]) and B:
 * one rank-1 update of C per listed row. */
static void product_krows(const sn_gemm_args *g)
{
    for (int i = 0; i < g->m; i++)
        start_row(g->c + (size_t)row_of(g->rows, i) * g->ldc, g->n,
                  g->accumulate, g->bias);
    for (int p = 0; p < g->k; p++) {
        int kp = g->krows[p];
        const float *a = g->a + (size_t)kp * g->lda;
        const float *b = g->b_transposed ? g->b + kp : g->b + (size_t)kp * g->ldb;
        int incb = g->b_transposed ? g->ldb : 1;
        if (g->rows == NULL) {
            cblas_sger(CblasRowMajor, g->m, g->n, 1.0f, a, 1, b, incb, g->c,
                       g->ldc);
            continue;
        }
        for (int i = 0; i < g->m; i++) {
            int r = g->rows[i];
            cblas_saxpy(g->n, a[r], b, incb, g->c + (size_t)r * g->ldc, 1);
        }
    }
}

static void blas_general(const sn_gemm_args *g, float *pack_buf)
{
    (void)pack_buf;
    if (g->m <= 0 || g->n <= 0)
        return;
    if (g->krows != NULL && g->a_transposed)
        product_krows(g);
    else
        product(g);
}

static void blas_nn_packed(int m, int n, int k, const float *a, int lda,
                           const float *packed, float *c, int ldc,
                           bool accumulate)
{
    sn_gemm_args g = { .m = m, .n = n, .k = k, .a = a, .lda = lda,
                       .b = packed, .ldb = n, .c = c, .ldc = ldc,
                       .accumulate = accumulate };
    blas_general(&g, NULL);
}

static void blas_nn_packed_rows(int m, const int *rows, int n, int k,
                                const float *a, int lda, const float *packed,
                                float *c, int ldc)
{
    sn_gemm_args g = { .m = m, .n = n, .k = k, .a = a, .lda = lda,
                       .b = packed, .ldb = n, .c = c, .ldc = ldc,
                       .rows = rows };
    blas_general(&g, NULL);
}

/* C = [A1 | A2] . [P1; P2] + bias as C = A1.P1 + bias, then C += A2.P2. */
static void blas_split_packed(const sn_gemm_split *g)
{
    sn_gemm_args g1 = { .m = g->m, .n = g->n, .k = g->k1, .a = g->a1,
                        .lda = g->lda1, .b = g->packed, .ldb = g->n,
                        .c = g->c, .ldc = g->ldc, .bias = g->bias,
                        .rows = g->rows };
    blas_general(&g1, NULL);
    sn_gemm_args g2 = { .m = g->m, .n = g->n, .k = g->k2, .a = g->a2,
                        .lda = g->lda2, .b = g->packed + (size_t)g->k1 * g->n,
                        .ldb = g->n, .c = g->c, .ldc = g->ldc,
                        .accumulate = true, .rows = g->rows };
    blas_general(&g2, NULL);
}

/* Rows [r1, r1+m1) of C1 += A1ᵀ.B and [r2, r2+m2) of C2 += A2ᵀ.B. */
static void blas_pair_rows(const sn_gemm_pair *g, int r1, int m1, int r2,
                           int m2, float *pack_buf)
{
    sn_gemm_args g1 = { .a_transposed = true, .m = m1, .n = g->n, .k = g->k,
                        .a = g->a1 + r1, .lda = g->lda1, .b = g->b,
                        .ldb = g->ldb, .c = g->c1 + (size_t)r1 * g->ldc,
                        .ldc = g->ldc, .accumulate = true, .krows = g->krows };
    blas_general(&g1, pack_buf);
    sn_gemm_args g2 = g1;
    g2.m = m2;
    g2.a = g->a2 + r2;
    g2.lda = g->lda2;
    g2.c = g->c2 + (size_t)r2 * g->ldc;
    blas_general(&g2, pack_buf);
}

const sn_gemm_ops sn_gemm_ops_blas = {
    .row_block = BLAS_ROW_BLOCK,
    .col_block = BLAS_COL_BLOCK,
    .packed_floats = blas_packed_floats,
    .pack_buffer_floats = blas_pack_buffer_floats,
    .pack_b = blas_pack_b,
    .pack_b_stacked = blas_pack_b_stacked,
    .split_packed = blas_split_packed,
    .nn_packed = blas_nn_packed,
    .nn_packed_rows = blas_nn_packed_rows,
    .general = blas_general,
    .pair_rows = blas_pair_rows,
};
