/*
 * check_wordvec.c - word-vector queries: a hand-built 3-d matrix whose
 * analogy king - man + woman is worked out by hand (queen, cosine 0.9586),
 * neighbours on a random matrix against a brute-force reference (every
 * cosine in double, a full sort), exclusions, rows without a vector,
 * k above the vocabulary, word lookups, and bad arguments.
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stdlib.h>
#include <string.h>

#include "support/testkit.h"

/* rows: "" (no vector), man, woman, king, queen, apple */
static const float hand[6 * 3] = {
    0, 0, 0,
    1, 0, 0,
    0, 1, 0,
    1, 0, 1,
    0, 1, 1,
    0.1f, 0.1f, -1,
};
static const char *const hand_words[6] = { "", "man", "woman", "king",
                                           "queen", "apple" };

START_TEST(test_king_queen_by_hand)
{
    sn_wordvec_t *wv = NULL;
    ck_assert_int_eq(sn_wordvec_new(hand, 6, 3, hand_words, &wv), SN_OK);
    int king = sn_wordvec_lookup(wv, "king");
    int man = sn_wordvec_lookup(wv, "man");
    int woman = sn_wordvec_lookup(wv, "woman");
    ck_assert_int_eq(king, 3);
    ck_assert_int_eq(man, 1);
    ck_assert_int_eq(woman, 2);
    ck_assert_int_eq(sn_wordvec_lookup(wv, "pear"), SN_ERR_NOT_FOUND);
    ck_assert_int_eq(sn_wordvec_lookup(wv, ""), SN_ERR_NOT_FOUND);
    ck_assert_str_eq(sn_wordvec_word(wv, 4), "queen");
    int ids[4];
    float scores[4];
    int found = 0;
    ck_assert_int_eq(sn_wordvec_analogy(wv, king, man, woman, 4, ids, scores,
                                        &found), SN_OK);
    /* a, b, c and the empty row are left out: queen, then apple */
    ck_assert_int_eq(found, 2);
    ck_assert_int_eq(ids[0], 4);
    ck_assert_int_eq(ids[1], 5);
    /* q = u_king - u_man + u_woman = (1/sqrt2 - 1, 1, 1/sqrt2):
     * cos(q, queen) = (1 + 1/sqrt2) / sqrt2 / |q| = 0.95863 */
    double r2 = 1.0 / sqrt(2.0);
    double qn = sqrt((r2 - 1) * (r2 - 1) + 1 + 0.5);
    ck_assert_double_eq_tol(scores[0], (1 + r2) * r2 / qn, 1e-5);
    double an = sqrt(0.01 + 0.01 + 1);
    ck_assert_double_eq_tol(scores[1],
                            ((r2 - 1) * 0.1 + 0.1 - r2) / an / qn, 1e-5);
    /* neighbours of king: man (cos 1/sqrt2), then queen (1/2) */
    ck_assert_int_eq(sn_wordvec_neighbours(wv, king, 2, ids, scores, &found),
                     SN_OK);
    ck_assert_int_eq(found, 2);
    ck_assert_int_eq(ids[0], man);
    ck_assert_int_eq(ids[1], 4);
    ck_assert_double_eq_tol(scores[0], r2, 1e-6);
    ck_assert_double_eq_tol(scores[1], 0.5, 1e-6);
    /* an explicit query, any length, with an exclusion */
    const float q[3] = { 0, 5, 0 };
    int ex = woman;
    ck_assert_int_eq(sn_wordvec_nearest(wv, q, 1, &ex, 1, ids, NULL, &found),
                     SN_OK);
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(ids[0], 4);
    /* bad arguments */
    ck_assert_int_eq(sn_wordvec_neighbours(wv, 0, 2, ids, scores, &found),
                     SN_ERR_INVALID_ARG); /* no vector */
    tk_expect_error_mentions("no vector");
    ck_assert_int_eq(sn_wordvec_neighbours(wv, 6, 2, ids, scores, &found),
                     SN_ERR_INVALID_ARG);
    const float zero[3] = { 0, 0, 0 };
    ck_assert_int_eq(sn_wordvec_nearest(wv, zero, 1, NULL, 0, ids, NULL,
                                        &found), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_wordvec_nearest(wv, q, 0, NULL, 0, ids, NULL,
                                        &found), SN_ERR_INVALID_ARG);
    /* a - a + a is a itself, left out: the rest */
    ck_assert_int_eq(sn_wordvec_analogy(wv, king, king, king, 9, ids, NULL,
                                        &found), SN_OK);
    ck_assert_int_eq(found, 4);
    sn_wordvec_free(wv);
    /* without names */
    ck_assert_int_eq(sn_wordvec_new(hand, 6, 3, NULL, &wv), SN_OK);
    ck_assert_str_eq(sn_wordvec_word(wv, 3), "");
    ck_assert_int_eq(sn_wordvec_lookup(wv, "king"), SN_ERR_NOT_FOUND);
    sn_wordvec_free(wv);
    float nan_row[3] = { 1, NAN, 0 };
    ck_assert_int_eq(sn_wordvec_new(nan_row, 1, 3, NULL, &wv),
                     SN_ERR_NUMERIC);
    ck_assert_ptr_null(wv);
    ck_assert_int_eq(sn_wordvec_new(hand, 0, 3, NULL, &wv),
                     SN_ERR_INVALID_ARG);
    sn_wordvec_free(NULL);
}
END_TEST

