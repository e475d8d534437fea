/*
 * examples/01_rnn_lstm_gru.c - SimpleRNN, LSTM and GRU side by side.
 *
 * The tutorial is docs/tutorials/01_rnn_lstm_gru.md.  What this program does:
 *
 *   1. Vanishing gradients: the norm of dLoss/dx_t for every time step t of
 *      a long sequence, for the three cells, at initialisation and after
 *      training on a task that needs the first step (log-scale plot).
 *   2. The three cells on IMDB sentiment: test accuracy, parameter count,
 *      seconds per epoch (table and bar charts).
 *   3. Sequence length: accuracy for several maxlen values per cell.
 *   4. Hidden size: accuracy for several unit counts per cell.
 *   5. return_sequences: output shapes with it off and on, and the per-step
 *      outputs of the trained LSTM over a short review as a heat map.
 *
 * Every number printed also goes to <out>/report.md, with the figures.
 *
 *   build/openblas/examples/01_rnn_lstm_gru [--data DIR] [--out DIR]
 *       [--seed N] [--epochs N] [--quick]
 *
 * --quick trains on 2000 reviews for 2 epochs (a CI smoke test, about 15 s
 * on 2 cores); the full run trains on 12500 reviews for 3 epochs (maxlen
 * 200, 64 units by default) and takes about 20-25 minutes on 2 idle cores.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/example.h"

/* ------------------------------------------------------------ settings */

enum { CELL_RNN, CELL_LSTM, CELL_GRU, N_CELLS };
static const char *const CELL_NAMES[N_CELLS] = { "SimpleRNN", "LSTM", "GRU" };

/* Sizes of the experiments; --quick shrinks them (see settings_for). */
typedef struct settings {
    int n_train, n_test;   /* IMDB reviews used (random subsets)         */
    int vocab;             /* vectorizer max_tokens                      */
    int emb;               /* embedding width                            */
    int maxlen;            /* default sequence length                    */
    int units;             /* default hidden size                        */
    int epochs, batch;
    int maxlens[4], n_maxlens;
    int hiddens[4], n_hiddens;
} settings;

static settings settings_for(const ex_args *args)
{
    settings s = { 12500, 10000, 10000, 32, 200, 64, 3, 32,
                   { 50, 100, 200, 400 }, 4, { 16, 32, 64, 128 }, 4 };
    if (args->quick) {
        settings q = { 2000, 1000, 10000, 32, 100, 32, 2, 32,
                       { 50, 100 }, 2, { 16, 32 }, 2 };
        s = q;
    }
    if (args->epochs > 0)
        s.epochs = args->epochs;
    return s;
}

/* ------------------------------------------------------------ IMDB */

/* The first maxlen columns of a wider set.  With post-truncation this is
 * exactly what vectorizing with the shorter length would give. */
static ex_imdb_set truncate_set(const ex_imdb_set *src, int maxlen)
{
    ex_imdb_set s = { src->n, maxlen, malloc((size_t)src->n * maxlen * 4),
                   src->labels };
    if (s.ids == NULL)
        ex_check(SN_ERR_NOMEM, "truncate_set");
    for (int i = 0; i < src->n; i++)
        memcpy(s.ids + (size_t)i * maxlen,
               src->ids + (size_t)i * src->maxlen, (size_t)maxlen * 4);
    return s;
}

/* ------------------------------------------------------------ models */

static sn_layer_t *make_cell(int cell, int units, const sn_rnn_opts *o)
{
    switch (cell) {
    case CELL_RNN: return sn_simple_rnn(units, o);
    case CELL_LSTM: return sn_lstm(units, o);
    default: return sn_gru(units, o);
    }
}

/* Embedding(mask_zero) -> cell(units) [-> Dense(1, sigmoid) if head].  The
 * layers are named so that weights can be copied between models by name. */
