/*
 * check_text.c - the text vectorizer (Keras TextVectorization) through the
 * public API: standardization by hand-worked examples (punctuation, HTML
 * breaks, multi-byte UTF-8, invalid bytes), frequency ties, max_tokens,
 * OOV, every padding/truncation combination, bigrams, multi_hot / count /
 * tf_idf values, decoding, vocabulary get/set, saving alone and with a
 * model, corrupt files, bad arguments, out-of-memory; and an integration
 * test over the real IMDB training set when it is available.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <seqnet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/counting_alloc.h"
#include "support/imdb_data.h"
#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

static sn_vectorizer_t *make(int max_tokens, int ngrams, sn_output_mode mode,
                             int length)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.max_tokens = max_tokens;
    o.ngrams = ngrams;
    o.output_mode = mode;
    o.output_sequence_length = length;
    sn_vectorizer_t *v = sn_vectorizer_new(&o);
    ck_assert_msg(v != NULL, "%s", sn_last_error());
    return v;
}

static void adapt(sn_vectorizer_t *v, const char *const *texts, size_t n)
{
    sn_status st = sn_vectorizer_adapt(v, texts, n);
    ck_assert_msg(st == SN_OK, "%s", sn_last_error());
}

/* Asserts the whole vocabulary, specials included. */
static void expect_vocab(const sn_vectorizer_t *v, const char *const *want,
                         int n)
{
    ck_assert_int_eq(sn_vectorizer_vocab_size(v), n);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(sn_vectorizer_token(v, i), want[i]);
}

static void expect_ids(const int32_t *got, const int32_t *want, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "id %d: got %d, want %d", i,
                      (int)got[i], (int)want[i]);
}

/* The decoded text of one transformed string (INT mode, width <= 64). */
static void round_text(const sn_vectorizer_t *v, const char *text,
                       const char *want)
{
    int32_t ids[64];
    int w = sn_vectorizer_output_width(v, &text, 1);
    ck_assert_int_ge(w, 0);
    ck_assert_int_le(w, 64);
    ck_assert_int_eq(sn_vectorizer_transform(v, &text, 1, ids), SN_OK);
    char buf[256];
    ck_assert_int_eq(sn_vectorizer_decode(v, ids, (size_t)w, buf, sizeof buf,
                                          NULL), SN_OK);
    ck_assert_str_eq(buf, want);
}

/* ------------------------------------------------------- standardize */

START_TEST(test_punctuation_html_and_ties)
{
    sn_vectorizer_t *v = make(0, 1, SN_OUTPUT_INT, 0);
    const char *texts[] = { "Don't STOP!<br />Believing... <BR>it<br/>" };
    adapt(v, texts, 1);
    /* every count is 1: ties in descending byte order, as Keras */
    const char *want[] = { "", "[UNK]", "stop", "it", "dont", "believing" };
    expect_vocab(v, want, 6);
    /* Keras would give "br" tokens: the breaks are spaces here */
    ck_assert_int_eq(sn_vectorizer_lookup(v, "br"), 1);
    round_text(v, "(it) \"STOP\", don't-believing?!", "it stop [UNK]");
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_utf8_case_and_emoji)
{
    sn_vectorizer_t *v = make(0, 1, SN_OUTPUT_INT, 0);
    const char *texts[] = { "Caf\xc3\xa9 NA\xc3\x8fVE \xce\xa9mega "
                            "\xf0\x9f\x98\x80X \xd0\x9f\xd0\xa0\xd0\x98"
                            "\xd0\x92\xd0\x95\xd0\xa2 \xc4\xb0stanbul" };
    adapt(v, texts, 1);
    /* café naïve ωmega 😀x привет istanbul */
    ck_assert_int_ne(sn_vectorizer_lookup(v, "caf\xc3\xa9"), 1);
    ck_assert_int_ne(sn_vectorizer_lookup(v, "na\xc3\xafve"), 1);
    ck_assert_int_ne(sn_vectorizer_lookup(v, "\xcf\x89mega"), 1);
    ck_assert_int_ne(sn_vectorizer_lookup(v, "\xf0\x9f\x98\x80x"), 1);
    ck_assert_int_ne(sn_vectorizer_lookup(v, "\xd0\xbf\xd1\x80\xd0\xb8"
                                             "\xd0\xb2\xd0\xb5\xd1\x82"), 1);
    ck_assert_int_ne(sn_vectorizer_lookup(v, "istanbul"), 1);
    ck_assert_int_eq(sn_vectorizer_vocab_size(v), 8);
    round_text(v, "CAF\xc3\x89 \xf0\x9f\x98\x80x",
               "caf\xc3\xa9 \xf0\x9f\x98\x80x");
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_invalid_utf8_becomes_replacement)
{
    sn_vectorizer_t *v = make(0, 1, SN_OUTPUT_INT, 0);
    /* a stray byte inside a word, a truncated 3-byte sequence at the end,
     * an overlong '/' (C0 AF) and a surrogate (ED A0 80) */
    const char *texts[] = { "a\xff" "b \xe2\x82", "\xc0\xaf \xed\xa0\x80" };
    adapt(v, texts, 2);
    const char *rep = "\xef\xbf\xbd";
    char two[16], three[16], ab[16];
    snprintf(two, sizeof two, "%s%s", rep, rep);
    snprintf(three, sizeof three, "%s%s%s", rep, rep, rep);
    snprintf(ab, sizeof ab, "a%sb", rep);
    /* each invalid byte is one U+FFFD; counts: "\uFFFD\uFFFD" twice */
    const char *want[] = { "", "[UNK]", two, three, ab };
    expect_vocab(v, want, 5);
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_standardize_flags)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.standardize = SN_STANDARDIZE_NONE;
    sn_vectorizer_t *v = sn_vectorizer_new(&o);
    ck_assert_ptr_nonnull(v);
    const char *texts[] = { "Hi, <br /> HI" };
    adapt(v, texts, 1);
    const char *want[] = { "", "[UNK]", "Hi,", "HI", "<br", "/>" };
    expect_vocab(v, want, 6);
    sn_vectorizer_free(v);
}
END_TEST

