/*
 * check_save.c - saving and loading models (docs/FORMAT.md) through the
 * public API: exact round trips to a buffer and to a file, every single
 * byte flipped, every truncation, foreign and future files, optional and
 * unknown sections, I/O failures, atomic replacement, NULL arguments and
 * out-of-memory at every allocation.
 */
#include <check.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/counting_alloc.h"
#include "support/testkit.h"

enum { T = 5, VOCAB = 20, BATCH = 3, N_OUT = 3, X2 = 4 };

/* ------------------------------------------------------------ helpers */

/* Every built-in layer in one functional graph:
 *   tokens[5] -> Embedding(mask_zero) -> Dense(relu) -> GAP1D & GMP1D
 *   -> Concatenate -> Add(with Dense(tanh) of a float input[4]) -> Dropout
 *   -> Activation -> Dense(softmax).  One layer is frozen, some named. */
static sn_model_t *every_layer_model(uint64_t seed)
{
    sn_model_opts o = SN_MODEL_OPTS_INIT;
    o.seed = seed;
    o.name = "every_layer";
    sn_model_t *m = sn_model_new(&o);
    ck_assert_ptr_nonnull(m);
    int tok = sn_input_tokens(m, T);
    int x2 = sn_input(m, SN_NO_TIME, X2);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    sn_layer_t *emb = sn_embedding(VOCAB, 8, &eo);
    ck_assert_int_eq(sn_layer_set_name(emb, "tok_embed"), SN_OK);
    int e = sn_apply(m, emb, tok);
    int d = sn_apply(m, sn_dense(6, SN_RELU, NULL), e);
    int pooled[2] = { sn_apply(m, sn_global_average_pooling1d(), d),
                      sn_apply(m, sn_global_max_pooling1d(), d) };
    int cat = -1;
    ck_assert_int_eq(sn_apply_n(m, sn_concatenate(-1), pooled, 2, &cat, 1),
                     1);
    sn_dense_opts dop = SN_DENSE_OPTS_INIT;
    dop.use_bias = 0;
    sn_layer_t *side = sn_dense(12, SN_TANH, &dop);
    ck_assert_int_eq(sn_layer_set_trainable(side, 0), SN_OK);
    int xs = sn_apply(m, side, x2);
    int summed[2] = { cat, xs };
    int add = -1;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), summed, 2, &add, 1), 1);
    int drop = sn_apply(m, sn_dropout(0.25f), add);
    int act = sn_apply(m, sn_activation_layer(SN_TANH), drop);
    sn_layer_t *head = sn_dense(N_OUT, SN_SOFTMAX, NULL);
    ck_assert_int_eq(sn_layer_set_name(head, "head"), SN_OK);
    int out = sn_apply(m, head, act);
    ck_assert_int_ge(out, 0);
    ck_assert_int_eq(sn_model_set_outputs(m, &out, 1), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

static int32_t tokens[BATCH * T] = { 3, 7, 0, 0, 0,   1, 2, 3, 4, 5,
                                     19, 0, 11, 0, 6 };
static float floats[BATCH * X2] = { 0.5f, -1.0f, 0.25f, 2.0f,
                                    0.0f, 0.1f, -0.3f, 0.7f,
                                    -2.0f, 1.5f, 0.9f, -0.4f };
static const float targets[BATCH * N_OUT] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };

static const void *const inputs[2] = { tokens, floats };

static void predict(sn_model_t *m, float out[BATCH * N_OUT])
{
    float *outs[1] = { out };
    ck_assert_int_eq(sn_model_predict(m, BATCH, inputs, NULL, outs), SN_OK);
}

