/*
 * check_internal_kernels.c - the per-path kernels (src/kernels/): every
 * matrix-product entry point and the vector math of every path this CPU
 * can run, checked in one run against plain reference loops (so an
 * AVX-512 machine tests its AVX2 and generic kernels too, whatever SN_CPU
 * says), the path choice, and the thread pool.  Links the static library.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include <check.h>
#include <sched.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/threadpool.h"
#include "kernels/vecmath.h"

#include "support/testkit.h"

static const sn_isa all_isas[] = { SN_ISA_GENERIC, SN_ISA_AVX2,
                                   SN_ISA_AVX512, SN_ISA_NEON };
enum { N_ISAS = 4 };

/* The matrix-product tables to test, each once: the own kernels of every
 * path this CPU and build can run (generic, avx2, avx512) and the CBLAS
 * table, which every build has (the neon path's on aarch64). */
enum { N_TABLES = 4 };

static const sn_gemm_ops *runnable_gemm(int table)
{
    static const sn_isa own[] = { SN_ISA_GENERIC, SN_ISA_AVX2,
                                  SN_ISA_AVX512 };
    if (table == 3)
        return &sn_gemm_ops_blas;
    return sn_isa_supported(own[table]) ? sn_gemm_ops_for(own[table]) : NULL;
}