static sn_model_t *text_model(int cell, const settings *s, int maxlen,
                              int units, int return_sequences, int head,
                              uint64_t seed)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    mo.name = CELL_NAMES[cell];
    sn_model_t *m = sn_model_new(&mo);
    ex_check(m != NULL ? SN_OK : SN_ERR_NOMEM, "sn_model_new");
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;  /* padding id 0 must not feed the recurrence */
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = return_sequences;
    sn_layer_t *emb = sn_embedding(s->vocab, s->emb, &eo);
    sn_layer_t *rnn = make_cell(cell, units, &ro);
    sn_layer_t *out = sn_dense(1, SN_SIGMOID, NULL);
    ex_check(sn_layer_set_name(emb, "emb"), "sn_layer_set_name");
    ex_check(sn_layer_set_name(rnn, "rnn"), "sn_layer_set_name");
    ex_check(sn_layer_set_name(out, "out"), "sn_layer_set_name");
    int x = sn_input_tokens(m, maxlen);
    x = sn_apply(m, rnn, sn_apply(m, emb, x));
    if (head)
        x = sn_apply(m, out, x);
    else
        sn_layer_free(out);  /* never applied: still ours to free */
    ex_check(x, "building the text model");
    ex_check(sn_model_build(m), "sn_model_build");
    return m;
}

static void compile_binary(sn_model_t *m, float lr)
{
    sn_optimizer_opts oo;
    ex_check(sn_optimizer_defaults(SN_ADAM, &oo), "sn_optimizer_defaults");
    oo.learning_rate = lr;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_metric_kind metric = SN_METRIC_ACCURACY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    co.metrics = &metric;
    co.n_metrics = 1;
    ex_check(sn_model_compile(m, &co), "sn_model_compile");
}

typedef struct result {
    double acc, loss, sec_per_epoch;
    size_t params;
} result;

/* Trains with a progress bar, then evaluates on the test subset. */
static result train_eval(sn_model_t *m, const ex_imdb_set *tr,
                         const ex_imdb_set *te, const settings *s)
{
    const void *tri[1], *tei[1];
    const float *trt[1], *tet[1];
    sn_dataset dtr = ex_imdb_dataset(tr, tri, trt), dte = ex_imdb_dataset(te, tei, tet);
    compile_binary(m, 2e-3f);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = s->epochs;
    fo.batch_size = s->batch;
    fo.progress = stdout;
    result r;
    r.params = sn_model_count_params(m, NULL);
    double t0 = ex_now();
    ex_check(sn_model_fit(m, &dtr, &fo, NULL), "sn_model_fit");
    r.sec_per_epoch = (ex_now() - t0) / s->epochs;
    double ev[2];
    ex_check(sn_model_evaluate(m, &dte, 256, ev, 2), "sn_model_evaluate");
    r.loss = ev[0];
    r.acc = ev[1];
    return r;
}

/* Builds, trains and evaluates one configuration; prints one line. */
static result run_config(ex_report *rep, int cell, const settings *s,
                         const ex_imdb_set *tr, const ex_imdb_set *te, int units,
                         uint64_t seed, sn_model_t **keep)
{
    printf("\n%s, maxlen %d, units %d\n", CELL_NAMES[cell], tr->maxlen,
           units);
    sn_model_t *m = text_model(cell, s, tr->maxlen, units, 0, 1, seed);
    result r = train_eval(m, tr, te, s);
    ex_say(rep, "%s maxlen=%d units=%d: test accuracy %.4f, loss %.4f, "
           "%zu parameters, %.1f s/epoch", CELL_NAMES[cell], tr->maxlen,
           units, r.acc, r.loss, r.params, r.sec_per_epoch);
    if (keep != NULL)
        *keep = m;
    else
        sn_model_free(m);
    return r;
}

/* ------------------------------------------------ 1. vanishing gradients */

