/*
 * check_eval.c - the evaluation metrics through the public
 * API: every metric against values worked out by hand in the comments,
 * tied scores in ROC/AUC/PR, the threshold sweep and its tie rule, the
 * naive forecasting baselines, and bad input (status and message).
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "support/testkit.h"

#define NEAR(a, b) ck_assert_double_eq_tol((double)(a), (double)(b), 1e-6)

/* Asserts status st and that the last error message mentions needle. */
#define ASSERT_FAILS(call, st, needle)                                    \
    do {                                                                  \
        sn_clear_error();                                                 \
        ck_assert_int_eq((call), (st));                                   \
        ck_assert_msg(tk_contains(sn_last_error(), (needle)),                \
                      "message '%s' lacks '%s'", sn_last_error(),         \
                      (needle));                                          \
    } while (0)

/* scikit-learn's documented example (roc_auc_score, precision_recall_curve,
 * average_precision_score): y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8].
 * By decreasing score: 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg). */
static const float sk_scores[] = { 0.1f, 0.4f, 0.35f, 0.8f };
static const float sk_labels[] = { 0, 0, 1, 1 };

/* Tied scores: positives {0.5, 0.5}, negatives {0.5, 0.2, 0.9}. */
static const float tie_scores[] = { 0.5f, 0.5f, 0.5f, 0.2f, 0.9f };
static const float tie_labels[] = { 1, 0, 1, 0, 0 };

/* ------------------------------------------------------ binary report */

START_TEST(test_binary_report)
{
    /* threshold 0.5, score >= 0.5 positive:
     *   0.9 (1) tp, 0.6 (1) tp, 0.5 (0) fp, 0.4 (1) fn, 0.2 (0) tn,
     *   0.7 (0) fp  ->  tp 2, fp 2, tn 1, fn 1
     * accuracy 3/6, precision 2/4, recall 2/3, F1 2*2/(4+2+1) = 4/7 */
    const float s[] = { 0.9f, 0.6f, 0.5f, 0.4f, 0.2f, 0.7f };
    const float y[] = { 1, 1, 0, 1, 0, 0 };
    sn_binary_report r = SN_BINARY_REPORT_INIT;
    ck_assert_int_eq(sn_eval_binary(s, y, 6, 0.5f, &r), SN_OK);
    ck_assert_int_eq(r.tp, 2);
    ck_assert_int_eq(r.fp, 2);
    ck_assert_int_eq(r.tn, 1);
    ck_assert_int_eq(r.fn, 1);
    NEAR(r.accuracy, 0.5);
    NEAR(r.precision, 0.5);
    NEAR(r.recall, 2.0 / 3.0);
    NEAR(r.f1, 4.0 / 7.0);
    ck_assert_uint_eq(r.size, sizeof r);
}
END_TEST

START_TEST(test_binary_zero_division)
{
    /* threshold above every score: nothing predicted positive, so
     * precision = 0/0 -> 0, recall 0/3, F1 0; accuracy = tn / n = 3/6 */
    const float s[] = { 0.9f, 0.6f, 0.5f, 0.4f, 0.2f, 0.7f };
    const float y[] = { 1, 1, 0, 1, 0, 0 };
    sn_binary_report r = SN_BINARY_REPORT_INIT;
    ck_assert_int_eq(sn_eval_binary(s, y, 6, 1.0f, &r), SN_OK);
    ck_assert_int_eq(r.tp + r.fp, 0);
    NEAR(r.precision, 0.0);
    NEAR(r.recall, 0.0);
    NEAR(r.f1, 0.0);
    NEAR(r.accuracy, 0.5);
    ck_assert(!isnan(r.precision));
    /* one class only is fine here: all negatives, all predicted negative:
     * accuracy 1, recall 0/0 -> 0 */
    const float neg[] = { 0, 0 }, sc[] = { 0.1f, 0.2f };
    ck_assert_int_eq(sn_eval_binary(sc, neg, 2, 0.5f, &r), SN_OK);
    NEAR(r.accuracy, 1.0);
    NEAR(r.recall, 0.0);
}
END_TEST