static float *floats(size_t n, uint32_t seed)
{
    float *x = malloc((n > 0 ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    tk_fill(x, n, seed, -1.0f, 1.0f);
    return x;
}

/* Relative to the size of the terms: k products of numbers below 1. */
static void assert_close(const float *got, const double *want, size_t n,
                         int k, const char *what)
{
    double tol = 1e-5 * (k + 1);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol,
                      "%s: element %zu is %.7g, want %.7g", what, i,
                      (double)got[i], want[i]);
}

/* ------------------------------------------------------------ general */

typedef struct case_dims {
    int m, n, k;
} case_dims;

/* Shapes around every block edge of every path (MR 4/6/8, NR 16/32,
 * KC 256). */
static const case_dims dims[] = {
    { 1, 1, 1 },    { 1, 33, 5 },    { 2, 16, 7 },    { 5, 17, 9 },
    { 6, 32, 31 },  { 7, 31, 64 },   { 8, 48, 255 },  { 9, 64, 256 },
    { 13, 15, 257 }, { 17, 100, 300 }, { 33, 65, 513 }, { 64, 512, 40 },
};

/* C (+)= op(A) . op(B) + bias on the listed rows, in doubles. */
static void reference(const sn_gemm_args *g, const float *c0, double *c)
{
    for (int i = 0; i < g->m; i++) {
        int r = g->rows != NULL ? g->rows[i] : i;
        for (int j = 0; j < g->n; j++) {
            double s = g->bias != NULL ? g->bias[j] : 0.0;
            for (int p = 0; p < g->k; p++) {
                int kp = g->krows != NULL ? g->krows[p] : p;
                double a = g->a_transposed ? g->a[(size_t)kp * g->lda + r]
                                           : g->a[(size_t)r * g->lda + p];
                double b = g->b_transposed ? g->b[(size_t)j * g->ldb + p]
                                           : g->b[(size_t)kp * g->ldb + j];
                s += a * b;
            }
            size_t at = (size_t)r * g->ldc + j;
            c[at] = (g->accumulate ? c0[at] : 0.0) + s;
        }
    }
}

/* One general product on one path, every variant of the flags. */
static void check_general(const sn_gemm_ops *ops, const case_dims *d,
                          int variant)
{
    bool at = variant & 1, bt = variant & 2, acc = variant & 4,
         with_rows = variant & 8, with_krows = variant & 16;
    if (with_krows && !at)
        return; /* krows: the transposed-A weight-gradient form only */
    if (with_rows && at)
        return; /* rows: plain A only */
    if (with_krows && bt)
        return;
    int m = d->m, n = d->n, k = d->k;
    /* listed rows live in a matrix twice as tall, every other row */
    int m_store = with_rows ? 2 * m + 1 : m;
    int k_store = with_krows ? 2 * k + 1 : k;
    int lda = at ? m_store + 3 : k + 2, ldb = bt ? k + 1 : n + 5;
    int ldc = n + 3;
    float *a = floats((size_t)(at ? k_store : m_store) * lda, 11 + variant);
    float *b = floats((size_t)(bt ? n : k_store) * ldb, 23 + variant);
    float *bias = floats((size_t)n, 31);
    float *c = floats((size_t)m_store * ldc, 41);
    float *c0 = malloc((size_t)m_store * ldc * sizeof *c0);
    double *want = malloc((size_t)m_store * ldc * sizeof *want);
    int *rows = malloc((size_t)m * sizeof *rows);
    int *krows = malloc((size_t)k * sizeof *krows);
    ck_assert(c0 != NULL && want != NULL && rows != NULL && krows != NULL);
    memcpy(c0, c, (size_t)m_store * ldc * sizeof *c0);
    for (int i = 0; i < m; i++)
        rows[i] = 2 * i + 1;
    for (int p = 0; p < k; p++)
        krows[p] = 2 * p;
    sn_gemm_args g = { at, bt, m, n, k, a, lda, b, ldb, c, ldc, acc,
                       acc ? NULL : bias, with_rows ? rows : NULL,
                       with_krows ? krows : NULL };
    for (size_t i = 0; i < (size_t)m_store * ldc; i++)
        want[i] = c0[i];
    reference(&g, c0, want);
    float *pack = malloc(ops->pack_buffer_floats(n) * sizeof *pack);
    ck_assert_ptr_nonnull(pack);
    ops->general(&g, pack);
    char what[96];
    snprintf(what, sizeof what, "general m=%d n=%d k=%d variant %d", m, n,
             k, variant);
    assert_close(c, want, (size_t)m_store * ldc, k, what);
    free(pack);
    free(a);
    free(b);
    free(bias);
    free(c);
    free(c0);
    free(want);
    free(rows);
    free(krows);
}

START_TEST(test_general_products_every_path)
{
    int paths = 0;
    for (int i = 0; i < N_TABLES; i++) {
        const sn_gemm_ops *ops = runnable_gemm(i);
        if (ops == NULL)
            continue;
        paths++;
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
            for (int variant = 0; variant < 32; variant++)
                check_general(ops, &dims[d], variant);
    }
    ck_assert_int_ge(paths, 2);
}
END_TEST

/* ------------------------------------------------------------ packed */

/* The packed forms of the time loop: C = A.B on listed rows, and the fused
 * [A1 | A2] . [B1; B2] + bias, against the general product's reference. */
static void check_packed(const sn_gemm_ops *ops, const case_dims *d)
{
    int m = d->m, n = d->n, k1 = d->k, k2 = d->k / 2 + 3;
    int k = k1 + k2, m_store = 2 * m + 1, ld = n + 7;
    float *a1 = floats((size_t)m_store * (k1 + 1), 5);
    float *a2 = floats((size_t)m_store * (k2 + 2), 6);
    float *b1 = floats((size_t)k1 * ld, 7), *b2 = floats((size_t)k2 * ld, 8);
    float *bias = floats((size_t)n, 9);
    float *c = floats((size_t)m_store * ld, 10);
    float *stack_b = malloc((size_t)k * ld * sizeof *stack_b);
    float *stack_a = malloc((size_t)m_store * k * sizeof *stack_a);
    double *want = malloc((size_t)m_store * ld * sizeof *want);
    int *rows = malloc((size_t)m * sizeof *rows);
    float *packed = malloc(ops->packed_floats(k, n) * sizeof *packed);
    ck_assert(stack_b && stack_a && want && rows && packed);
    for (int i = 0; i < m; i++)
        rows[i] = 2 * i;
    memcpy(stack_b, b1, (size_t)k1 * ld * sizeof *b1);
    memcpy(stack_b + (size_t)k1 * ld, b2, (size_t)k2 * ld * sizeof *b2);
    for (int r = 0; r < m_store; r++) {
        memcpy(stack_a + (size_t)r * k, a1 + (size_t)r * (k1 + 1),
               (size_t)k1 * sizeof *a1);
        memcpy(stack_a + (size_t)r * k + k1, a2 + (size_t)r * (k2 + 2),
               (size_t)k2 * sizeof *a2);
    }
    /* fused split product on listed rows, with bias */
    for (size_t i = 0; i < (size_t)m_store * ld; i++)
        want[i] = c[i];
    sn_gemm_args ref = { false, false, m, n, k, stack_a, k, stack_b, ld,
                         NULL, ld, false, bias, rows, NULL };
    reference(&ref, c, want);
    ops->pack_b_stacked(k1, b1, k2, b2, n, ld, packed);
    sn_gemm_split sp = { m, n, a1, k1 + 1, k1, a2, k2 + 2, k2, packed, bias,
                         c, ld, rows };
    ops->split_packed(&sp);
    assert_close(c, want, (size_t)m_store * ld, k, "split_packed");
    /* plain packed product, then accumulated into, then on listed rows */
    ops->pack_b(k1, n, b1, ld, false, packed);
    sn_gemm_args plain = { false, false, m, n, k1, a1, k1 + 1, b1, ld, NULL,
                           ld, false, NULL, NULL, NULL };
    for (size_t i = 0; i < (size_t)m_store * ld; i++)
        want[i] = c[i];
    reference(&plain, c, want);
    ops->nn_packed(m, n, k1, a1, k1 + 1, packed, c, ld, false);
    assert_close(c, want, (size_t)m_store * ld, k1, "nn_packed");
    plain.accumulate = true;
    float *before = malloc((size_t)m_store * ld * sizeof *before);
    ck_assert_ptr_nonnull(before);
    memcpy(before, c, (size_t)m_store * ld * sizeof *c);
    reference(&plain, before, want);
    ops->nn_packed(m, n, k1, a1, k1 + 1, packed, c, ld, true);
    assert_close(c, want, (size_t)m_store * ld, k1, "nn_packed accumulate");
    plain.accumulate = false;
    plain.rows = rows;
    reference(&plain, c, want);
    ops->nn_packed_rows(m, rows, n, k1, a1, k1 + 1, packed, c, ld);
    assert_close(c, want, (size_t)m_store * ld, k1, "nn_packed_rows");
    /* a transposed B packs to the same product */
    float *bt = malloc((size_t)n * (k1 + 1) * sizeof *bt);
    ck_assert_ptr_nonnull(bt);
    for (int p = 0; p < k1; p++)
        for (int j = 0; j < n; j++)
            bt[(size_t)j * (k1 + 1) + p] = b1[(size_t)p * ld + j];
    ops->pack_b(k1, n, bt, k1 + 1, true, packed);
    plain.rows = NULL;
    reference(&plain, c, want);
    ops->nn_packed(m, n, k1, a1, k1 + 1, packed, c, ld, false);
    assert_close(c, want, (size_t)m_store * ld, k1, "pack_b transposed");
    free(bt);
    free(before);
    free(a1);
    free(a2);
    free(b1);
    free(b2);
    free(bias);
    free(c);
    free(stack_a);
    free(stack_b);
    free(want);
    free(rows);
    free(packed);
}

START_TEST(test_packed_products_every_path)
{
    for (int i = 0; i < N_TABLES; i++) {
        const sn_gemm_ops *ops = runnable_gemm(i);
        if (ops == NULL)
            continue;
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
            check_packed(ops, &dims[d]);
    }
}
END_TEST

/* The weight-gradient pair C1 += A1ᵀ.B, C2 += A2ᵀ.B, split by rows. */
START_TEST(test_pair_products_every_path)
{
    int k = 300, n = 40, m1 = 19, m2 = 13;
    float *b = floats((size_t)k * n, 1), *a1 = floats((size_t)k * m1, 2);
    float *a2 = floats((size_t)k * m2, 3);
    float *c1 = floats((size_t)m1 * n, 4), *c2 = floats((size_t)m2 * n, 5);
    float *c1_0 = malloc((size_t)m1 * n * sizeof *c1_0);
    float *c2_0 = malloc((size_t)m2 * n * sizeof *c2_0);
    double *w1 = malloc((size_t)m1 * n * sizeof *w1);
    double *w2 = malloc((size_t)m2 * n * sizeof *w2);
    int krows[150];
    for (int p = 0; p < 150; p++)
        krows[p] = 2 * p;
    ck_assert(c1_0 && c2_0 && w1 && w2);
    memcpy(c1_0, c1, (size_t)m1 * n * sizeof *c1);
    memcpy(c2_0, c2, (size_t)m2 * n * sizeof *c2);
    for (int i = 0; i < N_TABLES; i++) {
        const sn_gemm_ops *ops = runnable_gemm(i);
        if (ops == NULL)
            continue;
        for (int listed = 0; listed < 2; listed++) {
            int kk = listed ? 150 : k;
            const int *kr = listed ? krows : NULL;
            sn_gemm_args r1 = { true, false, m1, n, kk, a1, m1, b, n, NULL,
                                n, true, NULL, NULL, kr };
            sn_gemm_args r2 = { true, false, m2, n, kk, a2, m2, b, n, NULL,
                                n, true, NULL, NULL, kr };
            reference(&r1, c1_0, w1);
            reference(&r2, c2_0, w2);
            float *pack = malloc(ops->pack_buffer_floats(n) * sizeof *pack);
            ck_assert_ptr_nonnull(pack);
            sn_gemm_pair g = { kk, n, b, n, a1, m1, m1, c1, a2, m2, m2, c2,
                               n, kr };
            /* in two row pieces, as two threads would */
            memcpy(c1, c1_0, (size_t)m1 * n * sizeof *c1);
            memcpy(c2, c2_0, (size_t)m2 * n * sizeof *c2);
            ops->pair_rows(&g, 0, 8, 0, 6, pack);
            ops->pair_rows(&g, 8, m1 - 8, 6, m2 - 6, pack);
            assert_close(c1, w1, (size_t)m1 * n, kk, "pair C1");
            assert_close(c2, w2, (size_t)m2 * n, kk, "pair C2");
            free(pack);
        }
    }
    free(b);
    free(a1);
    free(a2);
    free(c1);
    free(c2);
    free(c1_0);
    free(c2_0);
    free(w1);
    free(w2);
}
END_TEST

/* The threaded entry points on a pool agree with the reference too, split
 * by rows (tall C) and by columns (wide C), transposed and listed. */
static void check_parallel(sn_pool *pool, int m, int n, int k, bool at)
{
    int krows[64];
    for (int p = 0; p < 64; p++)
        krows[p] = (p * 7) % 64;
    float *a = floats((size_t)m * 64, 1), *b = floats((size_t)64 * n, 2);
    float *bias = floats((size_t)n, 4);
    float *c = floats((size_t)m * n, 3);
    float *c0 = malloc((size_t)m * n * sizeof *c0);
    double *want = malloc((size_t)m * n * sizeof *want);
    float *bufs = malloc(SN_GEMM_MAX_PARTS * sn_gemm_pack_buffer_floats(n) *
                         sizeof *bufs);
    ck_assert(c0 && want && bufs && k <= 64);
    memcpy(c0, c, (size_t)m * n * sizeof *c);
    sn_gemm_args g = { at, false, m, n, k, a, at ? m : k, b, n, c, n, at,
                       at ? NULL : bias, NULL, at ? krows : NULL };
    reference(&g, c0, want);
    for (int parts = 1; parts <= SN_GEMM_MAX_PARTS + 2; parts++) {
        memcpy(c, c0, (size_t)m * n * sizeof *c);
        sn_gemm_parallel(&g, pool, parts, bufs);
        assert_close(c, want, (size_t)m * n, k, "sn_gemm_parallel");
    }
    free(a);
    free(b);
    free(bias);
    free(c);
    free(c0);
    free(want);
    free(bufs);
}

START_TEST(test_parallel_products_on_a_pool)
{
    sn_mem mem = sn_mem_current();
    sn_pool *pool = NULL;
    ck_assert_int_eq(sn_pool_create(&mem, 3, &pool), SN_OK);
    check_parallel(pool, 70, 50, 33, false);   /* rows */
    check_parallel(pool, 20, 150, 40, false);  /* columns, bias */
    check_parallel(pool, 12, 300, 64, true);   /* columns, Aᵀ, krows */
    check_parallel(pool, 90, 30, 64, true);    /* rows, Aᵀ, krows */
    /* the pair, split by columns (n > m1 + m2) and by rows */
    for (int wide = 0; wide < 2; wide++) {
        int k = 50, n = wide ? 200 : 20, m1 = 9, m2 = 14;
        float *b = floats((size_t)k * n, 5), *a1 = floats((size_t)k * m1, 6);
        float *a2 = floats((size_t)k * m2, 7);
        float *c1 = calloc((size_t)m1 * n, sizeof *c1);
        float *c2 = calloc((size_t)m2 * n, sizeof *c2);
        float *z1 = calloc((size_t)m1 * n, sizeof *z1);
        float *z2 = calloc((size_t)m2 * n, sizeof *z2);
        double *w1 = malloc((size_t)m1 * n * sizeof *w1);
        double *w2 = malloc((size_t)m2 * n * sizeof *w2);
        float *bufs = malloc(SN_GEMM_MAX_PARTS *
                             sn_gemm_pack_buffer_floats(n) * sizeof *bufs);
        ck_assert(c1 && c2 && z1 && z2 && w1 && w2 && bufs);
        sn_gemm_args r1 = { true, false, m1, n, k, a1, m1, b, n, NULL, n,
                            true, NULL, NULL, NULL };
        sn_gemm_args r2 = { true, false, m2, n, k, a2, m2, b, n, NULL, n,
                            true, NULL, NULL, NULL };
        reference(&r1, z1, w1);
        reference(&r2, z2, w2);
        for (int parts = 1; parts <= 4; parts++) {
            memset(c1, 0, (size_t)m1 * n * sizeof *c1);
            memset(c2, 0, (size_t)m2 * n * sizeof *c2);
            sn_gemm_pair g = { k, n, b, n, a1, m1, m1, c1, a2, m2, m2, c2,
                               n, NULL };
            sn_gemm_tn_pair(&g, pool, parts, bufs);
            assert_close(c1, w1, (size_t)m1 * n, k, "tn_pair C1");
            assert_close(c2, w2, (size_t)m2 * n, k, "tn_pair C2");
        }
        free(b);
        free(a1);
        free(a2);
        free(c1);
        free(c2);
        free(z1);
        free(z2);
        free(w1);
        free(w2);
        free(bufs);
    }
    sn_pool_free(pool);
}
END_TEST

/* ------------------------------------------------------------ vector math */

START_TEST(test_vecmath_every_path_against_libm)
{
    enum { N = 4099 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = -100.0f + 200.0f * (float)i / (float)(N - 1);
    for (int i = 0; i < N_ISAS; i++) {
        if (!sn_isa_supported(all_isas[i]))
            continue;
        const sn_vecmath_ops *v = sn_vecmath_ops_for(all_isas[i]);
        if (v == NULL)
            continue;
        memcpy(y, x, sizeof y);
        v->tanh(y, N);
        for (int j = 0; j < N; j++)
            ck_assert_msg(fabsf(y[j] - tanhf(x[j])) < 3e-7f,
                          "tanh(%g) = %g", (double)x[j], (double)y[j]);
        memcpy(y, x, sizeof y);
        v->sigmoid(y, N);
        for (int j = 0; j < N; j++) {
            /* the exp inside saturates at e^88 (documented) */
            double s = 1.0 / (1.0 + exp(fmin(-(double)x[j], 88.0)));
            ck_assert_msg(fabs(y[j] - s) <= 3e-7 * (s > 1e-3 ? 1.0 : s * 1e3),
                          "sigmoid(%g) = %g, want %g", (double)x[j],
                          (double)y[j], s);
        }
        memcpy(y, x, sizeof y);
        v->exp(y, N);
        for (int j = 0; j < N; j++) {
            double e = exp(fmin(fmax((double)x[j], -87.0), 88.0));
            ck_assert_msg(fabs(y[j] - e) <= 3e-7 * e, "exp(%g) = %g",
                          (double)x[j], (double)y[j]);
        }
    }
}
END_TEST

/* NaN propagates (and converting it to an int, undefined behaviour, never
 * happens: UBSan runs this test); ±Inf saturate. */
START_TEST(test_vecmath_nan_and_inf_every_path)
{
    float special[5] = { NAN, INFINITY, -INFINITY, -NAN, 0.0f };
    for (int i = 0; i < N_ISAS; i++) {
        if (!sn_isa_supported(all_isas[i]))
            continue;
        const sn_vecmath_ops *v = sn_vecmath_ops_for(all_isas[i]);
        float t[5], s[5], e[5];
        memcpy(t, special, sizeof t);
        memcpy(s, special, sizeof s);
        memcpy(e, special, sizeof e);
        v->tanh(t, 5);
        v->sigmoid(s, 5);
        v->exp(e, 5);
        ck_assert(isnan(t[0]) && isnan(s[0]) && isnan(e[0]));
        ck_assert(isnan(t[3]) && isnan(s[3]) && isnan(e[3]));
        ck_assert(t[1] == 1.0f && t[2] == -1.0f && t[4] == 0.0f);
        ck_assert(s[1] == 1.0f && s[2] < 1e-37f && s[4] == 0.5f);
        ck_assert(isfinite(e[1]) && e[1] > 1e38f && e[2] < 1e-37f &&
                  e[4] == 1.0f);
    }
}
END_TEST

/* ------------------------------------------------------------ path choice */

START_TEST(test_isa_choice_caps_and_falls_back)
{
    ck_assert_int_eq(sn_isa_choose(NULL, SN_ISA_AVX512), SN_ISA_AVX512);
    ck_assert_int_eq(sn_isa_choose("", SN_ISA_AVX2), SN_ISA_AVX2);
    ck_assert_int_eq(sn_isa_choose("avx2", SN_ISA_AVX512), SN_ISA_AVX2);
    ck_assert_int_eq(sn_isa_choose("generic", SN_ISA_AVX512),
                     SN_ISA_GENERIC);
    /* asking for more than the CPU has gives the best it has */
    ck_assert_int_eq(sn_isa_choose("avx512", SN_ISA_AVX2), SN_ISA_AVX2);
    ck_assert_int_eq(sn_isa_choose("avx2", SN_ISA_GENERIC), SN_ISA_GENERIC);
    ck_assert_int_eq(sn_isa_choose("AVX2", SN_ISA_AVX512), SN_ISA_AVX512);
    ck_assert_int_eq(sn_isa_choose("sse", SN_ISA_AVX2), SN_ISA_AVX2);
    /* aarch64's chain is generic < neon; the other chain's names give
     * the best path */
    ck_assert_int_eq(sn_isa_choose(NULL, SN_ISA_NEON), SN_ISA_NEON);
    ck_assert_int_eq(sn_isa_choose("generic", SN_ISA_NEON), SN_ISA_GENERIC);
    ck_assert_int_eq(sn_isa_choose("neon", SN_ISA_NEON), SN_ISA_NEON);
    ck_assert_int_eq(sn_isa_choose("avx2", SN_ISA_NEON), SN_ISA_NEON);
    ck_assert_int_eq(sn_isa_choose("avx512", SN_ISA_NEON), SN_ISA_NEON);
    ck_assert_int_eq(sn_isa_choose("neon", SN_ISA_AVX512), SN_ISA_AVX512);
    ck_assert_int_eq(sn_isa_choose("neon", SN_ISA_GENERIC), SN_ISA_GENERIC);
    ck_assert_str_eq(sn_isa_name(SN_ISA_NEON), "neon");
    ck_assert_str_eq(sn_isa_name(SN_ISA_AVX512), "avx512");
    ck_assert_str_eq(sn_isa_name(SN_ISA_AVX2), "avx2");
    ck_assert_str_eq(sn_isa_name(SN_ISA_GENERIC), "generic");
    /* the process's choice follows SN_CPU and what the CPU supports */
    sn_isa best = SN_ISA_GENERIC;
    for (int i = 0; i < N_ISAS; i++)
        if (sn_isa_supported(all_isas[i]))
            best = all_isas[i];
    sn_isa chosen = sn_isa_choose(getenv("SN_CPU"), best);
    ck_assert_int_eq(sn_isa_active(), chosen);
    ck_assert_str_eq(sn_cpu_isa(), sn_isa_name(chosen));
    ck_assert_ptr_nonnull(sn_gemm_ops_for(chosen));
    ck_assert(sn_gemm_active() == sn_gemm_ops_for(chosen));
    ck_assert(sn_isa_supported(SN_ISA_GENERIC));
#if defined(__aarch64__)
    /* every aarch64 CPU has ASIMD; neon's products are the CBLAS's */
    ck_assert(sn_isa_supported(SN_ISA_NEON));
    ck_assert(!sn_isa_supported(SN_ISA_AVX2));
    ck_assert(sn_gemm_ops_for(SN_ISA_NEON) == &sn_gemm_ops_blas);
#else
    ck_assert(!sn_isa_supported(SN_ISA_NEON));
#endif
}
END_TEST

/* ------------------------------------------------------------ thread pool */

typedef struct pool_batch {
    int n;
    atomic_int hits[64];
} pool_batch;

static void count_part(void *ctx, int i)
{
    pool_batch *b = ctx;
    atomic_fetch_add(&b->hits[i], 1);
}

/* Many small batches, each with its context on the stack: every part runs
 * exactly once and no worker ever reaches a finished batch's context
 * (a stale worker once did; ASan catches the stack use). */
START_TEST(test_pool_runs_each_part_once)
{
    sn_mem mem = sn_mem_current();
    for (int threads = 1; threads <= SN_POOL_MAX_THREADS + 1; threads += 2) {
        sn_pool *pool = NULL;
        ck_assert_int_eq(sn_pool_create(&mem, threads, &pool), SN_OK);
        int want = threads > SN_POOL_MAX_THREADS ? SN_POOL_MAX_THREADS
                                                 : threads;
        ck_assert_int_le(sn_pool_threads(pool), want);
        ck_assert_int_ge(sn_pool_threads(pool), 1);
        for (int rep = 0; rep < 1000; rep++) {
            pool_batch b;
            b.n = 1 + rep % 17;
            for (int i = 0; i < 64; i++)
                atomic_init(&b.hits[i], 0);
            sn_pool_run(pool, b.n, count_part, &b);
            for (int i = 0; i < 64; i++)
                ck_assert_int_eq(atomic_load(&b.hits[i]), i < b.n ? 1 : 0);
        }
        sn_pool_free(pool);
    }
    /* NULL pool: the caller runs everything */
    pool_batch b = { .n = 5 };
    for (int i = 0; i < 64; i++)
        atomic_init(&b.hits[i], 0);
    sn_pool_run(NULL, 5, count_part, &b);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(atomic_load(&b.hits[i]), 1);
    sn_pool_free(NULL);
    ck_assert_int_eq(sn_pool_threads(NULL), 1);
}
END_TEST

typedef struct racer {
    sn_pool *pool;
    int bad;
} racer;

static void *race_pool(void *arg)
{
    racer *r = arg;
    for (int rep = 0; rep < 1000; rep++) {
        pool_batch b;
        b.n = 1 + rep % 9;
        for (int i = 0; i < 64; i++)
            atomic_init(&b.hits[i], 0);
        sn_pool_run(r->pool, b.n, count_part, &b);
        for (int i = 0; i < 64; i++)
            r->bad += atomic_load(&b.hits[i]) != (i < b.n ? 1 : 0);
    }
    return NULL;
}

/* Two callers on one pool (two threads predicting on one model): the one
 * that finds it busy runs its parts itself; both get every part once. */
START_TEST(test_pool_shared_by_two_callers)
{
    sn_mem mem = sn_mem_current();
    sn_pool *pool = NULL;
    ck_assert_int_eq(sn_pool_create(&mem, 2, &pool), SN_OK);
    racer r[2] = { { pool, 0 }, { pool, 0 } };
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, race_pool, &r[1]), 0);
    race_pool(&r[0]);
    pthread_join(t, NULL);
    ck_assert_int_eq(r[0].bad + r[1].bad, 0);
    sn_pool_free(pool);
}
END_TEST

