/*
 * check_losses.c - losses and metrics through the public header: values
 * against hand-computed numbers, Keras' reduction and sample weights,
 * gradients against central finite differences, numerical stability at
 * extreme inputs, argument errors, and the accuracy/error metrics.
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

static sn_loss_opts opts_of(sn_loss_kind kind, int from_logits, float delta)
{
    sn_loss_opts o = SN_LOSS_OPTS_INIT;
    o.kind = kind;
    o.from_logits = from_logits;
    o.delta = delta;
    return o;
}

/* The loss value, asserting success. */
static double loss_value(sn_loss_kind kind, int from_logits, int rows,
                         int cols, const float *pred, const float *target,
                         const float *weights)
{
    sn_loss_opts o = opts_of(kind, from_logits, 1.0f);
    double v = NAN;
    ck_assert_int_eq(sn_loss_compute(&o, rows, cols, pred, target, weights,
                                     &v, NULL), SN_OK);
    return v;
}

#define ASSERT_NEAR(a, b, tol) ck_assert_double_eq_tol((a), (b), (tol))

/* Deterministic uniform in [lo, hi) (a 64-bit LCG; quality is irrelevant). */
static double uniform(uint64_t *state, double lo, double hi)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (double)(*state >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------ values by hand */

START_TEST(test_bce_probabilities_value)
{
    const float p[] = { 0.8f, 0.3f }, y[] = { 1.0f, 0.0f };
    double v = loss_value(SN_LOSS_BINARY_CROSSENTROPY, 0, 1, 2, p, y, NULL);
    /* mean over cols of -log(0.8) and -log(1 - 0.3) */
    ASSERT_NEAR(v, (-log(0.8) - log(0.7)) / 2.0, 1e-6);
}
END_TEST

START_TEST(test_bce_logits_value)
{
    const float z[] = { 2.0f, -1.0f }, y[] = { 1.0f, 0.25f };
    double v = loss_value(SN_LOSS_BINARY_CROSSENTROPY, 1, 1, 2, z, y, NULL);
    /* -(y log s + (1-y) log(1-s)) with s = 1/(1+e^-z) */
    double s0 = 1.0 / (1.0 + exp(-2.0)), s1 = 1.0 / (1.0 + exp(1.0));
    double want = (-log(s0) - (0.25 * log(s1) + 0.75 * log(1.0 - s1))) / 2.0;
    ASSERT_NEAR(v, want, 1e-6);
}
END_TEST

START_TEST(test_cce_probabilities_value)
{
    const float p[] = { 0.2f, 0.7f, 0.1f }, y[] = { 0.0f, 1.0f, 0.0f };
    ASSERT_NEAR(loss_value(SN_LOSS_CATEGORICAL_CROSSENTROPY, 0, 1, 3, p, y,
                           NULL), -log(0.7), 1e-6);
    /* Keras divides by the row sum first: twice the probabilities, same
     * loss */
    const float p2[] = { 0.4f, 1.4f, 0.2f };
    ASSERT_NEAR(loss_value(SN_LOSS_CATEGORICAL_CROSSENTROPY, 0, 1, 3, p2, y,
                           NULL), -log(0.7), 1e-6);
    /* soft target: sum over classes, not mean */
    const float ys[] = { 0.5f, 0.5f, 0.0f };
    ASSERT_NEAR(loss_value(SN_LOSS_CATEGORICAL_CROSSENTROPY, 0, 1, 3, p, ys,
                           NULL), -0.5 * log(0.2) - 0.5 * log(0.7), 1e-6);
}
END_TEST

START_TEST(test_cce_logits_value)
{
    const float z[] = { 1.0f, 2.0f, 3.0f }, y[] = { 0.0f, 0.0f, 1.0f };
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    ASSERT_NEAR(loss_value(SN_LOSS_CATEGORICAL_CROSSENTROPY, 1, 1, 3, z, y,
                           NULL), lse - 3.0, 1e-6);
}
END_TEST

START_TEST(test_sparse_value)
{
    const float p[] = { 0.2f, 0.7f, 0.1f, 0.5f, 0.25f, 0.25f };
    const float ids[] = { 1.0f, 2.0f };
    ASSERT_NEAR(loss_value(SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, 2, 3,
                           p, ids, NULL),
                (-log(0.7) - log(0.25)) / 2.0, 1e-6);
    const float z[] = { 1.0f, 2.0f, 3.0f };
    const float id0[] = { 0.0f };
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    ASSERT_NEAR(loss_value(SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, 1, 3,
                           z, id0, NULL), lse - 1.0, 1e-6);
}
END_TEST

START_TEST(test_regression_values)
{
    const float p[] = { 1.0f, 2.0f }, y[] = { 0.0f, 4.0f };
    /* errors 1 and -2 */
    ASSERT_NEAR(loss_value(SN_LOSS_MSE, 0, 1, 2, p, y, NULL), 2.5, 1e-12);
    ASSERT_NEAR(loss_value(SN_LOSS_MAE, 0, 1, 2, p, y, NULL), 1.5, 1e-12);
    /* Huber delta 1: 0.5 * 1^2 and 1 * (2 - 0.5) */
    ASSERT_NEAR(loss_value(SN_LOSS_HUBER, 0, 1, 2, p, y, NULL), 1.0, 1e-12);
    /* delta 2.5: both quadratic, 0.5 and 2 */
    sn_loss_opts o = opts_of(SN_LOSS_HUBER, 0, 2.5f);
    double v = 0.0;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 2, p, y, NULL, &v, NULL), SN_OK);
    ASSERT_NEAR(v, 1.25, 1e-12);
    /* delta 0.5: 0.5 * (1 - 0.25) and 0.5 * (2 - 0.25) */
    o.delta = 0.5f;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 2, p, y, NULL, &v, NULL), SN_OK);
    ASSERT_NEAR(v, (0.375 + 0.875) / 2.0, 1e-12);
    /* from_logits means nothing to a regression loss */
    ASSERT_NEAR(loss_value(SN_LOSS_MSE, 1, 1, 2, p, y, NULL), 2.5, 1e-12);
}
END_TEST

