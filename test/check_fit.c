/*
 * check_fit.c - compile, train_on_batch, fit (progress bar, history,
 * callbacks, validation, class and sample weights, EarlyStopping,
 * ReduceLROnPlateau, checkpoints, resuming), evaluate and batched predict.
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testkit.h"

/* ------------------------------------------------------------ fixtures */

enum { N = 64, F = 2 };

/* y = 2 x0 - 3 x1 + 1, a regression a Dense(1) can learn exactly. */
typedef struct regression {
    float x[N * F];
    float y[N];
    const void *inputs[1];
    const float *targets[1];
    sn_dataset data;
} regression;

static void make_regression(regression *r)
{
    for (int i = 0; i < N; i++) {
        r->x[i * F] = sinf(0.37f * (float)i);
        r->x[i * F + 1] = cosf(0.23f * (float)i * (float)i);
        r->y[i] = 2.0f * r->x[i * F] - 3.0f * r->x[i * F + 1] + 1.0f;
    }
    r->inputs[0] = r->x;
    r->targets[0] = r->y;
    r->data = (sn_dataset)SN_DATASET_INIT;
    r->data.n_samples = N;
    r->data.inputs = r->inputs;
    r->data.targets = r->targets;
}

static sn_optimizer_t *adam(float lr)
{
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(SN_ADAM, &o), SN_OK);
    o.learning_rate = lr;
    sn_optimizer_t *opt = sn_optimizer_new(&o);
    ck_assert_ptr_nonnull(opt);
    return opt;
}

static sn_optimizer_t *sgd(float lr)
{
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(SN_SGD, &o), SN_OK);
    o.learning_rate = lr;
    return sn_optimizer_new(&o);
}

/* Input(2) -> [Dense(8, tanh) -> Dropout ->] Dense(1), compiled. */
static sn_model_t *regressor(uint64_t seed, int hidden, sn_optimizer_t *opt,
                             sn_metric_kind metric)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    sn_model_t *m = sn_model_new(&mo);
    sn_input(m, SN_NO_TIME, F);
    if (hidden) {
        sn_model_add(m, sn_dense(8, SN_TANH, NULL));
        sn_model_add(m, sn_dropout(0.1f));
    }
    ck_assert_int_eq(sn_model_add(m, sn_dense(1, SN_LINEAR, NULL)), SN_OK);
    sn_loss_opts loss = SN_LOSS_OPTS_INIT;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = opt;
    co.loss = &loss;
    co.metrics = &metric;
    co.n_metrics = 1;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    return m;
}

static void snapshot(sn_model_t *m, float *out)
{
    for (int i = 0, at = 0; i < sn_model_num_weights(m); i++) {
        size_t n;
        const float *w = sn_model_weight_data(m, i, &n);
        memcpy(out + at, w, n * sizeof *w);
        at += (int)n;
    }
}

/* ------------------------------------------------------------ compile */

START_TEST(test_compile_and_metric_names)
{
    sn_model_t *m = regressor(1, 0, NULL, SN_METRIC_MAE);
    ck_assert_int_eq(sn_model_num_metrics(m), 2);
    ck_assert_str_eq(sn_model_metric_name(m, 0), "loss");
    ck_assert_str_eq(sn_model_metric_name(m, 1), "mae");
    ck_assert_ptr_null(sn_model_metric_name(m, 2));
    /* Keras' default optimizer: RMSprop, lr 0.001 */
    ck_assert_ptr_nonnull(sn_model_optimizer(m));
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(sn_model_optimizer(m)),
                            0.001, 1e-9);
    sn_model_free(m);
}
END_TEST

