/*
 * check_reliability.c - regression tests for the defects an outside review
 * found (issue 14): empty IMDB folders, FIFOs, devices and directories where
 * a file is read or replaced, linear-time CSV for a huge line and a very
 * wide header, numbers under a decimal-comma locale, optimizer state of
 * another model, temporary files, sn_model_output on an unbuilt model,
 * vocabulary tokens that can never match, and the one number grammar.
 *
 * Each test names the finding it covers (docs/RELIABILITY.md lists them).
 * Hangs fail through Check's per-test timeout.
 */
#include <check.h>
#include <errno.h>
#include <locale.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "support/counting_alloc.h"
#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

static char *temp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/sn_rel_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int is_fifo(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

enum { IN = 4, OUT = 3, B = 2 };

/* input[4] -> Dense(units) -> Dense(3, softmax), built. */
static sn_model_t *small_model(int units, uint64_t seed)
{
    sn_model_t *m = tk_new_model(seed);
    ck_assert_int_ge(sn_input(m, SN_NO_TIME, IN), 0);
    ck_assert_int_eq(sn_model_add(m, sn_dense(units, SN_TANH, NULL)), SN_OK);
    ck_assert_int_eq(sn_model_add(m, sn_dense(OUT, SN_SOFTMAX, NULL)), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

static void compile_and_step(sn_model_t *m)
{
    sn_optimizer_opts oo;
    ck_assert_int_eq(sn_optimizer_defaults(SN_ADAM, &oo), SN_OK);
    sn_optimizer_t *opt = sn_optimizer_new(&oo);
    ck_assert_ptr_nonnull(opt);
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_CATEGORICAL_CROSSENTROPY;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = opt;
    co.loss = &lo;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    static const float x[B * IN] = { 0.1f, 0.2f, -0.3f, 0.4f,
                                     -1, 0.5f, 0.25f, 0 };
    static const float y[B * OUT] = { 1, 0, 0, 0, 0, 1 };
    const void *const in[1] = { x };
    const float *const tg[1] = { y };
    ck_assert_int_eq(sn_model_train_on_batch(m, B, in, NULL, tg, NULL, NULL),
                     SN_OK);
}

/* ---------------------------------------------- finding 2: empty folders */

START_TEST(test_imdb_empty_folders)
{
    char *dir = temp_dir();
    char p[256];
    snprintf(p, sizeof p, "%s/train", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/train/pos", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/train/neg", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    /* (qsort(NULL, 0, ...) was UB: UBSan stops the SANITIZE=1 build) */
    sn_imdb_t *d = NULL;
    ck_assert_int_eq(sn_imdb_load(dir, "train", &d), SN_OK);
    ck_assert_int_eq(sn_imdb_count(d), 0);
    ck_assert_ptr_nonnull(sn_imdb_texts(d));
    ck_assert_ptr_null(sn_imdb_texts(d)[0]);
    ck_assert_int_eq(sn_imdb_shuffle(d, 1), SN_OK);
    sn_imdb_free(d);
    rm_rf(dir);
}
END_TEST

/* ------------------------ findings 3 and 8: non-regular files are refused */

START_TEST(test_imdb_fifo_and_device_entries)
{
    char *dir = temp_dir();
    char p[256];
    snprintf(p, sizeof p, "%s/test", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/test/neg", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/test/pos", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/test/neg/1_2.txt", dir);
    write_file(p, "bad film");
    /* a FIFO used to block forever in open() */
    snprintf(p, sizeof p, "%s/test/pos/2_9.txt", dir);
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    sn_imdb_t *d = (sn_imdb_t *)1;
    ck_assert_int_eq(sn_imdb_load(dir, "test", &d), SN_ERR_IO);
    ck_assert_ptr_null(d);
    tk_expect_error_mentions("FIFO");
    tk_expect_error_mentions("2_9.txt");
    unlink(p);
    /* a symbolic link to /dev/zero used to read until memory ran out */
    ck_assert_int_eq(symlink("/dev/zero", p), 0);
    ck_assert_int_eq(sn_imdb_load(dir, "test", &d), SN_ERR_IO);
    tk_expect_error_mentions("character device");
    unlink(p);
    /* a directory named like a review */
    ck_assert_int_eq(mkdir(p, 0755), 0);
    ck_assert_int_eq(sn_imdb_load(dir, "test", &d), SN_ERR_IO);
    tk_expect_error_mentions("directory");
    rmdir(p);
    /* a symbolic link to a regular file is read */
    char target[256];
    snprintf(target, sizeof target, "%s/review.txt", dir);
    write_file(target, "great film");
    ck_assert_int_eq(symlink(target, p), 0);
    ck_assert_int_eq(sn_imdb_load(dir, "test", &d), SN_OK);
    ck_assert_int_eq(sn_imdb_count(d), 2);
    sn_imdb_free(d);
    rm_rf(dir);
}
END_TEST

/* Malformed folders: each file problem is SN_ERR_FORMAT naming the file,
 * and every allocation of a load may fail cleanly. */
static void imdb_tree(const char *dir)
{
    static const char *const sub[] = { "train", "train/pos", "train/neg" };
    char p[256];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
        ck_assert_int_eq(mkdir(p, 0755), 0);
    }
}

static sn_status imdb_with(const char *dir, const char *name,
                           const char *text, size_t len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/train/pos/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(text, 1, len, f);
    fclose(f);
    sn_imdb_t *d = (sn_imdb_t *)1;
    sn_status st = sn_imdb_load(dir, "train", &d);
    if (st == SN_OK)
        sn_imdb_free(d);
    else
        ck_assert_ptr_null(d);
    unlink(p);
    return st;
}

START_TEST(test_imdb_bad_entries)
{
    char *dir = temp_dir();
    imdb_tree(dir);
    static const char *const bad_names[] = { "99999999999_7.txt", "1_x.txt",
                                             "1_11.txt", "1_7.text", "_7.txt",
                                             "3_0.txt" };
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        ck_assert_msg(imdb_with(dir, bad_names[i], "ok", 2) == SN_ERR_FORMAT,
                      "%s was accepted", bad_names[i]);
        tk_expect_error_mentions(bad_names[i]);
    }
    ck_assert_int_eq(imdb_with(dir, "4_8.txt", "a\0b", 3), SN_ERR_FORMAT);
    tk_expect_error_mentions("NUL byte");
    /* the same id twice (different ratings) */
    char p[256];
    snprintf(p, sizeof p, "%s/train/pos/5_7.txt", dir);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("first", f);
    fclose(f);
    ck_assert_int_eq(imdb_with(dir, "5_9.txt", "second", 6), SN_ERR_FORMAT);
    tk_expect_error_mentions("occurs twice");
    ck_assert_int_eq(sn_imdb_load(dir, "train", NULL), SN_ERR_INVALID_ARG);
    /* every allocation of a load of three reviews, one of 10 KB */
    snprintf(p, sizeof p, "%s/train/neg/6_2.txt", dir);
    f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 1000; i++)
        fputs("long text ", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/train/neg/7_1.txt", dir);
    f = fopen(p, "wb");
    fputs("short", f);
    fclose(f);
    for (long k = 1;; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator a = tk_counting_allocator(&c);
        sn_set_allocator(&a);
        sn_imdb_t *d = NULL;
        sn_status st = sn_imdb_load(dir, "train", &d);
        if (st == SN_OK) {
            ck_assert_int_eq(sn_imdb_count(d), 3);
            sn_imdb_free(d);
        }
        sn_set_allocator(NULL);
        ck_assert_int_eq(c.allocs, c.frees);
        if (st == SN_OK && !c.failed)
            break;
        ck_assert_int_eq(st, SN_ERR_NOMEM);
        ck_assert_int_lt(k, 1000);
    }
    rm_rf(dir);
}
END_TEST

/* Every reader refuses a FIFO (without blocking), a device and a folder. */
START_TEST(test_readers_refuse_non_regular_files)
{
    char *dir = temp_dir();
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    const char *paths[3] = { fifo, "/dev/zero", dir };
    const char *kinds[3] = { "FIFO", "character device", "directory" };
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_input_tokens(m, 3), 0);
    sn_layer_t *emb = sn_embedding(5, 2, NULL);
    ck_assert_int_eq(sn_model_add(m, emb), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    const char *vocab[5] = { "", "[UNK]", "a", "b", "c" };
    for (int i = 0; i < 3; i++) {
        sn_table_t *t = (sn_table_t *)1;
        ck_assert_int_eq(sn_csv_read(paths[i], NULL, &t), SN_ERR_IO);
        ck_assert_ptr_null(t);
        tk_expect_error_mentions(kinds[i]);
        sn_model_t *lm = (sn_model_t *)1;
        ck_assert_int_eq(sn_model_load(paths[i], &lm), SN_ERR_IO);
        ck_assert_ptr_null(lm);
        tk_expect_error_mentions(kinds[i]);
        sn_vectorizer_t *v = (sn_vectorizer_t *)1;
        ck_assert_int_eq(sn_vectorizer_load(paths[i], &v), SN_ERR_IO);
        tk_expect_error_mentions(kinds[i]);
        ck_assert_int_eq(sn_embedding_load_vectors(m, emb, paths[i], vocab, 5,
                                                   NULL, NULL), SN_ERR_IO);
        tk_expect_error_mentions(kinds[i]);
    }
    sn_model_free(m);
    rm_rf(dir);
}
END_TEST

/* Saving over a FIFO, a device or a folder is refused and leaves it (and no
 * temporary file); a symbolic link is replaced by the new file. */
START_TEST(test_save_refuses_non_regular_targets)
{
    char *dir = temp_dir();
    char fifo[256], link[256], real[256], sub[256];
    snprintf(fifo, sizeof fifo, "%s/model.fifo", dir);
    snprintf(link, sizeof link, "%s/link.snm", dir);
    snprintf(real, sizeof real, "%s/real.snm", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    sn_model_t *m = small_model(5, 2);
    sn_vectorizer_t *v = sn_vectorizer_new(NULL);
    ck_assert_ptr_nonnull(v);
    const char *toks[2] = { "a", "b" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, toks, 2, NULL), SN_OK);
    const char *words[3] = { NULL, "x", "y" };
    const float vec[6] = { 0, 0, 0.5f, 1, -1, 2 };
    const char *targets[2] = { fifo, sub };
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(sn_model_save(m, targets[i], 0), SN_ERR_IO);
        tk_expect_error_mentions("only a regular file is replaced");
        ck_assert_int_eq(sn_vectorizer_save(v, targets[i]), SN_ERR_IO);
        ck_assert_int_eq(sn_glove_save_text(targets[i], words, 3, vec, 2),
                         SN_ERR_IO);
    }
    ck_assert(is_fifo(fifo));
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    /* a link to a regular file: the link is replaced, its target kept */
    write_file(real, "old");
    ck_assert_int_eq(symlink(real, link), 0);
    ck_assert_int_eq(sn_model_save(m, link, 0), SN_OK);
    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    char *old = read_text(real);
    ck_assert_str_eq(old, "old");
    free(old);
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    sn_vectorizer_free(v);
    sn_model_free(m);
    rm_rf(dir);
}
END_TEST

/* --------------------------------------- finding 3: linear-time CSV */

/* A header of 300,000 columns: the duplicate check was quadratic (64,000
 * columns took 10 s); sorting makes it n log n. */
START_TEST(test_csv_wide_header_is_not_quadratic)
{
    enum { COLS = 300000 };
    size_t cap = (size_t)COLS * 16 + 64;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t n = 0;
    for (int j = 0; j < COLS; j++)
        n += (size_t)snprintf(text + n, cap - n, "%sc%d", j ? "," : "", j);
    text[n++] = '\n';
    for (int j = 0; j < COLS; j++) {
        text[n++] = '1';
        text[n++] = j + 1 < COLS ? ',' : '\n';
    }
    sn_table_t *t = NULL;
    ck_assert_int_eq(sn_csv_read_buffer(text, n, NULL, &t), SN_OK);
    ck_assert_int_eq(sn_table_cols(t), COLS);
    ck_assert_int_eq(sn_table_rows(t), 1);
    sn_table_free(t);
    /* a duplicate is still found: column 0 renamed "c1" like column 1 */
    ck_assert(text[0] == 'c' && text[1] == '0' && text[2] == ',');
    text[1] = '1';
    ck_assert_int_eq(sn_csv_read_buffer(text, n, NULL, &t), SN_ERR_FORMAT);
    tk_expect_error_mentions("duplicate column name 'c1'");
    free(text);
}
END_TEST

/* One 48 MB line (no delimiter, no newline), and one of two million
 * fields: both finish in linear time. */
START_TEST(test_csv_single_huge_line)
{
    size_t n = (size_t)48 << 20;
    char *text = malloc(n);
    ck_assert_ptr_nonnull(text);
    memset(text, 'x', n);
    sn_table_t *t = NULL;
    ck_assert_int_eq(sn_csv_read_buffer(text, n, NULL, &t), SN_OK);
    ck_assert_int_eq(sn_table_cols(t), 1);
    ck_assert_int_eq(sn_table_rows(t), 0);
    sn_table_free(t);
    size_t fields = 2000000;
    for (size_t i = 0; i < fields; i++) {
        text[2 * i] = '7';
        text[2 * i + 1] = ',';
    }
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.header = 0;
    ck_assert_int_eq(sn_csv_read_buffer(text, 2 * fields - 1, &o, &t), SN_OK);
    ck_assert_int_eq(sn_table_cols(t), (int)fields);
    ck_assert_int_eq(sn_table_rows(t), 1);
    sn_table_free(t);
    free(text);
}
END_TEST

/* ------------------------------------------------------ finding 4: locale */

/* A locale with a decimal comma: the system's, or the one `make check`
 * compiles into build/locale (SN_TEST_LOCPATH).  NULL if none. */
static const char *comma_locale(void)
{
    static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8",
                                         "fr_FR.UTF-8", "fr_FR.utf8" };
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            const char *lp = getenv("SN_TEST_LOCPATH");
            if (lp == NULL || lp[0] == '\0')
                break;
            setenv("LOCPATH", lp, 1);
        }
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (setlocale(LC_ALL, names[i]) != NULL &&
                strcmp(localeconv()->decimal_point, ",") == 0)
                return names[i];
    }
    setlocale(LC_ALL, "C");
    return NULL;
}