START_TEST(test_default_opts_are_mse)
{
    sn_loss_opts o = SN_LOSS_OPTS_INIT;
    const float p[] = { 3.0f }, y[] = { 1.0f };
    double v = 0.0;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 1, p, y, NULL, &v, NULL), SN_OK);
    ASSERT_NEAR(v, 4.0, 1e-12);
}
END_TEST

/* ------------------------------------------------ reduction and weights */

START_TEST(test_reduction_divides_by_rows)
{
    /* rows' losses 1 and 9 */
    const float p[] = { 1.0f, 3.0f }, y[] = { 0.0f, 0.0f };
    ASSERT_NEAR(loss_value(SN_LOSS_MSE, 0, 2, 1, p, y, NULL), 5.0, 1e-12);
    /* (3 * 1 + 0 * 9) / 2 rows; a sum-of-weights mean would give 1 */
    const float w1[] = { 3.0f, 0.0f };
    ASSERT_NEAR(loss_value(SN_LOSS_MSE, 0, 2, 1, p, y, w1), 1.5, 1e-12);
    /* (0.5 * 1 + 0.5 * 9) / 2; a sum-of-weights mean would give 5 */
    const float w2[] = { 0.5f, 0.5f };
    ASSERT_NEAR(loss_value(SN_LOSS_MSE, 0, 2, 1, p, y, w2), 2.5, 1e-12);
}
END_TEST

START_TEST(test_zero_weight_removes_row)
{
    const float p[] = { 0.9f, 0.1f, 0.2f, 0.7f };
    const float y[] = { 1.0f, 0.0f, 1.0f, 0.0f };  /* row 1 badly wrong */
    const float w[] = { 1.0f, 0.0f };
    float g[4] = { 7, 7, 7, 7 };
    sn_loss_opts o = opts_of(SN_LOSS_BINARY_CROSSENTROPY, 0, 1.0f);
    double v = 0.0;
    ck_assert_int_eq(sn_loss_compute(&o, 2, 2, p, y, w, &v, g), SN_OK);
    ASSERT_NEAR(v, -log(0.9) / 2.0, 1e-6);
    ck_assert_float_eq(g[2], 0.0f);
    ck_assert_float_eq(g[3], 0.0f);
    ck_assert_float_ne(g[0], 7.0f);
}
END_TEST

