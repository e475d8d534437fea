/*
 * check_rnn_batch.c - large batches: the recurrent layers split the batch
 * over the model's threads (one slice of rows each) and use their own blocked
 * matrix kernel.  A batch must give, row by row, what each row gives
 * alone, and its weight gradients must be the sum of the rows' gradients.
 * Batch 40 with an uneven split, masks and odd sizes exercise the slice
 * and edge-block paths.
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stdlib.h>
#include <string.h>

#include "support/testkit.h"

enum { B = 40, T = 7, V = 9, E = 5 };

typedef enum kind { K_SIMPLE, K_LSTM, K_GRU, K_GRU_BEFORE, K_BIDI } kind;

static sn_model_t *make_model(kind k, int units, int return_sequences)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 21;
    sn_model_t *m = sn_model_new(&mo);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int x = sn_apply(m, sn_embedding(V, E, &eo), sn_input_tokens(m, T));
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = return_sequences;
    o.reset_after = k != K_GRU_BEFORE;
    sn_layer_t *l = k == K_SIMPLE ? sn_simple_rnn(units, &o)
                    : k == K_LSTM ? sn_lstm(units, &o)
                    : k == K_BIDI ? sn_bidirectional(sn_lstm(units, &o),
                                                     SN_MERGE_CONCAT)
                                  : sn_gru(units, &o);
    ck_assert_int_ge(sn_apply(m, l, x), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    /* every weight random, the biases too: the batched (fused) and the
     * row-by-row paths add the biases in different places */
    tk_fill_weights(m, 77, 7919, 0.5f);
    return m;
}

/* Token rows with post- and pre-padding and a fully padded row. */
static void make_ids(int32_t *ids)
{
    for (int b = 0; b < B; b++) {
        int len = 1 + b % T;
        for (int t = 0; t < T; t++) {
            int real = b % 2 ? t < len : t >= T - len;
            ids[b * T + t] = real ? 1 + (b * 7 + t * 3) % (V - 1) : 0;
        }
    }
    for (int t = 0; t < T; t++)
        ids[5 * T + t] = 0;
}

static size_t out_count(sn_model_t *m, int batch)
{
    int dims[SN_MAX_RANK + 1], rank;
    ck_assert_ptr_nonnull(sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank));
    ck_assert_int_eq(dims[0], batch);
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

static size_t total_weights(sn_model_t *m)
{
    size_t total = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t n;
        sn_model_weight_grad(m, i, &n);
        total += n;
    }
    return total;
}

static void grads_into(sn_model_t *m, double *acc)
{
    size_t at = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t n;
        const float *g = sn_model_weight_grad(m, i, &n);
        for (size_t j = 0; j < n; j++)
            acc[at + j] += g[j];
        at += n;
    }
}