START_TEST(test_compile_errors)
{
    sn_model_t *m = sn_model_new(NULL);
    sn_input(m, SN_NO_TIME, 3);
    sn_model_add(m, sn_dense(4, SN_SOFTMAX, NULL));
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    sn_loss_opts loss = SN_LOSS_OPTS_INIT;
    loss.kind = SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    sn_metric_kind bad = SN_METRIC_MAE;
    co.loss = &loss;
    co.metrics = &bad;
    co.n_metrics = 1;
    co.optimizer = sgd(0.1f); /* taken even though compile fails */
    ck_assert_int_eq(sn_model_compile(m, &co), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "class-id"));
    sn_metric_kind unknown = (sn_metric_kind)77;
    co.metrics = &unknown;
    co.optimizer = NULL;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_ERR_INVALID_ARG);
    loss.kind = (sn_loss_kind)42;
    co.n_metrics = 0;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_compile(NULL, &co), SN_ERR_INVALID_ARG);
    /* uncompiled models refuse training calls */
    float x[3] = { 0 }, y[1] = { 0 };
    const void *in[1] = { x };
    const float *tg[1] = { y };
    ck_assert_int_eq(sn_model_train_on_batch(m, 1, in, NULL, tg, NULL, NULL),
                     SN_ERR_STATE);
    ck_assert(tk_contains(sn_last_error(), "compile"));
    sn_dataset d = SN_DATASET_INIT;
    ck_assert_int_eq(sn_model_fit(m, &d, NULL, NULL), SN_ERR_STATE);
    double r[2];
    ck_assert_int_eq(sn_model_evaluate(m, &d, 4, r, 2), SN_ERR_STATE);
    ck_assert_int_eq(sn_model_add_metric(m, "x", NULL, NULL),
                     SN_ERR_INVALID_ARG);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ training */

START_TEST(test_fit_learns_regression)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(3, 0, adam(0.05f), SN_METRIC_MAE);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 150;
    fo.batch_size = 16;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_OK);
    ck_assert_int_eq(sn_history_epochs(h), 150);
    const double *loss = sn_history_values(h, "loss");
    ck_assert_ptr_nonnull(loss);
    ck_assert_msg(loss[149] < 1e-3, "final loss %g", loss[149]);
    ck_assert(loss[0] > 10 * loss[149]);
    /* the learned weights are the generating ones */
    const float *k = sn_model_weight_data(m, 0, NULL);
    const float *b = sn_model_weight_data(m, 1, NULL);
    ck_assert_float_eq_tol(k[0], 2.0f, 0.05f);
    ck_assert_float_eq_tol(k[1], -3.0f, 0.05f);
    ck_assert_float_eq_tol(b[0], 1.0f, 0.05f);
    double res[2];
    ck_assert_int_eq(sn_model_evaluate(m, &r.data, 10, res, 2), SN_OK);
    ck_assert(res[0] < 1e-3);
    ck_assert(res[1] < 0.05);
    ck_assert_int_eq(sn_history_stopped_epoch(h), -1);
    sn_history_free(h);
    sn_model_free(m);
}
END_TEST

START_TEST(test_fit_learns_classification)
{
    /* two Gaussian-ish blobs, BCE from logits, accuracy must reach 100% */
    float x[N * F], y[N];
    for (int i = 0; i < N; i++) {
        float c = (float)(i % 2);
        x[i * F] = (c ? 1.5f : -1.5f) + 0.3f * sinf((float)i);
        x[i * F + 1] = (c ? -1.0f : 1.0f) + 0.3f * cosf((float)i * 1.7f);
        y[i] = c;
    }
    const void *in[1] = { x };
    const float *tg[1] = { y };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 5;
    sn_model_t *m = sn_model_new(&mo);
    sn_input(m, SN_NO_TIME, F);
    sn_model_add(m, sn_dense(1, SN_LINEAR, NULL));
    sn_loss_opts loss = SN_LOSS_OPTS_INIT;
    loss.kind = SN_LOSS_BINARY_CROSSENTROPY;
    loss.from_logits = 1;
    sn_metric_kind acc = SN_METRIC_ACCURACY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = adam(0.05f);
    co.loss = &loss;
    co.metrics = &acc;
    co.n_metrics = 1;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 40;
    fo.batch_size = 8;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &d, &fo, &h), SN_OK);
    const double *a = sn_history_values(h, "accuracy");
    ck_assert_ptr_nonnull(a);
    ck_assert_double_eq_tol(a[39], 1.0, 1e-9);
    ck_assert(sn_history_values(h, "loss")[39] < 0.2);
    sn_history_free(h);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ progress */

