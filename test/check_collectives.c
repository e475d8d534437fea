/*
 * check_collectives.c - the data-parallel hook (sn_model_set_collectives)
 * in one process, with fake transports: a "mirror" group whose other
 * processes contribute exactly what this one does, a recorder and a
 * replayer of broadcasts (to play process 1 after process 0), and peers
 * that fail.  The real thing, over MPI, is tested by `make check-mpi`
 * (test/mpi/check_mpi.c); this suite runs in `make check` and under ASan.
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stdlib.h>
#include <string.h>

#include "support/testkit.h"

enum { N = 64, F = 3, MAX_CASTS = 16 };

/* A fake group: world copies of this process. */
typedef struct fake {
    int world;
    int f64_calls, f32_calls, casts;
    size_t f32_n;
    sn_status f32_status;   /* what sum_f32 returns                 */
    int peer_fails;         /* process 1 reports status -9 in steps */
    int record, replay;     /* broadcasts: store them / play them   */
    void *cast[MAX_CASTS];
    size_t cast_len[MAX_CASTS];
} fake;

static sn_status mirror_f64(void *user, double *v, size_t n)
{
    fake *f = user;
    f->f64_calls++;
    for (size_t i = 0; i < n; i++)
        v[i] *= f->world;
    if (f->peer_fails && n == 4) {   /* [batch, failed, status, rank+1] */
        v[1] += 1;
        v[2] += SN_ERR_NUMERIC;
        v[3] += 2;
    }
    return SN_OK;
}

static sn_status mirror_f32(void *user, float *v, size_t n)
{
    fake *f = user;
    f->f32_calls++;
    f->f32_n = n;
    for (size_t i = 0; i < n; i++)
        v[i] *= (float)f->world;
    return f->f32_status;
}

static sn_status cast(void *user, void *data, size_t bytes)
{
    fake *f = user;
    ck_assert_int_lt(f->casts, MAX_CASTS);
    int k = f->casts++;
    if (f->record) {
        f->cast[k] = malloc(bytes);
        memcpy(f->cast[k], data, bytes);
        f->cast_len[k] = bytes;
    } else if (f->replay) {
        ck_assert_uint_eq(f->cast_len[k], bytes);
        memcpy(data, f->cast[k], bytes);
    }
    return SN_OK;
}

static sn_collectives hooks(fake *f, int rank)
{
    sn_collectives c = SN_COLLECTIVES_INIT;
    c.rank = rank;
    c.world = f->world;
    c.user = f;
    c.sum_f64 = mirror_f64;
    c.sum_f32 = mirror_f32;
    c.broadcast = cast;
    return c;
}

static void fake_free(fake *f)
{
    for (int i = 0; i < MAX_CASTS; i++)
        free(f->cast[i]);
}

/* Input(F) -> Dense(8, tanh) -> Dense(1), MSE, optimizer kind. */
static sn_model_t *model(uint64_t seed, int hidden, sn_optimizer_kind kind)
{
    sn_model_t *m = tk_new_model(seed);
    sn_input(m, SN_NO_TIME, F);
    sn_model_add(m, sn_dense(hidden, SN_TANH, NULL));
    sn_model_add(m, sn_dense(1, SN_LINEAR, NULL));
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(kind, &o), SN_OK);
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&o);
    co.loss = &lo;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

static size_t all_weights(sn_model_t *m, float *out)
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

static float g_x[N * F], g_y[N];

static void data(const void **in, const float **tg)
{
    tk_fill(g_x, N * F, 7, -1.0f, 1.0f);
    for (int i = 0; i < N; i++)
        g_y[i] = g_x[i * F] - 2.0f * g_x[i * F + 2];
    in[0] = g_x;
    tg[0] = g_y;
}

/* ------------------------------------------------------------ tests */

/* Two processes with the same rows average to the gradient of one: the
 * weights match training alone bit for bit (the scale 1/2 and the sum of
 * two equal floats are exact), with one 4-double sum and one gradient sum
 * of every weight per step. */
