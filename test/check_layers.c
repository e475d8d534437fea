/*
 * check_layers.c - tests of the built-in layers through the public API only:
 * finite-difference gradient checks, hand-computed forward values, masks,
 * dropout and argument/shape validation.
 *
 * Gradient checks (test/support/gradcheck.c) use L = sum_i w_i * y_i with
 * fixed pseudo-random w, so dL/dy = w is what sn_model_backward receives,
 * and compare the analytic weight/input gradients with central differences
 * of L (accumulated in double) under perturbations of the weights and float
 * inputs.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet.h>

#include "support/gradcheck.h"
#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

/* Values of magnitude in [lo, hi] with random sign: keeps relu kinks away. */
static void fill_away_from_zero(float *x, size_t n, uint32_t seed, float lo,
                                float hi)
{
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        float v = tk_frand(&s, lo, hi);
        x[i] = (tk_lcg_next(&s) & 1) ? v : -v;
    }
}

/* ------------------------------------------------------ dense gradients */

static const sn_activation all_acts[5] = {SN_LINEAR, SN_RELU, SN_TANH,
                                          SN_SIGMOID, SN_SOFTMAX};
static const char *act_names[5] = {"linear", "relu", "tanh", "sigmoid",
                                   "softmax"};

/* Dense(units=4, act) on [features=3] (timesteps 0) or [5, 3]. */
static void dense_grad_case(int act_i, int timesteps)
{
    const int batch = 2, feat = 3, units = 4;
    int t = timesteps > 0 ? timesteps : 1;
    sn_model_t *m = tk_new_model(11);
    int x = sn_input(m, timesteps, feat);
    int y = sn_apply(m, sn_dense(units, all_acts[act_i], NULL), x);
    ck_assert_int_ge(y, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);

    size_t n_in = (size_t)batch * t * feat;
    float *xin = malloc(n_in * sizeof *xin);
    if (all_acts[act_i] == SN_RELU) {
        /* |x . K| <= 3 * 1 * 0.1 < 0.7 <= |b|: the sign of each
         * pre-activation is the bias's, far from the kink; alternate signs
         * leave half the units dead so a wrong relu' shows. */
        size_t nk, nb;
        float *k = tk_weight(m, "dense/kernel", &nk);
        float *b = tk_weight(m, "dense/bias", &nb);
        tk_fill(k, nk, 3, -0.1f, 0.1f);
        for (size_t i = 0; i < nb; i++)
            b[i] = (i % 2) ? -1.0f : 1.0f;
        tk_fill(xin, n_in, 5, -1.0f, 1.0f);
    } else {
        size_t nb;
        float *b = tk_weight(m, "dense/bias", &nb);
        tk_fill(b, nb, 7, -0.5f, 0.5f); /* nonzero bias: its use is tested */
        tk_fill(xin, n_in, 5, -1.0f, 1.0f);
    }
    tk_grad_case g = {m, batch, 1, {xin}, {n_in}, {1}, 0, NULL};
    char what[64];
    snprintf(what, sizeof what, "dense %s rank %d", act_names[act_i],
             timesteps > 0 ? 2 : 1);
    tk_expect_good_grads(tk_grad_check(&g, 99, &tk_grad_defaults), what);
    free(xin);
    sn_model_free(m);
}

START_TEST(test_dense_grad_rank1)
{
    dense_grad_case(_i, SN_NO_TIME);
}
END_TEST

START_TEST(test_dense_grad_rank2)
{
    dense_grad_case(_i, 5);
}
END_TEST

START_TEST(test_dense_no_bias_grad)
{
    sn_dense_opts o = SN_DENSE_OPTS_INIT;
    o.use_bias = 0;
    sn_model_t *m = tk_new_model(2);
    int y = sn_apply(m, sn_dense(3, SN_TANH, &o), sn_input(m, 4, 2));
    ck_assert_int_ge(y, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(m), 1);
    ck_assert_int_lt(sn_model_find_weight(m, "dense/bias"), 0);
    float x[2 * 4 * 2];
    tk_fill(x, 16, 8, -1.0f, 1.0f);
    tk_grad_case g = {m, 2, 1, {x}, {16}, {1}, 0, NULL};
    tk_expect_good_grads(tk_grad_check(&g, 4, &tk_grad_defaults),
                         "dense no bias");
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------- dense forward */

START_TEST(test_dense_forward_values)
{
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, sn_dense(2, SN_LINEAR, NULL),
                              sn_input(m, SN_NO_TIME, 3)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t nk, nb;
    float *k = tk_weight(m, "dense/kernel", &nk);
    float *b = tk_weight(m, "dense/bias", &nb);
    ck_assert_uint_eq(nk, 6);
    ck_assert_uint_eq(nb, 2);
    const float kv[6] = {1, 2, 3, 4, 5, 6}; /* [in=3, units=2] */
    memcpy(k, kv, sizeof kv);
    b[0] = 0.5f;
    b[1] = -1.0f;
    const float x[6] = {1, 0, -1, 2, 1, 0.5f};
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[0], 2);
    ck_assert_int_eq(dims[1], 2);
    /* row 0: [1-5+.5, 2-6-1]; row 1: [2+3+2.5+.5, 4+4+3-1] */
    ck_assert_float_eq_tol(y[0], -3.5f, 1e-6f);
    ck_assert_float_eq_tol(y[1], -5.0f, 1e-6f);
    ck_assert_float_eq_tol(y[2], 8.0f, 1e-6f);
    ck_assert_float_eq_tol(y[3], 10.0f, 1e-6f);
    sn_model_free(m);
}
END_TEST