/* --------------------------------------------------- vocabulary and ids */

START_TEST(test_frequency_max_tokens_and_oov)
{
    const char *texts[] = { "b a c a b d", "c" };
    sn_vectorizer_t *v = make(0, 1, SN_OUTPUT_INT, 0);
    adapt(v, texts, 2);
    const char *all[] = { "", "[UNK]", "c", "b", "a", "d" };
    expect_vocab(v, all, 6);
    sn_vectorizer_free(v);

    v = make(4, 1, SN_OUTPUT_INT, 0); /* 4 ids: "", [UNK], c, b */
    adapt(v, texts, 2);
    expect_vocab(v, all, 4);
    ck_assert_int_eq(sn_vectorizer_lookup(v, "a"), 1);
    ck_assert_int_eq(sn_vectorizer_lookup(v, ""), 0);
    const char *t = "a b zz c";
    int32_t ids[4];
    ck_assert_int_eq(sn_vectorizer_output_width(v, &t, 1), 4);
    ck_assert_int_eq(sn_vectorizer_transform(v, &t, 1, ids), SN_OK);
    expect_ids(ids, (const int32_t[]){ 1, 3, 1, 2 }, 4);
    sn_vectorizer_free(v);

    v = make(2, 1, SN_OUTPUT_INT, 0); /* only the special tokens */
    adapt(v, texts, 2);
    ck_assert_int_eq(sn_vectorizer_vocab_size(v), 2);
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_incremental_adapt_equals_one_call)
{
    const char *texts[] = { "one two two", "three three three", "two" };
    sn_vectorizer_t *a = make(0, 1, SN_OUTPUT_INT, 0);
    sn_vectorizer_t *b = make(0, 1, SN_OUTPUT_INT, 0);
    adapt(a, texts, 3);
    ck_assert_int_eq(sn_vectorizer_adapt_add(b, texts, 1), SN_ERR_STATE);
    ck_assert_int_eq(sn_vectorizer_adapt_finish(b), SN_ERR_STATE);
    ck_assert_int_eq(sn_vectorizer_adapt_begin(b), SN_OK);
    ck_assert_int_eq(sn_vectorizer_adapt_add(b, texts, 2), SN_OK);
    /* the old vocabulary serves until finish */
    ck_assert_int_eq(sn_vectorizer_vocab_size(b), 2);
    ck_assert_int_eq(sn_vectorizer_adapt_add(b, texts + 2, 1), SN_OK);
    ck_assert_int_eq(sn_vectorizer_adapt_finish(b), SN_OK);
    const char *want[] = { "", "[UNK]", "two", "three", "one" };
    expect_vocab(a, want, 5);
    expect_vocab(b, want, 5);
    sn_vectorizer_free(a);
    sn_vectorizer_free(b);
}
END_TEST

