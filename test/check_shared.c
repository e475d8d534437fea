/*
 * check_shared.c - shared layers: one layer applied several times (a
 * Siamese encoder, one Dense on two inputs, one Dense applied three
 * times in a row) has one set of weights whose gradients sum over the
 * uses (finite-difference checked for every layer kind that has weights),
 * is saved and loaded (format version 2; unshared models stay version 1),
 * shown sensibly by the summary, and is refused where it cannot work.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet.h>

#include "support/counting_alloc.h"
#include "support/gradcheck.h"
#include "support/testkit.h"

enum { T = 4, F = 3, VOCAB = 6, B = 2 };

enum kind {
    K_DENSE, K_LSTM, K_BIGRU, K_SIMPLE, K_CONV, K_NORM, K_EMBED, K_ATT,
    K_MHA, K_CHAIN, N_KINDS
};
static const char *const kind_names[N_KINDS] = {
    "dense", "lstm", "bidirectional gru", "simple_rnn", "conv1d",
    "layer norm", "embedding", "additive attention", "mha", "dense x3"
};

static sn_layer_t *make_layer(int kind)
{
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    switch (kind) {
    case K_DENSE:
    case K_CHAIN:
        return sn_dense(F, SN_TANH, NULL);
    case K_LSTM:
        return sn_lstm(3, NULL);
    case K_BIGRU:
        ro.return_sequences = 1;
        return sn_bidirectional(sn_gru(2, &ro), SN_MERGE_CONCAT);
    case K_SIMPLE:
        return sn_simple_rnn(3, NULL);
    case K_CONV: {
        sn_conv1d_opts co = SN_CONV1D_OPTS_INIT;
        co.padding = SN_PAD_SAME;
        return sn_conv1d(2, 3, &co);
    }
    case K_NORM:
        return sn_layer_normalization(NULL);
    case K_EMBED:
        return sn_embedding(VOCAB, F, NULL);
    case K_ATT:
        return sn_attention(SN_SCORE_ADDITIVE, NULL);
    default:
        return sn_multi_head_attention(2, 2, NULL);
    }
}

/* Applies layer l once to input a and once to b (attention kinds: to
 * (a, b) and (b, a)); writes the two output ids. */
static void apply_twice(sn_model_t *m, sn_layer_t *l, int kind, int a, int b,
                        int *ya, int *yb)
{
    if (kind == K_ATT || kind == K_MHA) {
        int ab[2] = { a, b }, ba[2] = { b, a };
        ck_assert_int_eq(sn_apply_n(m, l, ab, 2, ya, 1), 1);
        ck_assert_int_eq(sn_apply_n(m, l, ba, 2, yb, 1), 1);
        return;
    }
    *ya = sn_apply(m, l, a);
    *yb = sn_apply(m, l, b);
}

/* Two inputs, one shared layer, outputs concatenated; weights filled
 * with nonzero values.  Returns the model built. */
