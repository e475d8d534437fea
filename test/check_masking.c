/*
 * check_masking.c - masks for float sequences: the Masking layer, per-row
 * lengths on forward, predict, fit and evaluate, and what padded steps of
 * a recurrent layer output (sn_rnn_opts.padded_output), against hand
 * values, against unpadded runs, against PyTorch's pack_padded_sequence
 * (test/data/pack_padded.h, made by test/data/gen_pack_padded.py) and by
 * finite differences.
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/pack_padded.h"
#include "support/gradcheck.h"
#include "support/testkit.h"

/* Recurrent layers of the three cells by index. */
static sn_layer_t *make_cell(int cell, int units, const sn_rnn_opts *o)
{
    switch (cell) {
    case 0: return sn_lstm(units, o);
    case 1: return sn_gru(units, o);
    default: return sn_simple_rnn(units, o);
    }
}

/* ------------------------------------------------------------- Masking */

/* A step is masked only when ALL its features equal the value; masked
 * steps output zeros, the others pass unchanged. */
START_TEST(test_masking_values)
{
    enum { B = 2, T = 3, F = 2 };
    sn_model_t *m = tk_new_model(1);
    sn_apply(m, sn_masking(-1.0f), sn_input(m, T, F));
    float x[B * T * F] = { 1, 2,   -1, -1,   -1, 5,
                           -1, -1, -1, -1,   0, 0 };
    float want[B * T * F] = { 1, 2,   0, 0,   -1, 5,
                              0, 0,   0, 0,   0, 0 };
    float y[B * T * F];
    const void *in[1] = { x };
    float *out[1] = { y };
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, out), SN_OK);
    for (int i = 0; i < B * T * F; i++)
        ck_assert_float_eq(y[i], want[i]);
    ck_assert_str_eq(sn_layer_type(sn_model_layer(m, 1)), "Masking");
    sn_model_free(m);
}
END_TEST

/* The mask reaches the layers that honour masks: the mean of
 * GlobalAveragePooling1D covers the real steps only. */
START_TEST(test_masking_reaches_pooling)
{
    enum { T = 4, F = 2 };
    sn_model_t *m = tk_new_model(1);
    int x = sn_input(m, T, F);
    x = sn_apply(m, sn_masking(0.0f), x);
    sn_apply(m, sn_global_average_pooling1d(), x);
    float in_x[T * F] = { 1, 2,  0, 0,  3, 0,  0, 0 };
    float y[F];
    const void *in[1] = { in_x };
    float *out[1] = { y };
    ck_assert_int_eq(sn_model_predict(m, 1, in, NULL, out), SN_OK);
    ck_assert_float_eq_tol(y[0], 2.0f, 1e-6f); /* (1 + 3) / 2 */
    ck_assert_float_eq_tol(y[1], 1.0f, 1e-6f); /* (2 + 0) / 2 */
    sn_model_free(m);
}
END_TEST

START_TEST(test_masking_rejects)
{
    tk_expect_null_with(sn_masking(NAN), "finite");
    tk_expect_null_with(sn_masking(INFINITY), "finite");
    sn_model_t *m = tk_new_model(1);
    int t = sn_input_tokens(m, 5);
    ck_assert_int_lt(sn_apply(m, sn_masking(0.0f), t), 0);
    sn_model_free(m);
    m = tk_new_model(1);
    ck_assert_int_lt(sn_apply(m, sn_masking(0.0f), sn_input(m, 0, 3)), 0);
    sn_model_free(m);
}
END_TEST

/* A padded batch through Masking and a recurrent layer gives, row by row,
 * what the unpadded rows give (cell x bidirectional). */
