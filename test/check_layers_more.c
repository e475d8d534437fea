/*
 * check_layers_more.c - the layers of issue 15 item 6 through the public
 * API: Flatten, Reshape, RepeatVector, Multiply, Dot, SpatialDropout1D and
 * TimeDistributed.  Forward values against hand-written references,
 * finite-difference gradient checks (test/support/gradcheck.c), masks,
 * argument errors and a save/load round trip of every one.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet.h>

#include "support/gradcheck.h"
#include "support/testkit.h"

/* Output k of the last forward with its shape (batch first). */
static const float *out_of(sn_model_t *m, int k, int *dims, int *rank)
{
    int cap = dims != NULL ? SN_MAX_RANK + 1 : 0;
    const float *y = sn_model_output(m, k, dims, cap, rank);
    ck_assert_msg(y != NULL, "no output: %s", sn_last_error());
    return y;
}

static void forward1(sn_model_t *m, int batch, const float *x, int training)
{
    const void *in[1] = {x};
    ck_assert_msg(sn_model_forward(m, batch, in, NULL, training) == SN_OK,
                  "forward: %s", sn_last_error());
}

static void grad_check(sn_model_t *m, int batch, int n_in, float **x,
                       const size_t *n, const char *what)
{
    tk_grad_case g = {m, batch, n_in, {0}, {0}, {0}, 0, NULL};
    for (int i = 0; i < n_in; i++) {
        g.inputs[i] = x[i];
        g.in_count[i] = n[i];
        g.in_float[i] = 1;
    }
    tk_expect_good_grads(tk_grad_check(&g, 31, &tk_grad_defaults), what);
}

/* ------------------------------------------------------ Flatten, Reshape */

START_TEST(test_flatten)
{
    sn_model_t *m = tk_new_model(1);
    int f = sn_apply(m, sn_flatten(), sn_input(m, 3, 4));
    ck_assert_int_ge(sn_apply(m, sn_dense(2, SN_TANH, NULL), f), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float x[2 * 12];
    tk_fill(x, 24, 2, -1.0f, 1.0f);
    float *xs[1] = {x};
    size_t n[1] = {24};
    grad_check(m, 2, 1, xs, n, "Flatten");
    sn_model_free(m);

    /* values: a copy under shape [12] */
    m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, sn_flatten(), sn_input(m, 3, 4)), 0);
    forward1(m, 2, x, 0);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = out_of(m, 0, dims, &rank);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[1], 12);
    ck_assert_mem_eq(y, x, sizeof x);
    sn_model_free(m);

    /* an unknown length cannot be flattened */
    m = tk_new_model(1);
    ck_assert_int_lt(sn_apply(m, sn_flatten(), sn_input(m, SN_ANY_TIME, 4)),
                     0);
    tk_expect_error_mentions("known");
    sn_model_free(m);
}
END_TEST

