/*
 * examples/04_time_series.c - forecasting a time series with a hybrid
 * Conv1D + LSTM network, and checking it against the naive forecast.
 *
 * Course example 4.  Two series go through the same pipeline:
 *
 *   1. a synthetic multivariate series (trend + season + two covariates +
 *      noise, from sn_synthetic_series) whose structure is known, so a
 *      working forecaster MUST beat the naive forecast on it;
 *   2. real daily stock prices from a Yahoo Finance CSV (--csv FILE,
 *      default ../shared/data/stocks/GSPC.csv, the S&P 500 2009-2019).
 *
 * The pipeline, in the order that keeps the future out of training:
 *
 *   split in time (70 / 15 / 15) -> fit a MinMax scaler on the training
 *   rows only -> cut windows of 60 steps inside each split -> express each
 *   window relative to its last value -> train single-step (1 output)
 *   and direct multi-step (30 outputs) models ->
 *   evaluate on the test period in original units against the naive
 *   "last value" forecast -> recursive multi-step for contrast -> a
 *   30-step forecast past the end of the data.
 *
 * The model (as in the course):
 *   Conv1D(64, 3, causal, relu) -> Conv1D(32, 3, causal, relu)
 *   -> LSTM(128, return_sequences) -> Dropout(0.2) -> LSTM(64)
 *   -> Dropout(0.2) -> Dense(64, relu) -> Dense(n_out)
 *
 * Usage:  04_time_series [--data DIR] [--out DIR] [--seed N] [--epochs N]
 *                        [--quick] [--csv FILE] [--features A,B,...]
 *                        [--absolute]
 * Tutorial: docs/tutorials/04_time_series.md
 * Output: <out>/report.md and PNG figures (default out/04/).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/example.h"

/* ------------------------------------------------------------ settings */

/* Everything the run depends on, chosen once in main from --quick. */
typedef struct config {
    int n_in;          /* input steps per window                          */
    int horizon;       /* steps of the multi-step forecasts               */
    int epochs;        /* upper bound; early stopping usually ends sooner */
    int patience;      /* epochs without a better val_loss before stopping */
    int batch;
    float train_frac, val_frac;
    int stock_rows;    /* 0 = the whole file; --quick keeps the last ones */
    int synth_rows;
    uint64_t seed;
    int quick;
    int absolute;      /* --absolute: feed scaled levels, not changes     */
} config;

/* A series to forecast: column 0 of data is the target, the other columns
 * are extra input features (covariates, or e.g. Volume). */
typedef struct series {
    const char *tag;       /* file-name prefix: "synthetic" or "stock"   */
    char title[160];
    const char *unit;      /* for the tables: "USD", "units"             */
    char xlabel[96];       /* what the x axis of the plots is            */
    int rows, n_feat;
    float *data;           /* raw values [rows, n_feat]                  */
    double *x;             /* plot position of each row: consecutive
                            * integers, so forecast step k sits at
                            * x[rows - 1] + k                            */
} series;

/* A split of the series cut into windows.  x is the scaled input
 * [n, n_in, n_feat]; x_rel and y_rel are what the network trains on
 * (relative to the window's last input, see relative()); y_raw holds the
 * targets in original units, taken straight from the raw data so the
 * metrics carry no rounding from the scaler round trip. */
typedef struct windows {
    int n, n_out;
    int first_target;      /* row of the first target of window 0        */
    float *x, *x_rel, *y_rel, *y_raw;
} windows;

/* Test errors in original units. */
typedef struct err {
    double mae, rmse, mape;
} err;

/* What one series contributes to the closing summary. */
typedef struct outcome {
    err naive1, model1;    /* one step ahead                            */
    err naiveh, direct, recursive;   /* all horizon steps together      */
} outcome;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    ex_check(p ? 0 : SN_ERR_NOMEM, "calloc");
    return p;
}

/* ------------------------------------------------------------ data */

/* Reads the stock CSV.  AAPL.csv has a row of "null"s (1981-08-10): the
 * missing-value policy drops such rows instead of failing, and we say how
 * many went. */
static void load_stock(ex_report *r, const config *cfg, const char *path,
                       const char *features, series *s)
{
    /* "Close,Volume" -> {"Close", "Volume"}; the first is the target. */
    static char buf[256];
    const char *names[8];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", features);
    for (char *tok = strtok(buf, ","); tok && n < 8; tok = strtok(NULL, ","))
        names[n++] = tok;
    ex_check(n > 0 ? 0 : SN_ERR_INVALID_ARG, "--features is empty");

    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.missing = SN_MISSING_DROP_ROW;
    o.columns = names;
    o.n_columns = n;
    sn_table_t *t = NULL;
    ex_check(sn_csv_read(path, &o, &t), path);
    ex_check(sn_table_has_dates(t) ? 0 : SN_ERR_FORMAT,
             "the CSV has no Date column (Yahoo format expected)");

    int all = sn_table_rows(t);
    int skip = (cfg->stock_rows > 0 && all > cfg->stock_rows)
                   ? all - cfg->stock_rows : 0;
    float *full = xcalloc((size_t)all * n, sizeof *full);
    ex_check(sn_table_select(t, names, n, full), "sn_table_select");

    s->tag = "stock";
    s->unit = "USD";
    s->rows = all - skip;
    s->n_feat = n;
    s->data = xcalloc((size_t)s->rows * n, sizeof *s->data);
    memcpy(s->data, full + (size_t)skip * n,
           (size_t)s->rows * n * sizeof *full);
    /* The plots count trading days back from the last close: forecast
     * step k is then simply day k (weekends and holidays are not rows). */
    s->x = xcalloc((size_t)s->rows, sizeof *s->x);
    for (int i = 0; i < s->rows; i++)
        s->x[i] = i - (s->rows - 1);
    char d0[11], d1[11];
    ex_check(sn_table_date_string(t, skip, d0), "sn_table_date_string");
    ex_check(sn_table_date_string(t, all - 1, d1), "sn_table_date_string");
    snprintf(s->xlabel, sizeof s->xlabel,
             "trading days (0 = %s, the last close)", d1);
    const char *base = strrchr(path, '/');
    snprintf(s->title, sizeof s->title, "%s, %s", base ? base + 1 : path,
             names[0]);

    ex_say(r, "Read %s: %d rows with %d column(s) (%s first, the target), "
           "%d row(s) with missing values dropped.", path, all, n, names[0],
           sn_table_dropped_rows(t));
    ex_say(r, "Using %d trading days, %s .. %s%s.", s->rows, d0, d1,
           skip ? " (--quick: only the last stretch)" : "");
    free(full);
    sn_table_free(t);
}

