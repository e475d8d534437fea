/*
 * regression.c - regression errors (MAE, RMSE, MAPE) and the naive
 * forecasting baselines a sequence model should beat: the last value and
 * the seasonal naive forecast, alone and backtested over every window a
 * sequence generator makes.  See docs/EVALUATION.md.
 */
#include <math.h>

#include "internal.h"

/* Running sums of one error set, in double. */
typedef struct err_sums {
    double abs, sq, pct;
    size_t n, n_pct, skipped;
} err_sums;

static void err_add(err_sums *s, double pred, double truth)
{
    double e = pred - truth;
    s->abs += fabs(e);
    s->sq += e * e;
    s->n++;
    if (truth == 0.0) {
        s->skipped++;   /* the percentage error is undefined */
        return;
    }
    s->pct += fabs(e) / fabs(truth);
    s->n_pct++;
}

static sn_status check_finite(const float *x, size_t n, const char *name,
                              const char *who)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return sn_fail(SN_ERR_NUMERIC, "%s: %s[%zu] is not finite", who,
                           name, i);
    return SN_OK;
}

SN_API sn_status sn_eval_regression(const float *pred, const float *truth,
                                    size_t n, double *mae, double *rmse,
                                    double *mape, size_t *mape_skipped)
{
    static const char *const who = "sn_eval_regression";
    if (pred == NULL || truth == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: pred and truth must not be "
                       "NULL", who);
    if (n == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: n is 0", who);
    sn_status st = check_finite(pred, n, "pred", who);
    if (st == SN_OK)
        st = check_finite(truth, n, "truth", who);
    if (st != SN_OK)
        return st;

    err_sums s = { 0 };
    for (size_t i = 0; i < n; i++)
        err_add(&s, pred[i], truth[i]);
    if (mae != NULL)
        *mae = s.abs / (double)s.n;
    if (rmse != NULL)
        *rmse = sqrt(s.sq / (double)s.n);
    if (mape != NULL)
        *mape = s.n_pct > 0 ? 100.0 * s.pct / (double)s.n_pct : NAN;
    if (mape_skipped != NULL)
        *mape_skipped = s.skipped;
    return SN_OK;
}

/* Index of the value the naive forecast uses for step h >= 1 after
 * origin: the last value, or the same phase one season back (which for
 * h > m repeats the last observed season). */
static size_t naive_source(size_t origin, size_t h, size_t season)
{
    if (season <= 1)
        return origin;
    return origin + h - season * ((h - 1) / season + 1);
}

/* Shared argument checks of the forecast functions. */
static sn_status check_series(const float *series, size_t n, size_t season,
                              const char *who)
{
    if (series == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: series is NULL", who);
    if (n == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: n is 0", who);
    if (season > n)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: season %zu is longer than "
                       "the series (%zu values)", who, season, n);
    return SN_OK;
}

SN_API sn_status sn_naive_forecast(const float *series, size_t n,
                                   size_t horizon, size_t season,
                                   size_t origin, float *out)
{
    static const char *const who = "sn_naive_forecast";
    sn_status st = check_series(series, n, season, who);
    if (st != SN_OK)
        return st;
    if (out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: out is NULL", who);
    if (horizon == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: horizon is 0", who);
    if (origin >= n)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: origin %zu is past the end "
                       "of the series (%zu values)", who, origin, n);
    if (season > 1 && origin + 1 < season)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: origin %zu leaves less than "
                       "one season (%zu) of history", who, origin, season);
    /* check every value read before writing out */
    size_t reads = season > 1 && horizon > season ? season : horizon;
    for (size_t h = 1; h <= reads; h++) {
        size_t at = naive_source(origin, h, season);
        if (!isfinite(series[at]))
            return sn_fail(SN_ERR_NUMERIC, "%s: series[%zu] is not finite",
                           who, at);
    }
    for (size_t h = 1; h <= horizon; h++)
        out[h - 1] = series[naive_source(origin, h, season)];
    return SN_OK;
}

SN_API sn_status sn_naive_backtest(const float *series, size_t n,
                                   size_t n_steps_in, size_t n_steps_out,
                                   size_t season, double *mae, double *rmse)
{
    static const char *const who = "sn_naive_backtest";
    sn_status st = check_series(series, n, season, who);
    if (st != SN_OK)
        return st;
    if (n_steps_in == 0 || n_steps_out == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: n_steps_in (%zu) and "
                       "n_steps_out (%zu) must be > 0", who, n_steps_in,
                       n_steps_out);
    /* too short for one window: SN_ERR_SHAPE, as sn_create_sequences */
    if (n_steps_in > n || n_steps_out > n - n_steps_in)
        return sn_fail(SN_ERR_SHAPE, "%s: %zu values make no window "
                       "of %zu + %zu steps", who, n, n_steps_in,
                       n_steps_out);
    if (season > n_steps_in)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: season %zu is longer than "
                       "a window's %zu input steps", who, season,
                       n_steps_in);
    /* every value of the series is an input or a target of some window */
    st = check_finite(series, n, "series", who);
    if (st != SN_OK)
        return st;

    err_sums s = { 0 };
    size_t windows = n - n_steps_in - n_steps_out + 1;
    for (size_t w = 0; w < windows; w++) {
        size_t origin = w + n_steps_in - 1;
        for (size_t h = 1; h <= n_steps_out; h++)
            err_add(&s, series[naive_source(origin, h, season)],
                    series[origin + h]);
    }
    if (mae != NULL)
        *mae = s.abs / (double)s.n;
    if (rmse != NULL)
        *rmse = sqrt(s.sq / (double)s.n);
    return SN_OK;
}