START_TEST(test_binary_report_short_struct)
{
    /* an older caller whose struct ends after precision: recall and the
     * rest must stay untouched */
    const float s[] = { 0.9f, 0.1f }, y[] = { 1, 0 };
    sn_binary_report r = SN_BINARY_REPORT_INIT;
    r.size = offsetof(sn_binary_report, recall);
    r.recall = -1.0;
    r.tp = -7;
    ck_assert_int_eq(sn_eval_binary(s, y, 2, 0.5f, &r), SN_OK);
    NEAR(r.accuracy, 1.0);
    NEAR(r.precision, 1.0);
    NEAR(r.recall, -1.0);
    ck_assert_int_eq(r.tp, -7);
    ck_assert_uint_eq(r.size, offsetof(sn_binary_report, recall));

    r.size = sizeof r + 8;
    ASSERT_FAILS(sn_eval_binary(s, y, 2, 0.5f, &r), SN_ERR_INVALID_ARG,
                 "size");
    r.size = 0;
    ASSERT_FAILS(sn_eval_binary(s, y, 2, 0.5f, &r), SN_ERR_INVALID_ARG,
                 "size");
}
END_TEST

/* ---------------------------------------------------- multi-class */

/* y_true {0,1,2,2,1,0,2}, y_pred {0,2,2,2,1,1,2}:
 *   true 0: pred 0, 1       -> row [1 1 0]
 *   true 1: pred 2, 1       -> row [0 1 1]
 *   true 2: pred 2, 2, 2    -> row [0 0 3] */
static const int mc_true[] = { 0, 1, 2, 2, 1, 0, 2 };
static const int mc_pred[] = { 0, 2, 2, 2, 1, 1, 2 };

START_TEST(test_confusion_matrix)
{
    long m[9];
    const long want[9] = { 1, 1, 0, 0, 1, 1, 0, 0, 3 };
    ck_assert_int_eq(sn_confusion_matrix(mc_true, mc_pred, 7, 3, m), SN_OK);
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(m[i], want[i]);
}
END_TEST

START_TEST(test_class_metrics)
{
    /* column sums (predicted) 1, 2, 4; row sums (support) 2, 2, 3
     * precision tp/col: 1/1, 1/2, 3/4
     * recall    tp/row: 1/2, 1/2, 3/3
     * F1 2tp/(row+col): 2/3, 2/4, 6/7
     * accuracy trace/total = 5/7
     * macro: P (1 + .5 + .75)/3 = .75, R (.5 + .5 + 1)/3 = 2/3,
     *        F (2/3 + 1/2 + 6/7)/3
     * weighted by support 2,2,3 over 7:
     *        P (2 + 1 + 2.25)/7 = .75, R (1 + 1 + 3)/7 = 5/7,
     *        F (4/3 + 1 + 18/7)/7 */
    long m[16];
    double p[4], r[4], f[4];
    ck_assert_int_eq(sn_confusion_matrix(mc_true, mc_pred, 7, 3, m), SN_OK);
    sn_class_averages a = SN_CLASS_AVERAGES_INIT;
    ck_assert_int_eq(sn_class_metrics(m, 3, p, r, f, &a), SN_OK);
    NEAR(p[0], 1.0);
    NEAR(p[1], 0.5);
    NEAR(p[2], 0.75);
    NEAR(r[0], 0.5);
    NEAR(r[1], 0.5);
    NEAR(r[2], 1.0);
    NEAR(f[0], 2.0 / 3.0);
    NEAR(f[1], 0.5);
    NEAR(f[2], 6.0 / 7.0);
    NEAR(a.accuracy, 5.0 / 7.0);
    NEAR(a.macro_precision, 0.75);
    NEAR(a.macro_recall, 2.0 / 3.0);
    NEAR(a.macro_f1, (2.0 / 3.0 + 0.5 + 6.0 / 7.0) / 3.0);
    NEAR(a.weighted_precision, 0.75);
    NEAR(a.weighted_recall, 5.0 / 7.0);
    NEAR(a.weighted_f1, (4.0 / 3.0 + 1.0 + 18.0 / 7.0) / 7.0);

    /* a fourth class that never occurs: 0/0 ratios are 0 and the macro
     * averages still run over the three classes seen (sklearn labels=None) */
    ck_assert_int_eq(sn_confusion_matrix(mc_true, mc_pred, 7, 4, m), SN_OK);
    sn_class_averages b = SN_CLASS_AVERAGES_INIT;
    ck_assert_int_eq(sn_class_metrics(m, 4, p, r, f, &b), SN_OK);
    NEAR(p[3], 0.0);
    NEAR(r[3], 0.0);
    NEAR(f[3], 0.0);
    NEAR(b.macro_precision, 0.75);
    NEAR(b.macro_f1, a.macro_f1);
    NEAR(b.weighted_f1, a.weighted_f1);
    /* outputs are optional */
    ck_assert_int_eq(sn_class_metrics(m, 4, NULL, NULL, NULL, NULL), SN_OK);
}
END_TEST

