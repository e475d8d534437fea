/*
 * text_extras.c - example 03's word-vs-sub-word comparison and its
 * word-vector report (text_extras.h), on the library's BPE tokenizer,
 * pad_sequences and word-vector index.
 */
#include "text_extras.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc_or_exit(size_t n, size_t size)
{
    void *p = calloc(n > 0 ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "text_extras: out of memory\n");
        exit(1);
    }
    return p;
}

/* ------------------------------------------------- words vs sub-words */

/* The word vectorizer without a fixed length, to see whole reviews. */
static sn_vectorizer_t *whole_reviews(const sn_vectorizer_t *words)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    ex_check(sn_vectorizer_options(words, &o), "vectorizer options");
    o.output_sequence_length = 0;
    o.max_tokens = 0;
    sn_vectorizer_t *full = sn_vectorizer_new(&o);
    ex_check(full == NULL ? SN_ERR_NOMEM : SN_OK, "vectorizer");
    int n = sn_vectorizer_vocab_size(words);
    ex_check(n, "vocabulary size");
    const char **tokens = xcalloc_or_exit((size_t)n, sizeof *tokens);
    for (int i = 0; i < n; i++)
        tokens[i] = sn_vectorizer_token(words, i);
    ex_check(sn_vectorizer_set_vocabulary(full, tokens, (size_t)n, NULL),
             "set_vocabulary");
    free(tokens);
    return full;
}

/* Word tokens per review, [UNK] share and share longer than maxlen. */
static void word_side(const sn_vectorizer_t *words, const char *const *texts,
                      int n, int maxlen, ex_subword_stats *s)
{
    sn_vectorizer_t *full = whole_reviews(words);
    long tokens = 0, unknown = 0, longer = 0;
    int32_t *ids = NULL;
    int cap = 0;
    for (int i = 0; i < n; i++) {
        int w = sn_vectorizer_output_width(full, texts + i, 1);
        ex_check(w, "output width");
        if (w > cap) {
            free(ids);
            cap = 2 * w;
            ids = xcalloc_or_exit((size_t)cap, sizeof *ids);
        }
        ex_check(sn_vectorizer_transform(full, texts + i, 1, ids),
                 "word transform");
        for (int j = 0; j < w; j++)
            unknown += ids[j] == 1;
        tokens += w;
        longer += w > maxlen;
    }
    free(ids);
    sn_vectorizer_free(full);
    s->word_vocab = sn_vectorizer_vocab_size(words);
    s->word_oov_rate = tokens > 0 ? (double)unknown / (double)tokens : 0.0;
    s->word_mean_len = n > 0 ? (double)tokens / n : 0.0;
    s->word_truncated = n > 0 ? (double)longer / n : 0.0;
}

/* Encodes texts, pads them to maxlen into set. */
static sn_ragged_t *encode_set(const sn_bpe_t *bpe, const char *const *texts,
                               const float *labels, int n, int maxlen,
                               const sn_pad_opts *pad, ex_imdb_set *set)
{
    sn_ragged_t *r = NULL;
    ex_check(sn_bpe_encode_batch(bpe, texts, (size_t)n, 0, &r),
             "sn_bpe_encode_batch");
    sn_pad_opts o = SN_PAD_OPTS_INIT;
    if (pad != NULL)
        o = *pad;
    else
        o.padding = o.truncating = SN_SIDE_POST;
    o.maxlen = maxlen;
    set->n = n;
    set->maxlen = maxlen;
    set->ids = xcalloc_or_exit((size_t)n * (size_t)maxlen,
                               sizeof *set->ids);
    set->labels = xcalloc_or_exit((size_t)n, sizeof *set->labels);
    memcpy(set->labels, labels, (size_t)n * sizeof *labels);
    ex_check(sn_pad_sequences(sn_ragged_ids(r), sn_ragged_offsets(r),
                              (size_t)n, &o, set->ids,
                              (size_t)n * (size_t)maxlen), "pad_sequences");
    return r;
}

