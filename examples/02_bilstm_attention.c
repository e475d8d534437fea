/*
 * examples/02_bilstm_attention.c - bidirectional and stacked LSTMs, and
 * attention, on IMDB.
 *
 * The tutorial is docs/tutorials/02_bilstm_attention.md.  What this program
 * does:
 *
 *   1. LSTM vs Bidirectional LSTM.
 *   2. Stacked LSTMs of 2, 3 and 4 layers with Dropout between them.
 *   3. A Bahdanau attention pooling layer written here through the
 *      custom-layer API, checked against the built-in sn_attention, then
 *      used on top of a BiLSTM for classification.
 *   4. A MultiHeadAttention (self-attention) classifier.
 *   5. The attention weights of both over the words of real test reviews.
 *
 * Every number printed also goes to <out>/report.md, with the figures.
 *
 *   build/openblas/examples/02_bilstm_attention [--data DIR] [--out DIR]
 *       [--seed N] [--epochs N] [--quick]
 *
 * --quick trains on 2000 reviews (a CI smoke test, < 2 minutes on 2 cores);
 * the full run trains on 12500 reviews for 3 epochs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/example.h"

/* ------------------------------------------------------------ settings */

typedef struct settings {
    int n_train, n_test;   /* IMDB reviews used (random subsets)         */
    int vocab, emb;        /* vectorizer max_tokens, embedding width     */
    int maxlen, units;     /* sequence length, recurrent units           */
    int epochs, batch;
    int max_layers;        /* stacked LSTMs of 2 .. max_layers layers    */
} settings;

static settings settings_for(const ex_args *args)
{
    settings s = { 12500, 10000, 10000, 32, 200, 64, 3, 32, 4 };
    if (args->quick) {
        settings q = { 2000, 1000, 10000, 32, 100, 32, 2, 32, 3 };
        s = q;
    }
    if (args->epochs > 0)
        s.epochs = args->epochs;
    return s;
}

/* ------------------------------------------------------------ IMDB */

/* ------------------------------------------- a custom Bahdanau attention */

/* Attention pooling (Bahdanau et al. 2015, the form used for document
 * classification):
 *     u_j = tanh(h_j W1 + b)           W1 [D, units], b [units]
 *     s_j = v . u_j                    v [units]
 *     a   = softmax(s) over the real (unmasked) steps
 *     context = sum_j a_j h_j          [D]
 * Input [T, D]; outputs the context [D] and the weights a [T], so that a
 * model can show where it looked.  The built-in sn_attention(SN_SCORE_
 * ADDITIVE) with one input computes the same thing, its learned "query"
 * playing the role of b. */
typedef struct bahdanau {
    int units;
} bahdanau;

enum { W_W1 = 0, W_B = 1, W_V = 2 };

static int bahdanau_infer(const void *state, const sn_tensor_shape *in,
                          int n_in, sn_tensor_shape *out, int max_out)
{
    (void)state;
    (void)n_in;
    if (max_out < 2 || in[0].dtype != SN_FLOAT32 || in[0].rank != 2 ||
        in[0].dims[1] <= 0)
        return sn_custom_fail(SN_ERR_SHAPE, "expected float [time, D]");
    out[0].dtype = SN_FLOAT32;           /* the context [D]  */
    out[0].rank = 1;
    out[0].dims[0] = in[0].dims[1];
    out[1].dtype = SN_FLOAT32;           /* the weights [T]  */
    out[1].rank = 1;
    out[1].dims[0] = in[0].dims[0];      /* -1 for SN_ANY_TIME: passed on */
    return 2;
}

static sn_status bahdanau_build(void *state, sn_custom_build_t *b,
                                const sn_tensor_shape *in, int n_in)
{
    const bahdanau *s = state;
    (void)n_in;
    int w1[2] = { in[0].dims[1], s->units };
    /* Glorot for the matrix, small uniform values for the vectors (zeros
     * for v would make every score 0 and its gradient too). */
    if (sn_custom_add_weight(b, "W1", 2, w1, SN_INIT_GLOROT_UNIFORM, 0, 0) !=
            W_W1 ||
        sn_custom_add_weight(b, "b", 1, &s->units, SN_INIT_RANDOM_UNIFORM, 0,
                             0) != W_B ||
        sn_custom_add_weight(b, "v", 1, &s->units, SN_INIT_RANDOM_UNIFORM, 0,
                             0) != W_V)
        return sn_custom_fail(SN_ERR_INVALID_ARG, "adding the weights");
    return SN_OK;
}