START_TEST(test_multiclass_errors)
{
    long m[9] = { 5, 5, 5, 5, 5, 5, 5, 5, 5 };
    const int bad_pred[] = { 0, 2, 3 };
    ASSERT_FAILS(sn_confusion_matrix(mc_true, bad_pred, 3, 3, m),
                 SN_ERR_INVALID_ARG, "y_pred[2]");
    ck_assert_int_eq(m[0], 5);   /* untouched on failure */
    const int neg_true[] = { 0, -1 };
    ASSERT_FAILS(sn_confusion_matrix(neg_true, mc_pred, 2, 3, m),
                 SN_ERR_INVALID_ARG, "y_true[1]");
    ASSERT_FAILS(sn_confusion_matrix(NULL, mc_pred, 2, 3, m),
                 SN_ERR_INVALID_ARG, "NULL");
    ASSERT_FAILS(sn_confusion_matrix(mc_true, mc_pred, 0, 3, m),
                 SN_ERR_INVALID_ARG, "n is 0");
    ASSERT_FAILS(sn_confusion_matrix(mc_true, mc_pred, 7, 0, m),
                 SN_ERR_INVALID_ARG, "n_classes");
    long zero[4] = { 0 };
    ASSERT_FAILS(sn_class_metrics(zero, 2, NULL, NULL, NULL, NULL),
                 SN_ERR_INVALID_ARG, "no samples");
    long negative[4] = { 1, -1, 0, 0 };
    ASSERT_FAILS(sn_class_metrics(negative, 2, NULL, NULL, NULL, NULL),
                 SN_ERR_INVALID_ARG, "matrix[1]");
}
END_TEST

/* ------------------------------------------------------------ ROC */

START_TEST(test_roc_curve_sklearn_example)
{
    /* decreasing thresholds, counting score >= t (2 pos, 2 neg):
     *   +inf: tp 0 fp 0 -> (0, 0)
     *   0.8:  tp 1 fp 0 -> (0, .5)
     *   0.4:  tp 1 fp 1 -> (.5, .5)
     *   0.35: tp 2 fp 1 -> (.5, 1)
     *   0.1:  tp 2 fp 2 -> (1, 1)                                        */
    float fpr[5], tpr[5], th[5];
    size_t np = 5;
    ck_assert_int_eq(sn_roc_curve(sk_scores, sk_labels, 4, fpr, tpr, th,
                                  &np), SN_OK);
    ck_assert_uint_eq(np, 5);
    const float wf[] = { 0, 0, .5f, .5f, 1 }, wt[] = { 0, .5f, .5f, 1, 1 };
    const float wth[] = { 0, 0.8f, 0.4f, 0.35f, 0.1f };
    ck_assert(isinf(th[0]) && th[0] > 0);
    for (int k = 0; k < 5; k++) {
        NEAR(fpr[k], wf[k]);
        NEAR(tpr[k], wt[k]);
        if (k > 0)
            ck_assert(th[k] == wth[k]);
    }
}
END_TEST

START_TEST(test_roc_curve_ties_one_step)
{
    /* 2 pos, 3 neg.  0.9 (neg) -> (1/3, 0); the three 0.5s (2 pos, 1 neg)
     * enter together as one diagonal step -> (2/3, 1); 0.2 -> (1, 1) */
    float fpr[6], tpr[6], th[6];
    size_t np = 6;
    ck_assert_int_eq(sn_roc_curve(tie_scores, tie_labels, 5, fpr, tpr, th,
                                  &np), SN_OK);
    ck_assert_uint_eq(np, 4);
    NEAR(fpr[1], 1.0 / 3.0);
    NEAR(tpr[1], 0.0);
    NEAR(fpr[2], 2.0 / 3.0);
    NEAR(tpr[2], 1.0);
    ck_assert(th[2] == 0.5f);
    NEAR(fpr[3], 1.0);
    ck_assert(th[3] == 0.2f);
}
END_TEST

