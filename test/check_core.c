/*
 * check_core.c - the core API through the public header: version, errors,
 * allocator (with out-of-memory fault injection), initialisers, model
 * building, shape inference, weights, running, reproducibility, threads.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/counting_alloc.h"
#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

/* Input [4] -> Dense(3, tanh) -> Dense(2), seeded. */
static sn_model_t *small_mlp(uint64_t seed)
{
    sn_model_t *m = tk_new_model(seed);
    ck_assert_int_ge(sn_input(m, SN_NO_TIME, 4), 0);
    ck_assert_int_eq(sn_model_add(m, sn_dense(3, SN_TANH, NULL)), SN_OK);
    ck_assert_int_eq(sn_model_add(m, sn_dense(2, SN_LINEAR, NULL)), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

static void weights_of(sn_model_t *m, float *out, size_t max)
{
    size_t at = 0;
    for (int i = 0; i < sn_model_num_weights(m); i++) {
        size_t n = 0;
        const float *w = sn_model_weight_data(m, i, &n);
        ck_assert_ptr_nonnull(w);
        ck_assert_uint_le(at + n, max);
        memcpy(out + at, w, n * sizeof *w);
        at += n;
    }
}

/* ------------------------------------------------------------ version */

START_TEST(test_version)
{
    ck_assert_str_eq(sn_version(), SN_VERSION_STRING);
    ck_assert_int_eq(sn_version_number(), SN_VERSION_NUMBER);
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", SN_VERSION_MAJOR, SN_VERSION_MINOR,
             SN_VERSION_PATCH);
    ck_assert_str_eq(buf, sn_version());
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(test_strerror_names_every_status)
{
    const sn_status all[] = { SN_OK, SN_ERR_INVALID_ARG, SN_ERR_SHAPE,
                              SN_ERR_NOMEM, SN_ERR_IO, SN_ERR_FORMAT,
                              SN_ERR_VERSION, SN_ERR_STATE, SN_ERR_NOT_FOUND,
                              SN_ERR_NUMERIC, SN_ERR_UNSUPPORTED };
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_ne(sn_strerror(all[i]), "unknown status");
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(sn_strerror(all[i]), sn_strerror(all[j]));
    }
    ck_assert_str_eq(sn_strerror((sn_status)-999), "unknown status");
    ck_assert_str_eq(sn_strerror((sn_status)5), "unknown status");
}
END_TEST

START_TEST(test_last_error_set_and_cleared)
{
    sn_clear_error();
    ck_assert_str_eq(sn_last_error(), "");
    ck_assert_ptr_null(sn_dense(0, SN_RELU, NULL));
    ck_assert(tk_contains(sn_last_error(), "sn_dense"));
    ck_assert(tk_contains(sn_last_error(), "units"));
    sn_clear_error();
    ck_assert_str_eq(sn_last_error(), "");
}
END_TEST

static void *fail_in_thread(void *arg)
{
    (void)arg;
    sn_layer_t *l = sn_embedding(-1, 4, NULL);
    return (void *)(l == NULL && tk_contains(sn_last_error(), "sn_embedding")
                        ? (void *)1 : NULL);
}

START_TEST(test_last_error_is_per_thread)
{
    sn_clear_error();
    ck_assert_ptr_null(sn_dense(-3, SN_RELU, NULL));
    char mine[512];
    snprintf(mine, sizeof mine, "%s", sn_last_error());
    pthread_t t;
    void *ok = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &ok), 0);
    ck_assert_ptr_nonnull(ok);
    ck_assert_str_eq(sn_last_error(), mine);
}
END_TEST

/* ------------------------------------------------------------ allocator */

START_TEST(test_allocator_counts_and_restores)
{
    tk_counting_alloc c = { 0, 0, 0, 0 };
    sn_allocator a = tk_counting_allocator(&c);
    ck_assert_int_eq(sn_set_allocator(&a), SN_OK);
    sn_model_t *m = small_mlp(1);
    sn_model_summary(m, NULL); /* error path must not allocate for good */
    float x[4] = { 1, 2, 3, 4 }, y[2];
    const void *in[1] = { x };
    float *out[1] = { y };
    ck_assert_int_eq(sn_model_predict(m, 1, in, NULL, out), SN_OK);
    ck_assert_int_eq(sn_set_allocator(NULL), SN_OK);
    ck_assert_int_gt(c.allocs, 5);
    long before_free = c.frees;
    ck_assert_int_lt(before_free, c.allocs);
    sn_model_free(m); /* freed through the allocator it was made with */
    ck_assert_int_eq(c.allocs, c.frees);

    sn_allocator bad = { sizeof bad, NULL, tk_count_free, NULL };
    ck_assert_int_eq(sn_set_allocator(&bad), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "sn_set_allocator"));

    /* a struct whose size field is not this header's is refused, so a
     * later field is never read from an older caller's memory */
    sn_allocator unsized = tk_counting_allocator(&c);
    unsized.size = 0;
    ck_assert_int_eq(sn_set_allocator(&unsized), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "SN_ALLOCATOR_INIT"));
    sn_allocator from_init = SN_ALLOCATOR_INIT;
    ck_assert_uint_eq(from_init.size, sizeof(sn_allocator));
}
END_TEST

