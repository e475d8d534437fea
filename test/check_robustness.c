/*
 * check_robustness.c - the robustness tests on a model with every layer
 * type (test/support/full_model.h; issue 14, items 3, 4 and 6): every byte
 * of a model file with training state flipped, every truncation, the N-th
 * allocation failed for every N through build, compile, train step, fit
 * epoch, save, load, predict, vectorizer adapt and transform, CSV and GloVe
 * loading; kill -9 while saving over an existing model and vectorizer;
 * concurrent prediction on shared models compared with serial runs; and an
 * attention keys input with its own mask.
 *
 * `make check SANITIZE=1` runs it under ASan + UBSan; `make check-tsan`
 * runs the concurrency test under ThreadSanitizer.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <seqnet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/counting_alloc.h"
#include "support/full_model.h"
#include "support/testkit.h"

enum { B = TK_FULL_BATCH, OUT = TK_FULL_OUT };

/* ------------------------------------------------------------ helpers */

static sn_model_t *full(uint64_t seed)
{
    sn_model_t *m = tk_full_model(seed);
    ck_assert_msg(m != NULL, "full model: %s", sn_last_error());
    return m;
}

static void predict(sn_model_t *m, float out[B * OUT])
{
    float *outs[1] = { out };
    ck_assert_int_eq(sn_model_predict(m, B, tk_full_inputs, NULL, outs),
                     SN_OK);
}

static sn_status train_step(sn_model_t *m)
{
    const float *const tg[1] = { tk_full_targets };
    return sn_model_train_on_batch(m, B, tk_full_inputs, NULL, tg, NULL,
                                   NULL);
}

/* All weights of m, concatenated (malloc'ed). */
static float *snapshot(sn_model_t *m, size_t *n)
{
    size_t total = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t c;
        ck_assert_ptr_nonnull(sn_model_weight_data(m, i, &c));
        total += c;
    }
    float *s = malloc(total * sizeof *s + 1);
    ck_assert_ptr_nonnull(s);
    size_t o = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t c;
        const float *w = sn_model_weight_data(m, i, &c);
        memcpy(s + o, w, c * sizeof *w);
        o += c;
    }
    *n = total;
    return s;
}

static void expect_same_weights(sn_model_t *m, const float *before, size_t n,
                                const char *what, long k)
{
    size_t n2;
    float *now = snapshot(m, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_msg(memcmp(before, now, n * sizeof *now) == 0,
                  "%s: allocation %ld failing changed the weights", what, k);
    free(now);
}

static unsigned char *save_copy(sn_model_t *m, int with_opt, size_t *len)
{
    void *data = NULL;
    ck_assert_int_eq(sn_model_save_buffer(m, with_opt, &data, len), SN_OK);
    unsigned char *c = malloc(*len);
    ck_assert_ptr_nonnull(c);
    memcpy(c, data, *len);
    sn_free(data);
    return c;
}

static sn_status load_status(const sn_registry_t *reg, const void *data,
                             size_t len)
{
    sn_model_t *m = (sn_model_t *)1;
    sn_status st = sn_model_load_buffer_ex(data, len, reg, &m);
    if (st == SN_OK)
        sn_model_free(m);
    else
        ck_assert_ptr_null(m);
    return st;
}

static char *temp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/sn_rob_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ------------------------------------------------------------ round trip */

START_TEST(test_full_model_round_trip)
{
    sn_model_t *m = full(1);
    ck_assert_int_eq(tk_full_compile(m), SN_OK);
    ck_assert_int_eq(train_step(m), SN_OK);
    size_t len;
    unsigned char *file = save_copy(m, 1, &len);
    sn_registry_t *reg = tk_full_registry();
    ck_assert_ptr_nonnull(reg);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load_buffer_ex(file, len, reg, &back), SN_OK);
    float a[B * OUT], b[B * OUT];
    predict(m, a);
    predict(back, b);
    ck_assert_mem_eq(a, b, sizeof a);
    /* training continues identically */
    ck_assert_int_eq(train_step(m), SN_OK);
    ck_assert_int_eq(train_step(back), SN_OK);
    predict(m, a);
    predict(back, b);
    ck_assert_mem_eq(a, b, sizeof a);
    /* without the registry the custom type is unknown */
    ck_assert_int_eq(load_status(NULL, file, len), SN_ERR_UNSUPPORTED);
    sn_registry_free(reg);
    sn_model_free(back);
    sn_model_free(m);
    free(file);
}
END_TEST