static sn_model_t *shared_model(int kind, sn_layer_t **shared)
{
    sn_model_t *m = tk_new_model(11);
    int a, b;
    if (kind == K_EMBED) {
        a = sn_input_tokens(m, T);
        b = sn_input_tokens(m, T);
    } else {
        a = sn_input(m, T, F);
        b = sn_input(m, T, F);
    }
    sn_layer_t *l = make_layer(kind);
    ck_assert_ptr_nonnull(l);
    *shared = l;
    int ya, yb;
    if (kind == K_CHAIN) { /* a -> d -> d -> d, plus d(b) */
        ya = sn_apply(m, l, sn_apply(m, l, sn_apply(m, l, a)));
        yb = sn_apply(m, l, b);
    } else {
        apply_twice(m, l, kind, a, b, &ya, &yb);
    }
    ck_assert_int_ge(ya, 0);
    ck_assert_int_ge(yb, 0);
    int both[2] = { ya, yb }, y;
    ck_assert_int_eq(sn_apply_n(m, sn_concatenate(-1), both, 2, &y, 1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    tk_fill_weights(m, 3, 17, 0.5f);
    return m;
}

static void fill_inputs(int kind, float *xa, float *xb, int32_t *ia,
                        int32_t *ib)
{
    tk_fill(xa, B * T * F, 21, -1, 1);
    tk_fill(xb, B * T * F, 22, -1, 1);
    for (int i = 0; i < B * T; i++) {
        ia[i] = (i * 5 + 1) % VOCAB;
        ib[i] = (i * 3 + 2) % VOCAB;
    }
    (void)kind;
}

START_TEST(test_shared_gradients_sum)
{
    sn_layer_t *l;
    sn_model_t *m = shared_model(_i, &l);
    /* one set of weights: as many as the layer alone has */
    int per_layer = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        const char *name;
        sn_model_weight_info(m, i, &name, NULL, 0, NULL);
        per_layer += strncmp(name, sn_layer_name(l), strlen(sn_layer_name(l)))
                     == 0;
    }
    ck_assert_int_eq(per_layer, sn_model_num_weights(m));
    ck_assert_int_gt(per_layer, 0);
    float xa[B * T * F], xb[B * T * F];
    int32_t ia[B * T], ib[B * T];
    fill_inputs(_i, xa, xb, ia, ib);
    bool ids = _i == K_EMBED;
    tk_grad_case g = { m, B, 2, { ids ? (void *)ia : xa,
                                  ids ? (void *)ib : xb },
                       { ids ? B * T : B * T * F, ids ? B * T : B * T * F },
                       { !ids, !ids }, 0, NULL };
    tk_expect_good_grads(tk_grad_check(&g, 5, &tk_grad_defaults),
                         kind_names[_i]);
    sn_model_free(m);
}
END_TEST

/* The gradient of a layer used on a and b is the sum of its gradients in
 * a model that uses it on a alone and one that uses it on b alone. */
START_TEST(test_shared_gradient_is_sum_of_uses)
{
    sn_model_t *m = tk_new_model(1);
    int a = sn_input(m, SN_NO_TIME, F), b = sn_input(m, SN_NO_TIME, F);
    sn_layer_t *d = sn_dense(2, SN_LINEAR, NULL);
    int ya = sn_apply(m, d, a), yb = sn_apply(m, d, b);
    int both[2] = { ya, yb }, y;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), both, 2, &y, 1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(m), 2);
    /* y = (a + b) K + 2 bias, so dL/dK = (a + b)^T dy, dL/dbias = 2 dy */
    float xa[F] = { 1, 2, 3 }, xb[F] = { -0.5f, 0.25f, 4 }, dy[2] = { 1, -2 };
    const void *in[2] = { xa, xb };
    const float *g[1] = { dy };
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    const float *gk = sn_model_weight_grad(m, 0, NULL);
    const float *gb = sn_model_weight_grad(m, 1, NULL);
    for (int i = 0; i < F; i++)
        for (int j = 0; j < 2; j++)
            ck_assert_float_eq_tol(gk[i * 2 + j], (xa[i] + xb[i]) * dy[j],
                                   1e-6f);
    ck_assert_float_eq_tol(gb[0], 2 * dy[0], 1e-6f);
    ck_assert_float_eq_tol(gb[1], 2 * dy[1], 1e-6f);
    sn_model_free(m);
}
END_TEST

static void predict(sn_model_t *m, int kind, float *y)
{
    float xa[B * T * F], xb[B * T * F];
    int32_t ia[B * T], ib[B * T];
    fill_inputs(kind, xa, xb, ia, ib);
    bool ids = kind == K_EMBED;
    const void *in[2] = { ids ? (void *)ia : xa, ids ? (void *)ib : xb };
    float *out[1] = { y };
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, out), SN_OK);
}