/* Builds, runs, trains a step and summarises a functional model that
 * touches every basic layer; returns the first failing status. */
static sn_status exercise_everything(void)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 3;
    sn_model_t *m = sn_model_new(&mo);
    if (m == NULL)
        return SN_ERR_NOMEM;
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int tok = sn_input_tokens(m, 4);
    int seq = sn_apply(m, sn_embedding(6, 3, &eo), tok);
    seq = sn_apply(m, sn_dense(3, SN_RELU, NULL), seq);
    int avg = sn_apply(m, sn_global_average_pooling1d(), seq);
    int mx = sn_apply(m, sn_global_max_pooling1d(), seq);
    int pair[2] = { avg, mx };
    int cat = -1, sum = -1;
    int n = sn_apply_n(m, sn_concatenate(-1), pair, 2, &cat, 1);
    if (n < 0)
        cat = n;
    n = sn_apply_n(m, sn_add(), pair, 2, &sum, 1);
    if (n < 0)
        sum = n;
    int both[2] = { cat, -1 };
    both[1] = sn_apply(m, sn_dense(6, SN_LINEAR, NULL), sum);
    int merged = -1;
    n = sn_apply_n(m, sn_add(), both, 2, &merged, 1);
    if (n < 0)
        merged = n;
    int y = sn_apply(m, sn_dropout(0.25f), merged);
    y = sn_apply(m, sn_activation_layer(SN_SIGMOID), y);
    y = sn_apply(m, sn_dense(2, SN_SOFTMAX, NULL), y);
    sn_status st = y < 0 ? (sn_status)y : sn_model_set_outputs(m, &y, 1);
    if (st == SN_OK)
        st = sn_model_build(m);
    FILE *sink = fopen("/dev/null", "w");
    if (st == SN_OK && sink != NULL)
        st = sn_model_summary(m, sink);
    if (sink != NULL)
        fclose(sink);
    int32_t ids[8] = { 1, 2, 0, 0, 5, 4, 3, 1 };
    const void *in[1] = { ids };
    if (st == SN_OK)
        st = sn_model_forward(m, 2, in, NULL, 1);
    float g[4] = { 1, -1, 0.5f, 0.25f };
    const float *grads[1] = { g };
    if (st == SN_OK)
        st = sn_model_backward(m, grads);
    float out[4];
    float *outs[1] = { out };
    if (st == SN_OK)
        st = sn_model_predict(m, 2, in, NULL, outs);
    sn_model_free(m);
    return st;
}

START_TEST(test_out_of_memory_everywhere)
{
    /* Fail the k-th allocation for every k until a run needs no failure:
     * each must report SN_ERR_NOMEM (never crash) and free all it took. */
    int failures_seen = 0;
    for (long k = 1; k < 5000; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator a = tk_counting_allocator(&c);
        ck_assert_int_eq(sn_set_allocator(&a), SN_OK);
        sn_status st = exercise_everything();
        sn_set_allocator(NULL);
        ck_assert_msg(c.allocs == c.frees, "k=%ld: %ld allocs, %ld frees",
                      k, c.allocs, c.frees);
        if (!c.failed) { /* the injected failure never happened */
            ck_assert_int_eq(st, SN_OK);
            ck_assert_int_gt(failures_seen, 20);
            return;
        }
        ck_assert_msg(st == SN_ERR_NOMEM, "k=%ld gave %d (%s)", k, st,
                      sn_last_error());
        failures_seen++;
    }
    ck_abort_msg("fault injection never reached a clean run");
}
END_TEST

START_TEST(test_exercise_everything_runs)
{
    ck_assert_int_eq(exercise_everything(), SN_OK);
}
END_TEST

/* ------------------------------------------------------------ initialisers */

static void stats(const float *x, size_t n, double *mean, double *std,
                  double *maxabs)
{
    double s = 0, s2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        if (fabs(x[i]) > mx)
            mx = fabs(x[i]);
    }
    *mean = s / (double)n;
    *std = sqrt(s2 / (double)n - *mean * *mean);
    *maxabs = mx;
}

START_TEST(test_initializer_bad_args)
{
    float buf[4];
    ck_assert_int_eq(sn_initializer_fill(SN_INIT_ZEROS, 1, 2, 2, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_initializer_fill(SN_INIT_ZEROS, 1, 0, 2, buf),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_initializer_fill(SN_INIT_ZEROS, 1, 2, -1, buf),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_initializer_fill(SN_INIT_DEFAULT, 1, 2, 2, buf),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_initializer_fill((sn_initializer)99, 1, 2, 2, buf),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "sn_initializer_fill"));
}
END_TEST

START_TEST(test_initializer_constants)
{
    float buf[6] = { 7, 7, 7, 7, 7, 7 };
    ck_assert_int_eq(sn_initializer_fill(SN_INIT_ZEROS, 1, 2, 3, buf), 0);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(buf[i], 0.0f);
    ck_assert_int_eq(sn_initializer_fill(SN_INIT_ONES, 1, 2, 3, buf), 0);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(buf[i], 1.0f);
}
END_TEST

/* Each random initialiser: its bound or spread matches Keras' formula. */
typedef struct init_case {
    sn_initializer init;
    double bound;    /* > 0: every value within (-bound, bound)        */
    double std;      /* target standard deviation                      */
} init_case;