/* Uniform(-1, 1) noise from a small LCG: the demo needs no real data. */
static void noise(uint64_t *rng, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((*rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
    }
}

/* Input [T, F] -> cell(units) -> Dense(1, sigmoid), untrained. */
static sn_model_t *noise_model(int cell, int T, int F, int units,
                               uint64_t seed)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    sn_model_t *m = sn_model_new(&mo);
    ex_check(m != NULL ? SN_OK : SN_ERR_NOMEM, "sn_model_new");
    sn_layer_t *rnn = make_cell(cell, units, NULL);
    ex_check(sn_layer_set_name(rnn, "rnn"), "sn_layer_set_name");
    int x = sn_apply(m, rnn, sn_input(m, T, F));
    ex_check(sn_apply(m, sn_dense(1, SN_SIGMOID, NULL), x), "noise model");
    return m;
}

/* ||dLoss/dx_t|| for every t on one batch: forward, binary cross-entropy
 * gradient against the labels y, backward, then ask the recurrent layer
 * for its per-step norms.  x is float [B, T, F] or int32 ids [B, T]. */
static void step_norms(sn_model_t *m, int B, int T, const void *x,
                       const float *y, float *norms)
{
    const void *in[1] = { x };
    ex_check(sn_model_forward(m, B, in, NULL, 0), "sn_model_forward");
    const float *p = sn_model_output(m, 0, NULL, 0, NULL);
    ex_check(p != NULL ? SN_OK : SN_ERR_STATE, "sn_model_output");
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    double loss;
    float *grad = malloc((size_t)B * sizeof *grad);
    ex_check(grad != NULL ? SN_OK : SN_ERR_NOMEM, "malloc");
    ex_check(sn_loss_compute(&lo, B, 1, p, y, NULL, &loss, grad),
             "sn_loss_compute");
    const float *g[1] = { grad };
    ex_check(sn_model_zero_grad(m), "sn_model_zero_grad");
    ex_check(sn_model_backward(m, g), "sn_model_backward");
    const sn_layer_t *rnn = sn_model_find_layer(m, "rnn");
    ex_check(sn_rnn_step_grad_norms(rnn, SN_STEP_GRAD_INPUT, norms, T),
             "sn_rnn_step_grad_norms");
    free(grad);
}

enum { MAX_T = 512 };

/* The plot and a table of how much of the last step's gradient is left
 * at a few distances back in time. */
static void report_norms(ex_report *rep, const char *file, const char *title,
                         int T, float norms[N_CELLS][MAX_T])
{
    static double xs[MAX_T], ys[N_CELLS][MAX_T];
    ex_series series[N_CELLS];
    char cells[N_CELLS * 5][32];
    const char *tab[N_CELLS * 5];
    const int back[4] = { 10, 25, 50, T - 1 };
    for (int c = 0; c < N_CELLS; c++) {
        for (int t = 0; t < T; t++) {
            xs[t] = t;
            ys[c][t] = norms[c][t];
        }
        series[c] = (ex_series){ CELL_NAMES[c], xs, ys[c], T };
        snprintf(cells[c * 5], 32, "%s", CELL_NAMES[c]);
        for (int k = 0; k < 4; k++) {
            int t = T - 1 - (back[k] < T ? back[k] : T - 1);
            snprintf(cells[c * 5 + 1 + k], 32, "%.3g",
                     norms[c][t] / norms[c][T - 1]);
        }
        for (int k = 0; k < 5; k++)
            tab[c * 5 + k] = cells[c * 5 + k];
    }
    char h1[32], h2[32], h3[32], h4[32];
    snprintf(h1, 32, "%d steps back", back[0]);
    snprintf(h2, 32, "%d steps back", back[1]);
    snprintf(h3, 32, "%d steps back", back[2]);
    snprintf(h4, 32, "%d steps back (t=0)", back[3]);
    const char *head[5] = { "cell", h1, h2, h3, h4 };
    ex_say(rep, "%s: ||dLoss/dx_t|| relative to the last step's:", title);
    ex_table(rep, 5, head, N_CELLS, tab);
    char path[600];
    ex_check(ex_plot_lines(ex_path(rep, file, path, sizeof path), title,
                           "time step t", "||dLoss/dx_t|| (log scale)",
                           series, N_CELLS, 1), "ex_plot_lines");
    ex_figure(rep, file, title);
}

