/*
 * check_attention.c - sn_attention and sn_layer_normalization through the
 * public API: hand-computed values, masks (from Embedding mask_zero), the
 * causal mask, dropout, finite-difference gradients for every score kind
 * and way of applying the layer, a composed Transformer-style block,
 * argument and shape validation, and save/load.
 *
 * Gradient checks (test/support/gradcheck.c) use L = sum_k sum_i w_ki y_ki
 * over every model output with fixed pseudo-random w, compared with central
 * differences of L (accumulated in double) under perturbations of weights
 * and float inputs.
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

static void set_weight(sn_model_t *m, const char *name, const float *v,
                       size_t n)
{
    size_t cnt;
    float *p = tk_weight(m, name, &cnt);
    ck_assert_uint_eq(cnt, n);
    memcpy(p, v, n * sizeof(float));
}

/* Applies layer to n inputs, returns output 0 (and output 1 in *second). */
static int apply(sn_model_t *m, sn_layer_t *l, const int *in, int n,
                 int *second)
{
    int outs[2] = {-1, -1};
    int n_out = sn_apply_n(m, l, in, n, outs, 2);
    ck_assert_msg(n_out > 0, "apply failed: %s", sn_last_error());
    if (second != NULL)
        *second = outs[1];
    return outs[0];
}

/* ------------------------------------------------------ hand values */

static const char *score_names[4] = {"additive", "dot", "general",
                                     "scaled_dot"};

/* Keys = values K [3, 2] for one batch row. */
static const float k3[6] = {1, 0, 0, 1, 1, 1};

/* Softmax of s[3] and the context sum_j a_j K_j. */
static void expect_context(const float *y, const float *a, const double s[3])
{
    double e[3], sum = 0.0;
    double mx = fmax(s[0], fmax(s[1], s[2]));
    for (int j = 0; j < 3; j++)
        sum += e[j] = exp(s[j] - mx);
    double ctx[2] = {0, 0};
    for (int j = 0; j < 3; j++) {
        ck_assert_double_eq_tol(a[j], e[j] / sum, 1e-6);
        ctx[0] += e[j] / sum * k3[2 * j];
        ctx[1] += e[j] / sum * k3[2 * j + 1];
    }
    ck_assert_double_eq_tol(y[0], ctx[0], 1e-6);
    ck_assert_double_eq_tol(y[1], ctx[1], 1e-6);
}