START_TEST(test_numbers_ignore_the_host_locale)
{
    const char *name = comma_locale();
    if (name == NULL) {
        tk_skip("test_numbers_ignore_the_host_locale", "no locale with a "
                "decimal comma (install locales, or localedef)");
        return;
    }
    /* CSV: "1.5" is 1.5 */
    static const char csv[] = "a,b\n1.5,-2.25e1\n";
    sn_table_t *t = NULL;
    ck_assert_int_eq(sn_csv_read_buffer(csv, sizeof csv - 1, NULL, &t),
                     SN_OK);
    ck_assert(sn_table_column(t, 0)[0] == 1.5);
    ck_assert(sn_table_column(t, 1)[0] == -22.5);
    sn_table_free(t);
    /* and "1,5" is two fields, not a number in a one-column file */
    /* GloVe: saved with points, loaded back exactly */
    char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/vec.txt", dir);
    const char *words[3] = { NULL, NULL, "w" };
    const float vec[6] = { 0, 0, 0, 0, 0.5f, -1.25f };
    ck_assert_int_eq(sn_glove_save_text(path, words, 3, vec, 2), SN_OK);
    char *text = read_text(path);
    ck_assert_str_eq(text, "w 0.500000 -1.250000\n");
    free(text);
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_input_tokens(m, 2), 0);
    sn_layer_t *emb = sn_embedding(3, 2, NULL);
    ck_assert_int_eq(sn_model_add(m, emb), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    const char *vocab[3] = { "", "[UNK]", "w" };
    int found = 0;
    ck_assert_int_eq(sn_embedding_load_vectors(m, emb, path, vocab, 3, NULL,
                                               &found), SN_OK);
    ck_assert_int_eq(found, 1);
    const float *w = sn_model_weight_data(m, 0, NULL);
    ck_assert(w[4] == 0.5f && w[5] == -1.25f);
    /* messages print numbers with a point too */
    ck_assert_ptr_null(sn_dropout(1.5f));
    tk_expect_error_mentions("1.5");
    /* and the host's locale is left as it was */
    ck_assert_str_eq(localeconv()->decimal_point, ",");
    setlocale(LC_ALL, "C");
    sn_model_free(m);
    rm_rf(dir);
}
END_TEST

