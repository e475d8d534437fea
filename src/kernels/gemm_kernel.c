/*
 * gemm_kernel.c - the matrix products of the recurrent layers on one
 * thread, C[m, n] (+)= A[m, k] . B[k, n], row-major with leading
 * dimensions.  Compiled once per instruction-set path (cpu.h) with that
 * path's -march flags; each copy exports one table, SN_GEMM_OPS (named by
 * the build: sn_gemm_ops_avx512, _avx2, _generic).  gemm.c dispatches and
 * splits products over threads.
 *
 * Why not CBLAS: the recurrent time loop runs on several threads at once,
 * one slice of the batch each, and a multi-threaded BLAS called beside
 * them either fights them for the cores (its idle workers spin) or
 * serialises them.  The step products also read their operands in place
 * (the fused [x_t | h] of two arrays, listed rows only), which a BLAS
 * call would need copies for.
 *
 * Scheme (the classic one): B is packed into column blocks of NR floats,
 * each [k][NR] contiguous, so the inner loop reads B sequentially and
 * power-of-two leading dimensions cannot thrash the L1 cache; the inner
 * dimension goes in panels of KC so a packed panel stays in L2; an MR x NR
 * block of C lives in vector registers while its MR rows of A, packed
 * [kc][MR] so one pointer walks them, sit in L1 and the packed column
 * blocks stream past from L2.  The bias, when given, is added as the
 * block is stored, saving a pass over C.
 *
 * The register block per path (accumulators + B loads + the broadcast A
 * must fit the vector registers, or the accumulators spill to memory):
 *   AVX-512  32 zmm: 8 x 32 = 8 rows x 2 vectors = 16 accumulators
 *   AVX2     16 ymm: 6 x 16 = 6 rows x 2 vectors = 12 accumulators
 *   generic  16 xmm (SSE2, no FMA): 4 x 16 = 16 accumulators, which
 *            spills a few registers but measured faster than 6 x 8 (12
 *            accumulators, no spill): SSE2 has no broadcast load, so each
 *            A value costs a shuffle, and 4 x 16 needs fewer of them
 *   aarch64  32 NEON registers (with FMA): 8 x 12 = 24 accumulators
 *            (not measured: no ARM machine here)
 */
#include <limits.h>
#include <string.h>

#include "kernels/gemm.h"

#ifndef SN_GEMM_OPS
#define SN_GEMM_OPS sn_gemm_ops_generic
#endif

/* VL floats per vector, NV vectors per row of the block. */
#if defined(__AVX512F__)
enum { VL = 16, NV = 2, MR = 8 };
#elif defined(__AVX2__) && defined(__FMA__)
enum { VL = 8, NV = 2, MR = 6 };
#elif defined(__aarch64__)
enum { VL = 4, NV = 3, MR = 8 };
#else
enum { VL = 4, NV = 4, MR = 4 };
#endif
/* KC 256 for every path: 128 and 512 measured slower on AVX2 too (more
 * passes over C, or a B panel that no longer fits L2). */
enum { NR = VL * NV, KC = 256 };

typedef float vecf __attribute__((vector_size(VL * sizeof(float)),
                                  aligned(4), may_alias));

/* An unaligned vector load: one instruction, no copy through memory. */
static inline vecf load(const float *p)
{
    return *(const vecf *)p;
}

static int round_up(int n, int to)
{
    return (n + to - 1) / to * to;
}

static size_t gemm_packed_floats(int k, int n)
{
    return (size_t)k * (size_t)round_up(n, NR);
}

static size_t gemm_pack_buffer_floats(int n)
{
    return gemm_packed_floats(KC, n);
}

/* Row i of a product whose rows are listed in rows (NULL: row i). */
static int row_of(const int *rows, int i)
{
    return rows != NULL ? rows[i] : i;
}

/* Where the rows of a plain (not transposed) B are: row p is at
 * b + row_of(krows, p) * ldb (krows: the real steps' dZ rows), or from
 * row k1 on at b2 + (p - k1) * ldb (the stacked [K; R] of the fused step). */
