/*
 * examples/03_text_classification.c - sentiment of IMDB movie reviews.
 *
 * The course's third example (tutorial: docs/tutorials/03_text_classification.md).
 * It walks the whole road from raw review files to a saved classifier:
 *
 *   1. data       the 25,000 labelled training reviews (the last 10% held
 *                 out for validation, exactly as fit's validation_split
 *                 takes them), all 25,000 test reviews, and the 50,000
 *                 unlabelled ones for word vectors
 *   2. baselines  bags of n-grams (sparse rows, examples/common/
 *                 imdb_bow.c) read by a logistic regression made of
 *                 libseqnet layers: TF-IDF over 1+2-grams (its settings
 *                 tried on the validation rows) and NBSVM (binarised
 *                 1..3-grams scaled by the naive-Bayes log-count ratio),
 *                 the bar every neural model has to clear
 *   3. vectors    GloVe word vectors that libseqnet trains on the
 *                 unlabelled + training reviews (or a real Stanford file,
 *                 --glove FILE), with the vocabulary coverage
 *   4. models     TextVectorization -> Embedding(mask_zero) -> BiGRU ->
 *                 attention + max + mean pooling -> Dropout -> Dense(1,
 *                 sigmoid), with embeddings learned from scratch, GloVe
 *                 frozen or GloVe fine-tuned (--models); Adam with cosine
 *                 decay, early stopping on validation accuracy
 *   5. ensemble   the recurrent model chosen on validation averaged with
 *                 the NBSVM, the weight chosen on validation
 *   6. evaluation accuracy with its 95% confidence interval, precision,
 *                 recall, F1, ROC-AUC, average precision, confusion matrix;
 *                 a threshold chosen on the validation set and applied to
 *                 the test set; ROC and PR curves, training curves
 *   7. errors     the most confident mistakes and the borderline reviews
 *   8. deployment the recurrent model chosen on validation saved with its
 *                 vocabulary, loaded back and asked about a sentence
 *                 (--predict "text")
 *
 * Usage:
 *   03_text_classification [--data DIR] [--out DIR] [--seed N] [--epochs N]
 *                          [--quick] [--glove FILE] [--predict "text"]
 *                          [--model FILE]
 * With --model FILE and --predict, it only loads FILE (a model saved by an
 * earlier run, vocabulary included) and classifies the text.  The options
 * of the ablation table (docs/tutorials/03, section 9) override one
 * setting each: --train-reviews N, --unsup-reviews N, --maxlen N,
 * --keep-end 0|1, --val-by-movie 0|1, --glove-dim N, --gru 0|1, --pool-all 0|1, --cosine 0|1,
 * --lr X,
 * --grid 0|1, --models scratch,frozen,tuned, --subword 0|1|2 (the
 * word-vs-BPE comparison: none, statistics, statistics and a model).
 *
 * Every choice (n-gram settings, epochs, the recurrent model, the
 * ensemble weight, thresholds) is made on the validation rows; the test
 * set only reports.
 *
 * --quick: all 25,000 training reviews but 160 tokens each, two epochs,
 * one recurrent model (GloVe fine-tuned), 1,000 test reviews: every stage
 * and figure (the demo and the CI smoke test; the exit status is 1 if a
 * number is not sane).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "common/distributed.h"
#include "common/example.h"
#include "common/imdb_bow.h"
#include "common/imdb_movies.h"
#include "common/text_extras.h"

/* ------------------------------------------------------------ settings */

/* Every size the example uses, in one place, so the report can state them
 * and --quick can shrink them. */
typedef struct config {
    int n_train, n_test, n_unsup;  /* reviews used; 0 = all of the split */
    float val_split;               /* fit's validation_split             */
    int val_by_movie;              /* 1: the validation rows are whole
                                    * movies the fit rows never see     */
    int vocab;                     /* max_tokens of the vectorizer       */
    int maxlen;                    /* tokens kept per review             */
    int keep_end;                  /* 1: a long review keeps its last
                                    * maxlen tokens (pad_sequences'
                                    * truncating="pre"); 0: its first   */
    int embed_dim;                 /* learned-from-scratch embedding     */
    int rnn_units;                 /* per direction                      */
    int gru;                       /* 1: GRU cells, 0: LSTM cells        */
    int pool_all;                  /* 1: attention + max + mean pooling,
                                    * 0: attention only                 */
    float rnn_dropout, rnn_recurrent_dropout, dense_dropout;
    float learning_rate;           /* Adam, the start of the schedule   */
    int cosine;                    /* 1: cosine decay to 10% over the
                                    * planned epochs; 0: constant rate  */
    int epochs, batch, patience;
    int models;                    /* EX_M_* bits: which recurrent models */
    int glove_dim, glove_epochs;
    /* bag-of-n-grams baselines: vocabulary of 1+2-grams, then a small
     * grid of TF-IDF settings each tried on the validation rows */
    int bow_tokens;                /* TF-IDF's 1+2-grams               */
    int nb_tokens;                 /* NBSVM's 1..3-grams               */
    int bow_epochs, bow_batch;
    float bow_lr, nb_lr;
    int grid;                      /* 1: tune TF-IDF on validation     */
    int subword;                   /* 0: no sub-word comparison; 1: the
                                    * BPE vocabulary's statistics; 2: also
                                    * a BPE model beside the word one    */
    int bpe_vocab;                 /* sub-word vocabulary size          */
} config;

/* The recurrent models, as bits of config.models. */
enum { EX_M_SCRATCH = 1, EX_M_FROZEN = 2, EX_M_TUNED = 4 };

/* "scratch,tuned" -> bits; 0 if a name is unknown. */
static int parse_models(const char *s)
{
    int bits = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "scratch") == 0)
            bits |= EX_M_SCRATCH;
        else if (strcmp(t, "frozen") == 0)
            bits |= EX_M_FROZEN;
        else if (strcmp(t, "tuned") == 0)
            bits |= EX_M_TUNED;
        else
            return 0;
    }
    return bits;
}

/* An integer option, or def when it is absent. */
static int int_arg(const ex_args *a, const char *name, int def)
{
    const char *v = ex_arg_value(a, name);
    return v != NULL ? atoi(v) : def;
}

static config make_config(const ex_args *a)
{
    config c;
    c.n_train = 0;              /* all 25,000 */
    c.n_test = 0;               /* all 25,000 */
    c.n_unsup = 0;              /* all 50,000 */
    c.val_split = 0.1f;
    c.val_by_movie = 1;
    c.vocab = 20000;
    /* 87% of the reviews fit in 400 tokens; the mask makes the padding of
     * the shorter ones cost nothing in accuracy (docs ACCURACY anchors). */
    c.maxlen = 400;
    c.keep_end = 1;
    c.embed_dim = 128;
    c.rnn_units = 64;
    c.gru = 1;
    c.pool_all = 1;
    /* Dropout on the recurrent layer's inputs (the embeddings): the
     * regularisation that lets the model improve past its second epoch.
     * No recurrent dropout: it costs time and measured no better. */
    c.rnn_dropout = 0.25f;
    c.rnn_recurrent_dropout = 0.0f;
    c.dense_dropout = 0.4f;
    c.learning_rate = 2e-3f;
    c.cosine = 1;
    /* Every model peaked at epoch 2 of 4 and overfitted after it
     * (measured); 3 leaves early stopping one epoch to see the turn. */
    c.epochs = 3;
    c.batch = 64;
    c.patience = 2;
    /* Three different models, so that their average (one model of its
     * own, a candidate beside them) cancels part of each one's errors. */
    c.models = EX_M_SCRATCH | EX_M_FROZEN | EX_M_TUNED;
    c.glove_dim = 100;
    c.glove_epochs = 10;
    c.bow_tokens = 400000;
    c.nb_tokens = 1000000;
    c.bow_epochs = 4;
    c.bow_batch = 64;
    c.bow_lr = 0.01f;
    c.nb_lr = 0.003f;
    c.grid = 1;
    /* the BPE statistics; --subword 2 also trains a model on sub-words
     * (4 more minutes) */
    c.subword = 1;
    c.bpe_vocab = 8000;
    if (a->quick) {
        /* What a first run needs: enough reviews for the model to learn
         * what words mean (fewer epochs, more data), and the one recurrent
         * model that wins on validation in the full run. */
        c.n_train = 0;
        c.n_test = 1000;
        c.n_unsup = 10000;
        c.maxlen = 160;
        c.epochs = 2;
        c.glove_dim = 50;
        c.glove_epochs = 8;
        c.models = EX_M_TUNED;
        c.bow_tokens = 100000;
        c.nb_tokens = 200000;
        c.grid = 0;
        /* the BPE statistics cost seconds; a second model would double
         * the recurrent training of the first run */
        c.subword = 1;
        c.bpe_vocab = 4000;
    }
    if (a->epochs > 0)
        c.epochs = a->epochs;
    /* Overrides for the ablation rows (docs/tutorials/03, section 9). */
    c.n_train = int_arg(a, "--train-reviews", c.n_train);
    c.n_unsup = int_arg(a, "--unsup-reviews", c.n_unsup);
    c.maxlen = int_arg(a, "--maxlen", c.maxlen);
    c.keep_end = int_arg(a, "--keep-end", c.keep_end);
    c.val_by_movie = int_arg(a, "--val-by-movie", c.val_by_movie);
    c.glove_dim = int_arg(a, "--glove-dim", c.glove_dim);
    c.gru = int_arg(a, "--gru", c.gru);
    c.pool_all = int_arg(a, "--pool-all", c.pool_all);
    c.cosine = int_arg(a, "--cosine", c.cosine);
    c.grid = int_arg(a, "--grid", c.grid);
    c.subword = int_arg(a, "--subword", c.subword);
    const char *lr = ex_arg_value(a, "--lr");
    if (lr != NULL)
        c.learning_rate = (float)atof(lr);
    const char *m = ex_arg_value(a, "--models");
    if (m != NULL && parse_models(m) != 0)
        c.models = parse_models(m);
    return c;
}

/* ------------------------------------------------------------ small helpers */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "03_text_classification: out of memory\n");
        exit(1);
    }
    return p;
}

/* A pointer that is NULL means failure: turn it into ex_check's message. */
static void check_ptr(const void *p, const char *what)
{
    ex_check(p == NULL ? SN_ERR_NOMEM : SN_OK, what);
}

static char *fmt(const char *f, double v)
{
    char *s = xcalloc(32, 1);
    snprintf(s, 32, f, v);
    return s;
}

static void free_cells(char **cells, int n)
{
    for (int i = 0; i < n; i++)
        free(cells[i]);
}