/* Sizes of one call. */
typedef struct bdims {
    int batch, time, d, units;
} bdims;

static bdims bahdanau_dims(const void *state, const sn_custom_call_t *c)
{
    sn_tensor_shape s = SN_TENSOR_SHAPE_INIT;
    sn_custom_input_shape(c, 0, &s);
    bdims p = { sn_custom_batch(c), s.dims[0], s.dims[1],
                ((const bahdanau *)state)->units };
    return p;
}

/* Scratch kept from forward to backward: u [B, T, units], then room that
 * backward uses for dL/da [T] and dL/dz [units]. */
static float *bahdanau_scratch(sn_custom_call_t *c, bdims p)
{
    size_t n = (size_t)p.batch * p.time * p.units + (size_t)p.time + p.units;
    return sn_custom_scratch(c, n * sizeof(float));
}

/* One sample: scores, masked softmax, context. */
static void bahdanau_row(bdims p, const float *h, const uint8_t *mask,
                         const float *w1, const float *b, const float *v,
                         float *u, float *a, float *y)
{
    double max = -INFINITY, sum = 0;
    for (int j = 0; j < p.time; j++) {
        float *uj = u + (size_t)j * p.units;
        const float *hj = h + (size_t)j * p.d;
        memcpy(uj, b, (size_t)p.units * sizeof *uj);
        for (int i = 0; i < p.d; i++)      /* i outer: k loop vectorises */
            for (int k = 0; k < p.units; k++)
                uj[k] += hj[i] * w1[(size_t)i * p.units + k];
        float s = 0;
        for (int k = 0; k < p.units; k++) {
            uj[k] = tanhf(uj[k]);
            s += v[k] * uj[k];
        }
        a[j] = s;
        if ((mask == NULL || mask[j]) && s > max)
            max = s;
    }
    /* padded steps get weight exactly 0; an all-padding row gives 0s */
    for (int j = 0; j < p.time; j++) {
        a[j] = (mask == NULL || mask[j]) ? (float)exp(a[j] - max) : 0.0f;
        sum += a[j];
    }
    memset(y, 0, (size_t)p.d * sizeof *y);
    for (int j = 0; j < p.time; j++) {
        a[j] = sum > 0 ? (float)(a[j] / sum) : 0.0f;
        for (int i = 0; i < p.d; i++)
            y[i] += a[j] * h[(size_t)j * p.d + i];
    }
}

static sn_status bahdanau_forward(const void *state, sn_custom_call_t *c)
{
    bdims p = bahdanau_dims(state, c);
    float *u = bahdanau_scratch(c, p);
    if (u == NULL)
        return SN_ERR_NOMEM;
    const float *h = sn_custom_input(c, 0);
    const uint8_t *mask = sn_custom_input_mask(c, 0);
    float *y = sn_custom_output(c, 0), *a = sn_custom_output(c, 1);
    for (int n = 0; n < p.batch; n++)
        bahdanau_row(p, h + (size_t)n * p.time * p.d,
                     mask ? mask + (size_t)n * p.time : NULL,
                     sn_custom_weight(c, W_W1), sn_custom_weight(c, W_B),
                     sn_custom_weight(c, W_V),
                     u + (size_t)n * p.time * p.units, a + (size_t)n * p.time,
                     y + (size_t)n * p.d);
    return SN_OK;
}

/* Backward of one sample.  With g = dL/dcontext and ga = dL/da (from the
 * weights output, usually 0):
 *     dL/da_j = g . h_j + ga_j
 *     dL/ds_j = a_j (dL/da_j - sum_k a_k dL/da_k)       (softmax)
 *     dL/dz_jk = dL/ds_j v_k (1 - u_jk^2)                (tanh)
 * and the weight and input gradients follow from z_j = h_j W1 + b. */