/* The synthetic series: target = level + trend + season + 0.5 * (sum of
 * the covariates) + noise.  The covariates are inputs too: the model can
 * read their current values, which the naive forecast ignores. */
static void make_synthetic(ex_report *r, const config *cfg, series *s)
{
    sn_synth_opts o = SN_SYNTH_OPTS_INIT;   /* data seed stays 42 */
    o.n_rows = cfg->synth_rows;
    o.n_covariates = 2;
    s->tag = "synthetic";
    s->unit = "units";
    snprintf(s->xlabel, sizeof s->xlabel, "time step");
    s->rows = o.n_rows;
    s->n_feat = 1 + o.n_covariates;
    s->data = xcalloc((size_t)s->rows * s->n_feat, sizeof *s->data);
    ex_check(sn_synthetic_series(&o, s->data), "sn_synthetic_series");
    s->x = xcalloc((size_t)s->rows, sizeof *s->x);
    for (int i = 0; i < s->rows; i++)
        s->x[i] = i;
    snprintf(s->title, sizeof s->title, "synthetic series");
    ex_say(r, "Synthetic series: %d steps, target + %d covariates "
           "(level %.0f, trend %.2f/step, season period %.0f, amplitude "
           "%.1f, covariate weight %.1f, noise sd %.1f, data seed %llu).",
           o.n_rows, o.n_covariates, o.level, o.trend, o.season_period,
           o.season_amplitude, o.covariate_weight, o.noise_std,
           (unsigned long long)o.seed);
}

/* ------------------------------------------------------------ splitting */

typedef struct prepared {
    int train_end, val_end;    /* rows [0,te) train, [te,ve) val, rest test */
    sn_scaler_t *scaler;
    float *scaled;             /* [rows, n_feat] with training statistics  */
    float *target_raw;         /* column 0 in original units, contiguous   */
} prepared;

/* Rules 1 and 2 of the course: split first, in time order; fit the scaler
 * on the training rows only, then transform every row with those training
 * statistics. */