/* ------------------------------------- finding 10: one number grammar */

START_TEST(test_one_number_grammar)
{
    static const char *const bad[] = { "0x1p-2", "nan", "inf", "-Infinity",
                                       "1e", ".", "+", "1.5.2", "0x10",
                                       "1,5", " 1" };
    static const char *const good[] = { "1", "-2.5", ".5", "5.", "1e-3",
                                        "+7E+2", "0.000001" };
    char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/vec.txt", dir);
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_input_tokens(m, 2), 0);
    sn_layer_t *emb = sn_embedding(3, 1, NULL);
    ck_assert_int_eq(sn_model_add(m, emb), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    const char *vocab[3] = { "", "[UNK]", "w" };
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.header = 1;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "a\n%s\n", bad[i]);
        sn_table_t *t = NULL;
        sn_status st = sn_csv_read_buffer(buf, (size_t)n, &o, &t);
        if (strcmp(bad[i], " 1") == 0) {  /* CSV trims blanks */
            ck_assert_int_eq(st, SN_OK);
            sn_table_free(t);
        } else {
            ck_assert_msg(st != SN_OK, "CSV took '%s'", bad[i]);
        }
        snprintf(buf, sizeof buf, "w %s\n", bad[i]);
        write_file(path, buf);
        if (strcmp(bad[i], " 1") == 0)
            continue;  /* GloVe splits on blanks */
        st = sn_embedding_load_vectors(m, emb, path, vocab, 3, NULL, NULL);
        ck_assert_msg(st == SN_ERR_FORMAT, "GloVe took '%s'", bad[i]);
    }
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "a\n%s\n", good[i]);
        sn_table_t *t = NULL;
        ck_assert_int_eq(sn_csv_read_buffer(buf, (size_t)n, &o, &t), SN_OK);
        double want = strtod(good[i], NULL);
        ck_assert(sn_table_column(t, 0)[0] == want);
        sn_table_free(t);
        snprintf(buf, sizeof buf, "w %s\n", good[i]);
        write_file(path, buf);
        ck_assert_int_eq(sn_embedding_load_vectors(m, emb, path, vocab, 3,
                                                   NULL, NULL), SN_OK);
        ck_assert(sn_model_weight_data(m, 0, NULL)[2] == (float)want);
    }
    /* out of range: refused by both */
    write_file(path, "w 1e39\n");
    ck_assert_int_eq(sn_embedding_load_vectors(m, emb, path, vocab, 3, NULL,
                                               NULL), SN_ERR_FORMAT);
    sn_table_t *t = NULL;
    ck_assert_int_eq(sn_csv_read_buffer("a\n1e400\n", 8, &o, &t),
                     SN_ERR_FORMAT);
    sn_model_free(m);
    rm_rf(dir);
}
END_TEST

