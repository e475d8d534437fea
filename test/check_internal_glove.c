/*
 * check_internal_glove.c - the GloVe trainer against values computed here
 * by hand (issue 14, item 6: the older tests only checked that the cost
 * falls, so dropping the 1/distance weight or the alpha exponent passed).
 *
 * The corpus is one document [w, pad, v]: one co-occurrence, of w and v at
 * distance 2, so X = 1/2 (the pad id holds a position but is not counted),
 * and one shuffled entry (no order to replicate).  The initial parameters
 * are drawn as glove_train.c draws them (sn_rng, stream 1 of the seed), so
 * this file sees internal.h and links the static library.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support/testkit.h"

enum { DIM = 3, EPOCHS = 4, VOCAB = 4, ROW = DIM + 1 };

/* The reference step (stanfordnlp/GloVe glove.c), in the same order. */
static double step(float *w, float *g, int a, int b, float x, float x_max,
                   float alpha, float eta)
{
    float *wa = w + a * ROW, *wb = w + (2 + b) * ROW;
    float *ga = g + a * ROW, *gb = g + (2 + b) * ROW;
    float diff = wa[DIM] + wb[DIM] - logf(x);
    for (int k = 0; k < DIM; k++)
        diff += wa[k] * wb[k];
    float fdiff = x > x_max ? diff : powf(x / x_max, alpha) * diff;
    double cost = 0.5 * (double)fdiff * diff;
    fdiff *= eta;
    float upd[2 * DIM];
    for (int k = 0; k < DIM; k++) {
        float t1 = fdiff * wb[k], t2 = fdiff * wa[k];
        upd[k] = t1 / sqrtf(ga[k]);
        upd[DIM + k] = t2 / sqrtf(gb[k]);
        ga[k] += t1 * t1;
        gb[k] += t2 * t2;
    }
    for (int k = 0; k < DIM; k++) {
        wa[k] -= upd[k];
        wb[k] -= upd[DIM + k];
    }
    wa[DIM] -= fdiff / sqrtf(ga[DIM]);
    wb[DIM] -= fdiff / sqrtf(gb[DIM]);
    ga[DIM] += fdiff * fdiff;
    gb[DIM] += fdiff * fdiff;
    return cost;
}

static void expected(const sn_glove_train_opts *o, float vec[VOCAB * DIM],
                     double *cost)
{
    float w[4 * ROW], g[4 * ROW];
    sn_rng rng;
    sn_rng_seed(&rng, sn_rng_derive(o->seed, 1));
    for (int i = 0; i < 4 * ROW; i++) {
        w[i] = (float)((sn_rng_uniform(&rng) - 0.5) / DIM);
        g[i] = 1.0f;
    }
    /* ranks: ids 2 and 3 both occur once; ties go to the smaller id */
    const float x = 0.5f;  /* 1 / distance 2 */
    for (int e = 0; e < EPOCHS; e++) {
        double c = step(w, g, 0, 1, x, o->x_max, o->alpha, o->learning_rate);
        c += step(w, g, 1, 0, x, o->x_max, o->alpha, o->learning_rate);
        *cost = c / 2;
    }
    memset(vec, 0, VOCAB * DIM * sizeof *vec);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < DIM; k++)
            vec[(2 + r) * DIM + k] = w[r * ROW + k] + w[(2 + r) * ROW + k];
}

static void check_against_hand(float x_max, float alpha, uint64_t seed)
{
    static const int32_t doc[3] = { 2, 1, 3 };
    const int32_t *docs[1] = { doc };
    const int len[1] = { 3 };
    sn_glove_train_opts o = SN_GLOVE_TRAIN_OPTS_INIT;
    o.dim = DIM;
    o.window = 2;
    o.epochs = EPOCHS;
    o.x_max = x_max;
    o.alpha = alpha;
    o.learning_rate = 0.5f;
    o.seed = seed;
    o.threads = 1;
    o.min_count = 1;
    float got[VOCAB * DIM], want[VOCAB * DIM];
    double got_cost = -1, want_cost = -2;
    ck_assert_int_eq(sn_glove_train(docs, len, 1, VOCAB, &o, got, &got_cost),
                     SN_OK);
    expected(&o, want, &want_cost);
    /* (the library may contract a*b+c into FMA: a few ulp apart) */
    tk_expect_close(got, want, VOCAB * DIM, 1e-5, "vectors");
    ck_assert_msg(fabs(got_cost - want_cost) <= 1e-6 * (1 + want_cost),
                  "cost %.9g, expected %.9g", got_cost, want_cost);
    for (int k = 0; k < 2 * DIM; k++)
        ck_assert(got[k] == 0.0f);  /* pad and OOV get zeros */
}

START_TEST(test_glove_exact_values)
{
    check_against_hand(1.0f, 0.75f, 7);   /* f(1/2) = 0.5^0.75 */
    check_against_hand(1.0f, 0.5f, 8);    /* another exponent */
    check_against_hand(0.25f, 0.75f, 9);  /* x > x_max: f = 1 */
}
END_TEST

/* The expected values do depend on what the issue says the old tests
 * missed: the 1/distance weight and the exponent. */
START_TEST(test_glove_reference_is_sensitive)
{
    sn_glove_train_opts o = SN_GLOVE_TRAIN_OPTS_INIT;
    o.dim = DIM;
    o.x_max = 1.0f;
    o.learning_rate = 0.5f;
    o.seed = 7;
    float a[VOCAB * DIM], b[VOCAB * DIM];
    double ca, cb;
    o.alpha = 0.75f;
    expected(&o, a, &ca);
    o.alpha = 1.0f;
    expected(&o, b, &cb);
    float d = 0;
    for (int i = 0; i < VOCAB * DIM; i++)
        d = fmaxf(d, fabsf(a[i] - b[i]));
    ck_assert_msg(d > 1e-3f, "alpha changes the vectors by only %g", d);
}
END_TEST

static Suite *glove_suite(void)
{
    Suite *s = suite_create("internal_glove");
    TCase *tc = tcase_create("exact");
    tcase_add_test(tc, test_glove_exact_values);
    tcase_add_test(tc, test_glove_reference_is_sensitive);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(glove_suite());
}