START_TEST(test_roc_auc_values)
{
    double auc = -1.0;
    /* pairs (pos, neg) ranked right: 0.8 > 0.4, 0.8 > 0.1, 0.35 > 0.1;
     * 0.35 < 0.4 wrong -> 3/4 */
    ck_assert_int_eq(sn_roc_auc(sk_scores, sk_labels, 4, &auc), SN_OK);
    NEAR(auc, 0.75);

    /* ties: each positive 0.5 vs negatives 0.5 (tie, 1/2), 0.2 (1),
     * 0.9 (0) -> 1.5 each, 3 of 2 * 3 pairs -> 0.5.  The trapezoid over
     * the curve above: 0 + (1/3)(0 + 1)/2 + (1/3)(1) = 1/2 */
    ck_assert_int_eq(sn_roc_auc(tie_scores, tie_labels, 5, &auc), SN_OK);
    NEAR(auc, 0.5);

    /* ties that move the answer off 1/2 credit for a plain ranking:
     * pos {0.7, 0.7, 0.3}, neg {0.7, 0.1}:
     *   0.7 vs 0.7: 1/2, vs 0.1: 1 -> 1.5 (twice) ; 0.3 vs 0.7: 0,
     *   vs 0.1: 1 -> 1 ; total 4 of 6 -> 2/3 */
    const float s3[] = { 0.7f, 0.7f, 0.3f, 0.7f, 0.1f };
    const float y3[] = { 1, 1, 1, 0, 0 };
    ck_assert_int_eq(sn_roc_auc(s3, y3, 5, &auc), SN_OK);
    NEAR(auc, 2.0 / 3.0);

    /* all scores equal: every pair tied -> 1/2 */
    const float same[] = { 0.3f, 0.3f, 0.3f }, y4[] = { 1, 0, 1 };
    ck_assert_int_eq(sn_roc_auc(same, y4, 3, &auc), SN_OK);
    NEAR(auc, 0.5);

    /* perfect and reversed rankings; logits work as well as probabilities */
    const float logit[] = { -3.0f, -1.0f, 2.0f, 5.0f };
    const float up[] = { 0, 0, 1, 1 }, down[] = { 1, 1, 0, 0 };
    ck_assert_int_eq(sn_roc_auc(logit, up, 4, &auc), SN_OK);
    NEAR(auc, 1.0);
    ck_assert_int_eq(sn_roc_auc(logit, down, 4, &auc), SN_OK);
    NEAR(auc, 0.0);
}
END_TEST

START_TEST(test_roc_errors)
{
    float fpr[5], tpr[5], th[5];
    size_t np = 3;
    /* 4 distinct scores need 5 points; the call says how many */
    ASSERT_FAILS(sn_roc_curve(sk_scores, sk_labels, 4, fpr, tpr, th, &np),
                 SN_ERR_INVALID_ARG, "5 needed");
    ck_assert_uint_eq(np, 5);

    double auc;
    const float ones[] = { 1, 1, 1 }, s[] = { 0.1f, 0.2f, 0.3f };
    ASSERT_FAILS(sn_roc_auc(s, ones, 3, &auc), SN_ERR_INVALID_ARG,
                 "only positives");
    const float zeros[] = { 0, 0, 0 };
    np = 5;
    ASSERT_FAILS(sn_roc_curve(s, zeros, 3, fpr, tpr, th, &np),
                 SN_ERR_INVALID_ARG, "only negatives");

    const float nan_s[] = { 0.1f, NAN, 0.3f }, y[] = { 0, 1, 1 };
    ASSERT_FAILS(sn_roc_auc(nan_s, y, 3, &auc), SN_ERR_NUMERIC,
                 "scores[1]");
    const float bad_y[] = { 0, 1, 0.5f };
    ASSERT_FAILS(sn_roc_auc(s, bad_y, 3, &auc), SN_ERR_INVALID_ARG,
                 "labels[2]");
    ASSERT_FAILS(sn_roc_auc(NULL, y, 3, &auc), SN_ERR_INVALID_ARG, "NULL");
    ASSERT_FAILS(sn_roc_auc(s, y, 3, NULL), SN_ERR_INVALID_ARG, "NULL");
    ASSERT_FAILS(sn_roc_auc(s, y, 0, &auc), SN_ERR_INVALID_ARG, "n is 0");
    ASSERT_FAILS(sn_roc_curve(s, y, 3, fpr, NULL, th, &np),
                 SN_ERR_INVALID_ARG, "NULL");
}
END_TEST

