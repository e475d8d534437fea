/*
 * imdb_bow.h - bags of n-grams for example 03's linear baselines: each
 * review as a sparse row of n-gram ids (from a TextVectorization in INT
 * mode, whole reviews), turned into TF-IDF or NBSVM feature values, and a
 * logistic regression built from libseqnet layers (Embedding(width, 1)
 * dotted with the row's values, a sigmoid; Adam) trained on them batch by
 * batch.
 *
 * Why sparse: a review holds a few hundred distinct n-grams out of a
 * vocabulary of hundreds of thousands; the dense [n, vocab] matrix of the
 * training set would take tens of gigabytes.  A batch goes to the model
 * as its rows' (id, value) pairs, so a step costs the batch's non-zeros.
 */
#ifndef EX_IMDB_BOW_H
#define EX_IMDB_BOW_H

#include <stddef.h>
#include <stdint.h>

#include <seqnet.h>

/* Rows of n-gram ids in compressed-row form: row i holds
 * col[start[i] .. start[i+1]) (ascending, unique, ids >= 2: padding and
 * out-of-vocabulary are left out) occurring cnt[...] times. */
typedef struct ex_bow {
    int rows;
    int width;       /* vocabulary size: every id is below it */
    size_t *start;   /* rows + 1 */
    int32_t *col;
    float *cnt;
} ex_bow;

/* Tokenises texts[0 .. n-1] with v (INT mode, no fixed length, so all of
 * each review's n-grams) into *b.  Exits with a message on failure. */
void ex_bow_build(const sn_vectorizer_t *v, const char *const *texts, int n,
                  ex_bow *b);
void ex_bow_free(ex_bow *b);

/* How a count becomes a term frequency. */
typedef enum ex_tf {
    EX_TF_BINARY = 0,     /* 1 if present (NBSVM)                 */
    EX_TF_RAW = 1,        /* the count                            */
    EX_TF_SUBLINEAR = 2   /* 1 + log(count) (scikit-learn's sublinear_tf) */
} ex_tf;

/* Feature values: tf(count) * scale[id] for ids < max_id (0 beyond),
 * each row then divided by its L2 norm if l2. */
typedef struct ex_bow_features {
    ex_tf tf;
    const float *scale;   /* [width]; NULL = 1 */
    int max_id;           /* 0 = width */
    int l2;
} ex_bow_features;

/* Values parallel to b->col (the caller frees them). */
float *ex_bow_values(const ex_bow *b, const ex_bow_features *f);

/* Smooth idf of the fit rows, as scikit-learn's TfidfVectorizer:
 * idf[j] = ln((1 + N) / (1 + df_j)) + 1. */
void ex_bow_idf(const ex_bow *fit, float *idf);

/* The NBSVM log-count ratio of Wang and Manning (2012) over binarised
 * features: r = log((p / |p|_1) / (q / |q|_1)), p = alpha + the sum of the
 * positive rows, q likewise over the negative ones (labels y > 0.5). */
void ex_bow_nb_ratio(const ex_bow *fit, const float *y, float alpha,
                     float *r);

/* Options of the logistic regression. */
typedef struct ex_logreg_opts {
    int width;             /* input features (ids below it are used)   */
    float learning_rate;   /* Adam                                      */
    float weight_decay;    /* AdamW's decoupled decay; 0 = Adam        */
    int epochs, batch;
    uint64_t seed;
    int verbose;           /* print one line per epoch                 */
} ex_logreg_opts;

/* A split's rows with their feature values (and labels, for fit and
 * validation). */
typedef struct ex_bow_split {
    const ex_bow *bow;
    const float *values;
    const float *y;
} ex_bow_split;

/* Trains sigmoid(w . x + b) with binary cross-entropy (logistic regression)
 * on fit, keeps the weights of the epoch with the best accuracy on val,
 * and writes that epoch's probabilities for val (p_val) and test (p_test,
 * may be NULL).  Returns the validation accuracy; *best_epoch (1-based). */
double ex_bow_logreg(const ex_bow_split *fit, const ex_bow_split *val,
                     const ex_bow_split *test, const ex_logreg_opts *o,
                     float *p_val, float *p_test, int *best_epoch);

#endif