static void bahdanau_row_back(bdims p, const float *h, const float *u,
                              const float *a, const float *g, const float *ga,
                              const float *w1, const float *v, float *dh,
                              float *dw1, float *db, float *dv, float *da,
                              float *dz)
{
    double dot = 0;
    for (int j = 0; j < p.time; j++) {
        da[j] = ga != NULL ? ga[j] : 0.0f;
        for (int i = 0; i < p.d; i++)
            da[j] += g[i] * h[(size_t)j * p.d + i];
        dot += a[j] * da[j];
    }
    for (int j = 0; j < p.time; j++) {
        if (a[j] == 0.0f)
            continue;                   /* padded step: no gradient */
        const float *hj = h + (size_t)j * p.d, *uj = u + (size_t)j * p.units;
        float ds = a[j] * (float)(da[j] - dot);
        for (int k = 0; k < p.units; k++) {
            dz[k] = ds * v[k] * (1 - uj[k] * uj[k]);
            if (dv != NULL)
                dv[k] += ds * uj[k];
            if (db != NULL)
                db[k] += dz[k];
        }
        for (int i = 0; i < p.d; i++) {
            float acc = 0;
            for (int k = 0; k < p.units; k++) {
                if (dw1 != NULL)
                    dw1[(size_t)i * p.units + k] += hj[i] * dz[k];
                acc += dz[k] * w1[(size_t)i * p.units + k];
            }
            if (dh != NULL)             /* context term + score term */
                dh[(size_t)j * p.d + i] += a[j] * g[i] + acc;
        }
    }
}

static sn_status bahdanau_backward(const void *state, sn_custom_call_t *c)
{
    bdims p = bahdanau_dims(state, c);
    float *u = bahdanau_scratch(c, p);
    if (u == NULL)
        return SN_ERR_NOMEM;
    float *da = u + (size_t)p.batch * p.time * p.units, *dz = da + p.time;
    const float *h = sn_custom_input(c, 0);
    const float *a = sn_custom_output(c, 1);
    const float *g = sn_custom_output_grad(c, 0);
    const float *ga = sn_custom_output_grad(c, 1);
    float *dh = sn_custom_input_grad(c, 0);
    for (int n = 0; n < p.batch; n++)
        bahdanau_row_back(p, h + (size_t)n * p.time * p.d,
                          u + (size_t)n * p.time * p.units,
                          a + (size_t)n * p.time, g + (size_t)n * p.d,
                          ga ? ga + (size_t)n * p.time : NULL,
                          sn_custom_weight(c, W_W1), sn_custom_weight(c, W_V),
                          dh ? dh + (size_t)n * p.time * p.d : NULL,
                          sn_custom_weight_grad(c, W_W1),
                          sn_custom_weight_grad(c, W_B),
                          sn_custom_weight_grad(c, W_V), da, dz);
    return SN_OK;
}

static sn_layer_t *bahdanau_layer(int units)
{
    static const sn_custom_layer_ops ops = {
        .size = sizeof(sn_custom_layer_ops),
        .type = "course.BahdanauPool",
        .min_inputs = 1,
        .max_inputs = 1,
        .infer = bahdanau_infer,
        .build = bahdanau_build,
        .forward = bahdanau_forward,
        .backward = bahdanau_backward,
        .destroy = free,
    };
    bahdanau *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;               /* sn_apply reports the failure */
    s->units = units;
    return sn_custom_layer(&ops, s);   /* owns s from here on */
}

/* ------------------------------------------------------------ models */

enum kind {
    K_LSTM, K_BILSTM, K_STACKED, K_CUSTOM_ATT, K_BUILTIN_ATT, K_MHA
};

static sn_model_t *new_model(uint64_t seed, const char *name)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    mo.name = name;
    sn_model_t *m = sn_model_new(&mo);
    ex_check(m != NULL ? SN_OK : SN_ERR_NOMEM, "sn_model_new");
    return m;
}

static sn_layer_t *named(sn_layer_t *layer, const char *name)
{
    ex_check(sn_layer_set_name(layer, name), "sn_layer_set_name");
    return layer;
}