/* -------------------------- finding 5: optimizer state of another model */

static size_t u64_at(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (size_t)v;
}

/* Offset and total size (tag to CRC) of section tag in a model file. */
static size_t find_section(const unsigned char *f, size_t len,
                           const char *tag, size_t *size)
{
    size_t off = 16;
    while (off + 16 <= len) {
        size_t n = u64_at(f + off + 4);
        if (memcmp(f + off, tag, 4) == 0) {
            *size = 16 + n;
            return off;
        }
        off += 16 + n;
    }
    ck_abort_msg("no section %s", tag);
    return 0;
}

static unsigned char *save_copy(sn_model_t *m, size_t *len)
{
    void *data = NULL;
    ck_assert_int_eq(sn_model_save_buffer(m, 1, &data, len), SN_OK);
    unsigned char *c = malloc(*len);
    ck_assert_ptr_nonnull(c);
    memcpy(c, data, *len);
    sn_free(data);
    return c;
}

START_TEST(test_optimizer_state_of_another_model)
{
    sn_model_t *a = small_model(5, 3), *b = small_model(7, 4);
    compile_and_step(a);
    compile_and_step(b);
    size_t la, lb, ta_size, tb_size;
    unsigned char *fa = save_copy(a, &la), *fb = save_copy(b, &lb);
    size_t ta = find_section(fa, la, "TRAN", &ta_size);
    size_t tb = find_section(fb, lb, "TRAN", &tb_size);
    /* a's graph and weights with b's training state (valid CRCs) */
    size_t n = la - ta_size + tb_size;
    unsigned char *mix = malloc(n);
    ck_assert_ptr_nonnull(mix);
    memcpy(mix, fa, ta);
    memcpy(mix + ta, fb + tb, tb_size);
    memcpy(mix + ta + tb_size, fa + ta + ta_size, la - ta - ta_size);
    sn_model_t *back = (sn_model_t *)1;
    ck_assert_int_eq(sn_model_load_buffer(mix, n, &back), SN_ERR_FORMAT);
    ck_assert_ptr_null(back);
    tk_expect_error_mentions("another model");
    /* the genuine files load and train on */
    ck_assert_int_eq(sn_model_load_buffer(fa, la, &back), SN_OK);
    compile_and_step(back);
    sn_model_free(back);
    free(mix);
    free(fa);
    free(fb);
    sn_model_free(a);
    sn_model_free(b);
}
END_TEST