START_TEST(test_progress_bar_and_history_keys)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(4, 0, adam(0.01f), SN_METRIC_MAE);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 2;
    fo.batch_size = 16;
    fo.validation_split = 0.25f; /* 48 train -> 3 steps, 16 validation */
    fo.progress = f;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_OK);
    fclose(f);
    ck_assert(tk_contains(text, "Epoch 1/2\n"));
    ck_assert(tk_contains(text, "Epoch 2/2\n"));
    ck_assert(tk_contains(text, "3/3 [==============================] - "));
    ck_assert(tk_contains(text, "/step - loss: "));
    ck_assert(tk_contains(text, " - mae: "));
    ck_assert(tk_contains(text, " - val_loss: "));
    ck_assert(tk_contains(text, " - val_mae: "));
    ck_assert(!tk_contains(text, "\r")); /* not a terminal: no redraws */
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 4); /* "Epoch" + one line, per epoch */
    free(text);
    ck_assert_int_eq(sn_history_num_keys(h), 5);
    const char *expect[] = { "loss", "mae", "val_loss", "val_mae", "lr" };
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(sn_history_key(h, i), expect[i]);
    ck_assert_ptr_null(sn_history_key(h, 5));
    ck_assert_ptr_null(sn_history_values(h, "accuracy"));
    ck_assert_double_eq_tol(sn_history_values(h, "lr")[1], 0.01, 1e-9);
    /* validation numbers are those of evaluate on the last quarter */
    sn_dataset tail = r.data;
    const void *in[1] = { r.x + 48 * F };
    const float *tg[1] = { r.y + 48 };
    tail.n_samples = 16;
    tail.inputs = in;
    tail.targets = tg;
    double res[2];
    ck_assert_int_eq(sn_model_evaluate(m, &tail, 16, res, 2), SN_OK);
    ck_assert_double_eq_tol(sn_history_values(h, "val_loss")[1], res[0],
                            1e-9);
    sn_history_free(h);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ callbacks */

typedef struct cb_log {
    int batches, epochs, stop_at_epoch;
    double last_loss;
} cb_log;

static int on_batch(void *user, int epoch, int batch, const double *logs,
                    int n)
{
    cb_log *c = user;
    (void)epoch;
    (void)batch;
    ck_assert_int_eq(n, 2);
    c->batches++;
    c->last_loss = logs[0];
    return 0;
}

static int on_epoch(void *user, int epoch, const sn_history_t *h)
{
    cb_log *c = user;
    c->epochs++;
    ck_assert_int_eq(sn_history_epochs(h), epoch + 1);
    return epoch == c->stop_at_epoch;
}

START_TEST(test_callbacks_run_and_stop)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(6, 0, adam(0.01f), SN_METRIC_MSE);
    cb_log c = { 0, 0, 2, 0 };
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 10;
    fo.batch_size = 10; /* 64 samples -> 7 batches, the last partial */
    fo.on_batch_end = on_batch;
    fo.on_epoch_end = on_epoch;
    fo.user = &c;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_OK);
    ck_assert_int_eq(c.epochs, 3);
    ck_assert_int_eq(c.batches, 21);
    ck_assert_int_eq(sn_history_epochs(h), 3);
    ck_assert_double_eq_tol(sn_history_values(h, "loss")[2], c.last_loss,
                            1e-12);
    sn_history_free(h);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ early stop */

typedef struct weights_at {
    sn_model_t *m;
    float first[64];
} weights_at;

static int remember_first_epoch(void *user, int epoch, const sn_history_t *h)
{
    weights_at *w = user;
    (void)h;
    if (epoch == 0)
        snapshot(w->m, w->first);
    return 0;
}

