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
 *   2. baseline   TF-IDF of unigrams + bigrams -> Dense(1, sigmoid): logistic
 *                 regression, the bar every neural model has to clear
 *   3. vectors    GloVe word vectors that libseqnet trains on the
 *                 unlabelled + training reviews (or a real Stanford file,
 *                 --glove FILE), with the vocabulary coverage
 *   4. models     TextVectorization -> Embedding(mask_zero) -> BiLSTM ->
 *                 additive attention pooling -> Dropout -> Dense(1, sigmoid),
 *                 three times: embeddings learned from scratch, GloVe frozen,
 *                 GloVe fine-tuned; early stopping on validation accuracy
 *   5. evaluation accuracy, precision, recall, F1, ROC-AUC, average
 *                 precision, confusion matrix; a threshold chosen on the
 *                 validation set and applied to the test set; ROC and PR
 *                 curves, training curves, a confusion-matrix heat map
 *   6. errors     the most confident mistakes and the borderline reviews
 *   7. deployment the best model saved with its vocabulary, loaded back and
 *                 asked about a sentence (--predict "text")
 *
 * Usage:
 *   03_text_classification [--data DIR] [--out DIR] [--seed N] [--epochs N]
 *                          [--quick] [--glove FILE] [--predict "text"]
 *                          [--model FILE]
 * With --model FILE and --predict, it only loads FILE (a model saved by an
 * earlier run, vocabulary included) and classifies the text.
 *
 * Full run: about 30 minutes on 2 cores.  --quick: 2,000 training and
 * 1,000 test reviews, 100 tokens each, one epoch, every stage and figure
 * (CI smoke test; the exit status is 1 if a number is not sane).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/distributed.h"
#include "common/example.h"

/* ------------------------------------------------------------ settings */

/* Every size the example uses, in one place, so the report can state them
 * and --quick can shrink them. */
typedef struct config {
    int n_train, n_test, n_unsup;  /* reviews used; 0 = all of the split */
    float val_split;               /* fit's validation_split             */
    int vocab;                     /* max_tokens of the vectorizer       */
    int maxlen;                    /* tokens kept per review             */
    int embed_dim;                 /* learned-from-scratch embedding     */
    int lstm_units;                /* per direction                      */
    float rnn_dropout, rnn_recurrent_dropout, dense_dropout;
    int epochs, batch, patience;
    int glove_dim, glove_epochs;
    int tfidf_tokens, tfidf_epochs, tfidf_batch;
    float tfidf_lr;
} config;

