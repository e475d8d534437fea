/*
 * check_fit_more.c - the fit additions of issue 15 item 6 through the
 * public API: the CSVLogger (header, one line per epoch equal to the
 * history, sorted keys, append and replace, errors as statuses, no
 * temporary files left) and the metrics AUC, Precision and Recall (hand
 * values, and accumulation over the batches of an epoch or evaluation as
 * Keras' stateful metrics do), and fit from a batch producer (the same
 * history as array fit on the same batches, steps_per_epoch or end of
 * data, generated validation, data made on the fly, errors).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seqnet.h>

#include "support/testkit.h"

enum { N = 24 };

/* Input(3) -> Dense(1), compiled with SGD, MSE and MAE; data y = x0 - x1. */
static sn_model_t *regression(float *x, float *y)
{
    sn_model_t *m = tk_new_model(3);
    ck_assert_int_ge(sn_apply(m, sn_dense(1, SN_LINEAR, NULL),
                              sn_input(m, SN_NO_TIME, 3)), 0);
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(SN_SGD, &o), SN_OK);
    sn_metric_kind mk[1] = {SN_METRIC_MAE};
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&o);
    co.metrics = mk;
    co.n_metrics = 1;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    tk_fill(x, N * 3, 5, -1.0f, 1.0f);
    for (int i = 0; i < N; i++)
        y[i] = x[i * 3] - x[i * 3 + 1];
    return m;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static sn_status fit_logged(sn_model_t *m, const float *x, const float *y,
                            int epochs, const sn_csv_logger_opts *csv,
                            sn_history_t **h)
{
    const void *in[1] = {x};
    const float *tg[1] = {y};
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = epochs;
    fo.batch_size = 8;
    fo.validation_split = 0.25f;
    fo.csv_logger = csv;
    return sn_model_fit(m, &d, &fo, h);
}

START_TEST(test_csv_logger)
{
    char dir[] = "/tmp/sn_csv_XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log.csv", dir);
    float x[N * 3], y[N];
    sn_model_t *m = regression(x, y);
    sn_csv_logger_opts c = SN_CSV_LOGGER_OPTS_INIT;
    c.path = path;
    sn_history_t *h = NULL;
    ck_assert_int_eq(fit_logged(m, x, y, 3, &c, &h), SN_OK);
    char *text = slurp(path);
    ck_assert_int_eq(count_lines(text), 4);
    /* Keras sorts the keys */
    ck_assert_msg(strncmp(text, "epoch,loss,lr,mae,val_loss,val_mae\n",
                          35) == 0, "header: %.60s", text);
    /* each line: the epoch and exactly the history's values */
    const char *keys[5] = {"loss", "lr", "mae", "val_loss", "val_mae"};
    char *line = strchr(text, '\n') + 1;
    for (int e = 0; e < 3; e++) {
        char *p = line;
        ck_assert_int_eq((int)strtol(p, &p, 10), e);
        for (int k = 0; k < 5; k++) {
            ck_assert_int_eq(*p, ',');
            double v = strtod(p + 1, &p);
            const double *hv = sn_history_values(h, keys[k]);
            ck_assert_ptr_nonnull(hv);
            ck_assert_double_eq(v, hv[e]);
        }
        ck_assert_int_eq(*p, '\n');
        line = p + 1;
    }
    sn_history_free(h);

    /* append: no second header, two more lines */
    c.append = 1;
    ck_assert_int_eq(fit_logged(m, x, y, 2, &c, NULL), SN_OK);
    text = slurp(path);
    ck_assert_int_eq(count_lines(text), 6);
    ck_assert_ptr_null(strstr(text + 1, "epoch"));
    /* replace, with another separator */
    c.append = 0;
    c.separator = ';';
    ck_assert_int_eq(fit_logged(m, x, y, 1, &c, NULL), SN_OK);
    text = slurp(path);
    ck_assert_int_eq(count_lines(text), 2);
    ck_assert(strncmp(text, "epoch;loss;lr;mae;", 18) == 0);
    ck_assert_int_eq(tk_temp_files_in(dir), 0);

    /* errors are statuses */
    c.path = dir; /* a directory */
    ck_assert_int_eq(fit_logged(m, x, y, 1, &c, NULL), SN_ERR_IO);
    c.append = 1;
    ck_assert_int_eq(fit_logged(m, x, y, 1, &c, NULL), SN_ERR_IO);
    tk_expect_error_mentions("regular file");
    c.path = "";
    ck_assert_int_eq(fit_logged(m, x, y, 1, &c, NULL), SN_ERR_INVALID_ARG);
    c.path = path;
    c.separator = '\n';
    ck_assert_int_eq(fit_logged(m, x, y, 1, &c, NULL), SN_ERR_INVALID_ARG);
    char missing[96];
    snprintf(missing, sizeof missing, "%s/no/such/dir/log.csv", dir);
    c.separator = ',';
    c.path = missing;
    c.append = 0;
    ck_assert_int_eq(fit_logged(m, x, y, 1, &c, NULL), SN_ERR_IO);
    unlink(path);
    rmdir(dir);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- metrics */

