/*
 * curves.c - ranking metrics of binary scores: ROC curve and AUC,
 * precision-recall curve and average precision, and the threshold sweep.
 *
 * All of them rest on one table (scikit-learn's _binary_clf_curve): sort
 * the samples by decreasing score, then for each distinct score t record
 * tp(t) and fp(t), the positives and negatives with score >= t.  Tied
 * scores enter the table together, which is what makes a tie one diagonal
 * step of the ROC curve and gives tied pairs 1/2 credit in the AUC.
 * See docs/EVALUATION.md.
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "eval/eval_impl.h"

/* One sample while sorting; after compression, one distinct score with the
 * cumulative counts (doubles: exact up to 2^53 samples). */
typedef struct curve_point {
    double tp, fp;
    float score;
    int positive;
} curve_point;

/* The table, owned by the thread's allocator at the time of the call. */
typedef struct curve {
    sn_mem mem;
    curve_point *pt;
    size_t len;           /* distinct scores                               */
    double pos, neg;      /* totals                                        */
} curve;

/* Decreasing score; ties in any order (they are merged afterwards). */
static int by_score_desc(const void *a, const void *b)
{
    float x = ((const curve_point *)a)->score;
    float y = ((const curve_point *)b)->score;
    return (x < y) - (x > y);
}

/* Merges runs of equal scores in the sorted array in place: entry k gets
 * the k-th distinct score and the counts at or above it.  Safe in place
 * because k never passes the read position. */
static void compress(curve *c, size_t n)
{
    double tp = 0.0, fp = 0.0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        float score = c->pt[i].score;
        tp += c->pt[i].positive;
        fp += !c->pt[i].positive;
        if (i + 1 < n && c->pt[i + 1].score == score)
            continue;
        c->pt[k].tp = tp;
        c->pt[k].fp = fp;
        c->pt[k].score = score;
        k++;
    }
    c->len = k;
    c->pos = tp;
    c->neg = fp;
}

/* Validates and builds the table; on failure nothing is left allocated.
 * need_pos / need_neg: the class totals that must be > 0. */
static sn_status curve_build(curve *c, const float *scores,
                             const float *labels, size_t n, int need_pos,
                             int need_neg, const char *who)
{
    sn_status st = sn_eval_check_binary(scores, labels, n, who);
    if (st != SN_OK)
        return st;
    c->mem = sn_mem_current();
    c->pt = sn_mem_calloc(&c->mem, n, sizeof *c->pt);
    if (c->pt == NULL)
        return sn_fail(SN_ERR_NOMEM, "%s: no memory to sort %zu scores",
                       who, n);
    for (size_t i = 0; i < n; i++) {
        c->pt[i].score = scores[i];
        c->pt[i].positive = labels[i] == 1.0f;
    }
    qsort(c->pt, n, sizeof *c->pt, by_score_desc);
    compress(c, n);
    if ((need_pos && c->pos == 0.0) || (need_neg && c->neg == 0.0)) {
        sn_mem_free(&c->mem, c->pt);
        c->pt = NULL;
        return sn_fail(SN_ERR_INVALID_ARG, "%s: labels hold only %s; the "
                       "metric needs %s", who,
                       c->pos == 0.0 ? "negatives" : "positives",
                       need_pos && need_neg ? "both classes"
                                            : "a positive label");
    }
    return SN_OK;
}

static void curve_free(curve *c)
{
    sn_mem_free(&c->mem, c->pt);
    c->pt = NULL;
}

/* Capacity check shared by the two curve writers. */
static sn_status check_capacity(size_t *n_points, size_t need,
                                const char *who)
{
    if (*n_points >= need)
        return SN_OK;
    size_t have = *n_points;
    *n_points = need;
    return sn_fail(SN_ERR_INVALID_ARG, "%s: room for %zu points, %zu needed",
                   who, have, need);
}

SN_API sn_status sn_roc_curve(const float *scores, const float *labels,
                              size_t n, float *fpr, float *tpr,
                              float *thresholds, size_t *n_points)
{
    static const char *const who = "sn_roc_curve";
    if (fpr == NULL || tpr == NULL || thresholds == NULL || n_points == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: fpr, tpr, thresholds and "
                       "n_points must not be NULL", who);
    curve c;
    sn_status st = curve_build(&c, scores, labels, n, 1, 1, who);
    if (st != SN_OK)
        return st;
    st = check_capacity(n_points, c.len + 1, who);
    if (st == SN_OK) {
        fpr[0] = 0.0f;
        tpr[0] = 0.0f;
        thresholds[0] = INFINITY;   /* nothing scores >= +inf */
        for (size_t k = 0; k < c.len; k++) {
            fpr[k + 1] = (float)(c.pt[k].fp / c.neg);
            tpr[k + 1] = (float)(c.pt[k].tp / c.pos);
            thresholds[k + 1] = c.pt[k].score;
        }
        *n_points = c.len + 1;
    }
    curve_free(&c);
    return st;
}

