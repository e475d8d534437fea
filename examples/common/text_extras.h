/*
 * text_extras.h - two report sections for example 03 (text
 * classification), built on the library's sub-word and word-vector API:
 *
 *   - ex_subword_datasets / ex_subword_report: a byte-level BPE vocabulary
 *     learned on the training reviews beside the word vocabulary of the
 *     TextVectorization pipeline: vocabulary size, out-of-vocabulary rate,
 *     sequence length and truncation on the test reviews, time; and the
 *     BPE-encoded train/test sets for the same BiLSTM + attention model;
 *   - ex_vector_queries: nearest neighbours of a few words and two or three
 *     analogies (a - b + c) over the self-trained GloVe vectors.
 *
 * Not part of the library: examples link it beside libseqnet.
 */
#ifndef SN_TEXT_EXTRAS_H
#define SN_TEXT_EXTRAS_H

#include "example.h"

/* What ex_subword_datasets measures on the test reviews. */
typedef struct ex_subword_stats {
    int word_vocab, bpe_vocab;        /* ids in use, specials included      */
    double word_oov_rate;             /* word tokens that became [UNK]      */
    double bpe_oov_rate;              /* always 0: bytes are the fallback   */
    double word_mean_len, bpe_mean_len; /* tokens per review               */
    double word_truncated, bpe_truncated; /* reviews longer than maxlen    */
    int maxlen;
    double train_s, encode_s;         /* BPE training, encoding both sets   */
} ex_subword_stats;

/* Learns a BPE vocabulary of bpe_vocab tokens on train_texts (the test
 * texts must not leak into it) with the word vectorizer's standardization,
 * encodes both sets and pads / truncates them to maxlen (NULL pad = post
 * padding and post truncation, as the word pipeline of ex_imdb_subsets,
 * so that the two models see the same part of each review).  train and
 * test get ids [n, maxlen] and copies of the labels (free both arrays);
 * stats gets the comparison.  Returns the BPE tokenizer (caller frees it
 * with sn_bpe_free; its vocabulary size is the Embedding's input_dim).
 * Exits with a message on failure, as the other example helpers. */
sn_bpe_t *ex_subword_datasets(const sn_vectorizer_t *words,
                              const char *const *train_texts,
                              const float *train_labels, int n_train,
                              const char *const *test_texts,
                              const float *test_labels, int n_test,
                              int bpe_vocab, int maxlen,
                              const sn_pad_opts *pad, ex_imdb_set *train,
                              ex_imdb_set *test, ex_subword_stats *stats);

/* Writes the section "Words or sub-words": a table of the two vocabularies
 * (size, OOV rate, mean length, truncated share) with the two models'
 * test accuracy and training time (pass the numbers measured by the
 * example; a negative accuracy prints "-"), and a short reading. */
void ex_subword_report(ex_report *r, const ex_subword_stats *s,
                       double word_accuracy, double bpe_accuracy,
                       double word_train_s, double bpe_train_s);

/* Writes the section "What the vectors learned": the 5 nearest words of
 * each of a few probe words ("great", "terrible", "boring", "actor",
 * "plot"; those absent from vocab are skipped) and the analogies
 * "actor - man + woman", "better - good + bad", "king - man + woman"
 * (top 3, the query words left out as gensim does) over vectors
 * [n_vocab, dim] whose row i is the word vocab[i], after removing the mean
 * vector from a copy (harmless when the vectors are already centred).
 * Rows without a vector (all zeros) are never shown. */
void ex_vector_queries(ex_report *r, const float *vectors, int n_vocab,
                       int dim, const char *const *vocab);

#endif /* SN_TEXT_EXTRAS_H */