typedef struct b_src {
    const float *b;
    int ldb;
    const int *krows;
    int k1;
    const float *b2;
} b_src;

static const float *b_row(const b_src *B, int p)
{
    if (p >= B->k1)
        return B->b2 + (size_t)(p - B->k1) * B->ldb;
    return B->b + (size_t)row_of(B->krows, p) * B->ldb;
}

/* Rows p0..p0+k of B into column blocks [k][NR], zero-padded past n.
 * Row by row: each source row is read once, front to back, and its
 * pieces go to the blocks (reading the blocks' columns down the rows
 * instead measured slower: strided reads miss the prefetcher). */
static void pack_plain(const b_src *B, int p0, int k, int n, float *packed)
{
    int full = n / NR, rest = n - full * NR;
    for (int p = 0; p < k; p++) {
        const float *src = b_row(B, p0 + p);
        float *row = packed + (size_t)p * NR;
        for (int jb = 0; jb < full; jb++)
            memcpy(row + (size_t)jb * k * NR, src + jb * NR,
                   NR * sizeof *row);
        if (rest > 0) {
            float *last = row + (size_t)full * k * NR;
            for (int j = 0; j < NR; j++)
                last[j] = j < rest ? src[full * NR + j] : 0.0f;
        }
    }
}

/* The same for a B stored transposed, [n, k] (Rᵀ, Kᵀ): element (p, j)
 * is b[j*ldb + p]. */
static void pack_transposed(int k, int n, const float *b, int ldb,
                            float *packed)
{
    for (int j0 = 0, jb = 0; j0 < n; j0 += NR, jb++) {
        float *dst = packed + (size_t)jb * k * NR;
        int nr = n - j0 < NR ? n - j0 : NR;
        for (int p = 0; p < k; p++)
            for (int j = 0; j < NR; j++)
                dst[(size_t)p * NR + j] =
                    j < nr ? b[(size_t)(j0 + j) * ldb + p] : 0.0f;
    }
}

static void gemm_pack_b(int k, int n, const float *b, int ldb, bool b_transposed,
                        float *packed)
{
    if (b_transposed) {
        pack_transposed(k, n, b, ldb, packed);
        return;
    }
    b_src B = { b, ldb, NULL, INT_MAX, NULL };
    pack_plain(&B, 0, k, n, packed);
}

static void gemm_pack_b_stacked(int k1, const float *b1, int k2, const float *b2,
                            int n, int ldb, float *packed)
{
    b_src B = { b1, ldb, NULL, k1, b2 };
    pack_plain(&B, 0, k1 + k2, n, packed);
}

/* Where A's elements are: a[i*lda + p], or a[p*lda + i] when stored
 * transposed (at: the weight-gradient products xᵀ.dZ).  Columns from k1
 * on come from a second matrix a2 (never transposed): the fused step
 * product [x_t | h] . [K; R] reads the input and the state in place.
 * rows, when set, maps row i of the product to row rows[i] of A and of C
 * (the time loop's rows that are not padding at this step); krows maps
 * step p of a transposed A to its stored row krows[p] (the weight
 * gradients summed over real steps only). */
typedef struct a_src {
    const float *a;
    int lda;
    bool at;
    int k1;
    const float *a2;
    int lda2;
    const int *rows;
    const int *krows;
} a_src;

/* Columns p0..p0+kc of rows i0..i0+MR of one plain matrix into ap
 * [kc][MR]; rows past mr stay as they are (zeroed by the caller). */
static void pack_a_part(int mr, int kc, const float *a, int lda,
                                  bool at, const int *rows,
                                  const int *krows, int i0, int p0,
                                  float *ap)
{
    if (at) {
        /* a constant-size copy for full blocks: inlined, not a call */
        for (int p = 0; p < kc; p++) {
            const float *src = a + (size_t)row_of(krows, p0 + p) * lda + i0;
            if (mr == MR)
                memcpy(ap + (size_t)p * MR, src, MR * sizeof *ap);
            else
                memcpy(ap + (size_t)p * MR, src, (size_t)mr * sizeof *ap);
        }
        return;
    }
    const float *src[MR];
    for (int i = 0; i < mr; i++)
        src[i] = a + (size_t)row_of(rows, i0 + i) * lda + p0;
    if (mr < MR) {
        for (int i = 0; i < mr; i++)
            for (int p = 0; p < kc; p++)
                ap[(size_t)p * MR + i] = src[i][p];
        return;
    }
    /* step-major: MR sequential row streams in, one contiguous MR-float
     * group out per step */
    for (int p = 0; p < kc; p++) {
        float group[MR];
        for (int i = 0; i < MR; i++)
            group[i] = src[i][p];
        memcpy(ap + (size_t)p * MR, group, sizeof group);
    }
}