START_TEST(test_masking_equals_unpadded)
{
    int cell = _i % 3, bidi = _i / 3;
    enum { B = 3, T = 5, E = 3, H = 4 };
    const int len[B] = { 5, 2, 3 };
    sn_model_t *m = tk_new_model(7);
    int x = sn_input(m, SN_ANY_TIME, E);
    x = sn_apply(m, sn_masking(0.0f), x);
    sn_layer_t *r = make_cell(cell, H, NULL);
    if (bidi)
        r = sn_bidirectional(r, SN_MERGE_CONCAT);
    sn_apply(m, r, x);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    tk_fill_weights(m, 3, 1, 0.5f);
    int W = bidi ? 2 * H : H;
    float xs[B * T * E];
    tk_fill(xs, B * T * E, 11, -1.0f, 1.0f);
    for (int b = 0; b < B; b++)
        for (int t = len[b]; t < T; t++)
            memset(xs + ((size_t)b * T + t) * E, 0, E * sizeof(float));
    float y[B * 2 * H];
    const void *in[1] = { xs };
    float *out[1] = { y };
    int steps = T;
    ck_assert_int_eq(sn_model_predict(m, B, in, &steps, out), SN_OK);
    for (int b = 0; b < B; b++) {
        float y1[2 * H];
        const void *in1[1] = { xs + (size_t)b * T * E };
        float *out1[1] = { y1 };
        steps = len[b];
        ck_assert_int_eq(sn_model_predict(m, 1, in1, &steps, out1), SN_OK);
        tk_expect_close(y + (size_t)b * W, y1, (size_t)W, 1e-5, "row");
    }
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- lengths */

/* Lengths mask like Masking does, whatever the padded steps hold; the
 * padded values do not matter, and the model's input is left as given. */
START_TEST(test_lengths_equal_masking)
{
    int cell = _i;
    enum { B = 3, T = 4, E = 2, H = 3 };
    const int len[B] = { 4, 1, 2 };
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = 1;
    sn_model_t *a = tk_new_model(5), *b = tk_new_model(5);
    sn_apply(a, make_cell(cell, H, &o),
             sn_apply(a, sn_masking(0.0f), sn_input(a, T, E)));
    sn_apply(b, make_cell(cell, H, &o), sn_input(b, T, E));
    ck_assert_int_eq(sn_model_build(a), SN_OK);
    ck_assert_int_eq(sn_model_build(b), SN_OK);
    tk_fill_weights(a, 9, 1, 0.5f);
    tk_fill_weights(b, 9, 1, 0.5f);
    float xz[B * T * E], xg[B * T * E];
    tk_fill(xz, B * T * E, 4, -1.0f, 1.0f);
    memcpy(xg, xz, sizeof xz);
    for (int r = 0; r < B; r++)
        for (int t = len[r]; t < T; t++)
            for (int f = 0; f < E; f++) {
                xz[(r * T + t) * E + f] = 0.0f;
                xg[(r * T + t) * E + f] = 100.0f + (float)f; /* garbage */
            }
    float ya[B * T * H], yb[B * T * H], yc[B * T * H];
    const void *ina[1] = { xz }, *inb[1] = { xg };
    float *outa[1] = { ya }, *outb[1] = { yb }, *outc[1] = { yc };
    const int *lens[1] = { len };
    ck_assert_int_eq(sn_model_predict(a, B, ina, NULL, outa), SN_OK);
    ck_assert_int_eq(sn_model_predict_lengths(b, B, inb, NULL, lens, outb),
                     SN_OK);
    tk_expect_close(yb, ya, B * T * H, 1e-6, "lengths vs Masking");
    /* forward_lengths gives the same, and a later plain forward has no
     * mask any more: the garbage then changes the result */
    ck_assert_int_eq(sn_model_forward_lengths(b, B, inb, NULL, lens, 0),
                     SN_OK);
    tk_expect_close(sn_model_output(b, 0, NULL, 0, NULL), ya, B * T * H, 1e-6,
                    "forward_lengths");
    ck_assert_int_eq(sn_model_predict(b, B, inb, NULL, outc), SN_OK);
    ck_assert(fabsf(yc[(1 * T + 3) * H] - ya[(1 * T + 3) * H]) > 1e-4f);
    sn_model_free(a);
    sn_model_free(b);
}
END_TEST

START_TEST(test_lengths_rejects)
{
    enum { B = 2, T = 3 };
    sn_model_t *m = tk_new_model(1);
    int x = sn_input(m, T, 2);
    int t = sn_input_tokens(m, T);
    int e = sn_apply(m, sn_embedding(5, 2, NULL), t);
    int xs[2] = { x, e };
    int outs[1];
    ck_assert_int_eq(sn_apply_n(m, sn_add(), xs, 2, outs, 1), 1);
    float xf[B * T * 2] = { 0 };
    int32_t ids[B * T] = { 1, 2, 3, 1, 0, 0 };
    float y[B * T * 2];
    const void *in[2] = { xf, ids };
    float *out[1] = { y };
    int bad_hi[B] = { 3, 4 }, bad_lo[B] = { -1, 2 }, ok[B] = { 0, 3 };
    const int *l1[2] = { bad_hi, NULL };
    ck_assert_int_eq(sn_model_predict_lengths(m, B, in, NULL, l1, out),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("lengths[0][1] = 4");
    const int *l2[2] = { bad_lo, NULL };
    ck_assert_int_eq(sn_model_forward_lengths(m, B, in, NULL, l2, 0),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("outside");
    const int *l3[2] = { NULL, ok };
    ck_assert_int_eq(sn_model_predict_lengths(m, B, in, NULL, l3, out),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("float sequence");
    const int *l4[2] = { ok, NULL };
    ck_assert_int_eq(sn_model_predict_lengths(m, B, in, NULL, l4, out),
                     SN_OK);
    ck_assert_int_eq(sn_model_predict_lengths(m, B, in, NULL, NULL, out),
                     SN_OK);
    sn_model_free(m);
}
END_TEST

/* fit and evaluate read sn_dataset.lengths: two models trained on the same
 * data, one with zeros and one with garbage in the padded steps, end with
 * the same weights and the same evaluation. */
START_TEST(test_lengths_fit_evaluate)
{
    enum { N = 12, T = 4, E = 2, H = 3 };
    float xz[N * T * E], xg[N * T * E], yv[N];
    int len[N];
    tk_fill(xz, N * T * E, 8, -1.0f, 1.0f);
    for (int r = 0; r < N; r++) {
        len[r] = 1 + r % T;
        yv[r] = 0.0f;
        for (int t = 0; t < len[r]; t++)
            yv[r] += xz[(r * T + t) * E] * 0.5f;
    }
    memcpy(xg, xz, sizeof xz);
    for (int r = 0; r < N; r++)
        for (int t = len[r]; t < T; t++)
            for (int f = 0; f < E; f++) {
                xz[(r * T + t) * E + f] = 0.0f;
                xg[(r * T + t) * E + f] = f ? -2.0f : 3.0f;
            }
    sn_model_t *m[2];
    double res[2][1];
    for (int i = 0; i < 2; i++) {
        m[i] = tk_new_model(3);
        int x = sn_input(m[i], T, E);
        x = sn_apply(m[i], sn_gru(H, NULL), x);
        sn_apply(m[i], sn_dense(1, SN_LINEAR, NULL), x);
        sn_compile_opts co = SN_COMPILE_OPTS_INIT;
        ck_assert_int_eq(sn_model_compile(m[i], &co), SN_OK);
        const void *in[1] = { i == 0 ? xz : xg };
        const float *tg[1] = { yv };
        const int *lens[1] = { len };
        sn_dataset d = SN_DATASET_INIT;
        d.n_samples = N;
        d.inputs = in;
        d.targets = tg;
        d.lengths = lens;
        sn_fit_opts fo = SN_FIT_OPTS_INIT;
        fo.epochs = 3;
        fo.batch_size = 5;
        fo.validation_split = 0.25f;
        ck_assert_int_eq(sn_model_fit(m[i], &d, &fo, NULL), SN_OK);
        ck_assert_int_eq(sn_model_evaluate(m[i], &d, 4, res[i], 1), SN_OK);
    }
    for (int w = 0; w < sn_model_num_weights(m[0]); w++) {
        size_t n0, n1;
        const float *a = sn_model_weight_data(m[0], w, &n0);
        const float *b = sn_model_weight_data(m[1], w, &n1);
        ck_assert_uint_eq(n0, n1);
        tk_expect_close(b, a, n0, 1e-6, "weights");
    }
    ck_assert_double_eq_tol(res[0][0], res[1][0], 1e-9);
    /* without lengths the garbage shows */
    const void *in[1] = { xg };
    const float *tg[1] = { yv };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = N;
    d.inputs = in;
    d.targets = tg;
    double plain;
    ck_assert_int_eq(sn_model_evaluate(m[1], &d, 4, &plain, 1), SN_OK);
    ck_assert_msg(fabs(plain - res[1][0]) > 1e-5, "%g vs %g", plain,
                  res[1][0]);
    sn_model_free(m[0]);
    sn_model_free(m[1]);
}
END_TEST

/* ------------------------------------------------------- padded output */

/* Carry-last repeats the last real output at padded steps; zeros gives
 * zeros; real steps agree; Bidirectional and the default are unchanged. */
START_TEST(test_padded_output_modes)
{
    int cell = _i % 3, backwards = _i / 3;
    enum { B = 2, T = 5, E = 2, H = 3 };
    const int len[B] = { 2, 5 };
    float y[2][B * T * H];
    for (int mode = 0; mode < 2; mode++) {
        sn_rnn_opts o = SN_RNN_OPTS_INIT;
        o.return_sequences = 1;
        o.go_backwards = backwards;
        o.padded_output = mode ? SN_PADDED_ZEROS : SN_PADDED_CARRY_LAST;
        sn_model_t *m = tk_new_model(2);
        sn_apply(m, make_cell(cell, H, &o), sn_input(m, T, E));
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        tk_fill_weights(m, 4, 1, 0.5f);
        float x[B * T * E];
        tk_fill(x, B * T * E, 6, -1.0f, 1.0f);
        const void *in[1] = { x };
        float *out[1] = { y[mode] };
        const int *lens[1] = { len };
        ck_assert_int_eq(sn_model_predict_lengths(m, B, in, NULL, lens, out),
                         SN_OK);
        sn_model_free(m);
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            /* position t of the output holds input step t (go_backwards
             * output is reversed, as in Keras) */
            int step = backwards ? T - 1 - t : t;
            const float *c = y[0] + ((size_t)b * T + t) * H;
            const float *z = y[1] + ((size_t)b * T + t) * H;
            if (step < len[b]) {
                tk_expect_close(z, c, H, 1e-6, "real step");
                continue;
            }
            for (int h = 0; h < H; h++)
                ck_assert_float_eq(z[h], 0.0f);
            if (!backwards) {
                const float *last = y[0] + ((size_t)b * T + len[b] - 1) * H;
                tk_expect_close(c, last, H, 0.0, "carried");
            }
        }
    sn_rnn_opts bad = SN_RNN_OPTS_INIT;
    bad.padded_output = 2;
    tk_expect_null_with(sn_lstm(3, &bad), "padded_output");
}
END_TEST

/* The zeros mode against PyTorch: pack_padded_sequence, then
 * pad_packed_sequence; outputs, final states and dL/dx. */
static void torch_case(int cell, const float *wih, const float *whh,
                       const float *bih, const float *bhh, const float *x,
                       const float *want_y, const float *want_hn,
                       const float *w, const float *want_dx)
{
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = 1;
    o.return_state = 1;
    o.padded_output = SN_PADDED_ZEROS;
    sn_model_t *m = tk_new_model(1);
    int outs[3];
    int x_id = sn_input(m, PP_T, PP_E);
    sn_layer_t *l = make_cell(cell, PP_H, &o);
    ck_assert_int_ge(sn_apply_n(m, l, &x_id, 1, outs, 3), 2);
    int n_out = cell == 0 ? 3 : 2;
    ck_assert_int_eq(sn_model_set_outputs(m, outs, 2), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int G = cell == 0 ? 4 : cell == 1 ? 3 : 1;
    size_t n_ih = (size_t)G * PP_H * PP_E, n_hh = (size_t)G * PP_H * PP_H;
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "weight_ih_l0",
                                       wih, n_ih), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "weight_hh_l0",
                                       whh, n_hh), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "bias_ih_l0",
                                       bih, (size_t)G * PP_H), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                                       bhh, (size_t)G * PP_H), SN_OK);
    (void)n_out;
    float xs[PP_B * PP_T * PP_E];
    memcpy(xs, x, sizeof xs);
    const void *in[1] = { xs };
    const int *lens[1] = { pp_lengths };
    ck_assert_int_eq(sn_model_forward_lengths(m, PP_B, in, NULL, lens, 0),
                     SN_OK);
    tk_expect_close(sn_model_output(m, 0, NULL, 0, NULL), want_y,
                    PP_B * PP_T * PP_H, 1e-5, "y vs PyTorch");
    tk_expect_close(sn_model_output(m, 1, NULL, 0, NULL), want_hn,
                    PP_B * PP_H, 1e-5, "h_n vs PyTorch");
    const float *grads[2] = { w, NULL };
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    tk_expect_close(sn_model_input_grad(m, 0), want_dx, PP_B * PP_T * PP_E,
                    1e-5, "dx vs PyTorch");
    sn_model_free(m);
}

