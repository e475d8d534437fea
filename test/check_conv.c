/*
 * check_conv.c - Conv1D, MaxPooling1D and AveragePooling1D through the
 * public API: hand-computed outputs for every padding mode, strides and
 * dilation; causality; finite-difference gradients; argument and shape
 * validation; save/load round trips.
 *
 * Gradient checks (test/support/gradcheck.c) use L = sum_i w_i * y_i with
 * fixed pseudo-random w, so dL/dy = w is what sn_model_backward receives,
 * and compare analytic weight/input gradients with central differences.
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

static sn_conv1d_opts conv_opts(int strides, sn_padding pad, int dilation,
                                sn_activation act)
{
    sn_conv1d_opts o = SN_CONV1D_OPTS_INIT;
    o.strides = strides;
    o.padding = pad;
    o.dilation_rate = dilation;
    o.activation = act;
    return o;
}

/* ------------------------------------------------- conv forward values */

/* Conv1D(1 filter, kernel [1,2,3] or given taps) on x = 1..T, one channel,
 * bias 0; returns the output length and copies y. */
static int conv_1ch(int t, const float *taps, int k, sn_conv1d_opts o,
                    float *y, int max_y)
{
    sn_model_t *m = tk_new_model(1);
    int out = sn_apply(m, sn_conv1d(1, k, &o), sn_input(m, t, 1));
    ck_assert_msg(out >= 0, "apply: %s", sn_last_error());
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t nk;
    float *kern = tk_weight(m, "conv1d/kernel", &nk);
    ck_assert_uint_eq(nk, (size_t)k);
    memcpy(kern, taps, (size_t)k * sizeof(float));
    float x[16];
    for (int i = 0; i < t; i++)
        x[i] = (float)(i + 1);
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *yy = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(dims[2], 1);
    ck_assert_int_le(dims[1], max_y);
    memcpy(y, yy, (size_t)dims[1] * sizeof(float));
    int t_out = dims[1];
    sn_model_free(m);
    return t_out;
}

static void expect_conv(int t, const float *taps, int k, int strides,
                        sn_padding pad, int dilation, const float *want,
                        int n_want)
{
    float y[16];
    int n = conv_1ch(t, taps, k, conv_opts(strides, pad, dilation, SN_LINEAR),
                     y, 16);
    ck_assert_msg(n == n_want, "T=%d k=%d s=%d pad=%d d=%d: T_out %d, want %d",
                  t, k, strides, (int)pad, dilation, n, n_want);
    for (int i = 0; i < n; i++)
        ck_assert_msg(y[i] == want[i],
                      "T=%d k=%d s=%d pad=%d d=%d: y[%d] = %g, want %g", t, k,
                      strides, (int)pad, dilation, i, y[i], want[i]);
}

START_TEST(test_conv_hand_values)
{
    const float k3[3] = {1, 2, 3}, k2[2] = {1, 2};
    /* x = 1..5, y[t] = sum_j x[t*s + j*d - left] * k[j] (0 off the ends). */
    const float valid[3] = {14, 20, 26};
    expect_conv(5, k3, 3, 1, SN_PAD_VALID, 1, valid, 3);
    /* same: pad 2 split 1 | 1. */
    const float same[5] = {8, 14, 20, 26, 14};
    expect_conv(5, k3, 3, 1, SN_PAD_SAME, 1, same, 5);
    /* same with odd total: pad 1 goes to the right (TF split). */
    const float same_odd[4] = {5, 8, 11, 4};
    expect_conv(4, k2, 2, 1, SN_PAD_SAME, 1, same_odd, 4);
    /* causal: 2 zeros on the left. */
    const float causal[5] = {3, 8, 14, 20, 26};
    expect_conv(5, k3, 3, 1, SN_PAD_CAUSAL, 1, causal, 5);
    /* strides 2. */
    const float valid_s2[2] = {14, 26};
    expect_conv(5, k3, 3, 2, SN_PAD_VALID, 1, valid_s2, 2);
    const float same_s2[3] = {8, 20, 14};
    expect_conv(5, k3, 3, 2, SN_PAD_SAME, 1, same_s2, 3);
    const float causal_s2[3] = {3, 14, 26};
    expect_conv(5, k3, 3, 2, SN_PAD_CAUSAL, 1, causal_s2, 3);
    /* dilation 2: taps at t, t+2, t+4. */
    const float valid_d2[2] = {22, 28};
    expect_conv(6, k3, 3, 1, SN_PAD_VALID, 2, valid_d2, 2);
    const float same_d2[5] = {11, 16, 22, 10, 13};
    expect_conv(5, k3, 3, 1, SN_PAD_SAME, 2, same_d2, 5);
    const float causal_d2[5] = {3, 6, 11, 16, 22};
    expect_conv(5, k3, 3, 1, SN_PAD_CAUSAL, 2, causal_d2, 5);
}
END_TEST

