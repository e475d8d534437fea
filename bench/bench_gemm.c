/*
 * bench_gemm.c - the recurrent products' rate beside OpenBLAS sgemm on the
 * same shapes, one thread, at the instruction-set path in use.
 *
 *   bench_gemm [--reps N]
 *
 * Prints the path (sn_cpu_isa: set SN_CPU to force one) and, per shape,
 * GFLOP/s of libseqnet's kernel and of cblas_sgemm, and their ratio.  The
 * time is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), best of
 * five rounds: another process on the same core slows the wall clock, not
 * this.  OpenBLAS is held to one thread (openblas_set_num_threads) and to
 * the matching kernels with OPENBLAS_CORETYPE (bench/run.sh sets it:
 * SkylakeX for avx512, Haswell for avx2, Nehalem for generic).
 *
 * Shapes: the fused LSTM step of the core model on one of two threads'
 * slices ([32, E+H] x [E+H, 4H], B packed once: the time loop), the input
 * projection x.K over a slice of steps ([2048, 128] x [128, 512], packing
 * included), and the weight gradient xᵀ.dZ ([128, 2048]ᵀ x [2048, 512]).
 * Links the static library: the kernels are internal.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"
#include "seqnet.h"

/* OpenBLAS's own calls, weak: with BLIS (BLAS=blis) they are absent and
 * run.sh holds BLIS to one thread with BLIS_NUM_THREADS=1 instead. */
void openblas_set_num_threads(int) __attribute__((weak));
char *openblas_get_corename(void) __attribute__((weak));

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *random_floats(size_t n)
{
    float *x = malloc(n * sizeof *x);
    if (x == NULL) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return x;
}

typedef struct shape {
    const char *name;
    int m, n, k;
    bool at;        /* A stored transposed ([k, m]) */
    bool packed;    /* B packed once outside the timing (the step loop) */
} shape;

typedef struct operands {
    float *a, *b, *c, *packed, *pack_buf;
} operands;

static void ours(const shape *s, operands *o)
{
    if (s->packed) {
        sn_gemm_nn_packed(s->m, s->n, s->k, o->a, s->k, o->packed, o->c,
                          s->n, false);
        return;
    }
    sn_gemm_args g = { s->at, false, s->m, s->n, s->k, o->a,
                       s->at ? s->m : s->k, o->b, s->n, o->c, s->n, false,
                       NULL, NULL, NULL };
    sn_gemm_parallel(&g, NULL, 1, o->pack_buf);
}

static void blas(const shape *s, operands *o)
{
    cblas_sgemm(CblasRowMajor, s->at ? CblasTrans : CblasNoTrans,
                CblasNoTrans, s->m, s->n, s->k, 1.0f, o->a,
                s->at ? s->m : s->k, o->b, s->n, 0.0f, o->c, s->n);
}

/* Best-of-five GFLOP/s of reps calls. */
static double rate(void (*fn)(const shape *, operands *), const shape *s,
                   operands *o, int reps)
{
    double best = 1e30;
    fn(s, o);
    for (int round = 0; round < 5; round++) {
        double t0 = cpu_seconds();
        for (int r = 0; r < reps; r++)
            fn(s, o);
        double t = cpu_seconds() - t0;
        best = t < best ? t : best;
    }
    return 2.0 * s->m * s->n * (double)s->k * reps / best * 1e-9;
}

int main(int argc, char **argv)
{
    int reps = 200;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_gemm [--reps N]\n");
            return 2;
        }
    }
    if (openblas_set_num_threads != NULL)
        openblas_set_num_threads(1);
    const shape shapes[] = {
        { "step   [32,256]x[256,512] packed", 32, 512, 256, false, true },
        { "proj   [2048,128]x[128,512]", 2048, 512, 128, false, false },
        { "grad   [2048,128]T x[2048,512]", 128, 512, 2048, true, false },
    };
    printf("# path %s, BLAS %s, 1 thread, CPU time, best of 5\n",
           sn_cpu_isa(),
           openblas_get_corename != NULL ? openblas_get_corename() : "BLIS");
    printf("%-34s %10s %10s %7s\n", "shape", "sn GF/s", "blas GF/s",
           "ratio");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        operands o;
        o.a = random_floats((size_t)s->m * s->k);
        o.b = random_floats((size_t)s->k * s->n);
        o.c = random_floats((size_t)s->m * s->n);
        o.packed = random_floats(sn_gemm_packed_floats(s->k, s->n));
        o.pack_buf = random_floats(sn_gemm_pack_buffer_floats(s->n));
        sn_gemm_pack_b(s->k, s->n, o.b, s->n, false, o.packed);
        int r = (int)(reps * 2e8 / (2.0 * s->m * s->n * s->k) / 50) + 1;
        double sn = rate(ours, s, &o, r);
        double bl = rate(blas, s, &o, r);
        printf("%-34s %10.1f %10.1f %7.2f\n", s->name, sn, bl, sn / bl);
        printf("RESULT gemm %s %s sn_gflops %.2f blas_gflops %.2f\n",
               sn_cpu_isa(), i == 0 ? "step" : i == 1 ? "proj" : "grad", sn,
               bl);
        free(o.a);
        free(o.b);
        free(o.c);
        free(o.packed);
        free(o.pack_buf);
    }
    return 0;
}
