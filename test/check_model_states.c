/*
 * check_model_states.c - every public function that takes a model, called
 * on a model in each state it can be in: NULL, new (empty), unbuilt (a
 * graph, not built), built but not compiled, and recreated (a model
 * trained, saved and freed, then a new one made the same way, built).
 * Each call must return (no crash; `make check-asan` runs this under
 * ASan and UBSan), give the status or NULL its header promises for that
 * state, and say why in sn_last_error() when it fails.
 *
 * The table below lists the functions by name; test/model_api_coverage.sh
 * compares it with include/seqnet.h, so a new model-taking function fails
 * `make check` until it is added here.
 */
#include <check.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testkit.h"

enum { B = 4, T = 3, E = 2 };

typedef enum state {
    S_NULL, S_NEW, S_UNBUILT, S_BUILT, S_RECREATED, N_STATES
} state;

static const char *const state_names[N_STATES] = {
    "NULL", "new", "unbuilt", "built-uncompiled", "recreated"
};

/* Input [T, E] -> LSTM(2) -> Dense(1), the layers named. */
static sn_model_t *graph(void)
{
    sn_model_t *m = tk_new_model(1);
    int x = sn_input(m, T, E);
    sn_layer_t *l = sn_lstm(2, NULL);
    sn_layer_set_name(l, "lstm");
    x = sn_apply(m, l, x);
    sn_apply(m, sn_dense(1, SN_LINEAR, NULL), x);
    return m;
}

static sn_model_t *make_state(state s)
{
    sn_model_t *m = NULL;
    switch (s) {
    case S_NULL:
        return NULL;
    case S_NEW:
        return tk_new_model(1);
    case S_UNBUILT:
        return graph();
    case S_BUILT:
        m = graph();
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        return m;
    case S_RECREATED: {
        m = graph();
        sn_compile_opts co = SN_COMPILE_OPTS_INIT;
        ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
        float x[B * T * E] = { 0 }, y[B] = { 0 };
        const void *in[1] = { x };
        const float *tg[1] = { y };
        ck_assert_int_eq(sn_model_train_on_batch(m, B, in, NULL, tg, NULL,
                                                 NULL), SN_OK);
        sn_model_free(m);
        m = graph();
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        return m;
    }
    default:
        break;
    }
    return NULL;
}

/* --------------------------------------------------------- shared data */

/* Room for the inputs and outputs the sequence test adds (sn_input,
 * sn_input_tokens, ...): every array has MAX_IO entries of BIG floats. */
enum { MAX_IO = 8, BIG = 1024 };
static float g_x[BIG], g_y[BIG], g_out[MAX_IO][BIG];
static const void *g_in[MAX_IO] = { g_x, g_x, g_x, g_x, g_x, g_x, g_x, g_x };
static const float *g_tg[MAX_IO] = { g_y, g_y, g_y, g_y, g_y, g_y, g_y, g_y };
static float *g_outs[MAX_IO] = { g_out[0], g_out[1], g_out[2], g_out[3],
                                 g_out[4], g_out[5], g_out[6], g_out[7] };
static int g_len[B] = { 3, 1, 0, 2 };
static const int *g_lens[MAX_IO] = { g_len };

static sn_dataset dataset(void)
{
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = B;
    d.inputs = g_in;
    d.targets = g_tg;
    return d;
}

/* Each call returns 1 when the function reported success, 0 when it
 * reported a failure (status < 0, NULL, or a documented 0 / -1). */
typedef int (*call_fn)(sn_model_t *m);

static int ok(sn_status st) { return st == SN_OK; }
/* A count answers 0 both for "none" and for a NULL or unbuilt model; the
 * error cases say so in sn_last_error() (cleared before each call). */
static int value(long n) { return n > 0 || sn_last_error()[0] == '\0'; }