START_TEST(test_grad_is_overwritten)
{
    const float p[] = { 2.0f }, y[] = { 0.0f };
    float g[1] = { 100.0f };
    sn_loss_opts o = opts_of(SN_LOSS_MSE, 0, 1.0f);
    double v = 0.0;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 1, p, y, NULL, &v, g), SN_OK);
    ck_assert_float_eq_tol(g[0], 4.0f, 1e-6f);
}
END_TEST

/* ------------------------------------------------ finite differences */

/* Fills pred and target for kind at a random point away from the kinks:
 * MAE/Huber errors at least 0.05 from 0 and from +-delta, probabilities in
 * [0.1, 0.9] (never clipped), logits in [-4, 4]; targets one-hot, soft or
 * class ids as the kind wants. */
static void random_point(sn_loss_kind kind, int logits, float delta,
                         uint64_t *rs, int rows, int cols, float *pred,
                         float *target)
{
    for (int r = 0; r < rows; r++) {
        float *p = pred + r * cols, *y = target + r * cols;
        for (int j = 0; j < cols; j++) {
            p[j] = (float)(logits ? uniform(rs, -4, 4) : uniform(rs, 0.1, 0.9));
            y[j] = (float)uniform(rs, 0, 1);
        }
        if (kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
            target[r] = (float)(int)uniform(rs, 0, cols);
        if (kind == SN_LOSS_MAE || kind == SN_LOSS_HUBER ||
            kind == SN_LOSS_MSE) {
            for (int j = 0; j < cols; j++) {
                /* |e| in [0.05, 0.5 delta) or (1.5 delta, 3 delta] */
                double mag = uniform(rs, 0, 1) < 0.5
                                 ? uniform(rs, 0.05, 0.5 * delta)
                                 : uniform(rs, 1.5 * delta, 3.0 * delta);
                double sign = uniform(rs, 0, 1) < 0.5 ? -1.0 : 1.0;
                y[j] = (float)uniform(rs, -1, 1);
                p[j] = (float)(y[j] + sign * mag);
            }
        }
    }
}

/* Central differences of the loss value in every pred element, against
 * the returned gradient.  The step is relative to the element, and half of
 * it for tiny elements, so that a probability below the clip range stays
 * below it; the actual float step is used for the quotient. */
static void fd_check(const sn_loss_opts *o, int rows, int cols, float *pred,
                     const float *target, const float *w)
{
    size_t n = (size_t)rows * (size_t)cols;
    float *g = malloc(n * sizeof *g);
    ck_assert_ptr_nonnull(g);
    double v = 0.0;
    ck_assert_int_eq(sn_loss_compute(o, rows, cols, pred, target, w, &v, g),
                     SN_OK);
    for (size_t i = 0; i < n; i++) {
        float x = pred[i];
        double ax = fabs((double)x);
        double h = ax == 0.0 ? 1e-6 : (ax < 1e-6 ? 0.5 * ax : 1e-3 * ax);
        float hi = (float)(x + h), lo = (float)(x - h);
        double vp = 0.0, vm = 0.0;
        pred[i] = hi;
        ck_assert_int_eq(sn_loss_compute(o, rows, cols, pred, target, w, &vp,
                                         NULL), SN_OK);
        pred[i] = lo;
        ck_assert_int_eq(sn_loss_compute(o, rows, cols, pred, target, w, &vm,
                                         NULL), SN_OK);
        pred[i] = x;
        double fd = (vp - vm) / ((double)hi - (double)lo);
        double tol = 2e-3 * fabs(fd) + 1e-6;
        ck_assert_msg(fabs(fd - g[i]) <= tol,
                      "kind %d logits %d weights %d elem %zu: grad %.9g, "
                      "finite difference %.9g", (int)o->kind, o->from_logits,
                      w != NULL, i, (double)g[i], fd);
    }
    free(g);
}

START_TEST(test_gradients_match_finite_differences)
{
    const sn_loss_kind kinds[] = {
        SN_LOSS_BINARY_CROSSENTROPY, SN_LOSS_CATEGORICAL_CROSSENTROPY,
        SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, SN_LOSS_MSE, SN_LOSS_MAE,
        SN_LOSS_HUBER
    };
    enum { ROWS = 3, COLS = 4 };
    const float w[ROWS] = { 0.5f, 2.0f, 0.0f };
    uint64_t rs = 12345;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int logits = 0; logits < 2; logits++)
            for (int weighted = 0; weighted < 2; weighted++)
                for (int trial = 0; trial < 4; trial++) {
                    float delta = trial % 2 ? 0.7f : 1.0f;
                    sn_loss_opts o = opts_of(kinds[k], logits, delta);
                    float pred[ROWS * COLS], target[ROWS * COLS];
                    random_point(kinds[k], logits, delta, &rs, ROWS, COLS,
                                 pred, target);
                    fd_check(&o, ROWS, COLS, pred, target,
                             weighted ? w : NULL);
                }
}
END_TEST