START_TEST(test_early_stopping_stops_and_restores)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(7, 0, adam(0.01f), SN_METRIC_MAE);
    weights_at w = { m, { 0 } };
    sn_early_stopping_opts es = SN_EARLY_STOPPING_OPTS_INIT;
    es.monitor = "loss";
    es.min_delta = 1e6f; /* nothing after the first epoch is better */
    es.patience = 2;
    es.restore_best_weights = 1;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 20;
    fo.batch_size = 16;
    fo.early_stopping = &es;
    fo.on_epoch_end = remember_first_epoch;
    fo.user = &w;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_OK);
    ck_assert_int_eq(sn_history_epochs(h), 3); /* epochs 0, 1, 2 */
    ck_assert_int_eq(sn_history_stopped_epoch(h), 2);
    float now[64];
    snapshot(m, now);
    ck_assert_mem_eq(now, w.first, 3 * sizeof(float)); /* restored */
    sn_history_free(h);

    /* a genuinely improving loss does not stop */
    es.min_delta = 0.0f;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_OK);
    ck_assert_int_eq(sn_history_epochs(h), 20);
    ck_assert_int_eq(sn_history_stopped_epoch(h), -1);
    sn_history_free(h);

    /* monitoring something not reported is an error up front */
    es.monitor = "val_loss";
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "val_loss"));
    ck_assert_int_eq(sn_history_epochs(h), 0);
    sn_history_free(h);
    sn_model_free(m);
}
END_TEST

START_TEST(test_reduce_lr_on_plateau)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(8, 0, adam(0.01f), SN_METRIC_MAE);
    sn_reduce_lr_opts rl = SN_REDUCE_LR_OPTS_INIT;
    rl.monitor = "loss";
    rl.min_delta = 1e6f; /* a plateau from the second epoch on */
    rl.patience = 2;
    rl.factor = 0.5f;
    rl.min_lr = 0.002f;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 8;
    fo.reduce_lr = &rl;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_OK);
    const double *lr = sn_history_values(h, "lr");
    /* lr used in epochs: 0.01 0.01 0.01 0.005 0.005 0.0025 0.0025 0.002 */
    const double expect[8] = { 0.01, 0.01, 0.01, 0.005, 0.005, 0.0025,
                               0.0025, 0.002 };
    for (int e = 0; e < 8; e++)
        ck_assert_msg(fabs(lr[e] - expect[e]) < 1e-7, "epoch %d lr %g", e,
                      lr[e]);
    sn_history_free(h);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ weights */

static double first_epoch_loss(const float *class_weight, int n_cw,
                               const float *sample_weights)
{
    float x[N * F], y[N];
    for (int i = 0; i < N; i++) {
        x[i * F] = (float)(i % 7) / 7.0f;
        x[i * F + 1] = (float)(i % 5) / 5.0f;
        y[i] = (float)(i % 2);
    }
    const void *in[1] = { x };
    const float *tg[1] = { y };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    d.sample_weights = sample_weights;
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 9;
    sn_model_t *m = sn_model_new(&mo);
    sn_input(m, SN_NO_TIME, F);
    sn_model_add(m, sn_dense(1, SN_SIGMOID, NULL));
    sn_loss_opts loss = SN_LOSS_OPTS_INIT;
    loss.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sgd(1e-9f); /* the weights barely move */
    co.loss = &loss;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.shuffle = 0;
    fo.class_weight = class_weight;
    fo.n_class_weight = n_cw;
    sn_history_t *h = NULL;
    sn_status st = sn_model_fit(m, &d, &fo, &h);
    double value = st == SN_OK ? sn_history_values(h, "loss")[0] : NAN;
    sn_history_free(h);
    sn_model_free(m);
    return value;
}

