/*
 * check_bpe.c - the byte-pair-encoding tokenizer through the public API:
 * merges learned from small corpora worked out by hand (counts, ties to
 * the smaller ids, min_frequency, vocab_size), the pre-tokenizer's pieces,
 * exact round trips on random byte strings (valid UTF-8, invalid bytes,
 * NUL bytes, runs longer than a piece), special tokens, encode buffer
 * sizes, files (every truncation and flipped byte, a newer version, a
 * forged merge list), the model's "bpev" section, out-of-memory at every
 * allocation, and the IMDB training reviews when they are available.
 */
#include <check.h>
#include <seqnet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/counting_alloc.h"
#include "support/imdb_data.h"
#include "support/testkit.h"

static sn_bpe_t *train(const char *const *texts, size_t n, int vocab,
                       int min_freq)
{
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    o.vocab_size = vocab;
    o.min_frequency = min_freq;
    sn_bpe_t *b = NULL;
    ck_assert_msg(sn_bpe_train(texts, n, &o, &b) == SN_OK, "%s",
                  sn_last_error());
    ck_assert_ptr_nonnull(b);
    return b;
}

/* Token id as a string (the tests' tokens hold no NUL). */
static void expect_token(const sn_bpe_t *b, int id, const char *want)
{
    size_t len = 0;
    const char *s = sn_bpe_token(b, id, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(len == strlen(want) && memcmp(s, want, len) == 0,
                  "token %d is '%.*s', want '%s'", id, (int)len, s, want);
}

static int byte_id(char c)
{
    return SN_BPE_FIRST_BYTE + (unsigned char)c;
}

/* Encodes len bytes and decodes them back: must give the same bytes. */
static size_t round_trip(const sn_bpe_t *b, const char *text, size_t len)
{
    size_t cap = 4 * len + 8, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    char *back = malloc(len + 1);
    ck_assert(ids != NULL && back != NULL);
    ck_assert_msg(sn_bpe_encode(b, text, len, 0, ids, cap, &n) == SN_OK,
                  "%s", sn_last_error());
    ck_assert_uint_le(n, len);
    size_t need = 0;
    ck_assert_int_eq(sn_bpe_decode(b, ids, n, back, len + 1, &need), SN_OK);
    ck_assert_uint_eq(need, len);
    ck_assert_msg(memcmp(back, text, len) == 0, "round trip differs");
    free(ids);
    free(back);
    return n;
}

/* ------------------------------------------------------- hand-checked */

START_TEST(test_merges_by_hand)
{
    /* pieces "ab", " ab", " ab", " abc": (a,b) 4, (' ',a) 3, (b,c) 1 */
    const char *texts[] = { "ab ab ab abc" };
    sn_bpe_t *b = train(texts, 1, 1000, 2);
    ck_assert_int_eq(sn_bpe_vocab_size(b), 262);
    int l = 0, r = 0;
    ck_assert_int_eq(sn_bpe_merge(b, 0, &l, &r), SN_OK);
    ck_assert_int_eq(l, byte_id('a'));
    ck_assert_int_eq(r, byte_id('b'));
    expect_token(b, 260, "ab");
    /* then (' ', "ab") 3; ("ab", c) 1 is below min_frequency 2 */
    ck_assert_int_eq(sn_bpe_merge(b, 1, &l, &r), SN_OK);
    ck_assert_int_eq(l, byte_id(' '));
    ck_assert_int_eq(r, 260);
    expect_token(b, 261, " ab");
    ck_assert_int_eq(sn_bpe_merge(b, 2, &l, &r), SN_ERR_INVALID_ARG);
    int32_t ids[8];
    size_t n = 0;
    ck_assert_int_eq(sn_bpe_encode(b, "ab abc", 6, 0, ids, 8, &n), SN_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[0], 260);
    ck_assert_int_eq(ids[1], 261);
    ck_assert_int_eq(ids[2], byte_id('c'));
    sn_bpe_free(b);
    /* min_frequency 1 adds " abc" and stops: no pair is left */
    b = train(texts, 1, 1000, 1);
    ck_assert_int_eq(sn_bpe_vocab_size(b), 263);
    expect_token(b, 262, " abc");
    sn_bpe_free(b);
    /* vocab_size caps the merges */
    b = train(texts, 1, 261, 1);
    ck_assert_int_eq(sn_bpe_vocab_size(b), 261);
    sn_bpe_free(b);
}
END_TEST

START_TEST(test_ties_and_repeats)
{
    /* "ba", " ab": three pairs seen once; ties go to the smaller ids:
     * (' ', a) = (36, 101), then (b, a) = (102, 101), then (" a", b) */
    const char *texts[] = { "ba ab" };
    sn_bpe_t *b = train(texts, 1, 1000, 1);
    ck_assert_int_eq(sn_bpe_vocab_size(b), 263);
    expect_token(b, 260, " a");
    expect_token(b, 261, "ba");
    expect_token(b, 262, " ab");
    sn_bpe_free(b);
    /* overlapping pairs merge left to right: "aaa" -> (aa)(a); counted
     * in the word "aaaaa" x2: (a,a) 8 -> "aa" ; then words are
     * [aa aa a]: (aa,aa) 2, (aa,a) 2 -> tie, smaller ids: (aa,a)=(260,101)
     * before (aa,aa)=(260,260) */
    const char *more[] = { "aaaaa\naaaaa" };
    b = train(more, 1, 262, 2);
    expect_token(b, 260, "aa");
    expect_token(b, 261, "aaa");
    int32_t ids[8];
    size_t n = 0;
    ck_assert_int_eq(sn_bpe_encode(b, "aaaaa", 5, 0, ids, 8, &n), SN_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ids[0], 260); /* aa, then aaa: (aa, a) merged */
    ck_assert_int_eq(ids[1], 261);
    sn_bpe_free(b);
}
END_TEST

START_TEST(test_pieces_are_never_crossed)
{
    const char *texts[] = {
        "the cat, the hat; 12 cats!!  the end.\n\tthe caf\xc3\xa9 caf\xc3\xa9",
        "the the the, 1234 1234 ... ??? caf\xc3\xa9s",
    };
    sn_bpe_t *b = train(texts, 2, 2000, 1);
    ck_assert_int_gt(sn_bpe_vocab_size(b), 270);
    for (int id = 260; id < sn_bpe_vocab_size(b); id++) {
        size_t len = 0;
        const unsigned char *s =
            (const unsigned char *)sn_bpe_token(b, id, &len);
        bool space = s[0] == ' ' || s[0] == '\n' || s[0] == '\t';
        bool all_space = true;
        for (size_t i = 0; i < len; i++)
            all_space = all_space && (s[i] == ' ' || s[i] == '\n' ||
                                      s[i] == '\t');
        if (all_space)
            continue;
        /* a word piece: at most one leading space, then one class */
        size_t i = s[0] == ' ' ? 1 : 0;
        ck_assert_msg(!space || s[0] == ' ', "token %d starts with a "
                      "non-space blank", id);
        bool letter = s[i] >= 0x80 || ((s[i] | 0x20) >= 'a' &&
                                        (s[i] | 0x20) <= 'z');
        bool digit = s[i] >= '0' && s[i] <= '9';
        for (; i < len; i++) {
            bool l = s[i] >= 0x80 || ((s[i] | 0x20) >= 'a' &&
                                      (s[i] | 0x20) <= 'z');
            bool d = s[i] >= '0' && s[i] <= '9';
            ck_assert_msg(s[i] != ' ' && l == letter && d == digit,
                          "token %d '%.*s' crosses a piece boundary", id,
                          (int)len, (const char *)s);
        }
    }
    /* "caf\xc3\xa9" is one piece: its two UTF-8 bytes stay together */
    int32_t ids[16];
    size_t n = 0;
    ck_assert_int_eq(sn_bpe_encode(b, " caf\xc3\xa9", 6, 0, ids, 16, &n),
                     SN_OK);
    ck_assert_uint_eq(n, 1);
    sn_bpe_free(b);
}
END_TEST

/* ------------------------------------------------------- round trips */

/* A random byte string: ASCII words, multi-byte characters, and with
 * invalid set, stray continuation bytes, 0xff and NUL. */
static size_t random_text(uint32_t *rng, char *out, size_t cap, bool invalid)
{
    static const char *const pieces[] = {
        "the", " ", "movie", "  ", "\n", "caf\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x98\x80", "na\xc3\xafve", "42", "!", "...", "\t", "a",
        "\xd0\x9f\xd1\x80\xd0\xb8", "<br />",
    };
    size_t n = 0;
    size_t want = tk_lcg_next(rng) % (cap / 2);
    while (n < want) {
        uint32_t r = tk_lcg_next(rng);
        if (invalid && r % 7 == 0) {
            static const char bad[] = { (char)0x80, (char)0xff, (char)0xc3,
                                        '\0', (char)0xe2, (char)0xbf };
            out[n++] = bad[(r >> 8) % sizeof bad];
            continue;
        }
        const char *p = pieces[(r >> 4) % (sizeof pieces / sizeof *pieces)];
        size_t len = strlen(p);
        if (n + len >= cap)
            break;
        memcpy(out + n, p, len);
        n += len;
    }
    return n;
}

START_TEST(test_random_round_trips)
{
    uint32_t rng = 12345;
    enum { N = 200, CAP = 600 };
    char *texts[N];
    for (int i = 0; i < N; i++) {
        texts[i] = calloc(CAP + 1, 1);
        ck_assert_ptr_nonnull(texts[i]);
        random_text(&rng, texts[i], CAP, false); /* valid, no NUL */
    }
    sn_bpe_t *b = train((const char *const *)texts, N, 400, 2);
    ck_assert_int_gt(sn_bpe_vocab_size(b), 300);
    char buf[CAP];
    for (int k = 0; k < 500; k++) {
        size_t len = random_text(&rng, buf, CAP, k % 2 == 1);
        round_trip(b, buf, len);
    }
    /* the training texts compress */
    size_t total = 0, ids = 0;
    for (int i = 0; i < N; i++) {
        total += strlen(texts[i]);
        ids += round_trip(b, texts[i], strlen(texts[i]));
    }
    ck_assert_uint_lt(ids * 2, total);
    /* runs longer than a piece, and every single byte */
    char *longrun = malloc(3000);
    ck_assert_ptr_nonnull(longrun);
    for (int i = 0; i < 3000; i++)
        longrun[i] = i % 1000 < 500 ? 'e' : (char)(0xc3 + (i % 2) * -0x1e);
    round_trip(b, longrun, 3000);
    for (int c = 0; c < 256; c++) {
        char one = (char)c;
        round_trip(b, &one, 1);
    }
    free(longrun);
    /* batch encoding equals one-by-one encoding */
    sn_ragged_t *r = NULL;
    ck_assert_int_eq(sn_bpe_encode_batch(b, (const char *const *)texts, N,
                                         0, &r), SN_OK);
    ck_assert_uint_eq(sn_ragged_count(r), N);
    int32_t one[CAP + 2];
    for (int i = 0; i < N; i++) {
        size_t n = 0, len = 0;
        ck_assert_int_eq(sn_bpe_encode(b, texts[i], strlen(texts[i]), 0, one,
                                       CAP + 2, &n), SN_OK);
        const int32_t *row = sn_ragged_row(r, (size_t)i, &len);
        ck_assert_uint_eq(len, n);
        ck_assert(n == 0 || memcmp(row, one, n * sizeof *one) == 0);
    }
    sn_ragged_free(r);
    for (int i = 0; i < N; i++)
        free(texts[i]);
    sn_bpe_free(b);
}
END_TEST

START_TEST(test_specials_and_buffers)
{
    const char *texts[] = { "low lower lowest low low" };
    sn_bpe_t *b = train(texts, 1, 300, 2);
    expect_token(b, SN_BPE_PAD, "<pad>");
    expect_token(b, SN_BPE_UNK, "<unk>");
    expect_token(b, SN_BPE_BOS, "<s>");
    expect_token(b, SN_BPE_EOS, "</s>");
    size_t len = 0;
    const char *s = sn_bpe_token(b, byte_id('x'), &len);
    ck_assert_uint_eq(len, 1);
    ck_assert_int_eq(s[0], 'x');
    ck_assert_ptr_null(sn_bpe_token(b, sn_bpe_vocab_size(b), &len));
    ck_assert_ptr_null(sn_bpe_token(b, -1, NULL));
    int32_t ids[16];
    size_t n = 0;
    ck_assert_int_eq(sn_bpe_encode(b, "low", 3, SN_BPE_ADD_BOS |
                                   SN_BPE_ADD_EOS, ids, 16, &n), SN_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[0], SN_BPE_BOS);
    ck_assert_int_eq(ids[2], SN_BPE_EOS);
    expect_token(b, ids[1], "low");
    /* decode skips specials, padding included */
    int32_t padded[] = { SN_BPE_PAD, SN_BPE_BOS, ids[1], SN_BPE_EOS,
                         SN_BPE_UNK };
    char buf[16];
    size_t need = 0;
    ck_assert_int_eq(sn_bpe_decode(b, padded, 5, buf, sizeof buf, &need),
                     SN_OK);
    ck_assert_str_eq(buf, "low");
    ck_assert_uint_eq(need, 3);
    /* too small: nothing useful, the need told */
    ck_assert_int_eq(sn_bpe_decode(b, padded, 5, buf, 3, &need),
                     SN_ERR_INVALID_ARG);
    ck_assert_uint_eq(need, 3);
    ck_assert_str_eq(buf, "");
    int32_t bad[] = { 9999 };
    ck_assert_int_eq(sn_bpe_decode(b, bad, 1, buf, sizeof buf, NULL),
                     SN_ERR_INVALID_ARG);
    tk_expect_error_mentions("9999");
    size_t full = 0;
    ck_assert_int_eq(sn_bpe_encode(b, "lowest lowest", 13, 0, ids, 16,
                                   &full), SN_OK);
    ck_assert_uint_gt(full, 1);
    ck_assert_int_eq(sn_bpe_encode(b, "lowest lowest", 13, 0, ids, 1, &n),
                     SN_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, full); /* the need */
    ck_assert_int_eq(sn_bpe_encode(b, "", 0, 0, NULL, 0, &n), SN_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(sn_bpe_encode(b, "a", 1, 8, ids, 16, &n),
                     SN_ERR_INVALID_ARG);
    /* bad training arguments */
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    sn_bpe_t *x = (sn_bpe_t *)1;
    o.vocab_size = 259;
    ck_assert_int_eq(sn_bpe_train(texts, 1, &o, &x), SN_ERR_INVALID_ARG);
    ck_assert_ptr_null(x);
    o.vocab_size = 300;
    o.min_frequency = 0;
    ck_assert_int_eq(sn_bpe_train(texts, 1, &o, &x), SN_ERR_INVALID_ARG);
    const char *nul[] = { "a", NULL };
    ck_assert_int_eq(sn_bpe_train(nul, 2, NULL, &x), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_bpe_train(NULL, 1, NULL, &x), SN_ERR_INVALID_ARG);
    /* no texts: only the base vocabulary */
    ck_assert_int_eq(sn_bpe_train(NULL, 0, NULL, &x), SN_OK);
    ck_assert_int_eq(sn_bpe_vocab_size(x), 260);
    sn_bpe_free(x);
    sn_bpe_free(b);
}
END_TEST

START_TEST(test_standardize_option)
{
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    o.vocab_size = 300;
    o.standardize = SN_STANDARDIZE_DEFAULT;
    const char *texts[] = { "Great, GREAT film<br />great" };
    sn_bpe_t *b = NULL;
    ck_assert_int_eq(sn_bpe_train(texts, 1, &o, &b), SN_OK);
    int32_t ids[32];
    size_t n = 0;
    ck_assert_int_eq(sn_bpe_encode(b, texts[0], strlen(texts[0]), 0, ids, 32,
                                   &n), SN_OK);
    char buf[64];
    ck_assert_int_eq(sn_bpe_decode(b, ids, n, buf, sizeof buf, NULL), SN_OK);
    ck_assert_str_eq(buf, "great great film great");
    sn_bpe_opts back = { .size = sizeof back };
    ck_assert_int_eq(sn_bpe_options(b, &back), SN_OK);
    ck_assert_int_eq(back.standardize, SN_STANDARDIZE_DEFAULT);
    ck_assert_int_eq(back.vocab_size, 300);
    back.size = 1;
    ck_assert_int_eq(sn_bpe_options(b, &back), SN_ERR_INVALID_ARG);
    sn_bpe_free(b);
}
END_TEST

/* ---------------------------------------------------------------- files */

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the trailing CRC after an edit. */
static void reseal(uint8_t *p, size_t len)
{
    put_u32(p + len - 4, crc32_of(p, len - 4));
}

START_TEST(test_files)
{
    const char *texts[] = { "lower lowest newer newest wider widest" };
    sn_bpe_t *b = train(texts, 1, 280, 1);
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_bpe_save_buffer(b, &data, &len), SN_OK);
    sn_bpe_t *back = NULL;
    ck_assert_int_eq(sn_bpe_load_buffer(data, len, &back), SN_OK);
    ck_assert_int_eq(sn_bpe_vocab_size(back), sn_bpe_vocab_size(b));
    for (int id = 0; id < sn_bpe_vocab_size(b); id++) {
        size_t la = 0, lb = 0;
        const char *ta = sn_bpe_token(b, id, &la);
        const char *tb = sn_bpe_token(back, id, &lb);
        ck_assert(la == lb && memcmp(ta, tb, la) == 0);
    }
    sn_bpe_free(back);
    /* every truncation and every flipped bit is refused */
    uint8_t *bad = malloc(len);
    ck_assert_ptr_nonnull(bad);
    for (size_t cut = 0; cut < len; cut++) {
        back = (sn_bpe_t *)1;
        ck_assert_int_eq(sn_bpe_load_buffer(data, cut, &back), SN_ERR_FORMAT);
        ck_assert_ptr_null(back);
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, data, len);
        bad[i] ^= 0x04;
        ck_assert_int_eq(sn_bpe_load_buffer(bad, len, &back), SN_ERR_FORMAT);
    }
    /* a newer payload version (CRC made right) */
    memcpy(bad, data, len);
    put_u32(bad + 16, 2);
    reseal(bad, len);
    ck_assert_int_eq(sn_bpe_load_buffer(bad, len, &back), SN_ERR_VERSION);
    /* forged merges with a good CRC: a forward reference, a special id,
     * a repeated pair */
    size_t merges_at = 16 + 4 + 12 + 4;
    memcpy(bad, data, len);
    put_u32(bad + merges_at, 300);
    reseal(bad, len);
    ck_assert_int_eq(sn_bpe_load_buffer(bad, len, &back), SN_ERR_FORMAT);
    tk_expect_error_mentions("merge 0");
    memcpy(bad, data, len);
    put_u32(bad + merges_at, SN_BPE_BOS);
    reseal(bad, len);
    ck_assert_int_eq(sn_bpe_load_buffer(bad, len, &back), SN_ERR_FORMAT);
    memcpy(bad, data, len);
    memcpy(bad + merges_at + 8, bad + merges_at, 8);
    reseal(bad, len);
    ck_assert_int_eq(sn_bpe_load_buffer(bad, len, &back), SN_ERR_FORMAT);
    tk_expect_error_mentions("repeats");
    free(bad);
    /* through a file */
    char path[] = "/tmp/check_bpe_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(sn_bpe_save(b, path), SN_OK);
    ck_assert_int_eq(sn_bpe_load(path, &back), SN_OK);
    ck_assert_int_eq(sn_bpe_vocab_size(back), sn_bpe_vocab_size(b));
    sn_bpe_free(back);
    unlink(path);
    ck_assert_int_eq(sn_bpe_load(path, &back), SN_ERR_IO);
    ck_assert_ptr_null(back);
    sn_free(data);
    sn_bpe_free(b);
}
END_TEST