static void prepare(ex_report *r, const config *cfg, const series *s,
                    prepared *p)
{
    ex_check(sn_temporal_split(s->rows, cfg->train_frac, cfg->val_frac,
                               &p->train_end, &p->val_end),
             "sn_temporal_split");
    p->scaler = sn_scaler_new(SN_SCALER_MINMAX, s->n_feat, 0.0f, 1.0f);
    ex_check(p->scaler ? 0 : -1, "sn_scaler_new");
    ex_check(sn_scaler_fit(p->scaler, s->data, p->train_end),
             "sn_scaler_fit (training rows only)");
    size_t cells = (size_t)s->rows * s->n_feat;
    p->scaled = xcalloc(cells, sizeof *p->scaled);
    memcpy(p->scaled, s->data, cells * sizeof *p->scaled);
    ex_check(sn_scaler_transform(p->scaler, p->scaled, s->rows),
             "sn_scaler_transform");
    p->target_raw = xcalloc((size_t)s->rows, sizeof *p->target_raw);
    for (int i = 0; i < s->rows; i++)
        p->target_raw[i] = s->data[(size_t)i * s->n_feat];

    /* Where do the test targets land on the training scale?  Above 1
     * means prices the model never saw during training. */
    double lo = 1e30, hi = -1e30;
    for (int i = p->val_end; i < s->rows; i++) {
        double v = p->scaled[(size_t)i * s->n_feat];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    /* One minimum and one maximum per feature; the target's come first. */
    double *mins = xcalloc((size_t)s->n_feat, sizeof *mins);
    double *maxs = xcalloc((size_t)s->n_feat, sizeof *maxs);
    ex_check(sn_scaler_statistics(p->scaler, mins, maxs),
             "sn_scaler_statistics");
    double tmin = mins[0], tmax = maxs[0];
    free(mins);
    free(maxs);
    ex_say(r, "Split in time: train rows 0..%d, validation %d..%d, test "
           "%d..%d (%d / %d / %d rows).", p->train_end - 1, p->train_end,
           p->val_end - 1, p->val_end, s->rows - 1, p->train_end,
           p->val_end - p->train_end, s->rows - p->val_end);
    ex_say(r, "MinMax scaler fitted on the %d training rows only: target "
           "min %.4g, max %.4g %s.  Test targets scale to [%.3f, %.3f]%s",
           p->train_end, tmin, tmax, s->unit, lo, hi,
           hi > 1.0 ? " -- above 1: the test period goes beyond anything "
                      "seen in training, which a scaled network finds hard."
                    : ".");
}

/* Scaled levels drift out of the training range (see prepare()), and an
 * LSTM, whose states are squashed by tanh and sigmoid, cannot carry a
 * level it never saw.  So the network sees every window relative to its
 * own last input: each feature minus its value at the last step, and it
 * forecasts the change of the target from that last value.  The window's
 * last value is the past, so this leaks nothing; and a network that
 * outputs 0 IS the naive forecast, so it only has to learn a correction.
 * Changes are small on the [0, 1] scale (a day's move is ~1% of the
 * training range), so they are multiplied by REL_GAIN to bring them near
 * unit size, where the default initialisers and learning rate work well.
 * x [n, n_in, n_feat] scaled -> x_rel; ref[n] (if not NULL) gets the
 * target's last value, to be added back to the predictions.  --absolute
 * skips all this (ref = 0, gain 1) to show what goes wrong without it. */
#define REL_GAIN 10.0f

static float gain(const config *cfg)
{
    return cfg->absolute ? 1.0f : REL_GAIN;
}

static void relative(const config *cfg, const float *x, int n, int n_feat,
                     float *x_rel, float *ref)
{
    size_t win = (size_t)cfg->n_in * n_feat;
    for (int i = 0; i < n; i++) {
        const float *xi = x + i * win;
        const float *last = xi + win - n_feat;
        float *out = x_rel + i * win;
        for (size_t j = 0; j < win; j++)
            out[j] = (xi[j] - (cfg->absolute ? 0.0f : last[j % n_feat]))
                     * gain(cfg);
        if (ref)
            ref[i] = cfg->absolute ? 0.0f : last[0];
    }
}

/* Rule 3: windows are cut inside one split.  A window's targets all lie in
 * rows [begin, end) of its split; its inputs may reach n_in rows back
 * before begin (that is the past, known when forecasting), never past
 * end.  So no target of the validation or test period is ever an input or
 * target of a training window. */
static void cut(const config *cfg, const series *s, const prepared *p,
                int begin, int end, int n_out, windows *w)
{
    int from = begin - cfg->n_in < 0 ? 0 : begin - cfg->n_in;
    int rows = end - from;
    int n = sn_sequences_count(rows, cfg->n_in, n_out);
    ex_check(n, "sn_sequences_count");
    ex_check(n > 0 ? 0 : SN_ERR_SHAPE,
             "a split is too short for one window (fewer rows than "
             "n_in + horizon)");
    int target = 0;
    size_t xn = (size_t)n * cfg->n_in * s->n_feat;
    w->n = n;
    w->n_out = n_out;
    w->first_target = from + cfg->n_in;
    w->x = xcalloc(xn, sizeof *w->x);
    w->x_rel = xcalloc(xn, sizeof *w->x_rel);
    w->y_rel = xcalloc((size_t)n * n_out, sizeof *w->y_rel);
    w->y_raw = xcalloc((size_t)n * n_out, sizeof *w->y_raw);
    float *scratch = xcalloc(xn, sizeof *scratch);
    int got;
    ex_check(sn_create_sequences(p->scaled + (size_t)from * s->n_feat, rows,
                                 s->n_feat, cfg->n_in, n_out, &target, 1,
                                 w->x, w->y_rel, &got),
             "sn_create_sequences (scaled)");
    ex_check(sn_create_sequences(s->data + (size_t)from * s->n_feat, rows,
                                 s->n_feat, cfg->n_in, n_out, &target, 1,
                                 scratch, w->y_raw, &got),
             "sn_create_sequences (raw targets)");
    free(scratch);
    relative(cfg, w->x, n, s->n_feat, w->x_rel, NULL);
    for (int i = 0; i < n; i++) {    /* targets: change from the last input */
        float ref = cfg->absolute ? 0.0f
            : w->x[((size_t)i * cfg->n_in + cfg->n_in - 1) * s->n_feat];
        for (int k = 0; k < n_out; k++) {
            float *y = &w->y_rel[(size_t)i * n_out + k];
            *y = (*y - ref) * gain(cfg);
        }
    }
}

static void windows_free(windows *w)
{
    free(w->x);
    free(w->x_rel);
    free(w->y_rel);
    free(w->y_raw);
}

/* ------------------------------------------------------------ the model */

/* The hybrid network: the causal convolutions pick out short local
 * patterns (a convolution output at step t sees only steps <= t, so no
 * future leaks inside the window either), the stacked LSTMs carry the
 * longer memory, dropout fights over-fitting on a few thousand windows,
 * and the last Dense gives one linear output per forecast step. */
static sn_model_t *build_hybrid(const config *cfg, int n_feat, int n_out,
                                const char *name)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = cfg->seed;
    mo.name = name;
    sn_model_t *m = sn_model_new(&mo);
    ex_check(m ? 0 : -1, "sn_model_new");
    ex_check(sn_input(m, cfg->n_in, n_feat), "sn_input");

    sn_conv1d_opts conv = SN_CONV1D_OPTS_INIT;
    conv.padding = SN_PAD_CAUSAL;
    conv.activation = SN_RELU;
    sn_rnn_opts seq = SN_RNN_OPTS_INIT;
    seq.return_sequences = 1;
    ex_check(sn_model_add(m, sn_conv1d(64, 3, &conv)), "Conv1D(64)");
    ex_check(sn_model_add(m, sn_conv1d(32, 3, &conv)), "Conv1D(32)");
    ex_check(sn_model_add(m, sn_lstm(128, &seq)), "LSTM(128)");
    ex_check(sn_model_add(m, sn_dropout(0.2f)), "Dropout");
    ex_check(sn_model_add(m, sn_lstm(64, NULL)), "LSTM(64)");
    ex_check(sn_model_add(m, sn_dropout(0.2f)), "Dropout");
    ex_check(sn_model_add(m, sn_dense(64, SN_RELU, NULL)), "Dense(64)");
    ex_check(sn_model_add(m, sn_dense(n_out, SN_LINEAR, NULL)), "Dense");

    /* Adam at the Keras default rate; MSE loss (the compile default) on
     * the scaled targets, MAE as a readable metric. */
    sn_optimizer_opts oo;
    ex_check(sn_optimizer_defaults(SN_ADAM, &oo), "sn_optimizer_defaults");
    sn_metric_kind metrics[] = { SN_METRIC_MAE };
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.metrics = metrics;
    co.n_metrics = 1;
    ex_check(sn_model_compile(m, &co), "sn_model_compile");
    return m;
}

/* Trains with the validation windows watched by early stopping (rule 4:
 * model choices use validation, never test).  Returns the history. */