START_TEST(test_class_and_sample_weights)
{
    double plain = first_epoch_loss(NULL, 0, NULL);
    const float twice[2] = { 2.0f, 2.0f };
    ck_assert_double_eq_tol(first_epoch_loss(twice, 2, NULL), 2 * plain,
                            1e-6);
    const float only_one[2] = { 0.0f, 1.0f };
    const float only_zero[2] = { 1.0f, 0.0f };
    double ones = first_epoch_loss(only_one, 2, NULL);
    double zeros = first_epoch_loss(only_zero, 2, NULL);
    ck_assert_double_eq_tol(ones + zeros, plain, 1e-6);
    ck_assert(fabs(ones - zeros) > 1e-4);
    float sw[N];
    for (int i = 0; i < N; i++)
        sw[i] = (float)(i % 2); /* same as weighting class 1 only */
    ck_assert_double_eq_tol(first_epoch_loss(NULL, 0, sw), ones, 1e-6);
    const float too_short[1] = { 1.0f };
    ck_assert(isnan(first_epoch_loss(too_short, 1, NULL)));
    ck_assert(tk_contains(sn_last_error(), "class_weight"));
}
END_TEST

/* ------------------------------------------------------------ NaN */

typedef struct nan_watch {
    sn_model_t *m;
    float after_first[8];
    int batches;
} nan_watch;

static int keep_weights(void *user, int epoch, int batch, const double *logs,
                        int n)
{
    nan_watch *w = user;
    (void)epoch;
    (void)batch;
    (void)logs;
    (void)n;
    snapshot(w->m, w->after_first);
    w->batches++;
    return 0;
}

START_TEST(test_nan_in_data_stops_training)
{
    regression r;
    make_regression(&r);
    r.x[5 * F + 1] = NAN; /* sample 5: in the second batch of 4 */
    sn_model_t *m = regressor(10, 0, adam(0.01f), SN_METRIC_MAE);
    nan_watch w = { m, { 0 }, 0 };
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.batch_size = 4;
    fo.shuffle = 0;
    fo.epochs = 3;
    fo.on_batch_end = keep_weights;
    fo.user = &w;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, &h), SN_ERR_NUMERIC);
    ck_assert(tk_contains(sn_last_error(), "finite"));
    ck_assert_int_eq(w.batches, 1);
    float now[8];
    snapshot(m, now);
    ck_assert_mem_eq(now, w.after_first, 3 * sizeof(float));
    ck_assert_int_eq(sn_history_epochs(h), 0);
    sn_history_free(h);
    /* a NaN target is caught the same way */
    r.x[5 * F + 1] = 0.5f;
    r.y[2] = NAN;
    double loss;
    const float *tg[1] = { r.y };
    ck_assert_int_eq(sn_model_train_on_batch(m, 4, r.inputs, NULL, tg, NULL,
                                             &loss), SN_ERR_NUMERIC);
    snapshot(m, now);
    ck_assert_mem_eq(now, w.after_first, 3 * sizeof(float));
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ bad input */

