/*
 * metrics.c - the built-in Keras metrics over one batch.
 *
 * Shapes: pred [rows, cols]; target [rows, cols], or [rows] class ids for
 * sparse categorical accuracy.  Every metric is a mean over rows of a
 * per-row value (and, for the elementwise ones, a mean over cols), so a
 * caller can average batches weighted by their row counts.  Accumulated in
 * double.
 */
#include <math.h>
#include <stddef.h>

#include "train.h"

static const char *const who = "sn_metric_compute";

/* Index of the largest of x[n]; the first one on ties, as tf.argmax. */
static int argmax(const float *x, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (x[j] > x[best])
            best = j;
    return best;
}

/* Binary accuracy: mean over all elements of [(p > threshold) == (y > 0.5)]
 * (Keras casts p > threshold to 0/1 and compares it with the 0/1 label). */
static double binary_accuracy(int rows, int cols, const float *p,
                              const float *y, float threshold)
{
    size_t n = (size_t)rows * (size_t)cols, hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += (p[i] > threshold) == (y[i] > 0.5f);
    return (double)hits / (double)n;
}

/* Categorical accuracy: mean_r [argmax p_r == argmax y_r]. */
static double categorical_accuracy(int rows, int cols, const float *p,
                                   const float *y)
{
    int hits = 0;
    for (int r = 0; r < rows; r++) {
        size_t at = (size_t)r * (size_t)cols;
        hits += argmax(p + at, cols) == argmax(y + at, cols);
    }
    return (double)hits / rows;
}

/* Sparse categorical accuracy: mean_r [argmax p_r == id_r]. */
static double sparse_accuracy(int rows, int cols, const float *p,
                              const float *ids)
{
    int hits = 0;
    for (int r = 0; r < rows; r++)
        hits += argmax(p + (size_t)r * (size_t)cols, cols) == (int)ids[r];
    return (double)hits / rows;
}

/* Mean over all elements of |p - y| (power 1) or (p - y)^2 (power 2). */
static double mean_error(int rows, int cols, const float *p, const float *y,
                         int power)
{
    size_t n = (size_t)rows * (size_t)cols;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)p[i] - y[i];
        sum += power == 1 ? fabs(e) : e * e;
    }
    return sum / (double)n;
}

/* ------------------------------------------------------------ validation */

static sn_status check_finite(const float *x, int rows, int cols,
                              const char *what)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            float v = x[(size_t)r * (size_t)cols + (size_t)j];
            if (!isfinite(v))
                return sn_fail(SN_ERR_NUMERIC,
                               "%s: %s[%d, %d] is not finite (%g)", who, what,
                               r, j, (double)v);
        }
    return SN_OK;
}

/* Sparse targets: integral class ids in [0, cols), as for the loss. */
static sn_status check_class_ids(const float *t, int rows, int cols)
{
    sn_status st = check_finite(t, rows, 1, "target");
    if (st != SN_OK)
        return st;
    for (int r = 0; r < rows; r++) {
        double v = t[r];
        if (v != floor(v) || v < 0.0 || v >= (double)cols)
            return sn_fail(SN_ERR_INVALID_ARG,
                           "%s: class id of row %d is %g, expected an integer "
                           "in [0, %d)", who, r, v, cols);
    }
    return SN_OK;
}

static int kind_valid(sn_metric_kind kind)
{
    return kind >= SN_METRIC_ACCURACY && kind <= SN_METRIC_RECALL;
}

static sn_status check_args(sn_metric_kind kind, int rows, int cols,
                            const float *pred, const float *target,
                            float threshold, const double *value)
{
    if (pred == NULL || target == NULL || value == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: pred, target and value must not be NULL", who);
    if (rows <= 0 || cols <= 0)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: rows and cols must be > 0, got %d and %d", who,
                       rows, cols);
    if (!kind_valid(kind))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown metric kind %d", who,
                       (int)kind);
    if (!isfinite(threshold))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: threshold is not finite (%g)",
                       who, (double)threshold);
    sn_status st = check_finite(pred, rows, cols, "pred");
    if (st != SN_OK)
        return st;
    if (kind == SN_METRIC_SPARSE_CATEGORICAL_ACCURACY)
        return check_class_ids(target, rows, cols);
    return check_finite(target, rows, cols, "target");
}

SN_API sn_status sn_metric_compute(sn_metric_kind kind, int rows, int cols,
                                   const float *pred, const float *target,
                                   float threshold, double *value)
{
    sn_status st = check_args(kind, rows, cols, pred, target, threshold,
                              value);
    if (st != SN_OK)
        return st;
    /* "accuracy" resolves from the shape as Keras does: one output column
     * is a binary problem, several are one-hot classes */
    if (kind == SN_METRIC_ACCURACY)
        kind = cols == 1 ? SN_METRIC_BINARY_ACCURACY
                         : SN_METRIC_CATEGORICAL_ACCURACY;
    switch (kind) {
    case SN_METRIC_BINARY_ACCURACY:
        *value = binary_accuracy(rows, cols, pred, target, threshold);
        break;
    case SN_METRIC_CATEGORICAL_ACCURACY:
        *value = categorical_accuracy(rows, cols, pred, target);
        break;
    case SN_METRIC_SPARSE_CATEGORICAL_ACCURACY:
        *value = sparse_accuracy(rows, cols, pred, target);
        break;
    case SN_METRIC_MAE:
        *value = mean_error(rows, cols, pred, target, 1);
        break;
    case SN_METRIC_MSE:
        *value = mean_error(rows, cols, pred, target, 2);
        break;
    case SN_METRIC_ACCURACY:
        break; /* resolved above */
    case SN_METRIC_AUC:
    case SN_METRIC_PRECISION:
    case SN_METRIC_RECALL: /* metrics_confusion.c, this batch alone */
        *value = sn_confusion_once(kind, (size_t)rows * (size_t)cols, pred,
                                   target, threshold);
        break;
    }
    return SN_OK;
}