static uint32_t file_version(const void *data)
{
    const uint8_t *p = (const uint8_t *)data + 8;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

START_TEST(test_shared_save_load)
{
    sn_layer_t *l;
    sn_model_t *m = shared_model(_i, &l);
    float y[256], y2[256];
    predict(m, _i, y);
    void *data;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    ck_assert_uint_eq(file_version(data), 2);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load_buffer(data, len, &back), SN_OK);
    ck_assert_int_eq(sn_model_num_layers(back), sn_model_num_layers(m));
    ck_assert_int_eq(sn_model_num_weights(back), sn_model_num_weights(m));
    predict(back, _i, y2);
    int dims[SN_MAX_RANK];
    int rank = sn_model_tensor_shape(m, sn_model_output_id(m, 0), dims,
                                     SN_MAX_RANK, NULL);
    size_t per = 1;
    for (int d = 0; d < rank; d++)
        per *= (size_t)dims[d];
    ck_assert_uint_le(per * B, 256);
    ck_assert(memcmp(y, y2, per * B * sizeof *y) == 0);
    sn_free(data);
    sn_model_free(back);
    sn_model_free(m);
}
END_TEST

/* A model without a shared layer is written as version 1, which older
 * libraries read. */
START_TEST(test_unshared_file_stays_version_1)
{
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, sn_dense(2, SN_LINEAR, NULL),
                              sn_input(m, SN_NO_TIME, 3)), 0);
    void *data;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    ck_assert_uint_eq(file_version(data), 1);
    sn_free(data);
    sn_model_free(m);
}
END_TEST

/* A version-1 file written before shared layers existed (the committed
 * fuzz seed) still loads and runs. */
START_TEST(test_old_version_1_file_loads)
{
    sn_model_t *m = NULL;
    ck_assert_int_eq(sn_model_load("test/fuzz/corpus/model/every_layer.snm",
                                   &m), SN_OK);
    ck_assert_int_gt(sn_model_num_layers(m), 5);
    ck_assert_int_gt(sn_model_num_weights(m), 0);
    void *data;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    ck_assert_uint_eq(file_version(data), 1);
    sn_free(data);
    sn_model_free(m);
}
END_TEST

/* Finds needle in the len bytes at hay. */
static uint8_t *find_bytes(uint8_t *hay, size_t len, const char *needle,
                           size_t from)
{
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* CRC-32 (IEEE, reflected), as the model file uses. */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Recomputes the CRC of the CONF section (the first, after the 16-byte
 * header: tag, u64 length, payload, u32 CRC). */
static void fix_conf_crc(uint8_t *bytes)
{
    uint8_t *sec = bytes + 16;
    ck_assert(memcmp(sec, "CONF", 4) == 0);
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | sec[4 + i];
    uint32_t crc = crc32_of(sec, 12 + (size_t)len);
    for (int i = 0; i < 4; i++)
        sec[12 + len + (size_t)i] = (uint8_t)(crc >> (8 * i));
}

/* A version-2 file whose second use of a layer names another type is
 * refused (the CRC is fixed up so that the graph check is what fails). */
START_TEST(test_shared_load_refuses_type_mismatch)
{
    sn_model_t *m = tk_new_model(1);
    int a = sn_input(m, SN_NO_TIME, F), b = sn_input(m, SN_NO_TIME, F);
    sn_layer_t *d = sn_dense(F, SN_LINEAR, NULL);
    sn_layer_set_name(d, "enc");
    int both[2] = { sn_apply(m, d, a), sn_apply(m, d, b) }, y;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), both, 2, &y, 1), 1);
    void *data;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    uint8_t *bytes = data;
    uint8_t *first = find_bytes(bytes, len, "Dense", 0);
    ck_assert_ptr_nonnull(first);
    uint8_t *second = find_bytes(bytes, len, "Dense",
                                 (size_t)(first - bytes) + 1);
    ck_assert_ptr_nonnull(second);
    sn_model_t *back = NULL;
    fix_conf_crc(bytes); /* unchanged bytes: the fix-up itself is right */
    ck_assert_int_eq(sn_model_load_buffer(data, len, &back), SN_OK);
    sn_model_free(back);
    memcpy(second, "Dence", 5);
    fix_conf_crc(bytes);
    ck_assert_int_eq(sn_model_load_buffer(data, len, &back), SN_ERR_FORMAT);
    tk_expect_error_mentions("used again");
    ck_assert_ptr_null(back);
    sn_free(data);
    sn_model_free(m);
}
END_TEST