/* A single-column BCE and MSE (the cols divisor is 1, not hidden). */
START_TEST(test_gradient_closed_forms)
{
    const float z[] = { 0.5f, -1.0f }, y[] = { 1.0f, 0.0f };
    float g[2];
    double v = 0.0;
    sn_loss_opts o = opts_of(SN_LOSS_BINARY_CROSSENTROPY, 1, 1.0f);
    ck_assert_int_eq(sn_loss_compute(&o, 2, 1, z, y, NULL, &v, g), SN_OK);
    /* (sigmoid(z) - y) / rows */
    ASSERT_NEAR(g[0], (1.0 / (1.0 + exp(-0.5)) - 1.0) / 2.0, 1e-6);
    ASSERT_NEAR(g[1], (1.0 / (1.0 + exp(1.0))) / 2.0, 1e-6);
    /* softmax - y for CCE from logits */
    const float zc[] = { 0.0f, 0.0f }, yc[] = { 1.0f, 0.0f };
    o.kind = SN_LOSS_CATEGORICAL_CROSSENTROPY;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 2, zc, yc, NULL, &v, g), SN_OK);
    ASSERT_NEAR(g[0], -0.5, 1e-6);
    ASSERT_NEAR(g[1], 0.5, 1e-6);
    ASSERT_NEAR(v, log(2.0), 1e-6);
}
END_TEST

/* CCE from probabilities with one column far below the clip range: the
 * clipped column has no -y/p term, but still moves the normaliser. */
START_TEST(test_cce_clipped_column_gradient)
{
    float p[] = { 1e-9f, 0.6f, 0.4f };
    const float y[] = { 0.3f, 0.5f, 0.2f };
    sn_loss_opts o = opts_of(SN_LOSS_CATEGORICAL_CROSSENTROPY, 0, 1.0f);
    fd_check(&o, 1, 3, p, y, NULL);
    float g[3];
    double v = 0.0;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 3, p, y, NULL, &v, g), SN_OK);
    /* S ~ 1, Y_U = 0.7: d/dp_0 = 0.7 / S, not -0.3 / 1e-9 */
    ASSERT_NEAR(g[0], 0.7, 1e-5);
    ASSERT_NEAR(v, -0.3 * log(1e-7) - 0.5 * log(0.6) - 0.2 * log(0.4), 1e-4);
}
END_TEST

/* ------------------------------------------------------------ stability */

START_TEST(test_bce_logits_extremes)
{
    const float z[] = { 100.0f, -100.0f, 100.0f, -100.0f };
    const float y[] = { 1.0f, 1.0f, 0.0f, 0.0f };
    float g[4];
    double v = 0.0;
    sn_loss_opts o = opts_of(SN_LOSS_BINARY_CROSSENTROPY, 1, 1.0f);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sn_loss_compute(&o, 1, 1, z + i, y + i, NULL, &v, g),
                         SN_OK);
        ck_assert(isfinite(v) && isfinite(g[0]));
        /* right: ~0, slope ~0; wrong: ~100, slope -+1 */
        int right = (z[i] > 0) == (y[i] > 0.5f);
        ASSERT_NEAR(v, right ? 0.0 : 100.0, 1e-9);
        ASSERT_NEAR(g[0], right ? 0.0 : (y[i] > 0.5f ? -1.0 : 1.0), 1e-9);
    }
}
END_TEST