/* Training-mode forward (dropout on): its output. */
static void forward_train(sn_model_t *m, float out[BATCH * N_OUT])
{
    ck_assert_int_eq(sn_model_forward(m, BATCH, inputs, NULL, 1), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    ck_assert_ptr_nonnull(y);
    memcpy(out, y, BATCH * N_OUT * sizeof *out);
}

/* Asserts that b is a, as far as the public API can see. */
static void assert_same_model(sn_model_t *a, sn_model_t *b)
{
    ck_assert_int_eq(sn_model_num_layers(a), sn_model_num_layers(b));
    ck_assert_int_eq(sn_model_num_inputs(a), sn_model_num_inputs(b));
    ck_assert_int_eq(sn_model_num_outputs(a), sn_model_num_outputs(b));
    for (int i = 0; i < sn_model_num_layers(a); i++) {
        sn_layer_t *la = sn_model_layer(a, i), *lb = sn_model_layer(b, i);
        ck_assert_str_eq(sn_layer_name(la), sn_layer_name(lb));
        ck_assert_str_eq(sn_layer_type(la), sn_layer_type(lb));
    }
    ck_assert_int_eq(sn_model_num_weights(a), sn_model_num_weights(b));
    for (int i = 0; i < sn_model_num_weights(a); i++) {
        const char *na, *nb;
        int da[4], db[4], ta, tb;
        int ra = sn_model_weight_info(a, i, &na, da, SN_MAX_RANK, &ta);
        int rb = sn_model_weight_info(b, i, &nb, db, SN_MAX_RANK, &tb);
        ck_assert_int_eq(ra, rb);
        ck_assert_str_eq(na, nb);
        ck_assert_int_eq(ta, tb);
        ck_assert_mem_eq(da, db, (size_t)ra * sizeof *da);
        size_t ca, cb;
        const float *wa = sn_model_weight_data(a, i, &ca);
        const float *wb = sn_model_weight_data(b, i, &cb);
        ck_assert_uint_eq(ca, cb);
        ck_assert_mem_eq(wa, wb, ca * sizeof *wa);
    }
    char *sa = tk_summary_text(a), *sb = tk_summary_text(b);
    ck_assert_str_eq(sa, sb);
    free(sa);
    free(sb);
    float pa[BATCH * N_OUT], pb[BATCH * N_OUT];
    predict(a, pa);
    predict(b, pb);
    ck_assert_mem_eq(pa, pb, sizeof pa);
}

/* A model saved to a malloc'ed copy (the caller frees it with free). */
static unsigned char *saved_copy(sn_model_t *m, int include_optimizer,
                                 size_t *len)
{
    void *data = NULL;
    ck_assert_int_eq(sn_model_save_buffer(m, include_optimizer, &data, len),
                     SN_OK);
    ck_assert_ptr_nonnull(data);
    unsigned char *copy = malloc(*len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, data, *len);
    sn_free(data);
    return copy;
}

static sn_status load_status(const unsigned char *data, size_t len)
{
    sn_model_t *m = (sn_model_t *)1;
    sn_status st = sn_model_load_buffer(data, len, &m);
    if (st == SN_OK)
        sn_model_free(m);
    else
        ck_assert_ptr_null(m);
    return st;
}

/* Bitwise CRC-32 (IEEE), independent of the library's table. */
static uint32_t crc32_ref(const unsigned char *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* The file with one extra section (tag, payload) spliced before END. */
static unsigned char *with_section(const unsigned char *file, size_t len,
                                   const char tag[4], const char *payload,
                                   size_t *out_len)
{
    size_t plen = strlen(payload), extra = 16 + plen, end = len - 16;
    unsigned char *out = malloc(len + extra);
    ck_assert_ptr_nonnull(out);
    ck_assert_mem_eq(file + end, "END ", 4);
    memcpy(out, file, end);
    unsigned char *s = out + end;
    memcpy(s, tag, 4);
    for (int i = 0; i < 8; i++)
        s[4 + i] = (unsigned char)((uint64_t)plen >> (8 * i));
    memcpy(s + 12, payload, plen);
    uint32_t crc = crc32_ref(s, 12 + plen, 0);
    for (int i = 0; i < 4; i++)
        s[12 + plen + i] = (unsigned char)(crc >> (8 * i));
    memcpy(out + end + extra, file + end, 16);
    *out_len = len + extra;
    return out;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ------------------------------------------------------------ round trips */

START_TEST(test_buffer_round_trip_is_exact)
{
    sn_model_t *m = every_layer_model(42);
    float y[BATCH * N_OUT];
    forward_train(m, y); /* advances the dropout pass counter */
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    ck_assert_uint_gt(len, 16);
    ck_assert_mem_eq(data, "\x89SNM\r\n\x1a\n", 8);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load_buffer(data, len, &back), SN_OK);
    ck_assert_ptr_nonnull(back);
    assert_same_model(m, back);
    /* the frozen layer is frozen again (assert_same_model compared all) */
    int t = -1;
    ck_assert_int_ge(sn_model_weight_info(back, sn_model_find_weight(back,
                     "dense_1/kernel"), NULL, NULL, 0, &t), 0);
    ck_assert_int_eq(t, 0);
    /* the dropout streams continue identically after the load */
    float ya[BATCH * N_OUT], yb[BATCH * N_OUT];
    forward_train(m, ya);
    forward_train(back, yb);
    ck_assert_mem_eq(ya, yb, sizeof ya);
    /* saving the loaded model gives the same bytes */
    void *again = NULL;
    size_t len2 = 0;
    sn_model_t *fresh = NULL;
    ck_assert_int_eq(sn_model_load_buffer(data, len, &fresh), SN_OK);
    ck_assert_int_eq(sn_model_save_buffer(fresh, 0, &again, &len2), SN_OK);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(data, again, len);
    sn_free(again);
    sn_free(data);
    sn_model_free(fresh);
    sn_model_free(back);
    sn_model_free(m);
}
END_TEST

START_TEST(test_save_builds_an_unbuilt_model)
{
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_int_ge(sn_input(m, SN_ANY_TIME, 3), 0);
    ck_assert_int_eq(sn_model_add(m, sn_dense(2, SN_LINEAR, NULL)), SN_OK);
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 1, &data, &len), SN_OK);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load_buffer(data, len, &back), SN_OK);
    int dims[3];
    ck_assert_int_eq(sn_model_tensor_shape(back, 0, dims, SN_MAX_RANK, NULL), 2);
    ck_assert_int_eq(dims[0], -1);
    ck_assert_int_eq(dims[1], 3);
    sn_free(data);
    sn_model_free(back);
    sn_model_free(m);
}
END_TEST