/* Token ids -> Embedding(mask_zero).  mask_zero makes every layer after it
 * skip the padding (recurrences carry their state over it, attention gives
 * it weight 0, pooling leaves it out). */
static int embed(sn_model_t *m, const settings *s, int maxlen)
{
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    return sn_apply(m, named(sn_embedding(s->vocab, s->emb, &eo), "emb"),
                    sn_input_tokens(m, maxlen));
}

static sn_layer_t *lstm(int units, int return_sequences)
{
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = return_sequences;
    return sn_lstm(units, &ro);
}

/* Stacked LSTMs: every layer but the last returns its whole sequence (the
 * next layer needs one input per step); Dropout(0.2) between layers. */
static int stacked(sn_model_t *m, int x, int layers, int units)
{
    for (int l = 0; l < layers; l++) {
        int last = l == layers - 1;
        x = sn_apply(m, lstm(units, !last), x);
        if (!last)
            x = sn_apply(m, sn_dropout(0.2f), x);
    }
    return x;
}

/* Attention pooling over a BiLSTM's sequence; *weights gets the id of the
 * attention-weights tensor. */
static int attention_pool(sn_model_t *m, int x, int builtin, int units,
                          int *weights)
{
    x = sn_apply(m, named(sn_bidirectional(lstm(units / 2, 1),
                                           SN_MERGE_CONCAT), "bilstm"), x);
    sn_layer_t *pool;
    if (builtin) {
        sn_attention_opts ao = SN_ATTENTION_OPTS_INIT;
        ao.units = units;
        ao.return_attention_scores = 1;
        pool = sn_attention(SN_SCORE_ADDITIVE, &ao);
    } else {
        pool = bahdanau_layer(units);
    }
    int outs[2];
    ex_check(sn_apply_n(m, named(pool, "pool"), &x, 1, outs, 2),
             "applying the attention");
    *weights = outs[1];
    return outs[0];
}

/* Self-attention: every word attends to every word (query = value = the
 * embedded review), a residual connection keeps the word itself, and the
 * masked mean over the words is the review's vector. */
static int mha_block(sn_model_t *m, int x, int with_scores, int *scores)
{
    sn_mha_opts mo = SN_MHA_OPTS_INIT;
    mo.return_attention_scores = with_scores;
    int in[2] = { x, x }, outs[2];
    ex_check(sn_apply_n(m, named(sn_multi_head_attention(2, 16, &mo), "mha"),
                        in, 2, outs, 2), "applying MultiHeadAttention");
    *scores = outs[1];
    int sum[2] = { x, outs[0] }, y;
    ex_check(sn_apply_n(m, sn_add(), sum, 2, &y, 1), "applying Add");
    return sn_apply(m, sn_global_average_pooling1d(), y);
}

/* Builds one classifier ending in Dense(1, sigmoid).  With inspect, the
 * attention models also output their weights (never trained that way: the
 * loss would apply to every output). */
static sn_model_t *classifier(enum kind k, const settings *s, int maxlen,
                              int layers, int inspect, uint64_t seed)
{
    static const char *const names[] = { "lstm", "bilstm", "stacked",
                                         "bahdanau_custom",
                                         "bahdanau_builtin", "mha" };
    sn_model_t *m = new_model(seed, names[k]);
    int x = embed(m, s, maxlen), extra = -1;
    switch (k) {
    case K_LSTM: x = sn_apply(m, lstm(s->units, 0), x); break;
    case K_BILSTM:
        /* a second LSTM reads the review backwards; outputs concatenated */
        x = sn_apply(m, sn_bidirectional(lstm(s->units, 0),
                                         SN_MERGE_CONCAT), x);
        break;
    case K_STACKED: x = stacked(m, x, layers, s->units); break;
    case K_CUSTOM_ATT:
    case K_BUILTIN_ATT:
        x = attention_pool(m, x, k == K_BUILTIN_ATT, s->units, &extra);
        break;
    case K_MHA: x = mha_block(m, x, inspect, &extra); break;
    }
    x = sn_apply(m, named(sn_dense(1, SN_SIGMOID, NULL), "out"), x);
    ex_check(x, "building the classifier");
    int outs[2] = { x, extra };
    ex_check(sn_model_set_outputs(m, outs, inspect ? 2 : 1),
             "sn_model_set_outputs");
    ex_check(sn_model_build(m), "sn_model_build");
    return m;
}

