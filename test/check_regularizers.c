/*
 * check_regularizers.c - weight regularizers (L1, L2, L1L2) and
 * constraints (max_norm, non_neg) through the public API: the loss and
 * the step of train_on_batch against values computed here by hand, the
 * penalty's gradient against central differences of evaluate's loss,
 * Keras' MaxNorm(axis=0) and NonNeg after a step, frozen layers left
 * alone, argument errors, and the rules surviving save/load.
 */
#include <check.h>
#include <math.h>
#include <string.h>

#include <seqnet.h>

#include "support/testkit.h"

/* Input(3) -> Dense(2, linear), compiled with SGD(lr) and MSE. */
static sn_model_t *small_model(float lr, sn_layer_t **dense)
{
    sn_model_t *m = tk_new_model(4);
    sn_layer_t *d = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_ge(sn_apply(m, d, sn_input(m, SN_NO_TIME, 3)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(SN_SGD, &o), SN_OK);
    o.learning_rate = lr;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&o);
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    float *k = tk_weight(m, "dense/kernel", NULL);
    float *b = tk_weight(m, "dense/bias", NULL);
    const float kv[6] = {0.5f, -1.0f, 0.25f, 0.0f, -0.75f, 2.0f};
    memcpy(k, kv, sizeof kv);
    b[0] = 0.1f;
    b[1] = -0.2f;
    if (dense != NULL)
        *dense = d;
    return m;
}

static const float X[2 * 3] = {1.0f, 2.0f, -1.0f, 0.5f, -0.5f, 1.5f};
static const float Y[2 * 2] = {0.3f, -0.1f, 1.0f, 0.5f};

/* MSE over the batch and its gradient dL/dK, dL/db, in double. */
static double mse_and_grad(const float *k, const float *b, double *dk,
                           double *db)
{
    double loss = 0.0;
    memset(dk, 0, 6 * sizeof *dk);
    memset(db, 0, 2 * sizeof *db);
    for (int s = 0; s < 2; s++)
        for (int u = 0; u < 2; u++) {
            double y = b[u];
            for (int i = 0; i < 3; i++)
                y += (double)X[s * 3 + i] * k[i * 2 + u];
            double e = y - Y[s * 2 + u];
            loss += e * e / 4.0;           /* mean over 2 samples x 2 */
            for (int i = 0; i < 3; i++)
                dk[i * 2 + u] += 2.0 * e / 4.0 * X[s * 3 + i];
            db[u] += 2.0 * e / 4.0;
        }
    return loss;
}

START_TEST(test_l1_l2_loss_and_step)
{
    const float lr = 0.1f, l1 = 0.01f, l2 = 0.02f;
    sn_layer_t *d;
    sn_model_t *m = small_model(lr, &d);
    sn_weight_rules r = SN_WEIGHT_RULES_INIT;
    r.l1 = l1;
    r.l2 = l2;
    ck_assert_int_eq(sn_layer_set_weight_rules(d, "kernel", &r), SN_OK);
    sn_weight_rules rb = SN_WEIGHT_RULES_INIT;
    rb.l2 = 0.5f; /* L2(0.5) on the bias */
    ck_assert_int_eq(sn_layer_set_weight_rules(d, "bias", &rb), SN_OK);

    float k0[6], b0[2];
    memcpy(k0, tk_weight(m, "dense/kernel", NULL), sizeof k0);
    memcpy(b0, tk_weight(m, "dense/bias", NULL), sizeof b0);
    double dk[6], db[2];
    double want = mse_and_grad(k0, b0, dk, db);
    for (int i = 0; i < 6; i++)
        want += l1 * fabs(k0[i]) + l2 * (double)k0[i] * k0[i];
    for (int u = 0; u < 2; u++)
        want += 0.5 * (double)b0[u] * b0[u];

    const void *in[1] = {X};
    const float *tg[1] = {Y};
    double loss;
    ck_assert_int_eq(sn_model_train_on_batch(m, 2, in, NULL, tg, NULL, &loss),
                     SN_OK);
    ck_assert_double_eq_tol(loss, want, 1e-6);
    const float *k = tk_weight(m, "dense/kernel", NULL);
    const float *b = tk_weight(m, "dense/bias", NULL);
    for (int i = 0; i < 6; i++) {
        double sign = k0[i] > 0 ? 1 : k0[i] < 0 ? -1 : 0;
        double g = dk[i] + l1 * sign + 2 * l2 * k0[i];
        ck_assert_double_eq_tol(k[i], k0[i] - lr * g, 1e-6);
    }
    for (int u = 0; u < 2; u++)
        ck_assert_double_eq_tol(b[u], b0[u] - lr * (db[u] + b0[u]), 1e-6);
    sn_model_free(m);
}
END_TEST