/* Copies rows i0..i0+mr, steps p0..p0+kc of A into ap [kc][MR]: the MR
 * values the kernel broadcasts at step p lie side by side, so the inner
 * loop walks one pointer instead of MR rows a stride apart (which cost
 * registers and, at power-of-two strides, L1 sets).  Rows past mr are 0. */
static void pack_a(int mr, int kc, const a_src *A, int i0, int p0, float *ap)
{
    if (mr < MR)
        memset(ap, 0, (size_t)kc * MR * sizeof *ap);
    int n1 = A->k1 - p0;
    n1 = n1 < 0 ? 0 : n1 > kc ? kc : n1;
    if (n1 > 0)
        pack_a_part(mr, n1, A->a, A->lda, A->at, A->rows, A->krows, i0, p0,
                    ap);
    if (n1 < kc)
        pack_a_part(mr, kc - n1, A->a2, A->lda2, false, A->rows, NULL, i0,
                    p0 + n1 - A->k1, ap + (size_t)n1 * MR);
}

/* Writes (or adds) nr columns of one accumulator row, plus bias. */
__attribute__((always_inline)) static inline void
store(float *c, const vecf *v, int nr, bool accumulate, const float *bias)
{
    if (nr == NR) {
        for (int q = 0; q < NV; q++) {
            vecf r = v[q], t;
            if (bias != NULL) {
                memcpy(&t, bias + q * VL, sizeof t);
                r += t;
            }
            if (accumulate) {
                memcpy(&t, c + q * VL, sizeof t);
                r += t;
            }
            memcpy(c + q * VL, &r, sizeof r);
        }
        return;
    }
    float tmp[NR];
    memcpy(tmp, v, sizeof tmp);
    for (int j = 0; j < nr; j++) {
        float x = tmp[j] + (bias != NULL ? bias[j] : 0.0f);
        c[j] = accumulate ? c[j] + x : x;
    }
}

/* out[MR][NV] = Apanel[kc][MR] . Bpanel[kc][NR]: the register block; per
 * step NV vector loads of B, MR broadcasts of A, MR * NV FMAs.  The
 * accumulators are a local array written out once at the end, and the
 * loops over it fully unrolled, so that GCC keeps every element in a
 * register (an array reached through a pointer stays in memory). */
__attribute__((always_inline)) static inline void
kernel_full(int kc, const float *ap, const float *bp, size_t bstep,
            vecf out[MR][NV])
{
    vecf acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++)
            acc[i][q] = (vecf){ 0 };
    for (int p = 0; p < kc; p++) {
        vecf b[NV];
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++)
            b[q] = load(bp + (size_t)p * bstep + q * VL);
        const float *av = ap + (size_t)p * MR;
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
            for (int q = 0; q < NV; q++)
                acc[i][q] += av[i] * b[q];
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++)
            out[i][q] = acc[i][q];
}

/* One row of the block (batch 1, slice ends): no work on padding rows. */
__attribute__((always_inline)) static inline void
kernel_row(int kc, const float *ap, const float *bp, size_t bstep,
           vecf acc[NV])
{
    memset(acc, 0, sizeof(vecf) * NV);
    for (int p = 0; p < kc; p++) {
        float av = ap[(size_t)p * MR];
#pragma GCC unroll 4
        for (int q = 0; q < NV; q++)
            acc[q] += av * load(bp + (size_t)p * bstep + q * VL);
    }
}