/* ------------------------------------------------------------ data */

/* One labelled split, kept in the reviews' (shuffled) order. */
typedef struct split {
    sn_imdb_t *imdb;
    const char *const *texts;
    float *labels;     /* 0 / 1, as float targets for the loss */
    int n;
    const char **reordered;  /* texts when reordered by movie, else NULL */
    int val_movies;          /* movies of the validation rows; 0: random */
} split;

static void load_split(const char *dir, const char *name, int limit,
                       uint64_t seed, split *s)
{
    double t0 = ex_now();
    memset(s, 0, sizeof *s);
    ex_check(sn_imdb_load(dir, name, &s->imdb), name);
    /* The files come sorted by (label, id): all negatives first.  Shuffling
     * with a seed mixes them, and makes the validation part (the last 10%)
     * and the --quick subsets a fair sample. */
    ex_check(sn_imdb_shuffle(s->imdb, seed), "shuffling the reviews");
    s->n = sn_imdb_count(s->imdb);
    if (limit > 0 && limit < s->n)
        s->n = limit;
    s->texts = sn_imdb_texts(s->imdb);
    s->labels = xcalloc((size_t)s->n, sizeof *s->labels);
    for (int i = 0; i < s->n; i++)
        s->labels[i] = (float)sn_imdb_label(s->imdb, i);
    printf("  %-6s %6d reviews (%.1f s)\n", name, s->n, ex_now() - t0);
}

/* Rows fit trains on: fit's own arithmetic for validation_split, so that
 * our validation rows are exactly the ones fit held out. */
static int train_rows(int n, float split_fraction)
{
    return (int)((double)n * (1.0 - (double)split_fraction));
}

/* Reorders the training reviews so that the validation rows (the last
 * ones, as fit's validation_split takes them) are whole movies that no fit
 * row is about, as the test reviews are (examples/common/imdb_movies.h).
 * Leaves the random order when the urls files are missing. */
static void validate_on_unseen_movies(const char *dir, float val_split,
                                      split *s)
{
    int *movie = ex_imdb_movies(dir, "train", s->imdb);
    if (movie == NULL)
        return;
    int n_val = s->n - train_rows(s->n, val_split);
    int *order = xcalloc((size_t)s->n, sizeof *order);
    int got = ex_split_by_movie(movie, s->n, n_val, order, &s->val_movies);
    ex_check(got < 0 ? SN_ERR_NOMEM : got == n_val ? SN_OK : SN_ERR_STATE,
             "splitting the validation rows by movie");
    s->reordered = xcalloc((size_t)s->n, sizeof *s->reordered);
    float *labels = xcalloc((size_t)s->n, sizeof *labels);
    for (int i = 0; i < s->n; i++) {
        s->reordered[i] = s->texts[order[i]];
        labels[i] = s->labels[order[i]];
    }
    free(s->labels);
    s->labels = labels;
    s->texts = s->reordered;
    free(order);
    free(movie);
}

/* ------------------------------------------------------------ results */

enum { MAX_MODELS = 7 };   /* 2 baselines, 3 recurrent, their average,
                            * the ensemble */

/* What each model leaves behind for the comparison. */
typedef struct result {
    const char *name, *short_name;
    float *p_val, *p_test;       /* predicted probabilities               */
    double train_s, test_s;      /* wall times of training / test predict */
    int epochs_run, best_epoch;  /* best_epoch 1-based                    */
    double val_acc;              /* at 0.5, validation rows               */
    sn_history_t *history;       /* NULL for the baseline                 */
    double *step_x, *step_loss;  /* running training loss per batch       */
    int n_steps, steps_per_epoch;
    sn_model_t *model;           /* NULL for the baseline                 */
    int dim;                     /* recurrent: its embedding size         */
    /* test metrics */
    sn_binary_report at_half, at_tuned;
    float threshold;             /* F1-optimal on validation              */
    float weight;                /* ensemble: weight of the recurrent one */
    double val_f1, auc, ap;
} result;

/* Accuracy of probabilities against labels at 0.5 (score >= 0.5). */
static double accuracy(const float *p, const float *y, int n)
{
    sn_binary_report r = SN_BINARY_REPORT_INIT;
    ex_check(sn_eval_binary(p, y, (size_t)n, 0.5f, &r), "accuracy");
    return r.accuracy;
}

/* ------------------------------------------------------------ baselines */

/* The bag-of-n-grams features of the fit, validation and test rows. */
typedef struct bags {
    ex_bow fit, val, test;
    int n_fit, n_val;
} bags;

/* One TF-IDF setting of the validation grid. */
typedef struct tfidf_setting {
    int max_id;      /* the most frequent max_id - 2 n-grams       */
    ex_tf tf;        /* raw or sublinear term frequency            */
    float decay;     /* AdamW weight decay (L2-like); 0 = Adam     */
} tfidf_setting;

/* Bags of 1..ngrams-grams, the max_tokens most frequent in the fit rows. */
static void make_bags(const config *c, const split *tr, const split *te,
                      int ngrams, int max_tokens, bags *b)
{
    b->n_fit = train_rows(tr->n, c->val_split);
    b->n_val = tr->n - b->n_fit;
    sn_vectorizer_opts vo = SN_VECTORIZER_OPTS_INIT;
    vo.max_tokens = max_tokens;
    vo.ngrams = ngrams;   /* ids of every unigram, bigram, ... */
    sn_vectorizer_t *v = sn_vectorizer_new(&vo);
    check_ptr(v, "n-gram vectorizer");
    /* Vocabulary from the fit rows only: nothing of the validation or
     * test reviews leaks into the features. */
    ex_check(sn_vectorizer_adapt(v, tr->texts, (size_t)b->n_fit),
             "n-gram adapt");
    ex_bow_build(v, tr->texts, b->n_fit, &b->fit);
    ex_bow_build(v, tr->texts + b->n_fit, b->n_val, &b->val);
    ex_bow_build(v, te->texts, te->n, &b->test);
    sn_vectorizer_free(v);
}

static void free_bags(bags *b)
{
    ex_bow_free(&b->fit);
    ex_bow_free(&b->val);
    ex_bow_free(&b->test);
}

/* Trains one logistic regression on the given feature values of the three
 * splits; fills res's probabilities and validation accuracy. */
static void fit_linear(const config *c, const bags *b, const split *tr,
                       const ex_bow_features *f, float lr, float decay,
                       uint64_t seed, result *res)
{
    float *vf = ex_bow_values(&b->fit, f), *vv = ex_bow_values(&b->val, f);
    float *vt = ex_bow_values(&b->test, f);
    ex_bow_split fit = { &b->fit, vf, tr->labels };
    ex_bow_split val = { &b->val, vv, tr->labels + b->n_fit };
    ex_bow_split test = { &b->test, vt, NULL };
    ex_logreg_opts o = { f->max_id > 0 ? f->max_id : b->fit.width, lr, decay,
                         c->bow_epochs, c->bow_batch, seed, 0 };
    double t0 = ex_now();
    res->val_acc = ex_bow_logreg(&fit, &val, &test, &o, res->p_val,
                                 res->p_test, &res->best_epoch);
    res->train_s = ex_now() - t0;
    res->epochs_run = c->bow_epochs;
    free(vf);
    free(vv);
    free(vt);
}

static const char *tf_name(ex_tf tf)
{
    return tf == EX_TF_SUBLINEAR ? "1 + log(tf)" : tf == EX_TF_RAW ? "tf"
                                                                   : "binary";
}

/* TF-IDF (1+2-grams, rows L2-normalised) + logistic regression; with
 * c->grid, the vocabulary size, sublinear tf and weight decay are chosen
 * on the validation rows (each row of the grid trained and measured). */
static void run_tfidf(ex_report *r, const config *c, const bags *b,
                      const split *tr, int n_test, uint64_t seed,
                      result *res)
{
    float *idf = xcalloc((size_t)b->fit.width, sizeof *idf);
    ex_bow_idf(&b->fit, idf);
    int full = b->fit.width;
    /* vocabulary size x term frequency x L2 strength (AdamW's decoupled
     * decay: each step shrinks the weights by lr x decay) */
    enum { N_SIZES = 2, N_TF = 2, N_DECAY = 3, MAX_GRID = 12 };
    const int sizes[N_SIZES] = { full, full / 4 };
    const ex_tf tfs[N_TF] = { EX_TF_SUBLINEAR, EX_TF_RAW };
    const float decays[N_DECAY] = { 0.0f, 0.01f, 0.05f };
    tfidf_setting grid[MAX_GRID];
    int n_grid = 0;
    for (int i = 0; i < N_SIZES; i++)
        for (int j = 0; j < N_TF; j++)
            for (int k = 0; k < N_DECAY; k++)
                grid[n_grid++] = (tfidf_setting){ sizes[i], tfs[j],
                                                  decays[k] };
    if (!c->grid)
        n_grid = 1;
    static const char *head[] = { "n-grams kept", "tf", "weight decay",
                                  "best epoch", "val acc", "train s" };
    char *cells[MAX_GRID * 6];
    result cand = { 0 };
    cand.p_val = xcalloc((size_t)b->n_val, sizeof *cand.p_val);
    cand.p_test = xcalloc((size_t)n_test, sizeof *cand.p_test);
    double t0 = ex_now();
    res->val_acc = -1.0;
    int chosen = 0;
    for (int g = 0; g < n_grid; g++) {
        ex_bow_features f = { grid[g].tf, idf, grid[g].max_id, 1 };
        fit_linear(c, b, tr, &f, c->bow_lr, grid[g].decay, seed, &cand);
        printf("  TF-IDF %d n-grams, %s, decay %g: val accuracy %.4f "
               "(epoch %d, %.1f s)\n", grid[g].max_id - 2,
               tf_name(grid[g].tf), (double)grid[g].decay, cand.val_acc,
               cand.best_epoch, cand.train_s);
        char **row = cells + g * 6;
        row[0] = fmt("%.0f", grid[g].max_id - 2);
        row[1] = xcalloc(16, 1);
        snprintf(row[1], 16, "%s", tf_name(grid[g].tf));
        row[2] = fmt("%g", (double)grid[g].decay);
        row[3] = fmt("%.0f", cand.best_epoch);
        row[4] = fmt("%.4f", cand.val_acc);
        row[5] = fmt("%.1f", cand.train_s);
        if (cand.val_acc > res->val_acc) {   /* chosen on validation */
            chosen = g;
            float *pv = res->p_val, *pt = res->p_test;
            *res = cand;
            res->p_val = pv;
            res->p_test = pt;
            memcpy(pv, cand.p_val, (size_t)b->n_val * sizeof *pv);
            memcpy(pt, cand.p_test, (size_t)n_test * sizeof *pt);
        }
    }
    if (n_grid > 1) {
        ex_say(r, "TF-IDF settings tried, each judged on the %d validation "
               "rows only:", b->n_val);
        ex_table(r, 6, head, n_grid, (const char *const *)cells);
    }
    free_cells(cells, n_grid * 6);
    res->name = "TF-IDF 1+2-grams + logistic regression";
    res->short_name = "TF-IDF logreg";
    ex_say(r, "*%s*, the setting chosen on validation: %d n-gram features "
           "(TF-IDF with %s, rows L2-normalised, weight decay %g) -> "
           "logistic regression, Adam %g, batch %d, best of %d epochs on "
           "validation (%d): val accuracy %.4f; training %.1f s (the whole "
           "grid %.1f s).", res->name, grid[chosen].max_id - 2,
           tf_name(grid[chosen].tf), (double)grid[chosen].decay,
           (double)c->bow_lr, c->bow_batch, c->bow_epochs, res->best_epoch,
           res->val_acc, res->train_s, ex_now() - t0);
    free(cand.p_val);
    free(cand.p_test);
    free(idf);
}