START_TEST(test_zeros_mode_matches_pytorch)
{
    torch_case(0, pp_lstm_weight_ih_l0, pp_lstm_weight_hh_l0,
               pp_lstm_bias_ih_l0, pp_lstm_bias_hh_l0, pp_lstm_x, pp_lstm_y,
               pp_lstm_hn, pp_lstm_w, pp_lstm_dx);
    torch_case(1, pp_gru_weight_ih_l0, pp_gru_weight_hh_l0,
               pp_gru_bias_ih_l0, pp_gru_bias_hh_l0, pp_gru_x, pp_gru_y,
               pp_gru_hn, pp_gru_w, pp_gru_dx);
    torch_case(2, pp_rnn_weight_ih_l0, pp_rnn_weight_hh_l0,
               pp_rnn_bias_ih_l0, pp_rnn_bias_hh_l0, pp_rnn_x, pp_rnn_y,
               pp_rnn_hn, pp_rnn_w, pp_rnn_dx);
}
END_TEST

/* ------------------------------------------------------ gradient checks */

static const tk_grad_opts mask_grad_opts = {4e-3f, 2e-2, 2e-3, 31u};

/* Masking -> recurrent layer (return_sequences, both padded modes) ->
 * Dense: every weight and every real input element by central
 * differences; padded input elements (which a perturbation would make
 * real) get exactly zero gradient. */
