/*
 * check_torch.c - PyTorch state dicts: whole stacked / bidirectional
 * modules imported in any order, forward and backward against PyTorch
 * (test/fixtures/torch_rnn.h, made by gen_torch_rnn.py), gradients in
 * PyTorch layout, exact export round trips, the bias pair of an LSTM /
 * SimpleRNN set in any order, refusals, and weight lookup by the names
 * sn_rnn_weight_info gives.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet.h>

#include "fixtures/torch_rnn.h"
#include "support/counting_alloc.h"
#include "support/testkit.h"

enum { MAXT = 32 };

/* The C model of a fixture case: num_layers recurrent layers of the
 * case's kind (returning sequences), Bidirectional(concat) if it is. */
static sn_model_t *case_model(const tf_case *c, sn_layer_t **first,
                              int dropout_between)
{
    sn_model_t *m = tk_new_model(7);
    int x = sn_input(m, TF_T, TF_IN);
    for (int k = 0; k < c->num_layers; k++) {
        sn_rnn_opts o = SN_RNN_OPTS_INIT;
        o.return_sequences = 1;
        sn_layer_t *l = c->name[0] == 'l'   ? sn_lstm(TF_H, &o)
                        : c->name[0] == 'g' ? sn_gru(TF_H, &o)
                                            : sn_simple_rnn(TF_H, &o);
        if (c->bidirectional)
            l = sn_bidirectional(l, SN_MERGE_CONCAT);
        if (k == 0)
            *first = l;
        x = sn_apply(m, l, x);
        if (dropout_between && k + 1 < c->num_layers)
            x = sn_apply(m, sn_dropout(0.5f), x);
    }
    ck_assert_int_ge(x, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

/* A shuffled order of 0 .. n-1 (Fisher-Yates on the test LCG). */
static void shuffle(int *order, int n, uint32_t seed)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(tk_lcg_next(&seed) % (uint32_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

static void import_shuffled(sn_layer_t *first, const tf_case *c,
                            uint32_t seed)
{
    const char *names[MAXT];
    const float *data[MAXT];
    size_t counts[MAXT];
    int order[MAXT];
    shuffle(order, c->n_tensors, seed);
    for (int e = 0; e < c->n_tensors; e++) {
        const tf_tensor *t = &c->tensors[order[e]];
        names[e] = t->name;
        data[e] = t->value;
        counts[e] = (size_t)t->dims[0] * (size_t)(t->rank == 2 ? t->dims[1]
                                                               : 1);
    }
    ck_assert_int_eq(sn_rnn_torch_num_tensors(first, c->num_layers),
                     c->n_tensors);
    ck_assert_int_eq(sn_rnn_torch_import(first, c->num_layers, names, data,
                                         counts, c->n_tensors), SN_OK);
}

static size_t tensor_count(const tf_tensor *t)
{
    return (size_t)t->dims[0] * (size_t)(t->rank == 2 ? t->dims[1] : 1);
}

/* Exports every tensor (values or gradients) and compares: exactly for
 * values, within tol for gradients. */
static void expect_export(const sn_layer_t *first, const tf_case *c,
                          sn_weight_view view, double tol)
{
    for (int i = 0; i < c->n_tensors; i++) {
        const tf_tensor *t = &c->tensors[i];
        size_t n = tensor_count(t);
        float *got = calloc(n, sizeof *got);
        float *const outs[1] = { got };
        const char *names[1] = { t->name };
        ck_assert_int_eq(sn_rnn_torch_export(first, c->num_layers, view,
                                             names, outs, &n, 1), SN_OK);
        if (view == SN_VIEW_VALUES) {
            for (size_t j = 0; j < n; j++)
                ck_assert_msg(got[j] == t->value[j], "%s %s[%zu]: %.9g "
                              "exported, %.9g imported", c->name, t->name,
                              j, got[j], t->value[j]);
        } else {
            tk_expect_close(got, t->grad, n, tol, t->name);
        }
        free(got);
    }
}

START_TEST(test_fixture_forward_backward_round_trip)
{
    const tf_case *c = &tf_cases[_i];
    sn_layer_t *first = NULL;
    sn_model_t *m = case_model(c, &first, 0);
    import_shuffled(first, c, 1000u + (uint32_t)_i);
    const void *in[1] = { c->x };
    ck_assert_int_eq(sn_model_forward(m, TF_B, in, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank = 0;
    const float *y = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(dims[2], c->out_width);
    size_t ny = (size_t)TF_B * TF_T * (size_t)c->out_width;
    tk_expect_close(y, c->y, ny, 1e-5, "output vs PyTorch");
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    const float *grads[1] = { c->r };
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    tk_expect_close(sn_model_input_grad(m, 0), c->dx,
                    (size_t)TF_B * TF_T * TF_IN, 1e-5, "dL/dx vs PyTorch");
    expect_export(first, c, SN_VIEW_GRADS, 1e-5);
    expect_export(first, c, SN_VIEW_VALUES, 0);
    sn_model_free(m);
}
END_TEST

/* Layers between the recurrent ones (Dropout here) are skipped. */
START_TEST(test_stack_skips_other_layers)
{
    const tf_case *c = &tf_cases[0];
    sn_layer_t *first = NULL;
    sn_model_t *m = case_model(c, &first, 1);
    import_shuffled(first, c, 5);
    float y[TF_B * TF_T * 8];
    const void *in[1] = { c->x };
    float *out[1] = { y };
    ck_assert_int_eq(sn_model_predict(m, TF_B, in, NULL, out), SN_OK);
    tk_expect_close(y, c->y, sizeof y / sizeof *y, 1e-5, "with dropout");
    expect_export(first, c, SN_VIEW_VALUES, 0);
    sn_model_free(m);
}
END_TEST

START_TEST(test_tensor_info_names)
{
    const tf_case *c = &tf_cases[0];
    sn_layer_t *first = NULL;
    sn_model_t *m = case_model(c, &first, 0);
    for (int i = 0; i < c->n_tensors; i++) {
        char name[40];
        int dims[2] = { -1, -1 };
        int rank = sn_rnn_torch_tensor_info(first, 2, i, name, sizeof name,
                                            dims, 2);
        ck_assert_int_eq(rank, c->tensors[i].rank);
        ck_assert_str_eq(name, c->tensors[i].name);
        ck_assert_int_eq(dims[0], c->tensors[i].dims[0]);
        if (rank == 2)
            ck_assert_int_eq(dims[1], c->tensors[i].dims[1]);
    }
    char tiny[8];
    ck_assert_int_lt(sn_rnn_torch_tensor_info(first, 2, 0, tiny, sizeof tiny,
                                              NULL, 0), 0);
    tk_expect_error_mentions("name_cap");
    ck_assert_int_eq(sn_rnn_torch_tensor_info(first, 2, 0, NULL, 0, NULL, 0),
                     2);
    ck_assert_int_lt(sn_rnn_torch_tensor_info(first, 2, c->n_tensors, NULL,
                                              0, NULL, 0), 0);
    ck_assert_int_lt(sn_rnn_torch_num_tensors(first, 3), 0);
    tk_expect_error_mentions("num_layers");
    ck_assert_int_lt(sn_rnn_torch_num_tensors(first, 0), 0);
    ck_assert_int_lt(sn_rnn_torch_num_tensors(NULL, 1), 0);
    sn_model_free(m);
}
END_TEST

/* Copies every weight value of m. */
static float *snapshot(sn_model_t *m, size_t *total)
{
    size_t n_all = sn_model_count_params(m, NULL), at = 0;
    float *copy = malloc(n_all * sizeof *copy);
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t n;
        float *w = sn_model_weight_data(m, i, &n);
        memcpy(copy + at, w, n * sizeof *w);
        at += n;
    }
    *total = n_all;
    return copy;
}

static void expect_unchanged(sn_model_t *m, const float *before)
{
    size_t n;
    float *now = snapshot(m, &n);
    ck_assert_msg(memcmp(now, before, n * sizeof *now) == 0,
                  "a refused import changed the weights");
    free(now);
}

START_TEST(test_import_refusals_change_nothing)
{
    const tf_case *c = &tf_cases[0];
    sn_layer_t *first = NULL;
    sn_model_t *m = case_model(c, &first, 0);
    int n = c->n_tensors;
    const char *names[MAXT];
    const float *data[MAXT];
    size_t counts[MAXT];
    for (int e = 0; e < n; e++) {
        names[e] = c->tensors[e].name;
        data[e] = c->tensors[e].value;
        counts[e] = tensor_count(&c->tensors[e]);
    }
    size_t total;
    float *before = snapshot(m, &total);
    /* incomplete */
    ck_assert_int_eq(sn_rnn_torch_import(first, 2, names, data, counts,
                                         n - 1), SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("whole modules");
    /* a tensor twice (and one missing) */
    names[n - 1] = names[0];
    data[n - 1] = data[0];
    counts[n - 1] = counts[0];
    ck_assert_int_eq(sn_rnn_torch_import(first, 2, names, data, counts, n),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("twice");
    /* unknown names, a layer outside the stack, leading zeros */
    const char *bad[] = { "weight_ih_l2", "weight_xx_l0", "weight_ih_l01",
                          "weight_ih_l0_reversed", "lstm.weight_ih_l0",
                          "weight_ih_l", "weight_ih_l0reverse" };
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        names[n - 1] = bad[b];
        ck_assert_int_eq(sn_rnn_torch_import(first, 2, names, data, counts,
                                             n), SN_ERR_NOT_FOUND);
    }
    names[n - 1] = c->tensors[n - 1].name;
    data[n - 1] = c->tensors[n - 1].value;
    counts[n - 1] = tensor_count(&c->tensors[n - 1]);
    /* wrong size */
    counts[3]--;
    ck_assert_int_eq(sn_rnn_torch_import(first, 2, names, data, counts, n),
                     SN_ERR_SHAPE);
    counts[3]++;
    /* NaN in the last entry, after every other check passed */
    float nan_bias[16];
    memcpy(nan_bias, c->tensors[n - 1].value, sizeof nan_bias);
    nan_bias[5] = NAN;
    data[n - 1] = nan_bias;
    ck_assert_int_eq(sn_rnn_torch_import(first, 2, names, data, counts, n),
                     SN_ERR_NUMERIC);
    /* a bias pair whose sum overflows */
    float big[16], big2[16];
    for (int j = 0; j < 16; j++)
        big[j] = big2[j] = 3e38f;
    data[2] = big;
    data[3] = big2;
    data[n - 1] = c->tensors[n - 1].value;
    ck_assert_int_eq(sn_rnn_torch_import(first, 2, names, data, counts, n),
                     SN_ERR_NUMERIC);
    tk_expect_error_mentions("overflows");
    /* NULLs */
    data[2] = NULL;
    ck_assert_int_eq(sn_rnn_torch_import(first, 2, names, data, counts, n),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_rnn_torch_import(first, 2, NULL, data, counts, n),
                     SN_ERR_INVALID_ARG);
    expect_unchanged(m, before);
    /* a non-recurrent first layer */
    ck_assert_int_eq(sn_rnn_torch_num_tensors(sn_model_layer(m, 0), 1),
                     SN_ERR_INVALID_ARG);
    free(before);
    sn_model_free(m);
}
END_TEST

/* A one-layer LSTM (use_bias) for the single-tensor setter tests. */
static sn_model_t *one_lstm(sn_layer_t **l)
{
    sn_model_t *m = tk_new_model(3);
    *l = sn_lstm(TF_H, NULL);
    ck_assert_int_ge(sn_apply(m, *l, sn_input(m, TF_T, TF_IN)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

static void get_bias(sn_layer_t *l, float *keras, float *ih, float *hh)
{
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "bias", keras,
                                       16), SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "bias_ih_l0",
                                       ih, 16), SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                                       hh, 16), SN_OK);
}

/* bias_hh then bias_ih, each twice, gives what bias_ih, bias_hh once
 * gives (the bug of issue 15: b_hh was dropped, or counted twice). */
START_TEST(test_bias_setters_any_order)
{
    const float *bih = tf_cases[0].tensors[2].value;
    const float *bhh = tf_cases[0].tensors[3].value;
    sn_layer_t *a, *b;
    sn_model_t *ma = one_lstm(&a), *mb = one_lstm(&b);
    ck_assert_int_eq(sn_rnn_set_weight(a, SN_LAYOUT_PYTORCH, "bias_ih_l0",
                                       bih, 16), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(a, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                                       bhh, 16), SN_OK);
    for (int rep = 0; rep < 2; rep++) {
        ck_assert_int_eq(sn_rnn_set_weight(b, SN_LAYOUT_PYTORCH,
                                           "bias_hh_l0", bhh, 16), SN_OK);
        ck_assert_int_eq(sn_rnn_set_weight(b, SN_LAYOUT_PYTORCH,
                                           "bias_ih_l0", bih, 16), SN_OK);
    }
    float ka[16], ia[16], ha[16], kb[16], ib[16], hb[16];
    get_bias(a, ka, ia, ha);
    get_bias(b, kb, ib, hb);
    for (int j = 0; j < 16; j++) {
        ck_assert(ka[j] == kb[j]);
        ck_assert(ka[j] == bih[j] + bhh[j]);
        ck_assert(ia[j] == bih[j] && ib[j] == bih[j]);
        ck_assert(ha[j] == bhh[j] && hb[j] == bhh[j]);
    }
    /* a Keras-layout write forgets the pair: (bias, 0) */
    float k2[16];
    tk_fill(k2, 16, 9, -1, 1);
    ck_assert_int_eq(sn_rnn_set_weight(a, SN_LAYOUT_KERAS, "bias", k2, 16),
                     SN_OK);
    get_bias(a, ka, ia, ha);
    for (int j = 0; j < 16; j++) {
        ck_assert(ia[j] == k2[j]);
        ck_assert(ha[j] == 0.0f);
    }
    /* then bias_hh alone: the bias is the old bias plus it */
    ck_assert_int_eq(sn_rnn_set_weight(a, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                                       bhh, 16), SN_OK);
    get_bias(a, ka, ia, ha);
    for (int j = 0; j < 16; j++) {
        ck_assert(ka[j] == k2[j] + bhh[j]);
        ck_assert(ia[j] == k2[j] && ha[j] == bhh[j]);
    }
    /* an overflowing sum is refused and changes nothing */
    float big[16];
    for (int j = 0; j < 16; j++)
        big[j] = j == 3 ? 3.4e38f : 0.0f;
    ck_assert_int_eq(sn_rnn_set_weight(a, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                                       big, 16), SN_OK); /* ka[3] small */
    for (int j = 0; j < 16; j++)
        big[j] = 3.4e38f;
    ck_assert_int_eq(sn_rnn_set_weight(a, SN_LAYOUT_PYTORCH, "bias_ih_l0",
                                       big, 16), SN_ERR_NUMERIC);
    sn_model_free(ma);
    sn_model_free(mb);
}
END_TEST

/* Gradients: Keras layout equals the model's gradient array; PyTorch
 * layout gives dL/dbias to both biases of an LSTM. */
START_TEST(test_grad_layouts)
{
    sn_layer_t *l;
    sn_model_t *m = one_lstm(&l);
    float x[TF_B * TF_T * TF_IN], dy[TF_B * TF_H];
    tk_fill(x, sizeof x / sizeof *x, 1, -1, 1);
    tk_fill(dy, sizeof dy / sizeof *dy, 2, -1, 1);
    const void *in[1] = { x };
    const float *g[1] = { dy };
    ck_assert_int_eq(sn_model_forward(m, TF_B, in, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    float kb[16], ih[16], hh[16], kk[48], wih[48];
    ck_assert_int_eq(sn_rnn_get_grad(l, SN_LAYOUT_KERAS, "bias", kb, 16),
                     SN_OK);
    ck_assert_int_eq(sn_rnn_get_grad(l, SN_LAYOUT_PYTORCH, "bias_ih_l0", ih,
                                     16), SN_OK);
    ck_assert_int_eq(sn_rnn_get_grad(l, SN_LAYOUT_PYTORCH, "bias_hh_l0", hh,
                                     16), SN_OK);
    int bi = sn_layer_find_weight(l, "bias");
    ck_assert_int_ge(bi, 0);
    const float *model_grad = sn_model_weight_grad(m, bi, NULL);
    double norm = 0;
    for (int j = 0; j < 16; j++) {
        ck_assert(kb[j] == model_grad[j]);
        ck_assert(ih[j] == kb[j] && hh[j] == kb[j]);
        norm += fabs(kb[j]);
    }
    ck_assert(norm > 0);
    ck_assert_int_eq(sn_rnn_get_grad(l, SN_LAYOUT_KERAS, "kernel", kk, 48),
                     SN_OK);
    ck_assert_int_eq(sn_rnn_get_grad(l, SN_LAYOUT_PYTORCH, "weight_ih_l0",
                                     wih, 48), SN_OK);
    for (int r = 0; r < 16; r++)      /* LSTM: same gate order */
        for (int e = 0; e < TF_IN; e++)
            ck_assert(wih[r * TF_IN + e] == kk[e * 16 + r]);
    ck_assert_int_eq(sn_rnn_get_grad(l, SN_LAYOUT_KERAS, "bias", kb, 15),
                     SN_ERR_SHAPE);
    ck_assert_int_eq(sn_rnn_get_grad(l, SN_LAYOUT_KERAS, "bias", NULL, 16),
                     SN_ERR_INVALID_ARG);
    sn_model_free(m);
}
END_TEST

/* Every Keras name sn_rnn_weight_info gives is found by
 * sn_layer_find_weight, as sn_model_find_weight finds "<layer>/<name>". */
START_TEST(test_layer_find_weight_by_rnn_names)
{
    const tf_case *c = &tf_cases[0];
    sn_layer_t *first = NULL;
    sn_model_t *m = case_model(c, &first, 0);
    int n = sn_rnn_num_weights(first, SN_LAYOUT_KERAS);
    ck_assert_int_eq(n, 6);
    for (int i = 0; i < n; i++) {
        const char *name;
        ck_assert_int_gt(sn_rnn_weight_info(first, SN_LAYOUT_KERAS, i, &name,
                                            NULL, 0), 0);
        int k = sn_layer_find_weight(first, name);
        ck_assert_int_ge(k, 0);
        char full[128];
        snprintf(full, sizeof full, "%s/%s", sn_layer_name(first), name);
        ck_assert_int_eq(sn_model_find_weight(m, full), k);
    }
    ck_assert_int_eq(sn_layer_find_weight(first, "nope"), SN_ERR_NOT_FOUND);
    ck_assert_int_eq(sn_layer_find_weight(first, NULL), SN_ERR_INVALID_ARG);
    sn_layer_t *loose = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_eq(sn_layer_find_weight(loose, "kernel"), SN_ERR_STATE);
    sn_layer_free(loose);
    sn_model_free(m);
}
END_TEST

/* Build, import, export and single-tensor sets of the 2-layer
 * bidirectional LSTM; the first failing step's status. */
static sn_status torch_scenario(void)
{
    const tf_case *c = &tf_cases[0];
    sn_model_t *m = sn_model_new(NULL);
    if (m == NULL)
        return SN_ERR_NOMEM;
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = 1;
    sn_layer_t *first = sn_bidirectional(sn_lstm(TF_H, &o), SN_MERGE_CONCAT);
    int x = sn_apply(m, first, sn_input(m, TF_T, TF_IN));
    x = sn_apply(m, sn_bidirectional(sn_lstm(TF_H, &o), SN_MERGE_CONCAT), x);
    sn_status st = x < 0 ? (sn_status)x : sn_model_build(m);
    const char *names[MAXT];
    const float *data[MAXT];
    float *out[MAXT];
    size_t counts[MAXT];
    for (int e = 0; e < c->n_tensors; e++) {
        names[e] = c->tensors[e].name;
        data[e] = c->tensors[e].value;
        counts[e] = tensor_count(&c->tensors[e]);
        out[e] = malloc(counts[e] * sizeof(float));
    }
    /* a single-tensor setter allocates the first layer's bias pairs, the
     * import the second's */
    if (st == SN_OK)
        st = sn_rnn_set_weight(first, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                               data[3], 16);
    if (st == SN_OK)
        st = sn_rnn_torch_import(first, 2, names, data, counts,
                                 c->n_tensors);
    if (st == SN_OK)
        st = sn_rnn_torch_export(first, 2, SN_VIEW_VALUES, names, out,
                                 counts, c->n_tensors);
    for (int e = 0; st == SN_OK && e < c->n_tensors; e++)
        if (memcmp(out[e], data[e], counts[e] * sizeof(float)) != 0)
            st = SN_ERR_FORMAT; /* not a status the calls give here */
    for (int e = 0; e < c->n_tensors; e++)
        free(out[e]);
    sn_model_free(m);
    return st;
}

/* Every allocation of the scenario fails in turn: a status, no leak. */
START_TEST(test_allocation_failures)
{
    tk_fail_each_allocation(torch_scenario, 10);
}
END_TEST

static Suite *torch_suite(void)
{
    Suite *s = suite_create("torch");
    TCase *tc = tcase_create("torch");
    int n_cases = (int)(sizeof tf_cases / sizeof *tf_cases);
    tcase_add_loop_test(tc, test_fixture_forward_backward_round_trip, 0,
                        n_cases);
    tcase_add_test(tc, test_stack_skips_other_layers);
    tcase_add_test(tc, test_tensor_info_names);
    tcase_add_test(tc, test_import_refusals_change_nothing);
    tcase_add_test(tc, test_bias_setters_any_order);
    tcase_add_test(tc, test_grad_layouts);
    tcase_add_test(tc, test_layer_find_weight_by_rnn_names);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(torch_suite());
}