/* NBSVM (Wang and Manning 2012) in its logistic form: binarised 1..3-gram
 * features scaled by the naive-Bayes log-count ratio r, then logistic
 * regression.  r tells the linear model, before it has seen a gradient,
 * which n-grams lean positive or negative and how strongly. */
static void run_nbsvm(ex_report *r, const config *c, const bags *b,
                      const split *tr, uint64_t seed, result *res)
{
    double t0 = ex_now();
    float *ratio = xcalloc((size_t)b->fit.width, sizeof *ratio);
    ex_bow_nb_ratio(&b->fit, tr->labels, 1.0f, ratio);
    ex_bow_features f = { EX_TF_BINARY, ratio, 0, 0 };
    fit_linear(c, b, tr, &f, c->nb_lr, 0.0f, seed, res);
    res->train_s = ex_now() - t0;   /* r included */
    res->name = "NBSVM 1..3-grams (log-count ratio + logistic regression)";
    res->short_name = "NBSVM";
    ex_say(r, "*%s*: %d binarised n-gram features scaled by the log-count "
           "ratio of the fit rows (alpha 1) -> logistic regression, Adam %g, "
           "batch %d, best of %d epochs on validation (%d): val accuracy "
           "%.4f; %.1f s including the ratios.", res->name,
           b->fit.width - 2, (double)c->nb_lr, c->bow_batch, c->bow_epochs,
           res->best_epoch, res->val_acc, res->train_s);
    free(ratio);
}

/* TF-IDF over 1+2-grams (as the literature's 90.6% reference), NBSVM over
 * 1..3-grams (as Wang and Manning's best IMDB row). */
static void run_baselines(ex_report *r, const config *c, const split *tr,
                          const split *te, uint64_t seed, result *res)
{
    for (int k = 0; k < 2; k++) {
        int n_val = tr->n - train_rows(tr->n, c->val_split);
        res[k].p_val = xcalloc((size_t)n_val, sizeof *res[k].p_val);
        res[k].p_test = xcalloc((size_t)te->n, sizeof *res[k].p_test);
    }
    static const char *order[] = { "", "", "unigrams and bigrams",
                                   "unigrams, bigrams and trigrams" };
    for (int k = 0; k < 2; k++) {
        int ngrams = k == 0 ? 2 : 3;
        int tokens = k == 0 ? c->bow_tokens : c->nb_tokens;
        double t0 = ex_now();
        bags b;
        make_bags(c, tr, te, ngrams, tokens, &b);
        ex_say(r, "Bags of %s: %d kept (the most frequent in the fit rows), "
               "%zu non-zero entries in the fit rows; built in %.1f s.",
               order[ngrams], b.fit.width - 2, b.fit.start[b.fit.rows],
               ex_now() - t0);
        if (k == 0)
            run_tfidf(r, c, &b, tr, te->n, seed, &res[0]);
        else
            run_nbsvm(r, c, &b, tr, seed, &res[1]);
        free_bags(&b);
    }
}

/* ------------------------------------------------------------ GloVe */

/* The vectorizer's vocabulary as a token list: id -> token. */
static const char **vocab_list(const sn_vectorizer_t *v, int *size)
{
    int n = sn_vectorizer_vocab_size(v);
    ex_check(n, "vocabulary size");
    const char **t = xcalloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++)
        t[i] = sn_vectorizer_token(v, i);
    *size = n;
    return t;
}

/* Tokenises one corpus into id sequences of their full length (no padding,
 * no cut): GloVe counts co-occurrences over whole reviews. */
static int tokenise(const sn_vectorizer_t *v, const char *const *texts,
                    int n, int32_t **docs, int *lens)
{
    int kept = 0;
    for (int i = 0; i < n; i++) {
        int w = sn_vectorizer_output_width(v, texts + i, 1);
        ex_check(w, "output width");
        if (w == 0)
            continue;
        docs[kept] = xcalloc((size_t)w, sizeof **docs);
        ex_check(sn_vectorizer_transform(v, texts + i, 1, docs[kept]),
                 "tokenising for GloVe");
        lens[kept++] = w;
    }
    return kept;
}

/* Subtracts the mean vector from every word that has one.  Early in
 * training (and on a small corpus) GloVe vectors share one large common
 * component (it tracks word frequency), which makes every cosine near 1;
 * removing it ("all-but-the-top", Mu and Viswanath 2018) leaves the part
 * that tells words apart. */
static void center_vectors(float *vec, int n, int dim)
{
    double *mean = xcalloc((size_t)dim, sizeof *mean);
    int rows = 0;
    for (int i = 0; i < n; i++) {
        const float *v = vec + (size_t)i * dim;
        int nz = 0;
        for (int k = 0; k < dim && !nz; k++)
            nz = v[k] != 0.0f;
        if (!nz)
            continue;   /* no vector: stays all zero, and is not saved */
        for (int k = 0; k < dim; k++)
            mean[k] += v[k];
        rows++;
    }
    for (int i = 0; i < n && rows > 0; i++) {
        float *v = vec + (size_t)i * dim;
        int nz = 0;
        for (int k = 0; k < dim && !nz; k++)
            nz = v[k] != 0.0f;
        for (int k = 0; k < dim && nz; k++)
            v[k] -= (float)(mean[k] / rows);
    }
    free(mean);
}

/* Trains GloVe vectors for the classifier's own vocabulary on the
 * unlabelled + training reviews and saves them in GloVe's text format, so
 * that the Embedding loads them exactly as it would load Stanford's file.
 * Returns the dimension. */
static int train_glove(ex_report *r, const config *c, const sn_vectorizer_t *v,
                       const split *tr, const split *unsup, uint64_t seed,
                       const char *path)
{
    double t0 = ex_now();
    int n_vocab;
    const char **vocab = vocab_list(v, &n_vocab);
    /* Same vocabulary, but no fixed length: the whole review. */
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.max_tokens = c->vocab;
    sn_vectorizer_t *full = sn_vectorizer_new(&o);
    check_ptr(full, "vectorizer");
    ex_check(sn_vectorizer_set_vocabulary(full, vocab, (size_t)n_vocab, NULL),
             "set_vocabulary");
    int n = tr->n + unsup->n;
    int32_t **docs = xcalloc((size_t)n, sizeof *docs);
    int *lens = xcalloc((size_t)n, sizeof *lens);
    int k = tokenise(full, unsup->texts, unsup->n, docs, lens);
    k += tokenise(full, tr->texts, tr->n, docs + k, lens + k);
    long tokens = 0;
    for (int i = 0; i < k; i++)
        tokens += lens[i];

    sn_glove_train_opts go = SN_GLOVE_TRAIN_OPTS_INIT;
    go.dim = c->glove_dim;
    go.epochs = c->glove_epochs;
    go.seed = seed;
    float *vec = xcalloc((size_t)n_vocab * go.dim, sizeof *vec);
    double cost;
    printf("  training GloVe (%d epochs) on %d reviews, %ld tokens...\n",
           go.epochs, k, tokens);
    ex_check(sn_glove_train((const int32_t *const *)docs, lens, k, n_vocab,
                            &go, vec, &cost), "sn_glove_train");
    center_vectors(vec, n_vocab, go.dim);
    ex_check(sn_glove_save_text(path, vocab, n_vocab, vec, go.dim),
             "sn_glove_save_text");
    ex_say(r, "GloVe %d-d vectors trained by libseqnet on %d unlabelled + "
           "training reviews (%ld tokens, vocabulary of the classifier, "
           "window %d, %d epochs, final cost %.4f, mean vector removed) in "
           "%.1f s.", go.dim, k,
           tokens, go.window, go.epochs, cost, ex_now() - t0);
    /* A sanity check that the vectors mean something before a classifier
     * is built on them: neighbours and analogies (sn_wordvec_*). */
    ex_vector_queries(r, vec, n_vocab, go.dim, vocab);
    for (int i = 0; i < k; i++)
        free(docs[i]);
    free(docs);
    free(lens);
    free(vec);
    free(vocab);
    sn_vectorizer_free(full);
    return go.dim;
}

/* The dimension of a GloVe / word2vec text file (plain or gzip): values on
 * its first line, or the second number of a word2vec header. */
static int vector_file_dim(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (f == NULL)
        return -1;
    static char line[1 << 16];
    int dim = -1;
    if (gzgets(f, line, sizeof line) != NULL) {
        int fields = 0;
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        char *second = NULL;
        for (; tok; tok = strtok_r(NULL, " \t\r\n", &save))
            if (++fields == 2)
                second = tok;
        dim = fields == 2 ? atoi(second) : fields - 1;
    }
    gzclose(f);
    return dim;
}

/* ------------------------------------------------------------ neural models */

/* One classifier on token ids x: Embedding(mask_zero) -> BiGRU (or
 * BiLSTM) -> attention + max + mean pooling -> Dropout -> Dense(1,
 * sigmoid).  Returns the probability's tensor id; *embedding receives the
 * Embedding layer (owned by the model) for loading word vectors into it. */
