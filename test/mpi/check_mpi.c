/*
 * check_mpi.c - libseqnet-mpi under mpirun (`make check-mpi` runs it with
 * -np 2 and -np 3): data-parallel fit gives the weights one process gets
 * at the global batch, the replicas stay bitwise identical, process 0's
 * state reaches every process, and a failure on one process stops all of
 * them without a hang.  Not a Check suite: Check forks, and an MPI
 * process must not.  Rank 0 prints one line per test and the summary
 * "N passed, N failed" (a test fails when it fails on any rank).
 *
 * Tolerance of the equivalence tests: 2e-5 absolute on weights of order
 * 0.1-1 after 2 epochs.  Not bit-exact because the sum over the global
 * batch is formed in another order: one process sums all rows inside its
 * GEMMs, W processes each sum their rows and MPI adds the W partial means
 * (rounded to float once more); float addition is not associative.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "seqnet_mpi.h"

enum { T = 6, F = 3, N = 101 };
static const double TOL = 2e-5;

static int g_rank, g_size, g_pass, g_fail;
static sn_mpi_t *g_mpi;

/* A test passes when its condition holds on every rank. */
static void report(const char *name, int ok, const char *why)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!ok)
        fprintf(stderr, "rank %d: %s: %s\n", g_rank, name, why);
    if (all)
        g_pass++;
    else
        g_fail++;
    if (g_rank == 0 && strncmp(why, "max", 3) == 0)   /* the measured diffs */
        printf("%s %s (np %d): %s\n", all ? "ok  " : "FAIL", name, g_size,
               why);
    else if (g_rank == 0)
        printf("%s %s (np %d)\n", all ? "ok  " : "FAIL", name, g_size);
}

/* Input(T, F) -> LSTM(8) -> [Dropout(0.3)] -> Dense(1, sigmoid), BCE. */
static sn_model_t *classifier(uint64_t seed, int units, int dropout,
                              sn_optimizer_kind kind, float lr)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    sn_model_t *m = sn_model_new(&mo);
    sn_input(m, T, F);
    sn_model_add(m, sn_lstm(units, NULL));
    if (dropout)
        sn_model_add(m, sn_dropout(0.3f));
    sn_model_add(m, sn_dense(1, SN_SIGMOID, NULL));
    sn_optimizer_opts oo;
    sn_optimizer_defaults(kind, &oo);
    oo.learning_rate = lr;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_metric_kind metric = SN_METRIC_ACCURACY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    co.metrics = &metric;
    co.n_metrics = 1;
    if (sn_model_compile(m, &co) != SN_OK || sn_model_build(m) != SN_OK) {
        sn_model_free(m);
        return NULL;
    }
    return m;
}

static float g_x[N * T * F], g_y[N];

static void make_data(void)
{
    unsigned s = 12345;
    for (int i = 0; i < N * T * F; i++) {
        s = s * 1103515245u + 12345u;
        g_x[i] = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
    }
    for (int i = 0; i < N; i++) {
        float sum = 0;
        for (int k = 0; k < T * F; k += 2)
            sum += g_x[i * T * F + k];
        g_y[i] = sum > 0 ? 1.0f : 0.0f;
    }
}

static sn_dataset dataset(const void **in, const float **tg)
{
    in[0] = g_x;
    tg[0] = g_y;
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    return d;
}

static size_t weights(sn_model_t *m, float *out)
{
    size_t at = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t n;
        const float *w = sn_model_weight_data(m, i, &n);
        if (out != NULL)
            memcpy(out + at, w, n * sizeof *w);
        at += n;
    }
    return at;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > d || isnan(a[i]) != isnan(b[i]))
            d = isnan(a[i]) != isnan(b[i]) ? INFINITY
                                           : fabs((double)a[i] - b[i]);
    return d;
}