static void check_rows_match_batch(kind k, int units, int return_sequences)
{
    sn_model_t *m = make_model(k, units, return_sequences);
    int32_t ids[B * T];
    make_ids(ids);
    const void *in[1] = { ids };
    ck_assert_int_eq(sn_model_forward(m, B, in, NULL, 0), SN_OK);
    size_t n = out_count(m, B), per = n / B;
    float *y = malloc(n * sizeof *y), *w = malloc(n * sizeof *w);
    memcpy(y, sn_model_output(m, 0, NULL, 0, NULL), n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        w[i] = sinf(0.37f * (float)i);
    const float *g[1] = { w };
    size_t nw = total_weights(m);
    double *full = calloc(nw, sizeof *full), *rows = calloc(nw, sizeof *rows);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    grads_into(m, full);
    for (int b = 0; b < B; b++) {
        const void *one[1] = { ids + b * T };
        ck_assert_int_eq(sn_model_forward(m, 1, one, NULL, 0), SN_OK);
        const float *yb = sn_model_output(m, 0, NULL, 0, NULL);
        for (size_t i = 0; i < per; i++)
            ck_assert_msg(fabsf(yb[i] - y[b * per + i]) < 1e-5f,
                          "kind %d row %d element %zu: %g alone, %g in batch",
                          (int)k, b, i, (double)yb[i],
                          (double)y[b * per + i]);
        const float *gb[1] = { w + b * per };
        ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
        ck_assert_int_eq(sn_model_backward(m, gb), SN_OK);
        grads_into(m, rows);
    }
    for (size_t i = 0; i < nw; i++)
        ck_assert_msg(fabs(full[i] - rows[i]) <= 1e-4 * (1 + fabs(rows[i])),
                      "kind %d weight %zu: batch %g, sum of rows %g",
                      (int)k, i, full[i], rows[i]);
    free(y);
    free(w);
    free(full);
    free(rows);
    sn_model_free(m);
}

START_TEST(test_batch_equals_rows)
{
    static const kind kinds[] = { K_SIMPLE, K_LSTM, K_GRU, K_GRU_BEFORE,
                                  K_BIDI };
    kind k = kinds[_i % 5];
    int units = _i < 5 ? 32 : 13; /* 13: edge blocks of the kernel */
    check_rows_match_batch(k, units, 0);
    check_rows_match_batch(k, units, 1);
}
END_TEST

/* Every cell, both output forms, masked rows, kernel edge sizes (E = 5
 * splits the fused [x_t | h] product inside a column group of 8). */
START_TEST(test_batch_predict_matches_forward)
{
    static const kind kinds[] = { K_SIMPLE, K_LSTM, K_GRU, K_GRU_BEFORE,
                                  K_BIDI };
    sn_model_t *m = make_model(kinds[_i % 5], _i < 10 ? 24 : 13,
                               (_i / 5) % 2);
    int32_t ids[B * T];
    make_ids(ids);
    const void *in[1] = { ids };
    ck_assert_int_eq(sn_model_forward(m, B, in, NULL, 0), SN_OK);
    size_t n = out_count(m, B);
    float *p = malloc(n * sizeof *p);
    float *outs[1] = { p };
    /* twice: the second predict reuses a pooled workspace.  Predict runs
     * the fused inference step ([x_t | h].[K; R] in one product), which
     * sums in another order than forward's x.K + b, then + h.R: equal up
     * to float rounding, and bit-identical from one predict to the next. */
    const float *ref = sn_model_output(m, 0, NULL, 0, NULL);
    float *first = malloc(n * sizeof *first);
    for (int rep = 0; rep < 2; rep++) {
        ck_assert_int_eq(sn_model_predict(m, B, in, NULL, outs), SN_OK);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(fabsf(p[i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i])),
                          "output %zu: predict %g, forward %g", i, p[i],
                          ref[i]);
        if (rep == 0)
            memcpy(first, p, n * sizeof *p);
        else
            ck_assert_mem_eq(first, p, n * sizeof *p);
    }
    free(first);
    free(p);
    sn_model_free(m);
}
END_TEST

/* E + H above one k-panel of the kernel (256): the fused product's
 * [x_t | h] boundary falls inside the first panel and the second panel
 * reads only h.  Forward and predict of the batch both run the fused
 * step, so each row is also predicted alone (batch 1: the one-GEMM
 * projection path) as an independent reference. */
START_TEST(test_predict_matches_forward_wide)
{
    enum { WE = 200, WH = 100 };
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 5;
    sn_model_t *m = sn_model_new(&mo);
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.return_sequences = 1;
    sn_layer_t *l = _i == 0   ? sn_lstm(WH, &o)
                    : _i == 1 ? sn_simple_rnn(WH, &o)
                              : sn_gru(WH, &o);
    ck_assert_int_ge(sn_apply(m, l, sn_input(m, T, WE)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float *x = malloc((size_t)B * T * WE * sizeof *x);
    for (size_t i = 0; i < (size_t)B * T * WE; i++)
        x[i] = sinf(0.11f * (float)i);
    const void *in[1] = { x };
    ck_assert_int_eq(sn_model_forward(m, B, in, NULL, 0), SN_OK);
    size_t n = out_count(m, B);
    const float *ref = sn_model_output(m, 0, NULL, 0, NULL);
    float *p = malloc(n * sizeof *p);
    float *outs[1] = { p };
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, outs), SN_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(p[i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i])),
                      "output %zu: predict %g, forward %g", i, p[i], ref[i]);
    tk_fill_weights(m, 91, 7919, 0.3f); /* nonzero biases as well */
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, outs), SN_OK);
    size_t per = n / B;
    float *alone = malloc(per * sizeof *alone);
    for (int b = 0; b < B; b++) {
        const void *in1[1] = { x + (size_t)b * T * WE };
        float *out1[1] = { alone };
        ck_assert_int_eq(sn_model_predict(m, 1, in1, NULL, out1), SN_OK);
        for (size_t i = 0; i < per; i++) {
            float got = p[(size_t)b * per + i];
            ck_assert_msg(fabsf(got - alone[i]) <= 1e-4f * (1 + fabsf(alone[i])),
                          "row %d output %zu: in batch %g, alone %g", b, i,
                          got, alone[i]);
        }
    }
    free(alone);
    free(p);
    free(x);
    sn_model_free(m);
}
END_TEST