static int add_classifier(sn_model_t *m, const config *c, int vocab, int dim,
                          int x, sn_layer_t **embedding)
{
    /* mask_zero: id 0 is padding.  Every later layer honours the mask, so
     * the LSTMs carry their state over the padding and attention gives it
     * weight 0: a short review reads as if it had no padding at all. */
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    *embedding = sn_embedding(vocab, dim, &eo);
    x = sn_apply(m, *embedding, x);
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = 1;     /* one state per token, for pooling */
    ro.dropout = c->rnn_dropout;
    ro.recurrent_dropout = c->rnn_recurrent_dropout;
    sn_layer_t *cell = c->gru ? sn_gru(c->rnn_units, &ro)
                              : sn_lstm(c->rnn_units, &ro);
    int seq = sn_apply(m, sn_bidirectional(cell, SN_MERGE_CONCAT), x);
    /* Additive attention pooling: a learned query scores every token's
     * state; the weighted mean replaces "the last state", so a verdict in
     * the middle of a long review is not forgotten by the end. */
    sn_attention_opts ao = SN_ATTENTION_OPTS_INIT;
    x = sn_apply(m, sn_attention(SN_SCORE_ADDITIVE, &ao), seq);
    if (c->pool_all) {
        /* Beside it the maximum over time of each feature (the strongest
         * cue anywhere: "waste of") and the mean (the overall tone); all
         * three honour the mask. */
        int pooled[3] = { x, sn_apply(m, sn_global_max_pooling1d(), seq),
                          sn_apply(m, sn_global_average_pooling1d(), seq) };
        int out;
        ex_check(sn_apply_n(m, sn_concatenate(-1), pooled, 3, &out, 1),
                 "concatenate");
        x = out;
    }
    x = sn_apply(m, sn_dropout(c->dense_dropout), x);
    x = sn_apply(m, sn_dense(1, SN_SIGMOID, NULL), x);
    ex_check(x, "building the classifier");
    return x;
}

static sn_model_t *build_classifier(const config *c, int vocab, int dim,
                                    int steps_per_epoch, uint64_t seed,
                                    const char *name, sn_layer_t **embedding)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    mo.name = name;
    sn_model_t *m = sn_model_new(&mo);
    check_ptr(m, "sn_model_new");
    add_classifier(m, c, vocab, dim, sn_input_tokens(m, c->maxlen),
                   embedding);
    ex_check(sn_model_build(m), "sn_model_build");

    sn_optimizer_opts oo;
    ex_check(sn_optimizer_defaults(SN_ADAM, &oo), "optimizer defaults");
    oo.learning_rate = c->learning_rate;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_metric_kind metrics[1] = { SN_METRIC_ACCURACY };
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    check_ptr(co.optimizer, "sn_optimizer_new");
    if (c->cosine) {
        /* Cosine decay over the planned epochs, down to 10% of the start:
         * large steps while the model is far off, small ones for the
         * epoch that early stopping will most likely keep. */
        sn_lr_schedule ls = SN_LR_SCHEDULE_INIT;
        ls.kind = SN_LR_COSINE;
        ls.initial_learning_rate = c->learning_rate;
        ls.decay_steps = c->epochs * steps_per_epoch;
        ls.alpha = 0.1f;
        ex_check(sn_optimizer_set_schedule(co.optimizer, &ls),
                 "learning-rate schedule");
    }
    co.loss = &lo;
    co.metrics = metrics;
    co.n_metrics = 1;
    ex_check(sn_model_compile(m, &co), "sn_model_compile");
    return m;
}

/* fit's per-batch callback: records the running training loss, for the
 * training-curve figure (it has points even in a one-epoch --quick run). */
static int on_batch(void *user, int epoch, int batch, const double *logs,
                    int n_logs)
{
    result *res = user;
    if (n_logs > 0 && res->n_steps < res->steps_per_epoch * 64) {
        res->step_x[res->n_steps] =
            epoch + (double)(batch + 1) / res->steps_per_epoch;
        res->step_loss[res->n_steps++] = logs[0];
    }
    return 0;
}

static void train_classifier(const config *c, const split *tr,
                             const split *te, const int32_t *ids_tr,
                             const int32_t *ids_te, result *res)
{
    int n_fit = train_rows(tr->n, c->val_split), n_val = tr->n - n_fit;
    res->steps_per_epoch = (n_fit + c->batch - 1) / c->batch;
    size_t cap = (size_t)res->steps_per_epoch * 64;
    res->step_x = xcalloc(cap, sizeof *res->step_x);
    res->step_loss = xcalloc(cap, sizeof *res->step_loss);

    const void *inputs[1] = { ids_tr };
    const float *targets[1] = { tr->labels };
    sn_dataset ds = SN_DATASET_INIT;
    ds.n_samples = tr->n;
    ds.inputs = inputs;
    ds.targets = targets;
    /* Early stopping on validation accuracy, restoring the best epoch's
     * weights: the test set is never looked at to choose anything. */
    sn_early_stopping_opts es = SN_EARLY_STOPPING_OPTS_INIT;
    es.monitor = "val_accuracy";
    es.patience = c->patience;
    es.restore_best_weights = 1;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = c->epochs;
    fo.batch_size = c->batch;
    fo.validation_split = c->val_split;
    fo.progress = stdout;
    fo.early_stopping = &es;
    fo.on_batch_end = on_batch;
    fo.user = res;
    double t0 = ex_now();
    ex_distributed_attach(res->model);
    ex_check(sn_model_fit(res->model, &ds, &fo, &res->history), "sn_model_fit");
    res->train_s = ex_now() - t0;

    res->epochs_run = sn_history_epochs(res->history);
    const double *va = sn_history_values(res->history, "val_accuracy");
    check_ptr(va, "val_accuracy history");
    res->best_epoch = 1;
    for (int e = 1; e < res->epochs_run; e++)
        if (va[e] > va[res->best_epoch - 1])
            res->best_epoch = e + 1;

    res->p_val = xcalloc((size_t)n_val, sizeof *res->p_val);
    res->p_test = xcalloc((size_t)te->n, sizeof *res->p_test);
    const void *in_val[1] = { ids_tr + (size_t)n_fit * c->maxlen };
    float *out_val[1] = { res->p_val };
    ex_check(sn_model_predict_batches(res->model, n_val, in_val, NULL,
                                      out_val, 256), "predict validation");
    res->val_acc = accuracy(res->p_val, tr->labels + n_fit, n_val);
    t0 = ex_now();
    const void *in_te[1] = { ids_te };
    float *out_te[1] = { res->p_test };
    ex_check(sn_model_predict_batches(res->model, te->n, in_te, NULL, out_te,
                                      256), "predict test");
    res->test_s = ex_now() - t0;
    printf("  best epoch %d, val accuracy %.4f, test accuracy %.4f "
           "(train %.0f s, test predict %.0f s)\n", res->best_epoch,
           res->val_acc, accuracy(res->p_test, te->labels, te->n),
           res->train_s, res->test_s);
}

/* ------------------------------------------------------------ evaluation */

static void evaluate(const split *tr, const split *te, float val_split,
                     result *res)
{
    int n_fit = train_rows(tr->n, val_split), n_val = tr->n - n_fit;
    const float *yv = tr->labels + n_fit;
    size_t n = (size_t)te->n;
    res->at_half = (sn_binary_report)SN_BINARY_REPORT_INIT;
    res->at_tuned = (sn_binary_report)SN_BINARY_REPORT_INIT;
    ex_check(sn_eval_binary(res->p_test, te->labels, n, 0.5f, &res->at_half),
             "sn_eval_binary");
    ex_check(sn_roc_auc(res->p_test, te->labels, n, &res->auc), "sn_roc_auc");
    ex_check(sn_average_precision(res->p_test, te->labels, n, &res->ap),
             "sn_average_precision");
    /* The threshold is chosen on the validation rows, never on the test
     * set, then applied unchanged to the test set. */
    ex_check(sn_best_threshold(res->p_val, yv, (size_t)n_val, SN_SWEEP_F1,
                               &res->threshold, &res->val_f1),
             "sn_best_threshold");
    ex_check(sn_eval_binary(res->p_test, te->labels, n, res->threshold,
                            &res->at_tuned), "sn_eval_binary");
}

static void results_table(ex_report *r, result *res, int n_models)
{
    static const char *head[] = { "model", "epochs (best)", "train s",
                                  "val acc", "test acc", "precision",
                                  "recall", "F1", "ROC-AUC", "AP" };
    enum { COLS = 10 };
    char *cells[MAX_MODELS * COLS];
    for (int i = 0; i < n_models; i++) {
        char **row = cells + i * COLS;
        const result *x = res + i;
        row[0] = xcalloc(64, 1);
        snprintf(row[0], 64, "%s", x->name);
        row[1] = xcalloc(32, 1);
        if (x->epochs_run > 0)
            snprintf(row[1], 32, "%d (%d)", x->epochs_run, x->best_epoch);
        else   /* an average or the ensemble: trained nothing itself */
            snprintf(row[1], 32, "-");
        row[2] = fmt("%.0f", x->train_s);
        row[3] = fmt("%.4f", x->val_acc);
        row[4] = fmt("%.4f", x->at_half.accuracy);
        row[5] = fmt("%.4f", x->at_half.precision);
        row[6] = fmt("%.4f", x->at_half.recall);
        row[7] = fmt("%.4f", x->at_half.f1);
        row[8] = fmt("%.4f", x->auc);
        row[9] = fmt("%.4f", x->ap);
    }
    ex_table(r, COLS, head, n_models, (const char *const *)cells);
    free_cells(cells, n_models * COLS);
}

static void threshold_table(ex_report *r, result *res, int n_models)
{
    static const char *head[] = { "model", "threshold", "val F1",
                                  "test acc", "precision", "recall", "F1",
                                  "F1 at 0.5" };
    enum { COLS = 8 };
    char *cells[MAX_MODELS * COLS];
    for (int i = 0; i < n_models; i++) {
        char **row = cells + i * COLS;
        const result *x = res + i;
        row[0] = xcalloc(64, 1);
        snprintf(row[0], 64, "%s", x->name);
        row[1] = fmt("%.3f", x->threshold);
        row[2] = fmt("%.4f", x->val_f1);
        row[3] = fmt("%.4f", x->at_tuned.accuracy);
        row[4] = fmt("%.4f", x->at_tuned.precision);
        row[5] = fmt("%.4f", x->at_tuned.recall);
        row[6] = fmt("%.4f", x->at_tuned.f1);
        row[7] = fmt("%.4f", x->at_half.f1);
    }
    ex_table(r, COLS, head, n_models, (const char *const *)cells);
    free_cells(cells, n_models * COLS);
}

/* A high-precision operating point: the lowest validation threshold whose
 * precision reaches target, and what it gives on the test set.  This is
 * the precision-recall trade-off made concrete: "flag a review as positive
 * only when 95% of the flagged ones really are". */
