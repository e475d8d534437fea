/*
 * windows.c - supervised windows for direct multi-step forecasting, and the
 * temporal (never shuffled) train/validation/test split.
 */
#include <math.h>
#include <string.h>

#include "series/series_impl.h"

SN_API int sn_sequences_count(int n_rows, int n_steps_in, int n_steps_out)
{
    if (n_rows < 0 || n_steps_in < 1 || n_steps_out < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_sequences_count: need n_rows "
                       ">= 0, n_steps_in >= 1 and n_steps_out >= 1, got %d, "
                       "%d, %d", n_rows, n_steps_in, n_steps_out);
    /* in 64 bits: n_steps_in + n_steps_out may pass INT_MAX */
    const long long n = (long long)n_rows - n_steps_in - n_steps_out + 1;
    return n > 0 ? (int)n : 0;
}

static sn_status check_targets(int n_features, const int *target_cols,
                               int n_targets)
{
    if (target_cols == NULL || n_targets < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_create_sequences: need at "
                       "least one target column");
    for (int k = 0; k < n_targets; k++)
        if (target_cols[k] < 0 || target_cols[k] >= n_features)
            return sn_fail(SN_ERR_INVALID_ARG, "sn_create_sequences: "
                           "target_cols[%d] = %d is not a feature index "
                           "0..%d", k, target_cols[k], n_features - 1);
    return SN_OK;
}

SN_API sn_status sn_create_sequences(const float *series, int n_rows,
                                     int n_features, int n_steps_in,
                                     int n_steps_out, const int *target_cols,
                                     int n_targets, float *x, float *y,
                                     int *n_windows)
{
    if (n_windows != NULL)
        *n_windows = 0;
    if (series == NULL || x == NULL || y == NULL || n_windows == NULL ||
        n_features < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_create_sequences: series, x, "
                       "y and n_windows must not be NULL and n_features must "
                       "be >= 1");
    const int count = sn_sequences_count(n_rows, n_steps_in, n_steps_out);
    if (count < 0)
        return (sn_status)count;
    sn_status st = check_targets(n_features, target_cols, n_targets);
    if (st != SN_OK)
        return st;
    if (count == 0)
        return sn_fail(SN_ERR_SHAPE, "sn_create_sequences: %d rows are too "
                       "few for one window of n_steps_in %d + n_steps_out %d",
                       n_rows, n_steps_in, n_steps_out);
    const size_t f = (size_t)n_features, in = (size_t)n_steps_in;
    const size_t out_w = (size_t)n_steps_out * (size_t)n_targets;
    for (size_t w = 0; w < (size_t)count; w++) {
        /* the input rows are contiguous in the series: one copy */
        memcpy(x + w * in * f, series + w * f, in * f * sizeof(float));
        float *yw = y + w * out_w;
        for (size_t s = 0; s < (size_t)n_steps_out; s++)
            for (size_t k = 0; k < (size_t)n_targets; k++)
                yw[s * (size_t)n_targets + k] =
                    series[(w + in + s) * f + (size_t)target_cols[k]];
    }
    *n_windows = count;
    return SN_OK;
}

/* floor(n * frac), forgiving the float rounding of frac: 0.7f is
 * 0.69999999, and 100 rows at 0.7 must give 70, not 69. */
static int part(int n, float frac)
{
    const double x = (double)n * (double)frac;
    return (int)floor(x + x * 1e-6);
}

SN_API sn_status sn_temporal_split(int n_rows, float train_frac,
                                   float val_frac, int *train_end,
                                   int *val_end)
{
    if (train_end == NULL || val_end == NULL || n_rows < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_temporal_split: need n_rows "
                       ">= 1 and non-NULL train_end and val_end");
    /* the !(a > b) forms also refuse NaN */
    if (!(train_frac > 0.0f) || !(val_frac >= 0.0f) ||
        !((double)train_frac + (double)val_frac <= 1.0 + 1e-6))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_temporal_split: need "
                       "train_frac > 0, val_frac >= 0 and their sum <= 1, "
                       "got %g and %g", (double)train_frac, (double)val_frac);
    const int tr = part(n_rows, train_frac);
    int va = tr + part(n_rows, val_frac);
    if (tr < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_temporal_split: train_frac "
                       "%g of %d rows leaves no training row",
                       (double)train_frac, n_rows);
    if (va > n_rows) /* fractions summing to 1 within rounding */
        va = n_rows;
    *train_end = tr;
    *val_end = va;
    return SN_OK;
}