/* A thread allocator that always fails, to reach the NOMEM path. */
static void *no_alloc(void *user, size_t bytes)
{
    (void)user;
    (void)bytes;
    return NULL;
}

static void no_free(void *user, void *ptr)
{
    (void)user;
    (void)ptr;
}

START_TEST(test_curves_out_of_memory)
{
    const sn_allocator none = { sizeof none, no_alloc, no_free, NULL };
    double auc = -1.0;
    ck_assert_int_eq(sn_set_allocator(&none), SN_OK);
    sn_status st = sn_roc_auc(sk_scores, sk_labels, 4, &auc);
    ck_assert_int_eq(sn_set_allocator(NULL), SN_OK);
    ck_assert_int_eq(st, SN_ERR_NOMEM);
    ck_assert(auc == -1.0);
}
END_TEST

/* ------------------------------------------------------------- PR */

START_TEST(test_pr_curve_sklearn_example)
{
    /* sklearn's documented output:
     *   precision [0.5, 0.667, 0.5, 1, 1], recall [1, 1, 0.5, 0.5, 0],
     *   thresholds [0.1, 0.35, 0.4, 0.8]
     * by hand, increasing t: 0.1 tp 2 fp 2; 0.35 tp 2 fp 1; 0.4 tp 1 fp 1;
     * 0.8 tp 1 fp 0; then the closing (1, 0) point */
    float p[5], r[5], th[4];
    size_t np = 5;
    ck_assert_int_eq(sn_pr_curve(sk_scores, sk_labels, 4, p, r, th, &np),
                     SN_OK);
    ck_assert_uint_eq(np, 5);
    const float wp[] = { 0.5f, 2.0f / 3.0f, 0.5f, 1, 1 };
    const float wr[] = { 1, 1, 0.5f, 0.5f, 0 };
    const float wth[] = { 0.1f, 0.35f, 0.4f, 0.8f };
    for (int k = 0; k < 5; k++) {
        NEAR(p[k], wp[k]);
        NEAR(r[k], wr[k]);
        if (k < 4)
            ck_assert(th[k] == wth[k]);
    }
}
END_TEST

START_TEST(test_pr_curve_ties)
{
    /* increasing t: 0.2 tp 2 fp 3 -> (2/5, 1); 0.5 (the three tied
     * samples together) tp 2 fp 2 -> (1/2, 1); 0.9 tp 0 fp 1 -> (0, 0);
     * closing (1, 0) */
    float p[6], r[6], th[6];
    size_t np = 6;
    ck_assert_int_eq(sn_pr_curve(tie_scores, tie_labels, 5, p, r, th, &np),
                     SN_OK);
    ck_assert_uint_eq(np, 4);
    NEAR(p[0], 0.4);
    NEAR(r[0], 1.0);
    NEAR(p[1], 0.5);
    NEAR(r[1], 1.0);
    NEAR(p[2], 0.0);
    NEAR(r[2], 0.0);
    NEAR(p[3], 1.0);
    NEAR(r[3], 0.0);
    ck_assert(th[0] == 0.2f && th[1] == 0.5f && th[2] == 0.9f);

    np = 3;
    ASSERT_FAILS(sn_pr_curve(tie_scores, tie_labels, 5, p, r, th, &np),
                 SN_ERR_INVALID_ARG, "4 needed");
    ck_assert_uint_eq(np, 4);
}
END_TEST

START_TEST(test_average_precision)
{
    double ap = -1.0;
    /* decreasing t: 0.8 R .5 (from 0) P 1 -> .5; 0.4 R unchanged -> 0;
     * 0.35 R 1 (+.5) P 2/3 -> 1/3; 0.1 R unchanged -> 0.
     * AP = 5/6 = 0.8333 (sklearn's example) */
    ck_assert_int_eq(sn_average_precision(sk_scores, sk_labels, 4, &ap),
                     SN_OK);
    NEAR(ap, 5.0 / 6.0);

    /* ties: 0.9 R 0 -> 0; the 0.5s R 0 -> 1 with P 2/4 -> 1/2; 0.2 -> 0 */
    ck_assert_int_eq(sn_average_precision(tie_scores, tie_labels, 5, &ap),
                     SN_OK);
    NEAR(ap, 0.5);

    /* positives only: precision 1 at every threshold -> AP 1 */
    const float s[] = { 0.2f, 0.6f }, ones[] = { 1, 1 }, zeros[] = { 0, 0 };
    ck_assert_int_eq(sn_average_precision(s, ones, 2, &ap), SN_OK);
    NEAR(ap, 1.0);
    /* negatives only: recall undefined */
    ASSERT_FAILS(sn_average_precision(s, zeros, 2, &ap), SN_ERR_INVALID_ARG,
                 "only negatives");
    const float inf_s[] = { INFINITY, 0.1f };
    ASSERT_FAILS(sn_average_precision(inf_s, ones, 2, &ap), SN_ERR_NUMERIC,
                 "scores[0]");
}
END_TEST