START_TEST(test_grad_masking)
{
    int cell = _i % 3, mode = (_i / 3) % 2, backwards = _i / 6;
    enum { B = 2, T = 4, E = 2, H = 3 };
    const int len[B] = { 4, 2 };
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = 1;
    o.go_backwards = backwards;
    o.padded_output = mode;
    sn_model_t *m = tk_new_model(3);
    int x = sn_input(m, T, E);
    x = sn_apply(m, sn_masking(0.0f), x);
    x = sn_apply(m, make_cell(cell, H, &o), x);
    sn_apply(m, sn_dense(2, SN_TANH, NULL), x);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    tk_fill_weights(m, 21, 3, 0.6f);
    float xs[B * T * E];
    unsigned char frozen[B * T * E] = { 0 };
    tk_fill(xs, B * T * E, 17, -1.0f, 1.0f);
    for (int b = 0; b < B; b++)
        for (int t = len[b]; t < T; t++)
            for (int f = 0; f < E; f++) {
                xs[(b * T + t) * E + f] = 0.0f;
                frozen[(b * T + t) * E + f] = 1;
            }
    tk_grad_case g;
    memset(&g, 0, sizeof g);
    g.m = m;
    g.batch = B;
    g.n_inputs = 1;
    g.inputs[0] = xs;
    g.in_count[0] = B * T * E;
    g.in_float[0] = 1;
    tk_grad_mask mk;
    memset(&mk, 0, sizeof mk);
    mk.frozen[0] = frozen;
    char what[64];
    snprintf(what, sizeof what, "Masking cell %d mode %d backwards %d", cell,
             mode, backwards);
    tk_expect_good_grads(tk_grad_check_masked(&g, &mk, 5, &mask_grad_opts),
                         what);
    tk_grad_forward(&g);
    float dy[B * 4 * 2];
    tk_fill(dy, B * T * 2, 3, -1.0f, 1.0f);
    const float *dys[1] = { dy };
    ck_assert_int_eq(sn_model_backward(m, dys), SN_OK);
    const float *dx = sn_model_input_grad(m, 0);
    ck_assert_ptr_nonnull(dx);
    for (int i = 0; i < B * T * E; i++)
        if (frozen[i])
            ck_assert_float_eq(dx[i], 0.0f);
    sn_model_free(m);
}
END_TEST