/* The gradient train_on_batch used (from an SGD step, g = -dw / lr)
 * against central differences of evaluate's loss, which includes the
 * penalty. */
START_TEST(test_penalty_gradient_matches_evaluate)
{
    const float lr = 1e-3f;
    sn_layer_t *d;
    sn_model_t *m = small_model(lr, &d);
    sn_weight_rules r = SN_WEIGHT_RULES_INIT;
    r.l1 = 0.3f;
    r.l2 = 0.7f;
    ck_assert_int_eq(sn_layer_set_weight_rules(d, "kernel", &r), SN_OK);
    const void *in[1] = {X};
    const float *tg[1] = {Y};
    sn_dataset ds = SN_DATASET_INIT;
    ds.n_samples = 2;
    ds.inputs = in;
    ds.targets = tg;
    float *k = tk_weight(m, "dense/kernel", NULL);
    float k0[6], num[6];
    memcpy(k0, k, sizeof k0);
    const float eps = 1e-3f;
    for (int i = 0; i < 6; i++) {
        double lp, lm;
        k[i] = k0[i] + eps;
        ck_assert_int_eq(sn_model_evaluate(m, &ds, 2, &lp, 1), SN_OK);
        k[i] = k0[i] - eps;
        ck_assert_int_eq(sn_model_evaluate(m, &ds, 2, &lm, 1), SN_OK);
        k[i] = k0[i];
        num[i] = (float)((lp - lm) / (2.0 * eps));
    }
    ck_assert_int_eq(sn_model_train_on_batch(m, 2, in, NULL, tg, NULL, NULL),
                     SN_OK);
    for (int i = 0; i < 6; i++) {
        double g = (k0[i] - k[i]) / lr;
        ck_assert_msg(fabs(g - num[i]) < 2e-2 * (1 + fabs(num[i])),
                      "kernel[%d]: step gradient %g, numeric %g", i, g,
                      (double)num[i]);
    }
    sn_model_free(m);
}
END_TEST

/* A step with zero gradients leaves only the constraints to act. */
static void zero_grad_step(sn_model_t *m)
{
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    ck_assert_int_eq(sn_optimizer_step(sn_model_optimizer(m), m), SN_OK);
}

START_TEST(test_max_norm_and_non_neg)
{
    sn_layer_t *d;
    sn_model_t *m = small_model(0.1f, &d);
    sn_weight_rules r = SN_WEIGHT_RULES_INIT;
    r.max_norm = 1.0f;
    ck_assert_int_eq(sn_layer_set_weight_rules(d, "kernel", &r), SN_OK);
    sn_weight_rules nn = SN_WEIGHT_RULES_INIT;
    nn.non_neg = 1;
    ck_assert_int_eq(sn_layer_set_weight_rules(d, "bias", &nn), SN_OK);
    float k0[6];
    memcpy(k0, tk_weight(m, "dense/kernel", NULL), sizeof k0);
    zero_grad_step(m);
    const float *k = tk_weight(m, "dense/kernel", NULL);
    /* axis 0: one norm per unit (column) of the [3, 2] kernel */
    for (int u = 0; u < 2; u++) {
        double n = 0;
        for (int i = 0; i < 3; i++)
            n += (double)k0[i * 2 + u] * k0[i * 2 + u];
        n = sqrt(n);
        double scale = fmin(n, 1.0) / (1e-7 + n);
        for (int i = 0; i < 3; i++)
            ck_assert_double_eq_tol(k[i * 2 + u], k0[i * 2 + u] * scale,
                                    1e-6);
    }
    const float *b = tk_weight(m, "dense/bias", NULL);
    ck_assert_float_eq_tol(b[0], 0.1f, 1e-7f);
    ck_assert_float_eq(b[1], 0.0f);
    /* frozen: neither constrained nor regularized */
    float *kw = tk_weight(m, "dense/kernel", NULL);
    kw[0] = 5.0f;
    ck_assert_int_eq(sn_layer_set_trainable(d, 0), SN_OK);
    zero_grad_step(m);
    ck_assert_float_eq(kw[0], 5.0f);
    sn_model_free(m);
}
END_TEST