START_TEST(test_mirror_step_equals_alone)
{
    const void *in[1];
    const float *tg[1];
    data(in, tg);
    sn_model_t *alone = model(3, 8, SN_ADAM), *dist = model(3, 8, SN_ADAM);
    fake f = { .world = 2 };
    sn_collectives c = hooks(&f, 0);
    ck_assert_int_eq(sn_model_set_collectives(dist, &c), SN_OK);
    int casts = f.casts;
    /* n, weights, seed, pass counter, optimizer state length (0) */
    ck_assert_int_eq(casts, 5);
    for (int s = 0; s < 3; s++) {
        ck_assert_int_eq(sn_model_train_on_batch(alone, 16, in, NULL, tg,
                                                 NULL, NULL), SN_OK);
        ck_assert_int_eq(sn_model_train_on_batch(dist, 16, in, NULL, tg,
                                                 NULL, NULL), SN_OK);
    }
    size_t n = all_weights(alone, NULL);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    all_weights(alone, a);
    all_weights(dist, b);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    ck_assert_int_eq(f.f32_calls, 3);
    ck_assert_uint_eq(f.f32_n, n);
    ck_assert_int_eq(f.f64_calls, 3 + 2);   /* + the attach's agreements */
    /* detached: no more calls */
    ck_assert_int_eq(sn_model_set_collectives(dist, NULL), SN_OK);
    ck_assert_int_eq(sn_model_train_on_batch(dist, 16, in, NULL, tg, NULL,
                                             NULL), SN_OK);
    ck_assert_int_eq(f.f32_calls, 3);
    free(a);
    free(b);
    fake_free(&f);
    sn_model_free(alone);
    sn_model_free(dist);
}
END_TEST

/* fit shards: at batch 8 per process and world 4, 64 rows are 2 global
 * steps per epoch; the logs (mirrored sums over mirrored counts) stay the
 * process's own means. */
START_TEST(test_fit_steps_per_epoch_by_world)
{
    const void *in[1];
    const float *tg[1];
    data(in, tg);
    sn_model_t *m = model(5, 4, SN_SGD);
    fake f = { .world = 4 };
    sn_collectives c = hooks(&f, 0);
    ck_assert_int_eq(sn_model_set_collectives(m, &c), SN_OK);
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 3;
    fo.batch_size = 8;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &d, &fo, &h), SN_OK);
    ck_assert_int_eq(f.f32_calls, 3 * 2);
    ck_assert_int_eq(sn_optimizer_iterations(sn_model_optimizer(m)), 6);
    const double *loss = sn_history_values(h, "loss");
    ck_assert_ptr_nonnull(loss);
    ck_assert(isfinite(loss[2]) && loss[2] > 0.0);
    sn_history_free(h);
    fake_free(&f);
    sn_model_free(m);
}
END_TEST

/* Process 1 failed its step: this one fails too, with process 1's status
 * and a message naming it; the weights are unchanged and the gradient was
 * never summed. */
START_TEST(test_peer_failure_fails_the_step)
{
    const void *in[1];
    const float *tg[1];
    data(in, tg);
    sn_model_t *m = model(2, 4, SN_SGD);
    fake f = { .world = 2 };
    sn_collectives c = hooks(&f, 0);
    ck_assert_int_eq(sn_model_set_collectives(m, &c), SN_OK);
    size_t n = all_weights(m, NULL);
    float *before = malloc(n * sizeof *before), *after = malloc(n * 4);
    all_weights(m, before);
    f.peer_fails = 1;
    ck_assert_int_eq(sn_model_train_on_batch(m, 8, in, NULL, tg, NULL, NULL),
                     SN_ERR_NUMERIC);
    tk_expect_error_mentions("process 1 of 2");
    all_weights(m, after);
    ck_assert_mem_eq(before, after, n * sizeof *before);
    ck_assert_int_eq(f.f32_calls, 0);
    /* our own failure (a NaN input) is ours, with our message */
    f.peer_fails = 0;
    float x[8 * F];
    memcpy(x, g_x, sizeof x);
    x[4] = NAN;
    const void *bad[1] = { x };
    ck_assert_int_eq(sn_model_train_on_batch(m, 8, bad, NULL, tg, NULL,
                                             NULL), SN_ERR_NUMERIC);
    ck_assert(!tk_contains(sn_last_error(), "process 1"));
    ck_assert_int_eq(f.f32_calls, 0);
    free(before);
    free(after);
    fake_free(&f);
    sn_model_free(m);
}
END_TEST

/* A transport error in the gradient sum is the step's error. */
START_TEST(test_transport_error)
{
    const void *in[1];
    const float *tg[1];
    data(in, tg);
    sn_model_t *m = model(2, 4, SN_SGD);
    fake f = { .world = 2, .f32_status = SN_ERR_IO };
    sn_collectives c = hooks(&f, 0);
    ck_assert_int_eq(sn_model_set_collectives(m, &c), SN_OK);
    ck_assert_int_eq(sn_model_train_on_batch(m, 8, in, NULL, tg, NULL, NULL),
                     SN_ERR_IO);
    tk_expect_error_mentions("allreduce");
    fake_free(&f);
    sn_model_free(m);
}
END_TEST