START_TEST(test_initializer_distributions)
{
    enum { R = 200, C = 300 };
    const double fi = R, fo = C;
    const init_case cases[] = {
        { SN_INIT_GLOROT_UNIFORM, sqrt(6 / (fi + fo)), sqrt(6 / (fi + fo) / 3) },
        { SN_INIT_HE_UNIFORM, sqrt(6 / fi), sqrt(6 / fi / 3) },
        { SN_INIT_LECUN_UNIFORM, sqrt(3 / fi), sqrt(3 / fi / 3) },
        { SN_INIT_RANDOM_UNIFORM, 0.05, 0.05 / sqrt(3) },
        { SN_INIT_GLOROT_NORMAL, 2 * sqrt(2 / (fi + fo)) / 0.8796256610342398,
          sqrt(2 / (fi + fo)) },
        { SN_INIT_HE_NORMAL, 2 * sqrt(2 / fi) / 0.8796256610342398,
          sqrt(2 / fi) },
        { SN_INIT_LECUN_NORMAL, 2 * sqrt(1 / fi) / 0.8796256610342398,
          sqrt(1 / fi) },
        { SN_INIT_RANDOM_NORMAL, 0, 0.05 },
    };
    float *w = malloc(sizeof(float) * R * C);
    float *again = malloc(sizeof(float) * R * C);
    ck_assert_ptr_nonnull(w);
    ck_assert_ptr_nonnull(again);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const init_case *c = &cases[k];
        ck_assert_int_eq(sn_initializer_fill(c->init, 42, R, C, w), SN_OK);
        double mean, std, maxabs;
        stats(w, (size_t)R * C, &mean, &std, &maxabs);
        ck_assert_msg(fabs(mean) < 0.05 * c->std, "init %d mean %g", c->init,
                      mean);
        ck_assert_msg(fabs(std / c->std - 1) < 0.03, "init %d std %g vs %g",
                      c->init, std, c->std);
        if (c->bound > 0)
            ck_assert_msg(maxabs <= c->bound * 1.0001, "init %d max %g > %g",
                          c->init, maxabs, c->bound);
        /* deterministic per seed, different across seeds */
        ck_assert_int_eq(sn_initializer_fill(c->init, 42, R, C, again), 0);
        ck_assert_mem_eq(w, again, sizeof(float) * R * C);
        ck_assert_int_eq(sn_initializer_fill(c->init, 43, R, C, again), 0);
        ck_assert(memcmp(w, again, sizeof(float) * R * C) != 0);
    }
    free(w);
    free(again);
}
END_TEST

/* W^T W = I for tall W (orthonormal columns), W W^T = I for wide W. */
static void assert_orthogonal(int rows, int cols)
{
    float *w = malloc(sizeof(float) * (size_t)rows * cols);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(sn_initializer_fill(SN_INIT_ORTHOGONAL, 9, rows, cols, w),
                     SN_OK);
    int tall = rows >= cols;
    int n = tall ? cols : rows, len = tall ? rows : cols;
    for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
            double dot = 0;
            for (int i = 0; i < len; i++) {
                float va = tall ? w[i * cols + a] : w[a * cols + i];
                float vb = tall ? w[i * cols + b] : w[b * cols + i];
                dot += (double)va * vb;
            }
            ck_assert_msg(fabs(dot - (a == b)) < 1e-4, "%dx%d: <%d,%d> = %g",
                          rows, cols, a, b, dot);
        }
    }
    free(w);
}

START_TEST(test_initializer_orthogonal)
{
    assert_orthogonal(16, 16);
    assert_orthogonal(32, 8);
    assert_orthogonal(8, 32); /* an LSTM recurrent kernel is [u, 4u] */
    assert_orthogonal(1, 5);
}
END_TEST

/* ------------------------------------------------------------ building */

START_TEST(test_model_new_and_free)
{
    sn_model_free(NULL);
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(sn_model_num_inputs(m), 0);
    ck_assert_int_eq(sn_model_num_layers(m), 0);
    ck_assert_int_eq(sn_model_build(m), SN_ERR_STATE);
    ck_assert(tk_contains(sn_last_error(), "no input"));
    sn_model_free(m);

    sn_model_opts o = SN_MODEL_OPTS_INIT;
    o.size = 3; /* not even the size field */
    ck_assert_ptr_null(sn_model_new(&o));
    ck_assert(tk_contains(sn_last_error(), "sn_model_new"));
    o.size = sizeof o + 64; /* from a newer header than this library */
    ck_assert_ptr_null(sn_model_new(&o));
    /* a binary built against an older, shorter struct still works */
    o.size = sizeof(size_t) + sizeof(uint64_t);
    o.name = (const char *)0x1; /* past the old size: must not be read */
    m = sn_model_new(&o);
    ck_assert_ptr_nonnull(m);
    sn_model_free(m);
}
END_TEST

