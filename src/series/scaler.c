/*
 * scaler.c - MinMax and Standard scalers with scikit-learn semantics.
 *
 * Statistics are kept in double and applied as x' = (x - shift) * scale +
 * offset, so that transform and inverse are exact inverses up to float
 * rounding.  Fitting is the caller's job to restrict to the training rows;
 * the scaler never sees the others, which is what keeps the test set out
 * of training.
 */
#include <math.h>

#include "series/series_impl.h"

struct sn_scaler {
    sn_mem mem;
    sn_scaler_kind kind;
    int n_features;
    double lo, hi;        /* MinMax feature_range                        */
    int fitted;
    double *first;        /* [n_features] data min, or mean              */
    double *second;       /* [n_features] data max, or std               */
    double *shift;        /* [n_features] x' = (x - shift) * scale + offset */
    double *scale;
};

SN_API sn_scaler_t *sn_scaler_new(sn_scaler_kind kind, int n_features,
                                  float range_min, float range_max)
{
    if (kind != SN_SCALER_MINMAX && kind != SN_SCALER_STANDARD) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_scaler_new: unknown kind %d",
                (int)kind);
        return NULL;
    }
    if (n_features < 1) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_scaler_new: n_features must be >= 1, "
                "got %d", n_features);
        return NULL;
    }
    if (kind == SN_SCALER_MINMAX && !(range_min < range_max)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_scaler_new: feature range needs min "
                "< max, got %g, %g", (double)range_min, (double)range_max);
        return NULL;
    }
    const sn_mem mem = sn_mem_current();
    sn_scaler_t *s = sn_mem_calloc(&mem, 1, sizeof *s);
    double *stats = sn_mem_calloc(&mem, 4 * (size_t)n_features,
                                  sizeof(double));
    if (s == NULL || stats == NULL) {
        sn_mem_free(&mem, s);
        sn_mem_free(&mem, stats);
        return NULL;
    }
    s->mem = mem;
    s->kind = kind;
    s->n_features = n_features;
    s->lo = range_min;
    s->hi = range_max;
    s->first = stats;
    s->second = stats + n_features;
    s->shift = stats + 2 * n_features;
    s->scale = stats + 3 * n_features;
    return s;
}

SN_API void sn_scaler_free(sn_scaler_t *s)
{
    if (s == NULL)
        return;
    const sn_mem mem = s->mem;
    sn_mem_free(&mem, s->first);
    sn_mem_free(&mem, s);
}

static void fit_minmax(sn_scaler_t *s, const float *data, size_t rows)
{
    const size_t nf = (size_t)s->n_features;
    for (size_t j = 0; j < nf; j++) {
        double mn = data[j], mx = data[j];
        for (size_t i = 1; i < rows; i++) {
            const double v = data[i * nf + j];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        const double range = mx - mn;
        s->first[j] = mn;
        s->second[j] = mx;
        s->shift[j] = mn;
        /* sklearn: a zero data range counts as 1 */
        s->scale[j] = (s->hi - s->lo) / (range > 0.0 ? range : 1.0);
    }
}

static void fit_standard(sn_scaler_t *s, const float *data, size_t rows)
{
    const size_t nf = (size_t)s->n_features;
    for (size_t j = 0; j < nf; j++) {
        double sum = 0.0;
        for (size_t i = 0; i < rows; i++)
            sum += data[i * nf + j];
        const double mean = sum / (double)rows;
        /* two passes: the one-pass formula cancels badly for prices */
        double ss = 0.0;
        for (size_t i = 0; i < rows; i++) {
            const double d = data[i * nf + j] - mean;
            ss += d * d;
        }
        const double sd = sqrt(ss / (double)rows);
        s->first[j] = mean;
        s->second[j] = sd;
        s->shift[j] = mean;
        s->scale[j] = sd > 0.0 ? 1.0 / sd : 1.0;
    }
}

SN_API sn_status sn_scaler_fit(sn_scaler_t *s, const float *data, int rows)
{
    if (s == NULL || data == NULL || rows < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_scaler_fit: need a scaler, "
                       "data and rows >= 1");
    const size_t n = (size_t)rows * (size_t)s->n_features;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i]))
            return sn_fail(SN_ERR_NUMERIC, "sn_scaler_fit: row %zu feature "
                           "%zu is not finite", i / (size_t)s->n_features,
                           i % (size_t)s->n_features);
    if (s->kind == SN_SCALER_MINMAX)
        fit_minmax(s, data, (size_t)rows);
    else
        fit_standard(s, data, (size_t)rows);
    s->fitted = 1;
    return SN_OK;
}

static sn_status check_apply(const sn_scaler_t *s, const void *data, int n,
                             const char *who)
{
    if (s == NULL || (data == NULL && n > 0) || n < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: need a scaler, data and a "
                       "count >= 0", who);
    if (!s->fitted)
        return sn_fail(SN_ERR_STATE, "%s: the scaler is not fitted (call "
                       "sn_scaler_fit on the training rows first)", who);
    return SN_OK;
}

static double offset_of(const sn_scaler_t *s)
{
    return s->kind == SN_SCALER_MINMAX ? s->lo : 0.0;
}

SN_API sn_status sn_scaler_transform(const sn_scaler_t *s, float *data,
                                     int rows)
{
    sn_status st = check_apply(s, data, rows, "sn_scaler_transform");
    if (st != SN_OK)
        return st;
    const size_t nf = (size_t)s->n_features;
    const double off = offset_of(s);
    for (size_t i = 0; i < (size_t)rows; i++)
        for (size_t j = 0; j < nf; j++) {
            float *v = &data[i * nf + j];
            *v = (float)((*v - s->shift[j]) * s->scale[j] + off);
        }
    return SN_OK;
}

static void inverse_strided(const sn_scaler_t *s, size_t j, float *v,
                            size_t n, size_t stride)
{
    const double off = offset_of(s);
    for (size_t i = 0; i < n; i++) {
        float *p = &v[i * stride];
        *p = (float)((*p - off) / s->scale[j] + s->shift[j]);
    }
}

SN_API sn_status sn_scaler_inverse(const sn_scaler_t *s, float *data,
                                   int rows)
{
    sn_status st = check_apply(s, data, rows, "sn_scaler_inverse");
    if (st != SN_OK)
        return st;
    const size_t nf = (size_t)s->n_features;
    for (size_t j = 0; j < nf; j++)
        inverse_strided(s, j, data + j, (size_t)rows, nf);
    return SN_OK;
}

SN_API sn_status sn_scaler_inverse_column(const sn_scaler_t *s, int feature,
                                          float *values, int n)
{
    sn_status st = check_apply(s, values, n, "sn_scaler_inverse_column");
    if (st != SN_OK)
        return st;
    if (feature < 0 || feature >= s->n_features)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_scaler_inverse_column: "
                       "feature %d out of range 0..%d", feature,
                       s->n_features - 1);
    inverse_strided(s, (size_t)feature, values, (size_t)n, 1);
    return SN_OK;
}

SN_API sn_status sn_scaler_statistics(const sn_scaler_t *s, double *first,
                                      double *second)
{
    sn_status st = check_apply(s, s, 0, "sn_scaler_statistics");
    if (st != SN_OK)
        return st;
    for (int j = 0; j < s->n_features; j++) {
        if (first != NULL)
            first[j] = s->first[j];
        if (second != NULL)
            second[j] = s->second[j];
    }
    return SN_OK;
}
