/*
 * check_fit_more.c - the fit additions of issue 15 item 6 through the
 * public API: the CSVLogger (header, one line per epoch equal to the
 * history, sorted keys, append and replace, errors as statuses, no
 * temporary files left).
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

static Suite *fit_more_suite(void)
{
    Suite *s = suite_create("fit_more");
    TCase *tc = tcase_create("csv_logger");
    tcase_add_test(tc, test_csv_logger);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(fit_more_suite());
}
