/*
 * rnn_gemm.c - the small matrix product of one recurrent time step,
 * C[m, n] (+)= A[m, k] . B[k, n], row-major with leading dimensions.
 *
 * Why not CBLAS here: the time loop runs on several threads at once, one
 * slice of the batch each, and a multi-threaded BLAS called from several
 * threads either oversubscribes the cores or serialises.  This kernel is
 * single-threaded by construction.  Blocks of 8 rows x 32 columns keep
 * the accumulators in vector registers while a row of B streams through.
 */
#include <pthread.h>
#include <string.h>

#include "rnn_gemm.h"

enum { MR = 8, NR = 32 };

/* A full MR x NR block.  GCC's generic vectors keep the 4 x 32
 * accumulators in registers (8 AVX-512 or 16 AVX2 registers); on a
 * narrower target the compiler splits them. */
typedef float vec16 __attribute__((vector_size(64), aligned(4)));

/* always_inline: the block must be compiled inside each clone of gemm_nn
 * (a separate function would only get the baseline instruction set). */
/* Element (i, p) of A: a[i*lda + p], or a[p*lda + i] when A is stored
 * transposed (the weight-gradient products xᵀ.dZ). */
__attribute__((always_inline)) static inline float
a_at(const float *a, int lda, bool at, int i, int p)
{
    return at ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
}

__attribute__((always_inline)) static inline void
block_full(int k, const float *a, int lda, bool at, const float *b, int ldb,
           float *c, int ldc, bool accumulate)
{
    vec16 acc[MR][2];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < k; p++) {
        vec16 b0, b1;
        memcpy(&b0, b + (size_t)p * ldb, sizeof b0);
        memcpy(&b1, b + (size_t)p * ldb + 16, sizeof b1);
        for (int i = 0; i < MR; i++) {
            float av = a_at(a, lda, at, i, p);
            acc[i][0] += av * b0;
            acc[i][1] += av * b1;
        }
    }
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int h = 0; h < 2; h++) {
            vec16 v = acc[i][h];
            if (accumulate) {
                vec16 old;
                memcpy(&old, ci + 16 * h, sizeof old);
                v += old;
            }
            memcpy(ci + 16 * h, &v, sizeof v);
        }
    }
}

/* Fewer than MR rows (batch 1 inference, slice ends): one row at a time,
 * still NR columns of vector accumulators. */
__attribute__((always_inline)) static inline void
block_rows(int mr, int k, const float *a, int lda, bool at, const float *b,
           int ldb, float *c, int ldc, bool accumulate)
{
    for (int i = 0; i < mr; i++) {
        vec16 c0 = { 0 }, c1 = { 0 };
        for (int p = 0; p < k; p++) {
            vec16 b0, b1;
            float av = a_at(a, lda, at, i, p);
            memcpy(&b0, b + (size_t)p * ldb, sizeof b0);
            memcpy(&b1, b + (size_t)p * ldb + 16, sizeof b1);
            c0 += av * b0;
            c1 += av * b1;
        }
        float *ci = c + (size_t)i * ldc;
        if (accumulate) {
            vec16 o0, o1;
            memcpy(&o0, ci, sizeof o0);
            memcpy(&o1, ci + 16, sizeof o1);
            c0 += o0;
            c1 += o1;
        }
        memcpy(ci, &c0, sizeof c0);
        memcpy(ci + 16, &c1, sizeof c1);
    }
}

/* Any edge block, mr <= MR rows and nr <= NR columns. */
static void block_edge(int mr, int nr, int k, const float *a, int lda,
                       bool at, const float *b, int ldb, float *c, int ldc,
                       bool accumulate)
{
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float s = 0.0f;
            for (int p = 0; p < k; p++)
                s += a_at(a, lda, at, i, p) * b[(size_t)p * ldb + j];
            float *cij = c + (size_t)i * ldc + j;
            *cij = accumulate ? *cij + s : s;
        }
}

/* One panel of KC inner-dimension steps: every block of C over p in
 * [0, k), which keeps the B panel (KC x n) in the L2 cache while all row
 * blocks stream past it. */
__attribute__((always_inline)) static inline void
panel(int m, int n, int k, const float *a, int lda, bool at, const float *b,
      int ldb, float *c, int ldc, bool accumulate)
{
    for (int i0 = 0; i0 < m; i0 += MR) {
        int mr = m - i0 < MR ? m - i0 : MR;
        const float *ai = at ? a + i0 : a + (size_t)i0 * lda;
        for (int j0 = 0; j0 < n; j0 += NR) {
            int nr = n - j0 < NR ? n - j0 : NR;
            float *cij = c + (size_t)i0 * ldc + j0;
            if (mr == MR && nr == NR)
                block_full(k, ai, lda, at, b + j0, ldb, cij, ldc, accumulate);
            else if (nr == NR)
                block_rows(mr, k, ai, lda, at, b + j0, ldb, cij, ldc,
                           accumulate);
            else
                block_edge(mr, nr, k, ai, lda, at, b + j0, ldb, cij, ldc,
                           accumulate);
        }
    }
}

enum { KC = 256 };

SN_CLONES static void gemm(int m, int n, int k, const float *a, int lda,
                           bool at, const float *b, int ldb, float *c,
                           int ldc, bool accumulate)
{
    for (int p0 = 0; p0 < k || p0 == 0; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        const float *ap = at ? a + (size_t)p0 * lda : a + p0;
        panel(m, n, kc, ap, lda, at, b + (size_t)p0 * ldb, ldb, c, ldc,
              accumulate || p0 > 0);
        if (k == 0)
            break;
    }
}

void sn_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b,
                int ldb, float *c, int ldc, bool accumulate)
{
    gemm(m, n, k, a, lda, false, b, ldb, c, ldc, accumulate);
}

void sn_gemm_tn(int m, int n, int k, const float *a, int lda, const float *b,
                int ldb, float *c, int ldc, bool accumulate)
{
    gemm(m, n, k, a, lda, true, b, ldb, c, ldc, accumulate);
}

/* ------------------------------------------------------------ threads */

typedef struct gemm_job {
    bool at;
    int m, n, k, lda, ldb, ldc;
    const float *a, *b;
    float *c;
    bool accumulate;
} gemm_job;

static void *gemm_job_run(void *arg)
{
    const gemm_job *j = arg;
    gemm(j->m, j->n, j->k, j->a, j->lda, j->at, j->b, j->ldb, j->c, j->ldc,
         j->accumulate);
    return NULL;
}

void sn_gemm_parallel(bool a_transposed, int m, int n, int k, const float *a,
                      int lda, const float *b, int ldb, float *c, int ldc,
                      bool accumulate, int parts)
{
    if (parts > SN_GEMM_MAX_PARTS)
        parts = SN_GEMM_MAX_PARTS;
    int rows = (m + parts - 1) / parts;
    rows = (rows + MR - 1) / MR * MR;
    gemm_job jobs[SN_GEMM_MAX_PARTS];
    pthread_t threads[SN_GEMM_MAX_PARTS];
    bool started[SN_GEMM_MAX_PARTS] = { false };
    int used = 0;
    for (int p = 0; p < parts && p * rows < m; p++) {
        int i0 = p * rows, mr = m - i0 < rows ? m - i0 : rows;
        const float *ap = a_transposed ? a + i0 : a + (size_t)i0 * lda;
        jobs[p] = (gemm_job){ a_transposed, mr, n, k, lda, ldb, ldc, ap, b,
                              c + (size_t)i0 * ldc, accumulate };
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