START_TEST(test_fit_bad_input)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(11, 0, adam(0.01f), SN_METRIC_MAE);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    ck_assert_int_eq(sn_model_fit(NULL, &r.data, &fo, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_fit(m, NULL, &fo, NULL), SN_ERR_INVALID_ARG);
    fo.batch_size = 0;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, NULL), SN_ERR_INVALID_ARG);
    fo.batch_size = 8;
    fo.epochs = 0;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, NULL), SN_ERR_INVALID_ARG);
    fo.epochs = 2;
    fo.validation_split = 1.5f;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, NULL), SN_ERR_INVALID_ARG);
    sn_dataset one = r.data;
    one.n_samples = 1;
    fo.validation_split = 0.5f; /* no sample left for training */
    ck_assert_int_eq(sn_model_fit(m, &one, &fo, NULL), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "empty"));
    fo.validation_split = 0.0f;
    fo.initial_epoch = 2;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, NULL), SN_ERR_INVALID_ARG);
    fo.initial_epoch = 0;
    sn_dataset d = r.data;
    d.targets = NULL;
    ck_assert_int_eq(sn_model_fit(m, &d, &fo, NULL), SN_ERR_INVALID_ARG);
    d = r.data;
    d.n_samples = 0;
    ck_assert_int_eq(sn_model_fit(m, &d, &fo, NULL), SN_ERR_INVALID_ARG);
    d = r.data;
    d.size = 1;
    ck_assert_int_eq(sn_model_fit(m, &d, &fo, NULL), SN_ERR_INVALID_ARG);
    sn_reduce_lr_opts rl = SN_REDUCE_LR_OPTS_INIT;
    rl.monitor = "loss";
    rl.factor = 1.5f;
    fo.reduce_lr = &rl;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, NULL), SN_ERR_INVALID_ARG);
    fo.reduce_lr = NULL;
    sn_checkpoint_opts ck = SN_CHECKPOINT_OPTS_INIT;
    fo.checkpoint = &ck; /* no path */
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, NULL), SN_ERR_INVALID_ARG);
    double res[1];
    ck_assert_int_eq(sn_model_evaluate(m, &r.data, 8, res, 1),
                     SN_ERR_INVALID_ARG); /* room for loss only */
    ck_assert_int_eq(sn_model_evaluate(m, &r.data, 0, res, 1),
                     SN_ERR_INVALID_ARG);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ evaluate */

START_TEST(test_evaluate_and_predict_batches)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(12, 1, adam(0.01f), SN_METRIC_MAE);
    float whole[N], batched[N];
    float *o1[1] = { whole }, *o2[1] = { batched };
    ck_assert_int_eq(sn_model_predict(m, N, r.inputs, NULL, o1), SN_OK);
    ck_assert_int_eq(sn_model_predict_batches(m, N, r.inputs, NULL, o2, 7),
                     SN_OK);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq_tol(whole[i], batched[i], 1e-6f);
    ck_assert_int_eq(sn_model_predict_batches(m, N, r.inputs, NULL, o2, 0),
                     SN_ERR_INVALID_ARG);
    sn_loss_opts mse = SN_LOSS_OPTS_INIT;
    double expect, res[2];
    ck_assert_int_eq(sn_loss_compute(&mse, N, 1, whole, r.y, NULL, &expect,
                                     NULL), SN_OK);
    ck_assert_int_eq(sn_model_evaluate(m, &r.data, 7, res, 2), SN_OK);
    ck_assert_double_eq_tol(res[0], expect, 1e-5 * expect);
    double mae = 0;
    for (int i = 0; i < N; i++)
        mae += fabs(whole[i] - r.y[i]);
    ck_assert_double_eq_tol(res[1], mae / N, 1e-5);
    sn_model_free(m);
}
END_TEST

static double max_error(void *user, int rows, int cols, const float *pred,
                        const float *target)
{
    (void)user;
    double worst = 0;
    for (int i = 0; i < rows * cols; i++)
        if (fabs(pred[i] - target[i]) > worst)
            worst = fabs(pred[i] - target[i]);
    return worst;
}