START_TEST(test_file_round_trip_and_atomic_replace)
{
    char dir[] = "/tmp/sn_save_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/model.snm", dir);
    sn_model_t *m = every_layer_model(7);
    ck_assert_int_eq(sn_model_save(m, path, 0), SN_OK);
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load(path, &back), SN_OK);
    assert_same_model(m, back);
    /* saving over an existing file replaces it, leaving no temp files */
    sn_model_t *other = every_layer_model(8);
    ck_assert_int_eq(sn_model_save(other, path, 0), SN_OK);
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    sn_model_t *back2 = NULL;
    ck_assert_int_eq(sn_model_load(path, &back2), SN_OK);
    assert_same_model(other, back2);
    /* the file holds exactly what save_buffer gives */
    size_t flen, blen;
    unsigned char *file = read_all(path, &flen);
    unsigned char *buf = saved_copy(other, 0, &blen);
    ck_assert_uint_eq(flen, blen);
    ck_assert_mem_eq(file, buf, flen);
    free(file);
    free(buf);
    unlink(path);
    rmdir(dir);
    sn_model_free(back2);
    sn_model_free(other);
    sn_model_free(back);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ corruption */

START_TEST(test_every_byte_flip_is_an_error)
{
    sn_model_t *m = every_layer_model(3);
    size_t len;
    unsigned char *file = saved_copy(m, 0, &len);
    ck_assert_int_eq(load_status(file, len), SN_OK);
    for (size_t i = 0; i < len; i++) {
        file[i] ^= 0xFF;
        sn_status st = load_status(file, len);
        if (st == SN_OK)
            ck_abort_msg("flipping byte %zu of %zu went unnoticed", i, len);
        ck_assert_str_ne(sn_last_error(), "");
        file[i] ^= 0xFF;
    }
    free(file);
    sn_model_free(m);
}
END_TEST

