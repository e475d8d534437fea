/*
 * rnn_gemm.c - the matrix products of the recurrent layers,
 * C[m, n] (+)= A[m, k] . B[k, n], row-major with leading dimensions.
 *
 * Why not CBLAS: the recurrent time loop runs on several threads at once,
 * one slice of the batch each, and a multi-threaded BLAS called beside
 * them either fights them for the cores (its idle workers spin) or
 * serialises them.  This kernel is single-threaded by construction and
 * the large products are split over the same threads.
 *
 * Scheme (the classic one): B is packed into column blocks of NR = 32,
 * each [k][32] contiguous, so the inner loop reads B sequentially and
 * power-of-two leading dimensions cannot thrash the L1 cache; the inner
 * dimension goes in panels of KC so a packed panel stays in L2; an 8 x 32
 * block of C lives in vector registers while its 8 rows of A sit in L1 and
 * the packed column blocks stream past from L2 (MC = 8 rows per chunk
 * measured fastest here: larger chunks spill A out of L1).
 */
#include <pthread.h>
#include <string.h>

#include "rnn_gemm.h"

enum { MR = 8, NR = 32, KC = 256, MC = 8 };

typedef float vec16 __attribute__((vector_size(64), aligned(4)));

static int round_up(int n, int to)
{
    return (n + to - 1) / to * to;
}

size_t sn_gemm_packed_floats(int k, int n)
{
    return (size_t)k * (size_t)round_up(n, NR);
}

size_t sn_gemm_pack_buffer_floats(int n)
{
    return sn_gemm_packed_floats(KC, n) + (size_t)MC * KC;
}

/* Element (p, j) of B: b[p*ldb + j], or b[j*ldb + p] when B is stored
 * transposed. */
static float b_at(const float *b, int ldb, bool bt, int p, int j)
{
    return bt ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
}

static void pack(int k, int n, const float *b, int ldb, bool bt,
                 float *packed)
{
    for (int j0 = 0, jb = 0; j0 < n; j0 += NR, jb++) {
        float *dst = packed + (size_t)jb * k * NR;
        int nr = n - j0 < NR ? n - j0 : NR;
        for (int p = 0; p < k; p++) {
            float *row = dst + (size_t)p * NR;
            if (!bt && nr == NR) {
                memcpy(row, b + (size_t)p * ldb + j0, NR * sizeof *row);
                continue;
            }
            for (int j = 0; j < NR; j++)
                row[j] = j < nr ? b_at(b, ldb, bt, p, j0 + j) : 0.0f;
        }
    }
}

void sn_gemm_pack_b(int k, int n, const float *b, int ldb, bool b_transposed,
                    float *packed)
{
    pack(k, n, b, ldb, b_transposed, packed);
}

/* Element (i, p) of A: a[i*lda + p], or a[p*lda + i] when A is stored
 * transposed (the weight-gradient products xᵀ.dZ).  always_inline: these
 * helpers must be compiled inside each clone of the kernel (a separate
 * function would only get the baseline instruction set). */
__attribute__((always_inline)) static inline float
a_at(const float *a, int lda, bool at, int i, int p)
{
    return at ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
}

__attribute__((always_inline)) static inline void
store(float *c, const vec16 *v, int nr, bool accumulate)
{
    float tmp[NR];
    memcpy(tmp, v, sizeof tmp);
    for (int j = 0; j < nr; j++)
        c[j] = accumulate ? c[j] + tmp[j] : tmp[j];
}

/* MR rows x NR columns of C from a packed column block bp [k][NR]. */
__attribute__((always_inline)) static inline void
block_full(int nr, int k, const float *a, int lda, bool at, const float *bp,
           float *c, int ldc, bool accumulate)
{
    vec16 acc[MR][2];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < k; p++) {
        vec16 b0, b1;
        memcpy(&b0, bp + (size_t)p * NR, sizeof b0);
        memcpy(&b1, bp + (size_t)p * NR + 16, sizeof b1);
        for (int i = 0; i < MR; i++) {
            float av = a_at(a, lda, at, i, p);
            acc[i][0] += av * b0;
            acc[i][1] += av * b1;
        }
    }
    for (int i = 0; i < MR; i++)
        store(c + (size_t)i * ldc, acc[i], nr, accumulate);
}