static int c_free(sn_model_t *m) { sn_model_free(m); return 1; }
static int c_input(sn_model_t *m) { return sn_input(m, T, E) >= 0; }
static int c_input_tokens(sn_model_t *m) { return sn_input_tokens(m, T) >= 0; }
static int c_apply(sn_model_t *m)
{
    return sn_apply(m, sn_dense(1, SN_LINEAR, NULL), 0) >= 0;
}
static int c_apply_n(sn_model_t *m)
{
    int in[1] = { 0 }, out[1];
    return sn_apply_n(m, sn_dense(1, SN_LINEAR, NULL), in, 1, out, 1) >= 0;
}
static int c_add(sn_model_t *m)
{
    return ok(sn_model_add(m, sn_dense(1, SN_LINEAR, NULL)));
}
static int c_set_outputs(sn_model_t *m)
{
    int out[1] = { 0 };
    return ok(sn_model_set_outputs(m, out, 1));
}
static int c_build(sn_model_t *m) { return ok(sn_model_build(m)); }
static int c_set_threads(sn_model_t *m)
{
    return ok(sn_model_set_num_threads(m, 1));
}
static int c_num_threads(sn_model_t *m) { return value(sn_model_num_threads(m)); }
static int c_summary(sn_model_t *m)
{
    FILE *f = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(f);
    int r = ok(sn_model_summary(m, f));
    fclose(f);
    return r;
}
static int c_num_inputs(sn_model_t *m) { return value(sn_model_num_inputs(m)); }
static int c_num_outputs(sn_model_t *m) { return value(sn_model_num_outputs(m)); }
static int c_num_layers(sn_model_t *m) { return value(sn_model_num_layers(m)); }
static int c_count_params(sn_model_t *m)
{
    size_t tr = 99;
    return value((long)sn_model_count_params(m, &tr));
}
static int c_layer(sn_model_t *m) { return sn_model_layer(m, 1) != NULL; }
static int c_find_layer(sn_model_t *m)
{
    return sn_model_find_layer(m, "lstm") != NULL;
}
static int c_tensor_shape(sn_model_t *m)
{
    int dims[8];
    sn_dtype dt;
    return sn_model_tensor_shape(m, 1, dims, 8, &dt) >= 0;
}
static int c_input_id(sn_model_t *m) { return sn_model_input_id(m, 0) >= 0; }
static int c_output_id(sn_model_t *m) { return sn_model_output_id(m, 0) >= 0; }
static int c_forward(sn_model_t *m)
{
    return ok(sn_model_forward(m, B, g_in, NULL, 1));
}
static int c_output(sn_model_t *m)
{
    int dims[8], rank;
    return sn_model_output(m, 0, dims, 8, &rank) != NULL;
}
static int c_backward(sn_model_t *m)
{
    const float *g[1] = { g_y };
    return ok(sn_model_backward(m, g));
}
static int c_input_grad(sn_model_t *m)
{
    return sn_model_input_grad(m, 0) != NULL;
}
static int c_zero_grad(sn_model_t *m) { return ok(sn_model_zero_grad(m)); }
static int c_predict(sn_model_t *m)
{
    return ok(sn_model_predict(m, B, g_in, NULL, g_outs));
}
static int c_num_weights(sn_model_t *m) { return value(sn_model_num_weights(m)); }
static int c_weight_info(sn_model_t *m)
{
    const char *name;
    int dims[8], tr;
    return sn_model_weight_info(m, 0, &name, dims, 8, &tr) >= 0;
}
static int c_find_weight(sn_model_t *m)
{
    return sn_model_find_weight(m, "lstm/kernel") >= 0;
}
static int c_weight_data(sn_model_t *m)
{
    size_t n;
    return sn_model_weight_data(m, 0, &n) != NULL;
}
static int c_weight_grad(sn_model_t *m)
{
    size_t n;
    return sn_model_weight_grad(m, 0, &n) != NULL;
}
static int c_reset_states(sn_model_t *m)
{
    return ok(sn_model_reset_states(m));
}
static int c_set_vectorizer(sn_model_t *m)
{
    sn_vectorizer_t *v = sn_vectorizer_new(NULL);
    ck_assert_ptr_nonnull(v);
    const char *texts[2] = { "a b", "b c" };
    ck_assert_int_eq(sn_vectorizer_adapt(v, texts, 2), SN_OK);
    int r = ok(sn_model_set_vectorizer(m, v));
    sn_vectorizer_free(v);
    return r;
}
static int c_vectorizer(sn_model_t *m) { return sn_model_vectorizer(m) != NULL; }
static int c_load_vectors(sn_model_t *m)
{
    const char *vocab[2] = { "", "[UNK]" };
    int found = 0;
    return ok(sn_embedding_load_vectors(m, sn_model_layer(m, 1),
                                        "/nonexistent/vectors.txt", vocab, 2,
                                        NULL, &found));
}
static int c_load_vectors_for(sn_model_t *m)
{
    sn_vectorizer_t *v = sn_vectorizer_new(NULL);
    ck_assert_ptr_nonnull(v);
    int found = 0;
    int r = ok(sn_embedding_load_vectors_for(m, sn_model_layer(m, 1),
                                             "/nonexistent/vectors.txt", v,
                                             NULL, &found));
    sn_vectorizer_free(v);
    return r;
}
static int c_optimizer_step(sn_model_t *m)
{
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(SN_SGD, &o), SN_OK);
    sn_optimizer_t *opt = sn_optimizer_new(&o);
    ck_assert_ptr_nonnull(opt);
    int r = ok(sn_optimizer_step(opt, m));
    sn_optimizer_free(opt);
    return r;
}
static int c_clip_norm(sn_model_t *m)
{
    double before;
    return ok(sn_clip_grad_norm(m, 1.0, &before));
}
static int c_clip_value(sn_model_t *m) { return ok(sn_clip_grad_value(m, 1.0)); }
static int c_compile(sn_model_t *m)
{
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    return ok(sn_model_compile(m, &co));
}
static double user_metric(void *user, int rows, int cols, const float *p,
                          const float *t)
{
    (void)user; (void)rows; (void)cols; (void)p; (void)t;
    return 0.0;
}
static int c_add_metric(sn_model_t *m)
{
    return ok(sn_model_add_metric(m, "zero", user_metric, NULL));
}
static int c_optimizer(sn_model_t *m) { return sn_model_optimizer(m) != NULL; }
static int c_num_metrics(sn_model_t *m) { return value(sn_model_num_metrics(m)); }
static int c_metric_name(sn_model_t *m)
{
    return sn_model_metric_name(m, 0) != NULL;
}
static int c_train_on_batch(sn_model_t *m)
{
    double loss;
    return ok(sn_model_train_on_batch(m, B, g_in, NULL, g_tg, NULL, &loss));
}
static int c_fit(sn_model_t *m)
{
    sn_dataset d = dataset();
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    sn_history_t *h = NULL;
    int r = ok(sn_model_fit(m, &d, &fo, &h));
    sn_history_free(h);
    return r;
}
/* One batch per epoch, the same one as the other calls use. */
static int one_batch(void *user, int epoch, int step, sn_batch *out)
{
    (void)user;
    (void)epoch;
    if (step > 0)
        return 0;
    out->batch = B;
    out->inputs = g_in;
    out->targets = g_tg;
    return 1;
}
static int c_fit_generator(sn_model_t *m)
{
    sn_generator_opts go = SN_GENERATOR_OPTS_INIT;
    go.next = one_batch;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    sn_history_t *h = NULL;
    int r = ok(sn_model_fit_generator(m, &go, &fo, &h));
    sn_history_free(h);
    return r;
}
static int c_evaluate(sn_model_t *m)
{
    sn_dataset d = dataset();
    double res[4];
    return ok(sn_model_evaluate(m, &d, 2, res, 4));
}
static int c_predict_batches(sn_model_t *m)
{
    return ok(sn_model_predict_batches(m, B, g_in, NULL, g_outs, 2));
}
static char g_dir[64];
static int c_save(sn_model_t *m)
{
    char path[128];
    snprintf(path, sizeof path, "%s/m.snm", g_dir);
    int r = ok(sn_model_save(m, path, 1));
    unlink(path);
    return r;
}
static int c_save_buffer(sn_model_t *m)
{
    void *buf = NULL;
    size_t n = 0;
    int r = ok(sn_model_save_buffer(m, 1, &buf, &n));
    sn_free(buf);
    return r;
}
static int c_forward_lengths(sn_model_t *m)
{
    return ok(sn_model_forward_lengths(m, B, g_in, NULL, g_lens, 1));
}
static int c_predict_lengths(sn_model_t *m)
{
    return ok(sn_model_predict_lengths(m, B, g_in, NULL, g_lens, g_outs));
}
/* A world of one: every collective is the identity. */
static sn_status one_sum_f64(void *user, double *v, size_t n)
{
    (void)user; (void)v; (void)n;
    return SN_OK;
}
static sn_status one_sum_f32(void *user, float *v, size_t n)
{
    (void)user; (void)v; (void)n;
    return SN_OK;
}
static sn_status one_broadcast(void *user, void *data, size_t bytes)
{
    (void)user; (void)data; (void)bytes;
    return SN_OK;
}
static int c_set_collectives(sn_model_t *m)
{
    sn_collectives c = SN_COLLECTIVES_INIT;
    c.sum_f64 = one_sum_f64;
    c.sum_f32 = one_sum_f32;
    c.broadcast = one_broadcast;
    return ok(sn_model_set_collectives(m, &c));
}
static int c_set_tokenizer(sn_model_t *m)
{
    sn_tokenizer_t *t = sn_tokenizer_new(NULL);
    ck_assert_ptr_nonnull(t);
    const char *texts[2] = { "a b", "b c" };
    ck_assert_int_eq(sn_tokenizer_fit(t, texts, 2), SN_OK);
    int r = ok(sn_model_set_tokenizer(m, t));
    sn_tokenizer_free(t);
    return r;
}
static int c_tokenizer(sn_model_t *m) { return sn_model_tokenizer(m) != NULL; }
static int c_set_bpe(sn_model_t *m)
{
    const char *texts[2] = { "abab abab", "abba" };
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    o.vocab_size = 262;
    o.min_frequency = 1;
    sn_bpe_t *b = NULL;
    ck_assert_int_eq(sn_bpe_train(texts, 2, &o, &b), SN_OK);
    int r = ok(sn_model_set_bpe(m, b));
    sn_bpe_free(b);
    return r;
}
static int c_bpe(sn_model_t *m) { return sn_model_bpe(m) != NULL; }
static int c_tensor_value(sn_model_t *m)
{
    int dims[4], rank;
    return sn_model_tensor_value(m, 1, dims, 4, &rank) != NULL;
}