typedef struct ref {
    double score;
    int id;
} ref;

static int by_score(const void *pa, const void *pb)
{
    const ref *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->id - b->id;
}

START_TEST(test_random_against_brute_force)
{
    enum { V = 500, D = 24, K = 10 };
    float *x = malloc(sizeof(float) * V * D);
    ck_assert_ptr_nonnull(x);
    tk_fill(x, (size_t)V * D, 7, -1.0f, 1.0f);
    for (int j = 0; j < D; j++)
        x[17 * D + j] = 0.0f; /* a word without a vector */
    sn_wordvec_t *wv = NULL;
    ck_assert_int_eq(sn_wordvec_new(x, V, D, NULL, &wv), SN_OK);
    ref *r = malloc(sizeof(ref) * V);
    for (int query = 0; query < 40; query++) {
        const float *q = x + (size_t)(query * 11 % V) * D;
        if (query * 11 % V == 17)
            continue;
        double qn = 0;
        for (int j = 0; j < D; j++)
            qn += (double)q[j] * q[j];
        int m = 0;
        for (int i = 0; i < V; i++) {
            double dot = 0, n = 0;
            for (int j = 0; j < D; j++) {
                dot += (double)x[i * D + j] * q[j];
                n += (double)x[i * D + j] * x[i * D + j];
            }
            if (n > 0 && i != 3)
                r[m++] = (ref){ dot / sqrt(n * qn), i };
        }
        qsort(r, (size_t)m, sizeof *r, by_score);
        int ids[K], found = 0, ex = 3;
        float scores[K];
        ck_assert_int_eq(sn_wordvec_nearest(wv, q, K, &ex, 1, ids, scores,
                                            &found), SN_OK);
        ck_assert_int_eq(found, K);
        for (int k = 0; k < K; k++) {
            ck_assert_double_eq_tol(scores[k], r[k].score, 1e-5);
            /* ids agree unless two scores are within float noise */
            if (k + 1 < K && fabs(r[k].score - r[k + 1].score) > 1e-5 &&
                (k == 0 || fabs(r[k].score - r[k - 1].score) > 1e-5))
                ck_assert_int_eq(ids[k], r[k].id);
        }
    }
    free(r);
    sn_wordvec_free(wv);
    free(x);
}
END_TEST

static Suite *wordvec_suite(void)
{
    Suite *s = suite_create("wordvec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_king_queen_by_hand);
    tcase_add_test(tc, test_random_against_brute_force);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(wordvec_suite());
}