/* Recomputes the CRC of every section, so that damage reaches the
 * parsers behind the CRC check. */
static void fix_crcs(unsigned char *file, size_t len)
{
    size_t at = 16;
    while (at + 16 <= len) {
        uint64_t n = 0;
        for (int i = 0; i < 8; i++)
            n |= (uint64_t)file[at + 4 + i] << (8 * i);
        if (n > len - at - 16)
            return;
        uint32_t crc = crc32_ref(file + at, 12 + (size_t)n, 0);
        for (int i = 0; i < 4; i++)
            file[at + 12 + n + i] = (unsigned char)(crc >> (8 * i));
        at += 16 + (size_t)n;
    }
}

/* Damage behind a valid CRC: whatever the status, no crash, no overread
 * (ASan), no leak; a change to a structural field must be refused. */
static void fuzz_behind_crc(const unsigned char *file, size_t len)
{
    static const unsigned char masks[] = { 0xFF, 0x01, 0x80, 0x7F };
    unsigned char *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    for (size_t i = 16; i < len; i++)
        for (size_t k = 0; k < sizeof masks; k++) {
            memcpy(copy, file, len);
            copy[i] ^= masks[k];
            fix_crcs(copy, len);
            (void)load_status(copy, len);
        }
    free(copy);
}

START_TEST(test_damage_behind_valid_crcs_is_safe)
{
    sn_model_t *m = every_layer_model(17);
    size_t len;
    unsigned char *file = saved_copy(m, 0, &len);
    fuzz_behind_crc(file, len);
    /* a layer type no library knows is refused, not skipped */
    size_t at = 0;
    while (at + 7 <= len && memcmp(file + at, "Dropout", 7) != 0)
        at++;
    ck_assert_uint_lt(at + 7, len);
    file[at] = 'X';
    fix_crcs(file, len);
    ck_assert_int_eq(load_status(file, len), SN_ERR_UNSUPPORTED);
    free(file);
    sn_model_free(m);
}
END_TEST

START_TEST(test_every_truncation_is_an_error)
{
    sn_model_t *m = every_layer_model(4);
    size_t len;
    unsigned char *file = saved_copy(m, 0, &len);
    for (size_t n = 0; n < len; n++) {
        /* a fresh copy of exactly n bytes, so that ASan sees any overread */
        unsigned char *cut = malloc(n > 0 ? n : 1);
        ck_assert_ptr_nonnull(cut);
        memcpy(cut, file, n);
        sn_status st = load_status(cut, n);
        if (st == SN_OK)
            ck_abort_msg("truncating to %zu of %zu bytes went unnoticed", n,
                         len);
        free(cut);
    }
    /* trailing bytes after END are refused as well */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, file, len);
    longer[len] = 0;
    ck_assert_int_eq(load_status(longer, len + 1), SN_ERR_FORMAT);
    free(longer);
    free(file);
    sn_model_free(m);
}
END_TEST

START_TEST(test_foreign_and_future_files)
{
    sn_model_t *m = every_layer_model(5);
    size_t len;
    unsigned char *file = saved_copy(m, 0, &len);
    file[1] = 'X';
    ck_assert_int_eq(load_status(file, len), SN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "not a libseqnet model"));
    file[1] = 'S';
    /* version 2, nothing else changed */
    ck_assert_int_eq(file[8], 1);
    file[8] = 2;
    ck_assert_int_eq(load_status(file, len), SN_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "version 2"));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "version 1"));
    file[8] = 1;
    static const char text[] = "this is not a model file at all, honest";
    ck_assert_int_eq(load_status((const unsigned char *)text, sizeof text),
                     SN_ERR_FORMAT);
    ck_assert_int_eq(load_status(file, len), SN_OK);
    free(file);
    sn_model_free(m);
}
END_TEST