static sn_history_t *train(ex_report *r, const config *cfg, sn_model_t *m,
                           const windows *tr, const windows *va,
                           const char *what)
{
    const void *tr_in[] = { tr->x_rel };
    const float *tr_y[] = { tr->y_rel };
    const void *va_in[] = { va->x_rel };
    const float *va_y[] = { va->y_rel };
    sn_dataset train_set = SN_DATASET_INIT, val_set = SN_DATASET_INIT;
    train_set.n_samples = tr->n;
    train_set.inputs = tr_in;
    train_set.targets = tr_y;
    val_set.n_samples = va->n;
    val_set.inputs = va_in;
    val_set.targets = va_y;

    /* Shuffling the training windows is fine: each window carries its own
     * past, and all of them lie before the validation period. */
    sn_early_stopping_opts es = SN_EARLY_STOPPING_OPTS_INIT;
    es.patience = cfg->patience;
    es.restore_best_weights = 1;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = cfg->epochs;
    fo.batch_size = cfg->batch;
    fo.validation_data = &val_set;
    fo.progress = stdout;
    fo.early_stopping = &es;

    printf("\nTraining the %s model on %d windows (validation %d):\n", what,
           tr->n, va->n);
    sn_history_t *h = NULL;
    double t0 = ex_now();
    ex_check(sn_model_fit(m, &train_set, &fo, &h), "sn_model_fit");
    double secs = ex_now() - t0;

    const double *vl = sn_history_values(h, "val_loss");
    int epochs = sn_history_epochs(h), best = 0;
    for (int e = 1; e < epochs; e++)
        best = vl[e] < vl[best] ? e : best;
    ex_say(r, "%s model: %d epoch(s) in %.1f s (%.2f s/epoch)%s; best "
           "val_loss %.5f at epoch %d (weights restored from it).", what,
           epochs, secs, secs / epochs,
           sn_history_stopped_epoch(h) >= 0 ? ", stopped early" : "",
           vl[best], best + 1);
    return h;
}

/* The model's forecasts for n windows x [n, n_in, n_feat] (scaled) into
 * out [n, n_out], as scaled levels: the predicted changes plus each
 * window's last value. */
static void predict_scaled(const config *cfg, sn_model_t *m, const float *x,
                           int n, int n_feat, int n_out, float *out)
{
    float *x_rel = xcalloc((size_t)n * cfg->n_in * n_feat, sizeof *x_rel);
    float *ref = xcalloc((size_t)n, sizeof *ref);
    relative(cfg, x, n, n_feat, x_rel, ref);
    const void *in[] = { x_rel };
    float *outs[] = { out };
    ex_check(sn_model_predict_batches(m, n, in, NULL, outs, cfg->batch),
             "sn_model_predict_batches");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n_out; k++)
            out[(size_t)i * n_out + k] =
                out[(size_t)i * n_out + k] / gain(cfg) + ref[i];
    free(x_rel);
    free(ref);
}

/* The model's forecasts for every window, in original units. */
static float *predict(const config *cfg, sn_model_t *m, const prepared *p,
                      const windows *w, int n_feat)
{
    float *out = xcalloc((size_t)w->n * w->n_out, sizeof *out);
    predict_scaled(cfg, m, w->x, w->n, n_feat, w->n_out, out);
    ex_check(sn_scaler_inverse_column(p->scaler, 0, out, w->n * w->n_out),
             "sn_scaler_inverse_column");
    return out;
}

/* Recursive multi-step: predict one step, append the prediction to the
 * window as if it were data, drop the oldest row, predict again.  Errors
 * feed on themselves, and the other input features of the future rows are
 * unknown: we carry their last values forward (a naive guess), which is a
 * second weakness of the recursive strategy with covariates.  All windows
 * advance together, one batch per step.  x is [n, n_in, n_feat] scaled;
 * returns [n, horizon] in original units. */
static float *recursive(const config *cfg, sn_model_t *single,
                        const prepared *p, const float *x, int n, int n_feat,
                        int horizon)
{
    size_t win = (size_t)cfg->n_in * n_feat;
    float *buf = xcalloc((size_t)n * win, sizeof *buf);
    float *step = xcalloc((size_t)n, sizeof *step);
    float *out = xcalloc((size_t)n * horizon, sizeof *out);
    memcpy(buf, x, (size_t)n * win * sizeof *buf);
    for (int h = 0; h < horizon; h++) {
        predict_scaled(cfg, single, buf, n, n_feat, 1, step);
        for (int i = 0; i < n; i++) {
            float *wi = buf + (size_t)i * win;
            out[(size_t)i * horizon + h] = step[i];
            memmove(wi, wi + n_feat, (win - n_feat) * sizeof *wi);
            wi[win - n_feat] = step[i];   /* the covariates stay as copied */
        }
    }
    ex_check(sn_scaler_inverse_column(p->scaler, 0, out, n * horizon),
             "sn_scaler_inverse_column");
    free(buf);
    free(step);
    return out;
}

/* Naive "last value" forecast for every window: each of the n_out steps
 * repeats the last input value of the target.  It sees only the window's
 * own past, like the model. */
static float *naive(const prepared *p, int rows, const windows *w)
{
    float *out = xcalloc((size_t)w->n * w->n_out, sizeof *out);
    for (int i = 0; i < w->n; i++)
        ex_check(sn_naive_forecast(p->target_raw, (size_t)rows,
                                   (size_t)w->n_out, 0,
                                   (size_t)(w->first_target + i - 1),
                                   out + (size_t)i * w->n_out),
                 "sn_naive_forecast");
    return out;
}

/* ------------------------------------------------------------ metrics */

static err score(const float *pred, const float *truth, size_t n)
{
    err e;
    size_t skipped;
    ex_check(sn_eval_regression(pred, truth, n, &e.mae, &e.rmse, &e.mape,
                                &skipped),
             "sn_eval_regression");
    return e;
}