/* Fewer than MR rows (batch 1, slice ends): one row at a time. */
__attribute__((always_inline)) static inline void
block_rows(int mr, int nr, int k, const float *a, int lda, bool at,
           const float *bp, float *c, int ldc, bool accumulate)
{
    for (int i = 0; i < mr; i++) {
        vec16 acc[2] = { { 0 }, { 0 } };
        for (int p = 0; p < k; p++) {
            vec16 b0, b1;
            float av = a_at(a, lda, at, i, p);
            memcpy(&b0, bp + (size_t)p * NR, sizeof b0);
            memcpy(&b1, bp + (size_t)p * NR + 16, sizeof b1);
            acc[0] += av * b0;
            acc[1] += av * b1;
        }
        store(c + (size_t)i * ldc, acc, nr, accumulate);
    }
}

/* C (+)= A . B with B already packed (k rows). */
SN_CLONES static void gemm_packed(int m, int n, int k, const float *a,
                                  int lda, bool at, const float *packed,
                                  float *c, int ldc, bool accumulate)
{
    for (int i1 = 0; i1 < m; i1 += MC) {
        int i_end = m - i1 < MC ? m : i1 + MC;
        for (int j0 = 0, jb = 0; j0 < n; j0 += NR, jb++) {
            int nr = n - j0 < NR ? n - j0 : NR;
            const float *bp = packed + (size_t)jb * k * NR;
            for (int i0 = i1; i0 < i_end; i0 += MR) {
                int mr = i_end - i0 < MR ? i_end - i0 : MR;
                const float *ai = at ? a + i0 : a + (size_t)i0 * lda;
                float *cij = c + (size_t)i0 * ldc + j0;
                if (mr == MR)
                    block_full(nr, k, ai, lda, at, bp, cij, ldc, accumulate);
                else
                    block_rows(mr, nr, k, ai, lda, at, bp, cij, ldc,
                               accumulate);
            }
        }
    }
}

void sn_gemm_nn_packed(int m, int n, int k, const float *a, int lda,
                       const float *packed, float *c, int ldc,
                       bool accumulate)
{
    gemm_packed(m, n, k, a, lda, false, packed, c, ldc, accumulate);
}

/* A chunk of a transposed A (rows i1.., steps p0..) as a plain [mc][kc]
 * block: read in place, the transposed layout takes 8 floats from each of
 * kc lines a power-of-two stride apart, which all land in a few L1 sets. */
static void pack_a_t(int mc, int kc, const float *a, int lda, float *out)
{
    for (int p = 0; p < kc; p++)
        for (int i = 0; i < mc; i++)
            out[(size_t)i * kc + p] = a[(size_t)p * lda + i];
}

/* C (+)= Aᵀ-stored A . packed B, chunk by chunk through pack_a_t. */
static void gemm_packed_at(int m, int n, int kc, const float *a, int lda,
                           const float *packed, float *c, int ldc,
                           bool accumulate, float *a_buf)
{
    for (int i1 = 0; i1 < m; i1 += MC) {
        int mc = m - i1 < MC ? m - i1 : MC;
        pack_a_t(mc, kc, a + i1, lda, a_buf);
        gemm_packed(mc, n, kc, a_buf, kc, false, packed,
                    c + (size_t)i1 * ldc, ldc, accumulate);
    }
}

/* The general product: packs B panel by panel into pack_buf
 * (sn_gemm_pack_buffer_floats(n) floats). */
static void gemm(int m, int n, int k, const float *a, int lda, bool at,
                 const float *b, int ldb, bool bt, float *c, int ldc,
                 bool accumulate, float *pack_buf)
{
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        const float *bp = bt ? b + p0 : b + (size_t)p0 * ldb;
        pack(kc, n, bp, ldb, bt, pack_buf);
        bool acc = accumulate || p0 > 0;
        if (at)
            gemm_packed_at(m, n, kc, a + (size_t)p0 * lda, lda, pack_buf, c,
                           ldc, acc, pack_buf + sn_gemm_packed_floats(KC, n));
        else
            gemm_packed(m, n, kc, a + p0, lda, false, pack_buf, c, ldc, acc);
    }
}

/* ------------------------------------------------------------ threads */

typedef struct gemm_job {
    bool at, bt;
    int m, n, k, lda, ldb, ldc;
    const float *a, *b;
    float *c;
    bool accumulate;
    float *pack_buf;
} gemm_job;

static void *gemm_job_run(void *arg)
{
    const gemm_job *j = arg;
    gemm(j->m, j->n, j->k, j->a, j->lda, j->at, j->b, j->ldb, j->bt, j->c,
         j->ldc, j->accumulate, j->pack_buf);
    return NULL;
}