/* Rows "a b c d e" and "a b" at width 3 in each mode (a = 2 .. e = 6). */
START_TEST(test_every_padding_and_truncation)
{
    static const struct {
        sn_seq_side pad, trunc;
        int32_t want[6];
    } cases[] = {
        { SN_SIDE_POST, SN_SIDE_POST, { 2, 3, 4, 2, 3, 0 } },
        { SN_SIDE_PRE, SN_SIDE_POST, { 2, 3, 4, 0, 2, 3 } },
        { SN_SIDE_POST, SN_SIDE_PRE, { 4, 5, 6, 2, 3, 0 } },
        { SN_SIDE_PRE, SN_SIDE_PRE, { 4, 5, 6, 0, 2, 3 } },
    };
    const char *vocab[] = { "a", "b", "c", "d", "e" };
    const char *texts[] = { "a b c d e", "a b" };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
        o.output_sequence_length = 3;
        o.padding = cases[k].pad;
        o.truncation = cases[k].trunc;
        sn_vectorizer_t *v = sn_vectorizer_new(&o);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, vocab, 5, NULL),
                         SN_OK);
        int32_t ids[6];
        ck_assert_int_eq(sn_vectorizer_output_width(v, texts, 2), 3);
        ck_assert_int_eq(sn_vectorizer_transform(v, texts, 2, ids), SN_OK);
        expect_ids(ids, cases[k].want, 6);
        sn_vectorizer_free(v);
    }
    /* length 0 (Keras None): pad to the longest of the batch */
    sn_vectorizer_t *v = make(0, 1, SN_OUTPUT_INT, 0);
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, vocab, 5, NULL), SN_OK);
    const char *more[] = { "a b", "", "e e e e e" };
    int32_t ids[15];
    ck_assert_int_eq(sn_vectorizer_output_width(v, more, 3), 5);
    ck_assert_int_eq(sn_vectorizer_transform(v, more, 3, ids), SN_OK);
    expect_ids(ids, (const int32_t[]){ 2, 3, 0, 0, 0, 0, 0, 0, 0, 0,
                                       6, 6, 6, 6, 6 }, 15);
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_bigrams)
{
    sn_vectorizer_t *v = make(0, 2, SN_OUTPUT_INT, 0);
    const char *texts[] = { "a b a b" };
    adapt(v, texts, 1);
    /* a:2 b:2 "a b":2 "b a":1; "a b" sorts above its prefix "a" */
    const char *want[] = { "", "[UNK]", "b", "a b", "a", "b a" };
    expect_vocab(v, want, 6);
    /* unigrams first, then bigrams (tf.strings.ngrams order) */
    const char *t = "a b  zz";
    int32_t ids[5];
    ck_assert_int_eq(sn_vectorizer_output_width(v, &t, 1), 5);
    ck_assert_int_eq(sn_vectorizer_transform(v, &t, 1, ids), SN_OK);
    expect_ids(ids, (const int32_t[]){ 4, 2, 1, 3, 1 }, 5);
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_trigrams)
{
    sn_vectorizer_t *v = make(0, 3, SN_OUTPUT_INT, 0);
    /* ids 2.. in this order */
    const char *vocab[] = { "a", "b", "c", "a b", "b c", "a b c", "b c a" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, vocab, 7, NULL), SN_OK);
    /* 4 words: 4 unigrams, 3 bigrams, 2 trigrams, in that order; the
     * bigram and trigram across the double space still join with one */
    const char *t = "a b  c d";
    int32_t ids[9];
    ck_assert_int_eq(sn_vectorizer_output_width(v, &t, 1), 9);
    ck_assert_int_eq(sn_vectorizer_transform(v, &t, 1, ids), SN_OK);
    expect_ids(ids, (const int32_t[]){ 2, 3, 4, 1, 5, 6, 1, 7, 1 }, 9);
    /* one and two words: no trigram at all */
    const char *shorts[] = { "c", "b c" };
    ck_assert_int_eq(sn_vectorizer_output_width(v, shorts, 2), 3);
    int32_t two[6];
    ck_assert_int_eq(sn_vectorizer_transform(v, shorts, 2, two), SN_OK);
    expect_ids(two, (const int32_t[]){ 4, 0, 0, 3, 4, 6 }, 6);
    /* a trigram vocabulary entry needs ngrams >= 3 */
    sn_vectorizer_t *bi = make(0, 2, SN_OUTPUT_INT, 0);
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(bi, vocab, 7, NULL),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("n-gram");
    sn_vectorizer_free(bi);
    /* adapt counts trigrams too */
    sn_vectorizer_t *ad = make(0, 3, SN_OUTPUT_INT, 0);
    const char *corpus[] = { "x y z x y z" };
    adapt(ad, corpus, 1);
    ck_assert_int_eq(sn_vectorizer_vocab_size(ad), 2 + 3 + 3 + 3);
    ck_assert_int_gt(sn_vectorizer_lookup(ad, "x y z"), 1);
    ck_assert_int_gt(sn_vectorizer_lookup(ad, "z x y"), 1);
    sn_vectorizer_free(ad);
    sn_vectorizer_free(v);
}
END_TEST

/* ------------------------------------------------------------- dense */