static void precision_point(ex_report *r, const split *tr, const split *te,
                            float val_split, const result *x, double target)
{
    int n_fit = train_rows(tr->n, val_split), n_val = tr->n - n_fit;
    size_t cap = (size_t)n_val + 1;
    float *p = xcalloc(cap, sizeof *p), *rc = xcalloc(cap, sizeof *rc);
    float *th = xcalloc(cap, sizeof *th);
    ex_check(sn_pr_curve(x->p_val, tr->labels + n_fit, (size_t)n_val, p, rc,
                         th, &cap), "sn_pr_curve");
    float t = -1.0f;
    for (size_t k = 0; k + 1 < cap && t < 0.0f; k++)
        if (p[k] >= target)
            t = th[k];
    if (t >= 0.0f) {
        sn_binary_report b = SN_BINARY_REPORT_INIT;
        ex_check(sn_eval_binary(x->p_test, te->labels, (size_t)te->n, t, &b),
                 "sn_eval_binary");
        ex_say(r, "High-precision operating point of *%s*: threshold %.3f "
               "(precision >= %.2f on validation) gives test precision %.4f, "
               "recall %.4f, accuracy %.4f.", x->name, t, target, b.precision,
               b.recall, b.accuracy);
    }
    free(p);
    free(rc);
    free(th);
}

/* ------------------------------------------------------------ figures */

static void plot_curves(ex_report *r, const split *te, result *res, int n_m)
{
    char path[600];
    ex_series s[MAX_MODELS * 2];
    double *buf[MAX_MODELS * 2];
    size_t cap = (size_t)te->n + 1;
    float *a = xcalloc(cap, sizeof *a), *b = xcalloc(cap, sizeof *b);
    float *t = xcalloc(cap, sizeof *t);
    for (int roc = 1; roc >= 0; roc--) {
        for (int i = 0; i < n_m; i++) {
            size_t np = cap;
            if (roc)
                ex_check(sn_roc_curve(res[i].p_test, te->labels,
                                      (size_t)te->n, a, b, t, &np),
                         "sn_roc_curve");
            else
                ex_check(sn_pr_curve(res[i].p_test, te->labels,
                                     (size_t)te->n, b, a, t, &np),
                         "sn_pr_curve");
            buf[2 * i] = xcalloc(np, sizeof(double));
            buf[2 * i + 1] = xcalloc(np, sizeof(double));
            for (size_t k = 0; k < np; k++) {
                buf[2 * i][k] = a[k];      /* fpr, or recall    */
                buf[2 * i + 1][k] = b[k];  /* tpr, or precision */
            }
            s[i] = (ex_series){ res[i].name, buf[2 * i], buf[2 * i + 1],
                                (int)np };
        }
        const char *file = roc ? "roc.png" : "pr.png";
        ex_check(ex_plot_lines(ex_path(r, file, path, sizeof path),
                               roc ? "ROC curves (test set)"
                                   : "Precision-recall curves (test set)",
                               roc ? "false positive rate" : "recall",
                               roc ? "true positive rate" : "precision",
                               s, n_m, 0), file);
        ex_figure(r, file, roc ? "ROC curves on the test set"
                               : "Precision-recall curves on the test set");
        for (int i = 0; i < 2 * n_m; i++)
            free(buf[i]);
    }
    free(a);
    free(b);
    free(t);
}

/* Training curves of the neural models: running loss per batch, and the
 * per-epoch training and validation accuracy. */
static void plot_training(ex_report *r, result *res, int first, int n_m)
{
    char path[600];
    ex_series s[MAX_MODELS * 2];
    char labels[MAX_MODELS * 2][64];
    double *ex[MAX_MODELS];
    int k = 0;
    for (int i = first; i < n_m; i++)
        s[k++] = (ex_series){ res[i].name, res[i].step_x, res[i].step_loss,
                              res[i].n_steps };
    ex_check(ex_plot_lines(ex_path(r, "training_loss.png", path, sizeof path),
                           "Training loss (running mean within each epoch)",
                           "epoch", "binary cross-entropy", s, k, 0),
             "training_loss.png");
    ex_figure(r, "training_loss.png", "Training loss per batch");
    k = 0;
    for (int i = first; i < n_m; i++) {
        int ne = res[i].epochs_run;
        ex[i] = xcalloc((size_t)ne, sizeof(double));
        for (int e = 0; e < ne; e++)
            ex[i][e] = e + 1;
        snprintf(labels[k], 64, "%.40s: train", res[i].name);
        s[k] = (ex_series){ labels[k], ex[i],
                            sn_history_values(res[i].history, "accuracy"),
                            ne };
        k++;
        snprintf(labels[k], 64, "%.40s: validation", res[i].name);
        s[k] = (ex_series){ labels[k], ex[i],
                            sn_history_values(res[i].history, "val_accuracy"),
                            ne };
        k++;
    }
    ex_check(ex_plot_lines(ex_path(r, "training_accuracy.png", path,
                                   sizeof path),
                           "Accuracy per epoch", "epoch", "accuracy", s, k, 0),
             "training_accuracy.png");
    ex_figure(r, "training_accuracy.png", "Training and validation accuracy");
    for (int i = first; i < n_m; i++)
        free(ex[i]);
}

static void plot_confusion(ex_report *r, const split *te, const result *x)
{
    int *yt = xcalloc((size_t)te->n, sizeof *yt);
    int *yp = xcalloc((size_t)te->n, sizeof *yp);
    for (int i = 0; i < te->n; i++) {
        yt[i] = te->labels[i] > 0.5f;
        yp[i] = x->p_test[i] >= x->threshold;
    }
    long cm[4];
    ex_check(sn_confusion_matrix(yt, yp, (size_t)te->n, 2, cm),
             "sn_confusion_matrix");
    static const char *names[] = { "negative", "positive" };
    static const char *head[] = { "true \\ predicted", "negative",
                                  "positive" };
    char *cells[6] = { xcalloc(16, 1), fmt("%.0f", cm[0]), fmt("%.0f", cm[1]),
                       xcalloc(16, 1), fmt("%.0f", cm[2]), fmt("%.0f", cm[3]) };
    strcpy(cells[0], "negative");
    strcpy(cells[3], "positive");
    ex_say(r, "Confusion matrix of *%s* on the test set at threshold %.3f:",
           x->name, x->threshold);
    ex_table(r, 3, head, 2, (const char *const *)cells);
    free_cells(cells, 6);
    double z[4] = { (double)cm[0], (double)cm[1], (double)cm[2],
                    (double)cm[3] };
    char path[600], title[160];
    snprintf(title, sizeof title, "Confusion matrix: %.60s", x->name);
    ex_check(ex_plot_heatmap(ex_path(r, "confusion.png", path, sizeof path),
                             title, "predicted", "true", z, 2, 2, names,
                             names), "confusion.png");
    ex_figure(r, "confusion.png", "Confusion matrix (test set)");
    free(yt);
    free(yp);
}

static void plot_comparison(ex_report *r, const result *res, int n_m)
{
    const char *short_names[MAX_MODELS];
    double acc[MAX_MODELS];
    for (int i = 0; i < n_m; i++) {
        short_names[i] = res[i].short_name;
        acc[i] = res[i].at_half.accuracy;
    }
    char path[600];
    ex_check(ex_plot_bars(ex_path(r, "accuracy.png", path, sizeof path),
                          "Test accuracy (25,000 reviews in the full run)",
                          "accuracy", short_names, acc, n_m), "accuracy.png");
    ex_figure(r, "accuracy.png", "Test accuracy of every model");
}

/* ------------------------------------------------------------ error analysis */

/* A review shortened for printing: <br /> tags become spaces, '|' (a
 * Markdown table separator) becomes '/', cut at max bytes on a UTF-8
 * character boundary. */