static config make_config(const ex_args *a)
{
    config c;
    c.n_train = 0;              /* all 25,000 */
    c.n_test = 0;               /* all 25,000 */
    c.n_unsup = 0;              /* all 50,000 */
    c.val_split = 0.1f;
    c.vocab = 20000;
    /* 87% of the reviews fit in 400 tokens; the mask makes the padding of
     * the shorter ones cost nothing in accuracy (docs ACCURACY anchors). */
    c.maxlen = 400;
    c.embed_dim = 128;
    c.lstm_units = 64;
    /* Dropout on the LSTM inputs (the embeddings) and on its state: the
     * regularisation that lets the model improve past its second epoch. */
    c.rnn_dropout = 0.2f;
    c.rnn_recurrent_dropout = 0.2f;
    c.dense_dropout = 0.4f;
    c.epochs = 3;
    c.batch = 64;
    c.patience = 1;
    c.glove_dim = 50;
    c.glove_epochs = 10;
    c.tfidf_tokens = 50000;
    c.tfidf_epochs = 4;
    c.tfidf_batch = 64;
    /* Rows are L2-normalised, so the weights must grow to several units:
     * a rate well above the neural models' 1e-3 gets there in 4 epochs. */
    c.tfidf_lr = 0.02f;
    if (a->quick) {
        c.n_train = 2000;
        c.n_test = 1000;
        c.n_unsup = 3000;
        c.maxlen = 100;
        c.epochs = 1;
        c.glove_epochs = 6;
        c.tfidf_tokens = 20000;
        c.tfidf_epochs = 10;   /* 29 steps an epoch only */
    }
    if (a->epochs > 0)
        c.epochs = a->epochs;
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

/* A seeded xorshift generator for the baseline's own shuffling. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void shuffle_ints(int *a, int n, uint64_t *s)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rng_next(s) % (uint64_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ------------------------------------------------------------ data */

/* One labelled split, kept in the reviews' (shuffled) order. */
typedef struct split {
    sn_imdb_t *imdb;
    const char *const *texts;
    float *labels;     /* 0 / 1, as float targets for the loss */
    int n;
} split;

static void load_split(const char *dir, const char *name, int limit,
                       uint64_t seed, split *s)
{
    double t0 = ex_now();
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

/* ------------------------------------------------------------ results */

enum { MAX_MODELS = 4 };

/* What each model leaves behind for the comparison. */
typedef struct result {
    const char *name;
    float *p_val, *p_test;       /* predicted probabilities               */
    double train_s, test_s;      /* wall times of training / test predict */
    int epochs_run, best_epoch;  /* best_epoch 1-based                    */
    double val_acc;              /* at 0.5, validation rows               */
    sn_history_t *history;       /* NULL for the baseline                 */
    double *step_x, *step_loss;  /* running training loss per batch       */
    int n_steps, steps_per_epoch;
    sn_model_t *model;           /* NULL for the baseline                 */
    /* test metrics */
    sn_binary_report at_half, at_tuned;
    float threshold;             /* F1-optimal on validation              */
    double val_f1, auc, ap;
} result;

/* Accuracy of probabilities against labels at 0.5 (score >= 0.5). */
static double accuracy(const float *p, const float *y, int n)
{
    sn_binary_report r = SN_BINARY_REPORT_INIT;
    ex_check(sn_eval_binary(p, y, (size_t)n, 0.5f, &r), "accuracy");
    return r.accuracy;
}

/* ------------------------------------------------------------ baseline */

/* L2-normalises each TF-IDF row, as scikit-learn's TfidfVectorizer does:
 * a long review then weighs as much as a short one, and the logistic
 * regression sees inputs of one scale, which a fixed learning rate needs. */
static void l2_rows(float *x, int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        float *r = x + (size_t)i * cols;
        double ss = 0.0;
        for (int j = 0; j < cols; j++)
            ss += (double)r[j] * r[j];
        if (ss > 0.0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (int j = 0; j < cols; j++)
                r[j] *= inv;
        }
    }
}

/* Texts idx[0..n-1] of texts -> normalised TF-IDF rows in x. */
static void tfidf_rows(const sn_vectorizer_t *v, const char *const *texts,
                       const int *idx, int n, int width, float *x,
                       const char **scratch)
{
    for (int i = 0; i < n; i++)
        scratch[i] = texts[idx ? idx[i] : i];
    ex_check(sn_vectorizer_transform_dense(v, scratch, (size_t)n, x),
             "TF-IDF transform");
    l2_rows(x, n, width);
}

/* Probabilities of the logistic regression for n texts, in batches: the
 * dense [n, vocab] matrix of a whole split would take gigabytes. */
static void tfidf_predict(sn_model_t *m, const sn_vectorizer_t *v,
                          const char *const *texts, int n, float *out)
{
    enum { B = 512 };
    int width = sn_vectorizer_vocab_size(v);
    float *x = xcalloc((size_t)B * width, sizeof *x);
    const char *scratch[B];
    for (int s = 0; s < n; s += B) {
        int b = n - s < B ? n - s : B;
        tfidf_rows(v, texts + s, NULL, b, width, x, scratch);
        const void *in[1] = { x };
        float *o[1] = { out + s };
        ex_check(sn_model_predict(m, b, in, NULL, o), "baseline predict");
    }
    free(x);
}

static sn_model_t *logistic_regression(int width, float lr, uint64_t seed)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    mo.name = "tfidf_logreg";
    sn_model_t *m = sn_model_new(&mo);
    check_ptr(m, "sn_model_new");
    int x = sn_input(m, SN_NO_TIME, width);
    /* Dense(1, sigmoid) trained with binary cross-entropy is exactly
     * logistic regression. */
    x = sn_apply(m, sn_dense(1, SN_SIGMOID, NULL), x);
    ex_check(x, "baseline layers");
    sn_optimizer_opts oo;
    ex_check(sn_optimizer_defaults(SN_ADAM, &oo), "optimizer defaults");
    oo.learning_rate = lr;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    check_ptr(co.optimizer, "sn_optimizer_new");
    co.loss = &lo;
    ex_check(sn_model_compile(m, &co), "baseline compile");
    return m;
}