SN_API sn_status sn_roc_auc(const float *scores, const float *labels,
                            size_t n, double *auc)
{
    static const char *const who = "sn_roc_auc";
    if (auc == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: auc is NULL", who);
    curve c;
    sn_status st = curve_build(&c, scores, labels, n, 1, 1, who);
    if (st != SN_OK)
        return st;
    /* Trapezoids in count space: each step adds dfp * (tp_prev + tp) / 2,
     * i.e. every negative is credited with the positives ranked above it
     * plus half of those tied with it (Mann-Whitney U). */
    double area = 0.0, tp_prev = 0.0, fp_prev = 0.0;
    for (size_t k = 0; k < c.len; k++) {
        area += (c.pt[k].fp - fp_prev) * (c.pt[k].tp + tp_prev) * 0.5;
        tp_prev = c.pt[k].tp;
        fp_prev = c.pt[k].fp;
    }
    *auc = area / (c.pos * c.neg);
    curve_free(&c);
    return SN_OK;
}

SN_API sn_status sn_pr_curve(const float *scores, const float *labels,
                             size_t n, float *precision, float *recall,
                             float *thresholds, size_t *n_points)
{
    static const char *const who = "sn_pr_curve";
    if (precision == NULL || recall == NULL || thresholds == NULL ||
        n_points == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: precision, recall, "
                       "thresholds and n_points must not be NULL", who);
    curve c;
    sn_status st = curve_build(&c, scores, labels, n, 1, 0, who);
    if (st != SN_OK)
        return st;
    st = check_capacity(n_points, c.len + 1, who);
    if (st == SN_OK) {
        /* increasing thresholds = the table read backwards; every entry
         * holds at least one sample, so tp + fp > 0 */
        for (size_t j = 0; j < c.len; j++) {
            const curve_point *p = &c.pt[c.len - 1 - j];
            precision[j] = (float)(p->tp / (p->tp + p->fp));
            recall[j] = (float)(p->tp / c.pos);
            thresholds[j] = p->score;
        }
        precision[c.len] = 1.0f;
        recall[c.len] = 0.0f;
        *n_points = c.len + 1;
    }
    curve_free(&c);
    return st;
}

SN_API sn_status sn_average_precision(const float *scores,
                                      const float *labels, size_t n,
                                      double *ap)
{
    static const char *const who = "sn_average_precision";
    if (ap == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: ap is NULL", who);
    curve c;
    sn_status st = curve_build(&c, scores, labels, n, 1, 0, who);
    if (st != SN_OK)
        return st;
    /* sum over decreasing thresholds of (R_k - R_{k-1}) * P_k; the step
     * (R 0 -> first point) is included, the closing (P 1, R 0) point adds
     * nothing */
    double sum = 0.0, tp_prev = 0.0;
    for (size_t k = 0; k < c.len; k++) {
        const curve_point *p = &c.pt[k];
        sum += (p->tp - tp_prev) / c.pos * (p->tp / (p->tp + p->fp));
        tp_prev = p->tp;
    }
    *ap = sum;
    curve_free(&c);
    return SN_OK;
}

/* The metric at one row of the table (score >= t positive). */
static double sweep_value(sn_sweep_metric metric, const curve *c,
                          const curve_point *p)
{
    double tp = p->tp, fp = p->fp;
    double fn = c->pos - tp, tn = c->neg - fp;
    switch (metric) {
    case SN_SWEEP_F1:
        return 2.0 * tp / (2.0 * tp + fp + fn);   /* > 0: pos > 0 */
    case SN_SWEEP_ACCURACY:
        return (tp + tn) / (c->pos + c->neg);
    case SN_SWEEP_BALANCED_ACCURACY:
        return 0.5 * (tp / c->pos + tn / c->neg);
    case SN_SWEEP_MCC: {
        double den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
        return den > 0.0 ? (tp * tn - fp * fn) / sqrt(den) : 0.0;
    }
    }
    return 0.0;   /* unreachable: metric was validated */
}

/* Whether candidate (v, t) beats the best so far (bv, bt): a higher value,
 * then a threshold closer to 0.5, then the larger threshold. */
static int better(double v, float t, double bv, float bt)
{
    if (v != bv)
        return v > bv;
    double d = fabs((double)t - 0.5), bd = fabs((double)bt - 0.5);
    if (d != bd)
        return d < bd;
    return t > bt;
}

SN_API sn_status sn_best_threshold(const float *scores, const float *labels,
                                   size_t n, sn_sweep_metric metric,
                                   float *threshold, double *value)
{
    static const char *const who = "sn_best_threshold";
    if ((int)metric < SN_SWEEP_F1 || (int)metric > SN_SWEEP_MCC)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown metric %d", who,
                       (int)metric);
    curve c;
    sn_status st = curve_build(&c, scores, labels, n, 1, 1, who);
    if (st != SN_OK)
        return st;
    double best = sweep_value(metric, &c, &c.pt[0]);
    float best_t = c.pt[0].score;
    for (size_t k = 1; k < c.len; k++) {
        double v = sweep_value(metric, &c, &c.pt[k]);
        if (better(v, c.pt[k].score, best, best_t)) {
            best = v;
            best_t = c.pt[k].score;
        }
    }
    if (threshold != NULL)
        *threshold = best_t;
    if (value != NULL)
        *value = best;
    curve_free(&c);
    return SN_OK;
}