static void shorten(const char *text, char *out, size_t max)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 4 < max;) {
        if (strncmp(p, "<br />", 6) == 0) {
            p += 6;
            if (o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
            continue;
        }
        out[o++] = *p == '|' ? '/' : *p;
        p++;
    }
    if (o + 4 >= max) {
        while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
            o--;   /* back to the start of a character */
        while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
            o--;
        if (o > 0 && (unsigned char)out[o - 1] >= 0xC0)
            o--;   /* drop a lead byte whose tail was cut */
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Prints the reviews idx[0..n-1] with probability, label and star rating. */
static void review_table(ex_report *r, const split *te, const float *p,
                         const int *idx, int n)
{
    static const char *head[] = { "p(positive)", "label", "stars", "review" };
    char **cells = xcalloc((size_t)n * 4, sizeof *cells);
    for (int i = 0; i < n; i++) {
        int k = idx[i];
        cells[4 * i] = fmt("%.3f", p[k]);
        cells[4 * i + 1] = xcalloc(16, 1);
        strcpy(cells[4 * i + 1], te->labels[k] > 0.5f ? "pos" : "neg");
        cells[4 * i + 2] = fmt("%.0f", sn_imdb_rating(te->imdb, k));
        cells[4 * i + 3] = xcalloc(240, 1);
        shorten(sn_imdb_text(te->imdb, k), cells[4 * i + 3], 200);
    }
    ex_table(r, 4, head, n, (const char *const *)cells);
    free_cells(cells, n * 4);
    free(cells);
}

/* Sort key for the error analysis: indices by a score, ascending. */
/* A review index with the key it is sorted by (no global for qsort). */
typedef struct keyed {
    float key;
    int idx;
} keyed;

static int by_key(const void *a, const void *b)
{
    float x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
    return (x > y) - (x < y);
}

/* Sorts the reviews by key (ascending) into idx. */
static void sort_by_key(const float *key, int n, int *idx)
{
    keyed *k = xcalloc((size_t)n, sizeof *k);
    for (int i = 0; i < n; i++)
        k[i] = (keyed){ key[i], i };
    qsort(k, (size_t)n, sizeof *k, by_key);
    for (int i = 0; i < n; i++)
        idx[i] = k[i].idx;
    free(k);
}

static void error_analysis(ex_report *r, const split *te, const result *x)
{
    enum { K = 5 };
    int n = te->n;
    float *key = xcalloc((size_t)n, sizeof *key);
    int *idx = xcalloc((size_t)n, sizeof *idx);
    /* Confidence of a wrong answer: how far p lies on the wrong side of
     * the threshold; right answers get key 0 and sort last. */
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        int pred = x->p_test[i] >= x->threshold;
        int truth = te->labels[i] > 0.5f;
        key[i] = pred == truth ? 0.0f : -fabsf(x->p_test[i] - x->threshold);
        wrong += pred != truth;
    }
    sort_by_key(key, n, idx);
    ex_say(r, "*%s* gets %d of %d test reviews wrong at threshold %.3f. The "
           "%d most confident mistakes:", x->name, wrong, n, x->threshold, K);
    review_table(r, te, x->p_test, idx, wrong < K ? wrong : K);
    /* Borderline: the reviews closest to the threshold either way. */
    for (int i = 0; i < n; i++)
        key[i] = fabsf(x->p_test[i] - x->threshold);
    sort_by_key(key, n, idx);
    ex_say(r, "The %d most borderline test reviews (probability nearest the "
           "threshold):", K);
    review_table(r, te, x->p_test, idx, K);
    free(key);
    free(idx);
}

/* ------------------------------------------------------------ deployment */

/* Loads a saved model (its vocabulary travels inside the file) and
 * classifies each sentence: the whole deployment story in one function. */
static void classify(ex_report *r, const char *model_path,
                     const char *const *sentences, int n)
{
    sn_model_t *m;
    ex_check(sn_model_load(model_path, &m), "sn_model_load");
    const sn_vectorizer_t *v = sn_model_vectorizer(m);
    check_ptr(v, "the model's vectorizer");
    int width = sn_vectorizer_output_width(v, sentences, (size_t)n);
    ex_check(width, "output width");
    int32_t *ids = xcalloc((size_t)n * width, sizeof *ids);
    float *p = xcalloc((size_t)n, sizeof *p);
    ex_check(sn_vectorizer_transform(v, sentences, (size_t)n, ids),
             "transform");
    const void *in[1] = { ids };
    float *out[1] = { p };
    ex_check(sn_model_predict_batches(m, n, in, NULL, out, 64), "predict");
    for (int i = 0; i < n; i++)
        ex_say(r, "\"%s\" -> p(positive) = %.3f: **%s**", sentences[i],
               p[i], p[i] >= 0.5f ? "positive" : "negative");
    free(ids);
    free(p);
    sn_model_free(m);
}

static void save_and_reload(ex_report *r, result *best,
                            const sn_vectorizer_t *v, const char *sentence)
{
    char path[600];
    ex_path(r, "model.snm", path, sizeof path);
    /* The vectorizer is stored inside the model file: whoever loads the
     * model gets the exact vocabulary it was trained with. */
    ex_check(sn_model_set_vectorizer(best->model, v), "set_vectorizer");
    ex_check(sn_model_save(best->model, path, 0), "sn_model_save");
    ex_say(r, "Saved *%s* with its vocabulary to `model.snm`; loaded back:",
           best->name);
    const char *defaults[] = {
        "A wonderful film with a moving story and brilliant acting.",
        "Two hours of my life I will never get back. Dull and predictable.",
        "Not bad at all, but the ending was a letdown.",
    };
    const char *sentences[4];
    int n = 0;
    if (sentence != NULL)
        sentences[n++] = sentence;
    for (int i = 0; i < 3; i++)
        sentences[n++] = defaults[i];
    classify(r, path, sentences, n);
}

/* ------------------------------------------------------------ report helpers */

static void write_json(ex_report *r, const result *res, int n_m,
                       double total_s)
{
    char path[600];
    FILE *f = fopen(ex_path(r, "results.json", path, sizeof path), "w");
    if (f == NULL)
        return;
    fprintf(f, "{\n  \"wall_s\": %.1f,\n  \"models\": [\n", total_s);
    for (int i = 0; i < n_m; i++)
        fprintf(f, "    {\"name\": \"%s\", \"val_accuracy\": %.4f, "
                "\"test_accuracy\": %.4f, \"f1\": %.4f, \"roc_auc\": %.4f, "
                "\"average_precision\": %.4f, \"threshold\": %.4f, "
                "\"test_accuracy_tuned\": %.4f, \"train_s\": %.1f}%s\n",
                res[i].name, res[i].val_acc, res[i].at_half.accuracy,
                res[i].at_half.f1, res[i].auc, res[i].ap, res[i].threshold,
                res[i].at_tuned.accuracy, res[i].train_s,
                i + 1 < n_m ? "," : "");
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

/* The smoke test's sanity checks: every metric a finite number in [0, 1]
 * and the models better than a coin. */
static int sane(const result *res, int n_m, int quick)
{
    int ok = 1;
    for (int i = 0; i < n_m; i++) {
        const result *x = res + i;
        double v[6] = { x->val_acc, x->at_half.accuracy, x->at_half.f1,
                        x->auc, x->ap, x->at_tuned.accuracy };
        for (int k = 0; k < 6; k++)
            if (!(v[k] >= 0.0 && v[k] <= 1.0))
                ok = 0;
        /* The baselines are well past 70% even on a few thousand
         * reviews; every recurrent model ranks better than a coin (a
         * --quick one reaches about 85%, but on 1,000 test reviews a
         * bound that tight would be a coin toss of its own). */
        if ((i <= 1 && x->at_half.accuracy < 0.7) || x->auc < 0.6)
            ok = 0;
        if (!quick && x->at_half.accuracy < 0.8)
            ok = 0;
    }
    return ok;
}

static void describe(ex_report *r, const config *c, const split *tr,
                     const split *te, const split *un, uint64_t seed)
{
    int n_fit = train_rows(tr->n, c->val_split);
    char val_rows[160];
    if (tr->val_movies > 0)
        snprintf(val_rows, sizeof val_rows, "all the reviews of %d movies "
                 "that no fit review is about, as no test review is",
                 tr->val_movies);
    else
        snprintf(val_rows, sizeof val_rows, "a random sample");
    ex_say(r, "Data: %d training reviews (%d fit, the last %d for "
           "validation: %s), %d test reviews, %d unlabelled reviews for "
           "word vectors. Seed %llu.", tr->n, n_fit, tr->n - n_fit, val_rows,
           te->n, un->n, (unsigned long long)seed);
    ex_say(r, "Settings: vocabulary %d, %s %d tokens of each review "
           "(post-padded, masked), embeddings %d (GloVe %d), Bi%s(%d) with "
           "input dropout %.2f / recurrent dropout %.2f, %s pooling, "
           "Dropout(%.2f), Dense(1, sigmoid); Adam %g%s, batch %d, at most "
           "%d epochs, early stopping on val_accuracy (patience %d, best "
           "weights restored).", c->vocab, c->keep_end ? "last" : "first",
           c->maxlen, c->embed_dim,
           c->glove_dim, c->gru ? "GRU" : "LSTM", c->rnn_units,
           (double)c->rnn_dropout, (double)c->rnn_recurrent_dropout,
           c->pool_all ? "attention + max + mean" : "attention",
           (double)c->dense_dropout, (double)c->learning_rate,
           c->cosine ? " with cosine decay to 10%" : "", c->batch, c->epochs,
           c->patience);
}

/* ------------------------------------------------------------ stages */

/* The vocabulary of the neural models: adapted on the fit rows only. */
static sn_vectorizer_t *make_vectorizer(const config *c, const split *tr)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.max_tokens = c->vocab;
    o.output_sequence_length = c->maxlen;
    /* POST padding (TextVectorization's default; with masking its side
     * does not matter).  A review longer than maxlen keeps its end
     * (pad_sequences' truncating="pre"), where reviewers sum up: "Overall,
     * a waste of time."  The ablation table measures it. */
    o.truncation = c->keep_end ? SN_SIDE_PRE : SN_SIDE_POST;
    sn_vectorizer_t *v = sn_vectorizer_new(&o);
    check_ptr(v, "sn_vectorizer_new");
    ex_check(sn_vectorizer_adapt(v, tr->texts,
                                 (size_t)train_rows(tr->n, c->val_split)),
             "sn_vectorizer_adapt");
    return v;
}

static int32_t *vectorize(const config *c, const sn_vectorizer_t *v,
                          const split *s)
{
    int32_t *ids = xcalloc((size_t)s->n * c->maxlen, sizeof *ids);
    ex_check(sn_vectorizer_transform(v, s->texts, (size_t)s->n, ids),
             "sn_vectorizer_transform");
    return ids;
}

/* Loads GloVe vectors into a fresh classifier's embedding. */
static void init_from_glove(ex_report *r, result *res, const char *file,
                            const sn_vectorizer_t *v, sn_layer_t *emb,
                            int trainable)
{
    sn_glove_opts go = SN_GLOVE_OPTS_INIT;
    go.trainable = trainable;
    int found;
    ex_check(sn_embedding_load_vectors_for(res->model, emb, file, v, &go,
                                           &found),
             "sn_embedding_load_vectors_for");
    int nv = sn_vectorizer_vocab_size(v) - 2;
    ex_say(r, "*%s*: %d of %d vocabulary words found in the vectors "
           "(coverage %.1f%%); the others keep their random initial rows.",
           res->name, found, nv, 100.0 * found / nv);
}

/* Trains the recurrent models selected in c->models into res[0 ..];
 * returns how many. */
static int run_neural(ex_report *r, const config *c, const split *tr,
                      const split *te, const int32_t *ids_tr,
                      const int32_t *ids_te, const sn_vectorizer_t *v,
                      const char *glove_file, int glove_dim, uint64_t seed,
                      result *res)
{
    static const char *what[] = { "embeddings learned", "GloVe frozen",
                                  "GloVe fine-tuned" };
    static const char *shorts[] = { "scratch", "GloVe frozen",
                                    "GloVe tuned" };
    static const char *ids[] = { "scratch", "glove_frozen", "glove_tuned" };
    static char names[3][96], short_names[3][48];
    int vocab = sn_vectorizer_vocab_size(v), n = 0, summary = 0;
    int n_fit = train_rows(tr->n, c->val_split);
    int steps = (n_fit + c->batch - 1) / c->batch;
    const char *cell = c->gru ? "BiGRU" : "BiLSTM";
    const char *pool = c->pool_all ? "attention+max+mean" : "attention";
    for (int k = 0; k < 3; k++) {
        if (!(c->models & (1 << k)))
            continue;
        result *x = res + n++;
        sn_layer_t *emb;
        snprintf(names[k], sizeof names[k], "%s+%s, %s", cell, pool, what[k]);
        snprintf(short_names[k], sizeof short_names[k], "%s %s", cell,
                 shorts[k]);
        x->name = names[k];
        x->short_name = short_names[k];
        printf("\n-- %s\n", x->name);
        x->dim = k == 0 ? c->embed_dim : glove_dim;
        x->model = build_classifier(c, vocab, x->dim, steps, seed, ids[k],
                                    &emb);
        if (!summary) {
            fprintf(r->md, "```\n");
            ex_check(sn_model_summary(x->model, r->md), "summary");
            fprintf(r->md, "```\n\n");
            ex_check(sn_model_summary(x->model, stdout), "summary");
            summary = 1;
        }
        if (k > 0)
            init_from_glove(r, x, glove_file, v, emb, k == 2);
        train_classifier(c, tr, te, ids_tr, ids_te, x);
        ex_say(r, "*%s*: %d epochs (best %d) in %.0f s, %.0f ms per "
               "training step; validation accuracy %.4f; predicting the %d "
               "test reviews took %.0f s.", x->name, x->epochs_run,
               x->best_epoch, x->train_s,
               1000.0 * x->train_s / (x->epochs_run * x->steps_per_epoch),
               x->val_acc, te->n, x->test_s);
    }
    return n;
}

/* Copies the weights of the models src[0 .. n) into dst, whose weights
 * are theirs one model after the other (the same layers, built in the same
 * order). */
static void copy_member_weights(sn_model_t *dst, const result *src, int n)
{
    int w = 0;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < sn_model_num_weights(src[k].model); i++) {
            size_t n_src, n_dst;
            const float *from = sn_model_weight_data(src[k].model, i, &n_src);
            float *to = sn_model_weight_data(dst, w++, &n_dst);
            check_ptr(from, "member weight");
            check_ptr(to, "averaged model weight");
            ex_check(n_src == n_dst ? SN_OK : SN_ERR_SHAPE,
                     "averaged model: weight sizes differ");
            memcpy(to, from, n_src * sizeof *to);
        }
    ex_check(w == sn_model_num_weights(dst) ? SN_OK : SN_ERR_SHAPE,
             "averaged model: weight counts differ");
}