/* ------------------------------------------------------------ training */

typedef struct result {
    const char *name;
    double acc, val_acc, sec_per_epoch;
    size_t params;
} result;

/* Adam + binary cross-entropy; fit with a progress bar, 10% of the
 * training subset held out for validation, then the test subset. */
static result train_eval(ex_report *rep, sn_model_t *m, const char *name,
                         const ex_imdb_set *tr, const ex_imdb_set *te,
                         const settings *s)
{
    sn_optimizer_opts oo;
    ex_check(sn_optimizer_defaults(SN_ADAM, &oo), "sn_optimizer_defaults");
    oo.learning_rate = 2e-3f;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_metric_kind metric = SN_METRIC_ACCURACY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    co.metrics = &metric;
    co.n_metrics = 1;
    ex_check(sn_model_compile(m, &co), "sn_model_compile");
    const void *tri[1], *tei[1];
    const float *trt[1], *tet[1];
    sn_dataset dtr = ex_imdb_dataset(tr, tri, trt), dte = ex_imdb_dataset(te, tei, tet);
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = s->epochs;
    fo.batch_size = s->batch;
    fo.validation_split = 0.1f;
    fo.progress = stdout;
    printf("\n%s\n", name);
    sn_history_t *h = NULL;
    double t0 = ex_now();
    ex_check(sn_model_fit(m, &dtr, &fo, &h), "sn_model_fit");
    result r = { name, 0, 0, (ex_now() - t0) / s->epochs,
                 sn_model_count_params(m, NULL) };
    const double *va = sn_history_values(h, "val_accuracy");
    r.val_acc = va != NULL ? va[sn_history_epochs(h) - 1] : NAN;
    sn_history_free(h);
    double ev[2];
    ex_check(sn_model_evaluate(m, &dte, 256, ev, 2), "sn_model_evaluate");
    r.acc = ev[1];
    ex_say(rep, "%s: test accuracy %.4f (validation %.4f), %zu parameters, "
           "%.1f s/epoch", name, r.acc, r.val_acc, r.params,
           r.sec_per_epoch);
    return r;
}

/* A table and an accuracy bar chart of some results. */
static void report_results(ex_report *rep, const result *r, int n,
                           const char *file, const char *title)
{
    char (*cells)[32] = calloc((size_t)n * 5, 32);
    const char **tab = calloc((size_t)n * 5, sizeof *tab);
    const char **labels = calloc((size_t)n, sizeof *labels);
    double *acc = calloc((size_t)n, sizeof *acc);
    ex_check(cells && tab && labels && acc ? SN_OK : SN_ERR_NOMEM, "calloc");
    for (int i = 0; i < n; i++) {
        snprintf(cells[i * 5], 32, "%s", r[i].name);
        snprintf(cells[i * 5 + 1], 32, "%.4f", r[i].acc);
        snprintf(cells[i * 5 + 2], 32, "%.4f", r[i].val_acc);
        snprintf(cells[i * 5 + 3], 32, "%zu", r[i].params);
        snprintf(cells[i * 5 + 4], 32, "%.1f", r[i].sec_per_epoch);
        for (int k = 0; k < 5; k++)
            tab[i * 5 + k] = cells[i * 5 + k];
        labels[i] = r[i].name;
        acc[i] = r[i].acc;
    }
    const char *head[5] = { "model", "test accuracy", "val accuracy",
                            "parameters", "seconds / epoch" };
    ex_table(rep, 5, head, n, tab);
    char path[600];
    ex_check(ex_plot_bars(ex_path(rep, file, path, sizeof path), title,
                          "test accuracy", labels, acc, n), "ex_plot_bars");
    ex_figure(rep, file, title);
    free(cells);
    free(tab);
    free(labels);
    free(acc);
}

/* ------------------------------------------- checking the custom layer */

/* The custom layer's name for a weight of the built-in one: the
 * built-in pooling's "query" is the custom layer's "b". */