START_TEST(test_confusion_metrics_by_hand)
{
    /* positives {0.9, 0.3, 0.7}, negatives {0.6, 0.1, 0.35}: 7 of the 9
     * (pos, neg) pairs are ordered, and no two scores share a threshold
     * bin of width 1/199, so the interpolated ROC sum is exactly 7/9 */
    const float p[6] = {0.9f, 0.3f, 0.6f, 0.1f, 0.7f, 0.35f};
    const float y[6] = {1, 1, 0, 0, 1, 0};
    double v;
    ck_assert_int_eq(sn_metric_compute(SN_METRIC_AUC, 6, 1, p, y, 0.5f, &v),
                     SN_OK);
    ck_assert_double_eq_tol(v, 7.0 / 9.0, 1e-12);
    /* at 0.5: tp 2 (0.9, 0.7), fp 1 (0.6), fn 1 (0.3) */
    ck_assert_int_eq(sn_metric_compute(SN_METRIC_PRECISION, 3, 2, p, y, 0.5f,
                                       &v), SN_OK);
    ck_assert_double_eq_tol(v, 2.0 / 3.0, 1e-12);
    ck_assert_int_eq(sn_metric_compute(SN_METRIC_RECALL, 6, 1, p, y, 0.5f,
                                       &v), SN_OK);
    ck_assert_double_eq_tol(v, 2.0 / 3.0, 1e-12);
    /* ties: every score 0.5 gives the diagonal, AUC 0.5; no positive
     * prediction gives precision 0 (Keras divide_no_nan), not NaN */
    const float half[4] = {0.5f, 0.5f, 0.5f, 0.5f}, y4[4] = {1, 0, 1, 0};
    ck_assert_int_eq(sn_metric_compute(SN_METRIC_AUC, 4, 1, half, y4, 0.5f,
                                       &v), SN_OK);
    ck_assert_double_eq_tol(v, 0.5, 1e-12);
    ck_assert_int_eq(sn_metric_compute(SN_METRIC_PRECISION, 4, 1, half, y4,
                                       0.5f, &v), SN_OK);
    ck_assert_double_eq(v, 0.0);
    /* perfectly separated: 1 */
    const float sep[4] = {0.8f, 0.2f, 0.9f, 0.1f};
    ck_assert_int_eq(sn_metric_compute(SN_METRIC_AUC, 4, 1, sep, y4, 0.5f,
                                       &v), SN_OK);
    ck_assert_double_eq_tol(v, 1.0, 1e-12);
}
END_TEST

/* Input(2) -> Dense(1, sigmoid) with binary crossentropy and the three
 * metrics: evaluate over batches of 3 reports the metrics of the whole
 * set (accumulated), not a mean of per-batch values; fit names them as
 * Keras does. */