START_TEST(test_unknown_sections)
{
    sn_model_t *m = every_layer_model(6);
    size_t len, xlen;
    unsigned char *file = saved_copy(m, 0, &len);
    /* optional (lowercase first letter): skipped */
    unsigned char *opt = with_section(file, len, "xtra", "hello", &xlen);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load_buffer(opt, xlen, &back), SN_OK);
    assert_same_model(m, back);
    sn_model_free(back);
    /* its CRC is checked even so */
    opt[len - 16 + 12] ^= 1;
    ck_assert_int_eq(load_status(opt, xlen), SN_ERR_FORMAT);
    free(opt);
    /* required (uppercase): refused */
    unsigned char *req = with_section(file, len, "XTRA", "hello", &xlen);
    ck_assert_int_eq(load_status(req, xlen), SN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "XTRA"));
    free(req);
    free(file);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ I/O errors */

START_TEST(test_io_errors)
{
    sn_model_t *m = every_layer_model(9);
    sn_model_t *out = (sn_model_t *)1;
    ck_assert_int_eq(sn_model_load("/nonexistent/dir/model.snm", &out),
                     SN_ERR_IO);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "No such file"));

    char dir[] = "/tmp/sn_save_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/missing/model.snm", dir);
    ck_assert_int_eq(sn_model_save(m, path, 0), SN_ERR_IO);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(tk_temp_files_in(dir), 0);

    /* a directory in the way: the rename fails, the directory and what it
     * holds stay as they were, and no temporary file is left behind */
    char target[256], inside[300];
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(inside, sizeof inside, "%s/keep", target);
    ck_assert_int_eq(mkdir(target, 0755), 0);
    FILE *f = fopen(inside, "w");
    ck_assert_ptr_nonnull(f);
    fputs("keep", f);
    fclose(f);
    ck_assert_int_eq(sn_model_save(m, target, 0), SN_ERR_IO);
    ck_assert_int_eq(tk_temp_files_in(dir), 0);
    ck_assert_int_eq(access(inside, F_OK), 0);

    /* a directory is not a model file */
    ck_assert_int_eq(sn_model_load(target, &out), SN_ERR_IO);
    unlink(inside);
    rmdir(target);
    rmdir(dir);
    sn_model_free(m);
}
END_TEST