sn_bpe_t *ex_subword_datasets(const sn_vectorizer_t *words,
                              const char *const *train_texts,
                              const float *train_labels, int n_train,
                              const char *const *test_texts,
                              const float *test_labels, int n_test,
                              int bpe_vocab, int maxlen,
                              const sn_pad_opts *pad, ex_imdb_set *train,
                              ex_imdb_set *test, ex_subword_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->maxlen = maxlen;
    word_side(words, test_texts, n_test, maxlen, stats);
    sn_vectorizer_opts wo = SN_VECTORIZER_OPTS_INIT;
    ex_check(sn_vectorizer_options(words, &wo), "vectorizer options");
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    o.vocab_size = bpe_vocab;
    o.standardize = wo.standardize; /* both see the same text */
    double t0 = ex_now();
    sn_bpe_t *bpe = NULL;
    ex_check(sn_bpe_train(train_texts, (size_t)n_train, &o, &bpe),
             "sn_bpe_train");
    double t1 = ex_now();
    sn_ragged_t *a = encode_set(bpe, train_texts, train_labels, n_train,
                                maxlen, pad, train);
    sn_ragged_t *b = encode_set(bpe, test_texts, test_labels, n_test,
                                maxlen, pad, test);
    stats->train_s = t1 - t0;
    stats->encode_s = ex_now() - t1;
    long longer = 0;
    for (int i = 0; i < n_test; i++) {
        size_t len = 0;
        sn_ragged_row(b, (size_t)i, &len);
        longer += (long)len > maxlen;
    }
    stats->bpe_vocab = sn_bpe_vocab_size(bpe);
    stats->bpe_oov_rate = 0.0;
    stats->bpe_mean_len = n_test > 0
        ? (double)sn_ragged_offsets(b)[n_test] / n_test : 0.0;
    stats->bpe_truncated = n_test > 0 ? (double)longer / n_test : 0.0;
    sn_ragged_free(a);
    sn_ragged_free(b);
    return bpe;
}

void ex_subword_report(ex_report *r, const ex_subword_stats *s,
                       double word_accuracy, double bpe_accuracy,
                       double word_train_s, double bpe_train_s)
{
    ex_section(r, "Words or sub-words");
    static const char *const head[] = { "vocabulary", "size", "OOV rate",
                                        "tokens / review", "truncated",
                                        "test accuracy", "training" };
    char cells[2][7][32];
    const char *cell[14];
    for (int k = 0; k < 2; k++) {
        bool word = k == 0;
        double acc = word ? word_accuracy : bpe_accuracy;
        snprintf(cells[k][0], 32, "%s", word ? "words" : "BPE sub-words");
        snprintf(cells[k][1], 32, "%d", word ? s->word_vocab : s->bpe_vocab);
        snprintf(cells[k][2], 32, "%.2f %%",
                 100.0 * (word ? s->word_oov_rate : s->bpe_oov_rate));
        snprintf(cells[k][3], 32, "%.0f",
                 word ? s->word_mean_len : s->bpe_mean_len);
        snprintf(cells[k][4], 32, "%.0f %% > %d",
                 100.0 * (word ? s->word_truncated : s->bpe_truncated),
                 s->maxlen);
        if (acc >= 0) {   /* a model was trained on this vocabulary */
            snprintf(cells[k][5], 32, "%.4f", acc);
            snprintf(cells[k][6], 32, "%.0f s",
                     word ? word_train_s : bpe_train_s);
        } else {
            snprintf(cells[k][5], 32, "-");
            snprintf(cells[k][6], 32, "-");
        }
        for (int j = 0; j < 7; j++)
            cell[k * 7 + j] = cells[k][j];
    }
    ex_table(r, 7, head, 2, cell);
    ex_say(r, "The BPE vocabulary was learned on the training reviews in "
           "%.1f s and encoded both sets in %.1f s.  No sub-word input is "
           "ever out of vocabulary: a word the merges do not cover falls "
           "back to smaller pieces, down to single bytes, where the word "
           "vocabulary maps %.2f %% of the test tokens to [UNK].  The price "
           "is length: %.0f sub-words per review against %.0f words, so "
           "more reviews are cut at %d.", s->train_s, s->encode_s,
           100.0 * s->word_oov_rate, s->bpe_mean_len, s->word_mean_len,
           s->maxlen);
}

/* ------------------------------------------------------ vector queries */