/* ------------------------------------------ finding 6: temporary files */

START_TEST(test_temporary_files_are_named_and_removed)
{
    char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/model.snm", dir);
    sn_model_t *m = small_model(5, 5);
    ck_assert_int_eq(sn_model_save(m, path, 0), SN_OK);
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    /* a failed save that returns leaves nothing: every allocation */
    for (long k = 1;; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator al = tk_counting_allocator(&c);
        sn_set_allocator(&al);
        sn_status st = sn_model_save(m, path, 0);
        sn_set_allocator(NULL);
        ck_assert_int_eq(tk_temp_files_in(dir), 0);
        ck_assert_int_eq(c.allocs, c.frees);
        if (st == SN_OK) {
            /* success only when no allocation failed: the directory
             * sync's allocation failing used to return SN_OK */
            ck_assert_int_eq(c.failed, 0);
            break;
        }
        ck_assert_int_eq(st, SN_ERR_NOMEM);
    }
    /* a read-only folder: the temporary file cannot be made */
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(dir, 0555), 0);
        ck_assert_int_eq(sn_model_save(m, path, 0), SN_ERR_IO);
        ck_assert_int_eq(chmod(dir, 0755), 0);
    }
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    sn_model_free(m);
    rm_rf(dir);
}
END_TEST