START_TEST(test_inputs_bad_args)
{
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_int_eq(sn_input(NULL, 3, 2), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_input(m, 3, 0), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "features"));
    ck_assert_int_eq(sn_input(m, -5, 2), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_input_tokens(m, 0), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_input_tokens(m, -2), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_input_tokens(NULL, 4), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_num_inputs(m), 0);
    int a = sn_input(m, 7, 2), b = sn_input_tokens(m, SN_ANY_TIME);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(b, 1);
    int dims[SN_MAX_RANK];
    sn_dtype dt;
    ck_assert_int_eq(sn_model_tensor_shape(m, a, dims, SN_MAX_RANK, &dt), 2);
    ck_assert_int_eq(dims[0], 7);
    ck_assert_int_eq(dims[1], 2);
    ck_assert_int_eq(dt, SN_FLOAT32);
    ck_assert_int_eq(sn_model_tensor_shape(m, b, dims, SN_MAX_RANK, &dt), 1);
    ck_assert_int_eq(dims[0], -1);
    ck_assert_int_eq(dt, SN_INT32);
    ck_assert_int_eq(sn_model_tensor_shape(m, 2, dims, SN_MAX_RANK, NULL),
                     SN_ERR_NOT_FOUND);
    /* capacity: the rank always comes back, at most dims_cap entries are
     * written, and NULL with 0 asks for the rank alone */
    ck_assert_int_eq(sn_model_tensor_shape(m, 0, NULL, 0, NULL), 2);
    int one[2] = { 99, 99 };
    ck_assert_int_eq(sn_model_tensor_shape(m, a, one, 1, NULL), 2);
    ck_assert_int_eq(one[0], 7);
    ck_assert_int_eq(one[1], 99);
    ck_assert_int_eq(sn_model_tensor_shape(m, 0, NULL, 3, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "dims_cap"));
    ck_assert_int_eq(sn_model_tensor_shape(m, 0, dims, -1, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_input_id(m, 1), 1);
    ck_assert_int_eq(sn_model_input_id(m, 2), SN_ERR_NOT_FOUND);
    sn_model_free(m);
}
END_TEST

START_TEST(test_apply_errors_and_ownership)
{
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_int_eq(sn_model_add(m, sn_dense(2, SN_RELU, NULL)),
                     SN_ERR_STATE); /* no input yet; layer freed */
    int x = sn_input(m, SN_NO_TIME, 3);
    /* the failed constructor's message survives into sn_apply's */
    int y = sn_apply(m, sn_dense(0, SN_RELU, NULL), x);
    ck_assert_int_eq(y, SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "units must be > 0"));
    /* a negative input passes through and the layer is freed */
    ck_assert_int_eq(sn_apply(m, sn_dense(2, SN_RELU, NULL), SN_ERR_SHAPE),
                     SN_ERR_SHAPE);
    ck_assert_int_eq(sn_apply(m, sn_dense(2, SN_RELU, NULL), 99),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "99"));
    ck_assert_int_eq(sn_apply(NULL, sn_dense(2, SN_RELU, NULL), x),
                     SN_ERR_INVALID_ARG);
    /* wrong input count */
    int two[2] = { x, x }, out;
    ck_assert_int_eq(sn_apply_n(m, sn_dense(2, SN_RELU, NULL), two, 2, &out, 1),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "inputs"));
    ck_assert_int_eq(sn_apply_n(m, sn_add(), two, 2, NULL, 1),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_apply_n(m, sn_add(), NULL, 2, &out, 1),
                     SN_ERR_INVALID_ARG);
    /* a layer instance is used once */
    sn_layer_t *d = sn_dense(2, SN_RELU, NULL);
    ck_assert_int_ge(sn_apply(m, d, x), 0);
    ck_assert_int_eq(sn_apply(m, d, x), SN_ERR_STATE);
    ck_assert_str_eq(sn_layer_name(d), "dense");
    sn_layer_free(d); /* belongs to the model: refused, no double free */
    ck_assert(tk_contains(sn_last_error(), "belongs to a model"));
    /* names are unique */
    sn_layer_t *named = sn_dense(2, SN_RELU, NULL);
    ck_assert_int_eq(sn_layer_set_name(named, "dense"), SN_OK);
    ck_assert_int_eq(sn_apply(m, named, x), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "already used"));
    ck_assert_int_eq(sn_model_num_layers(m), 2);
    sn_model_free(m);
}
END_TEST

START_TEST(test_layer_handles)
{
    sn_layer_t *l = sn_dense(4, SN_RELU, NULL);
    ck_assert_str_eq(sn_layer_type(l), "Dense");
    ck_assert_str_eq(sn_layer_name(l), "dense");
    ck_assert_int_eq(sn_layer_set_name(l, "my_dense"), SN_OK);
    ck_assert_str_eq(sn_layer_name(l), "my_dense");
    ck_assert_int_eq(sn_layer_set_name(l, ""), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_layer_set_name(l, "a/b"), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_layer_set_name(l, NULL), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_layer_set_name(NULL, "x"), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_layer_set_trainable(NULL, 0), SN_ERR_INVALID_ARG);
    ck_assert_ptr_null(sn_layer_name(NULL));
    ck_assert_ptr_null(sn_layer_type(NULL));
    sn_layer_free(l);
    sn_layer_free(NULL);
}
END_TEST