START_TEST(test_multi_hot_and_count)
{
    const char *texts[] = { "a b a b" };
    const char *t[] = { "b a b", "zz" };
    float row[12];
    sn_vectorizer_t *v = make(0, 2, SN_OUTPUT_MULTI_HOT, 0);
    adapt(v, texts, 1); /* b=2, "a b"=3, a=4, "b a"=5 as above */
    ck_assert_int_eq(sn_vectorizer_output_width(v, t, 2), 6);
    ck_assert_int_eq(sn_vectorizer_transform_dense(v, t, 2, row), SN_OK);
    const float hot[12] = { 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0 };
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(row[i], hot[i]);
    int32_t ids[4];
    ck_assert_int_eq(sn_vectorizer_transform(v, t, 1, ids), SN_ERR_STATE);
    sn_vectorizer_free(v);

    v = make(0, 2, SN_OUTPUT_COUNT, 0);
    adapt(v, texts, 1);
    ck_assert_int_eq(sn_vectorizer_transform_dense(v, t, 2, row), SN_OK);
    const float cnt[12] = { 0, 0, 2, 1, 1, 1, 0, 1, 0, 0, 0, 0 };
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(row[i], cnt[i]);
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_tf_idf)
{
    sn_vectorizer_t *v = make(0, 1, SN_OUTPUT_TF_IDF, 0);
    const char *texts[] = { "a b a b", "b c" };
    adapt(v, texts, 2);
    /* N = 2; b: count 3 df 2, a: count 2 df 1, c: count 1 df 1 */
    const char *want[] = { "", "[UNK]", "b", "a", "c" };
    expect_vocab(v, want, 5);
    double ib = log(1.0 + 2.0 / 3.0), ia = log(2.0), ic = log(2.0);
    double mean = (ib + ia + ic) / 3.0;
    const float *idf = sn_vectorizer_idf(v);
    ck_assert_ptr_nonnull(idf);
    ck_assert_double_eq_tol(idf[0], mean, 1e-6);
    ck_assert_double_eq_tol(idf[1], mean, 1e-6);
    ck_assert_double_eq_tol(idf[2], ib, 1e-6);
    ck_assert_double_eq_tol(idf[3], ia, 1e-6);
    const char *t = "a A b zz";
    float row[5];
    ck_assert_int_eq(sn_vectorizer_transform_dense(v, &t, 1, row), SN_OK);
    ck_assert_float_eq(row[0], 0.0f);
    ck_assert_double_eq_tol(row[1], mean, 1e-6);
    ck_assert_double_eq_tol(row[2], ib, 1e-6);
    ck_assert_double_eq_tol(row[3], 2.0 * ia, 1e-6);
    ck_assert_float_eq(row[4], 0.0f);
    /* tf-idf with bigrams works the same way */
    sn_vectorizer_t *b = make(0, 2, SN_OUTPUT_TF_IDF, 0);
    adapt(b, texts, 2);
    ck_assert_int_eq(sn_vectorizer_vocab_size(b), 8); /* + "a b" "b a" "b c" */
    ck_assert_int_eq(sn_vectorizer_lookup(b, "a b"), 3); /* after b (3) */
    sn_vectorizer_free(b);
    sn_vectorizer_free(v);
}
END_TEST

/* ------------------------------------------------------ decode, vocab */