START_TEST(test_null_arguments)
{
    sn_free(NULL);
    sn_model_t *m = every_layer_model(10);
    void *data = NULL;
    size_t len = 0;
    sn_model_t *out = NULL;
    ck_assert_int_eq(sn_model_save(NULL, "/tmp/x", 0), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_save(m, NULL, 0), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_save_buffer(NULL, 0, &data, &len),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_save_buffer(m, 0, NULL, &len),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_load(NULL, &out), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_load("/tmp/x", NULL), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_load_buffer(NULL, 10, &out),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_load_buffer("x", 1, NULL), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_load_buffer("", 0, &out), SN_ERR_FORMAT);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ out of memory */

START_TEST(test_out_of_memory_while_loading)
{
    sn_model_t *m = every_layer_model(11);
    size_t len;
    unsigned char *file = saved_copy(m, 0, &len);
    for (long k = 1;; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator a = tk_counting_allocator(&c);
        ck_assert_int_eq(sn_set_allocator(&a), SN_OK);
        sn_model_t *back = NULL;
        sn_status st = sn_model_load_buffer(file, len, &back);
        if (st == SN_OK) {
            sn_set_allocator(NULL);
            ck_assert(!c.failed); /* nothing failed: done */
            c.fail_at = 0; /* the loaded model allocates with c later */
            assert_same_model(m, back);
            sn_set_allocator(&a);
            sn_model_free(back);
            sn_set_allocator(NULL);
            ck_assert_int_eq(c.allocs, c.frees);
            break;
        }
        sn_set_allocator(NULL);
        if (st != SN_ERR_NOMEM)
            ck_abort_msg("allocation %ld failing gave %s: %s", k,
                         sn_strerror(st), sn_last_error());
        ck_assert_ptr_null(back);
        ck_assert_int_eq(c.allocs, c.frees);
        ck_assert_int_lt(k, 100000);
    }
    free(file);
    sn_model_free(m);
}
END_TEST

START_TEST(test_out_of_memory_while_saving_keeps_the_old_file)
{
    char dir[] = "/tmp/sn_save_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/model.snm", dir);
    sn_model_t *m = every_layer_model(12);
    sn_model_t *other = every_layer_model(13);
    ck_assert_int_eq(sn_model_save(m, path, 0), SN_OK);
    size_t len0;
    unsigned char *before = read_all(path, &len0);
    for (long k = 1;; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator a = tk_counting_allocator(&c);
        ck_assert_int_eq(sn_set_allocator(&a), SN_OK);
        sn_status st = sn_model_save(other, path, 0);
        sn_set_allocator(NULL);
        ck_assert_int_eq(c.allocs, c.frees);
        ck_assert_int_eq(tk_temp_files_in(dir), 0);
        if (st == SN_OK) {
            /* only once no allocation failed (a failed directory-sync
             * allocation used to be reported as success) */
            ck_assert_int_eq(c.failed, 0);
            break;
        }
        ck_assert_int_eq(st, SN_ERR_NOMEM);
        size_t len1;
        unsigned char *now = read_all(path, &len1);
        ck_assert_uint_eq(len0, len1);
        ck_assert_mem_eq(before, now, len0);
        free(now);
        /* save_buffer fails cleanly as well */
        tk_counting_alloc cb = { 0, 0, k, 0 };
        sn_allocator ab = tk_counting_allocator(&cb);
        sn_set_allocator(&ab);
        void *data = (void *)1;
        size_t len = 1;
        sn_status sb = sn_model_save_buffer(other, 0, &data, &len);
        sn_set_allocator(NULL);
        if (sb == SN_OK) {
            sn_free(data);
        } else {
            ck_assert_int_eq(sb, SN_ERR_NOMEM);
            ck_assert_ptr_null(data);
        }
        ck_assert_int_eq(cb.allocs, cb.frees);
    }
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load(path, &back), SN_OK);
    assert_same_model(other, back);
    free(before);
    unlink(path);
    rmdir(dir);
    sn_model_free(back);
    sn_model_free(other);
    sn_model_free(m);
}
END_TEST

/* The buffer of save_buffer is released with the allocator that made it,
 * whatever allocator is current when sn_free runs. */
START_TEST(test_sn_free_uses_the_saving_allocator)
{
    sn_model_t *m = every_layer_model(14);
    tk_counting_alloc c = { 0, 0, 0, 0 };
    sn_allocator a = tk_counting_allocator(&c);
    sn_set_allocator(&a);
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &data, &len), SN_OK);
    sn_set_allocator(NULL);
    ck_assert_int_eq(c.allocs, c.frees + 1);
    sn_free(data);
    ck_assert_int_eq(c.allocs, c.frees);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ training state */

static void compile_adam(sn_model_t *m)
{
    sn_optimizer_opts oo;
    ck_assert_int_eq(sn_optimizer_defaults(SN_ADAM, &oo), SN_OK);
    sn_optimizer_t *opt = sn_optimizer_new(&oo);
    ck_assert_ptr_nonnull(opt);
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_CATEGORICAL_CROSSENTROPY;
    sn_metric_kind mk[1] = { SN_METRIC_ACCURACY };
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = opt;
    co.loss = &lo;
    co.metrics = mk;
    co.n_metrics = 1;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
}

static double train_step(sn_model_t *m)
{
    const float *const tg[1] = { targets };
    double loss = 0;
    ck_assert_int_eq(sn_model_train_on_batch(m, BATCH, inputs, NULL, tg, NULL,
                                             &loss), SN_OK);
    return loss;
}