START_TEST(test_cce_logits_far_apart)
{
    const float z[] = { 0.0f, 1000.0f, -1000.0f };
    const float y0[] = { 1.0f, 0.0f, 0.0f }, y1[] = { 0.0f, 1.0f, 0.0f };
    float g[3];
    double v = 0.0;
    sn_loss_opts o = opts_of(SN_LOSS_CATEGORICAL_CROSSENTROPY, 1, 1.0f);
    ck_assert_int_eq(sn_loss_compute(&o, 1, 3, z, y0, NULL, &v, g), SN_OK);
    ASSERT_NEAR(v, 1000.0, 1e-6);
    ASSERT_NEAR(g[0], -1.0, 1e-6);
    ASSERT_NEAR(g[1], 1.0, 1e-6);
    ck_assert(isfinite(g[2]));
    ck_assert_int_eq(sn_loss_compute(&o, 1, 3, z, y1, NULL, &v, g), SN_OK);
    ASSERT_NEAR(v, 0.0, 1e-9);
    /* sparse shares the path */
    const float id[] = { 0.0f };
    o.kind = SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 3, z, id, NULL, &v, g), SN_OK);
    ASSERT_NEAR(v, 1000.0, 1e-6);
}
END_TEST

START_TEST(test_probabilities_zero_and_one_are_clipped)
{
    /* -log(1e-7) ~ 16.118; the float32 upper bound 1 - 1e-7 gives
     * -log(1.19e-7) ~ 15.942 on the other side, as Keras */
    const float p[] = { 0.0f, 1.0f }, y[] = { 1.0f, 0.0f };
    float g[2] = { 9, 9 };
    double v = 0.0;
    sn_loss_opts o = opts_of(SN_LOSS_BINARY_CROSSENTROPY, 0, 1.0f);
    ck_assert_int_eq(sn_loss_compute(&o, 1, 2, p, y, NULL, &v, g), SN_OK);
    ck_assert(isfinite(v));
    ASSERT_NEAR(v, (-log((double)1e-7f) - log(1.0 - (double)(1.0f - 1e-7f)))
                       / 2.0, 1e-6);
    ck_assert_float_eq(g[0], 0.0f);  /* flat where clipped */
    ck_assert_float_eq(g[1], 0.0f);
    /* right answers at exactly 0 and 1 cost nearly nothing */
    const float yr[] = { 0.0f, 1.0f };
    ck_assert_int_eq(sn_loss_compute(&o, 1, 2, p, yr, NULL, &v, g), SN_OK);
    ck_assert(v >= 0.0 && v < 1e-6);

    o.kind = SN_LOSS_CATEGORICAL_CROSSENTROPY;
    ck_assert_int_eq(sn_loss_compute(&o, 1, 2, p, y, NULL, &v, g), SN_OK);
    ASSERT_NEAR(v, -log((double)1e-7f), 1e-6);
    ck_assert(isfinite(g[0]) && isfinite(g[1]));
}
END_TEST

/* ------------------------------------------------------------ errors */

static void expect_loss_error(const sn_loss_opts *o, int rows, int cols,
                              const float *p, const float *y, const float *w,
                              double *v, sn_status want, const char *needle)
{
    sn_clear_error();
    float g[8];
    ck_assert_int_eq(sn_loss_compute(o, rows, cols, p, y, w, v, g), want);
    ck_assert_msg(tk_contains(sn_last_error(), "sn_loss_compute"),
                  "message '%s'", sn_last_error());
    if (needle != NULL)
        ck_assert_msg(tk_contains(sn_last_error(), needle),
                      "message '%s' lacks '%s'", sn_last_error(), needle);
}

