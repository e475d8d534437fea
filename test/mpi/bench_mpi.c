/*
 * bench_mpi.c - time per epoch and gradient allreduce cost of the
 * example-03 classifier (Embedding(20000, 128) -> LSTM(64) -> Dense(1)) on
 * random token ids, data-parallel over however many ranks mpirun starts.
 * docs/DISTRIBUTED.md quotes it.  `make bench-mpi` builds it;
 *   mpirun -np W build/.../test/mpi/bench_mpi GLOBAL_BATCH [N] [MAXLEN]
 *   mpirun -np W build/.../test/mpi/bench_mpi --allreduce FLOATS
 * The second form times the in-place float allreduce of a gradient of
 * FLOATS values alone (median of 30 after 5 warm-up calls).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "seqnet_mpi.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void time_allreduce(int rank, long n)
{
    float *g = calloc((size_t)n, sizeof *g);
    double t[30];
    for (int i = -5; i < 30; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
        if (i >= 0)
            t[i] = MPI_Wtime() - t0;
    }
    qsort(t, 30, sizeof *t, by_value);
    if (rank == 0)
        printf("allreduce of %ld floats (%.3f MB): median %.3f ms, min %.3f "
               "ms\n", n, n * 4e-6, t[15] * 1e3, t[0] * 1e3);
    free(g);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc > 2 && strcmp(argv[1], "--allreduce") == 0) {
        time_allreduce(rank, atol(argv[2]));
        MPI_Finalize();
        return 0;
    }
    int global = argc > 1 ? atoi(argv[1]) : 64;
    int n = argc > 2 ? atoi(argv[2]) : 1024;
    int len = argc > 3 ? atoi(argv[3]) : 100;
    int32_t *x = malloc((size_t)n * len * sizeof *x);
    float *y = malloc((size_t)n * sizeof *y);
    unsigned s = 1;
    for (int i = 0; i < n * len; i++)
        x[i] = (int32_t)((s = s * 1103515245u + 12345u) >> 8) % 20000;
    for (int i = 0; i < n; i++)
        y[i] = (float)(x[i * len] % 2);
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 3;
    sn_model_t *m = sn_model_new(&mo);
    sn_input_tokens(m, len);
    sn_model_add(m, sn_embedding(20000, 128, NULL));
    sn_model_add(m, sn_lstm(64, NULL));
    sn_model_add(m, sn_dense(1, SN_SIGMOID, NULL));
    sn_optimizer_opts oo;
    sn_optimizer_defaults(SN_ADAM, &oo);
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    sn_mpi_t *mpi = NULL;
    if (sn_model_compile(m, &co) != SN_OK || sn_mpi_new(MPI_COMM_WORLD, &mpi) != SN_OK ||
        sn_mpi_attach(mpi, m) != SN_OK) {
        fprintf(stderr, "set-up failed: %s\n", sn_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const void *in[1] = { x };
    const float *tg[1] = { y };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = n;
    d.inputs = in;
    d.targets = tg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.batch_size = global / size;
    fo.epochs = 1;   /* one warm-up epoch, then one timed */
    sn_history_t *h = NULL;
    sn_model_fit(m, &d, &fo, &h);
    sn_history_free(h);
    sn_mpi_stats a = SN_MPI_STATS_INIT, b = SN_MPI_STATS_INIT;
    sn_mpi_get_stats(mpi, &a);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    sn_status st = sn_model_fit(m, &d, &fo, &h);
    double t = MPI_Wtime() - t0;
    sn_mpi_get_stats(mpi, &b);
    const double *loss = h != NULL ? sn_history_values(h, "loss") : NULL;
    long steps = (n + global - 1) / global;
    if (rank == 0)
        printf("ranks %d batch %d/rank: epoch %.3f s, %ld steps, %.2f ms/step, "
               "gradient %.2f MB/step, allreduce %.2f ms/step, loss %.5f%s\n",
               size, fo.batch_size, t, steps, 1e3 * t / (steps ? steps : 1),
               (double)(b.gradient_bytes - a.gradient_bytes) / steps / 1e6,
               1e3 * (b.gradient_seconds - a.gradient_seconds) / steps,
               loss ? loss[0] : -1, st == SN_OK ? "" : " (fit failed)");
    sn_history_free(h);
    sn_model_free(m);
    sn_mpi_free(mpi);
    free(x);
    free(y);
    MPI_Finalize();
    return 0;
}