/* Errors of forecast step h (0-based) alone, over all windows. */
static err score_step(const float *pred, const float *truth, int n, int n_out,
                      int h)
{
    float *a = xcalloc((size_t)n, sizeof *a), *b = xcalloc((size_t)n, sizeof *b);
    for (int i = 0; i < n; i++) {
        a[i] = pred[(size_t)i * n_out + h];
        b[i] = truth[(size_t)i * n_out + h];
    }
    err e = score(a, b, (size_t)n);
    free(a);
    free(b);
    return e;
}

/* Table cells are small strings; a few helpers keep the tables short. */
enum { CELL = 48 };

static void err_row(char (*cells)[CELL], const char *name, err e)
{
    snprintf(cells[0], CELL, "%s", name);
    snprintf(cells[1], CELL, "%.4f", e.mae);
    snprintf(cells[2], CELL, "%.4f", e.rmse);
    snprintf(cells[3], CELL, "%.2f %%", e.mape);
}

static void err_table(ex_report *r, const char *first, int rows,
                      const char *const *names, const err *errs)
{
    static char cells[16][4][CELL];
    const char *ptr[16 * 4];
    const char *header[] = { first, "MAE", "RMSE", "MAPE" };
    for (int i = 0; i < rows; i++) {
        err_row(cells[i], names[i], errs[i]);
        for (int c = 0; c < 4; c++)
            ptr[i * 4 + c] = cells[i][c];
    }
    ex_table(r, 4, header, rows, ptr);
}

static const char *verdict(double model, double base)
{
    if (model < 0.9 * base)
        return "the model beats the naive forecast";
    if (model <= base)
        return "the model is only marginally better than the naive forecast";
    return "the naive forecast beats the model";
}

/* ------------------------------------------------------------ figures */

static void fig(ex_report *r, const char *tag, const char *name, int status,
                const char *caption)
{
    char file[128];
    snprintf(file, sizeof file, "%s_%s.png", tag, name);
    if (status < 0) {
        ex_say(r, "(figure %s could not be drawn)", file);
        return;
    }
    ex_figure(r, file, caption);
}

static const char *fig_path(const ex_report *r, const char *tag,
                            const char *name)
{
    static char file[128], path[1024];
    snprintf(file, sizeof file, "%s_%s.png", tag, name);
    return ex_path(r, file, path, sizeof path);
}

static void plot_training(ex_report *r, const config *cfg, const series *s,
                          sn_history_t *h1, sn_history_t *hd)
{
    int n1 = sn_history_epochs(h1), nd = sn_history_epochs(hd);
    int n = n1 > nd ? n1 : nd;
    double *ep = xcalloc((size_t)n, sizeof *ep);
    for (int i = 0; i < n; i++)
        ep[i] = i + 1;
    ex_series lines[] = {
        { "single-step loss", ep, sn_history_values(h1, "loss"), n1 },
        { "single-step val_loss", ep, sn_history_values(h1, "val_loss"), n1 },
        { "direct multi-step loss", ep, sn_history_values(hd, "loss"), nd },
        { "direct multi-step val_loss", ep, sn_history_values(hd, "val_loss"),
          nd },
    };
    char title[256];
    snprintf(title, sizeof title, "Training curves (%s)", s->title);
    int st = ex_plot_lines(fig_path(r, s->tag, "training"), title, "epoch",
                           cfg->absolute ? "MSE (scaled levels)"
                                         : "MSE (scaled changes x 10)",
                           lines, 4, 1);
    fig(r, s->tag, "training", st,
        "Training and validation loss per epoch (log scale)");
    free(ep);
}

/* Test-period truth against the one-step-ahead predictions. */
static void plot_test(ex_report *r, const series *s, const windows *t1,
                      const float *pred1)
{
    int n = t1->n;
    double *x = xcalloc((size_t)n, sizeof *x);
    double *yt = xcalloc((size_t)n, sizeof *yt), *yp = xcalloc((size_t)n, sizeof *yp);
    for (int i = 0; i < n; i++) {
        x[i] = s->x[t1->first_target + i];
        yt[i] = t1->y_raw[i];
        yp[i] = pred1[i];
    }
    ex_series lines[] = { { "actual", x, yt, n },
                          { "model, 1 step ahead", x, yp, n } };
    char title[256];
    snprintf(title, sizeof title, "Test period: %s", s->title);
    int st = ex_plot_lines(fig_path(r, s->tag, "test"), title, s->xlabel,
                           s->unit, lines, 2, 0);
    fig(r, s->tag, "test", st,
        "Test period: actual values and the single-step model's forecasts");
    free(x);
    free(yt);
    free(yp);
}

/* MAE of each forecast step 1..H for the three multi-step forecasts. */
static void plot_horizon(ex_report *r, const series *s, const windows *th,
                         const float *nv, const float *dir, const float *rec)
{
    int hz = th->n_out;
    double *x = xcalloc((size_t)hz, sizeof *x);
    double *m[3];
    const float *src[3] = { nv, dir, rec };
    for (int k = 0; k < 3; k++) {
        m[k] = xcalloc((size_t)hz, sizeof *m[k]);
        for (int h = 0; h < hz; h++)
            m[k][h] = score_step(src[k], th->y_raw, th->n, hz, h).mae;
    }
    for (int h = 0; h < hz; h++)
        x[h] = h + 1;
    ex_series lines[] = { { "naive (last value)", x, m[0], hz },
                          { "direct multi-step model", x, m[1], hz },
                          { "recursive single-step model", x, m[2], hz } };
    char title[256], ylabel[64];
    snprintf(title, sizeof title, "Test MAE by forecast step (%s)", s->title);
    snprintf(ylabel, sizeof ylabel, "MAE (%s)", s->unit);
    int st = ex_plot_lines(fig_path(r, s->tag, "horizon"), title,
                           "steps ahead", ylabel, lines, 3, 0);
    fig(r, s->tag, "horizon", st, "Test MAE at each step of the forecast");
    free(x);
    for (int k = 0; k < 3; k++)
        free(m[k]);
}