START_TEST(test_saved_with_the_model)
{
    const char *texts[] = { "lower lowest newer newest" };
    sn_bpe_t *b = train(texts, 1, 270, 1);
    sn_model_t *m = sn_model_new(NULL);
    int in = sn_input_tokens(m, 5);
    int e = sn_apply(m, sn_embedding(270, 4, NULL), in);
    int p = sn_apply(m, sn_global_average_pooling1d(), e);
    ck_assert_int_ge(sn_apply(m, sn_dense(1, SN_SIGMOID, NULL), p), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_ptr_null(sn_model_bpe(m));
    ck_assert_int_eq(sn_model_set_bpe(m, b), SN_OK);
    sn_bpe_free(b);
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    sn_model_t *m2 = NULL;
    ck_assert_msg(sn_model_load_buffer(data, len, &m2) == SN_OK, "%s",
                  sn_last_error());
    const sn_bpe_t *b2 = sn_model_bpe(m2);
    ck_assert_ptr_nonnull(b2);
    ck_assert_int_eq(sn_bpe_vocab_size(b2), 270);
    round_trip(b2, "the newest lower", 16);
    ck_assert_int_eq(sn_model_set_bpe(m, NULL), SN_OK);
    ck_assert_ptr_null(sn_model_bpe(m));
    sn_free(data);
    sn_model_free(m2);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ out of memory */

static bool cycle(void)
{
    const char *texts[] = { "lower lowest newer newest lower", "caf\xc3\xa9" };
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    o.vocab_size = 280;
    o.min_frequency = 1;
    sn_bpe_t *b = NULL;
    bool ok = sn_bpe_train(texts, 2, &o, &b) == SN_OK;
    sn_ragged_t *r = NULL;
    ok = ok && sn_bpe_encode_batch(b, texts, 2, SN_BPE_ADD_EOS, &r) == SN_OK;
    int32_t ids[64];
    size_t n = 0;
    ok = ok && sn_bpe_encode(b, texts[0], 5, 0, ids, 64, &n) == SN_OK;
    void *data = NULL;
    size_t len = 0;
    ok = ok && sn_bpe_save_buffer(b, &data, &len) == SN_OK;
    sn_bpe_t *back = NULL;
    ok = ok && sn_bpe_load_buffer(data, len, &back) == SN_OK;
    if (!ok)
        ck_assert(sn_last_error()[0] != '\0');
    sn_bpe_free(back);
    sn_free(data);
    sn_ragged_free(r);
    sn_bpe_free(b);
    return ok;
}

START_TEST(test_out_of_memory_everywhere)
{
    tk_fail_every_allocation(cycle, 20);
}
END_TEST

/* ------------------------------------------------------------- IMDB */

START_TEST(test_imdb_round_trip)
{
    tk_imdb_dir d;
    if (!tk_imdb_find(&d)) {
        tk_skip("test_imdb_round_trip", "%s", tk_imdb_skip_reason());
        return;
    }
    sn_imdb_t *imdb = NULL;
    ck_assert_int_eq(sn_imdb_load(d.root, "train", &imdb), SN_OK);
    int n = sn_imdb_count(imdb);
    ck_assert_int_eq(n, 25000);
    const char *const *texts = sn_imdb_texts(imdb);
    /* learn on 2,000 reviews, encode all 25,000 back exactly */
    sn_bpe_t *b = train(texts, 2000, 4000, 2);
    ck_assert_int_eq(sn_bpe_vocab_size(b), 4000);
    sn_ragged_t *r = NULL;
    ck_assert_int_eq(sn_bpe_encode_batch(b, texts, (size_t)n, 0, &r), SN_OK);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        size_t len = 0, need = 0;
        const int32_t *ids = sn_ragged_row(r, (size_t)i, &len);
        bytes += strlen(texts[i]);
        if (sn_bpe_decode(b, ids, len, buf, cap, &need) != SN_OK) {
            cap = need + 1;
            buf = realloc(buf, cap);
            ck_assert_int_eq(sn_bpe_decode(b, ids, len, buf, cap, NULL),
                             SN_OK);
        }
        ck_assert_msg(strcmp(buf, texts[i]) == 0, "review %d differs", i);
    }
    /* sub-words compress: more than 3 bytes per id on average */
    ck_assert_uint_gt(bytes, 3 * sn_ragged_offsets(r)[n]);
    free(buf);
    sn_ragged_free(r);
    sn_bpe_free(b);
    sn_imdb_free(imdb);
    tk_imdb_release(&d);
}
END_TEST

static Suite *bpe_suite(void)
{
    Suite *s = suite_create("bpe");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_merges_by_hand);
    tcase_add_test(tc, test_ties_and_repeats);
    tcase_add_test(tc, test_pieces_are_never_crossed);
    tcase_add_test(tc, test_random_round_trips);
    tcase_add_test(tc, test_specials_and_buffers);
    tcase_add_test(tc, test_standardize_option);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_saved_with_the_model);
    tcase_add_test(tc, test_out_of_memory_everywhere);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("imdb");
    tcase_set_timeout(ti, 600);
    tcase_add_test(ti, test_imdb_round_trip);
    suite_add_tcase(s, ti);
    return s;
}

int main(void)
{
    return tk_run_suite(bpe_suite());
}