START_TEST(test_reshape)
{
    sn_model_t *m = tk_new_model(1);
    int r = sn_apply(m, sn_reshape((int[]){3, -1}, 2),
                     sn_input(m, SN_NO_TIME, 12));
    ck_assert_int_ge(r, 0);
    int dims[SN_MAX_RANK + 1], rank;
    ck_assert_int_ge(sn_apply(m, sn_dense(2, SN_TANH, NULL), r), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float x[2 * 12];
    tk_fill(x, 24, 4, -1.0f, 1.0f);
    float *xs[1] = {x};
    size_t n[1] = {24};
    grad_check(m, 2, 1, xs, n, "Reshape");
    sn_model_free(m);

    m = tk_new_model(1);
    ck_assert_int_ge(sn_apply(m, sn_reshape((int[]){2, 3, 2}, 3),
                              sn_input(m, 4, 3)), 0);
    forward1(m, 2, x, 0);
    const float *y = out_of(m, 0, dims, &rank);
    ck_assert_int_eq(rank, 4);
    ck_assert_int_eq(dims[1], 2);
    ck_assert_int_eq(dims[2], 3);
    ck_assert_int_eq(dims[3], 2);
    ck_assert_mem_eq(y, x, sizeof x);
    sn_model_free(m);
    /* sizes that do not agree */
    m = tk_new_model(1);
    ck_assert_int_lt(sn_apply(m, sn_reshape((int[]){5}, 1),
                              sn_input(m, 4, 3)), 0);
    tk_expect_error_mentions("target shape");
    ck_assert_int_lt(sn_apply(m, sn_reshape((int[]){5, -1}, 2),
                              sn_input(m, 4, 3)), 0);
    sn_model_free(m);

    tk_expect_null_with(sn_reshape((int[]){-1, -1}, 2), "target_shape");
    tk_expect_null_with(sn_reshape((int[]){0}, 1), "target_shape");
    tk_expect_null_with(sn_reshape((int[]){1, 1, 1, 1}, 4), "target_shape");
    tk_expect_null_with(sn_reshape(NULL, 1), "target_shape");
}
END_TEST

/* --------------------------------------------------------- RepeatVector */

START_TEST(test_repeat_vector)
{
    sn_model_t *m = tk_new_model(1);
    int r = sn_apply(m, sn_repeat_vector(3), sn_input(m, SN_NO_TIME, 2));
    ck_assert_int_ge(r, 0);
    float x[4] = {1, 2, 3, 4};
    forward1(m, 2, x, 0);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = out_of(m, 0, dims, &rank);
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(dims[1], 3);
    ck_assert_int_eq(dims[2], 2);
    float want[12] = {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4};
    tk_expect_close(y, want, 12, 0.0, "RepeatVector");
    sn_model_free(m);
    m = tk_new_model(1);
    r = sn_apply(m, sn_repeat_vector(3), sn_input(m, SN_NO_TIME, 2));
    ck_assert_int_ge(sn_apply(m, sn_simple_rnn(2, NULL), r), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float *xs[1] = {x};
    size_t n[1] = {4};
    grad_check(m, 2, 1, xs, n, "RepeatVector");
    sn_model_free(m);

    tk_expect_null_with(sn_repeat_vector(0), "n must");
    m = tk_new_model(1);
    ck_assert_int_lt(sn_apply(m, sn_repeat_vector(2), sn_input(m, 3, 2)), 0);
    tk_expect_error_mentions("rank 1");
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- Multiply */

START_TEST(test_multiply)
{
    sn_model_t *m = tk_new_model(1);
    int in[3] = {sn_input(m, 2, 3), sn_input(m, 2, 3), sn_input(m, 2, 3)};
    int out;
    ck_assert_int_eq(sn_apply_n(m, sn_multiply(), in, 3, &out, 1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float a[12], b[12], c[12];
    tk_fill(a, 12, 1, -2.0f, 2.0f);
    tk_fill(b, 12, 2, -2.0f, 2.0f);
    tk_fill(c, 12, 3, -2.0f, 2.0f);
    b[5] = 0.0f; /* a zero factor: the others' gradients are still right */
    const void *ins[3] = {a, b, c};
    ck_assert_int_eq(sn_model_forward(m, 2, ins, NULL, 0), SN_OK);
    const float *y = out_of(m, 0, NULL, NULL);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(y[i], a[i] * b[i] * c[i], 1e-6f);
    float *xs[3] = {a, b, c};
    size_t n[3] = {12, 12, 12};
    grad_check(m, 2, 3, xs, n, "Multiply");
    sn_model_free(m);
    /* shapes must agree */
    m = tk_new_model(1);
    int bad[2] = {sn_input(m, 2, 3), sn_input(m, 2, 4)};
    ck_assert_int_lt(sn_apply_n(m, sn_multiply(), bad, 2, &out, 1), 0);
    tk_expect_error_mentions("one shape");
    sn_model_free(m);
}
END_TEST

/* -------------------------------------------------------------- Average */

START_TEST(test_average)
{
    sn_model_t *m = tk_new_model(1);
    int in[3] = {sn_input(m, 2, 3), sn_input(m, 2, 3), sn_input(m, 2, 3)};
    int out;
    ck_assert_int_eq(sn_apply_n(m, sn_average(), in, 3, &out, 1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float a[12], b[12], c[12];
    tk_fill(a, 12, 4, -2.0f, 2.0f);
    tk_fill(b, 12, 5, -2.0f, 2.0f);
    tk_fill(c, 12, 6, -2.0f, 2.0f);
    const void *ins[3] = {a, b, c};
    ck_assert_int_eq(sn_model_forward(m, 2, ins, NULL, 0), SN_OK);
    const float *y = out_of(m, 0, NULL, NULL);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(y[i], (a[i] + b[i] + c[i]) / 3.0f, 1e-6f);
    float *xs[3] = {a, b, c};
    size_t n[3] = {12, 12, 12};
    grad_check(m, 2, 3, xs, n, "Average");
    ck_assert_str_eq(sn_layer_type(sn_model_layer(m, 3)), "Average");
    sn_model_free(m);
    /* shapes must agree; one input is not a merge */
    m = tk_new_model(1);
    int bad[2] = {sn_input(m, 2, 3), sn_input(m, 3, 3)};
    ck_assert_int_lt(sn_apply_n(m, sn_average(), bad, 2, &out, 1), 0);
    tk_expect_error_mentions("one shape");
    ck_assert_int_lt(sn_apply_n(m, sn_average(), bad, 1, &out, 1), 0);
    sn_model_free(m);
    /* masks are AND-ed: the pooled mean skips a step padded in either */
    m = tk_new_model(1);
    int t = sn_input_tokens(m, 3);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int e[2] = {sn_apply(m, sn_embedding(5, 2, &eo), t),
                sn_apply(m, sn_embedding(5, 2, NULL), t)};
    ck_assert_int_eq(sn_apply_n(m, sn_average(), e, 2, &out, 1), 1);
    ck_assert_int_ge(sn_apply(m, sn_global_average_pooling1d(), out), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int32_t ids[3] = {1, 2, 0};
    const void *tin[1] = {ids};
    ck_assert_int_eq(sn_model_forward(m, 1, tin, NULL, 0), SN_OK);
    const float *pooled = sn_model_output(m, 0, NULL, 0, NULL);
    const float *w1 = tk_weight(m, "embedding/embeddings", NULL);
    const float *w2 = tk_weight(m, "embedding_1/embeddings", NULL);
    for (int f = 0; f < 2; f++) {
        float want = ((w1[2 + f] + w2[2 + f]) / 2.0f +
                      (w1[4 + f] + w2[4 + f]) / 2.0f) / 2.0f;
        ck_assert_float_eq_tol(pooled[f], want, 1e-6f);
    }
    sn_model_free(m);
}
END_TEST

START_TEST(test_multiply_mask_and)
{
    sn_model_t *m = tk_new_model(1);
    int t = sn_input_tokens(m, 3);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int e1 = sn_apply(m, sn_embedding(5, 2, &eo), t);
    int e2 = sn_apply(m, sn_embedding(5, 2, NULL), t);
    int in[2] = {e1, e2}, out;
    ck_assert_int_eq(sn_apply_n(m, sn_multiply(), in, 2, &out, 1), 1);
    /* the pooled mean leaves the padded step out only if the mask came
     * through Multiply */
    ck_assert_int_ge(sn_apply(m, sn_global_average_pooling1d(), out), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int32_t ids[3] = {1, 2, 0};
    const void *ins[1] = {ids};
    ck_assert_int_eq(sn_model_forward(m, 1, ins, NULL, 0), SN_OK);
    const float *prod = sn_model_output(m, 0, NULL, 0, NULL);
    float w1[10], w2[10];
    memcpy(w1, tk_weight(m, "embedding/embeddings", NULL), sizeof w1);
    memcpy(w2, tk_weight(m, "embedding_1/embeddings", NULL), sizeof w2);
    for (int f = 0; f < 2; f++) {
        float want = (w1[2 + f] * w2[2 + f] + w1[4 + f] * w2[4 + f]) / 2.0f;
        ck_assert_float_eq_tol(prod[f], want, 1e-6f);
    }
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ Dot */

/* Reference batch_dot for one sample: a [ra dims], b [rb dims], 0-based
 * dot axes; both rank 1 or 2. */
static void dot_ref(const float *a, int ra, const int *da, int ka,
                    const float *b, int rb, const int *db, int kb,
                    int normalize, float *y)
{
    int pa = ra == 2 ? da[1 - ka] : 1, pb = rb == 2 ? db[1 - kb] : 1;
    int k = da[ka];
    for (int i = 0; i < pa; i++)
        for (int j = 0; j < pb; j++) {
            double s = 0, na = 0, nb = 0;
            for (int t = 0; t < k; t++) {
                double va = ra == 1 ? a[t] : ka == 1 ? a[i * da[1] + t]
                                                     : a[t * da[1] + i];
                double vb = rb == 1 ? b[t] : kb == 1 ? b[j * db[1] + t]
                                                     : b[t * db[1] + j];
                s += va * vb;
                na += va * va;
                nb += vb * vb;
            }
            if (normalize)
                s /= sqrt(fmax(na, 1e-12)) * sqrt(fmax(nb, 1e-12));
            y[i * pb + j] = (float)s;
        }
}

/* Dot between input shapes a and b (timesteps SN_NO_TIME for rank 1) with
 * Keras axes; values against dot_ref and a gradient check. */
static void dot_case(int ta, int fa, int tb, int fb, int axa, int axb,
                     int normalize)
{
    const int batch = 2;
    sn_model_t *m = tk_new_model(3);
    int in[2] = {sn_input(m, ta, fa), sn_input(m, tb, fb)}, out;
    ck_assert_int_eq(sn_apply_n(m, sn_dot(axa, axb, normalize), in, 2, &out,
                                1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int ra = ta > 0 ? 2 : 1, rb = tb > 0 ? 2 : 1;
    int da[2] = {ta > 0 ? ta : fa, fa}, db[2] = {tb > 0 ? tb : fb, fb};
    int ka = axa == -1 ? ra - 1 : axa - 1, kb = axb == -1 ? rb - 1 : axb - 1;
    size_t na = (size_t)batch * (ta > 0 ? ta : 1) * fa;
    size_t nb = (size_t)batch * (tb > 0 ? tb : 1) * fb;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
    tk_fill(a, na, 11, -1.0f, 1.0f);
    tk_fill(b, nb, 12, -1.0f, 1.0f);
    const void *ins[2] = {a, b};
    ck_assert_int_eq(sn_model_forward(m, batch, ins, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = out_of(m, 0, dims, &rank);
    size_t per = tk_output_count(m, 0) / batch;
    float want[64];
    ck_assert_uint_le(per, 64);
    char what[96];
    snprintf(what, sizeof what, "Dot (%d,%d)x(%d,%d) axes (%d,%d) norm %d",
             ta, fa, tb, fb, axa, axb, normalize);
    for (int s = 0; s < batch; s++) {
        dot_ref(a + s * na / batch, ra, da, ka, b + s * nb / batch, rb, db,
                kb, normalize, want);
        tk_expect_close(y + s * per, want, per, 1e-5, what);
    }
    float *xs[2] = {a, b};
    size_t n[2] = {na, nb};
    grad_check(m, batch, 2, xs, n, what);
    free(a);
    free(b);
    sn_model_free(m);
}

START_TEST(test_dot_values_and_grads)
{
    for (int norm = 0; norm < 2; norm++) {
        dot_case(SN_NO_TIME, 4, SN_NO_TIME, 4, 1, 1, norm);  /* -> [1]    */
        dot_case(3, 4, 5, 4, 2, 2, norm);                    /* -> [3, 5] */
        dot_case(3, 4, 3, 2, 1, 1, norm);                    /* -> [4, 2] */
        dot_case(3, 4, 4, 3, 2, 1, norm);                    /* -> [3, 3] */
        dot_case(3, 4, SN_NO_TIME, 4, -1, -1, norm);         /* -> [3]    */
        dot_case(SN_NO_TIME, 3, 3, 5, 1, 1, norm);           /* -> [5]    */
    }
}
END_TEST

START_TEST(test_dot_shapes_and_errors)
{
    sn_model_t *m = tk_new_model(3);
    int in[2] = {sn_input(m, 3, 4), sn_input(m, 5, 4)}, out;
    ck_assert_int_eq(sn_apply_n(m, sn_dot(2, 2, 0), in, 2, &out, 1), 1);
    int bad[2] = {sn_input(m, 3, 4), sn_input(m, 5, 3)};
    ck_assert_int_lt(sn_apply_n(m, sn_dot(-1, -1, 0), bad, 2, &out, 1), 0);
    tk_expect_error_mentions("differ");
    ck_assert_int_lt(sn_apply_n(m, sn_dot(2, 2, 0),
                                (int[]){sn_input(m, SN_NO_TIME, 4),
                                        sn_input(m, SN_NO_TIME, 4)},
                                2, &out, 1), 0);
    tk_expect_error_mentions("axis");
    sn_model_free(m);
    tk_expect_null_with(sn_dot(0, 1, 0), "axes");
    tk_expect_null_with(sn_dot(1, 3, 0), "axes");

    /* a zero vector normalises to zero (clamped norm), finite gradient */
    m = tk_new_model(3);
    int z[2] = {sn_input(m, SN_NO_TIME, 3), sn_input(m, SN_NO_TIME, 3)};
    ck_assert_int_eq(sn_apply_n(m, sn_dot(1, 1, 1), z, 2, &out, 1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float a[3] = {0, 0, 0}, b[3] = {1, 2, 3}, one = 1.0f;
    const void *ins[2] = {a, b};
    ck_assert_int_eq(sn_model_forward(m, 1, ins, NULL, 0), SN_OK);
    ck_assert_float_eq(out_of(m, 0, NULL, NULL)[0], 0.0f);
    const float *g[1] = {&one};
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    for (int i = 0; i < 3; i++)
        ck_assert(isfinite(sn_model_input_grad(m, 0)[i]));
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------- SpatialDropout1D */

START_TEST(test_spatial_dropout)
{
    const int batch = 8, t = 5, ch = 16;
    const float rate = 0.5f;
    sn_model_t *m = tk_new_model(9);
    ck_assert_int_ge(sn_apply(m, sn_spatial_dropout1d(rate),
                              sn_input(m, t, ch)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    size_t n = (size_t)batch * t * ch;
    float *x = malloc(n * sizeof *x), *ones = malloc(n * sizeof *ones);
    tk_fill(x, n, 4, 0.5f, 1.5f); /* never 0: a 0 output means dropped */
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    forward1(m, batch, x, 1);
    const float *y = out_of(m, 0, NULL, NULL);
    int dropped = 0;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < ch; c++) {
            size_t i0 = (size_t)b * t * ch + c;
            int kept = y[i0] != 0.0f;
            dropped += !kept;
            for (int s = 0; s < t; s++) { /* the same at every step */
                size_t i = i0 + (size_t)s * ch;
                ck_assert_float_eq_tol(y[i], kept ? x[i] / (1.0f - rate) : 0,
                                       1e-6f);
            }
        }
    /* 128 channels at rate 0.5: 64 expected; 30..98 is > 6 sigma */
    ck_assert_int_gt(dropped, 30);
    ck_assert_int_lt(dropped, 98);
    /* backward: the same factors */
    const float *g[1] = {ones};
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    const float *dx = sn_model_input_grad(m, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq_tol(dx[i], y[i] / x[i], 1e-5f);
    /* inference: identity */
    forward1(m, batch, x, 0);
    ck_assert_mem_eq(out_of(m, 0, NULL, NULL), x, n * sizeof *x);
    free(x);
    free(ones);
    sn_model_free(m);
    m = tk_new_model(9);
    ck_assert_int_ge(sn_apply(m, sn_spatial_dropout1d(rate),
                              sn_input(m, 3, 2)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float xs[2 * 3 * 2];
    tk_fill(xs, 12, 4, -1.0f, 1.0f);
    tk_grad_case gc = {m, 2, 1, {xs}, {12}, {1}, 0, NULL};
    tk_expect_good_grads(tk_grad_check(&gc, 3, &tk_grad_defaults),
                         "SpatialDropout1D inference");
    sn_model_free(m);

    tk_expect_null_with(sn_spatial_dropout1d(1.0f), "rate");
    tk_expect_null_with(sn_spatial_dropout1d(NAN), "rate");
    m = tk_new_model(1);
    ck_assert_int_lt(sn_apply(m, sn_spatial_dropout1d(0.1f),
                              sn_input(m, SN_NO_TIME, 3)), 0);
    tk_expect_error_mentions("rank 2");
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ TimeDistributed */

/* TimeDistributed(Dense) equals Dense on [time, features] (which Keras
 * also applies per step), with the weights under the wrapper's name. */
START_TEST(test_td_dense_matches_dense)
{
    sn_model_t *a = tk_new_model(5), *b = tk_new_model(5);
    ck_assert_int_ge(sn_apply(a, sn_time_distributed(sn_dense(3, SN_GELU,
                                                              NULL)),
                              sn_input(a, 4, 2)), 0);
    ck_assert_int_ge(sn_apply(b, sn_dense(3, SN_GELU, NULL),
                              sn_input(b, 4, 2)), 0);
    ck_assert_int_eq(sn_model_build(a), SN_OK);
    ck_assert_int_eq(sn_model_build(b), SN_OK);
    ck_assert_int_ge(sn_model_find_weight(a, "time_distributed/kernel"), 0);
    ck_assert_int_ge(sn_model_find_weight(a, "time_distributed/bias"), 0);
    size_t nk, nb;
    float *ka = tk_weight(a, "time_distributed/kernel", &nk);
    float *ba = tk_weight(a, "time_distributed/bias", &nb);
    tk_fill(ka, nk, 1, -1.0f, 1.0f);
    tk_fill(ba, nb, 2, -1.0f, 1.0f);
    memcpy(tk_weight(b, "dense/kernel", NULL), ka, nk * sizeof *ka);
    memcpy(tk_weight(b, "dense/bias", NULL), ba, nb * sizeof *ba);
    float x[3 * 4 * 2];
    tk_fill(x, 24, 3, -1.0f, 1.0f);
    forward1(a, 3, x, 0);
    forward1(b, 3, x, 0);
    int dims[SN_MAX_RANK + 1], rank;
    const float *ya = out_of(a, 0, dims, &rank);
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(dims[1], 4);
    ck_assert_int_eq(dims[2], 3);
    tk_expect_close(ya, out_of(b, 0, NULL, NULL), 36, 1e-6, "TD(Dense)");
    float *xs[1] = {x};
    size_t n[1] = {24};
    grad_check(a, 3, 1, xs, n, "TimeDistributed(Dense)");
    sn_model_free(a);
    sn_model_free(b);
}
END_TEST

/* [T, T2, F] built with Reshape; TD(LSTM) reads each step's sub-sequence,
 * TD(Conv1D) convolves each step: values against running the inner layer
 * on each step as its own sample, and gradient checks. */
static void td_rank3_case(int use_lstm)
{
    const int batch = 2, t = 3, t2 = 4, f = 2, per_in = t2 * f;
    sn_model_t *m = tk_new_model(7);
    int x = sn_input(m, t, per_in);
    int r = sn_apply(m, sn_reshape((int[]){t, t2, f}, 3), x);
    sn_layer_t *inner = use_lstm ? sn_lstm(3, NULL) : sn_conv1d(3, 2, NULL);
    int y = sn_apply(m, sn_time_distributed(inner), r);
    ck_assert_int_ge(y, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    tk_fill_weights(m, 21, 7, 0.5f);

    /* the same inner layer alone on [T2, F], same weights */
    sn_model_t *s = tk_new_model(7);
    ck_assert_int_ge(sn_apply(s, use_lstm ? sn_lstm(3, NULL)
                                          : sn_conv1d(3, 2, NULL),
                              sn_input(s, t2, f)), 0);
    ck_assert_int_eq(sn_model_build(s), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(s), sn_model_num_weights(m));
    for (int w = 0; w < sn_model_num_weights(m); w++) {
        size_t cnt;
        float *src = sn_model_weight_data(m, w, &cnt);
        float *dst = sn_model_weight_data(s, w, NULL);
        memcpy(dst, src, cnt * sizeof *src);
    }
    float xin[2 * 3 * 8];
    tk_fill(xin, 48, 8, -1.0f, 1.0f);
    forward1(m, batch, xin, 0);
    forward1(s, batch * t, xin, 0);
    size_t n_out = tk_output_count(m, 0);
    ck_assert_uint_eq(n_out, tk_output_count(s, 0));
    tk_expect_close(out_of(m, 0, NULL, NULL), out_of(s, 0, NULL, NULL), n_out,
                    1e-6, use_lstm ? "TD(LSTM)" : "TD(Conv1D)");
    float *xs[1] = {xin};
    size_t n[1] = {48};
    grad_check(m, batch, 1, xs, n,
               use_lstm ? "TimeDistributed(LSTM)" : "TimeDistributed(Conv1D)");
    sn_model_free(s);
    sn_model_free(m);
}

START_TEST(test_td_rank3)
{
    td_rank3_case(_i);
}
END_TEST

START_TEST(test_td_mask_and_errors)
{
    /* the mask of Embedding(mask_zero) passes through TD(Dense) to the
     * pooling that honours it */
    sn_model_t *m = tk_new_model(2);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int e = sn_apply(m, sn_embedding(4, 2, &eo), sn_input_tokens(m, 3));
    int d = sn_apply(m, sn_time_distributed(sn_dense(1, SN_LINEAR, NULL)), e);
    ck_assert_int_ge(sn_apply(m, sn_global_max_pooling1d(), d), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float *k = tk_weight(m, "time_distributed/kernel", NULL);
    float *emb = tk_weight(m, "embedding/embeddings", NULL);
    k[0] = 1.0f;
    k[1] = 0.0f;
    emb[0] = 100.0f; /* id 0 would win the max if it were not masked */
    emb[2] = 1.0f;
    int32_t ids[3] = {1, 1, 0};
    const void *in[1] = {ids};
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 0), SN_OK);
    ck_assert_float_eq_tol(out_of(m, 0, NULL, NULL)[0], 1.0f, 1e-6f);
    sn_model_free(m);

    tk_expect_null_with(sn_time_distributed(NULL), "NULL");
    tk_expect_null_with(sn_time_distributed(sn_add()), "one input");
    tk_expect_null_with(sn_time_distributed(sn_time_distributed(
                            sn_time_distributed(sn_dense(1, SN_LINEAR, NULL)))),
                        "deep");
    m = tk_new_model(2);
    sn_layer_t *used = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_ge(sn_apply(m, used, sn_input(m, 3, 2)), 0);
    tk_expect_null_with(sn_time_distributed(used), "already");
    ck_assert_int_lt(sn_apply(m, sn_time_distributed(sn_dense(2, SN_LINEAR,
                                                               NULL)),
                              sn_input(m, SN_NO_TIME, 2)), 0);
    tk_expect_error_mentions("time axis");
    /* an inner layer with two outputs */
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_state = 1;
    int r3 = sn_apply(m, sn_reshape((int[]){3, 2, 1}, 3), sn_input(m, 3, 2));
    ck_assert_int_lt(sn_apply(m, sn_time_distributed(sn_gru(2, &ro)), r3), 0);
    tk_expect_error_mentions("outputs");
    sn_model_free(m);
}
END_TEST

/* -------------------------------------------------------- save and load */

START_TEST(test_save_load_every_new_layer)
{
    sn_model_t *m = tk_new_model(13);
    int x = sn_input(m, 4, 6);
    int r = sn_apply(m, sn_reshape((int[]){4, 3, 2}, 3), x);
    int td = sn_apply(m, sn_time_distributed(sn_time_distributed(
                             sn_dense(2, SN_SELU, NULL))), r);  /* [4,3,2] */
    int tl = sn_apply(m, sn_time_distributed(sn_lstm(3, NULL)), td); /* [4,3] */
    int sd = sn_apply(m, sn_spatial_dropout1d(0.2f), tl);
    int in2[2] = {sd, tl}, mul, dot;
    ck_assert_int_eq(sn_apply_n(m, sn_multiply(), in2, 2, &mul, 1), 1);
    int in_avg[2] = {mul, tl}, avg;
    ck_assert_int_eq(sn_apply_n(m, sn_average(), in_avg, 2, &avg, 1), 1);
    int in3[2] = {avg, tl};
    ck_assert_int_eq(sn_apply_n(m, sn_dot(2, 2, 1), in3, 2, &dot, 1), 1);
    int fl = sn_apply(m, sn_flatten(), dot);                         /* [16] */
    int rv = sn_apply(m, sn_repeat_vector(2), fl);
    ck_assert_int_ge(sn_apply(m, sn_leaky_relu(0.3f), rv), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    void *data;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    sn_model_t *back = NULL;
    ck_assert_msg(sn_model_load_buffer(data, len, &back) == SN_OK, "load: %s",
                  sn_last_error());
    float xin[2 * 24], y1[2 * 32], y2[2 * 32];
    tk_fill(xin, 48, 3, -1.0f, 1.0f);
    const void *in[1] = {xin};
    float *o1[1] = {y1}, *o2[1] = {y2};
    ck_assert_uint_eq(sizeof y1 / sizeof *y1 / 2, 32);
    ck_assert_int_eq(sn_model_predict(m, 2, in, NULL, o1), SN_OK);
    ck_assert_int_eq(sn_model_predict(back, 2, in, NULL, o2), SN_OK);
    ck_assert_mem_eq(y1, y2, sizeof y1);
    for (int i = 0; i < sn_model_num_layers(m); i++)
        ck_assert_str_eq(sn_layer_type(sn_model_layer(m, i)),
                         sn_layer_type(sn_model_layer(back, i)));
    /* saving the loaded model gives the same bytes */
    void *again;
    size_t len2;
    ck_assert_int_eq(sn_model_save_buffer(back, 0, &again, &len2), SN_OK);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(data, again, len);
    sn_free(again);
    /* every truncation is refused cleanly */
    for (size_t cut = 0; cut < len; cut += 7) {
        sn_model_t *t = NULL;
        ck_assert_int_ne(sn_model_load_buffer(data, cut, &t), SN_OK);
        ck_assert_ptr_null(t);
    }
    sn_free(data);
    sn_model_free(back);
    sn_model_free(m);
}
END_TEST

static Suite *layers_more_suite(void)
{
    Suite *s = suite_create("layers_more");
    TCase *tc = tcase_create("reshaping");
    tcase_add_test(tc, test_flatten);
    tcase_add_test(tc, test_reshape);
    tcase_add_test(tc, test_repeat_vector);
    suite_add_tcase(s, tc);
    tc = tcase_create("merging");
    tcase_add_test(tc, test_multiply);
    tcase_add_test(tc, test_average);
    tcase_add_test(tc, test_multiply_mask_and);
    tcase_add_test(tc, test_dot_values_and_grads);
    tcase_add_test(tc, test_dot_shapes_and_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("dropout");
    tcase_add_test(tc, test_spatial_dropout);
    suite_add_tcase(s, tc);
    tc = tcase_create("time_distributed");
    tcase_add_test(tc, test_td_dense_matches_dense);
    tcase_add_loop_test(tc, test_td_rank3, 0, 2);
    tcase_add_test(tc, test_td_mask_and_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("save");
    tcase_add_test(tc, test_save_load_every_new_layer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(layers_more_suite());
}