START_TEST(test_shared_refusals)
{
    sn_model_t *m = tk_new_model(1);
    int a = sn_input(m, T, F), b = sn_input(m, T, F + 1);
    sn_layer_t *d = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_ge(sn_apply(m, d, a), 0);
    /* another input shape: refused, the model keeps the layer */
    ck_assert_int_eq(sn_apply(m, d, b), SN_ERR_SHAPE);
    tk_expect_error_mentions("same input shapes");
    ck_assert_str_eq(sn_layer_name(d), "dense");
    /* an input layer cannot be applied */
    int none;
    ck_assert_int_eq(sn_apply_n(m, sn_model_layer(m, 0), NULL, 0, &none, 1),
                     SN_ERR_INVALID_ARG);
    /* a stateful recurrent layer carries one state */
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.stateful = 1;
    sn_layer_t *st = sn_lstm(2, &o);
    ck_assert_int_ge(sn_apply(m, st, a), 0);
    ck_assert_int_eq(sn_apply(m, st, a), SN_ERR_UNSUPPORTED);
    tk_expect_error_mentions("stateful");
    sn_layer_t *bst = sn_bidirectional(sn_gru(2, &o), SN_MERGE_SUM);
    ck_assert_int_ge(sn_apply(m, bst, a), 0);
    ck_assert_int_eq(sn_apply(m, bst, a), SN_ERR_UNSUPPORTED);
    /* a layer of another model */
    sn_model_t *other = tk_new_model(2);
    ck_assert_int_eq(sn_apply(other, d, sn_input(other, T, F)),
                     SN_ERR_STATE);
    tk_expect_error_mentions("another model");
    sn_model_free(other);
    /* after build */
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_apply(m, d, a), SN_ERR_STATE);
    /* the model still works, and holds each layer once */
    ck_assert_int_eq(sn_model_num_layers(m), 5);
    ck_assert_int_eq(sn_model_num_weights(m), 2 + 3 + 6);
    sn_model_free(m);
}
END_TEST

/* A first application that fails keeps the layer in the model: the
 * second application of the same handle fails cleanly (no dangling
 * pointer), and the model frees the layer. */
START_TEST(test_failed_first_apply_keeps_handle_valid)
{
    sn_model_t *m = tk_new_model(1);
    int tok = sn_input_tokens(m, T), x = sn_input(m, T, F);
    sn_layer_t *d = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_eq(sn_apply(m, d, tok), SN_ERR_SHAPE); /* int32 input */
    ck_assert_int_eq(sn_apply(m, d, x), SN_ERR_STATE);
    tk_expect_error_mentions("first sn_apply failed");
    ck_assert_str_eq(sn_layer_name(d), "dense");
    sn_layer_free(d); /* refused: the model owns it */
    ck_assert_int_eq(sn_model_num_layers(m), 2);
    sn_layer_t *e = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_eq(sn_apply(m, e, -3), -3); /* a failed chain */
    ck_assert_int_eq(sn_apply(m, e, x), SN_ERR_STATE);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(m), 0);
    sn_model_free(m);
}
END_TEST

START_TEST(test_shared_summary_and_layers)
{
    sn_model_t *m = tk_new_model(1);
    int a = sn_input(m, SN_NO_TIME, F), b = sn_input(m, SN_NO_TIME, F);
    sn_layer_t *d = sn_dense(4, SN_RELU, NULL);
    sn_layer_set_name(d, "encoder");
    int both[2] = { sn_apply(m, d, a), sn_apply(m, d, b) }, y;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), both, 2, &y, 1), 1);
    ck_assert_int_eq(sn_model_num_layers(m), 4); /* 2 inputs, encoder, add */
    ck_assert_ptr_eq(sn_model_layer(m, 2), d);
    ck_assert_str_eq(sn_layer_type(sn_model_layer(m, 3)), "Add");
    ck_assert_ptr_null(sn_model_layer(m, 4));
    ck_assert_ptr_eq(sn_model_find_layer(m, "encoder"), d);
    char *text = tk_summary_text(m);
    ck_assert_msg(tk_contains(text, "(shared)"), "%s", text);
    ck_assert_msg(tk_contains(text, "Total params: 16 "), "%s", text);
    /* both applications are listed, with their inputs */
    char *second = strstr(text, "encoder (Dense)");
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_nonnull(strstr(second + 1, "encoder (Dense)"));
    free(text);
    sn_model_free(m);
}
END_TEST