/* Kernel layout [k, in, filters] and the bias, two channels, two filters. */
START_TEST(test_conv_kernel_layout)
{
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, sn_conv1d(2, 2, NULL), sn_input(m, 2, 2)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int dims[SN_MAX_RANK];
    int ki = sn_model_find_weight(m, "conv1d/kernel");
    ck_assert_int_eq(sn_model_weight_info(m, ki, NULL, dims, SN_MAX_RANK, NULL), 3);
    ck_assert_int_eq(dims[0], 2);
    ck_assert_int_eq(dims[1], 2);
    ck_assert_int_eq(dims[2], 2);
    size_t nk, nb;
    float *k = tk_weight(m, "conv1d/kernel", &nk);
    float *b = tk_weight(m, "conv1d/bias", &nb);
    const float kv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(k, kv, sizeof kv);
    b[0] = 0.5f;
    b[1] = -1.0f;
    const float x[4] = {1, 2, 3, 4}; /* [T=2, C=2] */
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    /* y[f] = sum_{j,c} x[j,c] K[j,c,f] + b[f] */
    ck_assert_float_eq(y[0], 1 * 1 + 2 * 3 + 3 * 5 + 4 * 7 + 0.5f);
    ck_assert_float_eq(y[1], 1 * 2 + 2 * 4 + 3 * 6 + 4 * 8 - 1.0f);
    sn_model_free(m);
}
END_TEST

/* Unknown lengths stay -1 in the graph and become concrete per call. */
START_TEST(test_conv_any_time)
{
    sn_model_t *m = tk_new_model(3);
    sn_conv1d_opts o = conv_opts(2, SN_PAD_VALID, 1, SN_LINEAR);
    int x = sn_input(m, SN_ANY_TIME, 2);
    int c = sn_apply(m, sn_conv1d(3, 3, &o), x);
    int p = sn_apply(m, sn_max_pooling1d(2, 0, SN_PAD_SAME), c);
    ck_assert_int_ge(p, 0);
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_tensor_shape(m, c, dims, SN_MAX_RANK, NULL), 2);
    ck_assert_int_eq(dims[0], -1);
    ck_assert_int_eq(dims[1], 3);
    ck_assert_int_eq(sn_model_tensor_shape(m, p, dims, SN_MAX_RANK, NULL), 2);
    ck_assert_int_eq(dims[0], -1);
    float in[2 * 9 * 2];
    tk_fill(in, 36, 4, -1.0f, 1.0f);
    const void *ins[1] = {in};
    int ts = 9; /* conv: (9-3)/2+1 = 4, pool same: ceil(4/2) = 2 */
    ck_assert_int_eq(sn_model_forward(m, 2, ins, &ts, 0), SN_OK);
    int od[SN_MAX_RANK + 1], rank;
    ck_assert_ptr_nonnull(sn_model_output(m, 0, od, SN_MAX_RANK + 1, &rank));
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(od[1], 2);
    ts = 2; /* too short for a valid kernel of 3 */
    sn_clear_error();
    ck_assert_int_eq(sn_model_forward(m, 2, ins, &ts, 0), SN_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "conv1d"));
    sn_model_free(m);
}
END_TEST

/* ----------------------------------------------------------- causality */