/* The thread count: validated, clamped, defaulted, and without effect on
 * the numbers (each row's sums run in the same order on any split). */
START_TEST(test_thread_count_changes_nothing_but_speed)
{
    kind k = (kind)_i;
    ck_assert_int_eq(sn_model_set_num_threads(NULL, 2), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_num_threads(NULL), 0);
    sn_model_t *m = make_model(k, 19, 1);
    ck_assert_int_eq(sn_model_set_num_threads(m, -1), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_set_num_threads(m, 1000), SN_OK);
    ck_assert_int_eq(sn_model_num_threads(m) <= 8, 1);
    ck_assert_int_ge(sn_model_num_threads(m), 1);
    int32_t ids[B * T];
    make_ids(ids);
    const void *in[1] = { ids };
    ck_assert_int_eq(sn_model_forward(m, B, in, NULL, 0), SN_OK);
    size_t n = out_count(m, B);
    float *ref = malloc(n * sizeof *ref), *y = malloc(n * sizeof *y);
    size_t nw = total_weights(m);
    double *g_ref = calloc(nw, sizeof *g_ref), *g = calloc(nw, sizeof *g);
    float *w = malloc(n * sizeof *w);
    ck_assert(ref && y && g_ref && g && w);
    for (size_t i = 0; i < n; i++)
        w[i] = cosf(0.11f * (float)i);
    const float *grads[1] = { w };
    int counts[] = { 1, 3, 2, 0 };
    for (int c = 0; c < 4; c++) {
        ck_assert_int_eq(sn_model_set_num_threads(m, counts[c]), SN_OK);
        if (counts[c] > 0)
            ck_assert_int_le(sn_model_num_threads(m), counts[c]);
        float *outs[1] = { y };
        ck_assert_int_eq(sn_model_predict(m, B, in, NULL, outs), SN_OK);
        ck_assert_int_eq(sn_model_forward(m, B, in, NULL, 0), SN_OK);
        ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
        ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
        memset(g, 0, nw * sizeof *g);
        grads_into(m, g);
        if (c == 0) {
            memcpy(ref, y, n * sizeof *y);
            memcpy(g_ref, g, nw * sizeof *g);
            continue;
        }
        ck_assert_msg(memcmp(ref, y, n * sizeof *y) == 0,
                      "kind %d: %d threads predict differently from 1", k,
                      counts[c]);
        for (size_t i = 0; i < nw; i++)
            ck_assert_msg(fabs(g[i] - g_ref[i]) <= 1e-5 * (1 + fabs(g_ref[i])),
                          "kind %d: %d threads: weight grad %zu %g vs %g", k,
                          counts[c], i, g[i], g_ref[i]);
    }
    free(ref);
    free(y);
    free(g_ref);
    free(g);
    free(w);
    sn_model_free(m);
}
END_TEST

/* sn_cpu_isa names a path, and SN_CPU caps it. */
START_TEST(test_cpu_isa_named_and_capped)
{
    const char *isa = sn_cpu_isa();
    ck_assert_ptr_nonnull(isa);
    /* x86: avx512 > avx2 > generic; aarch64: neon (CBLAS) > generic */
    int rank = strcmp(isa, "avx512") == 0 ? 2
               : strcmp(isa, "avx2") == 0 || strcmp(isa, "neon") == 0 ? 1
               : strcmp(isa, "generic") == 0 ? 0 : -1;
    ck_assert_msg(rank >= 0, "unknown path '%s'", isa);
    const char *cap = getenv("SN_CPU");
    if (cap != NULL && strcmp(cap, "avx2") == 0)
        ck_assert_int_le(rank, 1);
    if (cap != NULL && strcmp(cap, "generic") == 0)
        ck_assert_int_eq(rank, 0);
    ck_assert_str_eq(sn_cpu_isa(), isa); /* fixed for the process */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rnn_batch");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_batch_equals_rows, 0, 10);
    tcase_add_loop_test(tc, test_batch_predict_matches_forward, 0, 20);
    tcase_add_loop_test(tc, test_predict_matches_forward_wide, 0, 3);
    tcase_add_loop_test(tc, test_thread_count_changes_nothing_but_speed, 0,
                        5);
    tcase_add_test(tc, test_cpu_isa_named_and_capped);
    suite_add_tcase(s, tc);
    return tk_run_suite(s);
}
