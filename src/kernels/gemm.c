/*
 * gemm.c - the recurrent products through the kernel of the path in use
 * (gemm_kernel.c, one copy per path), the large ones split by rows of C
 * over a thread pool.
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

/* ------------------------------------------------------------ general */

typedef struct general_split {
    const sn_gemm_ops *ops;
    const sn_gemm_args *g;
    int rows;              /* rows of C per part (whole register blocks) */
    float *pack_bufs;
    size_t per_buf;
} general_split;

/* Part i: rows [i*rows, ...) of C.  With a row map the part is a piece
 * of the map, not of A and C. */
static void general_part(void *ctx, int i)
{
    const general_split *s = ctx;
    const sn_gemm_args *g = s->g;
    int i0 = i * s->rows;
    int m = g->m - i0 < s->rows ? g->m - i0 : s->rows;
    sn_gemm_args part = *g;
    part.m = m;
    if (g->rows != NULL) {
        part.rows = g->rows + i0;
    } else {
        part.a = g->a_transposed ? g->a + i0 : g->a + (size_t)i0 * g->lda;
        part.c = g->c + (size_t)i0 * g->ldc;
    }
    s->ops->general(&part, s->pack_bufs + (size_t)i * s->per_buf);
}

void sn_gemm_parallel(const sn_gemm_args *g, sn_pool *pool, int parts,
                      float *pack_bufs)
{
    const sn_gemm_ops *ops = sn_gemm_active();
    parts = clamp_parts(parts);
    int rows = round_up((g->m + parts - 1) / parts, ops->row_block);
    if (rows < 1)
        return;
    general_split s = { ops, g, rows, pack_bufs,
                        ops->pack_buffer_floats(g->n) };
    sn_pool_run(pool, (g->m + rows - 1) / rows, general_part, &s);
}

/* ------------------------------------------------------------ pairs */

typedef struct pair_split {
    const sn_gemm_ops *ops;
    const sn_gemm_pair *g;
    int rows1, rows2;
    float *pack_bufs;
    size_t per_buf;
} pair_split;

static void pair_part(void *ctx, int i)
{
    const pair_split *s = ctx;
    const sn_gemm_pair *g = s->g;
    int r1 = i * s->rows1 < g->m1 ? i * s->rows1 : g->m1;
    int r2 = i * s->rows2 < g->m2 ? i * s->rows2 : g->m2;
    int e1 = r1 + s->rows1 < g->m1 ? r1 + s->rows1 : g->m1;
    int e2 = r2 + s->rows2 < g->m2 ? r2 + s->rows2 : g->m2;
    s->ops->pair_rows(g, r1, e1 - r1, r2, e2 - r2,
                      s->pack_bufs + (size_t)i * s->per_buf);
}

void sn_gemm_tn_pair(const sn_gemm_pair *g, sn_pool *pool, int parts,
                     float *pack_bufs)
{
    const sn_gemm_ops *ops = sn_gemm_active();
    parts = clamp_parts(parts);
    int mr = ops->row_block;
    pair_split s = { ops, g, round_up((g->m1 + parts - 1) / parts, mr),
                     round_up((g->m2 + parts - 1) / parts, mr), pack_bufs,
                     ops->pack_buffer_floats(g->n) };
    sn_pool_run(pool, parts, pair_part, &s);
}
