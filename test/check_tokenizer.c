/*
 * check_tokenizer.c - pad_sequences and the Keras Tokenizer through the
 * public API: every padding / truncating combination of Keras'
 * pad_sequences documentation, maxlen None and 0-length rows, bad offsets
 * and buffers; Tokenizer word_index ranking (count, then first
 * appearance), oov_token at 1, num_words cut-off in both directions,
 * word_counts / word_docs / document_count, repeated fits, saving alone
 * and with a model, corrupt files, and out-of-memory at every allocation.
 */
#include <check.h>
#include <seqnet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/counting_alloc.h"
#include "support/testkit.h"

/* ------------------------------------------------------ pad_sequences */

/* [[1], [2, 3], [4, 5, 6]] flat */
static const int32_t ids3[] = { 1, 2, 3, 4, 5, 6 };
static const size_t off3[] = { 0, 1, 3, 6 };

static void expect_pad(int maxlen, sn_seq_side padding, sn_seq_side trunc,
                       int32_t value, const int32_t *want, int width)
{
    sn_pad_opts o = SN_PAD_OPTS_INIT;
    o.maxlen = maxlen;
    o.padding = padding;
    o.truncating = trunc;
    o.value = value;
    ck_assert_int_eq(sn_pad_width(off3, 3, &o), width);
    int32_t out[3 * 8];
    memset(out, 0x7f, sizeof out);
    ck_assert_msg(sn_pad_sequences(ids3, off3, 3, &o, out, 3 * 8) == SN_OK,
                  "%s", sn_last_error());
    for (int i = 0; i < 3 * width; i++)
        ck_assert_msg(out[i] == want[i], "maxlen %d pad %d trunc %d: cell "
                      "%d is %d, want %d", maxlen, padding, trunc, i,
                      (int)out[i], (int)want[i]);
}

START_TEST(test_pad_keras_cases)
{
    /* keras.utils.pad_sequences([[1], [2, 3], [4, 5, 6]]) and friends */
    const int32_t pre[] = { 0, 0, 1, 0, 2, 3, 4, 5, 6 };
    expect_pad(0, SN_SIDE_PRE, SN_SIDE_PRE, 0, pre, 3);
    const int32_t post[] = { 1, 0, 0, 2, 3, 0, 4, 5, 6 };
    expect_pad(0, SN_SIDE_POST, SN_SIDE_PRE, 0, post, 3);
    /* maxlen=2: truncating='pre' keeps the last two */
    const int32_t cut_pre[] = { 0, 1, 2, 3, 5, 6 };
    expect_pad(2, SN_SIDE_PRE, SN_SIDE_PRE, 0, cut_pre, 2);
    const int32_t cut_post[] = { 0, 1, 2, 3, 4, 5 };
    expect_pad(2, SN_SIDE_PRE, SN_SIDE_POST, 0, cut_post, 2);
    const int32_t cut_post_pad_post[] = { 1, 0, 2, 3, 4, 5 };
    expect_pad(2, SN_SIDE_POST, SN_SIDE_POST, 0, cut_post_pad_post, 2);
    /* value=-1, wider than the longest */
    const int32_t wide[] = { -1, -1, -1, 1, -1, -1, 2, 3, -1, 4, 5, 6 };
    expect_pad(4, SN_SIDE_PRE, SN_SIDE_PRE, -1, wide, 4);
    const int32_t wide_post[] = { 1, 9, 9, 9, 2, 3, 9, 9, 4, 5, 6, 9 };
    expect_pad(4, SN_SIDE_POST, SN_SIDE_POST, 9, wide_post, 4);
    /* maxlen 1 */
    const int32_t one[] = { 1, 3, 6 };
    expect_pad(1, SN_SIDE_POST, SN_SIDE_PRE, 0, one, 1);
    const int32_t one_post[] = { 1, 2, 4 };
    expect_pad(1, SN_SIDE_POST, SN_SIDE_POST, 0, one_post, 1);
}
END_TEST