static void neighbours_line(ex_report *r, const sn_wordvec_t *wv,
                            const char *word)
{
    int id = sn_wordvec_lookup(wv, word);
    if (id < 0)
        return;
    int ids[5], found = 0;
    float sc[5];
    if (sn_wordvec_neighbours(wv, id, 5, ids, sc, &found) != SN_OK ||
        found == 0)
        return;
    char line[512];
    int at = snprintf(line, sizeof line, "Nearest to *%s*:", word);
    for (int k = 0; k < found && at < (int)sizeof line; k++)
        at += snprintf(line + at, sizeof line - (size_t)at, "%s %s (%.2f)",
                       k > 0 ? "," : "", sn_wordvec_word(wv, ids[k]),
                       sc[k]);
    ex_say(r, "%s.", line);
}

static void analogy_line(ex_report *r, const sn_wordvec_t *wv,
                         const char *a, const char *b, const char *c)
{
    int ia = sn_wordvec_lookup(wv, a), ib = sn_wordvec_lookup(wv, b);
    int ic = sn_wordvec_lookup(wv, c);
    if (ia < 0 || ib < 0 || ic < 0) {
        ex_say(r, "*%s - %s + %s*: not every word is in the vocabulary.", a,
               b, c);
        return;
    }
    int ids[3], found = 0;
    float sc[3];
    if (sn_wordvec_analogy(wv, ia, ib, ic, 3, ids, sc, &found) != SN_OK ||
        found == 0)
        return;
    char line[512];
    int at = snprintf(line, sizeof line, "*%s - %s + %s* =", a, b, c);
    for (int k = 0; k < found && at < (int)sizeof line; k++)
        at += snprintf(line + at, sizeof line - (size_t)at, "%s %s (%.2f)",
                       k > 0 ? "," : "", sn_wordvec_word(wv, ids[k]),
                       sc[k]);
    ex_say(r, "%s.", line);
}

/* A copy of the vectors with the mean of the rows that have one removed:
 * GloVe vectors share a large common component (word frequency) that puts
 * every cosine near 1 (Mu and Viswanath 2018); vectors already centred
 * have a mean near zero and are left as they are. */
static float *centred(const float *vectors, int n, int dim)
{
    float *c = xcalloc_or_exit((size_t)n * (size_t)dim, sizeof *c);
    double *mean = xcalloc_or_exit((size_t)dim, sizeof *mean);
    memcpy(c, vectors, (size_t)n * (size_t)dim * sizeof *c);
    int rows = 0;
    for (int i = 0; i < n; i++) {
        const float *v = c + (size_t)i * dim;
        bool nz = false;
        for (int k = 0; k < dim; k++)
            nz = nz || v[k] != 0.0f;
        for (int k = 0; k < dim && nz; k++)
            mean[k] += v[k];
        rows += nz;
    }
    for (int i = 0; i < n && rows > 0; i++) {
        float *v = c + (size_t)i * dim;
        bool nz = false;
        for (int k = 0; k < dim; k++)
            nz = nz || v[k] != 0.0f;
        for (int k = 0; k < dim && nz; k++)
            v[k] -= (float)(mean[k] / rows);
    }
    free(mean);
    return c;
}

void ex_vector_queries(ex_report *r, const float *vectors, int n_vocab,
                       int dim, const char *const *vocab)
{
    ex_section(r, "What the vectors learned");
    sn_wordvec_t *wv = NULL;
    float *c = centred(vectors, n_vocab, dim);
    ex_check(sn_wordvec_new(c, n_vocab, dim, vocab, &wv), "sn_wordvec_new");
    free(c);
    ex_say(r, "Cosine similarity over the %d-d vectors of %d words (mean "
           "vector removed): one matrix-vector product per query, the best "
           "k kept in a heap (sn_wordvec_*).", dim, n_vocab);
    static const char *const probes[] = { "great", "terrible", "boring",
                                          "actor", "plot" };
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++)
        neighbours_line(r, wv, probes[i]);
    ex_say(r, "Analogies (a - b + c, unit vectors, the three words left "
           "out, as gensim's most_similar):");
    analogy_line(r, wv, "actor", "man", "woman");
    analogy_line(r, wv, "better", "good", "bad");
    analogy_line(r, wv, "king", "man", "woman");
    sn_wordvec_free(wv);
}