START_TEST(test_confusion_metrics_accumulate)
{
    enum { M = 40 };
    sn_model_t *m = tk_new_model(8);
    ck_assert_int_ge(sn_apply(m, sn_dense(1, SN_SIGMOID, NULL),
                              sn_input(m, SN_NO_TIME, 2)), 0);
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_metric_kind mk[3] = {SN_METRIC_AUC, SN_METRIC_PRECISION,
                            SN_METRIC_RECALL};
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.loss = &lo;
    co.metrics = mk;
    co.n_metrics = 3;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    ck_assert_str_eq(sn_model_metric_name(m, 1), "auc");
    ck_assert_str_eq(sn_model_metric_name(m, 2), "precision");
    ck_assert_str_eq(sn_model_metric_name(m, 3), "recall");
    float x[M * 2], y[M], p[M];
    tk_fill(x, M * 2, 3, -1.0f, 1.0f);
    for (int i = 0; i < M; i++) /* a noisy rule, so AUC is not 0 or 1 */
        y[i] = x[2 * i] + 0.5f * x[2 * i + 1] + 0.3f * (i % 3 - 1) > 0;
    const void *in[1] = {x};
    float *out[1] = {p};
    ck_assert_int_eq(sn_model_predict(m, M, in, NULL, out), SN_OK);
    double whole[3];
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(sn_metric_compute(mk[k], M, 1, p, y, 0.5f,
                                           &whole[k]), SN_OK);
    const float *tg[1] = {y};
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = M;
    d.inputs = in;
    d.targets = tg;
    double res[4];
    ck_assert_int_eq(sn_model_evaluate(m, &d, 3, res, 4), SN_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq_tol(res[1 + k], whole[k], 1e-12);
    /* the mean of per-batch AUCs would differ: the test can tell */
    double mean_auc = 0.0;
    for (int s = 0; s < M; s += 4) {
        double v;
        ck_assert_int_eq(sn_metric_compute(SN_METRIC_AUC, 4, 1, p + s, y + s,
                                           0.5f, &v), SN_OK);
        mean_auc += v / (M / 4);
    }
    ck_assert_double_gt(fabs(mean_auc - whole[0]), 1e-3);

    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 2;
    fo.batch_size = 7;
    fo.validation_split = 0.25f;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &d, &fo, &h), SN_OK);
    const char *keys[6] = {"auc", "precision", "recall", "val_auc",
                           "val_precision", "val_recall"};
    for (int k = 0; k < 6; k++) {
        const double *v = sn_history_values(h, keys[k]);
        ck_assert_msg(v != NULL, "no history key %s", keys[k]);
        ck_assert(v[1] >= 0.0 && v[1] <= 1.0);
    }
    /* val_auc is the AUC of the last 10 samples after the last epoch */
    ck_assert_int_eq(sn_model_predict(m, M, in, NULL, out), SN_OK);
    double val_auc;
    ck_assert_int_eq(sn_metric_compute(SN_METRIC_AUC, 10, 1, p + 30, y + 30,
                                       0.5f, &val_auc), SN_OK);
    ck_assert_double_eq_tol(sn_history_values(h, "val_auc")[1], val_auc,
                            1e-12);
    sn_history_free(h);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ fit_generator */

/* Serves rows [0, n) of x, y in batches of `bs` in order; with
 * end_after > 0 it reports the end of data after that many batches. */
typedef struct producer {
    const float *x, *y;
    int n, bs, end_after, calls, fail_at_call;
    const void *in[1];
    const float *tg[1];
} producer;

static int produce(void *user, int epoch, int step, sn_batch *out)
{
    producer *p = user;
    (void)epoch;
    p->calls++;
    if (p->fail_at_call > 0 && p->calls == p->fail_at_call)
        return SN_ERR_IO;
    int steps = (p->n + p->bs - 1) / p->bs;
    if ((p->end_after > 0 && step >= p->end_after) || step >= steps)
        return 0;
    int first = step * p->bs;
    out->batch = p->n - first < p->bs ? p->n - first : p->bs;
    p->in[0] = p->x + (size_t)first * 3;
    p->tg[0] = p->y + first;
    out->inputs = p->in;
    out->targets = p->tg;
    return 1;
}