START_TEST(test_keras_names_weights_and_counts)
{
    sn_model_t *m = small_mlp(5);
    ck_assert_int_eq(sn_model_num_layers(m), 3);
    ck_assert_str_eq(sn_layer_name(sn_model_layer(m, 0)), "input_layer");
    ck_assert_str_eq(sn_layer_name(sn_model_layer(m, 1)), "dense");
    ck_assert_str_eq(sn_layer_name(sn_model_layer(m, 2)), "dense_1");
    ck_assert_ptr_null(sn_model_layer(m, 3));
    ck_assert_ptr_null(sn_model_layer(m, -1));
    ck_assert_ptr_eq(sn_model_find_layer(m, "dense_1"), sn_model_layer(m, 2));
    ck_assert_ptr_null(sn_model_find_layer(m, "nope"));
    ck_assert_ptr_null(sn_model_find_layer(m, NULL));
    ck_assert_int_eq(sn_model_num_weights(m), 4);
    const char *name;
    int dims[SN_MAX_RANK], trainable;
    ck_assert_int_eq(sn_model_weight_info(m, 0, &name, dims, SN_MAX_RANK, &trainable), 2);
    ck_assert_str_eq(name, "dense/kernel");
    ck_assert_int_eq(dims[0], 4);
    ck_assert_int_eq(dims[1], 3);
    ck_assert_int_eq(trainable, 1);
    ck_assert_int_eq(sn_model_weight_info(m, 3, &name, dims, SN_MAX_RANK, NULL), 1);
    ck_assert_str_eq(name, "dense_1/bias");
    ck_assert_int_eq(dims[0], 2);
    ck_assert_int_eq(sn_model_weight_info(m, 4, NULL, NULL, 0, NULL),
                     SN_ERR_NOT_FOUND);
    int first[2] = { 0, -5 };
    ck_assert_int_eq(sn_model_weight_info(m, 0, NULL, first, 1, NULL), 2);
    ck_assert_int_eq(first[0], 4);
    ck_assert_int_eq(first[1], -5);
    ck_assert_int_eq(sn_model_weight_info(m, 0, NULL, NULL, 2, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_find_weight(m, "dense_1/kernel"), 2);
    ck_assert_int_eq(sn_model_find_weight(m, "dense_2/kernel"),
                     SN_ERR_NOT_FOUND);
    ck_assert_int_eq(sn_model_find_weight(NULL, "x"), SN_ERR_INVALID_ARG);
    size_t trainable_count = 0;
    ck_assert_uint_eq(sn_model_count_params(m, &trainable_count),
                      4 * 3 + 3 + 3 * 2 + 2);
    ck_assert_uint_eq(trainable_count, 23);
    /* biases start at zero (Keras default) */
    size_t n;
    const float *b = sn_model_weight_data(m, 1, &n);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(b[i], 0.0f);
    ck_assert_ptr_null(sn_model_weight_data(m, 9, NULL));
    ck_assert_ptr_null(sn_model_weight_grad(NULL, 0, NULL));
    /* nothing can be added after build */
    ck_assert_int_eq(sn_model_add(m, sn_dense(1, SN_LINEAR, NULL)),
                     SN_ERR_STATE);
    ck_assert_int_eq(sn_input(m, 0, 2), SN_ERR_STATE);
    sn_model_free(m);
}
END_TEST

START_TEST(test_weights_need_build)
{
    sn_model_t *m = sn_model_new(NULL);
    sn_input(m, 0, 2);
    sn_model_add(m, sn_dense(2, SN_LINEAR, NULL));
    ck_assert_int_eq(sn_model_num_weights(m), 0);
    ck_assert_ptr_null(sn_model_weight_data(m, 0, NULL));
    ck_assert(tk_contains(sn_last_error(), "build"));
    ck_assert_int_eq(sn_model_find_weight(m, "dense/kernel"), SN_ERR_STATE);
    ck_assert_uint_eq(sn_model_count_params(m, NULL), 0);
    sn_model_free(m);
}
END_TEST

START_TEST(test_frozen_layer)
{
    sn_model_t *m = sn_model_new(NULL);
    sn_input(m, 0, 2);
    sn_layer_t *frozen = sn_dense(3, SN_LINEAR, NULL);
    ck_assert_int_eq(sn_layer_set_trainable(frozen, 0), SN_OK);
    sn_model_add(m, frozen);
    sn_model_add(m, sn_dense(1, SN_LINEAR, NULL));
    size_t trainable;
    ck_assert_uint_eq(sn_model_count_params(m, &trainable), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_uint_eq(sn_model_count_params(m, &trainable), 9 + 4);
    ck_assert_uint_eq(trainable, 4);
    float x[2] = { 1, 2 }, g[1] = { 1 };
    const void *in[1] = { x };
    const float *grads[1] = { g };
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 1), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    size_t n;
    const float *gk = sn_model_weight_grad(m, 0, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(gk[i], 0.0f); /* frozen: no gradient */
    const float *g2 = sn_model_weight_grad(m, 2, &n);
    double norm = 0;
    for (size_t i = 0; i < n; i++)
        norm += fabs(g2[i]);
    ck_assert(norm > 0);
    ck_assert_ptr_nonnull(sn_model_input_grad(m, 0)); /* still flows */
    sn_model_free(m);
}
END_TEST

START_TEST(test_set_outputs)
{
    sn_model_t *m = sn_model_new(NULL);
    int tok = sn_input_tokens(m, 3);
    int x = sn_apply(m, sn_embedding(5, 2, NULL), tok);
    ck_assert_int_eq(sn_model_set_outputs(m, &tok, 1), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "int32"));
    int bad = 77;
    ck_assert_int_eq(sn_model_set_outputs(m, &bad, 1), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_set_outputs(m, NULL, 1), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_set_outputs(m, &x, 0), SN_ERR_INVALID_ARG);
    int failed = SN_ERR_SHAPE;
    ck_assert_int_eq(sn_model_set_outputs(m, &failed, 1), SN_ERR_SHAPE);
    ck_assert_int_eq(sn_model_set_outputs(m, &x, 1), SN_OK);
    ck_assert_int_eq(sn_model_num_outputs(m), 1);
    ck_assert_int_eq(sn_model_output_id(m, 0), x);
    ck_assert_int_eq(sn_model_output_id(m, 1), SN_ERR_NOT_FOUND);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ summary */

START_TEST(test_summary_sequential)
{
    sn_model_t *m = small_mlp(1);
    char *s = tk_summary_text(m);
    ck_assert(tk_contains(s, "Model: \"model\""));
    ck_assert(tk_contains(s, "Layer (type)"));
    ck_assert(tk_contains(s, "dense (Dense)"));
    ck_assert(tk_contains(s, "(None, 3)"));
    ck_assert(tk_contains(s, "dense_1 (Dense)"));
    ck_assert(tk_contains(s, "Total params: 23 (92.00 B)"));
    ck_assert(tk_contains(s, "Trainable params: 23 (92.00 B)"));
    ck_assert(tk_contains(s, "Non-trainable params: 0 (0.00 B)"));
    ck_assert(!tk_contains(s, "Connected to"));
    ck_assert(!tk_contains(s, "InputLayer"));
    free(s);
    ck_assert_int_eq(sn_model_summary(m, NULL), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_summary(NULL, stdout), SN_ERR_INVALID_ARG);
    sn_model_free(m);
}
END_TEST

START_TEST(test_summary_functional)
{
    sn_model_opts o = SN_MODEL_OPTS_INIT;
    o.name = "two_towers";
    sn_model_t *m = sn_model_new(&o);
    int a = sn_input(m, 10, 4), b = sn_input(m, 10, 4);
    int ins[2] = { a, b }, sum;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), ins, 2, &sum, 1), 1);
    int y = sn_apply(m, sn_global_average_pooling1d(), sum);
    y = sn_apply(m, sn_dense(1000, SN_LINEAR, NULL), y);
    ck_assert_int_ge(y, 0);
    char *s = tk_summary_text(m);
    ck_assert(tk_contains(s, "Model: \"two_towers\""));
    ck_assert(tk_contains(s, "Connected to"));
    ck_assert(tk_contains(s, "input_layer (InputLayer)"));
    ck_assert(tk_contains(s, "input_layer_1 (InputLayer)"));
    ck_assert(tk_contains(s, "(None, 10, 4)"));
    ck_assert(tk_contains(s, "['input_layer[0][0]', 'input_layer_1[0][0]']"));
    ck_assert(tk_contains(s, "5,000"));
    ck_assert(tk_contains(s, "Total params: 5,000 (19.53 KB)"));
    free(s);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ running */