START_TEST(test_optimizer_state_round_trip)
{
    sn_model_t *m = every_layer_model(15);
    compile_adam(m);
    train_step(m);
    train_step(m);
    size_t len;
    unsigned char *file = saved_copy(m, 1, &len);
    sn_model_t *back = NULL;
    ck_assert_int_eq(sn_model_load_buffer(file, len, &back), SN_OK);
    assert_same_model(m, back);
    ck_assert_ptr_nonnull(sn_model_optimizer(back));
    ck_assert_int_eq(sn_optimizer_iterations(sn_model_optimizer(back)),
                     sn_optimizer_iterations(sn_model_optimizer(m)));
    ck_assert_int_eq(sn_model_num_metrics(back), sn_model_num_metrics(m));
    /* training continues bit for bit */
    double la = train_step(m), lb = train_step(back);
    ck_assert_mem_eq(&la, &lb, sizeof la);
    assert_same_model(m, back);
    sn_model_free(back);

    /* without include_optimizer the loaded model is not compiled */
    size_t len2;
    unsigned char *plain = saved_copy(m, 0, &len2);
    ck_assert_uint_lt(len2, len);
    ck_assert_int_eq(sn_model_load_buffer(plain, len2, &back), SN_OK);
    ck_assert_ptr_null(sn_model_optimizer(back));
    sn_model_free(back);
    free(plain);

    /* the training section is as robust as the rest */
    for (size_t i = 0; i < len; i++) {
        file[i] ^= 0xFF;
        if (load_status(file, len) == SN_OK)
            ck_abort_msg("flipping byte %zu of %zu went unnoticed", i, len);
        file[i] ^= 0xFF;
    }
    for (size_t n = 0; n < len; n++)  /* every truncation */
        ck_assert_int_ne(load_status(file, n), SN_OK);
    fuzz_behind_crc(file, len);
    free(file);
    sn_model_free(m);
}
END_TEST

START_TEST(test_out_of_memory_with_training_state)
{
    sn_model_t *m = every_layer_model(16);
    compile_adam(m);
    train_step(m);
    size_t len;
    unsigned char *file = saved_copy(m, 1, &len);
    for (long k = 1;; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator a = tk_counting_allocator(&c);
        sn_set_allocator(&a);
        sn_model_t *back = NULL;
        sn_status st = sn_model_load_buffer(file, len, &back);
        sn_model_free(back);
        sn_set_allocator(NULL);
        ck_assert_int_eq(c.allocs, c.frees);
        if (st == SN_OK)
            break;
        if (st != SN_ERR_NOMEM)
            ck_abort_msg("allocation %ld failing gave %s: %s", k,
                         sn_strerror(st), sn_last_error());
        ck_assert_int_lt(k, 100000);
    }
    free(file);
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *save_suite(void)
{
    Suite *s = suite_create("save");
    TCase *tc = tcase_create("format");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_buffer_round_trip_is_exact);
    tcase_add_test(tc, test_save_builds_an_unbuilt_model);
    tcase_add_test(tc, test_file_round_trip_and_atomic_replace);
    tcase_add_test(tc, test_every_byte_flip_is_an_error);
    tcase_add_test(tc, test_every_truncation_is_an_error);
    tcase_add_test(tc, test_damage_behind_valid_crcs_is_safe);
    tcase_add_test(tc, test_foreign_and_future_files);
    tcase_add_test(tc, test_unknown_sections);
    tcase_add_test(tc, test_io_errors);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_out_of_memory_while_loading);
    tcase_add_test(tc, test_out_of_memory_while_saving_keeps_the_old_file);
    tcase_add_test(tc, test_sn_free_uses_the_saving_allocator);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("training_state");
    tcase_set_timeout(tr, 60);
    tcase_add_test(tr, test_optimizer_state_round_trip);
    tcase_add_test(tr, test_out_of_memory_with_training_state);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    return tk_run_suite(save_suite());
}