START_TEST(test_user_metric)
{
    regression r;
    make_regression(&r);
    sn_model_t *m = regressor(13, 0, adam(0.01f), SN_METRIC_MAE);
    ck_assert_int_eq(sn_model_add_metric(m, "max_error", max_error, NULL),
                     SN_OK);
    ck_assert_int_eq(sn_model_add_metric(m, "mae", max_error, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_num_metrics(m), 3);
    ck_assert_str_eq(sn_model_metric_name(m, 2), "max_error");
    double res[3];
    ck_assert_int_eq(sn_model_evaluate(m, &r.data, N, res, 3), SN_OK);
    ck_assert(res[2] >= res[1]); /* the worst error bounds the mean one */
    ck_assert(res[2] > 0);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ resume */

START_TEST(test_checkpoint_and_resume_match_uninterrupted)
{
    regression r;
    make_regression(&r);
    char dir[] = "/tmp/seqnet-fit-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/ckpt.snm", dir);

    /* uninterrupted: 4 epochs, shuffled, with dropout */
    sn_model_t *a = regressor(14, 1, adam(0.01f), SN_METRIC_MAE);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 4;
    fo.batch_size = 16;
    ck_assert_int_eq(sn_model_fit(a, &r.data, &fo, NULL), SN_OK);

    /* interrupted: 2 epochs with a checkpoint, load, 2 more */
    sn_model_t *b = regressor(14, 1, adam(0.01f), SN_METRIC_MAE);
    sn_checkpoint_opts ck = SN_CHECKPOINT_OPTS_INIT;
    ck.path = path;
    fo.epochs = 2;
    fo.checkpoint = &ck;
    ck_assert_int_eq(sn_model_fit(b, &r.data, &fo, NULL), SN_OK);
    sn_model_free(b);
    sn_model_t *c = NULL;
    ck_assert_int_eq(sn_model_load(path, &c), SN_OK);
    ck_assert_int_eq(sn_optimizer_iterations(sn_model_optimizer(c)), 8);
    fo.checkpoint = NULL;
    fo.initial_epoch = 2;
    fo.epochs = 4;
    ck_assert_int_eq(sn_model_fit(c, &r.data, &fo, NULL), SN_OK);

    float wa[64], wc[64];
    snapshot(a, wa);
    snapshot(c, wc);
    ck_assert_mem_eq(wa, wc, (2 * 8 + 8 + 8 + 1) * sizeof(float));
    unlink(path);
    rmdir(dir);
    sn_model_free(a);
    sn_model_free(c);
}
END_TEST

START_TEST(test_checkpoint_best_only)
{
    regression r;
    make_regression(&r);
    char dir[] = "/tmp/seqnet-fit-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/best.snm", dir);
    sn_model_t *m = regressor(15, 0, adam(0.05f), SN_METRIC_MAE);
    sn_checkpoint_opts ck = SN_CHECKPOINT_OPTS_INIT;
    ck.path = path;
    ck.monitor = "loss";
    ck.save_best_only = 1;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 5;
    fo.checkpoint = &ck;
    ck_assert_int_eq(sn_model_fit(m, &r.data, &fo, NULL), SN_OK);
    sn_model_t *best = NULL;
    ck_assert_int_eq(sn_model_load(path, &best), SN_OK);
    float out_m[N], out_b[N];
    float *om[1] = { out_m }, *ob[1] = { out_b };
    ck_assert_int_eq(sn_model_predict(m, N, r.inputs, NULL, om), SN_OK);
    ck_assert_int_eq(sn_model_predict(best, N, r.inputs, NULL, ob), SN_OK);
    /* the loss fell every epoch, so the best is the last */
    ck_assert_mem_eq(out_m, out_b, sizeof out_m);
    unlink(path);
    rmdir(dir);
    sn_model_free(best);
    sn_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fit");
    TCase *tc = tcase_create("training");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_compile_and_metric_names);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_fit_learns_regression);
    tcase_add_test(tc, test_fit_learns_classification);
    tcase_add_test(tc, test_progress_bar_and_history_keys);
    tcase_add_test(tc, test_callbacks_run_and_stop);
    tcase_add_test(tc, test_early_stopping_stops_and_restores);
    tcase_add_test(tc, test_reduce_lr_on_plateau);
    tcase_add_test(tc, test_class_and_sample_weights);
    tcase_add_test(tc, test_nan_in_data_stops_training);
    tcase_add_test(tc, test_fit_bad_input);
    tcase_add_test(tc, test_evaluate_and_predict_batches);
    tcase_add_test(tc, test_user_metric);
    tcase_add_test(tc, test_checkpoint_and_resume_match_uninterrupted);
    tcase_add_test(tc, test_checkpoint_best_only);
    suite_add_tcase(s, tc);
    return tk_run_suite(s);
}