/* Changing input step t leaves outputs at steps < t bit-identical. */
static void check_causal(sn_model_t *m, int t_len, int feat, int f_out)
{
    const int batch = 2;
    size_t n_in = (size_t)batch * t_len * feat;
    size_t n_out = (size_t)batch * t_len * f_out;
    float *x = malloc(n_in * sizeof *x), *y0 = malloc(n_out * sizeof *y0);
    float *y1 = malloc(n_out * sizeof *y1);
    tk_fill(x, n_in, 17, -1.0f, 1.0f);
    const void *in[1] = {x};
    float *outs[1] = {y0};
    ck_assert_int_eq(sn_model_predict(m, batch, in, NULL, outs), SN_OK);
    for (int t = 0; t < t_len; t++) {
        float saved[8];
        memcpy(saved, x + (size_t)t * feat, (size_t)feat * sizeof(float));
        for (int c = 0; c < feat; c++)
            x[(size_t)t * feat + c] += 0.75f; /* sample 0 only */
        outs[0] = y1;
        ck_assert_int_eq(sn_model_predict(m, batch, in, NULL, outs), SN_OK);
        size_t before = (size_t)t * f_out;
        ck_assert_msg(memcmp(y0, y1, before * sizeof(float)) == 0,
                      "changing step %d changed an earlier output", t);
        int changed = 0;
        for (int c = 0; c < f_out; c++)
            changed |= y0[before + c] != y1[before + c];
        ck_assert_msg(changed, "changing step %d left output %d alone", t, t);
        /* Sample 1 is untouched entirely. */
        size_t per = (size_t)t_len * f_out;
        ck_assert(memcmp(y0 + per, y1 + per, per * sizeof(float)) == 0);
        memcpy(x + (size_t)t * feat, saved, (size_t)feat * sizeof(float));
    }
    free(x);
    free(y0);
    free(y1);
}