START_TEST(test_decode)
{
    sn_vectorizer_t *v = make(0, 1, SN_OUTPUT_INT, 0);
    const char *vocab[] = { "the", "movie" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, vocab, 2, NULL), SN_OK);
    const int32_t ids[] = { 0, 2, 1, 3, 0 };
    char buf[64];
    size_t need = 0;
    ck_assert_int_eq(sn_vectorizer_decode(v, ids, 5, buf, sizeof buf, &need),
                     SN_OK);
    ck_assert_str_eq(buf, "the [UNK] movie");
    ck_assert_uint_eq(need, 15);
    /* too small: whole tokens only, and an error that says how much */
    ck_assert_int_eq(sn_vectorizer_decode(v, ids, 5, buf, 12, &need),
                     SN_ERR_INVALID_ARG);
    ck_assert_str_eq(buf, "the [UNK]");
    ck_assert_uint_eq(need, 15);
    const int32_t bad[] = { 2, 4 };
    ck_assert_int_eq(sn_vectorizer_decode(v, bad, 2, buf, sizeof buf, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_ptr_null(sn_vectorizer_token(v, 4));
    ck_assert_ptr_null(sn_vectorizer_token(v, -1));
    sn_vectorizer_free(v);
}
END_TEST

START_TEST(test_vocabulary_get_set)
{
    sn_vectorizer_t *a = make(0, 1, SN_OUTPUT_INT, 0);
    const char *texts[] = { "x y y z z z" };
    adapt(a, texts, 1);
    int n = sn_vectorizer_vocab_size(a);
    const char *tokens[8];
    for (int i = 0; i < n; i++)
        tokens[i] = sn_vectorizer_token(a, i);
    /* the full list (with "" and [UNK]) sets the same vocabulary */
    sn_vectorizer_t *b = make(0, 1, SN_OUTPUT_INT, 0);
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(b, tokens, (size_t)n,
                                                  NULL), SN_OK);
    expect_vocab(b, tokens, n);
    /* refused: each leaves the vocabulary as it was */
    const char *dup[] = { "p", "q", "p" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(b, dup, 3, NULL),
                     SN_ERR_INVALID_ARG);
    const char *empty[] = { "p", "" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(b, empty, 2, NULL),
                     SN_ERR_INVALID_ARG);
    const char *unk[] = { "p", "[UNK]" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(b, unk, 2, NULL),
                     SN_ERR_INVALID_ARG);
    const char *nul[] = { "p", NULL };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(b, nul, 2, NULL),
                     SN_ERR_INVALID_ARG);
    float w[3] = { 1, 2, 3 };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(b, dup, 2, w),
                     SN_ERR_INVALID_ARG); /* idf outside TF_IDF */
    expect_vocab(b, tokens, n);
    sn_vectorizer_t *c = make(3, 1, SN_OUTPUT_INT, 0);
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(c, dup, 2, NULL),
                     SN_ERR_INVALID_ARG); /* 4 ids > max_tokens 3 */
    sn_vectorizer_free(c);
    /* TF_IDF needs weights; without specials they get the mean */
    sn_vectorizer_t *t = make(0, 1, SN_OUTPUT_TF_IDF, 0);
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(t, dup, 2, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(t, dup, 2, w), SN_OK);
    const float *idf = sn_vectorizer_idf(t);
    ck_assert_float_eq(idf[0], 1.5f);
    ck_assert_float_eq(idf[1], 1.5f);
    ck_assert_float_eq(idf[3], 2.0f);
    sn_vectorizer_free(t);
    sn_vectorizer_free(a);
    sn_vectorizer_free(b);
}
END_TEST

START_TEST(test_bad_arguments)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.ngrams = SN_VECTORIZER_MAX_NGRAMS + 1;
    ck_assert_ptr_null(sn_vectorizer_new(&o));
    tk_expect_error_mentions("ngrams");
    o.ngrams = 0;
    ck_assert_ptr_null(sn_vectorizer_new(&o));
    tk_expect_error_mentions("ngrams");
    o = (sn_vectorizer_opts)SN_VECTORIZER_OPTS_INIT;
    o.max_tokens = 1;
    ck_assert_ptr_null(sn_vectorizer_new(&o));
    o = (sn_vectorizer_opts)SN_VECTORIZER_OPTS_INIT;
    o.output_mode = SN_OUTPUT_COUNT;
    o.output_sequence_length = 5;
    ck_assert_ptr_null(sn_vectorizer_new(&o));
    o = (sn_vectorizer_opts)SN_VECTORIZER_OPTS_INIT;
    o.size = 3;
    ck_assert_ptr_null(sn_vectorizer_new(&o));

    sn_vectorizer_t *v = sn_vectorizer_new(NULL);
    ck_assert_ptr_nonnull(v);
    const char *with_null[] = { "ok", NULL };
    ck_assert_int_eq(sn_vectorizer_adapt(v, with_null, 2),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_vectorizer_adapt(v, NULL, 1), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_vectorizer_adapt(NULL, with_null, 1),
                     SN_ERR_INVALID_ARG);
    int32_t ids[4];
    ck_assert_int_eq(sn_vectorizer_transform(v, with_null, 2, ids),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_vectorizer_transform(v, with_null, 1, NULL),
                     SN_ERR_INVALID_ARG);
    float row[2];
    ck_assert_int_eq(sn_vectorizer_transform_dense(v, with_null, 1, row),
                     SN_ERR_STATE);
    ck_assert_int_lt(sn_vectorizer_lookup(v, NULL), 0);
    ck_assert_int_lt(sn_vectorizer_vocab_size(NULL), 0);
    ck_assert_int_lt(sn_vectorizer_output_width(NULL, with_null, 1), 0);
    /* an empty adapt and transforms before adapt are fine */
    ck_assert_int_eq(sn_vectorizer_adapt(v, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_vectorizer_vocab_size(v), 2);
    sn_vectorizer_opts got = { sizeof got, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(sn_vectorizer_options(v, &got), SN_OK);
    ck_assert_int_eq(got.standardize, SN_STANDARDIZE_DEFAULT);
    ck_assert_int_eq(got.ngrams, 1);
    sn_vectorizer_free(v);
    sn_vectorizer_free(NULL);
}
END_TEST

/* ---------------------------------------------------------- save/load */

static sn_vectorizer_t *sample(sn_output_mode mode)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.max_tokens = 10;
    o.ngrams = 2;
    o.output_mode = mode;
    o.output_sequence_length = mode == SN_OUTPUT_INT ? 6 : 0;
    o.padding = SN_SIDE_PRE;
    o.truncation = SN_SIDE_PRE;
    o.standardize = SN_STANDARDIZE_LOWER | SN_STANDARDIZE_PUNCTUATION;
    sn_vectorizer_t *v = sn_vectorizer_new(&o);
    ck_assert_ptr_nonnull(v);
    const char *texts[] = { "The film, the plot: GREAT!", "na\xc3\xafve plot",
                            "the end" };
    adapt(v, texts, 3);
    return v;
}