/* Saves that fail part-way (a write refused by RLIMIT_FSIZE, a temporary
 * name too long for the file system) return SN_ERR_IO, keep the old file
 * and leave no temporary file; a bare file name saves in ".". */
START_TEST(test_failed_saves_leave_nothing)
{
    char *dir = temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/model.snm", dir);
    sn_model_t *small = small_model(5, 6), *big = small_model(4000, 7);
    ck_assert_int_eq(sn_model_save(small, path, 0), SN_OK);
    char *before = read_text(path);
    size_t before_len = strlen(before);
    struct rlimit old_limit, limit;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    limit = old_limit;
    limit.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
    sn_status st = sn_model_save(big, path, 0);
    setrlimit(RLIMIT_FSIZE, &old_limit);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(st, SN_ERR_IO);
    tk_expect_error_mentions("cannot write");
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    char *after = read_text(path);
    ck_assert_uint_eq(strlen(after), before_len);
    ck_assert_int_eq(memcmp(before, after, before_len), 0);
    free(after);
    free(before);
    /* 250 characters: the name fits, the temporary name does not */
    char longname[600];
    int n = snprintf(longname, sizeof longname, "%s/", dir);
    memset(longname + n, 'm', 250);
    longname[n + 250] = '\0';
    ck_assert_int_eq(sn_model_save(small, longname, 0), SN_ERR_IO);
    tk_expect_error_mentions("cannot create a temporary file");
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    /* a bare name: the directory synced is "." */
    char cwd[512];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    st = sn_model_save(small, "bare.snm", 0);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(st, SN_OK);
    snprintf(path, sizeof path, "%s/bare.snm", dir);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load(path, &back), SN_OK);
    sn_model_free(back);
    sn_model_free(small);
    sn_model_free(big);
    rm_rf(dir);
}
END_TEST