/* Vector query q [2] against K: each score by hand. */
START_TEST(test_values_vector_query)
{
    sn_attention_score score = (sn_attention_score)_i;
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.return_attention_scores = 1;
    o.units = 1;
    sn_model_t *m = tk_new_model(1);
    int in[2] = {sn_input(m, SN_NO_TIME, 2), sn_input(m, 3, 2)};
    int a_id;
    int y_id = apply(m, sn_attention(score, &o), in, 2, &a_id);
    ck_assert_int_eq(sn_model_set_outputs(m, (int[]){y_id, a_id}, 2), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    const float q[2] = {0.5f, 0.3f};
    double s[3];
    if (score == SN_SCORE_ADDITIVE) {
        /* units 1: W1 picks k0, W2 picks q1, v = 2, bias 0.25:
         * s_j = 2 tanh(k_j0 + 0.3 + 0.25) */
        set_weight(m, "additive_attention/W1", (float[]){1, 0}, 2);
        set_weight(m, "additive_attention/W2", (float[]){0, 1}, 2);
        set_weight(m, "additive_attention/v", (float[]){2}, 1);
        set_weight(m, "additive_attention/bias", (float[]){0.25f}, 1);
        for (int j = 0; j < 3; j++)
            s[j] = 2.0 * tanh(k3[2 * j] + 0.55);
    } else {
        double qk[2] = {q[0], q[1]};
        if (score == SN_SCORE_GENERAL) {
            /* W = [[2, 0], [1, -1]]: q W = [2 q0 + q1, -q1] */
            set_weight(m, "attention/W", (float[]){2, 0, 1, -1}, 4);
            qk[0] = 2.0 * q[0] + q[1];
            qk[1] = -q[1];
        }
        double c = score == SN_SCORE_SCALED_DOT ? 1.0 / sqrt(2.0) : 1.0;
        for (int j = 0; j < 3; j++)
            s[j] = c * (qk[0] * k3[2 * j] + qk[1] * k3[2 * j + 1]);
    }
    const void *inputs[2] = {q, k3};
    ck_assert_int_eq(sn_model_forward(m, 1, inputs, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[1], 2);
    const float *a = sn_model_output(m, 1, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[1], 3);
    expect_context(y, a, s);
    sn_model_free(m);
}
END_TEST

/* Pooling: the learned query. */
START_TEST(test_values_pooling)
{
    sn_attention_score score = (sn_attention_score)_i;
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.return_attention_scores = 1;
    o.units = 1;
    sn_model_t *m = tk_new_model(1);
    int x = sn_input(m, 3, 2);
    int a_id;
    int y_id = apply(m, sn_attention(score, &o), &x, 1, &a_id);
    ck_assert_int_eq(sn_model_set_outputs(m, (int[]){y_id, a_id}, 2), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    double s[3];
    if (score == SN_SCORE_ADDITIVE) {
        ck_assert_int_eq(sn_model_num_weights(m), 3); /* query, W1, v */
        set_weight(m, "additive_attention/query", (float[]){-0.5f}, 1);
        set_weight(m, "additive_attention/W1", (float[]){1, 2}, 2);
        set_weight(m, "additive_attention/v", (float[]){1.5f}, 1);
        for (int j = 0; j < 3; j++)
            s[j] = 1.5 * tanh(k3[2 * j] + 2.0 * k3[2 * j + 1] - 0.5);
    } else {
        ck_assert_int_eq(sn_model_num_weights(m), 1); /* query */
        set_weight(m, "attention/query", (float[]){1.0f, -2.0f}, 2);
        double c = score == SN_SCORE_SCALED_DOT ? 1.0 / sqrt(2.0) : 1.0;
        for (int j = 0; j < 3; j++)
            s[j] = c * (k3[2 * j] - 2.0 * k3[2 * j + 1]);
    }
    const void *inputs[1] = {k3};
    ck_assert_int_eq(sn_model_forward(m, 1, inputs, NULL, 0), SN_OK);
    expect_context(sn_model_output(m, 0, NULL, 0, NULL),
                   sn_model_output(m, 1, NULL, 0, NULL), s);
    sn_model_free(m);
}
END_TEST

/* A sequence query: each query row on its own, as the vector case. */
START_TEST(test_values_sequence_query)
{
    sn_model_t *m = tk_new_model(1);
    int in[2] = {sn_input(m, 2, 2), sn_input(m, 3, 2)};
    int y_id = apply(m, sn_attention(SN_SCORE_DOT, NULL), in, 2, NULL);
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_tensor_shape(m, y_id, dims, SN_MAX_RANK, NULL), 2);
    ck_assert_int_eq(dims[0], 2);
    ck_assert_int_eq(dims[1], 2);
    const float q[4] = {1, 0, -1, 2};
    const void *inputs[2] = {q, k3};
    ck_assert_int_eq(sn_model_forward(m, 1, inputs, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    for (int i = 0; i < 2; i++) {
        double s[3];
        for (int j = 0; j < 3; j++)
            s[j] = q[2 * i] * k3[2 * j] + q[2 * i + 1] * k3[2 * j + 1];
        double e[3], sum = 0, c0 = 0, c1 = 0;
        for (int j = 0; j < 3; j++)
            sum += e[j] = exp(s[j]);
        for (int j = 0; j < 3; j++) {
            c0 += e[j] / sum * k3[2 * j];
            c1 += e[j] / sum * k3[2 * j + 1];
        }
        ck_assert_double_eq_tol(y[2 * i], c0, 1e-6);
        ck_assert_double_eq_tol(y[2 * i + 1], c1, 1e-6);
    }
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- masks */

/* Token rows: row 0 has its last key padded, row 1 two keys, row 2 none. */
static const int32_t mask_tokens[3 * 4] = {3, 1, 2, 0, 0, 2, 0, 4, 0, 0, 0, 0};

START_TEST(test_mask_weights)
{
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.return_attention_scores = 1;
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    sn_model_t *m = tk_new_model(4);
    int q = sn_input(m, SN_NO_TIME, 3);
    int v = sn_apply(m, sn_embedding(5, 3, &eo), sn_input_tokens(m, 4));
    int a_id;
    int y_id = apply(m, sn_attention((sn_attention_score)_i, &o),
                     (int[]){q, v}, 2, &a_id);
    ck_assert_int_eq(sn_model_set_outputs(m, (int[]){y_id, a_id}, 2), SN_OK);
    float qd[9];
    tk_fill(qd, 9, 3, -2.0f, 2.0f);
    const void *inputs[2] = {qd, mask_tokens};
    ck_assert_int_eq(sn_model_forward(m, 3, inputs, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    const float *a = sn_model_output(m, 1, NULL, 0, NULL);
    for (int b = 0; b < 3; b++) {
        double sum = 0.0;
        for (int j = 0; j < 4; j++) {
            float w = a[b * 4 + j];
            ck_assert(isfinite(w));
            if (mask_tokens[b * 4 + j] == 0)
                ck_assert_msg(w == 0.0f, "row %d key %d: %g", b, j,
                              (double)w);
            sum += w;
        }
        if (b < 2)
            ck_assert_double_eq_tol(sum, 1.0, 1e-6);
        else /* all keys padded: all zero, output zero, no NaN */
            ck_assert_double_eq(sum, 0.0);
    }
    for (int k = 0; k < 3; k++)
        ck_assert(y[2 * 3 + k] == 0.0f);
    /* The same with a NaN-free gradient through the fully masked row. */
    size_t ny = tk_output_count(m, 0), na = tk_output_count(m, 1);
    float *gy = calloc(ny, sizeof(float)), *ga = calloc(na, sizeof(float));
    for (size_t i = 0; i < ny; i++)
        gy[i] = 1.0f;
    const float *grads[2] = {gy, ga};
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    const float *gq = sn_model_input_grad(m, 0);
    for (int i = 0; i < 9; i++)
        ck_assert(isfinite(gq[i]));
    for (int i = 6; i < 9; i++)
        ck_assert(gq[i] == 0.0f);
    free(gy);
    free(ga);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ causal */

START_TEST(test_causal_prefix)
{
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.use_causal_mask = 1;
    o.return_attention_scores = 1;
    const int t = 4, d = 3, batch = 2, n = batch * t * d;
    sn_model_t *m = tk_new_model(7);
    int in[3] = {sn_input(m, t, d), sn_input(m, t, d), sn_input(m, t, d)};
    int a_id;
    int y_id = apply(m, sn_attention((sn_attention_score)_i, &o), in, 3,
                     &a_id);
    ck_assert_int_eq(sn_model_set_outputs(m, (int[]){y_id, a_id}, 2), SN_OK);
    float q[24], v[24], k[24], y0[24], a0[32];
    tk_fill(q, n, 1, -1, 1);
    tk_fill(v, n, 2, -1, 1);
    tk_fill(k, n, 3, -1, 1);
    const void *inputs[3] = {q, v, k};
    ck_assert_int_eq(sn_model_forward(m, batch, inputs, NULL, 0), SN_OK);
    memcpy(y0, sn_model_output(m, 0, NULL, 0, NULL), sizeof y0);
    memcpy(a0, sn_model_output(m, 1, NULL, 0, NULL), sizeof a0);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < t; i++)
            for (int j = i + 1; j < t; j++)
                ck_assert(a0[(b * t + i) * t + j] == 0.0f);
    for (int s = t - 1; s >= 1; s--) {
        /* change key and value s of every row (and query s: irrelevant
         * to earlier rows) */
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < d; c++) {
                size_t at = ((size_t)b * t + s) * d + c;
                v[at] += 5.0f;
                k[at] -= 3.0f;
                q[at] *= -2.0f;
            }
        ck_assert_int_eq(sn_model_forward(m, batch, inputs, NULL, 0), SN_OK);
        const float *y = sn_model_output(m, 0, NULL, 0, NULL);
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++)
                for (int c = 0; c < d; c++) {
                    size_t at = ((size_t)b * t + i) * d + c;
                    ck_assert_msg(y[at] == y0[at], "b %d step %d changed",
                                  b, i);
                }
    }
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------- gradients */

enum { MODE_POOL, MODE_VECTOR, MODE_SEQUENCE, MODE_KEYS, N_MODES };
static const char *mode_names[N_MODES] = {"pooling", "vector", "sequence",
                                          "keys"};

/*
 * One gradient case.  Unmasked: every input is a float input.  Masked:
 * the values come from Embedding(mask_zero) over tokens with padding
 * (and for a sequence query, the query is the same tensor: masked
 * self-attention); the embedding table is checked as a weight.
 */
static void attention_grad_case(int score, int mode, int masked, int causal)
{
    const int batch = 2, tk = 4, dk = 3;
    int dot = score == SN_SCORE_DOT || score == SN_SCORE_SCALED_DOT;
    int tq = causal ? tk : 3;
    int dq = dot ? dk : 2;
    int dv = mode == MODE_KEYS ? 2 : dk;
    static const int32_t toks[2 * 4] = {1, 2, 3, 0, 0, 0, 4, 2};
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.units = score == SN_SCORE_ADDITIVE ? 4 : 0;
    o.use_causal_mask = causal;
    o.return_attention_scores = masked; /* both outputs checked sometimes */
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    eo.embeddings_initializer = SN_INIT_GLOROT_UNIFORM; /* not tiny */

    sn_model_t *m = tk_new_model(31);
    tk_grad_case g = {m, batch, 0, {0}, {0}, {0}, 0, NULL};
    int ids[3], n = 0, values;
    float *bufs[3] = {0};
    int self_attention = masked && mode == MODE_SEQUENCE;
    if (mode != MODE_POOL && !self_attention) {
        int t = mode == MODE_VECTOR ? SN_NO_TIME : tq;
        ids[n++] = sn_input(m, t, dq);
        size_t cnt = (size_t)batch * (t ? t : 1) * dq;
        bufs[0] = malloc(cnt * sizeof(float));
        tk_fill(bufs[0], cnt, 5, -1.5f, 1.5f);
        g.inputs[g.n_inputs] = bufs[0];
        g.in_count[g.n_inputs] = cnt;
        g.in_float[g.n_inputs++] = 1;
    }
    if (masked) {
        int tok = sn_input_tokens(m, tk);
        values = sn_apply(m, sn_embedding(5, dv, &eo), tok);
        g.inputs[g.n_inputs] = (void *)toks;
        g.in_count[g.n_inputs] = 8;
        g.in_float[g.n_inputs++] = 0;
    } else {
        values = sn_input(m, tk, dv);
        size_t cnt = (size_t)batch * tk * dv;
        bufs[1] = malloc(cnt * sizeof(float));
        tk_fill(bufs[1], cnt, 6, -1.5f, 1.5f);
        g.inputs[g.n_inputs] = bufs[1];
        g.in_count[g.n_inputs] = cnt;
        g.in_float[g.n_inputs++] = 1;
    }
    if (self_attention)
        ids[n++] = values; /* query = values = keys */
    ids[n++] = values;
    if (mode == MODE_KEYS) {
        ids[n++] = sn_input(m, tk, dk);
        size_t cnt = (size_t)batch * tk * dk;
        bufs[2] = malloc(cnt * sizeof(float));
        tk_fill(bufs[2], cnt, 7, -1.5f, 1.5f);
        g.inputs[g.n_inputs] = bufs[2];
        g.in_count[g.n_inputs] = cnt;
        g.in_float[g.n_inputs++] = 1;
    }
    int second;
    int y = apply(m, sn_attention((sn_attention_score)score, &o), ids, n,
                  &second);
    if (o.return_attention_scores)
        ck_assert_int_eq(sn_model_set_outputs(m, (int[]){y, second}, 2),
                         SN_OK);
    ck_assert_msg(sn_model_build(m) == SN_OK, "%s", sn_last_error());
    /* A nonzero bias, so that its use is tested. */
    if (score == SN_SCORE_ADDITIVE && mode != MODE_POOL)
        tk_fill(tk_weight(m, "additive_attention/bias", NULL), 4, 9, -0.5f,
                0.5f);
    char what[96];
    snprintf(what, sizeof what, "%s %s%s%s", score_names[score],
             mode_names[mode], masked ? " masked" : "",
             causal ? " causal" : "");
    tk_expect_good_grads(tk_grad_check(&g, 77, &tk_grad_defaults), what);
    for (int i = 0; i < 3; i++)
        free(bufs[i]);
    sn_model_free(m);
}

START_TEST(test_grad_all)
{
    int score = _i;
    for (int mode = 0; mode < N_MODES; mode++)
        for (int masked = 0; masked < 2; masked++) {
            attention_grad_case(score, mode, masked, 0);
            if (mode == MODE_SEQUENCE)
                attention_grad_case(score, mode, masked, 1);
        }
}
END_TEST

/* ------------------------------------------------------------ dropout */

/* Forward in training on a fresh model of the given seed: output 0 and 1. */
static void dropout_run(uint64_t seed, float *y, float *a, float *dv,
                        const float *dy)
{
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.dropout = 0.5f;
    o.return_attention_scores = 1;
    sn_model_t *m = tk_new_model(seed);
    int in[3] = {sn_input(m, SN_NO_TIME, 3), sn_input(m, 6, 2),
                 sn_input(m, 6, 3)};
    int a_id;
    int y_id = apply(m, sn_attention(SN_SCORE_GENERAL, &o), in, 3, &a_id);
    ck_assert_int_eq(sn_model_set_outputs(m, (int[]){y_id, a_id}, 2), SN_OK);
    float q[2 * 3], v[2 * 6 * 2], k[2 * 6 * 3];
    tk_fill(q, 6, 1, -1, 1);
    tk_fill(v, 24, 2, -1, 1);
    tk_fill(k, 36, 3, -1, 1);
    const void *inputs[3] = {q, v, k};
    ck_assert_int_eq(sn_model_forward(m, 2, inputs, NULL, 1), SN_OK);
    memcpy(y, sn_model_output(m, 0, NULL, 0, NULL), 4 * sizeof(float));
    memcpy(a, sn_model_output(m, 1, NULL, 0, NULL), 12 * sizeof(float));
    const float *grads[2] = {dy, NULL};
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    memcpy(dv, sn_model_input_grad(m, 1), 24 * sizeof(float));
    /* inference: no dropout, weights sum to 1 */
    ck_assert_int_eq(sn_model_forward(m, 2, inputs, NULL, 0), SN_OK);
    const float *ai = sn_model_output(m, 1, NULL, 0, NULL);
    for (int b = 0; b < 2; b++) {
        double s = 0;
        for (int j = 0; j < 6; j++) {
            ck_assert(ai[b * 6 + j] > 0.0f);
            s += ai[b * 6 + j];
        }
        ck_assert_double_eq_tol(s, 1.0, 1e-6);
    }
    sn_model_free(m);
}

START_TEST(test_dropout)
{
    float y1[4], a1[12], dv1[24], y2[4], a2[12], dv2[24];
    const float dy[4] = {1.0f, -2.0f, 0.5f, 3.0f};
    dropout_run(42, y1, a1, dv1, dy);
    dropout_run(42, y2, a2, dv2, dy);
    ck_assert(memcmp(y1, y2, sizeof y1) == 0);
    ck_assert(memcmp(a1, a2, sizeof a1) == 0);
    ck_assert(memcmp(dv1, dv2, sizeof dv1) == 0);
    int dropped = 0, kept = 0;
    for (int b = 0; b < 2; b++)
        for (int j = 0; j < 6; j++) {
            float w = a1[b * 6 + j];
            for (int c = 0; c < 2; c++) {
                float g = dv1[(b * 6 + j) * 2 + c];
                /* dL/dv_j = a'_j dy: exactly 0 for dropped weights */
                if (w == 0.0f)
                    ck_assert_msg(g == 0.0f, "dropped key got gradient");
                else
                    ck_assert_float_eq_tol(g, w * dy[b * 2 + c], 1e-6f);
            }
            dropped += w == 0.0f;
            kept += w != 0.0f;
        }
    ck_assert_int_gt(dropped, 0);
    ck_assert_int_gt(kept, 0);
}
END_TEST

/* ---------------------------------------------------- layer norm */

START_TEST(test_layer_norm_values)
{
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, sn_layer_normalization(NULL),
                              sn_input(m, 2, 4)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(m), 2);
    const char *name;
    sn_model_weight_info(m, 0, &name, NULL, 0, NULL);
    ck_assert_str_eq(name, "layer_normalization/gamma");
    size_t n;
    const float *gm = tk_weight(m, "layer_normalization/gamma", &n);
    for (size_t i = 0; i < n; i++)
        ck_assert(gm[i] == 1.0f); /* ones */
    set_weight(m, "layer_normalization/gamma", (float[]){1, 2, 1, 2}, 4);
    set_weight(m, "layer_normalization/beta", (float[]){0, 0, 1, 1}, 4);
    const float x[8] = {1, 2, 3, 4, 5, 5, 5, 5};
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    /* row 0: mean 2.5, biased var 1.25, eps 1e-3 */
    double r = 1.0 / sqrt(1.25 + 1e-3);
    const double g[4] = {1, 2, 1, 2}, be[4] = {0, 0, 1, 1};
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq_tol(y[j], (x[j] - 2.5) * r * g[j] + be[j], 1e-6);
    /* row 1: constant row, y = beta */
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq_tol(y[4 + j], be[j], 1e-6);
    sn_model_free(m);
}
END_TEST

START_TEST(test_layer_norm_grad)
{
    sn_layer_norm_opts o = SN_LAYER_NORM_OPTS_INIT;
    o.center = _i & 1;
    o.scale = (_i >> 1) & 1;
    sn_model_t *m = tk_new_model(2);
    ck_assert_int_ge(sn_apply(m, sn_layer_normalization(&o),
                              sn_input(m, 3, 5)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(m), o.center + o.scale);
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t cnt;
        float *w = sn_model_weight_data(m, i, &cnt);
        tk_fill(w, cnt, 10 + (uint32_t)i, 0.5f, 1.5f);
    }
    float x[2 * 3 * 5];
    tk_fill(x, 30, 4, -2.0f, 2.0f);
    tk_grad_case g = {m, 2, 1, {x}, {30}, {1}, 0, NULL};
    char what[64];
    snprintf(what, sizeof what, "layer norm center %d scale %d", o.center,
             o.scale);
    tk_expect_good_grads(tk_grad_check(&g, 8, &tk_grad_defaults), what);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ composed block */

/* x + Attention(x, x) -> LayerNormalization -> Dense: a train step. */
START_TEST(test_block_trains)
{
    const int t = 5, d = 4, batch = 3;
    sn_model_t *m = tk_new_model(9);
    int x = sn_input(m, t, d);
    int att = apply(m, sn_attention(SN_SCORE_GENERAL, NULL), (int[]){x, x},
                    2, NULL);
    int sum = apply(m, sn_add(), (int[]){x, att}, 2, NULL);
    int ln = sn_apply(m, sn_layer_normalization(NULL), sum);
    int y = sn_apply(m, sn_dense(2, SN_LINEAR, NULL), ln);
    ck_assert_int_ge(y, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float xd[3 * 5 * 4];
    tk_fill(xd, 60, 3, -1, 1);
    tk_grad_case g = {m, batch, 1, {xd}, {60}, {1}, 1, NULL};
    float w[3 * 5 * 2];
    tk_fill(w, 30, 5, -1, 1);
    float *ws[2] = {w, NULL};
    double l0 = tk_grad_loss(&g, ws);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    const float *grads[1] = {w};
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    /* every weight has a gradient; one SGD step lowers the loss */
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t cnt;
        float *wd = sn_model_weight_data(m, i, &cnt);
        const float *gd = sn_model_weight_grad(m, i, NULL);
        double norm = 0;
        for (size_t j = 0; j < cnt; j++) {
            norm += (double)gd[j] * gd[j];
            wd[j] -= 0.01f * gd[j];
        }
        ck_assert_msg(norm > 0.0, "weight %d has no gradient", i);
    }
    ck_assert_double_lt(tk_grad_loss(&g, ws), l0);
    sn_model_free(m);
}
END_TEST

/* -------------------------------------------------------- validation */

START_TEST(test_bad_args)
{
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    sn_clear_error();
    ck_assert_ptr_null(sn_attention((sn_attention_score)7, NULL));
    ck_assert_str_ne(sn_last_error(), "");
    o.units = -1;
    ck_assert_ptr_null(sn_attention(SN_SCORE_ADDITIVE, &o));
    o = (sn_attention_opts)SN_ATTENTION_OPTS_INIT;
    o.dropout = 1.0f;
    ck_assert_ptr_null(sn_attention(SN_SCORE_DOT, &o));
    o.dropout = NAN;
    ck_assert_ptr_null(sn_attention(SN_SCORE_DOT, &o));
    o.dropout = -0.1f;
    ck_assert_ptr_null(sn_attention(SN_SCORE_DOT, &o));
    o = (sn_attention_opts)SN_ATTENTION_OPTS_INIT;
    o.kernel_initializer = (sn_initializer)99;
    ck_assert_ptr_null(sn_attention(SN_SCORE_GENERAL, &o));
    o = (sn_attention_opts)SN_ATTENTION_OPTS_INIT;
    o.size = 1;
    ck_assert_ptr_null(sn_attention(SN_SCORE_GENERAL, &o));
    sn_layer_norm_opts lo = SN_LAYER_NORM_OPTS_INIT;
    lo.epsilon = 0.0f;
    ck_assert_ptr_null(sn_layer_normalization(&lo));
    lo.epsilon = NAN;
    ck_assert_ptr_null(sn_layer_normalization(&lo));
    lo.epsilon = -1.0f;
    ck_assert_ptr_null(sn_layer_normalization(&lo));
    ck_assert_str_ne(sn_last_error(), "");
    /* defaults are fine; the types follow Keras */
    sn_layer_t *l = sn_attention(SN_SCORE_ADDITIVE, NULL);
    ck_assert_str_eq(sn_layer_type(l), "AdditiveAttention");
    sn_layer_free(l);
    l = sn_attention(SN_SCORE_SCALED_DOT, NULL);
    ck_assert_str_eq(sn_layer_type(l), "Attention");
    sn_layer_free(l);
    l = sn_layer_normalization(NULL);
    ck_assert_str_eq(sn_layer_type(l), "LayerNormalization");
    sn_layer_free(l);
}
END_TEST

/* sn_apply_n status for the given input shapes ([time, feat], time 0 =
 * a vector input). */
static int shape_status(sn_attention_score score, int causal, int n,
                        const int (*shapes)[2])
{
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.use_causal_mask = causal;
    sn_model_t *m = tk_new_model(1);
    int in[4];
    for (int i = 0; i < n; i++)
        in[i] = sn_input(m, shapes[i][0], shapes[i][1]);
    int out[2];
    int r = sn_apply_n(m, sn_attention(score, &o), in, n, out, 2);
    sn_model_free(m);
    return r;
}

START_TEST(test_shape_errors)
{
    /* dot and scaled dot need Dq == Dk */
    const int dq_dk[2][2] = {{3, 2}, {4, 3}};
    ck_assert_int_eq(shape_status(SN_SCORE_DOT, 0, 2, dq_dk), SN_ERR_SHAPE);
    ck_assert_int_eq(shape_status(SN_SCORE_SCALED_DOT, 0, 2, dq_dk),
                     SN_ERR_SHAPE);
    ck_assert_int_eq(shape_status(SN_SCORE_GENERAL, 0, 2, dq_dk), 1);
    ck_assert_int_eq(shape_status(SN_SCORE_ADDITIVE, 0, 2, dq_dk), 1);
    /* causal needs a sequence query with Tq == Tk */
    const int tq_tk[2][2] = {{3, 3}, {4, 3}};
    ck_assert_int_eq(shape_status(SN_SCORE_DOT, 1, 2, tq_tk), SN_ERR_SHAPE);
    const int vec[2][2] = {{0, 3}, {4, 3}};
    ck_assert_int_eq(shape_status(SN_SCORE_DOT, 1, 2, vec), SN_ERR_SHAPE);
    ck_assert_int_eq(shape_status(SN_SCORE_DOT, 1, 1, vec + 1),
                     SN_ERR_SHAPE);
    const int same[2][2] = {{4, 3}, {4, 3}};
    ck_assert_int_eq(shape_status(SN_SCORE_DOT, 1, 2, same), 1);
    /* values and keys: sequences of one length */
    const int vk[3][2] = {{0, 3}, {4, 2}, {5, 3}};
    ck_assert_int_eq(shape_status(SN_SCORE_DOT, 0, 3, vk), SN_ERR_SHAPE);
    const int flat_values[2][2] = {{0, 3}, {0, 3}};
    ck_assert_int_eq(shape_status(SN_SCORE_DOT, 0, 2, flat_values),
                     SN_ERR_SHAPE);
    const int four[4][2] = {{4, 3}, {4, 3}, {4, 3}, {4, 3}};
    ck_assert_int_lt(shape_status(SN_SCORE_DOT, 0, 4, four), 0);
    /* causal with lengths known only at run time: refused at forward */
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.use_causal_mask = 1;
    sn_model_t *m = tk_new_model(1);
    int in[2] = {sn_input(m, SN_ANY_TIME, 2), sn_input(m, SN_ANY_TIME, 2)};
    apply(m, sn_attention(SN_SCORE_DOT, &o), in, 2, NULL);
    float q[2 * 3 * 2] = {0}, v[2 * 4 * 2] = {0};
    const void *inputs[2] = {q, v};
    ck_assert_int_eq(sn_model_forward(m, 2, inputs, (int[]){3, 4}, 0),
                     SN_ERR_SHAPE);
    ck_assert_int_eq(sn_model_forward(m, 2, inputs, (int[]){3, 3}, 0), SN_OK);
    sn_model_free(m);
}
END_TEST

/* ----------------------------------------------------- save and load */

START_TEST(test_save_load)
{
    int score = _i;
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.return_attention_scores = 1;
    o.units = 5;
    o.dropout = 0.25f;
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    sn_model_t *m = tk_new_model(3);
    int q = sn_input(m, SN_NO_TIME, 3);
    int v = sn_apply(m, sn_embedding(5, 3, &eo), sn_input_tokens(m, 4));
    int a_id;
    int y = apply(m, sn_attention((sn_attention_score)score, &o),
                  (int[]){q, v}, 2, &a_id);
    int z = sn_apply(m, sn_layer_normalization(NULL), y);
    ck_assert_int_eq(sn_model_set_outputs(m, (int[]){z, a_id}, 2), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    /* perturb gamma/beta off their ones/zeros */
    tk_fill(tk_weight(m, "layer_normalization/beta", NULL), 3, 2, -1, 1);
    void *buf = NULL;
    size_t len = 0;
    ck_assert_msg(sn_model_save_buffer(m, 0, &buf, &len) == SN_OK, "%s",
                  sn_last_error());
    sn_model_t *m2 = NULL;
    ck_assert_msg(sn_model_load_buffer(buf, len, &m2) == SN_OK, "%s",
                  sn_last_error());
    sn_free(buf);
    ck_assert_str_eq(sn_layer_type(sn_model_find_layer(m2,
                         score == SN_SCORE_ADDITIVE ? "additive_attention"
                                                    : "attention")),
                     score == SN_SCORE_ADDITIVE ? "AdditiveAttention"
                                                : "Attention");
    float qd[9], y1[9], y2[9], a1[12], a2[12];
    tk_fill(qd, 9, 1, -1, 1);
    const void *inputs[2] = {qd, mask_tokens};
    ck_assert_int_eq(sn_model_predict(m, 3, inputs, NULL,
                                      (float *const[]){y1, a1}), SN_OK);
    ck_assert_int_eq(sn_model_predict(m2, 3, inputs, NULL,
                                      (float *const[]){y2, a2}), SN_OK);
    ck_assert(memcmp(y1, y2, sizeof y1) == 0);
    ck_assert(memcmp(a1, a2, sizeof a1) == 0);
    sn_model_free(m);
    sn_model_free(m2);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *attention_suite(void)
{
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("values");
    tcase_add_loop_test(tc, test_values_vector_query, 0, 4);
    tcase_add_loop_test(tc, test_values_pooling, 0, 4);
    tcase_add_test(tc, test_values_sequence_query);
    suite_add_tcase(s, tc);

    tc = tcase_create("masks");
    tcase_add_loop_test(tc, test_mask_weights, 0, 4);
    tcase_add_loop_test(tc, test_causal_prefix, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_grad_all, 0, 4);
    tcase_add_test(tc, test_dropout);
    suite_add_tcase(s, tc);

    tc = tcase_create("layer_norm");
    tcase_add_test(tc, test_layer_norm_values);
    tcase_add_loop_test(tc, test_layer_norm_grad, 0, 4);
    tcase_add_test(tc, test_block_trains);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, test_bad_args);
    tcase_add_test(tc, test_shape_errors);
    tcase_add_loop_test(tc, test_save_load, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(attention_suite());
}