static void vanishing_gradients(ex_report *rep, uint64_t seed)
{
    enum { B = 32, T = 100, F = 8, UNITS = 64 };
    ex_section(rep, "1. Vanishing gradients");
    ex_say(rep, "Untrained models Input(%d steps, %d features) -> cell(%d) "
           "-> Dense(1, sigmoid), one batch of %d uniform(-1, 1) sequences "
           "with random labels.", T, F, UNITS, B);
    static float norms[N_CELLS][MAX_T];
    float *x = malloc((size_t)B * T * F * sizeof *x), y[B];
    ex_check(x != NULL ? SN_OK : SN_ERR_NOMEM, "malloc");
    uint64_t rng = seed;
    noise(&rng, x, (size_t)B * T * F);
    for (int b = 0; b < B; b++)
        y[b] = (float)(b % 2);
    for (int c = 0; c < N_CELLS; c++) {
        sn_model_t *m = noise_model(c, T, F, UNITS, seed);
        step_norms(m, B, T, x, y, norms[c]);
        sn_model_free(m);
    }
    free(x);
    report_norms(rep, "grad_norms_init.png",
                 "Gradient per time step at initialisation", T, norms);
}

/* The same measurement in the IMDB models of section 2, on test reviews
 * long enough to fill every step (no padding, whose steps get no
 * gradient). */
static void trained_gradients(ex_report *rep, const ex_imdb_set *te,
                              sn_model_t *const *models)
{
    enum { B = 32 };
    int T = te->maxlen, n = 0;
    int32_t *ids = malloc((size_t)B * T * sizeof *ids);
    float y[B];
    ex_check(ids != NULL ? SN_OK : SN_ERR_NOMEM, "malloc");
    for (int i = 0; i < te->n && n < B; i++)
        if (te->ids[(size_t)i * T + T - 1] != 0) {
            memcpy(ids + (size_t)n * T, te->ids + (size_t)i * T,
                   (size_t)T * sizeof *ids);
            y[n++] = te->labels[i];
        }
    static float norms[N_CELLS][MAX_T];
    for (int c = 0; c < N_CELLS; c++)
        step_norms(models[c], n, T, ids, y, norms[c]);
    ex_say(rep, "The trained models of this section on %d test reviews of "
           "at least %d tokens (gradient with respect to the embedded "
           "words).", n, T);
    report_norms(rep, "grad_norms_trained.png",
                 "Gradient per time step in the IMDB-trained models", T,
                 norms);
    free(ids);
}

/* ------------------------------------------------ 2. cell ablation */