static void expect_same(const sn_vectorizer_t *a, const sn_vectorizer_t *b)
{
    sn_vectorizer_opts oa = SN_VECTORIZER_OPTS_INIT, ob = oa;
    ck_assert_int_eq(sn_vectorizer_options(a, &oa), SN_OK);
    ck_assert_int_eq(sn_vectorizer_options(b, &ob), SN_OK);
    ck_assert_int_eq(oa.max_tokens, ob.max_tokens);
    ck_assert_int_eq(oa.ngrams, ob.ngrams);
    ck_assert_int_eq(oa.output_mode, ob.output_mode);
    ck_assert_int_eq(oa.output_sequence_length, ob.output_sequence_length);
    ck_assert_int_eq(oa.padding, ob.padding);
    ck_assert_int_eq(oa.truncation, ob.truncation);
    ck_assert_int_eq(oa.standardize, ob.standardize);
    int n = sn_vectorizer_vocab_size(a);
    ck_assert_int_eq(sn_vectorizer_vocab_size(b), n);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(sn_vectorizer_token(a, i), sn_vectorizer_token(b, i));
    const float *ia = sn_vectorizer_idf(a), *ib = sn_vectorizer_idf(b);
    ck_assert_int_eq(ia == NULL, ib == NULL);
    if (ia != NULL)
        ck_assert_int_eq(memcmp(ia, ib, (size_t)n * sizeof *ia), 0);
}

START_TEST(test_save_load_file_and_buffer)
{
    char dir[] = "/tmp/sn_text_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/v.snv", dir);
    for (int mode = 0; mode <= SN_OUTPUT_TF_IDF; mode++) {
        sn_vectorizer_t *v = sample((sn_output_mode)mode);
        ck_assert_int_eq(sn_vectorizer_save(v, path), SN_OK);
        sn_vectorizer_t *back = NULL;
        ck_assert_msg(sn_vectorizer_load(path, &back) == SN_OK, "%s",
                      sn_last_error());
        expect_same(v, back);
        void *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(sn_vectorizer_save_buffer(v, &data, &len), SN_OK);
        sn_vectorizer_t *again = NULL;
        ck_assert_int_eq(sn_vectorizer_load_buffer(data, len, &again), SN_OK);
        expect_same(v, again);
        sn_free(data);
        sn_vectorizer_free(again);
        sn_vectorizer_free(back);
        sn_vectorizer_free(v);
    }
    sn_vectorizer_t *none = NULL;
    char missing[80];
    snprintf(missing, sizeof missing, "%s/missing.snv", dir);
    ck_assert_int_eq(sn_vectorizer_load(missing, &none), SN_ERR_IO);
    ck_assert_ptr_null(none);
    ck_assert_int_eq(sn_vectorizer_load(dir, &none), SN_ERR_IO);
    ck_assert_int_eq(sn_vectorizer_save(NULL, path), SN_ERR_INVALID_ARG);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* CRC-32 (zlib) to forge files with a valid checksum. */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(test_corrupt_and_truncated_files)
{
    sn_vectorizer_t *v = sample(SN_OUTPUT_TF_IDF);
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_vectorizer_save_buffer(v, &data, &len), SN_OK);
    uint8_t *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    for (size_t i = 0; i < len; i++) { /* every byte flipped */
        memcpy(copy, data, len);
        copy[i] ^= 0x5a;
        sn_vectorizer_t *got = (sn_vectorizer_t *)copy; /* must be reset */
        sn_status st = sn_vectorizer_load_buffer(copy, len, &got);
        ck_assert_msg(st == SN_ERR_FORMAT, "byte %zu: %d", i, (int)st);
        ck_assert_ptr_null(got);
    }
    for (size_t n = 0; n < len; n++) { /* every truncation */
        sn_vectorizer_t *got = NULL;
        ck_assert_int_eq(sn_vectorizer_load_buffer(data, n, &got),
                         SN_ERR_FORMAT);
    }
    /* a newer payload version with a valid CRC: SN_ERR_VERSION */
    memcpy(copy, data, len);
    put_u32(copy + 16, 2);
    put_u32(copy + len - 4, crc32_of(copy, len - 4));
    sn_vectorizer_t *got = NULL;
    ck_assert_int_eq(sn_vectorizer_load_buffer(copy, len, &got),
                     SN_ERR_VERSION);
    /* damage behind a valid CRC (a wild token count) is still refused */
    memcpy(copy, data, len);
    put_u32(copy + 16 + 4 + 7 * 4, 0x7fffffffu);
    put_u32(copy + len - 4, crc32_of(copy, len - 4));
    ck_assert_int_eq(sn_vectorizer_load_buffer(copy, len, &got),
                     SN_ERR_FORMAT);
    /* an invalid option behind a valid CRC */
    memcpy(copy, data, len);
    put_u32(copy + 16 + 4 + 4, 7); /* ngrams */
    put_u32(copy + len - 4, crc32_of(copy, len - 4));
    ck_assert_int_eq(sn_vectorizer_load_buffer(copy, len, &got),
                     SN_ERR_FORMAT);
    ck_assert_int_eq(sn_vectorizer_load_buffer(NULL, len, &got),
                     SN_ERR_INVALID_ARG);
    free(copy);
    sn_free(data);
    sn_vectorizer_free(v);
}
END_TEST