START_TEST(test_loss_argument_errors)
{
    sn_loss_opts o = SN_LOSS_OPTS_INIT;
    const float p[] = { 0.5f, 0.5f, 0.5f, 0.5f }, y[] = { 0, 1, 1, 0 };
    double v = 0.0;
    const sn_status bad = SN_ERR_INVALID_ARG;
    expect_loss_error(NULL, 2, 2, p, y, NULL, &v, bad, NULL);
    expect_loss_error(&o, 2, 2, NULL, y, NULL, &v, bad, NULL);
    expect_loss_error(&o, 2, 2, p, NULL, NULL, &v, bad, NULL);
    expect_loss_error(&o, 2, 2, p, y, NULL, NULL, bad, NULL);
    expect_loss_error(&o, 0, 2, p, y, NULL, &v, bad, "rows");
    expect_loss_error(&o, 2, 0, p, y, NULL, &v, bad, "cols");
    expect_loss_error(&o, -1, 2, p, y, NULL, &v, bad, NULL);
    expect_loss_error(&o, 2, -3, p, y, NULL, &v, bad, NULL);

    sn_loss_opts k = o;
    k.kind = (sn_loss_kind)0;
    expect_loss_error(&k, 2, 2, p, y, NULL, &v, bad, "kind");
    k.kind = (sn_loss_kind)7;
    expect_loss_error(&k, 2, 2, p, y, NULL, &v, bad, "kind");

    sn_loss_opts s = o;
    s.size = sizeof(sn_loss_opts) + 8;
    expect_loss_error(&s, 2, 2, p, y, NULL, &v, bad, "size");
    s.size = 0;
    expect_loss_error(&s, 2, 2, p, y, NULL, &v, bad, "size");

    sn_loss_opts h = opts_of(SN_LOSS_HUBER, 0, 0.0f);
    expect_loss_error(&h, 2, 2, p, y, NULL, &v, bad, "delta");
    h.delta = -1.0f;
    expect_loss_error(&h, 2, 2, p, y, NULL, &v, bad, "delta");
    h.delta = NAN;
    expect_loss_error(&h, 2, 2, p, y, NULL, &v, bad, "delta");

    const float wneg[] = { 1.0f, -0.5f }, wnan[] = { NAN, 1.0f };
    expect_loss_error(&o, 2, 2, p, y, wneg, &v, bad, "weights[1]");
    expect_loss_error(&o, 2, 2, p, y, wnan, &v, bad, "weights[0]");
}
END_TEST

START_TEST(test_loss_sparse_id_errors)
{
    sn_loss_opts o = opts_of(SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, 1.0f);
    const float p[] = { 0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.3f };
    double v = 0.0;
    const float out[] = { 0.0f, 3.0f }, neg[] = { -1.0f, 0.0f };
    const float frac[] = { 1.0f, 2.5f }, inf[] = { INFINITY, 0.0f };
    expect_loss_error(&o, 2, 3, p, out, NULL, &v, SN_ERR_INVALID_ARG,
                      "row 1");
    expect_loss_error(&o, 2, 3, p, neg, NULL, &v, SN_ERR_INVALID_ARG,
                      "row 0");
    expect_loss_error(&o, 2, 3, p, frac, NULL, &v, SN_ERR_INVALID_ARG, "2.5");
    expect_loss_error(&o, 2, 3, p, inf, NULL, &v, SN_ERR_NUMERIC, "row 0");
    const float ok[] = { 2.0f, 0.0f };
    ck_assert_int_eq(sn_loss_compute(&o, 2, 3, p, ok, NULL, &v, NULL), SN_OK);
}
END_TEST

START_TEST(test_loss_non_finite_is_numeric)
{
    const float y[] = { 0.0f, 1.0f, 1.0f, 0.0f };
    const float pnan[] = { 0.5f, 0.5f, 0.5f, NAN };
    const float pinf[] = { -INFINITY, 0.5f, 0.5f, 0.5f };
    const sn_loss_kind kinds[] = { SN_LOSS_BINARY_CROSSENTROPY,
                                   SN_LOSS_CATEGORICAL_CROSSENTROPY,
                                   SN_LOSS_MSE, SN_LOSS_MAE, SN_LOSS_HUBER };
    double v = 123.0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int logits = 0; logits < 2; logits++) {
            sn_loss_opts o = opts_of(kinds[k], logits, 1.0f);
            expect_loss_error(&o, 2, 2, pnan, y, NULL, &v, SN_ERR_NUMERIC,
                              "pred[1, 1]");
            expect_loss_error(&o, 2, 2, pinf, y, NULL, &v, SN_ERR_NUMERIC,
                              "pred[0, 0]");
            expect_loss_error(&o, 2, 2, y, pnan, NULL, &v, SN_ERR_NUMERIC,
                              "target[1, 1]");
        }
    ck_assert_double_eq(v, 123.0);  /* untouched on failure */
}
END_TEST

START_TEST(test_cce_probabilities_need_positive_sum)
{
    sn_loss_opts o = opts_of(SN_LOSS_CATEGORICAL_CROSSENTROPY, 0, 1.0f);
    const float p[] = { 0.5f, 0.5f, 0.0f, 0.0f }, y[] = { 1, 0, 1, 0 };
    double v = 0.0;
    expect_loss_error(&o, 2, 2, p, y, NULL, &v, SN_ERR_INVALID_ARG, "row 1");
}
END_TEST

/* ------------------------------------------------------------ metrics */