START_TEST(test_run_errors)
{
    sn_model_t *m = small_mlp(2);
    float x[8] = { 0 }, y[4];
    const void *in[1] = { x };
    const void *null_in[1] = { NULL };
    float *outs[1] = { y };
    float g[4] = { 0 };
    const float *grads[1] = { g };
    ck_assert_ptr_null(sn_model_output(m, 0, NULL, 0, NULL));
    ck_assert(tk_contains(sn_last_error(), "sn_model_forward"));
    ck_assert_int_eq(sn_model_backward(m, grads), SN_ERR_STATE);
    ck_assert_ptr_null(sn_model_input_grad(m, 0));
    ck_assert_int_eq(sn_model_forward(m, 0, in, NULL, 0), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "batch"));
    ck_assert_int_eq(sn_model_forward(m, 2, NULL, NULL, 0),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_forward(m, 2, null_in, NULL, 0),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_forward(NULL, 2, in, NULL, 0),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_predict(m, 2, in, NULL, NULL),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_predict(m, -1, in, NULL, outs),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "sn_model_predict"));
    ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, NULL), SN_ERR_INVALID_ARG);
    g[1] = NAN;
    ck_assert_int_eq(sn_model_backward(m, grads), SN_ERR_NUMERIC);
    ck_assert_ptr_null(sn_model_output(m, 1, NULL, 0, NULL));
    ck_assert_ptr_null(sn_model_input_grad(m, 3));
    ck_assert_int_eq(sn_model_zero_grad(NULL), SN_ERR_INVALID_ARG);
    sn_model_free(m);
}
END_TEST

