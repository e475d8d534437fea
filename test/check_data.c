/*
 * check_data.c - the IMDB loader, loading GloVe / word2vec vectors into an
 * Embedding (small fixtures, malformed files, the real shared GloVe pieces)
 * and the GloVe trainer (synthetic corpus; real IMDB reviews when the
 * shared tarball is there), through the public API only.
 */
#include <check.h>
#include <ctype.h>
#include <math.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

static char tmp_root[256];

static void make_tmp(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/sn_check_data_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void remove_tmp(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    ck_assert_int_eq(system(cmd), 0);
}

/* tmp_root/rel into buf. */
static const char *tmp_path(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", tmp_root, rel);
    return buf;
}

static void write_bytes(const char *rel, const void *data, size_t n)
{
    char path[512];
    FILE *f = fopen(tmp_path(path, sizeof path, rel), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *rel, const char *text)
{
    write_bytes(rel, text, strlen(text));
}

static void make_dir(const char *rel)
{
    char path[512];
    ck_assert_int_eq(mkdir(tmp_path(path, sizeof path, rel), 0755), 0);
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

/* The shared data folder (../shared/data from the repository root, where
 * make check runs, or $SN_SHARED/data), or NULL. */
static const char *shared_file(char *buf, size_t len, const char *rel)
{
    const char *root = getenv("SN_SHARED");
    snprintf(buf, len, "%s/data/%s", root ? root : "../shared", rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* ------------------------------------------------------------ IMDB */

static void make_imdb_fixture(void)
{
    static const char *const dirs[] = {
        "aclImdb", "aclImdb/train", "aclImdb/test", "aclImdb/train/pos",
        "aclImdb/train/neg", "aclImdb/train/unsup", "aclImdb/test/pos",
        "aclImdb/test/neg"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        make_dir(dirs[i]);
    write_text("aclImdb/train/pos/3_10.txt", "Loved it.<br />Caf\xc3\xa9!");
    write_text("aclImdb/train/pos/0_7.txt", "good\n");
    write_text("aclImdb/train/pos/12_9.txt", "fine film");
    write_text("aclImdb/train/neg/1_1.txt", "awful");
    write_text("aclImdb/train/neg/0_4.txt", "");
    write_text("aclImdb/train/neg/.DS_Store", "junk");
    write_text("aclImdb/train/unsup/5_0.txt", "five");
    write_text("aclImdb/train/unsup/0_0.txt", "zero");
    write_text("aclImdb/test/pos/0_8.txt", "t pos");
    write_text("aclImdb/test/neg/0_2.txt", "t neg");
}

START_TEST(test_imdb_load)
{
    make_tmp();
    make_imdb_fixture();
    char root[512];
    tmp_path(root, sizeof root, "aclImdb");
    sn_imdb_t *d = NULL;
    ck_assert_int_eq(sn_imdb_load(root, "train", &d), SN_OK);
    ck_assert_int_eq(sn_imdb_count(d), 5);
    /* sorted by (label, id): neg 0, neg 1, pos 0, pos 3, pos 12 */
    static const int label[] = {0, 0, 1, 1, 1}, id[] = {0, 1, 0, 3, 12},
                     rating[] = {4, 1, 7, 10, 9};
    static const char *const text[] = {"", "awful", "good\n",
                                       "Loved it.<br />Caf\xc3\xa9!",
                                       "fine film"};
    const char *const *texts = sn_imdb_texts(d);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(sn_imdb_label(d, i), label[i]);
        ck_assert_int_eq(sn_imdb_id(d, i), id[i]);
        ck_assert_int_eq(sn_imdb_rating(d, i), rating[i]);
        ck_assert_str_eq(sn_imdb_text(d, i), text[i]);
        ck_assert_str_eq(texts[i], text[i]);
    }
    ck_assert_ptr_null(sn_imdb_text(d, 5));
    ck_assert_int_eq(sn_imdb_label(d, -1), SN_ERR_NOT_FOUND);
    sn_imdb_free(d);

    ck_assert_int_eq(sn_imdb_load(root, "unsup", &d), SN_OK);
    ck_assert_int_eq(sn_imdb_count(d), 2);
    ck_assert_int_eq(sn_imdb_label(d, 0), -1);
    ck_assert_int_eq(sn_imdb_rating(d, 1), 0);
    ck_assert_str_eq(sn_imdb_text(d, 1), "five");
    sn_imdb_free(d);

    ck_assert_int_eq(sn_imdb_load(root, "test", &d), SN_OK);
    ck_assert_int_eq(sn_imdb_count(d), 2);
    ck_assert_str_eq(sn_imdb_text(d, 0), "t neg");
    sn_imdb_free(d);
    remove_tmp();
}
END_TEST

START_TEST(test_imdb_shuffle)
{
    make_tmp();
    make_imdb_fixture();
    char root[512];
    tmp_path(root, sizeof root, "aclImdb");
    sn_imdb_t *a = NULL, *b = NULL;
    ck_assert_int_eq(sn_imdb_load(root, "train", &a), SN_OK);
    ck_assert_int_eq(sn_imdb_load(root, "train", &b), SN_OK);
    ck_assert_int_eq(sn_imdb_shuffle(a, 42), SN_OK);
    ck_assert_int_eq(sn_imdb_shuffle(b, 42), SN_OK);
    int sum = 0;
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(sn_imdb_text(a, i), sn_imdb_text(b, i));
        ck_assert_str_eq(sn_imdb_texts(a)[i], sn_imdb_text(a, i));
        ck_assert_int_eq(sn_imdb_id(a, i), sn_imdb_id(b, i));
        sum += sn_imdb_id(a, i) + 100 * sn_imdb_label(a, i);
    }
    ck_assert_int_eq(sum, 0 + 1 + 100 + 103 + 112);  /* a permutation */
    ck_assert_int_eq(sn_imdb_shuffle(NULL, 1), SN_ERR_INVALID_ARG);
    sn_imdb_free(a);
    sn_imdb_free(b);
    remove_tmp();
}
END_TEST

START_TEST(test_imdb_errors)
{
    make_tmp();
    make_imdb_fixture();
    char root[512];
    tmp_path(root, sizeof root, "aclImdb");
    sn_imdb_t *d = (sn_imdb_t *)1;
    ck_assert_int_eq(sn_imdb_load("/nonexistent/aclImdb", "train", &d),
                     SN_ERR_IO);
    ck_assert_ptr_null(d);
    ck_assert(tk_contains(sn_last_error(), "/nonexistent/aclImdb/train/neg"));
    ck_assert_int_eq(sn_imdb_load(root, "valid", &d), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_imdb_load(NULL, "train", &d), SN_ERR_INVALID_ARG);

    write_text("aclImdb/train/neg/notes.md", "x");
    ck_assert_int_eq(sn_imdb_load(root, "train", &d), SN_ERR_FORMAT);
    ck_assert(tk_contains(sn_last_error(), "train/neg/notes.md"));
    ck_assert_ptr_null(d);

    write_text("aclImdb/test/pos/7_11.txt", "x");  /* rating > 10 */
    ck_assert_int_eq(sn_imdb_load(root, "test", &d), SN_ERR_FORMAT);
    ck_assert(tk_contains(sn_last_error(), "7_11.txt"));
    remove_tmp();
}
END_TEST

/* ------------------------------------------------------------ GloVe load */

enum { VOCAB_N = 6, DIM = 3 };
static const char *const vocab6[VOCAB_N] = {"", "[UNK]", "the", "cat", "dog",
                                            "absent"};
static const char *const vecs_text =
    "the 0.1 0.2 0.3\n"
    "cat 1 2 3\n"
    "bird 4 5 6\n"
    "dog -1e-1 0.5 7\n"
    "cat 9 9 9\n";  /* a repeated word: the first one wins */

typedef struct emb_model {
    sn_model_t *m;
    sn_layer_t *emb;
    int w;           /* index of the table */
    float *table;
    float before[VOCAB_N * DIM];
} emb_model;

static void emb_model_new(emb_model *e, int input_dim, int output_dim)
{
    e->m = sn_model_new(NULL);
    ck_assert_ptr_nonnull(e->m);
    ck_assert_int_ge(sn_input_tokens(e->m, 4), 0);
    e->emb = sn_embedding(input_dim, output_dim, NULL);
    ck_assert_ptr_nonnull(e->emb);
    ck_assert_int_eq(sn_layer_set_name(e->emb, "emb"), SN_OK);
    ck_assert_int_eq(sn_model_add(e->m, e->emb), SN_OK);
    ck_assert_int_eq(sn_model_build(e->m), SN_OK);
    e->w = sn_model_find_weight(e->m, "emb/embeddings");
    ck_assert_int_ge(e->w, 0);
    e->table = sn_model_weight_data(e->m, e->w, NULL);
    ck_assert_ptr_nonnull(e->table);
    if (input_dim == VOCAB_N && output_dim == DIM)
        memcpy(e->before, e->table, sizeof e->before);
}

static int emb_trainable(const emb_model *e)
{
    int trainable = -1;
    ck_assert_int_eq(sn_model_weight_info(e->m, e->w, NULL, NULL, 0,
                                          &trainable), 2);
    return trainable;
}

static sn_status load6(emb_model *e, const char *rel, int *found)
{
    char path[512];
    return sn_embedding_load_vectors(e->m, e->emb,
                                     tmp_path(path, sizeof path, rel),
                                     vocab6, VOCAB_N, NULL, found);
}

static void check_loaded(const emb_model *e)
{
    static const float want[3][DIM] = {{0.1f, 0.2f, 0.3f}, {1, 2, 3},
                                       {-0.1f, 0.5f, 7}};
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < DIM; k++)
            ck_assert_float_eq(e->table[(2 + r) * DIM + k], want[r][k]);
    /* pad, OOV and the absent word keep their initial values */
    for (int k = 0; k < DIM; k++) {
        ck_assert_float_eq(e->table[k], e->before[k]);
        ck_assert_float_eq(e->table[DIM + k], e->before[DIM + k]);
        ck_assert_float_eq(e->table[5 * DIM + k], e->before[5 * DIM + k]);
    }
}

START_TEST(test_glove_plain_gzip_word2vec)
{
    make_tmp();
    emb_model e;
    emb_model_new(&e, VOCAB_N, DIM);
    write_text("plain.txt", vecs_text);
    int found = -1;
    ck_assert_int_eq(load6(&e, "plain.txt", &found), SN_OK);
    ck_assert_int_eq(found, 3);
    check_loaded(&e);
    ck_assert_int_eq(emb_trainable(&e), 1);

    /* gzip, detected by its magic bytes (the name says .txt); frozen */
    emb_model g;
    emb_model_new(&g, VOCAB_N, DIM);
    char path[512];
    gzFile gz = gzopen(tmp_path(path, sizeof path, "packed.txt"), "wb");
    ck_assert_ptr_nonnull(gz);
    ck_assert_int_eq(gzputs(gz, vecs_text), (int)strlen(vecs_text));
    ck_assert_int_eq(gzclose(gz), Z_OK);
    sn_glove_opts o = SN_GLOVE_OPTS_INIT;
    o.trainable = 0;
    ck_assert_int_eq(sn_embedding_load_vectors(g.m, g.emb, path, vocab6,
                                               VOCAB_N, &o, &found), SN_OK);
    ck_assert_int_eq(found, 3);
    check_loaded(&g);
    ck_assert_int_eq(emb_trainable(&g), 0);

    /* word2vec text: a "count dim" header, CRLF line ends */
    emb_model w;
    emb_model_new(&w, VOCAB_N, DIM);
    write_text("w2v.txt", "3 3\r\nthe 0.1 0.2 0.3\r\ncat 1 2 3\r\n"
                          "dog -0.1 0.5 7\r\n");
    ck_assert_int_eq(load6(&w, "w2v.txt", &found), SN_OK);
    ck_assert_int_eq(found, 3);
    check_loaded(&w);
    write_text("w2v4.txt", "3 4\nthe 0.1 0.2 0.3 0.4\n");
    ck_assert_int_eq(load6(&w, "w2v4.txt", &found), SN_ERR_FORMAT);
    ck_assert(tk_contains(sn_last_error(), "w2v4.txt:1:"));

    /* a vocabulary smaller than input_dim is fine, a larger one is not */
    ck_assert_int_eq(sn_embedding_load_vectors(w.m, w.emb, path, vocab6, 4,
                                               NULL, &found), SN_OK);
    ck_assert_int_eq(found, 2);
    ck_assert_int_eq(sn_embedding_load_vectors(w.m, w.emb, path, vocab6, 7,
                                               NULL, &found), SN_ERR_SHAPE);
    sn_model_free(e.m);
    sn_model_free(g.m);
    sn_model_free(w.m);
    remove_tmp();
}
END_TEST

/* Each malformed file must fail with SN_ERR_FORMAT, a message holding
 * every needle, and leave the table and trainable flag unchanged. */
static void expect_bad(emb_model *e, const char *rel, const void *data,
                       size_t n, const char *needle1, const char *needle2)
{
    write_bytes(rel, data, n);
    int found = 77;
    sn_glove_opts o = SN_GLOVE_OPTS_INIT;
    o.trainable = 0;
    char path[512];
    sn_status st = sn_embedding_load_vectors(e->m, e->emb,
                                             tmp_path(path, sizeof path, rel),
                                             vocab6, VOCAB_N, &o, &found);
    ck_assert_msg(st == SN_ERR_FORMAT, "%s: status %d (%s)", rel, st,
                  sn_last_error());
    ck_assert_msg(tk_contains(sn_last_error(), needle1) &&
                      tk_contains(sn_last_error(), needle2),
                  "%s: message '%s' lacks '%s' / '%s'", rel, sn_last_error(),
                  needle1, needle2);
    ck_assert_int_eq(found, 77);
    ck_assert_mem_eq(e->table, e->before, sizeof e->before);
    ck_assert_int_eq(emb_trainable(e), 1);
}

/* The vectorizer overload: a vectorizer whose vocabulary is vocab6 loads
 * exactly what the plain-array call loads. */
START_TEST(test_glove_for_vectorizer)
{
    make_tmp();
    write_text("plain.txt", vecs_text);
    emb_model e;
    emb_model_new(&e, VOCAB_N, DIM);
    sn_vectorizer_t *v = sn_vectorizer_new(NULL);
    ck_assert_ptr_nonnull(v);
    int found = -1;
    char path[512];
    tmp_path(path, sizeof path, "plain.txt");
    /* no vocabulary yet: refused, nothing written */
    ck_assert_int_eq(sn_embedding_load_vectors_for(e.m, e.emb, path, v, NULL,
                                                   &found), SN_ERR_STATE);
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, vocab6 + 2, VOCAB_N - 2,
                                                  NULL), SN_OK);
    ck_assert_int_eq(sn_embedding_load_vectors_for(e.m, e.emb, path, v, NULL,
                                                   &found), SN_OK);
    ck_assert_int_eq(found, 3);
    check_loaded(&e);
    ck_assert_int_eq(sn_embedding_load_vectors_for(e.m, e.emb, path, NULL,
                                                   NULL, &found),
                     SN_ERR_INVALID_ARG);
    sn_vectorizer_free(v);
    sn_model_free(e.m);
}
END_TEST

START_TEST(test_glove_malformed)
{
    make_tmp();
    emb_model e;
    emb_model_new(&e, VOCAB_N, DIM);
    static const char truncated[] = "the 0.1 0.2 0.3\ncat 1 2";
    expect_bad(&e, "truncated.txt", truncated, sizeof truncated - 1,
               "truncated.txt:2:", "truncated");
    static const char nonnum[] = "the 0.1 0.2 0.3\ncat 1 two 3\n";
    expect_bad(&e, "nonnum.txt", nonnum, sizeof nonnum - 1, "nonnum.txt:2:",
               "not a number");
    static const char nan_value[] = "the 0.1 nan 0.3\n";
    expect_bad(&e, "nan.txt", nan_value, sizeof nan_value - 1, "nan.txt:1:",
               "not a number");
    static const unsigned char garbage[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0,
                                            0, 0, 0xff, 0xfe, '\n', 3, 0};
    expect_bad(&e, "garbage.bin", garbage, sizeof garbage, "garbage.bin:1:",
               "binary");
    static const char wrongdim[] = "the 0.1 0.2 0.3\ncat 1 2 3 4\n";
    expect_bad(&e, "wrongdim.txt", wrongdim, sizeof wrongdim - 1,
               "wrongdim.txt:2:", "4 values");
    expect_bad(&e, "empty.txt", "", 0, "empty.txt", "empty");
    expect_bad(&e, "blank.txt", "the 0.1 0.2 0.3\n\n", 17, "blank.txt:2:",
               "empty line");

    /* a gzip stream cut in half */
    char big[20000];
    size_t n = 0;
    for (int i = 0; n + 64 < sizeof big; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "w%d %d.5 %d.25 1\n",
                              i, i, i % 7);
    uLongf zn = compressBound((uLong)n) + 64;
    unsigned char *z = malloc(zn);
    ck_assert_ptr_nonnull(z);
    char path[512];
    gzFile gz = gzopen(tmp_path(path, sizeof path, "cut.gz"), "wb");
    ck_assert_int_eq(gzwrite(gz, big, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(gz), Z_OK);
    FILE *f = fopen(path, "rb");
    size_t zlen = fread(z, 1, zn, f);
    fclose(f);
    expect_bad(&e, "cut.gz", z, zlen / 2, "cut.gz", "gzip");
    free(z);

    /* not found, not an Embedding */
    ck_assert_int_eq(load6(&e, "missing.txt", NULL), SN_ERR_IO);
    ck_assert(tk_contains(sn_last_error(), "missing.txt"));
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_int_ge(sn_input(m, SN_NO_TIME, 3), 0);
    sn_layer_t *dense = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_eq(sn_model_add(m, dense), SN_OK);
    write_text("ok.txt", vecs_text);
    tmp_path(path, sizeof path, "ok.txt");
    ck_assert_int_eq(sn_embedding_load_vectors(m, dense, path, vocab6,
                                               VOCAB_N, NULL, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_embedding_load_vectors(m, e.emb, path, vocab6,
                                               VOCAB_N, NULL, NULL),
                     SN_ERR_INVALID_ARG);  /* another model's layer */
    sn_model_free(m);
    sn_model_free(e.m);
    remove_tmp();
}
END_TEST

/* The first n values of word in a gzip GloVe file, parsed from its text. */
static int file_values(const char *path, const char *word, float *out, int n)
{
    gzFile gz = gzopen(path, "rb");
    ck_assert_ptr_nonnull(gz);
    char line[4096];
    size_t wl = strlen(word);
    int got = 0;
    while (gzgets(gz, line, sizeof line) != NULL) {
        if (strncmp(line, word, wl) != 0 || line[wl] != ' ')
            continue;
        char *p = line + wl;
        for (; got < n; got++)
            out[got] = strtof(p, &p);
        break;
    }
    gzclose(gz);
    return got;
}

START_TEST(test_glove_real_files)
{
    char top[512], slice[512];
    if (shared_file(top, sizeof top, "glove/glove.6B.50d.top2446.txt.gz") ==
            NULL ||
        shared_file(slice, sizeof slice,
                    "glove/glove.6B.50d.slice5403.txt.gz") == NULL) {
        tk_skip("test_glove_real_files", "%s not found (set SN_SHARED)",
                top);
        return;
    }
    static const char *const vocab[] = {"", "[UNK]", "the", "king", "queen",
                                        "movie", "casinos", "zzzznotaword",
                                        "terrible", "horrible"};
    enum { V = 10, D = 50 };
    emb_model e;
    emb_model_new(&e, V, D);
    int found_top = 0, found_slice = 0;
    ck_assert_int_eq(sn_embedding_load_vectors(e.m, e.emb, top, vocab, V,
                                               NULL, &found_top), SN_OK);
    ck_assert_int_eq(found_top, 4);  /* the king queen movie */
    ck_assert_int_eq(sn_embedding_load_vectors(e.m, e.emb, slice, vocab, V,
                                               NULL, &found_slice), SN_OK);
    ck_assert_int_eq(found_slice, 3);  /* casinos terrible horrible */
    float the[D];
    ck_assert_int_eq(file_values(top, "the", the, D), D);
    ck_assert_float_eq(the[0], 0.418f);
    for (int k = 0; k < D; k++)
        ck_assert_float_eq(e.table[2 * D + k], the[k]);
    const float *king = e.table + 3 * D, *queen = e.table + 4 * D,
                *zzz = e.table + 7 * D;
    double kq = cosine(king, queen, D), kz = cosine(king, zzz, D);
    ck_assert_msg(kq > 0.5 && kq > kz + 0.3, "cos(king, queen) %.3f, "
                  "cos(king, zzzznotaword) %.3f", kq, kz);
    double th = cosine(e.table + 8 * D, e.table + 9 * D, D);
    ck_assert_msg(th > 0.6, "cos(terrible, horrible) %.3f", th);
    sn_model_free(e.m);
}
END_TEST

/* ------------------------------------------------------------ training */

/* A corpus over ids 2..v-1 where id 3 always follows id 2 and the other
 * words are drawn uniformly by a fixed generator. */
typedef struct corpus {
    int32_t *tokens[40];
    int lengths[40];
    int n;
} corpus;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void corpus_make(corpus *c, int v, int docs, int len)
{
    uint64_t s = 12345;
    c->n = docs;
    for (int d = 0; d < docs; d++) {
        c->tokens[d] = malloc((size_t)len * sizeof(int32_t));
        ck_assert_ptr_nonnull(c->tokens[d]);
        int n = 0;
        while (n < len) {
            int w = 2 + (int)(lcg(&s) % (uint64_t)(v - 2));
            if (w == 3)
                continue;
            c->tokens[d][n++] = w;
            if (w == 2 && n < len)
                c->tokens[d][n++] = 3;
        }
        c->lengths[d] = len;
    }
}

static void corpus_free(corpus *c)
{
    for (int d = 0; d < c->n; d++)
        free(c->tokens[d]);
}

static sn_glove_train_opts small_opts(int epochs)
{
    sn_glove_train_opts o = SN_GLOVE_TRAIN_OPTS_INIT;
    o.dim = 10;
    o.window = 3;
    o.epochs = epochs;
    o.x_max = 10.0f;
    o.seed = 7;
    o.threads = 1;
    o.min_count = 1;
    return o;
}

START_TEST(test_glove_train_synthetic)
{
    enum { V = 30, D = 10 };
    corpus c;
    corpus_make(&c, V, 20, 500);
    const int32_t *const *docs = (const int32_t *const *)c.tokens;
    float a[V * D], b[V * D];
    double cost1, cost_n, cost_again;
    sn_glove_train_opts o = small_opts(1);
    ck_assert_int_eq(sn_glove_train(docs, c.lengths, c.n, V, &o, a, &cost1),
                     SN_OK);
    o = small_opts(30);
    ck_assert_int_eq(sn_glove_train(docs, c.lengths, c.n, V, &o, a, &cost_n),
                     SN_OK);
    ck_assert_msg(cost_n < 0.5 * cost1, "cost %g after 1 epoch, %g after 30",
                  cost1, cost_n);
    /* one thread and a seed: bit for bit the same */
    ck_assert_int_eq(sn_glove_train(docs, c.lengths, c.n, V, &o, b,
                                    &cost_again), SN_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(cost_again == cost_n);
    /* pad and OOV (skip_ids) get zeros, the others a vector */
    for (int k = 0; k < D; k++)
        ck_assert_float_eq(a[k] + a[D + k], 0.0f);
    /* the pair that always co-occurs is closer than unrelated words */
    double pair = cosine(a + 2 * D, a + 3 * D, D), others = 0;
    for (int w = 4; w < V; w++)
        others += cosine(a + 2 * D, a + w * D, D) / (V - 4);
    ck_assert_msg(pair > others + 0.3, "cos(2,3) %.3f, mean cos(2,other) "
                  "%.3f", pair, others);
    /* two Hogwild threads run too */
    o.threads = 2;
    ck_assert_int_eq(sn_glove_train(docs, c.lengths, c.n, V, &o, b, NULL),
                     SN_OK);
    corpus_free(&c);
}
END_TEST

START_TEST(test_glove_train_memory_bound)
{
    /* 300,000 tokens over 3,000 words, Zipf-like: the pairs of the rare
     * words cannot fit in 1 MB, so they are dropped and get zeros */
    enum { V = 3000, D = 8, DOCS = 30, LEN = 10000 };
    int32_t *tokens[DOCS];
    int lengths[DOCS];
    uint64_t s = 99;
    for (int d = 0; d < DOCS; d++) {
        tokens[d] = malloc(LEN * sizeof(int32_t));
        ck_assert_ptr_nonnull(tokens[d]);
        for (int p = 0; p < LEN; p++) {
            double u = (double)(lcg(&s) % 1000000) / 1e6;
            tokens[d][p] = 2 + (int)((V - 2) * u * u * u);
        }
        lengths[d] = LEN;
    }
    float *vec = malloc((size_t)V * D * sizeof *vec);
    ck_assert_ptr_nonnull(vec);
    sn_glove_train_opts o = SN_GLOVE_TRAIN_OPTS_INIT;
    o.dim = D;
    o.epochs = 2;
    o.threads = 1;
    o.min_count = 1;
    o.max_memory_mb = 1;
    ck_assert_int_eq(sn_glove_train((const int32_t *const *)tokens, lengths,
                                    DOCS, V, &o, vec, NULL), SN_OK);
    int zero_rows = 0;
    for (int w = 2; w < V; w++) {
        int zero = 1;
        for (int k = 0; k < D; k++)
            zero &= vec[w * D + k] == 0.0f;
        zero_rows += zero;
    }
    ck_assert_int_gt(zero_rows, 0);
    ck_assert_int_lt(zero_rows, V - 100);
    ck_assert(vec[2 * D] != 0.0f);  /* the most frequent word is kept */
    o.max_memory_mb = 64;
    ck_assert_int_eq(sn_glove_train((const int32_t *const *)tokens, lengths,
                                    DOCS, V, &o, vec, NULL), SN_OK);
    int zero_rows_64 = 0;
    for (int w = 2; w < V; w++)
        zero_rows_64 += vec[w * D] == 0.0f && vec[w * D + 1] == 0.0f;
    ck_assert_int_lt(zero_rows_64, zero_rows);
    free(vec);
    for (int d = 0; d < DOCS; d++)
        free(tokens[d]);
}
END_TEST

START_TEST(test_glove_train_errors)
{
    int32_t doc0[] = {2, 3, 4}, doc1[] = {2, 9, 3};
    const int32_t *docs[] = {doc0, doc1};
    int lengths[] = {3, 3};
    float vec[5 * 4];
    sn_glove_train_opts o = SN_GLOVE_TRAIN_OPTS_INIT;
    o.dim = 4;
    o.min_count = 1;
    o.threads = 1;
    ck_assert_int_eq(sn_glove_train(docs, lengths, 2, 5, &o, vec, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "document 1, position 1"));
    lengths[1] = 1;  /* now valid, but one word per... */
    o.min_count = 5;  /* ... every word below min_count */
    ck_assert_int_eq(sn_glove_train(docs, lengths, 2, 5, &o, vec, NULL),
                     SN_ERR_STATE);
    o.min_count = 1;
    o.dim = 0;
    ck_assert_int_eq(sn_glove_train(docs, lengths, 2, 5, &o, vec, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_glove_train(docs, lengths, 2, 5, NULL, NULL, NULL),
                     SN_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_glove_save_round_trip)
{
    make_tmp();
    enum { V = 12, D = 6 };
    corpus c;
    corpus_make(&c, V, 5, 200);
    float vec[V * D];
    sn_glove_train_opts o = small_opts(5);
    o.dim = D;
    ck_assert_int_eq(sn_glove_train((const int32_t *const *)c.tokens,
                                    c.lengths, c.n, V, &o, vec, NULL), SN_OK);
    static const char *const vocab[V] = {"", "[UNK]", "a", "b", "c", "d",
                                         "e", "f", "g", "h", "i", "j"};
    char path[512];
    tmp_path(path, sizeof path, "trained.txt");
    ck_assert_int_eq(sn_glove_save_text(path, vocab, V, vec, D), SN_OK);
    emb_model e;
    emb_model_new(&e, V, D);
    int found = 0;
    ck_assert_int_eq(sn_embedding_load_vectors(e.m, e.emb, path, vocab, V,
                                               NULL, &found), SN_OK);
    ck_assert_int_eq(found, V - 2);
    for (int i = 2 * D; i < V * D; i++)
        ck_assert_float_eq_tol(e.table[i], vec[i], 1e-6f);
    sn_model_free(e.m);

    static const char *const spaced[V] = {"", "[UNK]", "a b"};
    ck_assert_int_eq(sn_glove_save_text(path, spaced, V, vec, D),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "2"));
    ck_assert_int_eq(sn_glove_save_text("/nonexistent/dir/x.txt", vocab, V,
                                        vec, D), SN_ERR_IO);
    corpus_free(&c);
    remove_tmp();
}
END_TEST

/* ------------------------------------------------- integration: IMDB */

/* Lowercase ASCII letter/digit/apostrophe runs; ids from a small open
 * addressing table over the words (ids 0 and 1 stay pad and OOV). */
typedef struct tokenizer {
    char **words;
    int n, cap;
    int *slot;
    size_t mask;
} tokenizer;

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int32_t token_id(tokenizer *t, const char *w, size_t n)
{
    size_t i = fnv(w, n) & t->mask;
    while (t->slot[i] != 0) {
        const char *o = t->words[t->slot[i]];
        if (strlen(o) == n && memcmp(o, w, n) == 0)
            return t->slot[i];
        i = (i + 1) & t->mask;
    }
    ck_assert_int_lt(t->n, t->cap);
    t->words[t->n] = strndup(w, n);
    t->slot[i] = t->n;
    return t->n++;
}

static int tokenize(tokenizer *t, const char *text, int32_t *out)
{
    char word[64];
    int n = 0;
    size_t len = 0;
    for (const char *p = text;; p++) {
        int c = (unsigned char)*p;
        if (isalnum(c) || c == '\'') {
            if (len < sizeof word)
                word[len++] = (char)tolower(c);
            continue;
        }
        if (len > 0)
            out[n++] = token_id(t, word, len);
        len = 0;
        if (c == '\0')
            return n;
    }
}

START_TEST(test_glove_imdb_integration)
{
    char tarball[512], root[512];
    if (getenv("SN_SKIP_SLOW") && strcmp(getenv("SN_SKIP_SLOW"), "1") == 0) {
        tk_skip("test_glove_imdb_integration", "SN_SKIP_SLOW=1");
        return;
    }
    make_tmp();
    if (access("data/aclImdb/train/pos", R_OK) == 0) {
        snprintf(root, sizeof root, "data/aclImdb");  /* from make data */
    } else if (shared_file(tarball, sizeof tarball,
                           "imdb/aclImdb_v1.tar.gz") != NULL) {
        /* only ids 1000..1999 of train/pos and train/neg */
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "tar -xzf '%s' -C '%s' --wildcards "
                 "'aclImdb/train/pos/1???_*' 'aclImdb/train/neg/1???_*'",
                 tarball, tmp_root);
        ck_assert_int_eq(system(cmd), 0);
        tmp_path(root, sizeof root, "aclImdb");
    } else {
        tk_skip("test_glove_imdb_integration", "neither data/aclImdb nor %s "
                "(set SN_SHARED)", tarball);
        remove_tmp();
        return;
    }
    sn_imdb_t *d = NULL;
    ck_assert_int_eq(sn_imdb_load(root, "train", &d), SN_OK);
    /* 2,000 reviews: ids 1000..1999 of each label */
    const char *texts[2000];
    int n = 0;
    for (int i = 0; i < sn_imdb_count(d); i++)
        if (sn_imdb_id(d, i) >= 1000 && sn_imdb_id(d, i) < 2000) {
            ck_assert_int_lt(n, 2000);
            texts[n++] = sn_imdb_text(d, i);
        }
    ck_assert_int_eq(n, 2000);

    tokenizer t = {0};
    t.cap = 1 << 17;
    t.words = calloc((size_t)t.cap, sizeof *t.words);
    t.slot = calloc((size_t)t.cap * 2, sizeof *t.slot);
    t.mask = (size_t)t.cap * 2 - 1;
    t.n = 2;
    int32_t **docs = calloc((size_t)n, sizeof *docs);
    int *lengths = calloc((size_t)n, sizeof *lengths);
    size_t tokens = 0;
    for (int i = 0; i < n; i++) {
        const char *text = texts[i];
        docs[i] = malloc((strlen(text) / 2 + 2) * sizeof **docs);
        lengths[i] = tokenize(&t, text, docs[i]);
        tokens += (size_t)lengths[i];
    }
    ck_assert_uint_gt(tokens, 300000);
    float *vec = malloc((size_t)t.n * 50 * sizeof *vec);
    sn_glove_train_opts o = SN_GLOVE_TRAIN_OPTS_INIT;
    o.threads = 1;
    o.seed = 3;
    double cost1, cost3;
    o.epochs = 1;
    ck_assert_int_eq(sn_glove_train((const int32_t *const *)docs, lengths, n,
                                    t.n, &o, vec, &cost1), SN_OK);
    o.epochs = 3;
    ck_assert_int_eq(sn_glove_train((const int32_t *const *)docs, lengths, n,
                                    t.n, &o, vec, &cost3), SN_OK);
    ck_assert_msg(cost3 < 0.9 * cost1, "cost %g after 1 epoch, %g after 3",
                  cost1, cost3);
    free(vec);
    for (int i = 0; i < n; i++)
        free(docs[i]);
    free(docs);
    free(lengths);
    for (int i = 2; i < t.n; i++)
        free(t.words[i]);
    free(t.words);
    free(t.slot);
    sn_imdb_free(d);
    remove_tmp();
}
END_TEST

/* ------------------------------------------------------------ main */

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *imdb = tcase_create("imdb");
    tcase_add_test(imdb, test_imdb_load);
    tcase_add_test(imdb, test_imdb_shuffle);
    tcase_add_test(imdb, test_imdb_errors);
    suite_add_tcase(s, imdb);
    TCase *load = tcase_create("glove_load");
    tcase_add_test(load, test_glove_plain_gzip_word2vec);
    tcase_add_test(load, test_glove_for_vectorizer);
    tcase_add_test(load, test_glove_malformed);
    tcase_add_test(load, test_glove_real_files);
    suite_add_tcase(s, load);
    TCase *train = tcase_create("glove_train");
    tcase_add_test(train, test_glove_train_synthetic);
    tcase_add_test(train, test_glove_train_memory_bound);
    tcase_add_test(train, test_glove_train_errors);
    tcase_add_test(train, test_glove_save_round_trip);
    suite_add_tcase(s, train);
    TCase *slow = tcase_create("imdb_integration");
    tcase_set_timeout(slow, 120);
    tcase_add_test(slow, test_glove_imdb_integration);
    suite_add_tcase(s, slow);
    return s;
}

int main(void)
{
    return tk_run_suite(data_suite());
}