/* Copies all weights of m to or from buf (best-epoch bookkeeping). */
static void copy_weights(sn_model_t *m, float *buf, int to_model)
{
    size_t off = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t cnt;
        float *w = sn_model_weight_data(m, i, &cnt);
        check_ptr(w, "weight data");
        if (to_model)
            memcpy(w, buf + off, cnt * sizeof *w);
        else
            memcpy(buf + off, w, cnt * sizeof *w);
        off += cnt;
    }
}

/* One epoch of the hand-written training loop: fit cannot be used because
 * the inputs are made batch by batch from the texts. */
static double tfidf_epoch(sn_model_t *m, const sn_vectorizer_t *v,
                          const split *tr, int *perm, int n_fit, int batch,
                          float *x, uint64_t *rng)
{
    int width = sn_vectorizer_vocab_size(v);
    const char **scratch = xcalloc((size_t)batch, sizeof *scratch);
    float *y = xcalloc((size_t)batch, sizeof *y);
    double sum = 0.0;
    int steps = 0;
    shuffle_ints(perm, n_fit, rng);
    for (int s = 0; s < n_fit; s += batch) {
        int b = n_fit - s < batch ? n_fit - s : batch;
        tfidf_rows(v, tr->texts, perm + s, b, width, x, scratch);
        for (int i = 0; i < b; i++)
            y[i] = tr->labels[perm[s + i]];
        const void *in[1] = { x };
        const float *tg[1] = { y };
        double loss;
        ex_check(sn_model_train_on_batch(m, b, in, NULL, tg, NULL, &loss),
                 "baseline train_on_batch");
        sum += loss;
        steps++;
    }
    free(scratch);
    free(y);
    return sum / steps;
}