static const char *custom_name(const char *builtin_name)
{
    return strcmp(builtin_name, "pool/query") == 0 ? "pool/b" : builtin_name;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* Forward and backward (dL/dy = 1) on one batch of real reviews. */
static void forward_backward(sn_model_t *m, int batch, const int32_t *ids)
{
    const void *in[1] = { ids };
    ex_check(sn_model_forward(m, batch, in, NULL, 0), "sn_model_forward");
    float ones[64];
    for (int i = 0; i < 64; i++)
        ones[i] = 1.0f;
    const float *g[2] = { ones, NULL };
    ex_check(sn_model_zero_grad(m), "sn_model_zero_grad");
    ex_check(sn_model_backward(m, g), "sn_model_backward");
}

/* The custom layer against sn_attention(SN_SCORE_ADDITIVE) in the same
 * network with the same weights: outputs, attention weights and every
 * weight gradient must agree to rounding.  Exits if they do not. */
static void check_custom(ex_report *rep, const settings *s,
                         const ex_imdb_set *te, uint64_t seed)
{
    enum { B = 16 };
    sn_model_t *mc = classifier(K_CUSTOM_ATT, s, te->maxlen, 0, 1, seed);
    sn_model_t *mb = classifier(K_BUILTIN_ATT, s, te->maxlen, 0, 1, seed);
    ex_copy_weights(mb, mc, custom_name);
    forward_backward(mc, B, te->ids);
    forward_backward(mb, B, te->ids);
    double dy = max_diff(sn_model_output(mc, 0, NULL, 0, NULL),
                         sn_model_output(mb, 0, NULL, 0, NULL), B);
    double da = max_diff(sn_model_output(mc, 1, NULL, 0, NULL),
                         sn_model_output(mb, 1, NULL, 0, NULL),
                         (size_t)B * te->maxlen);
    double dg = 0, gmax = 0;
    for (int i = 0; i < sn_model_num_weights(mb); i++) {
        const char *name;
        size_t n, n2;
        sn_model_weight_info(mb, i, &name, NULL, 0, NULL);
        int j = sn_model_find_weight(mc, custom_name(name));
        ex_check(j, name);
        const float *gb = sn_model_weight_grad(mb, i, &n);
        const float *gc = sn_model_weight_grad(mc, j, &n2);
        ex_check(gb && gc && n == n2 ? SN_OK : SN_ERR_SHAPE, "gradients");
        dg = fmax(dg, max_diff(gb, gc, n));
        for (size_t k = 0; k < n; k++)
            gmax = fmax(gmax, fabs(gb[k]));
    }
    ex_say(rep, "Custom vs built-in on %d test reviews, same weights: max "
           "|difference| of the predictions %.2g, of the attention weights "
           "%.2g, of the %d weight gradients %.2g (largest gradient %.2g).",
           B, dy, da, sn_model_num_weights(mb), dg, gmax);
    sn_model_free(mc);
    sn_model_free(mb);
    if (dy > 1e-4 || da > 1e-4 || dg > 1e-3 * fmax(gmax, 1.0)) {
        ex_say(rep, "MISMATCH: the custom layer does not match the "
               "built-in one.");
        exit(1);
    }
    ex_say(rep, "The custom layer matches the built-in one.");
}

/* ------------------------------------------------ attention heat maps */

/* Test reviews of 12 to 40 tokens: short enough to read on an axis. */
static int pick_reviews(const ex_imdb_set *te, int *picked, int want)
{
    int n = 0;
    for (int i = 0; i < te->n && n < want; i++) {
        int len = 0;
        while (len < te->maxlen && te->ids[(size_t)i * te->maxlen + len])
            len++;
        /* one of each class first, then whatever comes */
        if (len >= 12 && len <= 40 &&
            (n >= 2 || (int)te->labels[i] == n % 2))
            picked[n++] = i;
    }
    return n;
}

/* Attention each word receives in the MHA model: the mean over heads and
 * over the real query words of softmax weights [heads, T, T]. */
static void mha_received(const float *scores, int heads, int T, int len,
                         double *out)
{
    for (int j = 0; j < len; j++) {
        double sum = 0;
        for (int h = 0; h < heads; h++)
            for (int q = 0; q < len; q++)
                sum += scores[((size_t)h * T + q) * T + j];
        out[j] = sum / (heads * len);
    }
}

static void heatmap_review(ex_report *rep, const sn_vectorizer_t *v,
                           const int32_t *ids, int T, float label,
                           sn_model_t *att, sn_model_t *mha, int k)
{
    int len = 0;
    while (len < T && ids[len] != 0)
        len++;
    const void *in[1] = { ids };
    float p_att, p_mha, *w = malloc((size_t)T * sizeof *w);
    float *sc = malloc((size_t)2 * T * T * sizeof *sc);
    ex_check(w && sc ? SN_OK : SN_ERR_NOMEM, "malloc");
    float *oa[2] = { &p_att, w }, *om[2] = { &p_mha, sc };
    ex_check(sn_model_predict(att, 1, in, NULL, oa), "sn_model_predict");
    ex_check(sn_model_predict(mha, 1, in, NULL, om), "sn_model_predict");
    double z[2 * 40];
    const char *words[40];
    for (int j = 0; j < len; j++) {
        z[j] = w[j];
        words[j] = sn_vectorizer_token(v, ids[j]);
    }
    mha_received(sc, 2, T, len, z + len);
    const char *rows[2] = { "Bahdanau", "MHA" };
    char file[64], title[160], path[600];
    snprintf(file, sizeof file, "attention_review%d.png", k + 1);
    snprintf(title, sizeof title, "Review %d (%s): P(positive) Bahdanau "
             "%.2f, MHA %.2f", k + 1, label > 0.5f ? "positive" : "negative",
             p_att, p_mha);
    ex_check(ex_plot_heatmap(ex_path(rep, file, path, sizeof path), title,
                             "word", "model", z, 2, len, words, rows),
             "ex_plot_heatmap");
    ex_figure(rep, file, title);
    /* the three words each model weighs most, for the report */
    for (int r = 0; r < 2; r++) {
        int top[3];
        for (int t = 0; t < 3; t++) {
            top[t] = -1;
            for (int j = 0; j < len; j++) {
                int taken = 0;
                for (int u = 0; u < t; u++)
                    taken |= top[u] == j;
                if (!taken && (top[t] < 0 || z[r * len + j] >
                                                 z[r * len + top[t]]))
                    top[t] = j;
            }
        }
        ex_say(rep, "Review %d, %s: most weight on \"%s\" %.3f, \"%s\" "
               "%.3f, \"%s\" %.3f", k + 1, rows[r], words[top[0]],
               z[r * len + top[0]], words[top[1]], z[r * len + top[1]],
               words[top[2]], z[r * len + top[2]]);
    }
    free(w);
    free(sc);
}

static void attention_maps(ex_report *rep, const settings *s,
                           const sn_vectorizer_t *v, const ex_imdb_set *te,
                           sn_model_t *att, sn_model_t *mha)
{
    ex_section(rep, "5. Attention weights on test reviews");
    /* inspection copies of the trained models, with the weights as a
     * second output */
    sn_model_t *ia = classifier(K_CUSTOM_ATT, s, te->maxlen, 0, 1, 1);
    sn_model_t *im = classifier(K_MHA, s, te->maxlen, 0, 1, 1);
    ex_copy_weights(ia, att, NULL);
    ex_copy_weights(im, mha, NULL);
    int picked[3];
    int n = pick_reviews(te, picked, 3);
    ex_say(rep, "Rows: the Bahdanau weights a_j of the custom-attention "
           "model, and the attention each word receives in the MHA model "
           "(mean over its 2 heads and over the query words).  %d reviews "
           "of 12-40 tokens.", n);
    for (int k = 0; k < n; k++)
        heatmap_review(rep, v, te->ids + (size_t)picked[k] * te->maxlen,
                       te->maxlen, te->labels[picked[k]], ia, im, k);
    sn_model_free(ia);
    sn_model_free(im);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    ex_args args;
    int rc = ex_parse_args(argc, argv, "02", "", &args);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    settings s = settings_for(&args);
    ex_report rep;
    ex_check(ex_report_open(&rep, args.out_dir,
                            "02 - Bidirectional and stacked LSTMs, "
                            "attention"), "ex_report_open");
    double t0 = ex_now();
    ex_imdb_set tr, te;
    sn_vectorizer_t *v = ex_imdb_subsets(&args, s.n_train, s.n_test, s.vocab,
                                   s.maxlen, &tr, &te);
    ex_say(&rep, "libseqnet %s, seed %llu%s.  IMDB: %d training reviews "
           "(10%% of them for validation), %d test reviews, vocabulary "
           "%d, maxlen %d, Embedding(%d, mask_zero), %d units, %d "
           "epoch(s), batch %d, Adam lr 2e-3.", sn_version(),
           (unsigned long long)args.seed, args.quick ? ", --quick" : "",
           tr.n, te.n, s.vocab, s.maxlen, s.emb, s.units, s.epochs,
           s.batch);
    enum { MAX_RESULTS = 8 };
    result all[MAX_RESULTS];
    int n = 0;

    ex_section(&rep, "1. LSTM vs Bidirectional LSTM");
    const enum kind first[2] = { K_LSTM, K_BILSTM };
    const char *first_names[2] = { "LSTM", "BiLSTM" };
    for (int i = 0; i < 2; i++) {
        sn_model_t *m = classifier(first[i], &s, s.maxlen, 0, 0, args.seed);
        all[n++] = train_eval(&rep, m, first_names[i], &tr, &te, &s);
        sn_model_free(m);
    }
    report_results(&rep, all, 2, "bilstm_accuracy.png",
                   "LSTM vs BiLSTM: test accuracy");

    ex_section(&rep, "2. Stacked LSTMs");
    static char stack_names[4][32];
    int first_stacked = n;
    for (int layers = 2; layers <= s.max_layers && layers <= 4; layers++) {
        snprintf(stack_names[layers - 2], 32, "%d x LSTM", layers);
        sn_model_t *m = classifier(K_STACKED, &s, s.maxlen, layers, 0,
                                   args.seed);
        all[n++] = train_eval(&rep, m, stack_names[layers - 2], &tr, &te,
                              &s);
        sn_model_free(m);
    }
    report_results(&rep, all + first_stacked, n - first_stacked,
                   "stacked_accuracy.png", "Stacked LSTMs: test accuracy");
    static double xs[4], ys[4];
    for (int i = first_stacked; i < n; i++) {
        xs[i - first_stacked] = i - first_stacked + 2;
        ys[i - first_stacked] = all[i].sec_per_epoch;
    }
    ex_series time_series = { "seconds / epoch", xs, ys, n - first_stacked };
    char path[600];
    ex_check(ex_plot_lines(ex_path(&rep, "stacked_time.png", path,
                                   sizeof path), "Stacked LSTMs: time",
                           "layers", "seconds per epoch", &time_series, 1, 0),
             "ex_plot_lines");
    ex_figure(&rep, "stacked_time.png", "Training time vs depth");

    ex_section(&rep, "3. A custom Bahdanau attention layer");
    check_custom(&rep, &s, &te, args.seed);
    sn_model_t *att = classifier(K_CUSTOM_ATT, &s, s.maxlen, 0, 0, args.seed);
    all[n++] = train_eval(&rep, att, "BiLSTM + Bahdanau (custom)", &tr, &te,
                          &s);

    ex_section(&rep, "4. MultiHeadAttention classifier");
    sn_model_t *mha = classifier(K_MHA, &s, s.maxlen, 0, 0, args.seed);
    all[n++] = train_eval(&rep, mha, "MHA (2 heads)", &tr, &te, &s);

    attention_maps(&rep, &s, v, &te, att, mha);

    ex_section(&rep, "Summary");
    report_results(&rep, all, n, "summary_accuracy.png",
                   "All models: test accuracy");
    ex_say(&rep, "Total time %.1f s.", ex_now() - t0);
    sn_model_free(att);
    sn_model_free(mha);
    sn_vectorizer_free(v);
    free(tr.ids);
    free(tr.labels);
    free(te.ids);
    free(te.labels);
    ex_report_close(&rep);
    return 0;
}