static int count_batches(void *user, int epoch, int batch, const double *logs,
                         int n)
{
    (void)epoch;
    (void)batch;
    (void)logs;
    (void)n;
    ++*(int *)user;
    return 0;
}

START_TEST(test_fit_generator_matches_array_fit)
{
    float x[N * 3], y[N], vx[N * 3], vy[N];
    sn_model_t *a = regression(x, y), *g = regression(x, y);
    tk_fill(vx, N * 3, 9, -1.0f, 1.0f);
    for (int i = 0; i < N; i++)
        vy[i] = vx[i * 3] - vx[i * 3 + 1];
    const void *in[1] = {x}, *vin[1] = {vx};
    const float *tg[1] = {y}, *vtg[1] = {vy};
    sn_dataset d = SN_DATASET_INIT, vd = SN_DATASET_INIT;
    d.n_samples = vd.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    vd.inputs = vin;
    vd.targets = vtg;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 3;
    fo.batch_size = 8;
    fo.shuffle = 0;
    fo.validation_data = &vd;
    sn_history_t *ha = NULL, *hg = NULL;
    ck_assert_int_eq(sn_model_fit(a, &d, &fo, &ha), SN_OK);

    producer p = {x, y, N, 8, 0, 0, 0, {0}, {0}};
    sn_generator_opts go = SN_GENERATOR_OPTS_INIT;
    go.next = produce;
    go.user = &p;            /* steps_per_epoch 0: until the producer ends */
    int batches = 0;
    fo.on_batch_end = count_batches;
    fo.user = &batches;
    FILE *bar = tmpfile();
    fo.progress = bar;
    ck_assert_int_eq(sn_model_fit_generator(g, &go, &fo, &hg), SN_OK);
    ck_assert_int_eq(batches, 9);
    ck_assert_int_eq(p.calls, 12); /* 3 batches + the end, 3 epochs */
    rewind(bar);
    char text[4096];
    size_t len = fread(text, 1, sizeof text - 1, bar);
    text[len] = '\0';
    fclose(bar);
    ck_assert_msg(tk_contains(text, "3/3") && tk_contains(text, "val_loss"),
                  "progress: %s", text);
    ck_assert_int_eq(sn_history_num_keys(ha), sn_history_num_keys(hg));
    for (int k = 0; k < sn_history_num_keys(ha); k++) {
        const char *key = sn_history_key(ha, k);
        ck_assert_str_eq(key, sn_history_key(hg, k));
        for (int e = 0; e < 3; e++)
            ck_assert_double_eq(sn_history_values(ha, key)[e],
                                sn_history_values(hg, key)[e]);
    }
    sn_history_free(ha);
    sn_history_free(hg);

    /* steps_per_epoch and a produced validation: the validation values
     * are evaluate's on the same batches */
    producer v = {vx, vy, N, 8, 0, 0, 0, {0}, {0}};
    go.steps_per_epoch = 2;
    go.validation_next = produce;
    go.validation_user = &v;
    fo.validation_data = NULL;
    fo.on_batch_end = NULL;
    fo.progress = NULL;
    fo.epochs = 1;
    p.calls = 0;
    ck_assert_int_eq(sn_model_fit_generator(g, &go, &fo, &hg), SN_OK);
    ck_assert_int_eq(p.calls, 2);
    double res[2];
    ck_assert_int_eq(sn_model_evaluate(g, &vd, 8, res, 2), SN_OK);
    ck_assert_double_eq_tol(sn_history_values(hg, "val_loss")[0], res[0],
                            1e-12);
    ck_assert_double_eq_tol(sn_history_values(hg, "val_mae")[0], res[1],
                            1e-12);
    sn_history_free(hg);
    sn_model_free(a);
    sn_model_free(g);
}
END_TEST