/* Where B's column blocks are: block jb, row p at base + jb * block_step
 * + p * row_step.  Packed ([kb][NR] per block): block_step kb * NR,
 * row_step NR.  Read in place (a plain B whose width is whole blocks):
 * block_step NR, row_step ldb. */
typedef struct b_panel {
    const float *base;
    size_t block_step, row_step;
} b_panel;

static b_panel packed_panel(const float *packed, int kb)
{
    return (b_panel){ packed, (size_t)kb * NR, NR };
}

/* One MR-row block of C (its rows at crow[i]) against every column
 * block, for the k-panel p0..p0+kc of B.  A part block of two or more
 * rows runs the full kernel on A's zero rows (one pass over B, where each
 * row alone would stream B again); a single row (batch 1) takes the
 * one-row kernel. */
__attribute__((always_inline)) static inline void
block_panel(int mr, int n, const b_panel *B, int p0, int kc, const float *ap,
            float *const *crow, bool accumulate, const float *bias)
{
    for (int j0 = 0, jb = 0; j0 < n; j0 += NR, jb++) {
        int nr = n - j0 < NR ? n - j0 : NR;
        const float *bp = B->base + (size_t)jb * B->block_step +
                          (size_t)p0 * B->row_step;
        const float *bj = bias != NULL ? bias + j0 : NULL;
        if (mr > 1) {
            vecf acc[MR][NV];
            kernel_full(kc, ap, bp, B->row_step, acc);
            for (int i = 0; i < mr; i++)
                store(crow[i] + j0, acc[i], nr, accumulate, bj);
        } else {
            vecf acc[NV];
            kernel_row(kc, ap, bp, B->row_step, acc);
            store(crow[0] + j0, acc, nr, accumulate, bj);
        }
    }
}

/* C (+)= A . B (+ bias), k rows of B: row block by row block, the A
 * block packed one k-panel at a time. */
static void gemm_packed(int m, int n, int k, const a_src *A, const b_panel *B,
                        float *c, int ldc, bool accumulate, const float *bias)
{
    float ap[KC * MR] __attribute__((aligned(64)));
    for (int i0 = 0; i0 < m; i0 += MR) {
        int mr = m - i0 < MR ? m - i0 : MR;
        float *crow[MR];
        for (int i = 0; i < mr; i++)
            crow[i] = c + (size_t)row_of(A->rows, i0 + i) * ldc;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            pack_a(mr, kc, A, i0, p0, ap);
            block_panel(mr, n, B, p0, kc, ap, crow, accumulate || p0 > 0,
                        p0 == 0 ? bias : NULL);
        }
    }
}

/* A plain (or transposed) A. */
static a_src plain(const float *a, int lda, bool at)
{
    return (a_src){ a, lda, at, INT_MAX, NULL, 0, NULL, NULL };
}

/* The k-panel from step p0 of a transposed A: its stored rows from p0 on,
 * or those krows[p0..] names. */
static a_src panel_at(const float *a, int lda, const int *krows, int p0)
{
    if (krows == NULL)
        return plain(a + (size_t)p0 * lda, lda, true);
    a_src A = plain(a, lda, true);
    A.krows = krows + p0;
    return A;
}

static void gemm_nn_packed(int m, int n, int k, const float *a, int lda,
                       const float *packed, float *c, int ldc,
                       bool accumulate)
{
    a_src A = plain(a, lda, false);
    b_panel B = packed_panel(packed, k);
    gemm_packed(m, n, k, &A, &B, c, ldc, accumulate, NULL);
}

static void gemm_nn_packed_rows(int m, const int *rows, int n, int k,
                            const float *a, int lda, const float *packed,
                            float *c, int ldc)
{
    a_src A = plain(a, lda, false);
    A.rows = rows;
    b_panel B = packed_panel(packed, k);
    gemm_packed(m, n, k, &A, &B, c, ldc, false, NULL);
}

static void gemm_split_packed(const sn_gemm_split *g)
{
    a_src A = { g->a1, g->lda1, false, g->k1, g->a2, g->lda2, g->rows,
                NULL };
    b_panel B = packed_panel(g->packed, g->k1 + g->k2);
    gemm_packed(g->m, g->n, g->k1 + g->k2, &A, &B, g->c, g->ldc, false,
                g->bias);
}