/* What each call gives per state, in the order NULL, new, unbuilt,
 * built-uncompiled, recreated: 'o' success, 'e' failure with a message.
 * Calls that build on demand (predict, summary, compile, ...) succeed on
 * an unbuilt graph; calls that need a forward, a backward or a compile
 * fail until one happened; nothing may be added to a built model. */
typedef struct api_call {
    const char *name;
    call_fn fn;
    const char *expect;
} api_call;

static const api_call calls[] = {
    /* BEGIN MODEL API (test/model_api_coverage.sh reads these names) */
    { "sn_model_free", c_free, "ooooo" },
    { "sn_input", c_input, "eooee" },
    { "sn_input_tokens", c_input_tokens, "eooee" },
    { "sn_apply", c_apply, "eeoee" },
    { "sn_apply_n", c_apply_n, "eeoee" },
    { "sn_model_add", c_add, "eeoee" },
    { "sn_model_set_outputs", c_set_outputs, "eeoee" },
    { "sn_model_build", c_build, "eeooo" },
    { "sn_model_set_num_threads", c_set_threads, "eoooo" },
    { "sn_model_num_threads", c_num_threads, "eoooo" },
    { "sn_model_summary", c_summary, "eeooo" },
    { "sn_model_num_inputs", c_num_inputs, "eoooo" },
    { "sn_model_num_outputs", c_num_outputs, "eoooo" },
    { "sn_model_num_layers", c_num_layers, "eoooo" },
    { "sn_model_count_params", c_count_params, "eeeoo" },
    { "sn_model_layer", c_layer, "eeooo" },
    { "sn_model_find_layer", c_find_layer, "eeooo" },
    { "sn_model_tensor_shape", c_tensor_shape, "eeooo" },
    { "sn_model_input_id", c_input_id, "eeooo" },
    { "sn_model_output_id", c_output_id, "eeooo" },
    { "sn_model_forward", c_forward, "eeooo" },
    { "sn_model_output", c_output, "eeeee" },
    { "sn_model_backward", c_backward, "eeeee" },
    { "sn_model_input_grad", c_input_grad, "eeeee" },
    { "sn_model_zero_grad", c_zero_grad, "eeooo" },
    { "sn_model_predict", c_predict, "eeooo" },
    { "sn_model_num_weights", c_num_weights, "eeeoo" },
    { "sn_model_weight_info", c_weight_info, "eeeoo" },
    { "sn_model_find_weight", c_find_weight, "eeeoo" },
    { "sn_model_weight_data", c_weight_data, "eeeoo" },
    { "sn_model_weight_grad", c_weight_grad, "eeeoo" },
    { "sn_model_reset_states", c_reset_states, "eoooo" },
    { "sn_model_set_vectorizer", c_set_vectorizer, "eoooo" },
    { "sn_model_vectorizer", c_vectorizer, "eeeee" },
    { "sn_embedding_load_vectors", c_load_vectors, "eeeee" },
    { "sn_embedding_load_vectors_for", c_load_vectors_for, "eeeee" },
    { "sn_optimizer_step", c_optimizer_step, "eeooo" },
    { "sn_clip_grad_norm", c_clip_norm, "eeeoo" },
    { "sn_clip_grad_value", c_clip_value, "eeeoo" },
    { "sn_model_compile", c_compile, "eeooo" },
    { "sn_model_add_metric", c_add_metric, "eeeee" },
    { "sn_model_optimizer", c_optimizer, "eeeee" },
    { "sn_model_num_metrics", c_num_metrics, "eoooo" },
    { "sn_model_metric_name", c_metric_name, "eeeee" },
    { "sn_model_train_on_batch", c_train_on_batch, "eeeee" },
    { "sn_model_fit", c_fit, "eeeee" },
    { "sn_model_fit_generator", c_fit_generator, "eeeee" },
    { "sn_model_evaluate", c_evaluate, "eeeee" },
    { "sn_model_predict_batches", c_predict_batches, "eeooo" },
    { "sn_model_save", c_save, "eeooo" },
    { "sn_model_save_buffer", c_save_buffer, "eeooo" },
    { "sn_model_forward_lengths", c_forward_lengths, "eeooo" },
    { "sn_model_predict_lengths", c_predict_lengths, "eeooo" },
    { "sn_model_tensor_value", c_tensor_value, "eeeee" },
    { "sn_model_set_collectives", c_set_collectives, "eoooo" },
    { "sn_model_set_tokenizer", c_set_tokenizer, "eoooo" },
    { "sn_model_tokenizer", c_tokenizer, "eeeee" },
    { "sn_model_set_bpe", c_set_bpe, "eoooo" },
    { "sn_model_bpe", c_bpe, "eeeee" },
    /* END MODEL API */
};