static void cell_ablation(ex_report *rep, const settings *s,
                          const ex_imdb_set *tr, const ex_imdb_set *te,
                          uint64_t seed, result *base, sn_model_t **keep)
{
    ex_section(rep, "2. SimpleRNN vs LSTM vs GRU on IMDB");
    ex_say(rep, "Embedding(%d, %d, mask_zero) -> cell(%d) -> Dense(1, "
           "sigmoid); %d training reviews, %d test reviews, maxlen %d, "
           "%d epoch(s), batch %d, Adam lr 2e-3.", s->vocab, s->emb,
           s->units, tr->n, te->n, tr->maxlen, s->epochs, s->batch);
    char cells[N_CELLS * 4][32];
    const char *tab[N_CELLS * 4];
    double acc[N_CELLS], sec[N_CELLS];
    for (int c = 0; c < N_CELLS; c++) {
        base[c] = run_config(rep, c, s, tr, te, s->units, seed, &keep[c]);
        acc[c] = base[c].acc;
        sec[c] = base[c].sec_per_epoch;
        snprintf(cells[c * 4], 32, "%s", CELL_NAMES[c]);
        snprintf(cells[c * 4 + 1], 32, "%.4f", base[c].acc);
        snprintf(cells[c * 4 + 2], 32, "%zu", base[c].params);
        snprintf(cells[c * 4 + 3], 32, "%.1f", base[c].sec_per_epoch);
        for (int k = 0; k < 4; k++)
            tab[c * 4 + k] = cells[c * 4 + k];
    }
    const char *head[4] = { "cell", "test accuracy", "parameters",
                            "seconds / epoch" };
    ex_table(rep, 4, head, N_CELLS, tab);
    char path[600];
    ex_check(ex_plot_bars(ex_path(rep, "cells_accuracy.png", path,
                                  sizeof path), "IMDB test accuracy",
                          "accuracy", CELL_NAMES, acc, N_CELLS),
             "ex_plot_bars");
    ex_figure(rep, "cells_accuracy.png", "Test accuracy per cell");
    ex_check(ex_plot_bars(ex_path(rep, "cells_time.png", path, sizeof path),
                          "Training time per epoch", "seconds",
                          CELL_NAMES, sec, N_CELLS), "ex_plot_bars");
    ex_figure(rep, "cells_time.png", "Seconds per epoch per cell");
    trained_gradients(rep, te, keep);
}

/* ------------------------------------------------ 3. and 4. sweeps */

/* Accuracy for every value of a grid, per cell; values equal to the
 * defaults reuse the runs of section 2 instead of training again. */
static void sweep(ex_report *rep, const settings *s, const ex_imdb_set *tr,
                  const ex_imdb_set *te, uint64_t seed, const result *base,
                  int by_maxlen)
{
    const int *grid = by_maxlen ? s->maxlens : s->hiddens;
    int n = by_maxlen ? s->n_maxlens : s->n_hiddens;
    static double xs[4], acc[N_CELLS][4];
    char cells[N_CELLS * 4 * 5][32];
    const char *tab[N_CELLS * 4 * 5];
    int rows = 0;
    for (int c = 0; c < N_CELLS; c++)
        for (int i = 0; i < n; i++) {
            int maxlen = by_maxlen ? grid[i] : s->maxlen;
            int units = by_maxlen ? s->units : grid[i];
            result r;
            if (maxlen == s->maxlen && units == s->units) {
                r = base[c];
            } else {
                ex_imdb_set trl = truncate_set(tr, maxlen);
                ex_imdb_set tel = truncate_set(te, maxlen);
                r = run_config(rep, c, s, &trl, &tel, units, seed, NULL);
                free(trl.ids);
                free(tel.ids);
            }
            xs[i] = grid[i];
            acc[c][i] = r.acc;
            char *row = cells[rows * 5];
            snprintf(row, 32, "%s", CELL_NAMES[c]);
            snprintf(row + 32, 32, "%d", grid[i]);
            snprintf(row + 64, 32, "%.4f", r.acc);
            snprintf(row + 96, 32, "%zu", r.params);
            snprintf(row + 128, 32, "%.1f", r.sec_per_epoch);
            for (int k = 0; k < 5; k++)
                tab[rows * 5 + k] = cells[rows * 5 + k];
            rows++;
        }
    const char *head[5] = { "cell", by_maxlen ? "maxlen" : "units",
                            "test accuracy", "parameters",
                            "seconds / epoch" };
    ex_table(rep, 5, head, rows, tab);
    ex_series series[N_CELLS];
    for (int c = 0; c < N_CELLS; c++)
        series[c] = (ex_series){ CELL_NAMES[c], xs, acc[c], n };
    const char *file = by_maxlen ? "maxlen_accuracy.png"
                                 : "hidden_accuracy.png";
    char path[600];
    ex_check(ex_plot_lines(ex_path(rep, file, path, sizeof path),
                           by_maxlen ? "Accuracy vs sequence length"
                                     : "Accuracy vs hidden size",
                           by_maxlen ? "maxlen (tokens kept)" : "units",
                           "test accuracy", series, N_CELLS, 0),
             "ex_plot_lines");
    ex_figure(rep, file, by_maxlen ? "Accuracy vs maxlen"
                                   : "Accuracy vs hidden size");
}