static double metric(sn_metric_kind kind, int rows, int cols, const float *p,
                     const float *y, float threshold)
{
    double v = NAN;
    ck_assert_int_eq(sn_metric_compute(kind, rows, cols, p, y, threshold, &v),
                     SN_OK);
    return v;
}

START_TEST(test_binary_accuracy)
{
    /* 0.6 against label 0 is the one miss */
    const float p[] = { 0.9f, 0.2f, 0.6f, 0.4f }, y[] = { 1, 0, 0, 0 };
    ASSERT_NEAR(metric(SN_METRIC_BINARY_ACCURACY, 4, 1, p, y, 0.5f), 0.75,
                1e-12);
    ASSERT_NEAR(metric(SN_METRIC_ACCURACY, 4, 1, p, y, 0.5f), 0.75, 1e-12);
    /* logits with threshold 0; exactly at the threshold is class 0 */
    const float z[] = { 2.0f, -1.0f, 0.5f, 0.0f }, yz[] = { 1, 0, 0, 1 };
    ASSERT_NEAR(metric(SN_METRIC_BINARY_ACCURACY, 4, 1, z, yz, 0.0f), 0.5,
                1e-12);
    /* several columns: mean over all 6 elements, 4 right */
    const float p2[] = { 0.9f, 0.1f, 0.7f, 0.8f, 0.3f, 0.2f };
    const float y2[] = { 1, 0, 0, 1, 1, 0 };
    ASSERT_NEAR(metric(SN_METRIC_BINARY_ACCURACY, 2, 3, p2, y2, 0.5f),
                4.0 / 6.0, 1e-12);
}
END_TEST

START_TEST(test_categorical_accuracy)
{
    const float p[] = { 0.1f, 0.8f, 0.1f,
                        0.6f, 0.3f, 0.1f,
                        0.2f, 0.2f, 0.6f };
    const float y[] = { 0, 1, 0,
                        0, 1, 0,
                        0, 0, 1 };
    ASSERT_NEAR(metric(SN_METRIC_CATEGORICAL_ACCURACY, 3, 3, p, y, 0.5f),
                2.0 / 3.0, 1e-12);
    ASSERT_NEAR(metric(SN_METRIC_ACCURACY, 3, 3, p, y, 0.5f), 2.0 / 3.0,
                1e-12);
    /* ties: the first maximum wins, in pred and in target */
    const float pt[] = { 0.4f, 0.4f, 0.2f, 0.2f, 0.4f, 0.4f };
    const float yt0[] = { 1, 0, 0, 0, 1, 0 }, yt1[] = { 0, 1, 0, 0, 0, 1 };
    ASSERT_NEAR(metric(SN_METRIC_CATEGORICAL_ACCURACY, 2, 3, pt, yt0, 0.5f),
                1.0, 1e-12);
    ASSERT_NEAR(metric(SN_METRIC_CATEGORICAL_ACCURACY, 2, 3, pt, yt1, 0.5f),
                0.0, 1e-12);
}
END_TEST

START_TEST(test_sparse_accuracy)
{
    const float p[] = { 0.1f, 0.8f, 0.1f,
                        0.6f, 0.3f, 0.1f,
                        0.2f, 0.2f, 0.6f,
                        0.5f, 0.5f, 0.0f };
    const float ids[] = { 1, 1, 2, 1 };  /* last is a tie: argmax is 0 */
    ASSERT_NEAR(metric(SN_METRIC_SPARSE_CATEGORICAL_ACCURACY, 4, 3, p, ids,
                       0.5f), 0.5, 1e-12);
}
END_TEST

START_TEST(test_error_metrics)
{
    const float p[] = { 1.0f, 2.0f, 0.0f, -1.0f }, y[] = { 0, 4, 0, 1 };
    /* errors 1, -2, 0, -2 */
    ASSERT_NEAR(metric(SN_METRIC_MAE, 2, 2, p, y, 0.5f), 5.0 / 4.0, 1e-12);
    ASSERT_NEAR(metric(SN_METRIC_MSE, 2, 2, p, y, 0.5f), 9.0 / 4.0, 1e-12);
}
END_TEST

static void expect_metric_error(sn_metric_kind kind, int rows, int cols,
                                const float *p, const float *y,
                                float threshold, double *v, sn_status want)
{
    sn_clear_error();
    ck_assert_int_eq(sn_metric_compute(kind, rows, cols, p, y, threshold, v),
                     want);
    ck_assert_msg(tk_contains(sn_last_error(), "sn_metric_compute"),
                  "message '%s'", sn_last_error());
}