static void plot_bars(ex_report *r, const series *s, const outcome *o,
                      int hz)
{
    char l[5][48];
    snprintf(l[0], 48, "naive, 1 step");
    snprintf(l[1], 48, "model, 1 step");
    snprintf(l[2], 48, "naive, 1-%d", hz);
    snprintf(l[3], 48, "direct, 1-%d", hz);
    snprintf(l[4], 48, "recursive, 1-%d", hz);
    const char *labels[] = { l[0], l[1], l[2], l[3], l[4] };
    double v[] = { o->naive1.mae, o->model1.mae, o->naiveh.mae,
                   o->direct.mae, o->recursive.mae };
    char title[256], ylabel[64];
    snprintf(title, sizeof title, "Test MAE: model vs naive (%s)", s->title);
    snprintf(ylabel, sizeof ylabel, "MAE (%s)", s->unit);
    int st = ex_plot_bars(fig_path(r, s->tag, "mae"), title, ylabel, labels,
                          v, 5);
    fig(r, s->tag, "mae", st, "Test MAE of the model and the naive forecast");
}

/* The end of the history, the test-period predictions and the forecasts
 * past the end of the data. */
static void plot_forecast(ex_report *r, const series *s, const prepared *p,
                          const windows *t1, const float *pred1,
                          const float *dir, const float *rec, int hz)
{
    int tail = s->rows - p->val_end + 120;
    tail = tail > s->rows ? s->rows : tail;
    int h0 = s->rows - tail;
    double *hx = xcalloc((size_t)tail, sizeof *hx), *hy = xcalloc((size_t)tail, sizeof *hy);
    for (int i = 0; i < tail; i++) {
        hx[i] = s->x[h0 + i];
        hy[i] = p->target_raw[h0 + i];
    }
    double *tx = xcalloc((size_t)t1->n, sizeof *tx), *ty = xcalloc((size_t)t1->n, sizeof *ty);
    for (int i = 0; i < t1->n; i++) {
        tx[i] = s->x[t1->first_target + i];
        ty[i] = pred1[i];
    }
    /* Forecast lines start at the last actual value so they join it. */
    double fx[64], fd[64], fr[64];
    fx[0] = s->x[s->rows - 1];
    fd[0] = fr[0] = p->target_raw[s->rows - 1];
    for (int k = 1; k <= hz; k++) {
        fx[k] = s->x[s->rows - 1] + k;
        fd[k] = dir[k - 1];
        fr[k] = rec[k - 1];
    }
    ex_series lines[] = {
        { "history", hx, hy, tail },
        { "test period, 1 step ahead", tx, ty, t1->n },
        { "forecast, direct model", fx, fd, hz + 1 },
        { "forecast, recursive", fx, fr, hz + 1 },
    };
    char title[256], caption[128];
    snprintf(title, sizeof title, "%d-step forecast past the data (%s)", hz,
             s->title);
    int st = ex_plot_lines(fig_path(r, s->tag, "forecast"), title, s->xlabel,
                           s->unit, lines, 4, 0);
    snprintf(caption, sizeof caption,
             "History, test-period predictions and the %d-step forecast", hz);
    fig(r, s->tag, "forecast", st, caption);
    free(hx);
    free(hy);
    free(tx);
    free(ty);
}

/* ------------------------------------------------------------ one series */

static void describe_model(ex_report *r, sn_model_t *m)
{
    /* The summary goes to the terminal and, as a code block, the report. */
    ex_check(sn_model_summary(m, stdout), "sn_model_summary");
    fprintf(r->md, "\n```\n");
    ex_check(sn_model_summary(m, r->md), "sn_model_summary");
    fprintf(r->md, "```\n\n");
}

/* The 30-step forecast from the last n_in rows of the data. */
static void forecast_end(ex_report *r, const config *cfg, const series *s,
                         const prepared *p, sn_model_t *single,
                         sn_model_t *direct, float *dir, float *rec)
{
    int hz = cfg->horizon;
    const float *last = p->scaled + (size_t)(s->rows - cfg->n_in) * s->n_feat;
    predict_scaled(cfg, direct, last, 1, s->n_feat, hz, dir);
    ex_check(sn_scaler_inverse_column(p->scaler, 0, dir, hz),
             "sn_scaler_inverse_column");
    float *rc = recursive(cfg, single, p, last, 1, s->n_feat, hz);
    memcpy(rec, rc, (size_t)hz * sizeof *rec);
    free(rc);
    ex_say(r, "Forecast from the last row (value %.4g %s): direct model "
           "step 1 %.4g, step %d %.4g; recursive step 1 %.4g, step %d %.4g.",
           p->target_raw[s->rows - 1], s->unit, dir[0], hz, dir[hz - 1],
           rec[0], hz, rec[hz - 1]);
}