/* The recurrent models res[0 .. n) as ONE model: their classifiers side by
 * side on one input, their probabilities averaged by an Average layer, so
 * the average can be chosen, saved and loaded like any model.  Averaging
 * models that were trained apart (other embeddings, other initial weights)
 * cancels part of each one's errors.  Its probabilities are the members'
 * mean; the built model is checked to give exactly that on the validation
 * rows. */
static void average_models(ex_report *r, const config *c, const split *tr,
                           const split *te, const int32_t *ids_tr, int vocab,
                           const result *res, int n, result *avg)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.name = "average";
    sn_model_t *m = sn_model_new(&mo);
    check_ptr(m, "sn_model_new");
    int x = sn_input_tokens(m, c->maxlen), probs[3];
    for (int k = 0; k < n; k++) {
        sn_layer_t *emb;
        probs[k] = add_classifier(m, c, vocab, res[k].dim, x, &emb);
    }
    int y;
    ex_check(sn_apply_n(m, sn_average(), probs, n, &y, 1), "Average");
    ex_check(sn_model_build(m), "sn_model_build");
    copy_member_weights(m, res, n);

    int n_fit = train_rows(tr->n, c->val_split), n_val = tr->n - n_fit;
    avg->p_val = xcalloc((size_t)n_val, sizeof *avg->p_val);
    avg->p_test = xcalloc((size_t)te->n, sizeof *avg->p_test);
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < n_val; i++)
            avg->p_val[i] += res[k].p_val[i] / (float)n;
        for (int i = 0; i < te->n; i++)
            avg->p_test[i] += res[k].p_test[i] / (float)n;
        avg->train_s += res[k].train_s;
        avg->test_s += res[k].test_s;
    }
    float *check = xcalloc((size_t)n_val, sizeof *check);
    const void *in[1] = { ids_tr + (size_t)n_fit * c->maxlen };
    float *out[1] = { check };
    ex_check(sn_model_predict_batches(m, n_val, in, NULL, out, 256),
             "predict with the averaged model");
    double worst = 0.0;
    for (int i = 0; i < n_val; i++)
        worst = fmax(worst, fabs((double)check[i] - avg->p_val[i]));
    ex_check(worst < 1e-4 ? SN_OK : SN_ERR_NUMERIC,
             "the averaged model disagrees with its members");
    free(check);
    static char name[96];
    snprintf(name, sizeof name, "Average of the %d %s models above", n,
             c->gru ? "BiGRU" : "BiLSTM");
    avg->name = name;
    avg->short_name = c->gru ? "BiGRU average" : "BiLSTM average";
    avg->model = m;
    avg->val_acc = accuracy(avg->p_val, tr->labels + n_fit, n_val);
    ex_say(r, "*%s*: one model of %zu parameters (the %d classifiers on one "
           "input, an Average layer on their probabilities; on the validation "
           "rows it agrees with the mean of the members' own predictions to "
           "%.1e); validation accuracy %.4f.", avg->name,
           sn_model_count_params(m, NULL), n, worst, avg->val_acc);
}

/* ------------------------------------------------------------ sub-words */

static void free_result(result *x)
{
    free(x->p_val);
    free(x->p_test);
    free(x->step_x);
    free(x->step_loss);
    sn_history_free(x->history);
    sn_model_free(x->model);
}


/* Words or sub-words (docs/TEXT.md): a byte-level BPE vocabulary learned
 * on the training reviews beside the word vocabulary, and with
 * c->subword == 2 the same recurrent model (embeddings learned from
 * scratch) trained on the BPE ids, compared with the word model trained
 * from scratch (word, NULL when that model was not run). */
static void run_subword(ex_report *r, const config *c, const split *tr,
                        const split *te, const sn_vectorizer_t *v,
                        uint64_t seed, const result *word)
{
    ex_imdb_set btr, bte;
    ex_subword_stats ss;
    sn_bpe_t *bpe = ex_subword_datasets(v, tr->texts, tr->labels, tr->n,
                                        te->texts, te->labels, te->n,
                                        c->bpe_vocab, c->maxlen, NULL, &btr,
                                        &bte, &ss);
    double word_acc = -1.0, bpe_acc = -1.0;
    double word_s = word != NULL ? word->train_s : 0.0, bpe_s = 0.0;
    if (word != NULL)
        word_acc = accuracy(word->p_test, te->labels, te->n);
    if (c->subword >= 2) {
        result x;
        memset(&x, 0, sizeof x);
        x.name = "BPE sub-words, embeddings learned";
        printf("\n-- %s\n", x.name);
        int n_fit = train_rows(tr->n, c->val_split);
        int steps = (n_fit + c->batch - 1) / c->batch;
        sn_layer_t *emb;
        x.model = build_classifier(c, sn_bpe_vocab_size(bpe), c->embed_dim,
                                   steps, seed, "subword", &emb);
        train_classifier(c, tr, te, btr.ids, bte.ids, &x);
        bpe_acc = accuracy(x.p_test, te->labels, te->n);
        bpe_s = x.train_s;
        free_result(&x);
    }
    ex_subword_report(r, &ss, word_acc, bpe_acc, word_s, bpe_s);
    sn_bpe_free(bpe);
    free(btr.ids);
    free(btr.labels);
    free(bte.ids);
    free(bte.labels);
}

/* ------------------------------------------------------------ ensemble */

/* Validation log-loss of probabilities p: the tie-breaker between ensemble
 * weights of equal validation accuracy. */
static double log_loss(const float *p, const float *y, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double q = p[i] < 1e-7f ? 1e-7 : p[i] > 1 - 1e-7f ? 1 - 1e-7 : p[i];
        s -= y[i] > 0.5f ? log(q) : log(1.0 - q);
    }
    return s / n;
}

/* w * p_a + (1 - w) * p_b into out. */
static void blend(const float *pa, const float *pb, float w, int n,
                  float *out)
{
    for (int i = 0; i < n; i++)
        out[i] = w * pa[i] + (1.0f - w) * pb[i];
}

/* The average of a recurrent model's and the NBSVM's probabilities, the
 * weight w of the recurrent one chosen on the validation rows (0, 0.05,
 * ..., 1: accuracy first, then log-loss). */
static void run_ensemble(ex_report *r, const split *tr, const split *te,
                         float val_split, const result *rnn,
                         const result *nb, result *ens)
{
    int n_fit = train_rows(tr->n, val_split), n_val = tr->n - n_fit;
    const float *yv = tr->labels + n_fit;
    float *pv = xcalloc((size_t)n_val, sizeof *pv);
    double best_acc = -1.0, best_ll = 0.0;
    float best_w = 0.5f;
    for (int k = 0; k <= 20; k++) {
        float w = 0.05f * (float)k;
        blend(rnn->p_val, nb->p_val, w, n_val, pv);
        double acc = accuracy(pv, yv, n_val), ll = log_loss(pv, yv, n_val);
        if (acc > best_acc || (acc == best_acc && ll < best_ll)) {
            best_acc = acc;
            best_ll = ll;
            best_w = w;
        }
    }
    static char name[160];
    snprintf(name, sizeof name, "Ensemble: %.2f x %s + %.2f x NBSVM",
             (double)best_w, rnn->short_name, 1.0 - best_w);
    ens->name = name;
    ens->short_name = "Ensemble";
    ens->p_val = pv;
    blend(rnn->p_val, nb->p_val, best_w, n_val, pv);
    ens->val_acc = best_acc;
    ens->p_test = xcalloc((size_t)te->n, sizeof *ens->p_test);
    blend(rnn->p_test, nb->p_test, best_w, te->n, ens->p_test);
    ens->train_s = rnn->train_s + nb->train_s;
    ens->weight = best_w;
    ex_say(r, "Ensemble: the weight of *%s* against the NBSVM, chosen on the "
           "%d validation rows (steps of 0.05; accuracy, then log-loss), is "
           "%.2f (validation accuracy %.4f; this validation number is "
           "optimistic, the weight was fitted on it).", rnn->name, n_val,
           (double)best_w, best_acc);
}

/* Half-width of the normal-approximation 95% confidence interval of an
 * accuracy measured on n reviews. */
static double ci95(double acc, int n)
{
    return 1.96 * sqrt(acc * (1.0 - acc) / n);
}

/* ------------------------------------------------------------ main */

typedef struct stage_times {
    double load, baseline, glove, neural, eval, total;
    double cpu;   /* process CPU seconds, all threads */
} stage_times;

/* res: [0] TF-IDF, [1] NBSVM, [2 .. n_m - 1) the recurrent models (and
 * their average), [n_m - 1] the ensemble.  rnn is the recurrent model
 * chosen on validation.  The test numbers are only reported here; nothing
 * is chosen by them. */