START_TEST(test_conv_causal_single)
{
    sn_model_t *m = tk_new_model(5);
    sn_conv1d_opts o = conv_opts(1, SN_PAD_CAUSAL, 1, SN_TANH);
    ck_assert_int_ge(sn_apply(m, sn_conv1d(3, 3, &o), sn_input(m, 10, 2)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    check_causal(m, 10, 2, 3);
    sn_model_free(m);
}
END_TEST

/* A WaveNet-style stack: dilations 1, 2, 4 keep causality. */
START_TEST(test_conv_causal_stack)
{
    sn_model_t *m = tk_new_model(6);
    int h = sn_input(m, 16, 2);
    const int dil[3] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        sn_conv1d_opts o = conv_opts(1, SN_PAD_CAUSAL, dil[i],
                                     i == 2 ? SN_LINEAR : SN_TANH);
        h = sn_apply(m, sn_conv1d(i == 2 ? 2 : 4, 2, &o), h);
    }
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    check_causal(m, 16, 2, 2);
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------- conv gradients */

typedef struct conv_case {
    int strides, dilation;
    sn_padding pad;
} conv_case;

static const conv_case conv_cases[] = {
    {1, 1, SN_PAD_VALID}, {1, 1, SN_PAD_SAME}, {1, 1, SN_PAD_CAUSAL},
    {2, 1, SN_PAD_VALID}, {2, 1, SN_PAD_SAME}, {2, 1, SN_PAD_CAUSAL},
    {1, 2, SN_PAD_VALID}, {1, 2, SN_PAD_SAME}, {1, 2, SN_PAD_CAUSAL},
};
enum { N_CONV_CASES = sizeof conv_cases / sizeof conv_cases[0] };

/* Conv1D(3 filters, k=3, case, act) on [7, 2], batch 2; _i picks the case
 * and the activation (relu, tanh). */
static void conv_grad_case(int i, sn_activation act, int any_time)
{
    const conv_case *cc = &conv_cases[i];
    const int batch = 2, t = 7, feat = 2;
    sn_model_t *m = tk_new_model(11);
    sn_conv1d_opts o = conv_opts(cc->strides, cc->pad, cc->dilation, act);
    int y = sn_apply(m, sn_conv1d(3, 3, &o),
                     sn_input(m, any_time ? SN_ANY_TIME : t, feat));
    ck_assert_msg(y >= 0, "apply: %s", sn_last_error());
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t nk, nb, n_x = (size_t)batch * t * feat;
    float *k = tk_weight(m, "conv1d/kernel", &nk);
    float *b = tk_weight(m, "conv1d/bias", &nb);
    float x[2 * 7 * 2];
    tk_fill(x, n_x, 5, -1.0f, 1.0f);
    if (act == SN_RELU) {
        /* |sum| <= 6 * 1 * 0.1 < 1 = |b|: each pre-activation has the
         * bias's sign, far from the kink; alternate signs kill a unit. */
        tk_fill(k, nk, 3, -0.1f, 0.1f);
        for (size_t j = 0; j < nb; j++)
            b[j] = (j % 2) ? -1.0f : 1.0f;
    } else {
        tk_fill(k, nk, 3, -0.5f, 0.5f);
        tk_fill(b, nb, 7, -0.5f, 0.5f);
    }
    const int ts[1] = {any_time ? t : 0};
    tk_grad_case g = {m, batch, 1, {x}, {n_x}, {1}, 0, ts};
    char what[96];
    snprintf(what, sizeof what, "conv s%d d%d pad %d act %d%s", cc->strides,
             cc->dilation, (int)cc->pad, (int)act, any_time ? " any" : "");
    tk_expect_good_grads(tk_grad_check(&g, 99, &tk_grad_defaults), what);
    sn_model_free(m);
}

START_TEST(test_conv_grad_tanh)
{
    conv_grad_case(_i, SN_TANH, 0);
}
END_TEST

START_TEST(test_conv_grad_relu)
{
    conv_grad_case(_i, SN_RELU, 0);
}
END_TEST

START_TEST(test_conv_grad_linear_any_time)
{
    conv_grad_case(_i, SN_LINEAR, 1);
}
END_TEST

START_TEST(test_conv_grad_no_bias)
{
    sn_model_t *m = tk_new_model(2);
    sn_conv1d_opts o = conv_opts(1, SN_PAD_SAME, 1, SN_TANH);
    o.use_bias = 0;
    ck_assert_int_ge(sn_apply(m, sn_conv1d(2, 2, &o), sn_input(m, 5, 3)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(m), 1);
    float x[2 * 5 * 3];
    tk_fill(x, 30, 8, -1.0f, 1.0f);
    const int ts[1] = {0};
    tk_grad_case g = {m, 2, 1, {x}, {30}, {1}, 0, ts};
    tk_expect_good_grads(tk_grad_check(&g, 4, &tk_grad_defaults),
                         "conv no bias");
    sn_model_free(m);
}
END_TEST

/* Two stacked convs: the upper one's input gradient feeds the lower. */
START_TEST(test_conv_grad_stacked)
{
    sn_model_t *m = tk_new_model(9);
    sn_conv1d_opts o1 = conv_opts(1, SN_PAD_CAUSAL, 2, SN_TANH);
    sn_conv1d_opts o2 = conv_opts(2, SN_PAD_VALID, 1, SN_LINEAR);
    int h = sn_apply(m, sn_conv1d(3, 2, &o1), sn_input(m, 8, 2));
    h = sn_apply(m, sn_conv1d(2, 3, &o2), h);
    ck_assert_int_ge(h, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float x[2 * 8 * 2];
    tk_fill(x, 32, 12, -1.0f, 1.0f);
    const int ts[1] = {0};
    tk_grad_case g = {m, 2, 1, {x}, {32}, {1}, 0, ts};
    tk_expect_good_grads(tk_grad_check(&g, 6, &tk_grad_defaults),
                         "conv stacked");
    sn_model_free(m);
}
END_TEST

/* ----------------------------------------------------------- pooling */

typedef sn_layer_t *(*pool_ctor)(int, int, sn_padding);

/* Pooling on x (one sample, [t, c]); returns T_out and copies y. */
static int pool_run(pool_ctor make, int pool, int strides, sn_padding pad,
                    const float *x, int t, int c, float *y)
{
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, make(pool, strides, pad), sn_input(m, t, c)),
                     0);
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *yy = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_int_eq(dims[2], c);
    memcpy(y, yy, (size_t)dims[1] * c * sizeof(float));
    int t_out = dims[1];
    sn_model_free(m);
    return t_out;
}

static void expect_pool(pool_ctor make, int pool, int strides, sn_padding pad,
                        const float *want, int n_want)
{
    const float x[5] = {1, 3, 2, 5, 4};
    float y[8];
    int n = pool_run(make, pool, strides, pad, x, 5, 1, y);
    ck_assert_msg(n == n_want, "pool %d s %d pad %d: T_out %d, want %d", pool,
                  strides, (int)pad, n, n_want);
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabsf(y[i] - want[i]) < 1e-6f,
                      "pool %d s %d pad %d: y[%d] = %g, want %g", pool,
                      strides, (int)pad, i, y[i], want[i]);
}

START_TEST(test_pool_values)
{
    /* x = 1 3 2 5 4 */
    const float mx_v21[4] = {3, 3, 5, 5}, av_v21[4] = {2, 2.5f, 3.5f, 4.5f};
    expect_pool(sn_max_pooling1d, 2, 1, SN_PAD_VALID, mx_v21, 4);
    expect_pool(sn_average_pooling1d, 2, 1, SN_PAD_VALID, av_v21, 4);
    /* strides 0 = pool_size: windows {0,1}, {2,3}; step 4 is dropped. */
    const float mx_v20[2] = {3, 5}, av_v20[2] = {2, 3.5f};
    expect_pool(sn_max_pooling1d, 2, 0, SN_PAD_VALID, mx_v20, 2);
    expect_pool(sn_average_pooling1d, 2, 0, SN_PAD_VALID, av_v20, 2);
    const float mx_v32[2] = {3, 5}, av_v32[2] = {2, 11.0f / 3.0f};
    expect_pool(sn_max_pooling1d, 3, 2, SN_PAD_VALID, mx_v32, 2);
    expect_pool(sn_average_pooling1d, 3, 2, SN_PAD_VALID, av_v32, 2);
    /* same, pool 3 stride 2: pad 1 | 1, windows {0,1}, {1,2,3}, {3,4};
     * the average counts only real steps. */
    const float mx_s32[3] = {3, 5, 5}, av_s32[3] = {2, 10.0f / 3.0f, 4.5f};
    expect_pool(sn_max_pooling1d, 3, 2, SN_PAD_SAME, mx_s32, 3);
    expect_pool(sn_average_pooling1d, 3, 2, SN_PAD_SAME, av_s32, 3);
    /* same, pool 2 stride 1: pad 0 | 1, last window {4}. */
    const float mx_s21[5] = {3, 3, 5, 5, 4}, av_s21[5] = {2, 2.5f, 3.5f, 4.5f,
                                                          4};
    expect_pool(sn_max_pooling1d, 2, 1, SN_PAD_SAME, mx_s21, 5);
    expect_pool(sn_average_pooling1d, 2, 1, SN_PAD_SAME, av_s21, 5);
    /* Negative values: same-padding zeros must not win the maximum. */
    const float neg[3] = {-3, -1, -2};
    float y[4];
    ck_assert_int_eq(pool_run(sn_max_pooling1d, 2, 1, SN_PAD_SAME, neg, 3, 1,
                              y), 3);
    ck_assert_float_eq(y[0], -1.0f);
    ck_assert_float_eq(y[1], -1.0f);
    ck_assert_float_eq(y[2], -2.0f);
    /* Channels pool independently. */
    const float two[6] = {1, 6, 4, 5, 2, 9}; /* [3, 2] */
    ck_assert_int_eq(pool_run(sn_max_pooling1d, 3, 0, SN_PAD_VALID, two, 3, 2,
                              y), 1);
    ck_assert_float_eq(y[0], 4.0f);
    ck_assert_float_eq(y[1], 9.0f);
}
END_TEST

/* Ties send the whole gradient to the first maximum. */
START_TEST(test_max_pool_ties)
{
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, sn_max_pooling1d(3, 0, SN_PAD_VALID),
                              sn_input(m, 3, 1)), 0);
    const float x[3] = {1, 2, 2};
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    const float dy[1] = {1.5f};
    const float *g[1] = {dy};
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    const float *dx = sn_model_input_grad(m, 0);
    ck_assert_float_eq(dx[0], 0.0f);
    ck_assert_float_eq(dx[1], 1.5f);
    ck_assert_float_eq(dx[2], 0.0f);
    sn_model_free(m);
}
END_TEST