/* Training steps move the one set of weights; nothing leaks or breaks. */
START_TEST(test_shared_train_on_batch)
{
    sn_layer_t *l;
    sn_model_t *m = shared_model(K_LSTM, &l);
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    float xa[B * T * F], xb[B * T * F];
    int32_t ia[B * T], ib[B * T];
    fill_inputs(K_LSTM, xa, xb, ia, ib);
    float target[B * 6] = { 0.5f, -0.5f, 0.1f, 0.2f, 0.3f, 0.4f,
                            0.0f, 0.1f, -0.2f, 0.3f, 0.0f, 0.1f };
    const void *in[2] = { xa, xb };
    const float *tg[1] = { target };
    double first = 0, loss = 0;
    for (int s = 0; s < 20; s++) {
        ck_assert_int_eq(sn_model_train_on_batch(m, B, in, NULL, tg, NULL,
                                                 &loss), SN_OK);
        if (s == 0)
            first = loss;
    }
    ck_assert_msg(loss < first, "loss %g did not fall from %g", loss, first);
    sn_model_free(m);
}
END_TEST

/* A Siamese model built, run, saved and loaded; the first failing step's
 * status. */
static sn_status shared_scenario(void)
{
    sn_model_t *m = sn_model_new(NULL), *back = NULL;
    if (m == NULL)
        return SN_ERR_NOMEM;
    int a = sn_input(m, T, F), b = sn_input(m, T, F);
    sn_layer_t *enc = sn_lstm(3, NULL);
    int both[2] = { sn_apply(m, enc, a), sn_apply(m, enc, b) }, y = -1;
    sn_status st = both[0] < 0 ? both[0] : both[1] < 0 ? both[1] : SN_OK;
    if (st == SN_OK) {
        int n = sn_apply_n(m, sn_add(), both, 2, &y, 1);
        st = n < 0 ? (sn_status)n : SN_OK;
    }
    if (st == SN_OK)
        st = sn_model_build(m);
    float xa[B * T * F] = { 0 }, xb[B * T * F] = { 0 }, out[B * 3];
    const void *in[2] = { xa, xb };
    float *outs[1] = { out };
    if (st == SN_OK)
        st = sn_model_predict(m, B, in, NULL, outs);
    void *data = NULL;
    size_t len = 0;
    if (st == SN_OK)
        st = sn_model_save_buffer(m, 0, &data, &len);
    if (st == SN_OK)
        st = sn_model_load_buffer(data, len, &back);
    sn_free(data);
    sn_model_free(back);
    sn_model_free(m);
    return st;
}

START_TEST(test_shared_allocation_failures)
{
    tk_fail_each_allocation(shared_scenario, 10);
}
END_TEST

static Suite *shared_suite(void)
{
    Suite *s = suite_create("shared");
    TCase *tc = tcase_create("shared");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_shared_gradients_sum, 0, N_KINDS);
    tcase_add_loop_test(tc, test_shared_save_load, 0, N_KINDS);
    tcase_add_test(tc, test_shared_gradient_is_sum_of_uses);
    tcase_add_test(tc, test_unshared_file_stays_version_1);
    tcase_add_test(tc, test_old_version_1_file_loads);
    tcase_add_test(tc, test_shared_load_refuses_type_mismatch);
    tcase_add_test(tc, test_shared_refusals);
    tcase_add_test(tc, test_shared_summary_and_layers);
    tcase_add_test(tc, test_failed_first_apply_keeps_handle_valid);
    tcase_add_test(tc, test_shared_train_on_batch);
    tcase_add_test(tc, test_shared_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(shared_suite());
}