/* Process 1 receives process 0's weights, seed and Adam state: record
 * process 0's broadcasts, replay them into another model as process 1. */
START_TEST(test_rank1_receives_rank0_state)
{
    const void *in[1];
    const float *tg[1];
    data(in, tg);
    sn_model_t *m0 = model(11, 8, SN_ADAM), *m1 = model(99, 8, SN_ADAM);
    for (int s = 0; s < 2; s++)   /* m0 has optimizer state to share */
        ck_assert_int_eq(sn_model_train_on_batch(m0, 16, in, NULL, tg, NULL,
                                                 NULL), SN_OK);
    fake f0 = { .world = 2, .record = 1 };
    sn_collectives c0 = hooks(&f0, 0);
    ck_assert_int_eq(sn_model_set_collectives(m0, &c0), SN_OK);
    fake f1 = { .world = 2, .replay = 1 };
    memcpy(f1.cast, f0.cast, sizeof f1.cast);
    memcpy(f1.cast_len, f0.cast_len, sizeof f1.cast_len);
    sn_collectives c1 = hooks(&f1, 1);
    ck_assert_int_eq(sn_model_set_collectives(m1, &c1), SN_OK);
    ck_assert_int_eq(f1.casts, f0.casts);
    ck_assert_int_eq(sn_optimizer_iterations(sn_model_optimizer(m1)), 2);
    size_t n = all_weights(m0, NULL);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    all_weights(m0, a);
    all_weights(m1, b);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    /* the next steps (same rows, mirrored) keep them equal: Adam's
     * moments came along */
    for (int s = 0; s < 2; s++) {
        ck_assert_int_eq(sn_model_train_on_batch(m0, 16, in, NULL, tg, NULL,
                                                 NULL), SN_OK);
        ck_assert_int_eq(sn_model_train_on_batch(m1, 16, in, NULL, tg, NULL,
                                                 NULL), SN_OK);
    }
    all_weights(m0, a);
    all_weights(m1, b);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    /* a model of another size refuses process 0's broadcasts */
    sn_model_t *other = model(1, 5, SN_ADAM);
    fake f2 = { .world = 2, .replay = 1 };
    memcpy(f2.cast, f0.cast, sizeof f2.cast);
    memcpy(f2.cast_len, f0.cast_len, sizeof f2.cast_len);
    sn_collectives c2 = hooks(&f2, 1);
    ck_assert_int_eq(sn_model_set_collectives(other, &c2),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("weights");
    free(a);
    free(b);
    fake_free(&f0);   /* f1 and f2 borrowed f0's buffers */
    sn_model_free(m0);
    sn_model_free(m1);
    sn_model_free(other);
}
END_TEST

START_TEST(test_bad_arguments)
{
    sn_model_t *m = model(1, 4, SN_SGD);
    fake f = { .world = 2 };
    sn_collectives c = hooks(&f, 0);
    ck_assert_int_eq(sn_model_set_collectives(NULL, &c), SN_ERR_INVALID_ARG);
    sn_collectives bad = c;
    bad.size = 0;
    ck_assert_int_eq(sn_model_set_collectives(m, &bad), SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("SN_COLLECTIVES_INIT");
    bad = c;
    bad.rank = 2;
    ck_assert_int_eq(sn_model_set_collectives(m, &bad), SN_ERR_INVALID_ARG);
    bad = c;
    bad.world = 0;
    bad.rank = 0;
    ck_assert_int_eq(sn_model_set_collectives(m, &bad), SN_ERR_INVALID_ARG);
    bad = c;
    bad.sum_f32 = NULL;
    ck_assert_int_eq(sn_model_set_collectives(m, &bad), SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("NULL");
    /* a world of one needs no hooks and changes nothing */
    sn_collectives one = SN_COLLECTIVES_INIT;
    ck_assert_int_eq(sn_model_set_collectives(m, &one), SN_OK);
    ck_assert_int_eq(f.casts + f.f64_calls + f.f32_calls, 0);
    sn_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("collectives");
    TCase *tc = tcase_create("fake transports");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mirror_step_equals_alone);
    tcase_add_test(tc, test_fit_steps_per_epoch_by_world);
    tcase_add_test(tc, test_peer_failure_fails_the_step);
    tcase_add_test(tc, test_transport_error);
    tcase_add_test(tc, test_rank1_receives_rank0_state);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return tk_run_suite(s);
}