/* Whether every rank holds bitwise the same n floats. */
static int same_everywhere(const float *w, size_t n)
{
    float *max = malloc(n * sizeof *max), *min = malloc(n * sizeof *min);
    MPI_Allreduce(w, max, (int)n, MPI_FLOAT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(w, min, (int)n, MPI_FLOAT, MPI_MIN, MPI_COMM_WORLD);
    int same = memcmp(max, min, n * sizeof *max) == 0 &&
               memcmp(max, w, n * sizeof *max) == 0;
    free(max);
    free(min);
    return same;
}

static int same_double_everywhere(double v)
{
    double lo, hi;
    MPI_Allreduce(&v, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&v, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

/* ------------------------------------------------------------ tests */

/* W processes at per-process batch B against one process at batch W * B
 * (N = 101: the last global batch is short and, at B = 8, W = 3, split
 * 1/2/2 or so), with shuffling and validation.  The reference is trained
 * on every rank without collectives. */
static void test_equivalence(sn_optimizer_kind kind, float lr, int batch,
                             const char *name)
{
    const void *in[1];
    const float *tg[1];
    sn_dataset d = dataset(in, tg);
    sn_model_t *ref = classifier(7, 8, 0, kind, lr);
    /* different seed on other ranks: the attach must copy rank 0's weights */
    sn_model_t *dist = classifier(g_rank == 0 ? 7 : 99, 8, 0, kind, lr);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 2;
    fo.validation_split = 0.2f;
    fo.batch_size = batch * g_size;
    sn_history_t *h_ref = NULL, *h_dist = NULL;
    int ok = ref != NULL && dist != NULL;
    ok = ok && sn_model_fit(ref, &d, &fo, &h_ref) == SN_OK;
    ok = ok && sn_mpi_attach(g_mpi, dist) == SN_OK;
    fo.batch_size = batch;
    ok = ok && sn_model_fit(dist, &d, &fo, &h_dist) == SN_OK;
    char why[200] = "fit failed";
    if (ok) {
        size_t n = weights(ref, NULL);
        float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        weights(ref, a);
        weights(dist, b);
        double dw = max_diff(a, b, n);
        const char *keys[] = { "loss", "accuracy", "val_loss",
                               "val_accuracy" };
        double dl = 0;
        for (int k = 0; k < 4; k++) {
            const double *x = sn_history_values(h_ref, keys[k]);
            const double *y = sn_history_values(h_dist, keys[k]);
            for (int e = 0; x != NULL && y != NULL && e < 2; e++)
                dl = fmax(dl, fabs(x[e] - y[e]));
            if (x == NULL || y == NULL)
                dl = INFINITY;
        }
        ok = dw <= TOL && dl <= 1e-5 && same_everywhere(b, n);
        snprintf(why, sizeof why, "max weight diff %.3g, max log diff %.3g "
                 "(tolerance %.3g), replicas %s", dw, dl, TOL,
                 same_everywhere(b, n) ? "identical" : "differ");
        free(a);
        free(b);
    }
    report(name, ok, why);
    sn_history_free(h_ref);
    sn_history_free(h_dist);
    sn_model_free(ref);
    sn_model_free(dist);
}

/* With dropout: replicas stay identical, and two runs give the same
 * weights (the streams depend on the seed and the rank only). */
static void test_dropout_reproducible(void)
{
    const void *in[1];
    const float *tg[1];
    sn_dataset d = dataset(in, tg);
    float *w[2] = { NULL, NULL };
    size_t n = 0;
    int ok = 1;
    for (int run = 0; run < 2; run++) {
        sn_model_t *m = classifier(3, 8, 1, SN_ADAM, 0.01f);
        sn_fit_opts fo = SN_FIT_OPTS_INIT;
        fo.batch_size = 8;
        ok = ok && m != NULL && sn_mpi_attach(g_mpi, m) == SN_OK &&
             sn_model_fit(m, &d, &fo, NULL) == SN_OK;
        n = m != NULL ? weights(m, NULL) : 0;
        w[run] = calloc(n + 1, sizeof(float));
        if (m != NULL)
            weights(m, w[run]);
        sn_model_free(m);
    }
    ok = ok && memcmp(w[0], w[1], n * sizeof(float)) == 0 &&
         same_everywhere(w[0], n);
    report("dropout: reproducible, replicas identical", ok,
           "runs or replicas differ");
    free(w[0]);
    free(w[1]);
}

/* A resumed run: rank 0's Adam state (moments, step count) reaches all. */
static void test_optimizer_state_broadcast(void)
{
    const void *in[1];
    const float *tg[1];
    sn_dataset d = dataset(in, tg);
    sn_model_t *m = classifier(5, 4, 0, SN_ADAM, 0.01f);
    int ok = m != NULL;
    if (ok && g_rank == 0) {   /* only rank 0 has trained: it has state */
        sn_fit_opts fo = SN_FIT_OPTS_INIT;
        fo.batch_size = 16;
        ok = sn_model_fit(m, &d, &fo, NULL) == SN_OK;
    }
    ok = ok && sn_mpi_attach(g_mpi, m) == SN_OK;
    double iters = ok ? (double)sn_optimizer_iterations(sn_model_optimizer(m))
                      : -1;
    ok = ok && iters == 7 && same_double_everywhere(iters);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.batch_size = 16;
    ok = ok && sn_model_fit(m, &d, &fo, NULL) == SN_OK;
    size_t n = m != NULL ? weights(m, NULL) : 1;
    float *w = calloc(n, sizeof *w);
    if (m != NULL)
        weights(m, w);
    ok = ok && same_everywhere(w, n);
    report("optimizer state broadcast on resume", ok,
           "iterations or weights differ");
    free(w);
    sn_model_free(m);
}

/* Models of different sizes: every rank fails, none hangs. */
static void test_mismatch(void)
{
    sn_model_t *m = classifier(1, g_rank == 1 ? 5 : 4, 0, SN_SGD, 0.1f);
    sn_status st = sn_mpi_attach(g_mpi, m);
    report("different models refused on every rank",
           st == SN_ERR_INVALID_ARG, sn_last_error());
    sn_model_free(m);
}

/* A NaN input on the last rank: its step fails with SN_ERR_NUMERIC, every
 * other rank gets the same status, the weights are unchanged everywhere. */
static void test_failure_in_step(void)
{
    sn_model_t *m = classifier(2, 4, 0, SN_SGD, 0.1f);
    int ok = m != NULL && sn_mpi_attach(g_mpi, m) == SN_OK;
    size_t n = m != NULL ? weights(m, NULL) : 1;
    float *before = calloc(n, sizeof *before), *after = calloc(n, sizeof *after);
    if (m != NULL)
        weights(m, before);
    float x[4 * T * F];
    memcpy(x, g_x, sizeof x);
    if (g_rank == g_size - 1)
        x[5] = NAN;
    const void *in[1] = { x };
    const float *tg[1] = { g_y };
    sn_status st = ok ? sn_model_train_on_batch(m, 4, in, NULL, tg, NULL,
                                                NULL)
                      : SN_OK;
    if (m != NULL)
        weights(m, after);
    ok = ok && st == SN_ERR_NUMERIC && memcmp(before, after, n * 4) == 0;
    char why[300];
    snprintf(why, sizeof why, "status %d: %s", (int)st, sn_last_error());
    report("NaN on one rank fails the step on all", ok, why);
    /* and training goes on afterwards */
    in[0] = g_x;
    st = m != NULL ? sn_model_train_on_batch(m, 4, in, NULL, tg, NULL, NULL)
                   : SN_ERR_STATE;
    report("the next step works again", st == SN_OK, sn_last_error());
    free(before);
    free(after);
    sn_model_free(m);
}

/* A checkpoint only rank 0 writes, into a folder that does not exist:
 * fit fails with SN_ERR_IO on every rank after the first epoch. */
static void test_checkpoint_failure(void)
{
    const void *in[1];
    const float *tg[1];
    sn_dataset d = dataset(in, tg);
    sn_model_t *m = classifier(2, 4, 0, SN_SGD, 0.1f);
    int ok = m != NULL && sn_mpi_attach(g_mpi, m) == SN_OK;
    sn_checkpoint_opts ck = SN_CHECKPOINT_OPTS_INIT;
    ck.path = "/nonexistent-folder/seqnet/model.snm";
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 3;
    fo.checkpoint = &ck;
    sn_history_t *h = NULL;
    sn_status st = ok ? sn_model_fit(m, &d, &fo, &h) : SN_OK;
    ok = ok && st == SN_ERR_IO && sn_history_epochs(h) == 1;
    report("checkpoint error on rank 0 stops every rank", ok,
           sn_last_error());
    sn_history_free(h);
    sn_model_free(m);
}

/* Only rank 0 prints the progress bar and writes checkpoints; early
 * stopping and ReduceLROnPlateau decide alike everywhere. */
static void test_rank0_output_and_callbacks(void)
{
    const void *in[1];
    const float *tg[1];
    sn_dataset d = dataset(in, tg);
    sn_model_t *m = classifier(4, 4, 0, SN_SGD, 0.5f);
    int ok = m != NULL && sn_mpi_attach(g_mpi, m) == SN_OK;
    FILE *bar = tmpfile();
    char path[64];
    snprintf(path, sizeof path, "/tmp/check_mpi_%d.snm", (int)getpid());
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    sn_checkpoint_opts ck = SN_CHECKPOINT_OPTS_INIT;
    ck.path = path;
    sn_early_stopping_opts es = SN_EARLY_STOPPING_OPTS_INIT;
    es.patience = 1;
    es.min_delta = 0.05f;   /* stops soon, on a decision of every rank */
    sn_reduce_lr_opts rl = SN_REDUCE_LR_OPTS_INIT;
    rl.patience = 0;
    rl.min_delta = 0.05f;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 8;
    fo.batch_size = 8;
    fo.validation_split = 0.25f;
    fo.progress = bar;
    fo.early_stopping = &es;
    fo.reduce_lr = &rl;
    fo.checkpoint = &ck;
    sn_history_t *h = NULL;
    ok = ok && sn_model_fit(m, &d, &fo, &h) == SN_OK;
    long printed = bar != NULL ? ftell(bar) : -1;
    ok = ok && (g_rank == 0 ? printed > 0 : printed == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    ok = ok && (access(path, F_OK) == 0);   /* rank 0 wrote it (shared /tmp) */
    int epochs = h != NULL ? sn_history_epochs(h) : -1;
    const double *lr = h != NULL ? sn_history_values(h, "lr") : NULL;
    ok = ok && lr != NULL && same_double_everywhere(epochs) &&
         same_double_everywhere(lr[epochs - 1]) &&
         same_double_everywhere(sn_history_stopped_epoch(h));
    char why[200];
    snprintf(why, sizeof why, "printed %ld bytes, %d epochs", printed,
             epochs);
    report("rank 0 prints and saves; EarlyStopping/ReduceLR agree", ok, why);
    MPI_Barrier(MPI_COMM_WORLD);
    if (g_rank == 0)
        remove(path);
    if (bar != NULL)
        fclose(bar);
    sn_history_free(h);
    sn_model_free(m);
}

/* A batch callback that stops on rank 0 only stops every rank. */
static int stop_on_rank0(void *user, int epoch, int batch, const double *logs,
                         int n_logs)
{
    (void)user, (void)epoch, (void)logs, (void)n_logs;
    return g_rank == 0 && batch == 1;
}

static void test_callback_stop(void)
{
    const void *in[1];
    const float *tg[1];
    sn_dataset d = dataset(in, tg);
    sn_model_t *m = classifier(4, 4, 0, SN_SGD, 0.1f);
    int ok = m != NULL && sn_mpi_attach(g_mpi, m) == SN_OK;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 3;
    fo.batch_size = 4;
    fo.on_batch_end = stop_on_rank0;
    sn_history_t *h = NULL;
    ok = ok && sn_model_fit(m, &d, &fo, &h) == SN_OK &&
         sn_history_epochs(h) == 1 &&
         sn_optimizer_iterations(sn_model_optimizer(m)) == 2;
    report("a callback's stop on rank 0 stops every rank", ok,
           "did not stop after 2 steps");
    sn_history_free(h);
    sn_model_free(m);
}

/* One fused gradient allreduce per step, of all the weights. */
static void test_one_allreduce_per_step(void)
{
    sn_model_t *m = classifier(2, 8, 0, SN_SGD, 0.1f);
    int ok = m != NULL && sn_mpi_attach(g_mpi, m) == SN_OK;
    sn_mpi_stats a = SN_MPI_STATS_INIT, b = SN_MPI_STATS_INIT;
    sn_mpi_get_stats(g_mpi, &a);
    const void *in[1] = { g_x };
    const float *tg[1] = { g_y };
    for (int i = 0; ok && i < 3; i++)
        ok = sn_model_train_on_batch(m, 4, in, NULL, tg, NULL, NULL) == SN_OK;
    sn_mpi_get_stats(g_mpi, &b);
    size_t n = m != NULL ? weights(m, NULL) : 0;
    ok = ok && b.gradient_calls - a.gradient_calls == 3 &&
         b.gradient_bytes - a.gradient_bytes == (int64_t)(3 * n * 4) &&
         b.other_calls - a.other_calls == 3;
    report("one gradient allreduce + one 4-double allreduce per step", ok,
           "call counts differ");
    sn_model_free(m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (sn_mpi_new(MPI_COMM_WORLD, &g_mpi) != SN_OK) {
        fprintf(stderr, "sn_mpi_new failed\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    report("sn_mpi_rank / sn_mpi_size", sn_mpi_rank(g_mpi) == g_rank &&
           sn_mpi_size(g_mpi) == g_size, "wrong rank or size");
    make_data();
    test_equivalence(SN_SGD, 0.5f, 16, "SGD: W x batch 16 == 1 x batch 16W");
    test_equivalence(SN_SGD, 0.5f, 8, "SGD: W x batch 8 == 1 x batch 8W "
                     "(uneven last batch)");
    test_equivalence(SN_ADAM, 0.01f, 8, "Adam: W x batch 8 == 1 x batch 8W");
    test_dropout_reproducible();
    test_optimizer_state_broadcast();
    test_mismatch();
    test_failure_in_step();
    test_checkpoint_failure();
    test_rank0_output_and_callbacks();
    test_callback_stop();
    test_one_allreduce_per_step();
    sn_mpi_free(g_mpi);
    if (g_rank == 0)
        printf("%d passed, %d failed\n", g_pass, g_fail);
    MPI_Finalize();
    return g_fail == 0 ? 0 : 1;
}