/* SN_NUM_THREADS sets the default; junk is ignored (affinity then). */
START_TEST(test_pool_default_threads_from_env)
{
    const char *old = getenv("SN_NUM_THREADS");
    char *saved = old != NULL ? strdup(old) : NULL;
    setenv("SN_NUM_THREADS", "3", 1);
    ck_assert_int_eq(sn_pool_default_threads(), 3);
    setenv("SN_NUM_THREADS", "99", 1);
    ck_assert_int_eq(sn_pool_default_threads(), SN_POOL_MAX_THREADS);
    setenv("SN_NUM_THREADS", "two", 1);
    int by_affinity = sn_pool_default_threads();
    ck_assert_int_ge(by_affinity, 1);
    ck_assert_int_le(by_affinity, SN_POOL_MAX_THREADS);
    setenv("SN_NUM_THREADS", "0", 1);
    ck_assert_int_eq(sn_pool_default_threads(), by_affinity);
    /* the affinity mask, not the online CPUs: one allowed CPU, one thread */
    cpu_set_t all, one;
    ck_assert_int_eq(sched_getaffinity(0, sizeof all, &all), 0);
    int first = 0;
    while (!CPU_ISSET(first, &all))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    unsetenv("SN_NUM_THREADS");
    ck_assert_int_eq(sn_pool_default_threads(), 1);
    ck_assert_int_eq(sched_setaffinity(0, sizeof all, &all), 0);
    if (saved != NULL) {
        setenv("SN_NUM_THREADS", saved, 1);
        free(saved);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_general_products_every_path);
    tcase_add_test(tc, test_packed_products_every_path);
    tcase_add_test(tc, test_pair_products_every_path);
    tcase_add_test(tc, test_parallel_products_on_a_pool);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("vecmath");
    tcase_add_test(tv, test_vecmath_every_path_against_libm);
    tcase_add_test(tv, test_vecmath_nan_and_inf_every_path);
    tcase_add_test(tv, test_isa_choice_caps_and_falls_back);
    suite_add_tcase(s, tv);
    TCase *tp = tcase_create("pool");
    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, test_pool_runs_each_part_once);
    tcase_add_test(tp, test_pool_shared_by_two_callers);
    tcase_add_test(tp, test_pool_default_threads_from_env);
    suite_add_tcase(s, tp);
    return tk_run_suite(s);
}