typedef struct pool_case {
    int pool, strides;
    sn_padding pad;
} pool_case;

static const pool_case pool_cases[] = {
    {3, 2, SN_PAD_VALID}, {2, 3, SN_PAD_VALID}, {3, 2, SN_PAD_SAME},
    {4, 1, SN_PAD_SAME},  {2, 0, SN_PAD_SAME},
};
enum { N_POOL_CASES = sizeof pool_cases / sizeof pool_cases[0] };

static void pool_grad_case(int i, pool_ctor make, const char *kind)
{
    const pool_case *pc = &pool_cases[i];
    const int batch = 2, t = 9, feat = 2;
    size_t n_x = (size_t)batch * t * feat;
    sn_model_t *m = tk_new_model(3);
    ck_assert_int_ge(sn_apply(m, make(pc->pool, pc->strides, pc->pad),
                              sn_input(m, t, feat)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    /* Distinct values 0.05 apart (a shuffled ramp): no ties, and eps
     * 1e-3 cannot reorder a window. */
    float x[2 * 9 * 2];
    for (size_t j = 0; j < n_x; j++)
        x[j] = 0.05f * (float)((j * 11) % n_x) - 0.9f;
    const int ts[1] = {0};
    tk_grad_case g = {m, batch, 1, {x}, {n_x}, {1}, 0, ts};
    char what[64];
    snprintf(what, sizeof what, "%s pool %d s %d pad %d", kind, pc->pool,
             pc->strides, (int)pc->pad);
    tk_expect_good_grads(tk_grad_check(&g, 21, &tk_grad_defaults), what);
    sn_model_free(m);
}

START_TEST(test_max_pool_grad)
{
    pool_grad_case(_i, sn_max_pooling1d, "max");
}
END_TEST

START_TEST(test_avg_pool_grad)
{
    pool_grad_case(_i, sn_average_pooling1d, "avg");
}
END_TEST

/* -------------------------------------------------------------- masks */

/* Embedding(mask_zero) -> conv -> GlobalAveragePooling1D: a length-keeping
 * conv passes the mask on (padded steps leave the mean), a length-changing
 * one drops it (all steps count). */
static float masked_mean(sn_padding pad, int kernel)
{
    sn_model_t *m = tk_new_model(4);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    eo.embeddings_initializer = SN_INIT_ONES;
    sn_conv1d_opts o = conv_opts(1, pad, 1, SN_LINEAR);
    o.kernel_initializer = SN_INIT_ONES;
    int h = sn_apply(m, sn_embedding(3, 1, &eo), sn_input_tokens(m, 4));
    h = sn_apply(m, sn_conv1d(1, kernel, &o), h);
    h = sn_apply(m, sn_global_average_pooling1d(), h);
    ck_assert_int_ge(h, 0);
    const int32_t ids[4] = {1, 2, 0, 0};
    const void *in[1] = {ids};
    float y;
    float *outs[1] = {&y};
    ck_assert_int_eq(sn_model_predict(m, 1, in, NULL, outs), SN_OK);
    sn_model_free(m);
    return y;
}

START_TEST(test_conv_mask)
{
    /* causal k=2 over embeddings 1 1 1 1: outputs 1 2 2 2; mask 1 1 0 0. */
    ck_assert_float_eq_tol(masked_mean(SN_PAD_CAUSAL, 2), 1.5f, 1e-6f);
    /* valid k=2: outputs 2 2 2 (3 steps, no mask) -> 2. */
    ck_assert_float_eq_tol(masked_mean(SN_PAD_VALID, 2), 2.0f, 1e-6f);
}
END_TEST

/* --------------------------------------------------------- validation */

START_TEST(test_bad_args)
{
    sn_conv1d_opts o = SN_CONV1D_OPTS_INIT;
    tk_expect_null_with(sn_conv1d(0, 3, NULL), "filters");
    tk_expect_null_with(sn_conv1d(2, 0, NULL), "kernel_size");
    o.strides = 0;
    tk_expect_null_with(sn_conv1d(2, 3, &o), "strides");
    o = (sn_conv1d_opts)SN_CONV1D_OPTS_INIT;
    o.dilation_rate = 0;
    tk_expect_null_with(sn_conv1d(2, 3, &o), "dilation_rate");
    o.dilation_rate = 2;
    o.strides = 2;
    tk_expect_null_with(sn_conv1d(2, 3, &o), "cannot be combined");
    o = (sn_conv1d_opts)SN_CONV1D_OPTS_INIT;
    o.padding = (sn_padding)7;
    tk_expect_null_with(sn_conv1d(2, 3, &o), "padding");
    o = (sn_conv1d_opts)SN_CONV1D_OPTS_INIT;
    o.activation = (sn_activation)42;
    tk_expect_null_with(sn_conv1d(2, 3, &o), "activation");
    o = (sn_conv1d_opts)SN_CONV1D_OPTS_INIT;
    o.kernel_initializer = (sn_initializer)99;
    tk_expect_null_with(sn_conv1d(2, 3, &o), "initializer");
    o = (sn_conv1d_opts)SN_CONV1D_OPTS_INIT;
    o.size = 1;
    tk_expect_null_with(sn_conv1d(2, 3, &o), "sn_conv1d");
    o = (sn_conv1d_opts)SN_CONV1D_OPTS_INIT;
    o.dilation_rate = 1 << 30;
    tk_expect_null_with(sn_conv1d(2, 5, &o), "too large");

    tk_expect_null_with(sn_max_pooling1d(0, 0, SN_PAD_VALID), "pool_size");
    tk_expect_null_with(sn_max_pooling1d(2, -1, SN_PAD_VALID), "strides");
    tk_expect_null_with(sn_max_pooling1d(2, 0, SN_PAD_CAUSAL), "causal");
    tk_expect_null_with(sn_average_pooling1d(2, 0, SN_PAD_CAUSAL), "causal");
    tk_expect_null_with(sn_average_pooling1d(2, 0, (sn_padding)5), "padding");

    const struct {
        sn_layer_t *l;
        const char *type;
    } good[] = {
        {sn_conv1d(1, 1, NULL), "Conv1D"},
        {sn_max_pooling1d(2, 0, SN_PAD_SAME), "MaxPooling1D"},
        {sn_average_pooling1d(2, 1, SN_PAD_VALID), "AveragePooling1D"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_ptr_nonnull(good[i].l);
        ck_assert_str_eq(sn_layer_type(good[i].l), good[i].type);
        sn_layer_free(good[i].l);
    }
}
END_TEST

static void expect_apply_shape_error(sn_model_t *m, sn_layer_t *l, int in,
                                     const char *word)
{
    sn_clear_error();
    ck_assert_int_eq(sn_apply(m, l, in), SN_ERR_SHAPE);
    tk_expect_error_mentions(word);
}

START_TEST(test_shape_errors)
{
    sn_model_t *m = tk_new_model(1);
    int short_in = sn_input(m, 2, 3), four = sn_input(m, 4, 3);
    int flat = sn_input(m, SN_NO_TIME, 3), tok = sn_input_tokens(m, 5);
    expect_apply_shape_error(m, sn_conv1d(2, 3, NULL), short_in, "conv1d");
    sn_conv1d_opts o = conv_opts(1, SN_PAD_VALID, 2, SN_LINEAR);
    expect_apply_shape_error(m, sn_conv1d(2, 3, &o), four, "dilation_rate 2");
    expect_apply_shape_error(m, sn_conv1d(2, 3, NULL), flat, "rank 2");
    expect_apply_shape_error(m, sn_conv1d(2, 3, NULL), tok, "float32");
    expect_apply_shape_error(m, sn_max_pooling1d(3, 0, SN_PAD_VALID),
                             short_in, "max_pooling1d");
    expect_apply_shape_error(m, sn_average_pooling1d(2, 0, SN_PAD_VALID),
                             flat, "rank 2");
    /* Same and causal padding fit any length. */
    o = conv_opts(1, SN_PAD_SAME, 1, SN_LINEAR);
    ck_assert_int_ge(sn_apply(m, sn_conv1d(2, 3, &o), short_in), 0);
    o.padding = SN_PAD_CAUSAL;
    ck_assert_int_ge(sn_apply(m, sn_conv1d(2, 3, &o), short_in), 0);
    ck_assert_int_ge(sn_apply(m, sn_max_pooling1d(3, 0, SN_PAD_SAME),
                              short_in), 0);
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------------- save/load */

START_TEST(test_save_load_round_trip)
{
    sn_model_t *m = tk_new_model(8);
    sn_conv1d_opts a = conv_opts(1, SN_PAD_SAME, 1, SN_RELU);
    sn_conv1d_opts b = conv_opts(1, SN_PAD_CAUSAL, 2, SN_TANH);
    b.use_bias = 0;
    b.kernel_initializer = SN_INIT_HE_NORMAL;
    sn_conv1d_opts c = conv_opts(2, SN_PAD_VALID, 1, SN_LINEAR);
    int h = sn_input(m, SN_ANY_TIME, 3);
    h = sn_apply(m, sn_conv1d(4, 3, &a), h);
    h = sn_apply(m, sn_max_pooling1d(2, 0, SN_PAD_VALID), h);
    h = sn_apply(m, sn_conv1d(3, 2, &b), h);
    h = sn_apply(m, sn_average_pooling1d(3, 2, SN_PAD_SAME), h);
    h = sn_apply(m, sn_conv1d(2, 2, &c), h);
    ck_assert_msg(h >= 0, "build graph: %s", sn_last_error());
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t nb;
    float *bias = tk_weight(m, "conv1d/bias", &nb);
    tk_fill(bias, nb, 2, -0.3f, 0.3f);

    void *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &buf, &len), SN_OK);
    sn_model_t *l = NULL;
    sn_status st = sn_model_load_buffer(buf, len, &l);
    ck_assert_msg(st == SN_OK, "load: %s", sn_last_error());
    sn_free(buf);
    ck_assert_int_eq(sn_model_num_layers(l), sn_model_num_layers(m));
    for (int i = 0; i < sn_model_num_layers(m); i++) {
        ck_assert_str_eq(sn_layer_type(sn_model_layer(l, i)),
                         sn_layer_type(sn_model_layer(m, i)));
        ck_assert_str_eq(sn_layer_name(sn_model_layer(l, i)),
                         sn_layer_name(sn_model_layer(m, i)));
    }

    /* T = 20: 20 -> 20 -> 10 -> 10 -> 5 -> 2 steps of 2. */
    float x[3 * 20 * 3], y0[3 * 2 * 2], y1[3 * 2 * 2];
    tk_fill(x, sizeof x / sizeof *x, 13, -1.0f, 1.0f);
    const void *in[1] = {x};
    int ts = 20;
    float *o0[1] = {y0}, *o1[1] = {y1};
    ck_assert_int_eq(sn_model_predict(m, 3, in, &ts, o0), SN_OK);
    ck_assert_int_eq(sn_model_predict(l, 3, in, &ts, o1), SN_OK);
    ck_assert(memcmp(y0, y1, sizeof y0) == 0);
    int nz = 0;
    for (size_t i = 0; i < sizeof y0 / sizeof *y0; i++)
        nz += y0[i] != 0.0f;
    ck_assert_int_gt(nz, 0);
    sn_model_free(l);
    sn_model_free(m);
}
END_TEST

/* -------------------------------------------------------------- main */

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv1d");
    tcase_add_test(tc, test_conv_hand_values);
    tcase_add_test(tc, test_conv_kernel_layout);
    tcase_add_test(tc, test_conv_any_time);
    tcase_add_test(tc, test_conv_causal_single);
    tcase_add_test(tc, test_conv_causal_stack);
    tcase_add_test(tc, test_conv_mask);
    suite_add_tcase(s, tc);

    tc = tcase_create("conv1d_grad");
    tcase_add_loop_test(tc, test_conv_grad_tanh, 0, N_CONV_CASES);
    tcase_add_loop_test(tc, test_conv_grad_relu, 0, N_CONV_CASES);
    tcase_add_loop_test(tc, test_conv_grad_linear_any_time, 0, N_CONV_CASES);
    tcase_add_test(tc, test_conv_grad_no_bias);
    tcase_add_test(tc, test_conv_grad_stacked);
    suite_add_tcase(s, tc);

    tc = tcase_create("pooling1d");
    tcase_add_test(tc, test_pool_values);
    tcase_add_test(tc, test_max_pool_ties);
    tcase_add_loop_test(tc, test_max_pool_grad, 0, N_POOL_CASES);
    tcase_add_loop_test(tc, test_avg_pool_grad, 0, N_POOL_CASES);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, test_bad_args);
    tcase_add_test(tc, test_shape_errors);
    tcase_add_test(tc, test_save_load_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(conv_suite());
}