START_TEST(test_metric_errors)
{
    const float p[] = { 0.5f, 0.5f, 0.5f, 0.5f }, y[] = { 0, 1, 1, 0 };
    const float pnan[] = { 0.5f, NAN, 0.5f, 0.5f };
    double v = 0.0;
    const sn_status bad = SN_ERR_INVALID_ARG;
    expect_metric_error(SN_METRIC_MAE, 2, 2, NULL, y, 0.5f, &v, bad);
    expect_metric_error(SN_METRIC_MAE, 2, 2, p, NULL, 0.5f, &v, bad);
    expect_metric_error(SN_METRIC_MAE, 2, 2, p, y, 0.5f, NULL, bad);
    expect_metric_error(SN_METRIC_MAE, 0, 2, p, y, 0.5f, &v, bad);
    expect_metric_error(SN_METRIC_MAE, 2, -1, p, y, 0.5f, &v, bad);
    expect_metric_error((sn_metric_kind)0, 2, 2, p, y, 0.5f, &v, bad);
    expect_metric_error((sn_metric_kind)10, 2, 2, p, y, 0.5f, &v, bad);
    expect_metric_error(SN_METRIC_BINARY_ACCURACY, 2, 2, p, y, NAN, &v, bad);
    expect_metric_error(SN_METRIC_ACCURACY, 2, 2, pnan, y, 0.5f, &v,
                        SN_ERR_NUMERIC);
    expect_metric_error(SN_METRIC_MSE, 2, 2, p, pnan, 0.5f, &v,
                        SN_ERR_NUMERIC);
    const float ids[] = { 0.0f, 2.0f }, frac[] = { 0.5f, 1.0f };
    expect_metric_error(SN_METRIC_SPARSE_CATEGORICAL_ACCURACY, 2, 2, p, ids,
                        0.5f, &v, bad);
    expect_metric_error(SN_METRIC_SPARSE_CATEGORICAL_ACCURACY, 2, 2, p, frac,
                        0.5f, &v, bad);
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *losses_suite(void)
{
    Suite *s = suite_create("losses");
    TCase *values = tcase_create("values");
    tcase_add_test(values, test_bce_probabilities_value);
    tcase_add_test(values, test_bce_logits_value);
    tcase_add_test(values, test_cce_probabilities_value);
    tcase_add_test(values, test_cce_logits_value);
    tcase_add_test(values, test_sparse_value);
    tcase_add_test(values, test_regression_values);
    tcase_add_test(values, test_default_opts_are_mse);
    tcase_add_test(values, test_reduction_divides_by_rows);
    tcase_add_test(values, test_zero_weight_removes_row);
    tcase_add_test(values, test_grad_is_overwritten);
    suite_add_tcase(s, values);

    TCase *grads = tcase_create("gradients");
    tcase_add_test(grads, test_gradients_match_finite_differences);
    tcase_add_test(grads, test_gradient_closed_forms);
    tcase_add_test(grads, test_cce_clipped_column_gradient);
    suite_add_tcase(s, grads);

    TCase *stable = tcase_create("stability");
    tcase_add_test(stable, test_bce_logits_extremes);
    tcase_add_test(stable, test_cce_logits_far_apart);
    tcase_add_test(stable, test_probabilities_zero_and_one_are_clipped);
    suite_add_tcase(s, stable);

    TCase *errors = tcase_create("errors");
    tcase_add_test(errors, test_loss_argument_errors);
    tcase_add_test(errors, test_loss_sparse_id_errors);
    tcase_add_test(errors, test_loss_non_finite_is_numeric);
    tcase_add_test(errors, test_cce_probabilities_need_positive_sum);
    suite_add_tcase(s, errors);

    TCase *metrics = tcase_create("metrics");
    tcase_add_test(metrics, test_binary_accuracy);
    tcase_add_test(metrics, test_categorical_accuracy);
    tcase_add_test(metrics, test_sparse_accuracy);
    tcase_add_test(metrics, test_error_metrics);
    tcase_add_test(metrics, test_metric_errors);
    suite_add_tcase(s, metrics);
    return s;
}

int main(void)
{
    return tk_run_suite(losses_suite());
}