START_TEST(test_forward_output_shape_and_predict_agree)
{
    sn_model_t *m = small_mlp(11);
    float x[12] = { 1, 2, 3, 4, -1, 0.5f, 0, 2, 3, 3, 3, 3 };
    const void *in[1] = { x };
    ck_assert_int_eq(sn_model_forward(m, 3, in, NULL, 0), SN_OK);
    int dims[SN_MAX_RANK + 1], rank;
    const float *y = sn_model_output(m, 0, dims, SN_MAX_RANK + 1, &rank);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(rank, 2);
    /* a one-int buffer gets the batch only; the rank is still the full one */
    int batch_only[2] = { 0, 77 }, rank1 = 0;
    ck_assert_ptr_eq(sn_model_output(m, 0, batch_only, 1, &rank1), y);
    ck_assert_int_eq(batch_only[0], 3);
    ck_assert_int_eq(batch_only[1], 77);
    ck_assert_int_eq(rank1, 2);
    ck_assert_ptr_null(sn_model_output(m, 0, NULL, 2, &rank1));
    ck_assert(tk_contains(sn_last_error(), "dims_cap"));
    ck_assert_int_eq(dims[0], 3);
    ck_assert_int_eq(dims[1], 2);
    float p[6];
    float *outs[1] = { p };
    ck_assert_int_eq(sn_model_predict(m, 3, in, NULL, outs), SN_OK);
    ck_assert_mem_eq(p, y, sizeof p);
    /* by hand: tanh(x K1 + b1) K2 + b2 for the first sample */
    const float *k1 = sn_model_weight_data(m, 0, NULL);
    const float *k2 = sn_model_weight_data(m, 2, NULL);
    for (int o = 0; o < 2; o++) {
        double acc = 0;
        for (int j = 0; j < 3; j++) {
            double h = 0;
            for (int i = 0; i < 4; i++)
                h += x[i] * k1[i * 3 + j];
            acc += tanh(h) * k2[j * 2 + o];
        }
        ck_assert_double_eq_tol(p[o], acc, 1e-5);
    }
    sn_model_free(m);
}
END_TEST

START_TEST(test_variable_length_input)
{
    sn_model_t *m = sn_model_new(NULL);
    int x = sn_input(m, SN_ANY_TIME, 2);
    x = sn_apply(m, sn_dense(3, SN_LINEAR, NULL), x);
    int y = sn_apply(m, sn_global_average_pooling1d(), x);
    ck_assert_int_ge(y, 0);
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_tensor_shape(m, x, dims, SN_MAX_RANK, NULL), 2);
    ck_assert_int_eq(dims[0], -1);
    float data[2 * 5 * 2];
    for (int i = 0; i < 20; i++)
        data[i] = (float)i / 10.0f;
    const void *in[1] = { data };
    ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 0), SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "timesteps"));
    int t3 = 3, t5 = 5;
    ck_assert_int_eq(sn_model_forward(m, 2, in, &t3, 0), SN_OK);
    int full[SN_MAX_RANK + 1], rank;
    ck_assert_ptr_nonnull(sn_model_output(m, 0, full, SN_MAX_RANK + 1, &rank));
    ck_assert_int_eq(full[1], 3);
    ck_assert_int_eq(sn_model_forward(m, 2, in, &t5, 0), SN_OK);
    float out[6];
    float *outs[1] = { out };
    ck_assert_int_eq(sn_model_predict(m, 1, in, &t5, outs), SN_OK);
    ck_assert_int_eq(sn_model_predict(m, 1, in, &t3, outs), SN_OK);
    sn_model_free(m);
}
END_TEST

