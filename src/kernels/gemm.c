/*
 * gemm.c - the recurrent products through the kernel of the path in use
 * (gemm_kernel.c, one copy per path), the large ones split over a thread
 * pool.
 *
 * How to split: every part packs the panels of B it multiplies, and reads
 * (packs) the rows of A it multiplies.  Split by rows of C, each part
 * packs all of B; split by columns, each part packs only its columns of B
 * but reads all of A.  So the larger of the two is split: columns when B
 * has more columns than A has rows (the weight gradients xᵀ.dZ, whose B
 * is dZ over every step), rows otherwise (the projection x.K).
 */
#include "kernels/cpu.h"
#include "kernels/gemm.h"

const sn_gemm_ops *sn_gemm_ops_for(sn_isa isa)
{
    switch (isa) {
#if defined(SN_X86_KERNELS)
    case SN_ISA_AVX512: return &sn_gemm_ops_avx512;
    case SN_ISA_AVX2: return &sn_gemm_ops_avx2;
#endif
#if defined(__aarch64__)
    case SN_ISA_NEON: return &sn_gemm_ops_blas;
#endif
    case SN_ISA_GENERIC: return &sn_gemm_ops_generic;
    default: return NULL;
    }
}

const sn_gemm_ops *sn_gemm_active(void)
{
    return sn_gemm_ops_for(sn_isa_active());
}

int sn_gemm_row_block(void)
{
    return sn_gemm_active()->row_block;
}

size_t sn_gemm_packed_floats(int k, int n)
{
    return sn_gemm_active()->packed_floats(k, n);
}

size_t sn_gemm_pack_buffer_floats(int n)
{
    return sn_gemm_active()->pack_buffer_floats(n);
}

void sn_gemm_pack_b(int k, int n, const float *b, int ldb, bool b_transposed,
                    float *packed)
{
    sn_gemm_active()->pack_b(k, n, b, ldb, b_transposed, packed);
}

void sn_gemm_pack_b_stacked(int k1, const float *b1, int k2, const float *b2,
                            int n, int ldb, float *packed)
{
    sn_gemm_active()->pack_b_stacked(k1, b1, k2, b2, n, ldb, packed);
}

void sn_gemm_split_packed(const sn_gemm_split *g)
{
    sn_gemm_active()->split_packed(g);
}

void sn_gemm_nn_packed(int m, int n, int k, const float *a, int lda,
                       const float *packed, float *c, int ldc,
                       bool accumulate)
{
    sn_gemm_active()->nn_packed(m, n, k, a, lda, packed, c, ldc, accumulate);
}

void sn_gemm_nn_packed_rows(int m, const int *rows, int n, int k,
                            const float *a, int lda, const float *packed,
                            float *c, int ldc)
{
    sn_gemm_active()->nn_packed_rows(m, rows, n, k, a, lda, packed, c, ldc);
}

static int clamp_parts(int parts)
{
    if (parts > SN_GEMM_MAX_PARTS)
        return SN_GEMM_MAX_PARTS;
    return parts < 1 ? 1 : parts;
}

static int round_up(int n, int to)
{
    return (n + to - 1) / to * to;
}

/* The pieces of a split: parts of whole blocks of size block out of
 * total; part i starts at i * size.  Returns the number of parts. */
static int split(int total, int parts, int block, int *size)
{
    *size = round_up((total + parts - 1) / parts, block);
    return *size > 0 ? (total + *size - 1) / *size : 0;
}

/* Split by columns when there are more of them than rows and enough for
 * every part. */
static bool by_columns(int m, int n, int parts, const sn_gemm_ops *ops)
{
    return parts > 1 && n > m && n >= parts * ops->col_block;
}

/* ------------------------------------------------------------ general */

typedef struct general_split {
    const sn_gemm_ops *ops;
    const sn_gemm_args *g;
    bool columns;          /* split by columns of C, else by rows       */
    int size;              /* rows or columns per part (whole blocks)   */
    float *pack_bufs;
    size_t per_buf;
} general_split;