START_TEST(test_dense_relu_sigmoid_values)
{
    /* Same kernel, relu and sigmoid: y = act([-3.5, 8]) per unit. */
    sn_activation acts[2] = {SN_RELU, SN_SIGMOID};
    for (int a = 0; a < 2; a++) {
        sn_model_t *m = tk_new_model(1);
        ck_assert_int_ge(sn_apply(m, sn_dense(1, acts[a], NULL),
                                  sn_input(m, SN_NO_TIME, 2)), 0);
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        float *k = tk_weight(m, "dense/kernel", NULL);
        k[0] = 1.0f;
        k[1] = -2.0f;
        const float x[4] = {1.0f, 2.25f, 4.0f, -2.0f}; /* z = -3.5, 8 */
        const void *in[1] = {x};
        ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 0), SN_OK);
        const float *y = sn_model_output(m, 0, NULL, 0, NULL);
        if (acts[a] == SN_RELU) {
            ck_assert_float_eq(y[0], 0.0f);
            ck_assert_float_eq_tol(y[1], 8.0f, 1e-6f);
        } else {
            ck_assert_float_eq_tol(y[0], 1.0f / (1.0f + expf(3.5f)), 1e-6f);
            ck_assert_float_eq_tol(y[1], 1.0f / (1.0f + expf(-8.0f)), 1e-6f);
        }
        sn_model_free(m);
    }
}
END_TEST