START_TEST(test_multi_output_backward)
{
    sn_model_t *m = sn_model_new(NULL);
    int x = sn_input(m, SN_NO_TIME, 3);
    int a = sn_apply(m, sn_dense(2, SN_LINEAR, NULL), x);
    int b = sn_apply(m, sn_dense(4, SN_LINEAR, NULL), x);
    int outs[2] = { a, b };
    ck_assert_int_eq(sn_model_set_outputs(m, outs, 2), SN_OK);
    ck_assert_int_eq(sn_model_num_outputs(m), 2);
    float in_data[3] = { 1, 2, 3 }, ga[2] = { 1, 1 };
    const void *in[1] = { in_data };
    const float *grads[2] = { ga, NULL }; /* b contributes nothing */
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 1), SN_OK);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    size_t n;
    const float *gb = sn_model_weight_grad(m, sn_model_find_weight(m,
                                           "dense_1/kernel"), &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(gb[i], 0.0f);
    /* dL/dx = K_a . 1 */
    const float *ka = sn_model_weight_data(m, 0, NULL);
    const float *dx = sn_model_input_grad(m, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_float_eq_tol(dx[i], ka[i * 2] + ka[i * 2 + 1], 1e-6f);
    /* gradients accumulate until zeroed */
    const float *gka = sn_model_weight_grad(m, 0, &n);
    float first = gka[0];
    ck_assert_float_eq_tol(first, in_data[0], 1e-6f);
    ck_assert_int_eq(sn_model_backward(m, grads), SN_OK);
    ck_assert_float_eq_tol(gka[0], 2 * first, 1e-6f);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    ck_assert_float_eq(gka[0], 0.0f);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ seeds */

START_TEST(test_seed_makes_init_deterministic)
{
    float w1[32], w2[32], w3[32];
    sn_model_t *a = small_mlp(123), *b = small_mlp(123), *c = small_mlp(124);
    weights_of(a, w1, 32);
    weights_of(b, w2, 32);
    weights_of(c, w3, 32);
    ck_assert_mem_eq(w1, w2, 23 * sizeof(float));
    ck_assert(memcmp(w1, w3, 12 * sizeof(float)) != 0);
    sn_model_free(a);
    sn_model_free(b);
    sn_model_free(c);
}
END_TEST

static sn_model_t *dropout_model(uint64_t seed)
{
    sn_model_opts o = SN_MODEL_OPTS_INIT;
    o.seed = seed;
    sn_model_t *m = sn_model_new(&o);
    sn_input(m, SN_NO_TIME, 64);
    sn_model_add(m, sn_dropout(0.5f));
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

START_TEST(test_seed_makes_dropout_deterministic)
{
    float ones[64];
    for (int i = 0; i < 64; i++)
        ones[i] = 1.0f;
    const void *in[1] = { ones };
    sn_model_t *a = dropout_model(7), *b = dropout_model(7);
    float first[64];
    ck_assert_int_eq(sn_model_forward(a, 1, in, NULL, 1), SN_OK);
    memcpy(first, sn_model_output(a, 0, NULL, 0, NULL), sizeof first);
    ck_assert_int_eq(sn_model_forward(b, 1, in, NULL, 1), SN_OK);
    ck_assert_mem_eq(first, sn_model_output(b, 0, NULL, 0, NULL), sizeof first);
    /* the next training step draws a new mask */
    ck_assert_int_eq(sn_model_forward(a, 1, in, NULL, 1), SN_OK);
    ck_assert(memcmp(first, sn_model_output(a, 0, NULL, 0, NULL),
                     sizeof first) != 0);
    /* inference is the identity */
    ck_assert_int_eq(sn_model_forward(a, 1, in, NULL, 0), SN_OK);
    ck_assert_mem_eq(ones, sn_model_output(a, 0, NULL, 0, NULL), sizeof ones);
    sn_model_free(a);
    sn_model_free(b);
}
END_TEST

/* ------------------------------------------------------------ threads */

typedef struct predict_job {
    sn_model_t *model;
    const float *x;
    float out[2 * 64];
    sn_status st;
} predict_job;

static void *predict_many(void *arg)
{
    predict_job *j = arg;
    const void *in[1] = { j->x };
    float *outs[1] = { j->out };
    for (int rep = 0; rep < 50 && j->st == SN_OK; rep++)
        j->st = sn_model_predict(j->model, 64, in, NULL, outs);
    return NULL;
}

START_TEST(test_concurrent_predict)
{
    sn_model_t *m = small_mlp(99);
    float x[64 * 4];
    for (int i = 0; i < 64 * 4; i++)
        x[i] = sinf((float)i);
    predict_job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t].model = m;
        jobs[t].x = x;
        jobs[t].st = SN_OK;
        ck_assert_int_eq(pthread_create(&threads[t], NULL, predict_many,
                                        &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++)
        ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    const void *in[1] = { x };
    ck_assert_int_eq(sn_model_forward(m, 64, in, NULL, 0), SN_OK);
    const float *ref = sn_model_output(m, 0, NULL, 0, NULL);
    for (int t = 0; t < 4; t++) {
        ck_assert_int_eq(jobs[t].st, SN_OK);
        ck_assert_mem_eq(jobs[t].out, ref, sizeof jobs[t].out);
    }
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_strerror_names_every_status);
    tcase_add_test(tc, test_last_error_set_and_cleared);
    tcase_add_test(tc, test_last_error_is_per_thread);
    tcase_add_test(tc, test_allocator_counts_and_restores);
    tcase_add_test(tc, test_exercise_everything_runs);
    tcase_add_test(tc, test_initializer_bad_args);
    tcase_add_test(tc, test_initializer_constants);
    tcase_add_test(tc, test_initializer_distributions);
    tcase_add_test(tc, test_initializer_orthogonal);
    tcase_add_test(tc, test_model_new_and_free);
    tcase_add_test(tc, test_inputs_bad_args);
    tcase_add_test(tc, test_apply_errors_and_ownership);
    tcase_add_test(tc, test_layer_handles);
    tcase_add_test(tc, test_keras_names_weights_and_counts);
    tcase_add_test(tc, test_weights_need_build);
    tcase_add_test(tc, test_frozen_layer);
    tcase_add_test(tc, test_set_outputs);
    tcase_add_test(tc, test_summary_sequential);
    tcase_add_test(tc, test_summary_functional);
    tcase_add_test(tc, test_run_errors);
    tcase_add_test(tc, test_forward_output_shape_and_predict_agree);
    tcase_add_test(tc, test_variable_length_input);
    tcase_add_test(tc, test_multi_output_backward);
    tcase_add_test(tc, test_seed_makes_init_deterministic);
    tcase_add_test(tc, test_seed_makes_dropout_deterministic);
    tcase_add_test(tc, test_concurrent_predict);
    suite_add_tcase(s, tc);
    TCase *oom = tcase_create("out_of_memory");
    tcase_set_timeout(oom, 120);
    tcase_add_test(oom, test_out_of_memory_everywhere);
    suite_add_tcase(s, oom);
    return s;
}

int main(void)
{
    return tk_run_suite(core_suite());
}