/* -------------------------------------------------- threshold sweep */

START_TEST(test_best_threshold_f1)
{
    /* F1 = 2tp / (2tp + fp + fn) at each distinct score (2 pos, 2 neg):
     *   0.8: tp 1 fp 0 fn 1 -> 2/3
     *   0.4: tp 1 fp 1 fn 1 -> 2/4
     *   0.35: tp 2 fp 1 fn 0 -> 4/5   <- best
     *   0.1: tp 2 fp 2 fn 0 -> 4/6 */
    float t = 0.0f;
    double v = 0.0;
    ck_assert_int_eq(sn_best_threshold(sk_scores, sk_labels, 4, SN_SWEEP_F1,
                                       &t, &v), SN_OK);
    ck_assert(t == 0.35f);
    NEAR(v, 0.8);
    /* the returned threshold reproduces the value through sn_eval_binary */
    sn_binary_report r = SN_BINARY_REPORT_INIT;
    ck_assert_int_eq(sn_eval_binary(sk_scores, sk_labels, 4, t, &r), SN_OK);
    NEAR(r.f1, v);
}
END_TEST

START_TEST(test_best_threshold_ties)
{
    float t = 0.0f;
    double v = 0.0;
    /* accuracy: 0.8 -> (1 + 2)/4, 0.4 -> 2/4, 0.35 -> (2 + 1)/4, 0.1 -> 2/4:
     * 0.8 and 0.35 tie at 3/4; 0.35 is closer to 0.5 */
    ck_assert_int_eq(sn_best_threshold(sk_scores, sk_labels, 4,
                                       SN_SWEEP_ACCURACY, &t, &v), SN_OK);
    ck_assert(t == 0.35f);
    NEAR(v, 0.75);
    /* balanced accuracy (tpr + tnr)/2: 0.8 -> (.5 + 1)/2, 0.4 -> .5,
     * 0.35 -> (1 + .5)/2, 0.1 -> .5: same tie, same answer */
    ck_assert_int_eq(sn_best_threshold(sk_scores, sk_labels, 4,
                                       SN_SWEEP_BALANCED_ACCURACY, &t, &v),
                     SN_OK);
    ck_assert(t == 0.35f);
    NEAR(v, 0.75);
    /* MCC (tp tn - fp fn)/sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)):
     * 0.8: (1*2 - 0)/sqrt(1*2*2*3) ; 0.35: (2*1 - 0)/sqrt(3*2*2*1):
     * both 2/sqrt(12); 0.4: (1 - 1)/. = 0; 0.1: tn = 0 -> 0/0 -> 0 */
    ck_assert_int_eq(sn_best_threshold(sk_scores, sk_labels, 4,
                                       SN_SWEEP_MCC, &t, &v), SN_OK);
    ck_assert(t == 0.35f);
    NEAR(v, 2.0 / sqrt(12.0));

    /* equally far from 0.5: the larger threshold wins.
     * scores 0.1 (0), 0.25 (1), 0.5 (0), 0.75 (1), 0.9 (0), accuracy:
     *   0.9: tn 2 -> 2/5; 0.75: tp 1 tn 2 -> 3/5; 0.5: tp 1 tn 1 -> 2/5;
     *   0.25: tp 2 tn 1 -> 3/5; 0.1: 2/5   -> tie 0.75 vs 0.25 -> 0.75 */
    const float s[] = { 0.1f, 0.25f, 0.5f, 0.75f, 0.9f };
    const float y[] = { 0, 1, 0, 1, 0 };
    ck_assert_int_eq(sn_best_threshold(s, y, 5, SN_SWEEP_ACCURACY, &t, &v),
                     SN_OK);
    ck_assert(t == 0.75f);
    NEAR(v, 0.6);
}
END_TEST