/* A plain B (no row list) whose width is whole column blocks is read in
 * place, row_step ldb: packing it would cost a pass over B (the weight
 * gradients' dZ, all steps) for no gain, as the kernel reads a k-panel of
 * a block front to back either way.  Anything else is packed per panel
 * into pack_buf. */
static bool b_in_place(int n, bool bt, const int *krows)
{
    return !bt && krows == NULL && n % NR == 0;
}

/* The k-panel p0..p0+kc of B: in place, or packed into pack_buf. */
static b_panel b_panel_at(int p0, int kc, int n, const float *b, int ldb,
                          bool bt, const int *krows, float *pack_buf)
{
    if (b_in_place(n, bt, krows))
        return (b_panel){ b + (size_t)p0 * ldb, NR, (size_t)ldb };
    if (bt) {
        pack_transposed(kc, n, b + p0, ldb, pack_buf);
    } else {
        b_src src = { b, ldb, krows, INT_MAX, NULL };
        pack_plain(&src, p0, kc, n, pack_buf);
    }
    return packed_panel(pack_buf, kc);
}

/* The general product, B panel by panel (sn_gemm_pack_buffer_floats(n)
 * floats of pack_buf); rows as in a_src. */
static void gemm(int m, int n, int k, const float *a, int lda, bool at,
                 const float *b, int ldb, bool bt, float *c, int ldc,
                 bool accumulate, const float *bias, const int *rows,
                 const int *krows, float *pack_buf)
{
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        a_src A = at ? panel_at(a, lda, krows, p0) : plain(a + p0, lda, false);
        A.rows = rows;
        b_panel B = b_panel_at(p0, kc, n, b, ldb, bt, krows, pack_buf);
        gemm_packed(m, n, kc, &A, &B, c, ldc, accumulate || p0 > 0,
                    p0 == 0 ? bias : NULL);
    }
}

/* The general product of sn_gemm_parallel on one thread. */
static void general(const sn_gemm_args *g, float *pack_buf)
{
    gemm(g->m, g->n, g->k, g->a, g->lda, g->a_transposed, g->b, g->ldb,
         g->b_transposed, g->c, g->ldc, g->accumulate, g->bias, g->rows,
         g->krows, pack_buf);
}

/* Rows [r1, r1+m1) of C1 and [r2, r2+m2) of C2 of a pair: both products
 * share B, so each B panel is packed (when it must be) once and used
 * twice. */
static void pair_rows(const sn_gemm_pair *g, int r1, int m1, int r2, int m2,
                      float *pack_buf)
{
    for (int p0 = 0; p0 < g->k; p0 += KC) {
        int kc = g->k - p0 < KC ? g->k - p0 : KC;
        b_panel B = b_panel_at(p0, kc, g->n, g->b, g->ldb, false, g->krows,
                               pack_buf);
        a_src A1 = panel_at(g->a1 + r1, g->lda1, g->krows, p0);
        a_src A2 = panel_at(g->a2 + r2, g->lda2, g->krows, p0);
        if (m1 > 0)
            gemm_packed(m1, g->n, kc, &A1, &B, g->c1 + (size_t)r1 * g->ldc,
                        g->ldc, true, NULL);
        if (m2 > 0)
            gemm_packed(m2, g->n, kc, &A2, &B, g->c2 + (size_t)r2 * g->ldc,
                        g->ldc, true, NULL);
    }
}

const sn_gemm_ops SN_GEMM_OPS = {
    .row_block = MR,
    .col_block = NR,
    .packed_floats = gemm_packed_floats,
    .pack_buffer_floats = gemm_pack_buffer_floats,
    .pack_b = gemm_pack_b,
    .pack_b_stacked = gemm_pack_b_stacked,
    .split_packed = gemm_split_packed,
    .nn_packed = gemm_nn_packed,
    .nn_packed_rows = gemm_nn_packed_rows,
    .general = general,
    .pair_rows = pair_rows,
};