enum { N_CALLS = (int)(sizeof calls / sizeof calls[0]) };

/* One call on a fresh model in one state; the model is freed after. */
START_TEST(test_call_in_state)
{
    const api_call *c = &calls[_i / N_STATES];
    state s = (state)(_i % N_STATES);
    ck_assert_int_eq((int)strlen(c->expect), N_STATES);
    sn_model_t *m = make_state(s);
    sn_clear_error();
    int got = c->fn(m);
    const char *msg = sn_last_error();
    int want = c->expect[s] == 'o';
    ck_assert_msg(got == want, "%s on a %s model: %s, expected %s (%s)",
                  c->name, state_names[s], got ? "success" : "failure",
                  want ? "success" : "failure", msg ? msg : "");
    if (!got)
        ck_assert_msg(msg != NULL && msg[0] != '\0',
                      "%s on a %s model failed without a message", c->name,
                      state_names[s]);
    if (strcmp(c->name, "sn_model_free") != 0)
        sn_model_free(m);
}
END_TEST

/* After every call of the table in turn, on one model per state, that
 * model is still usable: it builds (or says why not) and frees cleanly. */
START_TEST(test_calls_in_sequence)
{
    state s = (state)_i;
    sn_model_t *m = make_state(s);
    for (int i = 0; i < N_CALLS; i++) {
        if (strcmp(calls[i].name, "sn_model_free") == 0)
            continue;
        sn_clear_error();
        if (!calls[i].fn(m))
            ck_assert_msg(sn_last_error()[0] != '\0', "%s after the calls "
                          "before it failed without a message",
                          calls[i].name);
    }
    sn_model_free(m);
}
END_TEST