START_TEST(test_best_threshold_errors)
{
    float t;
    ASSERT_FAILS(sn_best_threshold(sk_scores, sk_labels, 4,
                                   (sn_sweep_metric)9, &t, NULL),
                 SN_ERR_INVALID_ARG, "metric");
    const float ones[] = { 1, 1 }, s[] = { 0.2f, 0.6f };
    ASSERT_FAILS(sn_best_threshold(s, ones, 2, SN_SWEEP_F1, &t, NULL),
                 SN_ERR_INVALID_ARG, "both classes");
}
END_TEST

/* ------------------------------------------------------- regression */

START_TEST(test_regression_errors)
{
    /* errors p - t: 1, -1, 6, -1
     * MAE (1 + 1 + 6 + 1)/4 = 2.25 ; RMSE sqrt((1 + 1 + 36 + 1)/4)
     * MAPE skips t = 0: (1/1 + 1/5 + 1/2)/3 * 100 = 56.67 %, 1 skipped */
    const float p[] = { 2, 4, 6, 1 }, t[] = { 1, 5, 0, 2 };
    double mae, rmse, mape;
    size_t skipped = 99;
    ck_assert_int_eq(sn_eval_regression(p, t, 4, &mae, &rmse, &mape,
                                        &skipped), SN_OK);
    NEAR(mae, 2.25);
    NEAR(rmse, sqrt(39.0 / 4.0));
    NEAR(mape, 100.0 * 1.7 / 3.0);
    ck_assert_uint_eq(skipped, 1);

    /* all truths zero: MAPE undefined -> NAN, every sample skipped */
    const float z[] = { 0, 0 };
    ck_assert_int_eq(sn_eval_regression(p, z, 2, &mae, NULL, &mape,
                                        &skipped), SN_OK);
    ck_assert(isnan(mape));
    ck_assert_uint_eq(skipped, 2);
    NEAR(mae, 3.0);   /* (2 + 4)/2 */

    const float bad[] = { 1, INFINITY };
    ASSERT_FAILS(sn_eval_regression(p, bad, 2, &mae, NULL, NULL, NULL),
                 SN_ERR_NUMERIC, "truth[1]");
    const float nan_p[] = { NAN };
    ASSERT_FAILS(sn_eval_regression(nan_p, t, 1, &mae, NULL, NULL, NULL),
                 SN_ERR_NUMERIC, "pred[0]");
    ASSERT_FAILS(sn_eval_regression(p, t, 0, &mae, NULL, NULL, NULL),
                 SN_ERR_INVALID_ARG, "n is 0");
    ASSERT_FAILS(sn_eval_regression(NULL, t, 4, &mae, NULL, NULL, NULL),
                 SN_ERR_INVALID_ARG, "NULL");
}
END_TEST