/* ---------------------------------- finding 7: output of an unbuilt model */

START_TEST(test_output_of_unbuilt_model)
{
    sn_model_t *m = tk_new_model(1);
    ck_assert_int_ge(sn_input(m, SN_NO_TIME, IN), 0);
    ck_assert_int_eq(sn_model_add(m, sn_dense(2, SN_LINEAR, NULL)), SN_OK);
    int dims[4], rank = 0;
    ck_assert_ptr_null(sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank));
    tk_expect_error_mentions("not built");
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_ptr_null(sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank));
    tk_expect_error_mentions("sn_model_forward");
    sn_model_free(m);
    sn_model_t *empty = tk_new_model(2);
    ck_assert_ptr_null(sn_model_output(empty, 0, NULL, 0, NULL));
    sn_model_free(empty);
}
END_TEST

/* ----------------------- finding 10: tokens that could never match */

START_TEST(test_set_vocabulary_refuses_unmatchable_tokens)
{
    sn_vectorizer_t *v = sn_vectorizer_new(NULL);
    ck_assert_ptr_nonnull(v);
    static const char *const bad[] = { "a b", " a", "a\tb", "a\n", "\xff",
                                       "caf\xc3", "\xed\xa0\x80" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *toks[2] = { "ok", bad[i] };
        ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, toks, 2, NULL),
                         SN_ERR_INVALID_ARG);
        tk_expect_error_mentions("token 1");
    }
    const char *fine[3] = { "caf\xc3\xa9", "na\xc3\xafve", "x" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, fine, 3, NULL), SN_OK);
    ck_assert_int_eq(sn_vectorizer_lookup(v, "caf\xc3\xa9"), 2);
    sn_vectorizer_free(v);
    /* with bigrams, one space between two words is a token */
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    o.ngrams = 2;
    v = sn_vectorizer_new(&o);
    ck_assert_ptr_nonnull(v);
    const char *bi[2] = { "a", "a b" };
    ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, bi, 2, NULL), SN_OK);
    const char *bad2[4][2] = { { "a", "a  b" }, { "a", "a b c" },
                               { "a", "a " }, { "a", " b" } };
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(sn_vectorizer_set_vocabulary(v, bad2[i], 2, NULL),
                         SN_ERR_INVALID_ARG);
    sn_vectorizer_free(v);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *reliability_suite(void)
{
    Suite *s = suite_create("reliability");
    TCase *tc = tcase_create("findings");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_imdb_empty_folders);
    tcase_add_test(tc, test_imdb_fifo_and_device_entries);
    tcase_add_test(tc, test_imdb_bad_entries);
    tcase_add_test(tc, test_readers_refuse_non_regular_files);
    tcase_add_test(tc, test_save_refuses_non_regular_targets);
    tcase_add_test(tc, test_csv_wide_header_is_not_quadratic);
    tcase_add_test(tc, test_csv_single_huge_line);
    tcase_add_test(tc, test_numbers_ignore_the_host_locale);
    tcase_add_test(tc, test_one_number_grammar);
    tcase_add_test(tc, test_optimizer_state_of_another_model);
    tcase_add_test(tc, test_temporary_files_are_named_and_removed);
    tcase_add_test(tc, test_failed_saves_leave_nothing);
    tcase_add_test(tc, test_output_of_unbuilt_model);
    tcase_add_test(tc, test_set_vocabulary_refuses_unmatchable_tokens);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(reliability_suite());
}