START_TEST(test_softmax_rows_sum_to_one)
{
    const int t = 4, f = 3, units = 5, batch = 3;
    sn_model_t *m = tk_new_model(5);
    ck_assert_int_ge(sn_apply(m, sn_dense(units, SN_SOFTMAX, NULL),
                              sn_input(m, t, f)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t nk;
    float *k = tk_weight(m, "dense/kernel", &nk);
    tk_fill(k, nk, 1, -300.0f, 300.0f); /* huge logits: needs the max shift */
    float x[3 * 4 * 3];
    tk_fill(x, sizeof x / sizeof *x, 2, -2.0f, 2.0f);
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, batch, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    for (int r = 0; r < batch * t; r++) {
        double sum = 0.0;
        for (int u = 0; u < units; u++) {
            float v = y[r * units + u];
            ck_assert_msg(isfinite(v) && v >= 0.0f && v <= 1.0f,
                          "row %d unit %d = %g", r, u, (double)v);
            sum += v;
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-5);
    }
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------- activation layer */

START_TEST(test_activation_layer_grad)
{
    const int batch = 2, t = 3, f = 4;
    sn_model_t *m = tk_new_model(3);
    ck_assert_int_ge(sn_apply(m, sn_activation_layer(all_acts[_i]),
                              sn_input(m, t, f)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float x[2 * 3 * 4];
    fill_away_from_zero(x, sizeof x / sizeof *x, 17, 0.1f, 1.5f);
    tk_grad_case g = {m, batch, 1, {x}, {sizeof x / sizeof *x}, {1}, 0, NULL};
    char what[64];
    snprintf(what, sizeof what, "activation %s", act_names[_i]);
    tk_expect_good_grads(tk_grad_check(&g, 23, &tk_grad_defaults), what);
    ck_assert_str_eq(sn_layer_type(sn_model_layer(m, 1)), "Activation");
    ck_assert_str_eq(sn_layer_name(sn_model_layer(m, 1)), "activation");
    sn_model_free(m);
}
END_TEST

START_TEST(test_activation_layer_values)
{
    /* Extreme inputs: stable sigmoid and softmax give finite results. */
    const float x[4] = {-100.0f, 100.0f, 0.0f, 88.0f};
    sn_activation acts[4] = {SN_SIGMOID, SN_TANH, SN_RELU, SN_SOFTMAX};
    for (int a = 0; a < 4; a++) {
        sn_model_t *m = tk_new_model(3);
        ck_assert_int_ge(sn_apply(m, sn_activation_layer(acts[a]),
                                  sn_input(m, SN_NO_TIME, 4)), 0);
        const void *in[1] = {x};
        ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
        const float *y = sn_model_output(m, 0, NULL, 0, NULL);
        for (int i = 0; i < 4; i++) {
            float expect;
            switch (acts[a]) {
            case SN_SIGMOID: expect = 1.0f / (1.0f + expf(-x[i])); break;
            case SN_TANH: expect = tanhf(x[i]); break;
            case SN_RELU: expect = x[i] > 0 ? x[i] : 0.0f; break;
            default: { /* softmax, computed in double */
                double sum = 0.0;
                for (int j = 0; j < 4; j++)
                    sum += exp((double)x[j] - 100.0);
                expect = (float)(exp((double)x[i] - 100.0) / sum);
                break;
            }
            }
            ck_assert_msg(isfinite(y[i]), "act %d y[%d] not finite", a, i);
            ck_assert_float_eq_tol(y[i], expect, 1e-6f);
        }
        sn_model_free(m);
    }
}
END_TEST

/* ------------------------------------------------------------ embedding */

START_TEST(test_embedding_grad)
{
    const int batch = 2, t = 5, v = 6, d = 3;
    sn_model_t *m = tk_new_model(4);
    ck_assert_int_ge(sn_apply(m, sn_embedding(v, d, NULL),
                              sn_input_tokens(m, t)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int32_t ids[10] = {1, 0, 3, 3, 5, 0, 2, 4, 1, 0}; /* 3 repeats */
    tk_grad_case g = {m, batch, 1, {ids}, {10}, {0}, 0, NULL};
    tk_expect_good_grads(tk_grad_check(&g, 31, &tk_grad_defaults),
                         "embedding");
    ck_assert_ptr_null(sn_model_input_grad(m, 0)); /* ids: no gradient */
    (void)d;
    sn_model_free(m);
}
END_TEST

START_TEST(test_embedding_forward_gathers_rows)
{
    sn_model_t *m = tk_new_model(4);
    ck_assert_int_ge(sn_apply(m, sn_embedding(4, 2, NULL),
                              sn_input_tokens(m, 3)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t n;
    float *e = tk_weight(m, "embedding/embeddings", &n);
    ck_assert_uint_eq(n, 8);
    for (size_t i = 0; i < n; i++)
        e[i] = (float)i;
    int32_t ids[3] = {2, 0, 3};
    const void *in[1] = {ids};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(dims[1], 3);
    ck_assert_int_eq(dims[2], 2);
    const float expect[6] = {4, 5, 0, 1, 6, 7};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(y[i], expect[i]);
    sn_model_free(m);
}
END_TEST

/* Embedding(mask_zero) -> GlobalAveragePooling1D: the padded row 0 gets
 * exactly zero gradient, the rest match finite differences. */
START_TEST(test_embedding_mask_zero_grad)
{
    const int batch = 2, t = 5;
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    o.mask_zero = 1;
    sn_model_t *m = tk_new_model(6);
    int e = sn_apply(m, sn_embedding(5, 3, &o), sn_input_tokens(m, t));
    ck_assert_int_ge(sn_apply(m, sn_global_average_pooling1d(), e), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int32_t ids[10] = {1, 2, 4, 0, 0, 3, 3, 1, 2, 0};
    tk_grad_case g = {m, batch, 1, {ids}, {10}, {0}, 0, NULL};
    tk_expect_good_grads(tk_grad_check(&g, 41, &tk_grad_defaults),
                         "embedding mask_zero");
    /* tk_grad_check zeroed and filled the gradient; check row 0 exactly. */
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    const void *in[1] = {ids};
    ck_assert_int_eq(sn_model_forward(m, batch, in, NULL, 0), SN_OK);
    float w[6] = {1, -2, 3, 0.5f, 0.25f, -1};
    const float *gr[1] = {w};
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    const float *dE = sn_model_weight_grad(m, 0, NULL);
    for (int j = 0; j < 3; j++) {
        ck_assert_float_eq(dE[0 * 3 + j], 0.0f);
        ck_assert_float_ne(dE[1 * 3 + j], 0.0f);
    }
    sn_model_free(m);
}
END_TEST

/* Embedding(mask_zero) as the output: dy is nonzero on padded steps, yet
 * they add nothing; other rows get the scatter-add of dy. */
START_TEST(test_embedding_mask_zero_padded_rows_no_grad)
{
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    o.mask_zero = 1;
    sn_model_t *m = tk_new_model(6);
    ck_assert_int_ge(sn_apply(m, sn_embedding(3, 2, &o),
                              sn_input_tokens(m, 4)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int32_t ids[4] = {2, 0, 2, 1};
    float w[8] = {1, 2, 30, 40, 5, 6, 7, 8};
    const void *in[1] = {ids};
    const float *gr[1] = {w};
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    const float *dE = sn_model_weight_grad(m, 0, NULL);
    const float expect[6] = {0, 0, 7, 8, 6, 8}; /* row 2: steps 0 and 2 */
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(dE[i], expect[i]);
    sn_model_free(m);
}
END_TEST

START_TEST(test_embedding_bad_id)
{
    int32_t bad_ids[2][3] = {{1, 7, 2}, {1, -1, 2}};
    for (int c = 0; c < 2; c++) {
        sn_model_t *m = tk_new_model(1);
        ck_assert_int_ge(sn_apply(m, sn_embedding(7, 2, NULL),
                                  sn_input_tokens(m, 3)), 0);
        const void *in[1] = {bad_ids[c]};
        sn_clear_error();
        ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0),
                         SN_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(sn_last_error(), "embedding"));
        ck_assert_ptr_nonnull(strstr(sn_last_error(), "step 1"));
        sn_model_free(m);
    }
}
END_TEST

/* ------------------------------------------------------------- pooling */

/* Embedding(mask_zero) with set rows, then a pooling layer. */
static sn_model_t *masked_pool_model(sn_layer_t *pool, const float *rows,
                                     int v, int d, int t)
{
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    o.mask_zero = 1;
    sn_model_t *m = tk_new_model(8);
    int e = sn_apply(m, sn_embedding(v, d, &o), sn_input_tokens(m, t));
    ck_assert_int_ge(sn_apply(m, pool, e), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t n;
    float *ew = tk_weight(m, "embedding/embeddings", &n);
    ck_assert_uint_eq(n, (size_t)v * d);
    memcpy(ew, rows, n * sizeof(float));
    return m;
}

/* Row 0 (padding) holds the largest values: neither pool may see it. */
static const float pool_rows[4 * 2] = {100, 100, 1, -2, 3, 4, -5, 0.5f};

START_TEST(test_avg_pool_masked_values)
{
    sn_model_t *m = masked_pool_model(sn_global_average_pooling1d(),
                                      pool_rows, 4, 2, 4);
    int32_t ids[12] = {1, 2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
    const void *in[1] = {ids};
    ck_assert_int_eq(sn_model_forward(m, 3, in, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[1], 2);
    ck_assert_float_eq_tol(y[0], 2.0f, 1e-6f);  /* (1 + 3) / 2   */
    ck_assert_float_eq_tol(y[1], 1.0f, 1e-6f);  /* (-2 + 4) / 2  */
    ck_assert_float_eq_tol(y[2], -5.0f, 1e-6f); /* row 3 alone   */
    ck_assert_float_eq_tol(y[3], 0.5f, 1e-6f);
    ck_assert_float_eq(y[4], 0.0f); /* fully padded sample */
    ck_assert_float_eq(y[5], 0.0f);
    sn_model_free(m);
}
END_TEST

START_TEST(test_max_pool_masked_values)
{
    sn_model_t *m = masked_pool_model(sn_global_max_pooling1d(), pool_rows,
                                      4, 2, 4);
    int32_t ids[12] = {1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0};
    const void *in[1] = {ids};
    ck_assert_int_eq(sn_model_forward(m, 3, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    ck_assert_float_eq(y[0], 3.0f);
    ck_assert_float_eq(y[1], 4.0f);
    ck_assert_float_eq(y[2], -5.0f); /* only one real row: negatives win */
    ck_assert_float_eq(y[3], 0.5f);
    ck_assert_float_eq(y[4], 0.0f);
    ck_assert_float_eq(y[5], 0.0f);
    sn_model_free(m);
}
END_TEST

START_TEST(test_pool_unmasked_values)
{
    /* No mask: plain mean and max over time. */
    const float x[3 * 2] = {1, -1, 4, 2, -2, 8};
    for (int kind = 0; kind < 2; kind++) {
        sn_model_t *m = tk_new_model(1);
        sn_layer_t *p = kind ? sn_global_max_pooling1d()
                             : sn_global_average_pooling1d();
        ck_assert_int_ge(sn_apply(m, p, sn_input(m, 3, 2)), 0);
        const void *in[1] = {x};
        ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
        const float *y = sn_model_output(m, 0, NULL, 0, NULL);
        ck_assert_float_eq_tol(y[0], kind ? 4.0f : 1.0f, 1e-6f);
        ck_assert_float_eq_tol(y[1], kind ? 8.0f : 3.0f, 1e-6f);
        sn_model_free(m);
    }
}
END_TEST

/*
 * Tokens [T] -> Embedding(mask_zero) --+
 *                                      Add -> pooling      (mask = ids != 0)
 * Float x [T, D] ----------------------+
 * Lets the check see the pooling layer's input gradient through x.
 */
static void pool_grad_case(int max_pool, int masked)
{
    const int batch = 2, t = 5, d = 3, v = 4;
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    o.mask_zero = masked;
    sn_model_t *m = tk_new_model(12);
    int ids_in = sn_input_tokens(m, t);
    int x_in = sn_input(m, t, d);
    int e = sn_apply(m, sn_embedding(v, d, &o), ids_in);
    int pair[2] = {e, x_in}, sum;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), pair, 2, &sum, 1), 1);
    ck_assert_int_ge(sn_apply(m, max_pool ? sn_global_max_pooling1d()
                                          : sn_global_average_pooling1d(),
                              sum), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    /* Time steps of x are spread 0.3 apart per feature so that the
     * maximum never changes under a 1e-3 perturbation (embeddings add at
     * most 0.05 each way). */
    int32_t ids[10] = {1, 3, 0, 2, 0, 0, 0, 0, 0, 0}; /* sample 1 all pad */
    float x[2 * 5 * 3];
    uint32_t s = 77;
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < d; j++) {
            int perm[5] = {0, 1, 2, 3, 4};
            for (int i = 4; i > 0; i--) {
                int r = (int)(tk_lcg_next(&s) % (uint32_t)(i + 1));
                int tmp = perm[i];
                perm[i] = perm[r];
                perm[r] = tmp;
            }
            for (int k = 0; k < t; k++)
                x[(b * t + k) * d + j] = 0.3f * (float)perm[k] - 0.6f;
        }
    tk_grad_case g = {m, batch, 2, {ids, x}, {10, 30}, {0, 1}, 0, NULL};
    char what[64];
    snprintf(what, sizeof what, "%s pooling%s", max_pool ? "max" : "avg",
             masked ? " masked" : "");
    tk_expect_good_grads(tk_grad_check(&g, 51, &tk_grad_defaults), what);

    /* Recompute and inspect x's gradient on padded steps exactly. */
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    const void *in[2] = {ids, x};
    ck_assert_int_eq(sn_model_forward(m, batch, in, NULL, 0), SN_OK);
    float w[6] = {1, 2, 3, -1, -2, -3};
    const float *gr[1] = {w};
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    const float *dx = sn_model_input_grad(m, 1);
    ck_assert_ptr_nonnull(dx);
    for (int b = 0; b < batch; b++)
        for (int k = 0; k < t; k++) {
            int pad = masked && ids[b * t + k] == 0;
            double row = 0.0;
            for (int j = 0; j < d; j++)
                row += fabs(dx[(b * t + k) * d + j]);
            if (pad)
                ck_assert_msg(row == 0.0, "%s: padded step %d,%d got grad",
                              what, b, k);
            else if (!max_pool)
                ck_assert_msg(row > 0.0, "%s: real step %d,%d got none",
                              what, b, k);
        }
    sn_model_free(m);
}

START_TEST(test_avg_pool_grad)
{
    pool_grad_case(0, 0);
}
END_TEST

START_TEST(test_avg_pool_masked_grad)
{
    pool_grad_case(0, 1);
}
END_TEST

START_TEST(test_max_pool_grad)
{
    pool_grad_case(1, 0);
}
END_TEST

START_TEST(test_max_pool_masked_grad)
{
    pool_grad_case(1, 1);
}
END_TEST

/* --------------------------------------------------------------- merge */

START_TEST(test_add_grad_and_values)
{
    const int batch = 2, t = 3, f = 2;
    sn_model_t *m = tk_new_model(9);
    int ins[3] = {sn_input(m, t, f), sn_input(m, t, f), sn_input(m, t, f)};
    int out;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), ins, 3, &out, 1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float a[12], b[12], c[12];
    tk_fill(a, 12, 1, -1, 1);
    tk_fill(b, 12, 2, -1, 1);
    tk_fill(c, 12, 3, -1, 1);
    const void *in[3] = {a, b, c};
    ck_assert_int_eq(sn_model_forward(m, batch, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(y[i], a[i] + b[i] + c[i], 1e-6f);
    tk_grad_case g = {m, batch, 3, {a, b, c}, {12, 12, 12}, {1, 1, 1},
                      0, NULL};
    tk_expect_good_grads(tk_grad_check(&g, 61, &tk_grad_defaults), "add");
    sn_model_free(m);
}
END_TEST

/* Concatenate [T, 3] with [T, 2] (axis -1 or 2) or [4, 3] with [2, 3]
 * (axis 1, time). */
static void concat_case(int axis)
{
    const int batch = 2;
    int time_axis = axis == 1;
    int t0 = 4, t1 = time_axis ? 2 : 4, f0 = 3, f1 = time_axis ? 3 : 2;
    sn_model_t *m = tk_new_model(10);
    int ins[2] = {sn_input(m, t0, f0), sn_input(m, t1, f1)};
    int out;
    ck_assert_int_eq(sn_apply_n(m, sn_concatenate(axis), ins, 2, &out, 1), 1);
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_tensor_shape(m, out, dims, SN_MAX_RANK, NULL), 2);
    ck_assert_int_eq(dims[0], time_axis ? t0 + t1 : t0);
    ck_assert_int_eq(dims[1], time_axis ? f0 : f0 + f1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t n0 = (size_t)batch * t0 * f0, n1 = (size_t)batch * t1 * f1;
    float *a = malloc(n0 * sizeof *a), *b = malloc(n1 * sizeof *b);
    tk_fill(a, n0, 4, -1, 1);
    tk_fill(b, n1, 5, -1, 1);
    const void *in[2] = {a, b};
    ck_assert_int_eq(sn_model_forward(m, batch, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    /* Hand layout check. */
    for (int s = 0; s < batch; s++) {
        if (time_axis) {
            const float *ys = y + (size_t)s * (t0 + t1) * f0;
            ck_assert_float_eq(ys[0], a[(size_t)s * t0 * f0]);
            ck_assert_float_eq(ys[t0 * f0], b[(size_t)s * t1 * f1]);
            ck_assert_float_eq(ys[(t0 + t1) * f0 - 1],
                               b[(size_t)(s + 1) * t1 * f1 - 1]);
        } else {
            for (int k = 0; k < t0; k++) {
                const float *yr = y + ((size_t)s * t0 + k) * (f0 + f1);
                for (int j = 0; j < f0; j++)
                    ck_assert_float_eq(yr[j], a[((size_t)s * t0 + k) * f0 + j]);
                for (int j = 0; j < f1; j++)
                    ck_assert_float_eq(yr[f0 + j],
                                       b[((size_t)s * t1 + k) * f1 + j]);
            }
        }
    }
    tk_grad_case g = {m, batch, 2, {a, b}, {n0, n1}, {1, 1}, 0, NULL};
    char what[48];
    snprintf(what, sizeof what, "concatenate axis %d", axis);
    tk_expect_good_grads(tk_grad_check(&g, 71, &tk_grad_defaults), what);
    free(a);
    free(b);
    sn_model_free(m);
}

START_TEST(test_concat_last_axis)
{
    concat_case(-1);
    concat_case(2);
}
END_TEST

START_TEST(test_concat_time_axis)
{
    concat_case(1);
}
END_TEST

/* Masked tokens concatenated in time with an unmasked float sequence: the
 * float part counts as all real in the masked mean. */
START_TEST(test_concat_time_mask)
{
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    o.mask_zero = 1;
    sn_model_t *m = tk_new_model(3);
    int ids_in = sn_input_tokens(m, 3);
    int x_in = sn_input(m, 2, 1);
    int e = sn_apply(m, sn_embedding(3, 1, &o), ids_in);
    int pair[2] = {e, x_in}, cat;
    ck_assert_int_eq(sn_apply_n(m, sn_concatenate(1), pair, 2, &cat, 1), 1);
    ck_assert_int_ge(sn_apply(m, sn_global_average_pooling1d(), cat), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float *ew = tk_weight(m, "embedding/embeddings", NULL);
    ew[0] = 1000.0f; /* padding: must not count */
    ew[1] = 1.0f;
    ew[2] = 2.0f;
    int32_t ids[3] = {1, 2, 0};
    float x[2] = {3.0f, 6.0f};
    const void *in[2] = {ids, x};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    ck_assert_float_eq_tol(y[0], (1.0f + 2.0f + 3.0f + 6.0f) / 4.0f, 1e-5f);
    sn_model_free(m);
}
END_TEST

/* Add ANDs masks: a step padded in either input is left out. */
START_TEST(test_add_mask_and)
{
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    o.mask_zero = 1;
    sn_model_t *m = tk_new_model(3);
    int i0 = sn_input_tokens(m, 3), i1 = sn_input_tokens(m, 3);
    int e0 = sn_apply(m, sn_embedding(3, 1, &o), i0);
    int e1 = sn_apply(m, sn_embedding(3, 1, &o), i1);
    int pair[2] = {e0, e1}, sum;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), pair, 2, &sum, 1), 1);
    ck_assert_int_ge(sn_apply(m, sn_global_average_pooling1d(), sum), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float *w0 = tk_weight(m, "embedding/embeddings", NULL);
    float *w1 = tk_weight(m, "embedding_1/embeddings", NULL);
    const float rows[3] = {100.0f, 1.0f, 2.0f};
    memcpy(w0, rows, sizeof rows);
    memcpy(w1, rows, sizeof rows);
    int32_t a[3] = {1, 0, 2}, b[3] = {1, 2, 0};
    const void *in[2] = {a, b};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    ck_assert_float_eq_tol(y[0], 2.0f, 1e-5f); /* only step 0: 1 + 1 */
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- dropout */

START_TEST(test_dropout_training)
{
    const int batch = 3, t = 4, f = 5, n = 60;
    const float rate = 0.4f;
    sn_model_t *m = tk_new_model(21);
    ck_assert_int_ge(sn_apply(m, sn_dropout(rate), sn_input(m, t, f)), 0);
    float x[60], w[60];
    fill_away_from_zero(x, n, 3, 0.1f, 1.0f);
    tk_fill(w, n, 4, -1, 1);
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, batch, in, NULL, 1), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    const float *gr[1] = {w};
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    const float *dx = sn_model_input_grad(m, 0);
    ck_assert_ptr_nonnull(dx);
    int dropped = 0;
    for (int i = 0; i < n; i++) {
        if (y[i] == 0.0f) {
            dropped++;
            ck_assert_float_eq(dx[i], 0.0f);
        } else {
            ck_assert_float_eq_tol(y[i], x[i] / (1.0f - rate), 1e-6f);
            ck_assert_float_eq_tol(dx[i], w[i] / (1.0f - rate), 1e-6f);
        }
    }
    /* 60 draws at p = 0.4: all kept or all dropped is ~1e-13 likely. */
    ck_assert_int_gt(dropped, 0);
    ck_assert_int_lt(dropped, n);

    /* Same seed, same first mask; another seed, another mask. */
    float first[60];
    memcpy(first, y, sizeof first);
    sn_model_t *same = tk_new_model(21), *other = tk_new_model(22);
    ck_assert_int_ge(sn_apply(same, sn_dropout(rate), sn_input(same, t, f)),
                     0);
    ck_assert_int_ge(
        sn_apply(other, sn_dropout(rate), sn_input(other, t, f)), 0);
    ck_assert_int_eq(sn_model_forward(same, batch, in, NULL, 1), SN_OK);
    ck_assert_int_eq(sn_model_forward(other, batch, in, NULL, 1), SN_OK);
    ck_assert_mem_eq(sn_model_output(same, 0, NULL, 0, NULL), first,
                     sizeof first);
    ck_assert_int_ne(memcmp(sn_model_output(other, 0, NULL, 0, NULL), first,
                            sizeof first), 0);
    sn_model_free(same);
    sn_model_free(other);
    sn_model_free(m);
}
END_TEST

START_TEST(test_dropout_inference_identity)
{
    sn_model_t *m = tk_new_model(21);
    ck_assert_int_ge(sn_apply(m, sn_dropout(0.5f), sn_input(m, 2, 3)), 0);
    float x[12], w[12];
    tk_fill(x, 12, 5, -1, 1);
    tk_fill(w, 12, 6, -1, 1);
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 0), SN_OK);
    ck_assert_mem_eq(sn_model_output(m, 0, NULL, 0, NULL), x, sizeof x);
    const float *gr[1] = {w};
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    ck_assert_mem_eq(sn_model_input_grad(m, 0), w, sizeof w);
    sn_model_free(m);
}
END_TEST

/* After a training forward, an inference forward must not apply the old
 * mask in backward. */
START_TEST(test_dropout_train_then_infer)
{
    sn_model_t *m = tk_new_model(5);
    ck_assert_int_ge(sn_apply(m, sn_dropout(0.5f), sn_input(m, 2, 3)), 0);
    float x[12], w[12];
    tk_fill(x, 12, 5, 0.5f, 1);
    tk_fill(w, 12, 6, 0.5f, 1);
    const void *in[1] = {x};
    const float *gr[1] = {w};
    ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 1), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    ck_assert_mem_eq(sn_model_input_grad(m, 0), w, sizeof w);
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------------- bad input */

START_TEST(test_constructor_args)
{
    sn_clear_error();
    tk_expect_null_with(sn_dense(0, SN_LINEAR, NULL), "sn_dense");
    sn_clear_error();
    tk_expect_null_with(sn_dense(-3, SN_LINEAR, NULL), "sn_dense");
    sn_clear_error();
    tk_expect_null_with(sn_dense(3, (sn_activation)42, NULL), "sn_dense");
    sn_dense_opts bad_size = SN_DENSE_OPTS_INIT;
    bad_size.size = 1;
    sn_clear_error();
    tk_expect_null_with(sn_dense(3, SN_LINEAR, &bad_size), "sn_dense");
    sn_dense_opts bad_init = SN_DENSE_OPTS_INIT;
    bad_init.kernel_initializer = (sn_initializer)99;
    sn_clear_error();
    tk_expect_null_with(sn_dense(3, SN_LINEAR, &bad_init), "sn_dense");
    sn_clear_error();
    tk_expect_null_with(sn_embedding(0, 3, NULL), "sn_embedding");
    sn_clear_error();
    tk_expect_null_with(sn_embedding(3, 0, NULL), "sn_embedding");
    sn_clear_error();
    tk_expect_null_with(sn_dropout(1.0f), "sn_dropout");
    sn_clear_error();
    tk_expect_null_with(sn_dropout(-0.1f), "sn_dropout");
    sn_clear_error();
    tk_expect_null_with(sn_dropout(NAN), "sn_dropout");
    sn_clear_error();
    tk_expect_null_with(sn_activation_layer((sn_activation)-1),
                        "sn_activation_layer");
    sn_clear_error();
    tk_expect_null_with(sn_concatenate(0), "sn_concatenate");
    sn_clear_error();
    tk_expect_null_with(sn_concatenate(-2), "sn_concatenate");

    /* The good ones work and carry Keras type names. */
    const struct {
        sn_layer_t *l;
        const char *type;
    } good[] = {
        {sn_dense(1, SN_LINEAR, NULL), "Dense"},
        {sn_embedding(2, 2, NULL), "Embedding"},
        {sn_dropout(0.0f), "Dropout"},
        {sn_activation_layer(SN_TANH), "Activation"},
        {sn_add(), "Add"},
        {sn_concatenate(-1), "Concatenate"},
        {sn_global_average_pooling1d(), "GlobalAveragePooling1D"},
        {sn_global_max_pooling1d(), "GlobalMaxPooling1D"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_ptr_nonnull(good[i].l);
        ck_assert_str_eq(sn_layer_type(good[i].l), good[i].type);
        sn_layer_free(good[i].l);
    }
}
END_TEST

/* Applies layer to inputs and expects SN_ERR_SHAPE with a message. */
static void expect_shape_error(sn_model_t *m, sn_layer_t *l, const int *ins,
                               int n, const char *word)
{
    int out;
    sn_clear_error();
    int r = n == 1 ? sn_apply(m, l, ins[0]) : sn_apply_n(m, l, ins, n, &out, 1);
    ck_assert_int_eq(r, SN_ERR_SHAPE);
    tk_expect_error_mentions(word);
}

START_TEST(test_shape_errors)
{
    sn_model_t *m = tk_new_model(1);
    int tok = sn_input_tokens(m, 5);
    int flat = sn_input(m, SN_NO_TIME, 4);
    int a = sn_input(m, 5, 3), b = sn_input(m, 5, 4), c = sn_input(m, 4, 3);
    expect_shape_error(m, sn_dense(3, SN_LINEAR, NULL), &tok, 1, "dense");
    expect_shape_error(m, sn_global_average_pooling1d(), &flat, 1,
                       "global_average_pooling1d");
    expect_shape_error(m, sn_global_max_pooling1d(), &flat, 1, "rank 2");
    expect_shape_error(m, sn_embedding(4, 2, NULL), &a, 1, "embedding");
    int ab[2] = {a, b}, ac[2] = {a, c}, af[2] = {a, flat};
    expect_shape_error(m, sn_add(), ab, 2, "(None, 5, 4)");
    expect_shape_error(m, sn_concatenate(-1), ac, 2, "(None, 4, 3)");
    expect_shape_error(m, sn_concatenate(2), ac, 2, "concatenate");
    expect_shape_error(m, sn_concatenate(1), ab, 2, "concatenate");
    expect_shape_error(m, sn_concatenate(3), ab, 2, "axis 3");
    expect_shape_error(m, sn_concatenate(-1), af, 2, "rank");
    /* Still usable: a good layer applies after the failures. */
    int out;
    ck_assert_int_eq(sn_apply_n(m, sn_concatenate(1), ac, 2, &out, 1), 1);
    ck_assert_int_ge(out, 0);
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc;

    tc = tcase_create("dense");
    tcase_add_loop_test(tc, test_dense_grad_rank1, 0, 5);
    tcase_add_loop_test(tc, test_dense_grad_rank2, 0, 5);
    tcase_add_test(tc, test_dense_no_bias_grad);
    tcase_add_test(tc, test_dense_forward_values);
    tcase_add_test(tc, test_dense_relu_sigmoid_values);
    tcase_add_test(tc, test_softmax_rows_sum_to_one);
    suite_add_tcase(s, tc);

    tc = tcase_create("activation");
    tcase_add_loop_test(tc, test_activation_layer_grad, 0, 5);
    tcase_add_test(tc, test_activation_layer_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("embedding");
    tcase_add_test(tc, test_embedding_grad);
    tcase_add_test(tc, test_embedding_forward_gathers_rows);
    tcase_add_test(tc, test_embedding_mask_zero_grad);
    tcase_add_test(tc, test_embedding_mask_zero_padded_rows_no_grad);
    tcase_add_test(tc, test_embedding_bad_id);
    suite_add_tcase(s, tc);

    tc = tcase_create("pooling");
    tcase_add_test(tc, test_avg_pool_masked_values);
    tcase_add_test(tc, test_max_pool_masked_values);
    tcase_add_test(tc, test_pool_unmasked_values);
    tcase_add_test(tc, test_avg_pool_grad);
    tcase_add_test(tc, test_avg_pool_masked_grad);
    tcase_add_test(tc, test_max_pool_grad);
    tcase_add_test(tc, test_max_pool_masked_grad);
    suite_add_tcase(s, tc);

    tc = tcase_create("merge");
    tcase_add_test(tc, test_add_grad_and_values);
    tcase_add_test(tc, test_concat_last_axis);
    tcase_add_test(tc, test_concat_time_axis);
    tcase_add_test(tc, test_concat_time_mask);
    tcase_add_test(tc, test_add_mask_and);
    suite_add_tcase(s, tc);

    tc = tcase_create("dropout");
    tcase_add_test(tc, test_dropout_training);
    tcase_add_test(tc, test_dropout_inference_identity);
    tcase_add_test(tc, test_dropout_train_then_infer);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, test_constructor_args);
    tcase_add_test(tc, test_shape_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(layers_suite());
}