static sn_model_t *tiny_model(void)
{
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_ptr_nonnull(m);
    int t = sn_input_tokens(m, 6);
    int e = sn_apply(m, sn_embedding(10, 4, NULL), t);
    int p = sn_apply(m, sn_global_average_pooling1d(), e);
    ck_assert_int_ge(sn_apply(m, sn_dense(1, SN_SIGMOID, NULL), p), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

START_TEST(test_saved_with_the_model)
{
    sn_model_t *m = tiny_model();
    ck_assert_ptr_null(sn_model_vectorizer(m));
    sn_vectorizer_t *v = sample(SN_OUTPUT_INT);
    ck_assert_int_eq(sn_model_set_vectorizer(m, v), SN_OK);
    ck_assert_ptr_nonnull(sn_model_vectorizer(m));
    ck_assert_ptr_ne(sn_model_vectorizer(m), v); /* a copy */
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    sn_model_t *back = NULL;
    ck_assert_msg(sn_model_load_buffer(data, len, &back) == SN_OK, "%s",
                  sn_last_error());
    expect_same(v, sn_model_vectorizer(back));
    const char *t = "the plot";
    int32_t a[6], b[6];
    ck_assert_int_eq(sn_vectorizer_transform(v, &t, 1, a), SN_OK);
    ck_assert_int_eq(sn_vectorizer_transform(sn_model_vectorizer(back), &t, 1,
                                             b), SN_OK);
    expect_ids(b, a, 6);
    sn_vectorizer_free(v); /* the model's copy outlives the original */
    ck_assert_int_ge(sn_vectorizer_vocab_size(sn_model_vectorizer(m)), 3);
    /* removing it saves a model without the section */
    ck_assert_int_eq(sn_model_set_vectorizer(m, NULL), SN_OK);
    ck_assert_ptr_null(sn_model_vectorizer(m));
    void *plain = NULL;
    size_t plain_len = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &plain, &plain_len), SN_OK);
    ck_assert_uint_lt(plain_len, len);
    sn_model_t *p = NULL;
    ck_assert_int_eq(sn_model_load_buffer(plain, plain_len, &p), SN_OK);
    ck_assert_ptr_null(sn_model_vectorizer(p));
    /* a flipped byte in the section is caught by its CRC */
    uint8_t *bad = malloc(len);
    ck_assert_ptr_nonnull(bad);
    memcpy(bad, data, len);
    bad[plain_len - 16 + 20] ^= 1; /* inside the vocb payload */
    sn_model_t *q = NULL;
    ck_assert_int_eq(sn_model_load_buffer(bad, len, &q), SN_ERR_FORMAT);
    ck_assert_ptr_null(q);
    free(bad);
    ck_assert_int_eq(sn_model_set_vectorizer(NULL, NULL), SN_ERR_INVALID_ARG);
    sn_free(plain);
    sn_free(data);
    sn_model_free(p);
    sn_model_free(back);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ out of memory */

/* One full cycle; any step may fail, none may crash or leak. */
static bool cycle(void)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.ngrams = 2;
    o.output_mode = SN_OUTPUT_TF_IDF;
    sn_vectorizer_t *v = sn_vectorizer_new(&o);
    if (v == NULL)
        return false;
    const char *texts[] = { "Some text, some words<br />more words", "x y z" };
    bool ok = sn_vectorizer_adapt(v, texts, 2) == SN_OK;
    float row[64];
    ok = ok && sn_vectorizer_vocab_size(v) <= 64 &&
         sn_vectorizer_transform_dense(v, texts, 1, row) == SN_OK;
    void *data = NULL;
    size_t len = 0;
    ok = ok && sn_vectorizer_save_buffer(v, &data, &len) == SN_OK;
    sn_vectorizer_t *back = NULL;
    ok = ok && sn_vectorizer_load_buffer(data, len, &back) == SN_OK;
    sn_free(data);
    sn_vectorizer_free(back);
    sn_vectorizer_free(v);
    return ok;
}