void sn_gemm_parallel(const sn_gemm_args *g, int parts, float *pack_bufs)
{
    if (parts > SN_GEMM_MAX_PARTS)
        parts = SN_GEMM_MAX_PARTS;
    if (parts < 1)
        parts = 1;
    int rows = (g->m + parts - 1) / parts;
    rows = round_up(rows, MR);
    size_t per_buf = sn_gemm_pack_buffer_floats(g->n);
    gemm_job jobs[SN_GEMM_MAX_PARTS];
    pthread_t threads[SN_GEMM_MAX_PARTS];
    bool started[SN_GEMM_MAX_PARTS] = { false };
    int used = 0;
    for (int p = 0; p < parts && p * rows < g->m; p++) {
        int i0 = p * rows, mr = g->m - i0 < rows ? g->m - i0 : rows;
        const float *ap = g->a_transposed ? g->a + i0
                                          : g->a + (size_t)i0 * g->lda;
        jobs[p] = (gemm_job){ g->a_transposed, g->b_transposed, mr, g->n,
                              g->k, g->lda, g->ldb, g->ldc, ap, g->b,
                              g->c + (size_t)i0 * g->ldc, g->accumulate,
                              pack_bufs + (size_t)p * per_buf };
        used = p + 1;
    }
    for (int p = 1; p < used; p++)
        started[p] = pthread_create(&threads[p], NULL, gemm_job_run,
                                    &jobs[p]) == 0;
    if (used > 0)
        gemm_job_run(&jobs[0]);
    for (int p = 1; p < used; p++) {
        if (started[p])
            pthread_join(threads[p], NULL);
        else
            gemm_job_run(&jobs[p]);
    }
}

/* ------------------------------------------------------------ pairs */

typedef struct pair_job {
    const sn_gemm_pair *g;
    int r1, m1, r2, m2;     /* this thread's rows of C1 and C2 */
    float *pack_buf;
} pair_job;

/* Both products share B: each B panel is packed once and used twice. */
static void *pair_job_run(void *arg)
{
    const pair_job *j = arg;
    const sn_gemm_pair *g = j->g;
    for (int p0 = 0; p0 < g->k; p0 += KC) {
        int kc = g->k - p0 < KC ? g->k - p0 : KC;
        pack(kc, g->n, g->b + (size_t)p0 * g->ldb, g->ldb, false,
             j->pack_buf);
        float *a_buf = j->pack_buf + sn_gemm_packed_floats(KC, g->n);
        if (j->m1 > 0)
            gemm_packed_at(j->m1, g->n, kc,
                           g->a1 + (size_t)p0 * g->lda1 + j->r1, g->lda1,
                           j->pack_buf, g->c1 + (size_t)j->r1 * g->ldc,
                           g->ldc, true, a_buf);
        if (j->m2 > 0)
            gemm_packed_at(j->m2, g->n, kc,
                           g->a2 + (size_t)p0 * g->lda2 + j->r2, g->lda2,
                           j->pack_buf, g->c2 + (size_t)j->r2 * g->ldc,
                           g->ldc, true, a_buf);
    }
    return NULL;
}

void sn_gemm_tn_pair(const sn_gemm_pair *g, int parts, float *pack_bufs)
{
    if (parts > SN_GEMM_MAX_PARTS)
        parts = SN_GEMM_MAX_PARTS;
    if (parts < 1)
        parts = 1;
    int rows1 = round_up((g->m1 + parts - 1) / parts, MR);
    int rows2 = round_up((g->m2 + parts - 1) / parts, MR);
    size_t per_buf = sn_gemm_pack_buffer_floats(g->n);
    pair_job jobs[SN_GEMM_MAX_PARTS];
    pthread_t threads[SN_GEMM_MAX_PARTS];
    bool started[SN_GEMM_MAX_PARTS] = { false };
    for (int p = 0; p < parts; p++) {
        int r1 = p * rows1 < g->m1 ? p * rows1 : g->m1;
        int r2 = p * rows2 < g->m2 ? p * rows2 : g->m2;
        int e1 = r1 + rows1 < g->m1 ? r1 + rows1 : g->m1;
        int e2 = r2 + rows2 < g->m2 ? r2 + rows2 : g->m2;
        jobs[p] = (pair_job){ g, r1, e1 - r1, r2, e2 - r2,
                              pack_bufs + (size_t)p * per_buf };
    }
    for (int p = 1; p < parts; p++)
        started[p] = pthread_create(&threads[p], NULL, pair_job_run,
                                    &jobs[p]) == 0;
    pair_job_run(&jobs[0]);
    for (int p = 1; p < parts; p++) {
        if (started[p])
            pthread_join(threads[p], NULL);
        else
            pair_job_run(&jobs[p]);
    }
}