/* The test tables: one step, chosen forecast steps, all steps. */
static void report_tests(ex_report *r, const config *cfg, const series *s,
                         const prepared *pp, const outcome *o, int n1_windows,
                         const windows *teh, const float *naiveh,
                         const float *dir, const float *rec)
{
    int hz = cfg->horizon;
    /* The library's backtest scores the naive forecast on the same windows
     * by itself: it must agree with ours. */
    double bt_mae;
    int seg = pp->val_end - cfg->n_in;
    ex_check(sn_naive_backtest(pp->target_raw + seg, (size_t)(s->rows - seg),
                               (size_t)cfg->n_in, (size_t)hz, 0, &bt_mae,
                               NULL),
             "sn_naive_backtest");

    char title[200];
    snprintf(title, sizeof title, "Test results: %s", s->title);
    ex_section(r, title);
    ex_say(r, "One step ahead, %d test windows (errors in %s):", n1_windows,
           s->unit);
    const char *n1[] = { "naive (last value)", "hybrid model" };
    err e1[] = { o->naive1, o->model1 };
    err_table(r, "1 step ahead", 2, n1, e1);
    ex_say(r, "Verdict, one step: %s (MAE %.4f vs %.4f).",
           verdict(o->model1.mae, o->naive1.mae), o->model1.mae,
           o->naive1.mae);

    int steps[] = { 1, 5, 10, hz };
    static char names[16][CELL];
    const char *nm[16];
    err eh[16];
    int rows = 0;
    for (int k = 0; k < 4; k++) {
        if (steps[k] > hz || (k > 0 && steps[k] <= steps[k - 1]))
            continue;
        int h = steps[k] - 1;
        const float *src[] = { naiveh, dir, rec };
        const char *who[] = { "naive", "direct", "recursive" };
        for (int j = 0; j < 3; j++, rows++) {
            snprintf(names[rows], CELL, "step %d, %s", h + 1, who[j]);
            nm[rows] = names[rows];
            eh[rows] = score_step(src[j], teh->y_raw, teh->n, hz, h);
        }
    }
    ex_say(r, "Multi-step, %d test windows of %d steps:", teh->n, hz);
    err_table(r, "forecast step", rows, nm, eh);
    const char *na[] = { "naive (last value)", "direct multi-step model",
                         "recursive single-step model" };
    err ea[] = { o->naiveh, o->direct, o->recursive };
    ex_say(r, "All %d steps together:", hz);
    err_table(r, "steps 1..H", 3, na, ea);
    ex_say(r, "sn_naive_backtest on the same windows: MAE %.4f (ours %.4f).",
           bt_mae, o->naiveh.mae);
    ex_say(r, "Verdict, %d steps (direct model): %s (MAE %.4f vs %.4f); "
           "recursive MAE %.4f.", hz, verdict(o->direct.mae, o->naiveh.mae),
           o->direct.mae, o->naiveh.mae, o->recursive.mae);

}

static void run_series(ex_report *r, const config *cfg, const series *s,
                       outcome *o)
{
    double t0 = ex_now();
    prepared p;
    prepare(r, cfg, s, &p);

    /* Windows for both models, each split cut on its own. */
    int hz = cfg->horizon;
    windows tr1, va1, te1, trh, vah, teh;
    cut(cfg, s, &p, cfg->n_in, p.train_end, 1, &tr1);
    cut(cfg, s, &p, p.train_end, p.val_end, 1, &va1);
    cut(cfg, s, &p, p.val_end, s->rows, 1, &te1);
    cut(cfg, s, &p, cfg->n_in, p.train_end, hz, &trh);
    cut(cfg, s, &p, p.train_end, p.val_end, hz, &vah);
    cut(cfg, s, &p, p.val_end, s->rows, hz, &teh);
    ex_say(r, "Windows of %d steps x %d feature(s): single-step "
           "train/val/test %d/%d/%d, %d-step %d/%d/%d.", cfg->n_in, s->n_feat,
           tr1.n, va1.n, te1.n, hz, trh.n, vah.n, teh.n);

    /* Single step: predict tomorrow only. */
    sn_model_t *single = build_hybrid(cfg, s->n_feat, 1, "single_step");
    describe_model(r, single);
    sn_history_t *h1 = train(r, cfg, single, &tr1, &va1, "Single-step");
    float *pred1 = predict(cfg, single, &p, &te1, s->n_feat);
    float *naive1 = naive(&p, s->rows, &te1);
    o->model1 = score(pred1, te1.y_raw, (size_t)te1.n);
    o->naive1 = score(naive1, te1.y_raw, (size_t)te1.n);

    /* Direct multi-step: one network output per future step. */
    sn_model_t *direct = build_hybrid(cfg, s->n_feat, hz, "direct");
    sn_history_t *hd = train(r, cfg, direct, &trh, &vah, "Direct multi-step");
    float *dir = predict(cfg, direct, &p, &teh, s->n_feat);
    float *rec = recursive(cfg, single, &p, teh.x, teh.n, s->n_feat, hz);
    float *naiveh = naive(&p, s->rows, &teh);
    size_t nh = (size_t)teh.n * hz;
    o->direct = score(dir, teh.y_raw, nh);
    o->recursive = score(rec, teh.y_raw, nh);
    o->naiveh = score(naiveh, teh.y_raw, nh);

    report_tests(r, cfg, s, &p, o, te1.n, &teh, naiveh, dir, rec);

    float fdir[64], frec[64];
    forecast_end(r, cfg, s, &p, single, direct, fdir, frec);

    plot_training(r, cfg, s, h1, hd);
    plot_test(r, s, &te1, pred1);
    plot_horizon(r, s, &teh, naiveh, dir, rec);
    plot_bars(r, s, o, hz);
    plot_forecast(r, s, &p, &te1, pred1, fdir, frec, hz);
    ex_say(r, "Time for this series: %.1f s.", ex_now() - t0);

    free(pred1);
    free(naive1);
    free(dir);
    free(rec);
    free(naiveh);
    sn_history_free(h1);
    sn_history_free(hd);
    sn_model_free(single);
    sn_model_free(direct);
    windows *all[] = { &tr1, &va1, &te1, &trh, &vah, &teh };
    for (int i = 0; i < 6; i++)
        windows_free(all[i]);
    sn_scaler_free(p.scaler);
    free(p.scaled);
    free(p.target_raw);
}

static void series_free(series *s)
{
    free(s->data);
    free(s->x);
}

/* ------------------------------------------------------------ main */

static void state_rules(ex_report *r, const config *cfg)
{
    ex_section(r, "The leakage rules");
    ex_say(r, "A forecast is only honest if nothing from the period it is "
           "scored on reached the model.  This example obeys:");
    ex_say(r, "1. Split first, in time order, never shuffled: the oldest "
           "%.0f%% of the rows train, the next %.0f%% validate, the newest "
           "%.0f%% test.", cfg->train_frac * 100, cfg->val_frac * 100,
           (1 - cfg->train_frac - cfg->val_frac) * 100);
    ex_say(r, "2. Fit the scaler on the training rows only, and scale every "
           "split with those statistics (min/max of the test period would "
           "tell the model where the future goes).");
    ex_say(r, "3. Build windows per split: a window's targets lie inside "
           "its split; its %d input steps may reach back into the previous "
           "split (that is the past), never forward.", cfg->n_in);
    ex_say(r, "4. Early stopping and every other choice look at validation "
           "only; the test period is scored once, at the end.");
    ex_say(r, "5. The naive baseline and the models see the same window "
           "inputs and are scored on the same targets, in original units.");
}