START_TEST(test_out_of_memory_everywhere)
{
    tk_fail_every_allocation(cycle, 5); /* the vectorizer uses the allocator */
}
END_TEST

/* ---------------------------------------------------- IMDB integration */

typedef struct corpus {
    char **texts;
    size_t n, cap;
} corpus;

static bool read_dir(corpus *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".txt") == NULL)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *text = malloc((size_t)size + 1);
        ck_assert_ptr_nonnull(text);
        ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
        text[size] = '\0';
        fclose(f);
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1024;
            c->texts = realloc(c->texts, c->cap * sizeof *c->texts);
            ck_assert_ptr_nonnull(c->texts);
        }
        c->texts[c->n++] = text;
    }
    closedir(d);
    return true;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

START_TEST(test_imdb_train_set)
{
    tk_imdb_dir d;
    if (!tk_imdb_find(&d)) {
        tk_skip("test_imdb_train_set", "%s", tk_imdb_skip_reason());
        return;
    }
    corpus c = { NULL, 0, 0 };
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/train/pos", d.root);
    ck_assert(read_dir(&c, dir));
    snprintf(dir, sizeof dir, "%s/train/neg", d.root);
    ck_assert(read_dir(&c, dir));
    ck_assert_uint_eq(c.n, 25000);

    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.max_tokens = 20000;
    o.output_sequence_length = 200;
    sn_vectorizer_t *v = sn_vectorizer_new(&o);
    ck_assert_ptr_nonnull(v);
    const char *const *texts = (const char *const *)c.texts;
    double t0 = now();
    ck_assert_int_eq(sn_vectorizer_adapt(v, texts, c.n), SN_OK);
    double t1 = now();
    int32_t *ids = malloc(c.n * 200 * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t i = 0; i < c.n; i += 256) { /* batch by batch */
        size_t b = c.n - i < 256 ? c.n - i : 256;
        ck_assert_int_eq(sn_vectorizer_transform(v, texts + i, b,
                                                 ids + i * 200), SN_OK);
    }
    double t2 = now();
    printf("IMDB train: %zu reviews, adapt %.2f s, transform %.2f s\n", c.n,
           t1 - t0, t2 - t1);
    ck_assert_int_eq(sn_vectorizer_vocab_size(v), 20000);
    ck_assert_str_eq(sn_vectorizer_token(v, 2), "the");
    ck_assert_int_eq(sn_vectorizer_lookup(v, "br"), 1); /* breaks removed */
    size_t oov = 0, pad = 0;
    for (size_t i = 0; i < c.n * 200; i++) {
        ck_assert(ids[i] >= 0 && ids[i] < 20000);
        oov += ids[i] == 1;
        pad += ids[i] == 0;
    }
    ck_assert_uint_gt(oov, 0);
    ck_assert_uint_lt(oov, c.n * 200 / 10);
    ck_assert_uint_gt(pad, 0);
    ck_assert_msg(t2 - t0 < 30.0 * tk_time_factor(),
                  "adapt + transform took %.1f s (budget 30 s x %g)", t2 - t0,
                  tk_time_factor());
    free(ids);
    sn_vectorizer_free(v);
    for (size_t i = 0; i < c.n; i++)
        free(c.texts[i]);
    free(c.texts);
    tk_imdb_release(&d);
}
END_TEST

/* ------------------------------------------------------------- suite */

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("vectorizer");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_punctuation_html_and_ties);
    tcase_add_test(tc, test_utf8_case_and_emoji);
    tcase_add_test(tc, test_invalid_utf8_becomes_replacement);
    tcase_add_test(tc, test_standardize_flags);
    tcase_add_test(tc, test_frequency_max_tokens_and_oov);
    tcase_add_test(tc, test_incremental_adapt_equals_one_call);
    tcase_add_test(tc, test_every_padding_and_truncation);
    tcase_add_test(tc, test_bigrams);
    tcase_add_test(tc, test_trigrams);
    tcase_add_test(tc, test_multi_hot_and_count);
    tcase_add_test(tc, test_tf_idf);
    tcase_add_test(tc, test_decode);
    tcase_add_test(tc, test_vocabulary_get_set);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_save_load_file_and_buffer);
    tcase_add_test(tc, test_corrupt_and_truncated_files);
    tcase_add_test(tc, test_saved_with_the_model);
    tcase_add_test(tc, test_out_of_memory_everywhere);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("imdb");
    tcase_set_timeout(ti, 600);
    tcase_add_test(ti, test_imdb_train_set);
    suite_add_tcase(s, ti);
    return s;
}

int main(void)
{
    return tk_run_suite(text_suite());
}