START_TEST(test_naive_forecast)
{
    const float x[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    float out[5];
    /* last value at origin 5 is x[5] = 6, repeated */
    ck_assert_int_eq(sn_naive_forecast(x, 8, 3, 0, 5, out), SN_OK);
    NEAR(out[0], 6);
    NEAR(out[1], 6);
    NEAR(out[2], 6);
    ck_assert_int_eq(sn_naive_forecast(x, 8, 1, 1, 7, out), SN_OK);
    NEAR(out[0], 8);   /* forecasting past the end is allowed */

    /* seasonal m = 3 at origin 5: the last season is x[3..5] = 4, 5, 6,
     * repeated: h = 1..5 -> x[3], x[4], x[5], x[3], x[4] */
    ck_assert_int_eq(sn_naive_forecast(x, 8, 5, 3, 5, out), SN_OK);
    const float want[] = { 4, 5, 6, 4, 5 };
    for (int h = 0; h < 5; h++)
        NEAR(out[h], want[h]);

    ASSERT_FAILS(sn_naive_forecast(x, 8, 2, 3, 1, out), SN_ERR_INVALID_ARG,
                 "season");
    ASSERT_FAILS(sn_naive_forecast(x, 8, 2, 0, 8, out), SN_ERR_INVALID_ARG,
                 "origin 8");
    ASSERT_FAILS(sn_naive_forecast(x, 8, 0, 0, 3, out), SN_ERR_INVALID_ARG,
                 "horizon");
    ASSERT_FAILS(sn_naive_forecast(NULL, 8, 1, 0, 3, out),
                 SN_ERR_INVALID_ARG, "NULL");
    const float holes[] = { 1, NAN, 3 };
    ASSERT_FAILS(sn_naive_forecast(holes, 3, 2, 0, 1, out), SN_ERR_NUMERIC,
                 "series[1]");
}
END_TEST

START_TEST(test_naive_backtest)
{
    double mae, rmse;
    /* {1, 3, 2, 5, 4}, 2 in, 2 out -> windows 0 and 1:
     *   w0 origin 1 (3): targets 2, 5 -> errors 1, -2
     *   w1 origin 2 (2): targets 5, 4 -> errors -3, -2
     * MAE 8/4 = 2 ; RMSE sqrt((1 + 4 + 9 + 4)/4) = sqrt(4.5) */
    const float x[] = { 1, 3, 2, 5, 4 };
    ck_assert_int_eq(sn_naive_backtest(x, 5, 2, 2, 0, &mae, &rmse), SN_OK);
    NEAR(mae, 2.0);
    NEAR(rmse, sqrt(4.5));

    /* seasonal m = 2 on {1, 3, 2, 5, 4, 6}, 2 in, 2 out -> 3 windows:
     *   w0 origin 1: forecasts x[0] = 1, x[1] = 3 vs 2, 5 -> -1, -2
     *   w1 origin 2: forecasts x[1] = 3, x[2] = 2 vs 5, 4 -> -2, -2
     *   w2 origin 3: forecasts x[2] = 2, x[3] = 5 vs 4, 6 -> -2, -1
     * MAE 10/6 ; RMSE sqrt(18/6) = sqrt(3) */
    const float y[] = { 1, 3, 2, 5, 4, 6 };
    ck_assert_int_eq(sn_naive_backtest(y, 6, 2, 2, 2, &mae, &rmse), SN_OK);
    NEAR(mae, 10.0 / 6.0);
    NEAR(rmse, sqrt(3.0));

    ASSERT_FAILS(sn_naive_backtest(y, 6, 2, 2, 3, &mae, &rmse),
                 SN_ERR_INVALID_ARG, "season 3");
    ASSERT_FAILS(sn_naive_backtest(y, 3, 2, 2, 0, &mae, &rmse),
                 SN_ERR_SHAPE, "no window");
    ASSERT_FAILS(sn_naive_backtest(y, 6, 0, 2, 0, &mae, &rmse),
                 SN_ERR_INVALID_ARG, "n_steps_in");
    const float holes[] = { 1, 2, 3, INFINITY };
    ASSERT_FAILS(sn_naive_backtest(holes, 4, 2, 1, 0, &mae, &rmse),
                 SN_ERR_NUMERIC, "series[3]");
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");

    TCase *cls = tcase_create("classification");
    tcase_add_test(cls, test_binary_report);
    tcase_add_test(cls, test_binary_zero_division);
    tcase_add_test(cls, test_binary_report_short_struct);
    tcase_add_test(cls, test_confusion_matrix);
    tcase_add_test(cls, test_class_metrics);
    tcase_add_test(cls, test_multiclass_errors);
    suite_add_tcase(s, cls);

    TCase *curves = tcase_create("curves");
    tcase_add_test(curves, test_roc_curve_sklearn_example);
    tcase_add_test(curves, test_roc_curve_ties_one_step);
    tcase_add_test(curves, test_roc_auc_values);
    tcase_add_test(curves, test_roc_errors);
    tcase_add_test(curves, test_curves_out_of_memory);
    tcase_add_test(curves, test_pr_curve_sklearn_example);
    tcase_add_test(curves, test_pr_curve_ties);
    tcase_add_test(curves, test_average_precision);
    tcase_add_test(curves, test_best_threshold_f1);
    tcase_add_test(curves, test_best_threshold_ties);
    tcase_add_test(curves, test_best_threshold_errors);
    suite_add_tcase(s, curves);

    TCase *reg = tcase_create("regression");
    tcase_add_test(reg, test_regression_errors);
    tcase_add_test(reg, test_naive_forecast);
    tcase_add_test(reg, test_naive_backtest);
    suite_add_tcase(s, reg);
    return s;
}

int main(void)
{
    return tk_run_suite(eval_suite());
}