static void run_baseline(ex_report *r, const config *c, const split *tr,
                         const split *te, uint64_t seed, result *res)
{
    double t0 = ex_now();
    int n_fit = train_rows(tr->n, c->val_split), n_val = tr->n - n_fit;
    sn_vectorizer_opts vo = SN_VECTORIZER_OPTS_INIT;
    vo.max_tokens = c->tfidf_tokens;
    vo.ngrams = 2;
    vo.output_mode = SN_OUTPUT_TF_IDF;
    sn_vectorizer_t *v = sn_vectorizer_new(&vo);
    check_ptr(v, "TF-IDF vectorizer");
    /* idf and vocabulary from the training rows only: nothing of the
     * validation or test reviews leaks into the features. */
    ex_check(sn_vectorizer_adapt(v, tr->texts, (size_t)n_fit), "TF-IDF adapt");
    int width = sn_vectorizer_vocab_size(v);
    sn_model_t *m = logistic_regression(width, c->tfidf_lr, seed);

    int *perm = xcalloc((size_t)n_fit, sizeof *perm);
    for (int i = 0; i < n_fit; i++)
        perm[i] = i;
    float *x = xcalloc((size_t)c->tfidf_batch * width, sizeof *x);
    float *best = xcalloc((size_t)width + 1, sizeof *best);
    res->p_val = xcalloc((size_t)n_val, sizeof *res->p_val);
    res->p_test = xcalloc((size_t)te->n, sizeof *res->p_test);
    uint64_t rng = seed * 2654435761u + 1;
    res->val_acc = -1.0;
    for (int e = 0; e < c->tfidf_epochs; e++) {
        double loss = tfidf_epoch(m, v, tr, perm, n_fit, c->tfidf_batch, x,
                                  &rng);
        tfidf_predict(m, v, tr->texts + n_fit, n_val, res->p_val);
        double acc = accuracy(res->p_val, tr->labels + n_fit, n_val);
        printf("  epoch %d/%d  loss %.4f  val_accuracy %.4f\n", e + 1,
               c->tfidf_epochs, loss, acc);
        /* Early stopping by hand: keep the weights of the best epoch. */
        if (acc > res->val_acc) {
            res->val_acc = acc;
            res->best_epoch = e + 1;
            copy_weights(m, best, 0);
        }
    }
    copy_weights(m, best, 1);
    res->epochs_run = c->tfidf_epochs;
    res->train_s = ex_now() - t0;
    tfidf_predict(m, v, tr->texts + n_fit, n_val, res->p_val);
    double t1 = ex_now();
    tfidf_predict(m, v, te->texts, te->n, res->p_test);
    res->test_s = ex_now() - t1;
    res->name = "TF-IDF 1+2-grams + logistic regression";
    ex_say(r, "Bag of n-grams: %d unigram+bigram features (TF-IDF, rows "
           "L2-normalised) -> Dense(1, sigmoid), Adam %g, batch %d, %d epochs "
           "(best on validation: %d, val accuracy %.4f), %.1f s.",
           width, (double)c->tfidf_lr, c->tfidf_batch, c->tfidf_epochs,
           res->best_epoch, res->val_acc, res->train_s);
    free(perm);
    free(x);
    free(best);
    sn_model_free(m);
    sn_vectorizer_free(v);
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

/* The cosine-nearest words of a word: a sanity check that the vectors mean
 * something before a classifier is built on them. */
static void neighbours(ex_report *r, const float *vec, int dim,
                       const char **vocab, int n, const char *word)
{
    int w = -1;
    for (int i = 2; i < n && w < 0; i++)
        if (strcmp(vocab[i], word) == 0)
            w = i;
    if (w < 0)
        return;
    int best[5] = { -1, -1, -1, -1, -1 };
    double bs[5] = { -2, -2, -2, -2, -2 };
    const float *a = vec + (size_t)w * dim;
    for (int i = 2; i < n; i++) {
        const float *b = vec + (size_t)i * dim;
        double ab = 0, aa = 0, bb = 0;
        for (int k = 0; k < dim; k++) {
            ab += (double)a[k] * b[k];
            aa += (double)a[k] * a[k];
            bb += (double)b[k] * b[k];
        }
        if (i == w || bb == 0.0)
            continue;
        double cs = ab / sqrt(aa * bb);
        for (int k = 0; k < 5; k++)
            if (cs > bs[k]) {
                memmove(bs + k + 1, bs + k, (size_t)(4 - k) * sizeof *bs);
                memmove(best + k + 1, best + k, (size_t)(4 - k) * sizeof *best);
                bs[k] = cs;
                best[k] = i;
                break;
            }
    }
    if (best[4] < 0)
        return;
    ex_say(r, "Nearest to *%s*: %s (%.2f), %s (%.2f), %s (%.2f), %s (%.2f), "
           "%s (%.2f).", word, vocab[best[0]], bs[0], vocab[best[1]], bs[1],
           vocab[best[2]], bs[2], vocab[best[3]], bs[3], vocab[best[4]], bs[4]);
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
    neighbours(r, vec, go.dim, vocab, n_vocab, "great");
    neighbours(r, vec, go.dim, vocab, n_vocab, "terrible");
    neighbours(r, vec, go.dim, vocab, n_vocab, "boring");
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

/* TextVectorization ids -> Embedding(mask_zero) -> BiLSTM -> attention ->
 * Dropout -> Dense(1, sigmoid).  *embedding receives the Embedding layer
 * (owned by the model) for loading word vectors into it. */
static sn_model_t *build_classifier(const config *c, int vocab, int dim,
                                    uint64_t seed, const char *name,
                                    sn_layer_t **embedding)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    mo.name = name;
    sn_model_t *m = sn_model_new(&mo);
    check_ptr(m, "sn_model_new");
    int x = sn_input_tokens(m, c->maxlen);
    /* mask_zero: id 0 is padding.  Every later layer honours the mask, so
     * the LSTMs carry their state over the padding and attention gives it
     * weight 0: a short review reads as if it had no padding at all. */
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    *embedding = sn_embedding(vocab, dim, &eo);
    x = sn_apply(m, *embedding, x);
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = 1;     /* one state per token, for attention */
    ro.dropout = c->rnn_dropout;
    ro.recurrent_dropout = c->rnn_recurrent_dropout;
    x = sn_apply(m, sn_bidirectional(sn_lstm(c->lstm_units, &ro),
                                     SN_MERGE_CONCAT), x);
    /* Additive attention pooling: a learned query scores every token's
     * state; the weighted mean replaces "the last state", so a verdict in
     * the middle of a long review is not forgotten by the end. */
    sn_attention_opts ao = SN_ATTENTION_OPTS_INIT;
    x = sn_apply(m, sn_attention(SN_SCORE_ADDITIVE, &ao), x);
    x = sn_apply(m, sn_dropout(c->dense_dropout), x);
    x = sn_apply(m, sn_dense(1, SN_SIGMOID, NULL), x);
    ex_check(x, "building the classifier");
    ex_check(sn_model_build(m), "sn_model_build");

    sn_optimizer_opts oo;
    ex_check(sn_optimizer_defaults(SN_ADAM, &oo), "optimizer defaults");
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    sn_metric_kind metrics[1] = { SN_METRIC_ACCURACY };
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    check_ptr(co.optimizer, "sn_optimizer_new");
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
        snprintf(row[1], 32, "%d (%d)", x->epochs_run, x->best_epoch);
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
    static const char *short_names[] = { "TF-IDF logreg", "BiLSTM scratch",
                                         "GloVe frozen", "GloVe fine-tuned" };
    double acc[MAX_MODELS];
    for (int i = 0; i < n_m; i++)
        acc[i] = res[i].at_half.accuracy;
    char path[600];
    ex_check(ex_plot_bars(ex_path(r, "accuracy.png", path, sizeof path),
                          "Test accuracy (25,000 reviews in the full run)",
                          "accuracy", short_names, acc, n_m), "accuracy.png");
    ex_figure(r, "accuracy.png", "Test accuracy of the four models");
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
static const float *g_key;
static int by_key(const void *a, const void *b)
{
    float x = g_key[*(const int *)a], y = g_key[*(const int *)b];
    return (x > y) - (x < y);
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
        idx[i] = i;
    }
    g_key = key;
    qsort(idx, (size_t)n, sizeof *idx, by_key);
    ex_say(r, "*%s* gets %d of %d test reviews wrong at threshold %.3f. The "
           "%d most confident mistakes:", x->name, wrong, n, x->threshold, K);
    review_table(r, te, x->p_test, idx, wrong < K ? wrong : K);
    /* Borderline: the reviews closest to the threshold either way. */
    for (int i = 0; i < n; i++) {
        key[i] = fabsf(x->p_test[i] - x->threshold);
        idx[i] = i;
    }
    qsort(idx, (size_t)n, sizeof *idx, by_key);
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
        /* The baseline is well past 70% even on 1,800 reviews, and the
         * one-epoch --quick scratch model ranks better than a coin (the
         * GloVe ones, on quick's tiny vectors, need not). */
        if ((i == 0 && x->at_half.accuracy < 0.7) || (i <= 1 && x->auc < 0.55))
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
    ex_say(r, "Data: %d training reviews (%d fit, the last %d for "
           "validation), %d test reviews, %d unlabelled reviews for word "
           "vectors. Seed %llu.", tr->n, n_fit, tr->n - n_fit, te->n, un->n,
           (unsigned long long)seed);
    ex_say(r, "Settings: vocabulary %d, first %d tokens of each review "
           "(post-padded, masked), embeddings %d (GloVe %d), BiLSTM(%d) with "
           "dropout %.2f / recurrent dropout %.2f, additive attention "
           "pooling, Dropout(%.2f), Dense(1, sigmoid); Adam 1e-3, batch %d, "
           "at most %d epochs, early stopping on val_accuracy (patience %d, "
           "best weights restored).", c->vocab, c->maxlen, c->embed_dim,
           c->glove_dim, c->lstm_units, (double)c->rnn_dropout,
           (double)c->rnn_recurrent_dropout, (double)c->dense_dropout,
           c->batch, c->epochs, c->patience);
}

/* ------------------------------------------------------------ stages */

/* The vocabulary of the neural models: adapted on the fit rows only. */
static sn_vectorizer_t *make_vectorizer(const config *c, const split *tr)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.max_tokens = c->vocab;
    o.output_sequence_length = c->maxlen;
    /* POST padding and POST truncation (Keras' defaults): keep the start
     * of a review, pad after it.  With masking the side of the padding does
     * not matter to the BiLSTM. */
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

static void run_neural(ex_report *r, const config *c, const split *tr,
                       const split *te, const int32_t *ids_tr,
                       const int32_t *ids_te, const sn_vectorizer_t *v,
                       const char *glove_file, int glove_dim, uint64_t seed,
                       result *res)
{
    static const char *names[] = { "BiLSTM+attention, embeddings learned",
                                   "BiLSTM+attention, GloVe frozen",
                                   "BiLSTM+attention, GloVe fine-tuned" };
    static const char *ids[] = { "scratch", "glove_frozen", "glove_tuned" };
    int vocab = sn_vectorizer_vocab_size(v);
    for (int k = 0; k < 3; k++) {
        result *x = res + k;
        sn_layer_t *emb;
        x->name = names[k];
        printf("\n-- %s\n", names[k]);
        x->model = build_classifier(c, vocab, k == 0 ? c->embed_dim
                                                     : glove_dim,
                                    seed, ids[k], &emb);
        if (k == 0) {
            fprintf(r->md, "```\n");
            ex_check(sn_model_summary(x->model, r->md), "summary");
            fprintf(r->md, "```\n\n");
            ex_check(sn_model_summary(x->model, stdout), "summary");
        } else {
            init_from_glove(r, x, glove_file, v, emb, k == 2);
        }
        train_classifier(c, tr, te, ids_tr, ids_te, x);
        ex_say(r, "*%s*: %d epochs (best %d) in %.0f s, %.0f ms per "
               "training step; validation accuracy %.4f; predicting the %d "
               "test reviews took %.0f s.", x->name, x->epochs_run,
               x->best_epoch, x->train_s,
               1000.0 * x->train_s / (x->epochs_run * x->steps_per_epoch),
               x->val_acc, te->n, x->test_s);
    }
}

/* ------------------------------------------------------------ main */

typedef struct stage_times {
    double load, baseline, glove, neural, eval, total;
} stage_times;

static void conclusions(ex_report *r, const result *res, int n_m,
                        const stage_times *t, int quick)
{
    int best = 1;
    for (int i = 2; i < n_m; i++)
        if (res[i].at_half.accuracy > res[best].at_half.accuracy)
            best = i;
    double nn = res[best].at_half.accuracy, bl = res[0].at_half.accuracy;
    ex_say(r, "Best neural model on the test set: *%s*, %.2f%% accuracy; "
           "the TF-IDF baseline: %.2f%%. %s", res[best].name, 100.0 * nn,
           100.0 * bl,
           nn > bl ? "The neural model wins, by a margin that cost far more "
                     "compute."
                   : "The bag of n-grams wins: on long reviews whose "
                     "sentiment sits in words and short phrases, counting "
                     "them is hard to beat, and it trains in a fraction of "
                     "the time.");
    if (!quick)
        ex_say(r, "Target of 88%% test accuracy: %s (%.2f%%).",
               nn >= 0.88 ? "reached" : "NOT reached", 100.0 * nn);
    ex_say(r, "Wall time: loading %.0f s, baseline %.0f s, word vectors "
           "%.0f s, neural models %.0f s, evaluation and figures %.0f s; "
           "total %.0f s (%.1f min).", t->load, t->baseline, t->glove,
           t->neural, t->eval, t->total, t->total / 60.0);
}

static void free_result(result *x)
{
    free(x->p_val);
    free(x->p_test);
    free(x->step_x);
    free(x->step_loss);
    sn_history_free(x->history);
    sn_model_free(x->model);
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
                           "FILE and classify\n", &a);
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
    load_split(dir, "unsup", c.n_unsup, a.seed + 2, &un);
    describe(&r, &c, &tr, &te, &un, a.seed);
    sn_vectorizer_t *v = make_vectorizer(&c, &tr);
    int32_t *ids_tr = vectorize(&c, v, &tr), *ids_te = vectorize(&c, v, &te);
    t.load = ex_now() - ts;

    result res[MAX_MODELS];
    memset(res, 0, sizeof res);
    ex_section(&r, "Baseline: bag of n-grams");
    ts = ex_now();
    run_baseline(&r, &c, &tr, &te, a.seed, &res[0]);
    t.baseline = ex_now() - ts;

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

    ex_section(&r, "Neural models");
    ts = ex_now();
    run_neural(&r, &c, &tr, &te, ids_tr, ids_te, v, glove_path, glove_dim,
               a.seed, res + 1);
    t.neural = ex_now() - ts;

    ex_section(&r, "Results on the test set");
    ts = ex_now();
    int n_m = MAX_MODELS, best = 1;
    for (int i = 0; i < n_m; i++)
        evaluate(&tr, &te, c.val_split, &res[i]);
    /* "Best" is chosen by validation accuracy: the test set only reports. */
    for (int i = 2; i < n_m; i++)
        if (res[i].val_acc > res[best].val_acc)
            best = i;
    ex_say(&r, "All numbers at threshold 0.5 on the %d test reviews.", te.n);
    results_table(&r, res, n_m);
    plot_comparison(&r, res, n_m);
    plot_curves(&r, &te, res, n_m);
    plot_training(&r, res, 1, n_m);

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

    ex_section(&r, "Conclusions");
    conclusions(&r, res, n_m, &t, a.quick);
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
    free(te.labels);
    free(un.labels);
    sn_imdb_free(tr.imdb);
    sn_imdb_free(te.imdb);
    sn_imdb_free(un.imdb);
    return ok ? 0 : 1;
}