/* ------------------------------------- every byte, every truncation */

/* Every byte of a file with every layer type and a training state
 * (Adam slots after a step), flipped; every truncation. */
START_TEST(test_full_every_byte_and_truncation)
{
    sn_model_t *m = full(2);
    ck_assert_int_eq(tk_full_compile(m), SN_OK);
    ck_assert_int_eq(train_step(m), SN_OK);
    size_t len;
    unsigned char *file = save_copy(m, 1, &len);
    sn_registry_t *reg = tk_full_registry();
    ck_assert_int_eq(load_status(reg, file, len), SN_OK);
    printf("every byte and truncation of a %zu-byte model file\n", len);
    for (size_t i = 0; i < len; i++) {
        file[i] ^= 0xFF;
        if (load_status(reg, file, len) == SN_OK)
            ck_abort_msg("flipping byte %zu of %zu went unnoticed", i, len);
        file[i] ^= 0xFF;
    }
    for (size_t n = 0; n < len; n++)
        if (load_status(reg, file, n) == SN_OK)
            ck_abort_msg("truncation to %zu of %zu bytes loaded", n, len);
    sn_registry_free(reg);
    free(file);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------- every allocation failing */

/* Runs op with the N-th allocation (counted from the start of op) failing,
 * for N = 1, 2, ... until op succeeds without a failure.  Each failure
 * must be SN_ERR_NOMEM with a message and give back what op took; after
 * it, check (if not NULL) verifies the objects are unchanged and usable. */
typedef struct fi_case {
    const char *what;
    int creates;  /* op makes new objects only: a failure gives back all */
    sn_status (*op)(void *ctx);
    void (*check)(void *ctx, long k);
    void (*undo)(void *ctx);  /* frees what a successful op made, if any */
    void *ctx;
} fi_case;

static tk_counting_alloc fi_counter;
static sn_allocator fi_alloc;

/* Everything made from here on uses the counting allocator. */
static void fi_start(void)
{
    memset(&fi_counter, 0, sizeof fi_counter);
    fi_alloc = tk_counting_allocator(&fi_counter);
    ck_assert_int_eq(sn_set_allocator(&fi_alloc), SN_OK);
}

static long fi_run(const fi_case *c)
{
    for (long k = 1;; k++) {
        long allocs = fi_counter.allocs, frees = fi_counter.frees;
        fi_counter.fail_at = allocs + k;
        fi_counter.failed = 0;
        sn_clear_error();
        sn_status st = c->op(c->ctx);
        int failed = fi_counter.failed;
        fi_counter.fail_at = 0;
        if (st == SN_OK && !failed) {
            if (c->undo != NULL)
                c->undo(c->ctx);
            printf("allocation failures: %-10s %5ld points\n", c->what,
                   k - 1);
            return k;
        }
        ck_assert_msg(st == SN_ERR_NOMEM, "%s: allocation %ld failing gave "
                      "%s (%s)", c->what, k, sn_strerror(st),
                      sn_last_error());
        ck_assert_msg(sn_last_error()[0] != '\0', "%s: no message", c->what);
        /* (an op on an existing object may keep what it allocated, e.g.
         * buffers for the next call; sn_set_allocator(NULL) at the end
         * checks that everything is given back when the objects go) */
        if (c->creates)
            ck_assert_msg(fi_counter.allocs - allocs ==
                              fi_counter.frees - frees,
                          "%s: allocation %ld failing leaked %ld blocks",
                          c->what, k, (fi_counter.allocs - allocs) -
                                          (fi_counter.frees - frees));
        if (c->check != NULL)
            c->check(c->ctx, k);
        ck_assert_msg(k < 200000, "%s: no end", c->what);
    }
}

typedef struct fi_model {
    sn_model_t *m, *made;
    float *weights;
    size_t n;
    float out[B * OUT];
    const char *what;
    const char *path;
    sn_registry_t *reg;
    sn_vectorizer_t *v;
    sn_table_t *table;
    sn_layer_t *emb;
} fi_model;

static void fi_snapshot(fi_model *f)
{
    free(f->weights);
    f->weights = snapshot(f->m, &f->n);
    predict(f->m, f->out);
}

/* The model's weights are as before and it still predicts the same. */
static void fi_unchanged(void *ctx, long k)
{
    fi_model *f = ctx;
    expect_same_weights(f->m, f->weights, f->n, f->what, k);
    float now[B * OUT];
    predict(f->m, now);
    ck_assert_msg(memcmp(now, f->out, sizeof now) == 0, "%s: allocation %ld "
                  "failing changed the predictions", f->what, k);
}

/* fit keeps the updates of the batches it completed (docs/TRAINING.md),
 * also when a later allocation (history, metrics) fails: the model must
 * still predict, with finite outputs. */
static void fi_usable(void *ctx, long k)
{
    fi_model *f = ctx;
    float now[B * OUT];
    predict(f->m, now);
    for (int i = 0; i < B * OUT; i++)
        ck_assert_msg(isfinite(now[i]), "%s: allocation %ld failing left a "
                      "model predicting %g", f->what, k, (double)now[i]);
}

static void fi_same_weights(void *ctx, long k)
{
    fi_model *f = ctx;
    expect_same_weights(f->m, f->weights, f->n, f->what, k);
}

static sn_status op_build(void *ctx)
{
    fi_model *f = ctx;
    f->made = tk_full_model(5);
    if (f->made != NULL)
        return SN_OK;
    /* the constructors return NULL: the message tells why */
    return tk_contains(sn_last_error(), "memory") ? SN_ERR_NOMEM
                                                  : SN_ERR_INVALID_ARG;
}

static void undo_made(void *ctx)
{
    fi_model *f = ctx;
    sn_model_free(f->made);
    f->made = NULL;
}

static sn_status op_compile(void *ctx)
{
    return tk_full_compile(((fi_model *)ctx)->m);
}

static sn_status op_train(void *ctx)
{
    return train_step(((fi_model *)ctx)->m);
}

static sn_status op_fit(void *ctx)
{
    fi_model *f = ctx;
    const float *const tg[1] = { tk_full_targets };
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = B;
    d.inputs = tk_full_inputs;
    d.targets = tg;
    sn_fit_opts o = SN_FIT_OPTS_INIT;
    o.batch_size = 2;
    sn_history_t *h = NULL;
    sn_status st = sn_model_fit(f->m, &d, &o, &h);
    sn_history_free(h);
    return st;
}

static sn_status op_predict(void *ctx)
{
    fi_model *f = ctx;
    float out[B * OUT];
    float *outs[1] = { out };
    return sn_model_predict(f->m, B, tk_full_inputs, NULL, outs);
}

static sn_status op_save(void *ctx)
{
    fi_model *f = ctx;
    return sn_model_save(f->m, f->path, 1);
}

static sn_status op_load(void *ctx)
{
    fi_model *f = ctx;
    f->made = (sn_model_t *)1;
    sn_status st = sn_model_load_ex(f->path, f->reg, &f->made);
    if (st != SN_OK)
        ck_assert_ptr_null(f->made);
    return st;
}

static const char *const texts[4] = {
    "The film was great, GREAT!", "a terrible <br /> film",
    "caf\xc3\xa9 na\xc3\xafve \xff", "one two three two one" };

static sn_status op_adapt(void *ctx)
{
    return sn_vectorizer_adapt(((fi_model *)ctx)->v, texts, 4);
}

static sn_status op_transform(void *ctx)
{
    int32_t ids[4 * 16];
    fi_model *f = ctx;
    int w = sn_vectorizer_output_width(f->v, texts, 4);
    if (w < 0)
        return (sn_status)w;
    ck_assert_int_le(w, 16);
    return sn_vectorizer_transform(f->v, texts, 4, ids);
}

static sn_status op_csv(void *ctx)
{
    fi_model *f = ctx;
    sn_status st = sn_csv_read(f->path, NULL, &f->table);
    if (st == SN_OK) {
        sn_table_free(f->table);
        f->table = NULL;
    }
    return st;
}

static sn_status op_glove(void *ctx)
{
    fi_model *f = ctx;
    static const char *const vocab[5] = { "", "[UNK]", "the", "film", "x" };
    return sn_embedding_load_vectors(f->m, f->emb, f->path, vocab, 5, NULL,
                                     NULL);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

START_TEST(test_full_every_allocation_fails)
{
    char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/model.snm", dir);
    fi_model f;
    memset(&f, 0, sizeof f);
    f.path = path;
    fi_start();
    long total = 0;
    /* build: everything made is given back */
    f.what = "build";
    total += fi_run(&(fi_case){ "build", 1, op_build, NULL, undo_made, &f });
    f.m = full(6);
    fi_snapshot(&f);
    f.what = "compile";
    total += fi_run(&(fi_case){ "compile", 0, op_compile, fi_unchanged, NULL,
                                &f });
    fi_snapshot(&f);
    f.what = "train step";
    total += fi_run(&(fi_case){ "train step", 0, op_train, fi_unchanged, NULL,
                                &f });
    fi_snapshot(&f);
    f.what = "fit epoch";
    total += fi_run(&(fi_case){ "fit epoch", 0, op_fit, fi_usable, NULL,
                                &f });
    /* predict on a model that has never predicted (its buffers are made
     * on the first call), weights checked after each failure, the output
     * against a twin at the end */
    {
        fi_model pf;
        memset(&pf, 0, sizeof pf);
        pf.m = full(13);
        pf.what = "predict";
        pf.weights = snapshot(pf.m, &pf.n);
        total += fi_run(&(fi_case){ "predict", 0, op_predict,
                                    fi_same_weights, NULL, &pf });
        sn_model_t *twin = full(13);
        float a[B * OUT], b[B * OUT];
        predict(pf.m, a);
        predict(twin, b);
        ck_assert_mem_eq(a, b, sizeof a);
        sn_model_free(twin);
        sn_model_free(pf.m);
        free(pf.weights);
    }
    fi_snapshot(&f);
    f.what = "save";
    total += fi_run(&(fi_case){ "save", 0, op_save, fi_unchanged, NULL, &f });
    f.reg = tk_full_registry();
    ck_assert_ptr_nonnull(f.reg);
    f.what = "load";
    total += fi_run(&(fi_case){ "load", 1, op_load, NULL, undo_made, &f });
    /* the vectorizer: adapt keeps the old vocabulary on failure */
    f.v = sn_vectorizer_new(NULL);
    ck_assert_ptr_nonnull(f.v);
    total += fi_run(&(fi_case){ "adapt", 0, op_adapt, NULL, NULL, &f });
    int vs = sn_vectorizer_vocab_size(f.v);
    total += fi_run(&(fi_case){ "transform", 0, op_transform, NULL, NULL, &f });
    ck_assert_int_eq(sn_vectorizer_vocab_size(f.v), vs);
    /* CSV and GloVe files */
    write_text(path, "Date,Open,Close\n2020-01-02,1.5,2\n2020-01-03,2,3\n");
    total += fi_run(&(fi_case){ "csv", 1, op_csv, NULL, NULL, &f });
    sn_model_free(f.m);
    f.m = tk_new_model(7);
    ck_assert_int_ge(sn_input_tokens(f.m, 2), 0);
    f.emb = sn_embedding(5, 3, NULL);
    ck_assert_int_eq(sn_model_add(f.m, f.emb), SN_OK);
    ck_assert_int_eq(sn_model_build(f.m), SN_OK);
    free(f.weights);
    f.weights = snapshot(f.m, &f.n);
    f.what = "glove";
    write_text(path, "the 0.5 1 -2\nfilm 1e-3 2 3\nother 1 1 1\n");
    total += fi_run(&(fi_case){ "glove", 0, op_glove, fi_same_weights, NULL,
                                &f });
    ck_assert_int_gt(total, 100);
    sn_vectorizer_free(f.v);
    sn_model_free(f.m);
    sn_registry_free(f.reg);
    free(f.weights);
    sn_set_allocator(NULL);
    ck_assert_int_eq(fi_counter.allocs, fi_counter.frees);
    rm_rf(dir);
}
END_TEST

/* ------------------------------------------------ kill -9 during saves */

static unsigned char *file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int same(const unsigned char *a, size_t la, const void *b, size_t lb)
{
    return la == lb && memcmp(a, b, la) == 0;
}

/* A child saves model A or B and vectorizer A or B over the same two files
 * in a loop; the parent kills it with SIGKILL at a random moment, then
 * both files must be exactly one of the two versions, and load. */
START_TEST(test_kill_9_during_saves)
{
    enum { KILLS = 60 };
    char *dir = temp_dir();
    char mpath[256], vpath[256];
    snprintf(mpath, sizeof mpath, "%s/model.snm", dir);
    snprintf(vpath, sizeof vpath, "%s/vec.snv", dir);
    sn_model_t *ma = full(8), *mb = full(9);
    ck_assert_int_eq(tk_full_compile(ma), SN_OK);
    ck_assert_int_eq(tk_full_compile(mb), SN_OK);
    ck_assert_int_eq(train_step(mb), SN_OK);
    sn_vectorizer_t *va = sn_vectorizer_new(NULL), *vb = sn_vectorizer_new(NULL);
    ck_assert_int_eq(sn_vectorizer_adapt(va, texts, 2), SN_OK);
    ck_assert_int_eq(sn_vectorizer_adapt(vb, texts + 2, 2), SN_OK);
    void *fa, *fb, *ga, *gb;
    size_t la, lb, lga, lgb;
    ck_assert_int_eq(sn_model_save_buffer(ma, 1, &fa, &la), SN_OK);
    ck_assert_int_eq(sn_model_save_buffer(mb, 1, &fb, &lb), SN_OK);
    ck_assert_int_eq(sn_vectorizer_save_buffer(va, &ga, &lga), SN_OK);
    ck_assert_int_eq(sn_vectorizer_save_buffer(vb, &gb, &lgb), SN_OK);
    ck_assert_int_eq(sn_model_save(ma, mpath, 1), SN_OK);
    ck_assert_int_eq(sn_vectorizer_save(va, vpath), SN_OK);
    sn_registry_t *reg = tk_full_registry();
    uint32_t rs = (uint32_t)time(NULL);
    int saw_b = 0;
    for (int i = 0; i < KILLS; i++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (int n = 0;; n++) {
                sn_model_save(n & 1 ? ma : mb, mpath, 1);
                sn_vectorizer_save(n & 1 ? va : vb, vpath);
            }
        }
        long us = 1000 + (long)(tk_lcg_next(&rs) % 20000);
        if (i == KILLS - 1 && !saw_b)
            us = 900000;  /* a slow disk: let at least one save finish */
        struct timespec ts = { us / 1000000, us % 1000000 * 1000 };
        nanosleep(&ts, NULL);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        size_t len;
        unsigned char *now = file_bytes(mpath, &len);
        ck_assert_ptr_nonnull(now);
        ck_assert_msg(same(now, len, fa, la) || same(now, len, fb, lb),
                      "kill %d: the model file is torn (%zu bytes)", i, len);
        saw_b |= same(now, len, fb, lb);
        sn_model_t *back = NULL;
        ck_assert_int_eq(sn_model_load_ex(mpath, reg, &back), SN_OK);
        sn_model_free(back);
        free(now);
        now = file_bytes(vpath, &len);
        ck_assert_ptr_nonnull(now);
        ck_assert_msg(same(now, len, ga, lga) || same(now, len, gb, lgb),
                      "kill %d: the vectorizer file is torn", i);
        free(now);
    }
    ck_assert(saw_b);  /* the child did replace the file */
    /* what a kill leaves behind is named <file>.sntmp-XXXXXX */
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            ck_assert_msg(strcmp(e->d_name, "model.snm") == 0 ||
                          strcmp(e->d_name, "vec.snv") == 0 ||
                          strstr(e->d_name, ".sntmp-") != NULL,
                          "unexpected file %s", e->d_name);
    closedir(d);
    sn_registry_free(reg);
    sn_free(fa);
    sn_free(fb);
    sn_free(ga);
    sn_free(gb);
    sn_vectorizer_free(va);
    sn_vectorizer_free(vb);
    sn_model_free(ma);
    sn_model_free(mb);
    rm_rf(dir);
}
END_TEST

/* --------------------------------------------- concurrent prediction */

enum { THREADS = 8, REPS = 20 };

typedef struct job {
    sn_model_t *m[2];
    const float *want[2];
    int bad;
    sn_status st;
} job;

static void *predict_loop(void *arg)
{
    job *j = arg;
    for (int r = 0; r < REPS && j->st == SN_OK; r++) {
        int k = r & 1;
        float out[B * OUT];
        float *outs[1] = { out };
        j->st = sn_model_predict(j->m[k], B, tk_full_inputs, NULL, outs);
        if (j->st == SN_OK && memcmp(out, j->want[k], sizeof out) != 0)
            j->bad++;
    }
    return NULL;
}

/* 8 threads predict on two shared every-layer models at once; every
 * result is bit-identical to the serial one.  ThreadSanitizer checks the
 * same test for races (make check-tsan). */
START_TEST(test_concurrent_predict_every_layer)
{
    sn_model_t *m[2] = { full(10), full(11) };
    float want[2][B * OUT];
    predict(m[0], want[0]);
    predict(m[1], want[1]);
    ck_assert(memcmp(want[0], want[1], sizeof want[0]) != 0);
    job jobs[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){ { m[i & 1], m[1 - (i & 1)] },
                         { want[i & 1], want[1 - (i & 1)] }, 0, SN_OK };
        ck_assert_int_eq(pthread_create(&t[i], NULL, predict_loop, &jobs[i]),
                         0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_msg(jobs[i].st == SN_OK, "thread %d: %s", i,
                      sn_strerror(jobs[i].st));
        ck_assert_msg(jobs[i].bad == 0, "thread %d: %d results differ from "
                      "the serial ones", i, jobs[i].bad);
    }
    sn_model_free(m[0]);
    sn_model_free(m[1]);
}
END_TEST

/* --------------------------------------------------- keys with a mask */

/* Attention(query, values, keys) where only the keys carry a mask (values
 * are a float input), then where both do at different steps: a key step
 * either mask marks as padding gets weight exactly 0. */
START_TEST(test_attention_keys_mask)
{
    static const int32_t ktok[3 * 4] = { 1, 2, 0, 3,   0, 0, 4, 1,
                                         2, 2, 2, 2 };
    static const int32_t vtok[3 * 4] = { 1, 1, 1, 0,   3, 3, 3, 3,
                                         0, 1, 1, 1 };
    for (int both = 0; both < 2; both++) {
        sn_model_t *m = tk_new_model(12);
        int q = sn_input(m, SN_NO_TIME, 3);
        int vf = both ? -1 : sn_input(m, 4, 3);
        int kt = sn_input_tokens(m, 4);
        int vt = both ? sn_input_tokens(m, 4) : -1;
        sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
        eo.mask_zero = 1;
        int keys = sn_apply(m, sn_embedding(5, 3, &eo), kt);
        int vals = both ? sn_apply(m, sn_embedding(5, 3, &eo), vt) : vf;
        sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
        o.return_attention_scores = 1;
        int in[3] = { q, vals, keys }, outs[2];
        ck_assert_int_eq(sn_apply_n(m, sn_attention(SN_SCORE_DOT, &o), in, 3,
                                    outs, 2), 2);
        ck_assert_int_eq(sn_model_set_outputs(m, outs, 2), SN_OK);
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        float qd[9], vd[3 * 12];
        tk_fill(qd, 9, 5, -1.0f, 1.0f);
        tk_fill(vd, 36, 6, -1.0f, 1.0f);
        const void *inputs[3] = { qd, both ? (const void *)ktok : vd,
                                  both ? (const void *)vtok : ktok };
        ck_assert_int_eq(sn_model_forward(m, 3, inputs, NULL, 0), SN_OK);
        const float *a = sn_model_output(m, 1, NULL, 0, NULL);
        ck_assert_ptr_nonnull(a);
        for (int b = 0; b < 3; b++) {
            double sum = 0;
            int real = 0;
            for (int j = 0; j < 4; j++) {
                int padded = ktok[b * 4 + j] == 0 ||
                             (both && vtok[b * 4 + j] == 0);
                float w = a[b * 4 + j];
                if (padded)
                    ck_assert_msg(w == 0.0f, "both=%d row %d key %d: "
                                  "weight %g on a masked key", both, b, j,
                                  (double)w);
                else
                    ck_assert_msg(w > 0.0f, "both=%d row %d key %d: 0", both,
                                  b, j);
                real += !padded;
                sum += w;
            }
            if (real > 0)
                ck_assert_double_eq_tol(sum, 1.0, 1e-6);
        }
        sn_model_free(m);
    }
}
END_TEST

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    Suite *s = suite_create("robustness");
    TCase *tc = tcase_create("every_layer");
    tcase_set_timeout(tc, 600);
    /* `check_robustness concurrency` runs only the concurrency test (the
     * ThreadSanitizer build, make check-tsan) */
    int only_threads = argc > 1 && strcmp(argv[1], "concurrency") == 0;
    tcase_add_test(tc, test_concurrent_predict_every_layer);
    if (!only_threads) {
        tcase_add_test(tc, test_full_model_round_trip);
        tcase_add_test(tc, test_full_every_byte_and_truncation);
        tcase_add_test(tc, test_full_every_allocation_fails);
        tcase_add_test(tc, test_kill_9_during_saves);
        tcase_add_test(tc, test_attention_keys_mask);
    }
    suite_add_tcase(s, tc);
    return tk_run_suite(s);
}
