/*
 * classification.c - counting metrics: the binary report at one threshold,
 * the multi-class confusion matrix and the per-class / averaged precision,
 * recall and F1 derived from it.  See docs/EVALUATION.md.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "eval/eval_impl.h"

/* num / den, or 0 when den is 0 (scikit-learn's zero_division=0). */
static double ratio(double num, double den)
{
    return den > 0.0 ? num / den : 0.0;
}

/* Output structs carry their size like option structs: at least the size
 * field, at most what this library knows. */
static sn_status check_sized(const void *dst, size_t known, const char *who)
{
    size_t size;
    memcpy(&size, dst, sizeof size);
    if (size < sizeof size || size > known)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: out->size is %zu; set it to sizeof the struct "
                       "(%zu)", who, size, known);
    return SN_OK;
}

/* Copies a fully computed struct into the caller's, only the bytes its
 * size field says it has (so an older, shorter struct keeps working) and
 * keeping that size field.  check_sized has passed. */
static void copy_sized(void *dst, const void *src)
{
    size_t size;
    memcpy(&size, dst, sizeof size);
    memcpy((char *)dst + sizeof size, (const char *)src + sizeof size,
           size - sizeof size);
}

/* Labels 0/1 and finite scores: the rules of every binary metric, the
 * curve functions included. */
sn_status sn_eval_check_binary(const float *scores, const float *labels,
                               size_t n, const char *who)
{
    if (scores == NULL || labels == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: scores and labels must not "
                       "be NULL", who);
    if (n == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: n is 0", who);
    for (size_t i = 0; i < n; i++) {
        if (labels[i] != 0.0f && labels[i] != 1.0f)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: labels[%zu] is %g, not "
                           "0 or 1", who, i, (double)labels[i]);
        if (!isfinite(scores[i]))
            return sn_fail(SN_ERR_NUMERIC, "%s: scores[%zu] is not finite",
                           who, i);
    }
    return SN_OK;
}

SN_API sn_status sn_eval_binary(const float *scores, const float *labels,
                                size_t n, float threshold,
                                sn_binary_report *out)
{
    static const char *const who = "sn_eval_binary";
    if (out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: out is NULL", who);
    if (isnan(threshold))
        return sn_fail(SN_ERR_NUMERIC, "%s: threshold is NaN", who);
    sn_status st = check_sized(out, sizeof *out, who);
    if (st == SN_OK)
        st = sn_eval_check_binary(scores, labels, n, who);
    if (st != SN_OK)
        return st;

    sn_binary_report r = SN_BINARY_REPORT_INIT;
    for (size_t i = 0; i < n; i++) {
        int pos = scores[i] >= threshold, truth = labels[i] == 1.0f;
        r.tp += pos && truth;
        r.fp += pos && !truth;
        r.tn += !pos && !truth;
        r.fn += !pos && truth;
    }
    double tp = (double)r.tp, fp = (double)r.fp, fn = (double)r.fn;
    r.accuracy = ((double)r.tp + (double)r.tn) / (double)n;
    r.precision = ratio(tp, tp + fp);
    r.recall = ratio(tp, tp + fn);
    /* 2tp / (2tp + fp + fn) equals 2PR / (P + R) but needs no 0/0 case
     * for P + R == 0 beyond tp == 0 */
    r.f1 = ratio(2.0 * tp, 2.0 * tp + fp + fn);
    copy_sized(out, &r);
    return SN_OK;
}

SN_API sn_status sn_confusion_matrix(const int *y_true, const int *y_pred,
                                     size_t n, int n_classes, long *matrix)
{
    static const char *const who = "sn_confusion_matrix";
    if (y_true == NULL || y_pred == NULL || matrix == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: y_true, y_pred and matrix "
                       "must not be NULL", who);
    if (n == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: n is 0", who);
    if (n_classes < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: n_classes is %d, must be "
                       ">= 1", who, n_classes);
    /* validate everything before touching matrix, so that a failed call
     * leaves the caller's buffer as it was */
    for (size_t i = 0; i < n; i++) {
        if (y_true[i] < 0 || y_true[i] >= n_classes)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: y_true[%zu] is %d, "
                           "outside [0, %d)", who, i, y_true[i], n_classes);
        if (y_pred[i] < 0 || y_pred[i] >= n_classes)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: y_pred[%zu] is %d, "
                           "outside [0, %d)", who, i, y_pred[i], n_classes);
    }
    size_t k = (size_t)n_classes;
    memset(matrix, 0, k * k * sizeof *matrix);
    for (size_t i = 0; i < n; i++)
        matrix[(size_t)y_true[i] * k + (size_t)y_pred[i]]++;
    return SN_OK;
}

/* Row sum (support) and column sum (predicted count) of class c. */
static void class_sums(const long *m, size_t k, size_t c, double *row,
                       double *col)
{
    *row = 0.0;
    *col = 0.0;
    for (size_t j = 0; j < k; j++) {
        *row += (double)m[c * k + j];
        *col += (double)m[j * k + c];
    }
}

static sn_status check_matrix(const long *m, int n_classes, const char *who)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: matrix is NULL", who);
    if (n_classes < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: n_classes is %d, must be "
                       ">= 1", who, n_classes);
    size_t k = (size_t)n_classes;
    long total = 0;
    for (size_t i = 0; i < k * k; i++) {
        if (m[i] < 0)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: matrix[%zu] is %ld, "
                           "counts must be >= 0", who, i, m[i]);
        total += m[i];
    }
    if (total == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: the matrix holds no "
                       "samples", who);
    return SN_OK;
}

SN_API sn_status sn_class_metrics(const long *matrix, int n_classes,
                                  double *precision, double *recall,
                                  double *f1, sn_class_averages *avg)
{
    static const char *const who = "sn_class_metrics";
    sn_status st = check_matrix(matrix, n_classes, who);
    if (st == SN_OK && avg != NULL)
        st = check_sized(avg, sizeof *avg, who);
    if (st != SN_OK)
        return st;

    size_t k = (size_t)n_classes;
    sn_class_averages a = SN_CLASS_AVERAGES_INIT;
    double total = 0.0, trace = 0.0, present = 0.0;
    for (size_t c = 0; c < k; c++) {
        double row, col, tp = (double)matrix[c * k + c];
        class_sums(matrix, k, c, &row, &col);
        double p = ratio(tp, col), r = ratio(tp, row);
        double f = ratio(2.0 * tp, row + col);   /* 2tp / (2tp + fp + fn) */
        if (precision != NULL)
            precision[c] = p;
        if (recall != NULL)
            recall[c] = r;
        if (f1 != NULL)
            f1[c] = f;
        total += row;
        trace += tp;
        /* scikit-learn averages over the labels seen in y_true or y_pred */
        if (row + col > 0.0) {
            present += 1.0;
            a.macro_precision += p;
            a.macro_recall += r;
            a.macro_f1 += f;
        }
        a.weighted_precision += p * row;
        a.weighted_recall += r * row;
        a.weighted_f1 += f * row;
    }
    if (avg == NULL)
        return SN_OK;
    a.accuracy = trace / total;
    a.macro_precision /= present;   /* present >= 1 since total > 0 */
    a.macro_recall /= present;
    a.macro_f1 /= present;
    a.weighted_precision /= total;
    a.weighted_recall /= total;
    a.weighted_f1 /= total;
    copy_sized(avg, &a);
    return SN_OK;
}