START_TEST(test_errors)
{
    sn_layer_t *d = sn_dense(2, SN_LINEAR, NULL);
    sn_weight_rules r = SN_WEIGHT_RULES_INIT;
    r.l1 = -1.0f;
    ck_assert_int_eq(sn_layer_set_weight_rules(d, "kernel", &r),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("l1");
    r.l1 = 0.0f;
    r.l2 = NAN;
    ck_assert_int_ne(sn_layer_set_weight_rules(d, "kernel", &r), SN_OK);
    r.l2 = 0.0f;
    r.max_norm = INFINITY;
    ck_assert_int_ne(sn_layer_set_weight_rules(d, "kernel", &r), SN_OK);
    tk_expect_error_mentions("max_norm");
    r.max_norm = 0.0f;
    r.non_neg = 2;
    ck_assert_int_ne(sn_layer_set_weight_rules(d, "kernel", &r), SN_OK);
    r.non_neg = 0;
    ck_assert_int_ne(sn_layer_set_weight_rules(NULL, "kernel", &r), SN_OK);
    ck_assert_int_ne(sn_layer_set_weight_rules(d, "", &r), SN_OK);
    ck_assert_int_ne(sn_layer_set_weight_rules(d, NULL, &r), SN_OK);
    /* removing what is not there is fine */
    ck_assert_int_eq(sn_layer_set_weight_rules(d, "bias", NULL), SN_OK);
    sn_layer_free(d);

    /* a weight the layer does not have fails the training step */
    sn_layer_t *dense;
    sn_model_t *m = small_model(0.1f, &dense);
    r.l2 = 0.1f;
    ck_assert_int_eq(sn_layer_set_weight_rules(dense, "recurrent_kernel", &r),
                     SN_OK);
    const void *in[1] = {X};
    const float *tg[1] = {Y};
    ck_assert_int_eq(sn_model_train_on_batch(m, 2, in, NULL, tg, NULL, NULL),
                     SN_ERR_NOT_FOUND);
    tk_expect_error_mentions("recurrent_kernel");
    ck_assert_int_eq(sn_layer_set_weight_rules(dense, "recurrent_kernel",
                                               NULL), SN_OK);
    ck_assert_int_eq(sn_model_train_on_batch(m, 2, in, NULL, tg, NULL, NULL),
                     SN_OK);
    sn_model_free(m);
}
END_TEST

/* Rules set on an RNN's recurrent kernel and saved: the loaded model
 * trains to the same weights. */
START_TEST(test_save_load)
{
    sn_model_t *m = tk_new_model(6);
    sn_layer_t *g = sn_gru(3, NULL);
    sn_weight_rules r = SN_WEIGHT_RULES_INIT;
    r.l1 = 0.01f;
    r.max_norm = 0.5f;
    ck_assert_int_eq(sn_layer_set_weight_rules(g, "recurrent_kernel", &r),
                     SN_OK);
    ck_assert_int_ge(sn_apply(m, g, sn_input(m, 4, 2)), 0);
    ck_assert_int_eq(sn_model_compile(m, NULL), SN_OK);
    void *data;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 1, &data, &len), SN_OK);
    sn_model_t *back = NULL;
    ck_assert_msg(sn_model_load_buffer(data, len, &back) == SN_OK, "%s",
                  sn_last_error());
    for (size_t cut = len - 40; cut < len; cut += 3) {
        sn_model_t *t = NULL;
        ck_assert_int_ne(sn_model_load_buffer(data, cut, &t), SN_OK);
    }
    sn_free(data);
    float x[2 * 4 * 2], y[2 * 3];
    tk_fill(x, 16, 1, -1.0f, 1.0f);
    tk_fill(y, 6, 2, -1.0f, 1.0f);
    const void *in[1] = {x};
    const float *tg[1] = {y};
    double l1, l2;
    ck_assert_int_eq(sn_model_train_on_batch(m, 2, in, NULL, tg, NULL, &l1),
                     SN_OK);
    ck_assert_int_eq(sn_model_train_on_batch(back, 2, in, NULL, tg, NULL,
                                             &l2), SN_OK);
    ck_assert_double_eq(l1, l2);
    size_t n;
    int w = sn_model_find_weight(m, "gru/recurrent_kernel");
    ck_assert_int_ge(w, 0);
    float *a = sn_model_weight_data(m, w, &n);
    ck_assert_mem_eq(a, sn_model_weight_data(back, w, NULL), n * sizeof *a);
    /* the max norm held: every column of [3, 9] within 0.5 */
    for (int c = 0; c < 9; c++) {
        double s = 0;
        for (int i = 0; i < 3; i++)
            s += (double)a[i * 9 + c] * a[i * 9 + c];
        ck_assert_double_le(sqrt(s), 0.5 + 1e-6);
    }
    sn_model_free(back);
    sn_model_free(m);
}
END_TEST

static Suite *regularizers_suite(void)
{
    Suite *s = suite_create("regularizers");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_l1_l2_loss_and_step);
    tcase_add_test(tc, test_penalty_gradient_matches_evaluate);
    tcase_add_test(tc, test_max_norm_and_non_neg);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_save_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(regularizers_suite());
}