static void settings(ex_report *r, const config *cfg)
{
    ex_section(r, "Settings");
    ex_say(r, "Mode: %s.  Windows of %d input steps; multi-step horizon %d; "
           "up to %d epochs, batch %d, Adam (lr 1e-3), MSE loss, early "
           "stopping on val_loss with patience %d (best weights restored); "
           "seed %llu.", cfg->quick ? "--quick (smoke test)" : "full run",
           cfg->n_in, cfg->horizon, cfg->epochs, cfg->batch, cfg->patience,
           (unsigned long long)cfg->seed);
    ex_say(r, "Data sizes: synthetic %d steps; stock %s.", cfg->synth_rows,
           cfg->stock_rows ? "the last rows only (see below)"
                           : "the whole file");
    ex_say(r, "The network sees %s.", cfg->absolute
           ? "scaled levels (--absolute)"
           : "each window relative to its last value and forecasts the "
             "change from it (relative windows)");
}

static void summary(ex_report *r, const config *cfg, const outcome *o,
                    const char *const *names)
{
    ex_section(r, "Summary: model vs naive on the test period (MAE)");
    static char cells[2][6][CELL];
    const char *ptr[12];
    char hd[32], hr[32];
    snprintf(hd, sizeof hd, "direct 1..%d", cfg->horizon);
    snprintf(hr, sizeof hr, "naive 1..%d", cfg->horizon);
    const char *header[] = { "series", "naive, 1 step", "model, 1 step",
                             hr, hd, "recursive" };
    for (int i = 0; i < 2; i++) {
        snprintf(cells[i][0], CELL, "%s", names[i]);
        snprintf(cells[i][1], CELL, "%.4f", o[i].naive1.mae);
        snprintf(cells[i][2], CELL, "%.4f", o[i].model1.mae);
        snprintf(cells[i][3], CELL, "%.4f", o[i].naiveh.mae);
        snprintf(cells[i][4], CELL, "%.4f", o[i].direct.mae);
        snprintf(cells[i][5], CELL, "%.4f", o[i].recursive.mae);
        for (int c = 0; c < 6; c++)
            ptr[i * 6 + c] = cells[i][c];
    }
    ex_table(r, 6, header, 2, ptr);
    for (int i = 0; i < 2; i++)
        ex_say(r, "%s: one step, %s; %d steps, %s.", names[i],
               verdict(o[i].model1.mae, o[i].naive1.mae), cfg->horizon,
               verdict(o[i].direct.mae, o[i].naiveh.mae));
    if (!cfg->quick && o[0].direct.mae >= 0.9 * o[0].naiveh.mae)
        ex_say(r, "WARNING: on the synthetic series the model should beat "
               "the naive forecast clearly; it did not.  Something is off.");
}

int main(int argc, char **argv)
{
    ex_args args;
    int rc = ex_parse_args(argc, argv, "04",
                           "  --csv FILE       Yahoo-format CSV (default "
                           "stocks/GSPC.csv of the shared data)\n"
                           "  --features LIST  CSV columns, target first "
                           "(default Close; e.g. Close,Volume)\n"
                           "  --absolute       feed scaled levels instead "
                           "of changes (to see why not)\n",
                           &args);
    if (rc)
        return rc > 0 ? 0 : 2;

    /* Full run: ~2,700 stock rows and 3,000 synthetic steps; --quick: short
     * stretches and 2 epochs, but every stage runs. */
    config cfg = { 60, 30, 40, 6, 32, 0.70f, 0.15f, 0, 3000, args.seed,
                   args.quick, ex_arg_flag(&args, "--absolute") };
    if (args.quick) {
        cfg.epochs = 3;
        cfg.stock_rows = 600;
        cfg.synth_rows = 600;
    }
    if (args.epochs > 0)
        cfg.epochs = args.epochs;

    const char *csv = ex_arg_value(&args, "--csv");
    if (!csv)
        csv = ex_shared_file(&args, "stocks/GSPC.csv");
    if (!csv) {
        fprintf(stderr, "04_time_series: stocks/GSPC.csv not found under "
                "../shared/data or --data; give --csv FILE\n");
        return 1;
    }
    const char *features = ex_arg_value(&args, "--features");
    if (!features)
        features = "Close";

    ex_report r;
    ex_check(ex_report_open(&r, args.out_dir,
                            "Example 4: time-series forecasting with a "
                            "Conv1D + LSTM hybrid"), "ex_report_open");
    double t0 = ex_now();
    ex_say(&r, "libseqnet %s.  We forecast a synthetic series and a real "
           "stock price, single-step and %d steps ahead, and compare every "
           "forecast with the naive one (tomorrow = today).", sn_version(),
           cfg.horizon);
    settings(&r, &cfg);
    state_rules(&r, &cfg);

    series syn, stock;
    outcome o[2];
    ex_section(&r, "Part 1: the synthetic series");
    make_synthetic(&r, &cfg, &syn);
    run_series(&r, &cfg, &syn, &o[0]);

    ex_section(&r, "Part 2: a real stock");
    load_stock(&r, &cfg, csv, features, &stock);
    run_series(&r, &cfg, &stock, &o[1]);

    const char *names[] = { "synthetic", stock.title };
    summary(&r, &cfg, o, names);
    ex_say(&r, "Total time: %.1f s.", ex_now() - t0);

    series_free(&syn);
    series_free(&stock);
    ex_report_close(&r);
    return 0;
}