/* ------------------------------------------------ 5. return_sequences */

static void say_shape(ex_report *rep, const char *what, sn_model_t *m)
{
    int dims[SN_MAX_RANK];
    int rank = sn_model_tensor_shape(m, sn_model_output_id(m, 0), dims, SN_MAX_RANK, NULL);
    ex_check(rank, "sn_model_tensor_shape");
    if (rank == 1)
        ex_say(rep, "%s: output shape (batch, %d)", what, dims[0]);
    else
        ex_say(rep, "%s: output shape (batch, %d, %d)", what, dims[0],
               dims[1]);
}

static void return_sequences_demo(ex_report *rep, const settings *s,
                                  const sn_vectorizer_t *v, sn_model_t *lstm)
{
    ex_section(rep, "5. return_sequences");
    const char *text = "this movie was not good the plot was boring and the "
                       "acting was terrible";
    /* the vectorizer pads to its own width (the widest maxlen of the
     * sweep), which may exceed s->maxlen */
    int width = sn_vectorizer_output_width(v, &text, 1);
    ex_check(width, "sn_vectorizer_output_width");
    int32_t *ids = malloc((size_t)width * sizeof *ids);
    ex_check(ids != NULL ? SN_OK : SN_ERR_NOMEM, "malloc");
    ex_check(sn_vectorizer_transform(v, &text, 1, ids),
             "sn_vectorizer_transform");
    int L = 0;
    while (L < s->maxlen && L < width && ids[L] != 0)
        L++;
    /* The LSTM trained in section 2, rebuilt for L steps with and without
     * return_sequences; weights copied by name, so the numbers are the
     * trained model's. */
    sn_model_t *last = text_model(CELL_LSTM, s, L, s->units, 0, 0, 1);
    sn_model_t *seq = text_model(CELL_LSTM, s, L, s->units, 1, 0, 1);
    sn_model_t *full = text_model(CELL_LSTM, s, L, s->units, 0, 1, 1);
    ex_copy_weights(last, lstm, NULL);
    ex_copy_weights(seq, lstm, NULL);
    ex_copy_weights(full, lstm, NULL);
    say_shape(rep, "return_sequences = 0 (Emb -> LSTM)", last);
    say_shape(rep, "return_sequences = 1 (Emb -> LSTM)", seq);
    const void *in[1] = { ids };
    ex_check(sn_model_forward(seq, 1, in, NULL, 0), "sn_model_forward");
    int dims[SN_MAX_RANK + 1], rank;
    const float *h = sn_model_output(seq, 0, dims, SN_MAX_RANK + 1, &rank);
    ex_check(h != NULL ? SN_OK : SN_ERR_STATE, "sn_model_output");
    /* h_T with return_sequences = 0 is the last row of the sequence */
    float *hT = malloc((size_t)s->units * sizeof *hT), p;
    float *outs[1] = { hT };
    ex_check(hT != NULL ? SN_OK : SN_ERR_NOMEM, "malloc");
    ex_check(sn_model_predict(last, 1, in, NULL, outs), "sn_model_predict");
    double diff = 0;
    for (int u = 0; u < s->units; u++)
        diff = fmax(diff, fabs(hT[u] - h[(size_t)(L - 1) * dims[2] + u]));
    outs[0] = &p;
    ex_check(sn_model_predict(full, 1, in, NULL, outs), "sn_model_predict");
    ex_say(rep, "Review \"%s\": %d tokens, P(positive) = %.3f.  The last "
           "row of the sequence output equals the return_sequences = 0 "
           "output (max difference %.2g).", text, L, p, diff);
    free(hT);
    sn_model_free(full);
    /* heat map: the first units (rows) over the words (columns) */
    int U = s->units < 16 ? s->units : 16;
    double *z = malloc((size_t)U * L * sizeof *z);
    const char **words = malloc((size_t)L * sizeof *words);
    char (*rowname)[16] = malloc((size_t)U * sizeof *rowname);
    const char **rows = malloc((size_t)U * sizeof *rows);
    ex_check(z && words && rowname && rows ? SN_OK : SN_ERR_NOMEM, "malloc");
    for (int t = 0; t < L; t++)
        words[t] = sn_vectorizer_token(v, ids[t]);
    for (int u = 0; u < U; u++) {
        snprintf(rowname[u], 16, "h%d", u);
        rows[u] = rowname[u];
        for (int t = 0; t < L; t++)
            z[u * L + t] = h[(size_t)t * dims[2] + u];
    }
    char path[600];
    ex_check(ex_plot_heatmap(ex_path(rep, "return_sequences.png", path,
                                     sizeof path),
                             "LSTM outputs h_t at every step "
                             "(return_sequences = 1)", "word", "unit", z, U,
                             L, words, rows), "ex_plot_heatmap");
    ex_figure(rep, "return_sequences.png",
              "Per-step outputs of the trained LSTM over a short review");
    free(z);
    free(words);
    free(rowname);
    free(rows);
    free(ids);
    sn_model_free(last);
    sn_model_free(seq);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    ex_args args;
    int rc = ex_parse_args(argc, argv, "01", "", &args);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    settings s = settings_for(&args);
    ex_report rep;
    ex_check(ex_report_open(&rep, args.out_dir,
                            "01 - SimpleRNN, LSTM and GRU"), "ex_report_open");
    double t0 = ex_now();
    ex_say(&rep, "libseqnet %s, seed %llu%s.", sn_version(),
           (unsigned long long)args.seed, args.quick ? ", --quick" : "");

    vanishing_gradients(&rep, args.seed);

    /* Vectorize once at the longest maxlen; shorter ones are prefixes. */
    int widest = s.maxlen;
    for (int i = 0; i < s.n_maxlens; i++)
        if (s.maxlens[i] > widest)
            widest = s.maxlens[i];
    ex_imdb_set trw, tew;
    sn_vectorizer_t *v = ex_imdb_subsets(&args, s.n_train, s.n_test, s.vocab,
                                   widest, &trw, &tew);
    ex_imdb_set tr = truncate_set(&trw, s.maxlen), te = truncate_set(&tew,
                                                                  s.maxlen);
    result base[N_CELLS];
    sn_model_t *models[N_CELLS];
    cell_ablation(&rep, &s, &tr, &te, args.seed, base, models);
    ex_section(&rep, "3. Sequence length");
    ex_say(&rep, "Reviews cut to their first maxlen tokens; %d units.",
           s.units);
    sweep(&rep, &s, &trw, &tew, args.seed, base, 1);
    ex_section(&rep, "4. Hidden size");
    ex_say(&rep, "maxlen %d; the embedding stays %d wide.", s.maxlen, s.emb);
    sweep(&rep, &s, &tr, &te, args.seed, base, 0);
    return_sequences_demo(&rep, &s, v, models[CELL_LSTM]);

    ex_section(&rep, "Run");
    ex_say(&rep, "Total time %.1f s.", ex_now() - t0);
    for (int c = 0; c < N_CELLS; c++)
        sn_model_free(models[c]);
    sn_vectorizer_free(v);
    free(tr.ids);
    free(te.ids);
    free(trw.ids);
    free(trw.labels);
    free(tew.ids);
    free(tew.labels);
    ex_report_close(&rep);
    return 0;
}