/* Regression: a training step on a model whose output is its own float
 * input wrote that output's gradient into a buffer the step had not
 * allocated (the inputs' gradients are skipped) and crashed. */
START_TEST(test_output_is_input)
{
    sn_model_t *m = tk_new_model(1);
    int x = sn_input(m, T, E);
    int y = sn_apply(m, sn_dense(1, SN_LINEAR, NULL), x);
    int outs[2] = { y, x };
    ck_assert_int_eq(sn_model_set_outputs(m, outs, 2), SN_OK);
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    const float *tg[2] = { g_y, g_x };
    double loss = -1.0;
    ck_assert_int_eq(sn_model_train_on_batch(m, B, g_in, NULL, tg, NULL,
                                             &loss), SN_OK);
    ck_assert(loss > 0.0);
    sn_model_free(m);
}
END_TEST

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "%s", "/tmp/sn-states-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    tk_fill(g_x, B * T * E, 2, -1.0f, 1.0f); /* the rest: zeros, ids 0 */
}

static void remove_dir(void)
{
    rmdir(g_dir);
}

static Suite *states_suite(void)
{
    Suite *s = suite_create("model_states");
    TCase *tc = tcase_create("model_states");
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_add_loop_test(tc, test_call_in_state, 0, N_CALLS * N_STATES);
    tcase_add_loop_test(tc, test_calls_in_sequence, 0, N_STATES);
    tcase_add_test(tc, test_output_is_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(states_suite());
}