START_TEST(test_pad_edges)
{
    /* NULL opts are Keras' defaults; an empty row is all padding */
    const int32_t ids[] = { 7, 8 };
    const size_t off[] = { 0, 0, 2 };
    int32_t out[4] = { 5, 5, 5, 5 };
    ck_assert_int_eq(sn_pad_width(off, 2, NULL), 2);
    ck_assert_int_eq(sn_pad_sequences(ids, off, 2, NULL, out, 4), SN_OK);
    ck_assert_int_eq(out[0], 0);
    ck_assert_int_eq(out[1], 0);
    ck_assert_int_eq(out[2], 7);
    ck_assert_int_eq(out[3], 8);
    /* no sequences: width 0, nothing written */
    const size_t none[] = { 0 };
    ck_assert_int_eq(sn_pad_width(none, 0, NULL), 0);
    ck_assert_int_eq(sn_pad_sequences(NULL, none, 0, NULL, NULL, 0), SN_OK);
    /* all empty: width 0 */
    const size_t empty[] = { 0, 0, 0 };
    ck_assert_int_eq(sn_pad_width(empty, 2, NULL), 0);
    /* too small an output */
    ck_assert_int_eq(sn_pad_sequences(ids, off, 2, NULL, out, 3),
                     SN_ERR_SHAPE);
    tk_expect_error_mentions("needed");
    /* bad offsets */
    const size_t bad_start[] = { 1, 2 };
    ck_assert_int_eq(sn_pad_width(bad_start, 1, NULL), SN_ERR_INVALID_ARG);
    const size_t backwards[] = { 0, 2, 1 };
    ck_assert_int_eq(sn_pad_sequences(ids, backwards, 2, NULL, out, 4),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("offsets");
    ck_assert_int_eq(sn_pad_width(NULL, 1, NULL), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_pad_sequences(NULL, off, 2, NULL, out, 4),
                     SN_ERR_INVALID_ARG);
    /* bad options */
    sn_pad_opts o = SN_PAD_OPTS_INIT;
    o.maxlen = -1;
    ck_assert_int_eq(sn_pad_width(off, 2, &o), SN_ERR_INVALID_ARG);
    o.maxlen = 0;
    o.padding = (sn_seq_side)7;
    ck_assert_int_eq(sn_pad_sequences(ids, off, 2, &o, out, 4),
                     SN_ERR_INVALID_ARG);
    o = (sn_pad_opts)SN_PAD_OPTS_INIT;
    o.size = 3;
    ck_assert_int_eq(sn_pad_width(off, 2, &o), SN_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------ tokenizer */

static const char *const corpus[] = {
    "The cat sat on the mat.",
    "The dog ate my homework!",
    "the cat",
};

static sn_tokenizer_t *fitted(int num_words, const char *oov)
{
    sn_tokenizer_opts o = SN_TOKENIZER_OPTS_INIT;
    o.num_words = num_words;
    o.oov_token = oov;
    sn_tokenizer_t *t = sn_tokenizer_new(&o);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(sn_tokenizer_fit(t, corpus, 3), SN_OK);
    return t;
}

static void expect_row(const sn_ragged_t *r, size_t i, const int32_t *want,
                       size_t n)
{
    size_t len = 99;
    const int32_t *row = sn_ragged_row(r, i, &len);
    ck_assert_ptr_nonnull(row);
    ck_assert_uint_eq(len, n);
    for (size_t j = 0; j < n; j++)
        ck_assert_msg(row[j] == want[j], "row %zu id %zu: %d, want %d", i, j,
                      (int)row[j], (int)want[j]);
}

START_TEST(test_word_index_like_keras)
{
    sn_tokenizer_t *t = fitted(0, "<OOV>");
    /* Keras: {'<OOV>': 1, 'the': 2, 'cat': 3, 'sat': 4, 'on': 5,
     * 'mat': 6, 'dog': 7, 'ate': 8, 'my': 9, 'homework': 10} */
    static const char *const want[] = { "<OOV>", "the", "cat", "sat", "on",
                                        "mat", "dog", "ate", "my",
                                        "homework" };
    ck_assert_int_eq(sn_tokenizer_word_count(t), 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_str_eq(sn_tokenizer_word(t, i + 1), want[i]);
        ck_assert_int_eq(sn_tokenizer_index(t, want[i]), i + 1);
    }
    ck_assert_ptr_null(sn_tokenizer_word(t, 0));
    ck_assert_ptr_null(sn_tokenizer_word(t, 11));
    ck_assert_int_eq(sn_tokenizer_index(t, "zebra"), 0);
    /* word_counts, word_docs, document_count */
    ck_assert_int_eq(sn_tokenizer_counts(t, 2), 4);
    ck_assert_int_eq(sn_tokenizer_docs(t, 2), 3);
    ck_assert_int_eq(sn_tokenizer_counts(t, 3), 2);
    ck_assert_int_eq(sn_tokenizer_docs(t, 3), 2);
    ck_assert_int_eq(sn_tokenizer_counts(t, 1), 0); /* never in the texts */
    ck_assert_int_eq(sn_tokenizer_counts(t, 11), -1);
    ck_assert_int_eq(sn_tokenizer_document_count(t), 3);
    /* a second fit adds up and re-ranks: "dog" (5) overtakes "the" (4) */
    const char *more[] = { "dog dog dog dog" };
    ck_assert_int_eq(sn_tokenizer_fit(t, more, 1), SN_OK);
    ck_assert_str_eq(sn_tokenizer_word(t, 2), "dog");
    ck_assert_str_eq(sn_tokenizer_word(t, 3), "the");
    ck_assert_int_eq(sn_tokenizer_counts(t, 2), 5);
    ck_assert_int_eq(sn_tokenizer_docs(t, 2), 2);
    ck_assert_int_eq(sn_tokenizer_document_count(t), 4);
    sn_tokenizer_free(t);
}
END_TEST

START_TEST(test_sequences_num_words_and_oov)
{
    const char *texts[] = { "the cat ate a fish", "", "The MAT" };
    /* num_words 5 keeps indices 1 .. 4; the rest become <OOV> (1) */
    sn_tokenizer_t *t = fitted(5, "<OOV>");
    sn_ragged_t *r = NULL;
    ck_assert_int_eq(sn_tokenizer_texts_to_sequences(t, texts, 3, &r), SN_OK);
    ck_assert_uint_eq(sn_ragged_count(r), 3);
    expect_row(r, 0, (const int32_t[]){ 2, 3, 1, 1, 1 }, 5);
    expect_row(r, 1, NULL, 0);
    expect_row(r, 2, (const int32_t[]){ 2, 1 }, 2);
    ck_assert_uint_eq(sn_ragged_offsets(r)[3], 7);
    char buf[64];
    size_t need = 0;
    const int32_t back[] = { 2, 3, 8, 0, 99 };
    ck_assert_int_eq(sn_tokenizer_sequence_to_text(t, back, 5, buf,
                                                   sizeof buf, &need), SN_OK);
    ck_assert_str_eq(buf, "the cat <OOV> <OOV>");
    ck_assert_uint_eq(need, strlen(buf));
    /* too small a buffer */
    ck_assert_int_eq(sn_tokenizer_sequence_to_text(t, back, 5, buf, 8,
                                                   &need), SN_ERR_INVALID_ARG);
    ck_assert_uint_eq(need, strlen("the cat <OOV> <OOV>"));
    sn_ragged_free(r);
    sn_tokenizer_free(t);
    /* without an oov_token the words are dropped */
    t = fitted(5, NULL);
    ck_assert_int_eq(sn_tokenizer_word_count(t), 9);
    ck_assert_str_eq(sn_tokenizer_word(t, 1), "the");
    ck_assert_int_eq(sn_tokenizer_texts_to_sequences(t, texts, 3, &r), SN_OK);
    expect_row(r, 0, (const int32_t[]){ 1, 2 }, 2);
    expect_row(r, 2, (const int32_t[]){ 1 }, 1);
    const int32_t back2[] = { 1, 2, 7, 0, 99 };
    ck_assert_int_eq(sn_tokenizer_sequence_to_text(t, back2, 5, buf,
                                                   sizeof buf, NULL), SN_OK);
    ck_assert_str_eq(buf, "the cat");
    /* padded like Keras: pre */
    int32_t out[3 * 2];
    ck_assert_int_eq(sn_pad_sequences(sn_ragged_ids(r), sn_ragged_offsets(r),
                                      3, NULL, out, 6), SN_OK);
    const int32_t want[] = { 1, 2, 0, 0, 0, 1 };
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(out[i], want[i]);
    sn_ragged_free(r);
    sn_tokenizer_free(t);
}
END_TEST

START_TEST(test_tokenizer_bad_arguments)
{
    sn_tokenizer_opts o = SN_TOKENIZER_OPTS_INIT;
    o.num_words = -1;
    ck_assert_ptr_null(sn_tokenizer_new(&o));
    o.num_words = 0;
    o.oov_token = "two words";
    ck_assert_ptr_null(sn_tokenizer_new(&o));
    o.oov_token = "";
    ck_assert_ptr_null(sn_tokenizer_new(&o));
    o.oov_token = "\xff";
    ck_assert_ptr_null(sn_tokenizer_new(&o));
    sn_tokenizer_t *t = sn_tokenizer_new(NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(sn_tokenizer_word_count(t), 0);
    const char *bad[] = { "a", NULL };
    ck_assert_int_eq(sn_tokenizer_fit(t, bad, 2), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_tokenizer_fit(NULL, bad, 1), SN_ERR_INVALID_ARG);
    sn_ragged_t *r = (sn_ragged_t *)1;
    ck_assert_int_eq(sn_tokenizer_texts_to_sequences(t, bad, 2, &r),
                     SN_ERR_INVALID_ARG);
    ck_assert_ptr_null(r);
    ck_assert_ptr_null(sn_ragged_row(NULL, 0, NULL));
    ck_assert_uint_eq(sn_ragged_count(NULL), 0);
    sn_ragged_free(NULL);
    sn_tokenizer_free(t);
    sn_tokenizer_free(NULL);
}
END_TEST

static void expect_same(const sn_tokenizer_t *a, const sn_tokenizer_t *b)
{
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(sn_tokenizer_word_count(a), sn_tokenizer_word_count(b));
    for (int i = 1; i <= sn_tokenizer_word_count(a); i++) {
        ck_assert_str_eq(sn_tokenizer_word(a, i), sn_tokenizer_word(b, i));
        ck_assert_int_eq(sn_tokenizer_counts(a, i), sn_tokenizer_counts(b, i));
        ck_assert_int_eq(sn_tokenizer_docs(a, i), sn_tokenizer_docs(b, i));
    }
    ck_assert_int_eq(sn_tokenizer_document_count(a),
                     sn_tokenizer_document_count(b));
}

START_TEST(test_tokenizer_saved_alone_and_with_model)
{
    sn_tokenizer_t *t = fitted(4, "<OOV>");
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_tokenizer_save_buffer(t, &data, &len), SN_OK);
    sn_tokenizer_t *back = NULL;
    ck_assert_int_eq(sn_tokenizer_load_buffer(data, len, &back), SN_OK);
    expect_same(t, back);
    /* num_words came back: "sat" (4) is out of vocabulary */
    const char *s = "sat cat";
    sn_ragged_t *r = NULL;
    ck_assert_int_eq(sn_tokenizer_texts_to_sequences(back, &s, 1, &r), SN_OK);
    expect_row(r, 0, (const int32_t[]){ 1, 3 }, 2);
    sn_ragged_free(r);
    sn_tokenizer_free(back);
    /* every truncation and every flipped byte fails cleanly */
    uint8_t *bad = malloc(len);
    ck_assert_ptr_nonnull(bad);
    for (size_t cut = 0; cut < len; cut++) {
        back = (sn_tokenizer_t *)1;
        ck_assert_int_eq(sn_tokenizer_load_buffer(data, cut, &back),
                         SN_ERR_FORMAT);
        ck_assert_ptr_null(back);
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, data, len);
        bad[i] ^= 0x20;
        ck_assert_int_eq(sn_tokenizer_load_buffer(bad, len, &back),
                         SN_ERR_FORMAT);
    }
    free(bad);
    sn_free(data);
    /* with a model */
    sn_model_t *m = sn_model_new(NULL);
    int in = sn_input_tokens(m, 4);
    int e = sn_apply(m, sn_embedding(12, 3, NULL), in);
    int p = sn_apply(m, sn_global_average_pooling1d(), e);
    ck_assert_int_ge(sn_apply(m, sn_dense(1, SN_SIGMOID, NULL), p), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_ptr_null(sn_model_tokenizer(m));
    ck_assert_int_eq(sn_model_set_tokenizer(m, t), SN_OK);
    sn_tokenizer_free(t);
    t = NULL;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    sn_model_t *m2 = NULL;
    ck_assert_msg(sn_model_load_buffer(data, len, &m2) == SN_OK, "%s",
                  sn_last_error());
    expect_same(sn_model_tokenizer(m), sn_model_tokenizer(m2));
    ck_assert_int_eq(sn_model_set_tokenizer(m2, NULL), SN_OK);
    ck_assert_ptr_null(sn_model_tokenizer(m2));
    sn_free(data);
    sn_model_free(m2);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ out of memory */

/* Everything once; any step may fail, none may crash or leak. */
static bool cycle(void)
{
    sn_tokenizer_opts o = SN_TOKENIZER_OPTS_INIT;
    o.oov_token = "[?]";
    sn_tokenizer_t *t = sn_tokenizer_new(&o);
    if (t == NULL)
        return false;
    bool ok = sn_tokenizer_fit(t, corpus, 3) == SN_OK;
    sn_ragged_t *r = NULL;
    ok = ok && sn_tokenizer_texts_to_sequences(t, corpus, 3, &r) == SN_OK;
    void *data = NULL;
    size_t len = 0;
    ok = ok && sn_tokenizer_save_buffer(t, &data, &len) == SN_OK;
    sn_tokenizer_t *back = NULL;
    ok = ok && sn_tokenizer_load_buffer(data, len, &back) == SN_OK;
    if (!ok)
        ck_assert(sn_last_error()[0] != '\0');
    sn_tokenizer_free(back);
    sn_free(data);
    sn_ragged_free(r);
    sn_tokenizer_free(t);
    return ok;
}

START_TEST(test_tokenizer_out_of_memory_everywhere)
{
    tk_fail_every_allocation(cycle, 10);
}
END_TEST

static Suite *tokenizer_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pad_keras_cases);
    tcase_add_test(tc, test_pad_edges);
    tcase_add_test(tc, test_word_index_like_keras);
    tcase_add_test(tc, test_sequences_num_words_and_oov);
    tcase_add_test(tc, test_tokenizer_bad_arguments);
    tcase_add_test(tc, test_tokenizer_saved_alone_and_with_model);
    tcase_add_test(tc, test_tokenizer_out_of_memory_everywhere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(tokenizer_suite());
}