/* Part i: its rows of C (with a row map, a piece of the map) or its
 * columns of B, C and the bias. */
static void general_part(void *ctx, int i)
{
    const general_split *s = ctx;
    const sn_gemm_args *g = s->g;
    sn_gemm_args part = *g;
    int at = i * s->size;
    if (s->columns) {
        part.n = g->n - at < s->size ? g->n - at : s->size;
        part.b = g->b_transposed ? g->b + (size_t)at * g->ldb : g->b + at;
        part.c = g->c + at;
        part.bias = g->bias != NULL ? g->bias + at : NULL;
    } else {
        part.m = g->m - at < s->size ? g->m - at : s->size;
        if (g->rows != NULL) {
            part.rows = g->rows + at;
        } else {
            part.a = g->a_transposed ? g->a + at : g->a + (size_t)at * g->lda;
            part.c = g->c + (size_t)at * g->ldc;
        }
    }
    s->ops->general(&part, s->pack_bufs + (size_t)i * s->per_buf);
}

void sn_gemm_parallel(const sn_gemm_args *g, sn_pool *pool, int parts,
                      float *pack_bufs)
{
    const sn_gemm_ops *ops = sn_gemm_active();
    parts = clamp_parts(parts);
    general_split s = { ops, g, by_columns(g->m, g->n, parts, ops), 0,
                        pack_bufs, ops->pack_buffer_floats(g->n) };
    int n_parts = s.columns ? split(g->n, parts, ops->col_block, &s.size)
                            : split(g->m, parts, ops->row_block, &s.size);
    sn_pool_run(pool, n_parts, general_part, &s);
}

/* ------------------------------------------------------------ pairs */

typedef struct pair_split {
    const sn_gemm_ops *ops;
    const sn_gemm_pair *g;
    bool columns;
    int size1, size2;      /* rows of C1, C2 per part, or columns        */
    float *pack_bufs;
    size_t per_buf;
} pair_split;

static void pair_part(void *ctx, int i)
{
    const pair_split *s = ctx;
    const sn_gemm_pair *g = s->g;
    float *buf = s->pack_bufs + (size_t)i * s->per_buf;
    if (s->columns) {
        int j0 = i * s->size1;
        sn_gemm_pair part = *g;
        part.n = g->n - j0 < s->size1 ? g->n - j0 : s->size1;
        part.b = g->b + j0;
        part.c1 = g->c1 + j0;
        part.c2 = g->c2 + j0;
        s->ops->pair_rows(&part, 0, g->m1, 0, g->m2, buf);
        return;
    }
    int r1 = i * s->size1 < g->m1 ? i * s->size1 : g->m1;
    int r2 = i * s->size2 < g->m2 ? i * s->size2 : g->m2;
    int e1 = r1 + s->size1 < g->m1 ? r1 + s->size1 : g->m1;
    int e2 = r2 + s->size2 < g->m2 ? r2 + s->size2 : g->m2;
    s->ops->pair_rows(g, r1, e1 - r1, r2, e2 - r2, buf);
}

void sn_gemm_tn_pair(const sn_gemm_pair *g, sn_pool *pool, int parts,
                     float *pack_bufs)
{
    const sn_gemm_ops *ops = sn_gemm_active();
    parts = clamp_parts(parts);
    pair_split s = { ops, g, by_columns(g->m1 + g->m2, g->n, parts, ops), 0,
                     0, pack_bufs, ops->pack_buffer_floats(g->n) };
    int n_parts = parts;
    if (s.columns) {
        n_parts = split(g->n, parts, ops->col_block, &s.size1);
    } else {
        int mr = ops->row_block;
        s.size1 = round_up((g->m1 + parts - 1) / parts, mr);
        s.size2 = round_up((g->m2 + parts - 1) / parts, mr);
    }
    sn_pool_run(pool, n_parts, pair_part, &s);
}