/* Data made on the fly: y = x0 - x1 from a generator; training learns. */
static int make_on_the_fly(void *user, int epoch, int step, sn_batch *out)
{
    static const void *in[1];
    static const float *tg[1];
    float *buf = user; /* 16 x 3 inputs, then 16 targets */
    tk_fill(buf, 48, (uint32_t)(epoch * 1000 + step + 1), -1.0f, 1.0f);
    for (int i = 0; i < 16; i++)
        buf[48 + i] = buf[i * 3] - buf[i * 3 + 1];
    in[0] = buf;
    tg[0] = buf + 48;
    out->batch = 16;
    out->inputs = in;
    out->targets = tg;
    return 1;
}

START_TEST(test_fit_generator_on_the_fly_and_errors)
{
    float x[N * 3], y[N], buf[64];
    sn_model_t *m = regression(x, y);
    sn_generator_opts go = SN_GENERATOR_OPTS_INIT;
    go.next = make_on_the_fly;
    go.user = buf;
    go.steps_per_epoch = 30;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 4;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, &fo, &h), SN_OK);
    const double *loss = sn_history_values(h, "loss");
    ck_assert_double_lt(loss[3], 0.5 * loss[0]);
    sn_history_free(h);

    /* a producer's error stops fit with its status; completed epochs
     * stay in the history */
    producer p = {x, y, N, 8, 0, 0, 5, {0}, {0}};
    go.next = produce;
    go.user = &p;
    go.steps_per_epoch = 0;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, &fo, &h), SN_ERR_IO);
    ck_assert_int_eq(sn_history_epochs(h), 1);
    sn_history_free(h);
    /* no batch at all */
    p.fail_at_call = 0;
    p.end_after = -1;
    p.n = 0;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, &fo, NULL),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("no batch");
    /* options that need a data set, or clash */
    p.n = N;
    p.end_after = 0;
    fo.validation_split = 0.2f;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, &fo, NULL),
                     SN_ERR_INVALID_ARG);
    fo.validation_split = 0.0f;
    go.steps_per_epoch = -1;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, &fo, NULL),
                     SN_ERR_INVALID_ARG);
    go.steps_per_epoch = 0;
    go.next = NULL;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, &fo, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_fit_generator(m, NULL, &fo, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_fit_generator(NULL, &go, &fo, NULL),
                     SN_ERR_INVALID_ARG);
    sn_model_free(m);
}
END_TEST

/* A batch without targets, or with no rows. */
static int bad_batch(void *user, int epoch, int step, sn_batch *out)
{
    static const void *in[1];
    (void)epoch;
    (void)step;
    in[0] = user;
    out->batch = *(const float *)user > 0 ? 2 : 0;
    out->inputs = in;
    return 1;
}

START_TEST(test_fit_generator_bad_batches)
{
    float x[N * 3], y[N];
    sn_model_t *m = regression(x, y);
    sn_generator_opts go = SN_GENERATOR_OPTS_INIT;
    go.next = bad_batch;
    go.user = x;
    x[0] = 1.0f;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, NULL, NULL),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("targets");
    x[0] = -1.0f;
    ck_assert_int_eq(sn_model_fit_generator(m, &go, NULL, NULL),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("rows");
    sn_model_free(m);
}
END_TEST

static Suite *fit_more_suite(void)
{
    Suite *s = suite_create("fit_more");
    TCase *tc = tcase_create("csv_logger");
    tcase_add_test(tc, test_csv_logger);
    suite_add_tcase(s, tc);
    tc = tcase_create("metrics");
    tcase_add_test(tc, test_confusion_metrics_by_hand);
    tcase_add_test(tc, test_confusion_metrics_accumulate);
    suite_add_tcase(s, tc);
    tc = tcase_create("fit_generator");
    tcase_add_test(tc, test_fit_generator_matches_array_fit);
    tcase_add_test(tc, test_fit_generator_on_the_fly_and_errors);
    tcase_add_test(tc, test_fit_generator_bad_batches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(fit_more_suite());
}