static void conclusions(ex_report *r, const result *res, int n_m, int rnn,
                        const stage_times *t, int n_test, int quick)
{
    const result *tf = &res[0], *nb = &res[1], *nn = &res[rnn];
    const result *en = &res[n_m - 1];
    double a_tf = tf->at_half.accuracy, a_nb = nb->at_half.accuracy;
    double a_nn = nn->at_half.accuracy, a_en = en->at_half.accuracy;
    ex_say(r, "Test accuracy on %d reviews, each with its 95%% confidence "
           "interval (normal approximation):", n_test);
    ex_say(r, "- recurrent model chosen on validation, *%s*: %.2f%% +- %.2f",
           nn->name, 100.0 * a_nn, 100.0 * ci95(a_nn, n_test));
    ex_say(r, "- *%s*: %.2f%% +- %.2f", tf->name, 100.0 * a_tf,
           100.0 * ci95(a_tf, n_test));
    ex_say(r, "- *%s*: %.2f%% +- %.2f", nb->name, 100.0 * a_nb,
           100.0 * ci95(a_nb, n_test));
    ex_say(r, "- *%s*: %.2f%% +- %.2f", en->name, 100.0 * a_en,
           100.0 * ci95(a_en, n_test));
    double diff = a_nn - a_nb;
    ex_say(r, "The %s wins by %.2f points over the %s; the ensemble is "
           "%.2f points %s the NBSVM. %s", diff > 0 ? "recurrent model"
                                                    : "NBSVM",
           100.0 * fabs(diff), diff > 0 ? "NBSVM" : "recurrent model",
           100.0 * fabs(a_en - a_nb), a_en >= a_nb ? "above" : "below",
           fabs(a_en - a_nb) < ci95(a_nb, n_test)
               ? "That difference lies within the confidence interval."
               : "That difference is larger than the confidence interval.");
    if (!quick) {
        ex_say(r, "Target of 90%% for the recurrent model chosen on "
               "validation: %s (%.2f%%).", a_nn >= 0.90 ? "reached"
                                                        : "NOT reached",
               100.0 * a_nn);
        ex_say(r, "Targets of 90.5%% for TF-IDF and 91%% for the NBSVM: %s "
               "(%.2f%%) and %s (%.2f%%).", a_tf >= 0.905 ? "reached"
                                                          : "NOT reached",
               100.0 * a_tf, a_nb >= 0.91 ? "reached" : "NOT reached",
               100.0 * a_nb);
    }
    ex_say(r, "Wall time: loading %.0f s, baselines %.0f s, word vectors "
           "%.0f s, recurrent models %.0f s, evaluation and figures %.0f s; "
           "total %.0f s (%.1f min); CPU time %.0f s (on a shared machine "
           "the wall time grows with the other load, the CPU time does "
           "not).", t->load, t->baseline, t->glove, t->neural, t->eval,
           t->total, t->total / 60.0, t->cpu);
}


int main(int argc, char **argv)
{
    /* Line-buffered even into a log file, so that a long run can be
     * followed with tail -f. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    ex_args a;
    int st = ex_parse_args(argc, argv, "03",
                           "  --glove FILE     GloVe text file (plain or "
                           ".gz) instead of training vectors\n"
                           "  --predict TEXT   classify TEXT with the saved "
                           "model\n"
                           "  --model FILE     with --predict: only load "
                           "FILE and classify\n"
                           "  --models LIST    recurrent models: scratch,"
                           "frozen,tuned\n"
                           "  --train-reviews N, --unsup-reviews N, "
                           "--maxlen N, --keep-end 0|1, --val-by-movie 0|1,\n"
                           "  --glove-dim N, --gru 0|1, --pool-all 0|1, "
                           "--cosine 0|1, "
                           "--lr X, --grid 0|1, --subword 0|1|2\n"
                           "  --baselines-only stop after the bag-of-n-gram "
                           "models\n"
                           "                   one setting each (the "
                           "ablation table)\n", &a);
    if (st != 0)
        return st < 0 ? 2 : 0;
    ex_distributed_init(&a);   /* data-parallel under mpirun (make mpi) */
    const char *predict = ex_arg_value(&a, "--predict");
    const char *model_file = ex_arg_value(&a, "--model");
    const char *glove_arg = ex_arg_value(&a, "--glove");
    ex_report r;
    ex_check(ex_report_open(&r, a.out_dir, "03 - Text classification: IMDB "
                            "sentiment"), "opening the report");
    if (model_file != NULL && predict != NULL) {
        classify(&r, model_file, &predict, 1);
        ex_report_close(&r);
        return 0;
    }
    config c = make_config(&a);
    stage_times t = { 0 };
    double t0 = ex_now(), ts = t0;
    const char *dir = ex_imdb_dir(&a);
    if (dir == NULL)
        return 1;

    ex_section(&r, "Data");
    split tr, te, un;
    load_split(dir, "train", c.n_train, a.seed, &tr);
    load_split(dir, "test", c.n_test, a.seed + 1, &te);
    int baselines_only = ex_arg_flag(&a, "--baselines-only");
    if (baselines_only)
        memset(&un, 0, sizeof un);   /* no word vectors: no unlabelled */
    else
        load_split(dir, "unsup", c.n_unsup, a.seed + 2, &un);
    if (c.val_by_movie)
        validate_on_unseen_movies(dir, c.val_split, &tr);
    describe(&r, &c, &tr, &te, &un, a.seed);
    sn_vectorizer_t *v = make_vectorizer(&c, &tr);
    int32_t *ids_tr = vectorize(&c, v, &tr), *ids_te = vectorize(&c, v, &te);
    t.load = ex_now() - ts;

    result res[MAX_MODELS];
    memset(res, 0, sizeof res);
    ex_section(&r, "Baselines: bags of n-grams");
    ts = ex_now();
    run_baselines(&r, &c, &tr, &te, a.seed, res);
    t.baseline = ex_now() - ts;
    if (baselines_only) {
        /* The linear models alone (a minute or two): their test numbers,
         * then stop. */
        for (int i = 0; i < 2; i++) {
            evaluate(&tr, &te, c.val_split, &res[i]);
            ex_say(&r, "*%s*: test accuracy %.2f%% +- %.2f (95%%), ROC-AUC "
                   "%.4f.", res[i].name, 100.0 * res[i].at_half.accuracy,
                   100.0 * ci95(res[i].at_half.accuracy, te.n), res[i].auc);
        }
        ex_say(&r, "Wall time: loading %.0f s, baselines %.0f s; CPU time "
               "%.0f s.", t.load, t.baseline,
               (double)clock() / CLOCKS_PER_SEC);
        ex_report_close(&r);
        for (int i = 0; i < 2; i++)
            free_result(&res[i]);
        free(ids_tr);
        free(ids_te);
        sn_vectorizer_free(v);
        free(tr.labels);
        free(tr.reordered);
        free(te.labels);
        free(un.labels);
        sn_imdb_free(tr.imdb);
        sn_imdb_free(te.imdb);
        sn_imdb_free(un.imdb);
        return 0;
    }

    ex_section(&r, "Word vectors");
    ts = ex_now();
    char glove_path[600];
    int glove_dim;
    if (glove_arg != NULL) {
        snprintf(glove_path, sizeof glove_path, "%s", glove_arg);
        glove_dim = vector_file_dim(glove_path);
        ex_check(glove_dim > 0 ? SN_OK : SN_ERR_IO, glove_path);
        ex_say(&r, "Word vectors from `%s` (%d-d).", glove_path, glove_dim);
    } else {
        ex_path(&r, "glove_imdb.txt", glove_path, sizeof glove_path);
        glove_dim = train_glove(&r, &c, v, &tr, &un, a.seed, glove_path);
    }
    t.glove = ex_now() - ts;

    ex_section(&r, "Recurrent models");
    ts = ex_now();
    int n_rnn = run_neural(&r, &c, &tr, &te, ids_tr, ids_te, v, glove_path,
                           glove_dim, a.seed, res + 2);
    t.neural = ex_now() - ts;

    if (c.subword > 0) {
        /* ex_subword_report writes the section "Words or sub-words" */
        const result *word = (c.models & EX_M_SCRATCH) ? &res[2] : NULL;
        run_subword(&r, &c, &tr, &te, v, a.seed, word);
    }

    /* Candidates: each recurrent model, and with two or more their
     * average (one model). */
    int n_cand = n_rnn;
    if (n_rnn >= 2) {
        ts = ex_now();
        average_models(&r, &c, &tr, &te, ids_tr, sn_vectorizer_vocab_size(v),
                       res + 2, n_rnn, &res[2 + n_rnn]);
        n_cand++;
        t.neural += ex_now() - ts;
    }

    ex_section(&r, "Ensemble");
    /* The recurrent model that goes on (ensemble, error analysis, the
     * saved model) is chosen by validation accuracy: the test set only
     * reports. */
    int best = 2;
    for (int i = 3; i < 2 + n_cand; i++)
        if (res[i].val_acc > res[best].val_acc)
            best = i;
    int n_m = 3 + n_cand;
    run_ensemble(&r, &tr, &te, c.val_split, &res[best], &res[1],
                 &res[n_m - 1]);

    ex_section(&r, "Results on the test set");
    ts = ex_now();
    for (int i = 0; i < n_m; i++)
        evaluate(&tr, &te, c.val_split, &res[i]);
    ex_say(&r, "All numbers at threshold 0.5 on the %d test reviews.", te.n);
    results_table(&r, res, n_m);
    plot_comparison(&r, res, n_m);
    plot_curves(&r, &te, res, n_m);
    plot_training(&r, res, 2, 2 + n_rnn);

    ex_section(&r, "Threshold chosen on the validation set");
    ex_say(&r, "Each model's threshold maximises F1 on its validation "
           "predictions and is then applied to the test set.");
    threshold_table(&r, res, n_m);
    precision_point(&r, &tr, &te, c.val_split, &res[best], 0.95);
    plot_confusion(&r, &te, &res[best]);

    ex_section(&r, "Error analysis");
    error_analysis(&r, &te, &res[best]);

    ex_section(&r, "Saving, loading and predicting");
    save_and_reload(&r, &res[best], v, predict);
    t.eval = ex_now() - ts;
    t.total = ex_now() - t0;
    t.cpu = (double)clock() / CLOCKS_PER_SEC;

    ex_section(&r, "Conclusions");
    conclusions(&r, res, n_m, best, &t, te.n, a.quick);
    write_json(&r, res, n_m, t.total);
    int ok = sane(res, n_m, a.quick);
    if (!ok)
        ex_say(&r, "SANITY CHECK FAILED: a metric is out of range.");
    ex_report_close(&r);

    for (int i = 0; i < n_m; i++)
        free_result(&res[i]);
    free(ids_tr);
    free(ids_te);
    sn_vectorizer_free(v);
    free(tr.labels);
    free(tr.reordered);
    free(te.labels);
    free(un.labels);
    sn_imdb_free(tr.imdb);
    sn_imdb_free(te.imdb);
    sn_imdb_free(un.imdb);
    return ok ? 0 : 1;
}