/* The masked recurrent paths with per-row lengths (a length-0 row
 * included), both padded modes, return_sequences or not, with the
 * padded steps' inputs perturbed too (their gradient must be 0, and the
 * numeric one is). */
START_TEST(test_grad_lengths)
{
    int cell = _i % 3, mode = (_i / 3) % 2, rs = _i / 6;
    enum { B = 3, T = 4, E = 2, H = 3 };
    const int len[B] = { 3, 0, 4 };
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = rs;
    o.padded_output = mode;
    sn_model_t *m = tk_new_model(4);
    int x = sn_input(m, T, E);
    sn_apply(m, make_cell(cell, H, &o), x);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    tk_fill_weights(m, 31, 3, 0.6f);
    float xs[B * T * E];
    tk_fill(xs, B * T * E, 19, -1.0f, 1.0f);
    const int *lens[1] = { len };
    tk_grad_case g;
    memset(&g, 0, sizeof g);
    g.m = m;
    g.batch = B;
    g.n_inputs = 1;
    g.inputs[0] = xs;
    g.in_count[0] = B * T * E;
    g.in_float[0] = 1;
    tk_grad_mask mk;
    memset(&mk, 0, sizeof mk);
    mk.lengths = lens;
    char what[64];
    snprintf(what, sizeof what, "lengths cell %d mode %d rs %d", cell, mode,
             rs);
    tk_expect_good_grads(tk_grad_check_masked(&g, &mk, 8, &mask_grad_opts),
                         what);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ save/load */

START_TEST(test_save_load)
{
    enum { B = 2, T = 3, E = 2, H = 2 };
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = 1;
    o.padded_output = SN_PADDED_ZEROS;
    sn_model_t *m = tk_new_model(6);
    int x = sn_input(m, T, E);
    x = sn_apply(m, sn_masking(0.5f), x);
    sn_apply(m, sn_lstm(H, &o), x);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    void *buf = NULL;
    size_t n = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &buf, &n), SN_OK);
    sn_model_t *m2 = NULL;
    ck_assert_int_eq(sn_model_load_buffer(buf, n, &m2), SN_OK);
    sn_free(buf);
    float xs[B * T * E] = { 1, 2, 0.5f, 0.5f, 3, 1, 0.5f, 0.5f, 0.5f, 0.5f,
                            0.5f, 0.5f };
    float y1[B * T * H], y2[B * T * H];
    const void *in[1] = { xs };
    float *o1[1] = { y1 }, *o2[1] = { y2 };
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, o1), SN_OK);
    ck_assert_int_eq(sn_model_predict(m2, B, in, NULL, o2), SN_OK);
    tk_expect_close(y2, y1, B * T * H, 0.0, "loaded");
    for (int h = 0; h < H; h++) /* padded step 1 of row 0: zeros mode */
        ck_assert_float_eq(y2[1 * H + h], 0.0f);
    sn_model_free(m);
    sn_model_free(m2);
}
END_TEST

static Suite *masking_suite(void)
{
    Suite *s = suite_create("masking");
    TCase *tc = tcase_create("masking");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_masking_values);
    tcase_add_test(tc, test_masking_reaches_pooling);
    tcase_add_test(tc, test_masking_rejects);
    tcase_add_loop_test(tc, test_masking_equals_unpadded, 0, 6);
    tcase_add_loop_test(tc, test_lengths_equal_masking, 0, 3);
    tcase_add_test(tc, test_lengths_rejects);
    tcase_add_test(tc, test_lengths_fit_evaluate);
    tcase_add_loop_test(tc, test_padded_output_modes, 0, 6);
    tcase_add_test(tc, test_zeros_mode_matches_pytorch);
    tcase_add_loop_test(tc, test_grad_masking, 0, 12);
    tcase_add_loop_test(tc, test_grad_lengths, 0, 12);
    tcase_add_test(tc, test_save_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(masking_suite());
}
