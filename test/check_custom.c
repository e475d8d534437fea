/*
 * check_custom.c - custom layers and the layer registry
 * (the "Custom layers" section of seqnet.h), through the public API only: a user-written
 * Dense checked against finite differences and against sn_dense, a
 * user-written Bahdanau attention pooling checked against finite
 * differences and against the built-in additive attention pooling,
 * training, save/load with and without a registry, registry and ops
 * validation, state ownership on every path and out-of-memory injection.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/counting_alloc.h"
#include "support/testkit.h"

/* States alive (created, not yet destroyed) and destroy calls: every
 * state must be destroyed exactly once. */
static int live_states;
static int destroy_calls;

/* ------------------------------------------------- a user-written Dense */

typedef struct my_dense {
    int units;
} my_dense;

static void *new_dense_state(int units)
{
    my_dense *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->units = units;
    live_states++;
    return s;
}

static void count_destroy(void *state)
{
    free(state);
    live_states--;
    destroy_calls++;
}

static int dense_infer(const void *state, const sn_tensor_shape *in,
                       int n_in, sn_tensor_shape *out, int max_out)
{
    const my_dense *s = state;
    (void)n_in;
    (void)max_out;
    if (in[0].dtype != SN_FLOAT32 || in[0].rank > 2 ||
        in[0].dims[in[0].rank - 1] <= 0)
        return sn_custom_fail(SN_ERR_SHAPE, "expected float [features] or "
                              "[time, features]");
    out[0] = in[0];
    out[0].dims[in[0].rank - 1] = s->units;
    return 1;
}

static sn_status dense_build(void *state, sn_custom_build_t *b,
                             const sn_tensor_shape *in, int n_in)
{
    const my_dense *s = state;
    (void)n_in;
    int kdims[2] = { in[0].dims[in[0].rank - 1], s->units };
    int k = sn_custom_add_weight(b, "kernel", 2, kdims,
                                 SN_INIT_GLOROT_UNIFORM, 0, 0);
    if (k < 0)
        return (sn_status)k;
    k = sn_custom_add_weight(b, "bias", 1, &s->units, SN_INIT_DEFAULT, 0, 0);
    return k < 0 ? (sn_status)k : SN_OK;
}

/* rows = batch * time, cols = input features */
static void dense_dims(const sn_custom_call_t *c, int *rows, int *cols)
{
    sn_tensor_shape s = SN_TENSOR_SHAPE_INIT;
    int rank = sn_custom_input_shape(c, 0, &s);
    *rows = sn_custom_batch(c) * (rank == 2 ? s.dims[0] : 1);
    *cols = s.dims[rank - 1];
}

static sn_status dense_forward(const void *state, sn_custom_call_t *c)
{
    const my_dense *s = state;
    int rows, n_in, u = s->units;
    dense_dims(c, &rows, &n_in);
    const float *x = sn_custom_input(c, 0);
    const float *w = sn_custom_weight(c, 0), *b = sn_custom_weight(c, 1);
    float *y = sn_custom_output(c, 0);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < u; j++) {
            float acc = b[j];
            for (int i = 0; i < n_in; i++)
                acc += x[r * n_in + i] * w[i * u + j];
            y[r * u + j] = acc;
        }
    return sn_custom_pass_mask(c, 0, 0);
}

static sn_status dense_backward(const void *state, sn_custom_call_t *c)
{
    const my_dense *s = state;
    int rows, n_in, u = s->units;
    dense_dims(c, &rows, &n_in);
    const float *x = sn_custom_input(c, 0), *w = sn_custom_weight(c, 0);
    const float *dy = sn_custom_output_grad(c, 0);
    float *dx = sn_custom_input_grad(c, 0);
    float *dw = sn_custom_weight_grad(c, 0), *db = sn_custom_weight_grad(c, 1);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < u; j++) {
            float g = dy[r * u + j];
            if (db != NULL)
                db[j] += g;
            for (int i = 0; i < n_in; i++) {
                if (dw != NULL)
                    dw[i * u + j] += x[r * n_in + i] * g;
                if (dx != NULL)
                    dx[r * n_in + i] += g * w[i * u + j];
            }
        }
    return SN_OK;
}

/* Config: units as 4 little-endian bytes. */
static sn_status save_units(const void *state, sn_custom_writer_t *w)
{
    unsigned v = (unsigned)((const my_dense *)state)->units;
    unsigned char b[4] = { v & 255, (v >> 8) & 255, (v >> 16) & 255,
                           v >> 24 };
    return sn_custom_write(w, b, 4);
}

static sn_status load_units(const void *config, size_t len, void *user,
                            void **state)
{
    const unsigned char *b = config;
    (void)user;
    if (len != 4)
        return sn_custom_fail(SN_ERR_FORMAT, "config is %zu bytes, "
                              "expected 4", len);
    unsigned v = b[0] | b[1] << 8 | b[2] << 16 | (unsigned)b[3] << 24;
    if (v == 0 || v > 100000)
        return sn_custom_fail(SN_ERR_FORMAT, "units %u", v);
    *state = new_dense_state((int)v);
    return SN_OK;
}

static sn_custom_layer_ops dense_ops(void)
{
    sn_custom_layer_ops o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.type = "test.MyDense";
    o.min_inputs = o.max_inputs = 1;
    o.infer = dense_infer;
    o.build = dense_build;
    o.forward = dense_forward;
    o.backward = dense_backward;
    o.save_config = save_units;
    o.load_config = load_units;
    o.destroy = count_destroy;
    return o;
}

static sn_layer_t *my_dense_layer(int units)
{
    sn_custom_layer_ops o = dense_ops();
    return sn_custom_layer(&o, new_dense_state(units));
}

/* ---------------------------------- a user-written Bahdanau attention pool */

/* score_j = v . tanh(h_j W1 + b); a = softmax_j over real steps;
 * context = sum_j a_j h_j.  Input [time, D], output [D].  The state is a
 * my_dense (units). */
static int pool_infer(const void *state, const sn_tensor_shape *in,
                      int n_in, sn_tensor_shape *out, int max_out)
{
    (void)state;
    (void)n_in;
    (void)max_out;
    if (in[0].dtype != SN_FLOAT32 || in[0].rank != 2 || in[0].dims[1] <= 0)
        return sn_custom_fail(SN_ERR_SHAPE, "expected float [time, D]");
    out[0].dtype = SN_FLOAT32;
    out[0].rank = 1;
    out[0].dims[0] = in[0].dims[1];
    return 1;
}

enum { P_W1 = 0, P_B = 1, P_V = 2 };

static sn_status pool_build(void *state, sn_custom_build_t *b,
                            const sn_tensor_shape *in, int n_in)
{
    const my_dense *s = state;
    (void)n_in;
    int w1[2] = { in[0].dims[1], s->units };
    if (sn_custom_add_weight(b, "W1", 2, w1, SN_INIT_GLOROT_UNIFORM, 0,
                             0) != P_W1 ||
        sn_custom_add_weight(b, "b", 1, &s->units, SN_INIT_RANDOM_UNIFORM,
                             0, 0) != P_B ||
        sn_custom_add_weight(b, "v", 1, &s->units, SN_INIT_RANDOM_UNIFORM,
                             0, 0) != P_V)
        return SN_ERR_INVALID_ARG;
    return SN_OK;
}

typedef struct pool_dims {
    int batch, time, d, units;
} pool_dims;

static pool_dims pool_sizes(const void *state, const sn_custom_call_t *c)
{
    sn_tensor_shape s = SN_TENSOR_SHAPE_INIT;
    sn_custom_input_shape(c, 0, &s);
    pool_dims p = { sn_custom_batch(c), s.dims[0], s.dims[1],
                    ((const my_dense *)state)->units };
    return p;
}

/* Scratch: u [batch, time, units] then a [batch, time]. */
static float *pool_scratch(sn_custom_call_t *c, pool_dims p)
{
    size_t n = (size_t)p.batch * p.time * (p.units + 1);
    return sn_custom_scratch(c, n * sizeof(float));
}

static sn_status pool_forward(const void *state, sn_custom_call_t *c)
{
    pool_dims p = pool_sizes(state, c);
    float *u = pool_scratch(c, p);
    if (u == NULL)
        return SN_ERR_NOMEM;
    float *a = u + (size_t)p.batch * p.time * p.units;
    const float *h = sn_custom_input(c, 0);
    const uint8_t *mask = sn_custom_input_mask(c, 0);
    const float *w1 = sn_custom_weight(c, P_W1);
    const float *b = sn_custom_weight(c, P_B), *v = sn_custom_weight(c, P_V);
    float *y = sn_custom_output(c, 0);
    for (int n = 0; n < p.batch; n++) {
        double max = -INFINITY, sum = 0;
        for (int j = 0; j < p.time; j++) {
            const float *hj = h + ((size_t)n * p.time + j) * p.d;
            float *uj = u + ((size_t)n * p.time + j) * p.units;
            float sc = 0;
            for (int k = 0; k < p.units; k++) {
                float z = b[k];
                for (int i = 0; i < p.d; i++)
                    z += hj[i] * w1[i * p.units + k];
                uj[k] = tanhf(z);
                sc += v[k] * uj[k];
            }
            a[n * p.time + j] = sc;
            if ((mask == NULL || mask[n * p.time + j]) && sc > max)
                max = sc;
        }
        for (int j = 0; j < p.time; j++) {
            bool real = mask == NULL || mask[n * p.time + j];
            float e = real ? (float)exp(a[n * p.time + j] - max) : 0.0f;
            a[n * p.time + j] = e;
            sum += e;
        }
        float *yn = y + (size_t)n * p.d;
        memset(yn, 0, (size_t)p.d * sizeof *yn);
        for (int j = 0; j < p.time; j++) {
            float aj = sum > 0 ? (float)(a[n * p.time + j] / sum) : 0.0f;
            a[n * p.time + j] = aj;
            for (int i = 0; i < p.d; i++)
                yn[i] += aj * h[((size_t)n * p.time + j) * p.d + i];
        }
    }
    return SN_OK;
}

static sn_status pool_backward(const void *state, sn_custom_call_t *c)
{
    pool_dims p = pool_sizes(state, c);
    float *u = pool_scratch(c, p);
    if (u == NULL)
        return SN_ERR_NOMEM;
    const float *a = u + (size_t)p.batch * p.time * p.units;
    const float *h = sn_custom_input(c, 0);
    const float *w1 = sn_custom_weight(c, P_W1), *v = sn_custom_weight(c, P_V);
    const float *dy = sn_custom_output_grad(c, 0);
    float *dh = sn_custom_input_grad(c, 0);
    float *dw1 = sn_custom_weight_grad(c, P_W1);
    float *db = sn_custom_weight_grad(c, P_B);
    float *dv = sn_custom_weight_grad(c, P_V);
    float dz[64];
    ck_assert_int_le(p.units, 64);
    for (int n = 0; n < p.batch; n++) {
        const float *dyn = dy + (size_t)n * p.d;
        float da[64], dot = 0;
        ck_assert_int_le(p.time, 64);
        for (int j = 0; j < p.time; j++) {
            const float *hj = h + ((size_t)n * p.time + j) * p.d;
            da[j] = 0;
            for (int i = 0; i < p.d; i++)
                da[j] += dyn[i] * hj[i];
            dot += a[n * p.time + j] * da[j];
        }
        for (int j = 0; j < p.time; j++) {
            size_t row = (size_t)n * p.time + j;
            const float *hj = h + row * p.d;
            const float *uj = u + row * p.units;
            float aj = a[row];
            if (dh != NULL)
                for (int i = 0; i < p.d; i++)
                    dh[row * p.d + i] += aj * dyn[i];
            float ds = aj * (da[j] - dot);
            for (int k = 0; k < p.units; k++) {
                dz[k] = ds * v[k] * (1 - uj[k] * uj[k]);
                if (dv != NULL)
                    dv[k] += ds * uj[k];
                if (db != NULL)
                    db[k] += dz[k];
            }
            for (int i = 0; i < p.d; i++)
                for (int k = 0; k < p.units; k++) {
                    if (dw1 != NULL)
                        dw1[i * p.units + k] += hj[i] * dz[k];
                    if (dh != NULL)
                        dh[row * p.d + i] += dz[k] * w1[i * p.units + k];
                }
        }
    }
    return SN_OK;
}

static sn_custom_layer_ops pool_ops(void)
{
    sn_custom_layer_ops o = dense_ops();
    o.type = "test.BahdanauPool";
    o.infer = pool_infer;
    o.build = pool_build;
    o.forward = pool_forward;
    o.backward = pool_backward;
    return o;
}

static sn_layer_t *my_pool_layer(int units)
{
    sn_custom_layer_ops o = pool_ops();
    return sn_custom_layer(&o, new_dense_state(units));
}

/* ------------------------------------------------------------ helpers */

/* Values in [-1, 1] on a 0.001 grid.  A generator of this file's own, not
 * tk_fill: switching would change every input these tests were set up on. */
static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
    }
}

/* sum(y * r) for the model's (single) output after a forward. */
static double weighted_loss(sn_model_t *m, int batch, const void *x,
                            const int *ts, const float *r)
{
    const void *in[1] = { x };
    ck_assert_int_eq(sn_model_forward(m, batch, in, ts, 1), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    size_t n = tk_output_count(m, 0);
    double l = 0;
    for (size_t i = 0; i < n; i++)
        l += (double)y[i] * r[i];
    return l;
}

/* Analytic gradients of sum(y * r) (weights and, for float inputs, the
 * input) against central differences. */
static void check_gradients(sn_model_t *m, int batch, void *x, size_t nx,
                            bool float_input, const int *ts, double tol)
{
    float r[512];
    const void *in[1] = { x };
    ck_assert_int_eq(sn_model_forward(m, batch, in, ts, 1), SN_OK);
    size_t ny = tk_output_count(m, 0);
    ck_assert_uint_le(ny, 512);
    fill(r, ny, 99);
    weighted_loss(m, batch, x, ts, r);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    const float *g[1] = { r };
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    const float eps = 1e-2f;
    if (float_input) {
        float *xf = x;
        float dx[1024];
        ck_assert_uint_le(nx, 1024);
        memcpy(dx, sn_model_input_grad(m, 0), nx * sizeof *dx);
        for (size_t i = 0; i < nx; i++) {
            float keep = xf[i];
            xf[i] = keep + eps;
            double lp = weighted_loss(m, batch, x, ts, r);
            xf[i] = keep - eps;
            double lm = weighted_loss(m, batch, x, ts, r);
            xf[i] = keep;
            double fd = (lp - lm) / (2 * eps);
            ck_assert_msg(fabs(fd - dx[i]) <= tol * fabs(fd) + 3e-4,
                          "dx[%zu]: analytic %g, numeric %g", i, dx[i], fd);
        }
    }
    for (int w = 0; w < sn_model_num_weights(m); w++) {
        size_t n;
        float *val = sn_model_weight_data(m, w, &n);
        float grad[1024];
        ck_assert_uint_le(n, 1024);
        memcpy(grad, sn_model_weight_grad(m, w, NULL), n * sizeof *grad);
        for (size_t i = 0; i < n; i++) {
            float keep = val[i];
            val[i] = keep + eps;
            double lp = weighted_loss(m, batch, x, ts, r);
            val[i] = keep - eps;
            double lm = weighted_loss(m, batch, x, ts, r);
            val[i] = keep;
            double fd = (lp - lm) / (2 * eps);
            const char *name;
            sn_model_weight_info(m, w, &name, NULL, 0, NULL);
            ck_assert_msg(fabs(fd - grad[i]) <= tol * fabs(fd) + 3e-4,
                          "%s[%zu]: analytic %g, numeric %g", name, i,
                          grad[i], fd);
        }
    }
}

/* Copies weight `from` of model a into weight `to` of model b. */
static void copy_weight(sn_model_t *a, const char *from, sn_model_t *b,
                        const char *to)
{
    int i = sn_model_find_weight(a, from), j = sn_model_find_weight(b, to);
    ck_assert_msg(i >= 0 && j >= 0, "weights %s / %s", from, to);
    size_t na, nb;
    const float *src = sn_model_weight_data(a, i, &na);
    float *dst = sn_model_weight_data(b, j, &nb);
    ck_assert_uint_eq(na, nb);
    memcpy(dst, src, na * sizeof *dst);
}

/* Forward and backward of both models on the same batch; outputs, input
 * gradients (float inputs) and the named weight-gradient pairs agree. */
static void compare_models(sn_model_t *a, sn_model_t *b, int batch,
                           const void *x, size_t nx, bool float_input,
                           const char *const *wa, const char *const *wb,
                           int n_pairs)
{
    const void *in[1] = { x };
    ck_assert_int_eq(sn_model_forward(a, batch, in, NULL, 1), SN_OK);
    ck_assert_int_eq(sn_model_forward(b, batch, in, NULL, 1), SN_OK);
    size_t ny = tk_output_count(a, 0);
    ck_assert_uint_eq(ny, tk_output_count(b, 0));
    /* b is checked against a: the tolerances scale with a's values. */
    tk_expect_close(sn_model_output(b, 0, NULL, 0, NULL),
                    sn_model_output(a, 0, NULL, 0, NULL), ny, 1e-5, "output");
    float r[512];
    ck_assert_uint_le(ny, 512);
    fill(r, ny, 7);
    const float *g[1] = { r };
    ck_assert_int_eq(sn_model_zero_grad(a), SN_OK);
    ck_assert_int_eq(sn_model_zero_grad(b), SN_OK);
    ck_assert_int_eq(sn_model_backward(a, g), SN_OK);
    ck_assert_int_eq(sn_model_backward(b, g), SN_OK);
    if (float_input)
        tk_expect_close(sn_model_input_grad(b, 0), sn_model_input_grad(a, 0),
                        nx, 1e-5, "input grad");
    for (int k = 0; k < n_pairs; k++) {
        size_t n;
        const float *ga = sn_model_weight_grad(a, sn_model_find_weight(a,
                                               wa[k]), &n);
        const float *gb = sn_model_weight_grad(b, sn_model_find_weight(b,
                                               wb[k]), NULL);
        ck_assert_ptr_nonnull(ga);
        ck_assert_ptr_nonnull(gb);
        tk_expect_close(gb, ga, n, 1e-5, wa[k]);
    }
}

static void setup(void)
{
    live_states = 0;
    destroy_calls = 0;
}

/* ---------------------------------------------------- dense: gradients */

START_TEST(test_dense_gradients)
{
    enum { B = 2, TT = 3, F = 4, U = 3 };
    sn_model_t *m = tk_new_model(1);
    int x = sn_input(m, TT, F);
    ck_assert_int_ge(sn_apply(m, my_dense_layer(U), x), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(m), 2);
    const char *name;
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_weight_info(m, 0, &name, dims, SN_MAX_RANK, NULL), 2);
    ck_assert_str_eq(name, "my_dense/kernel");
    ck_assert_int_eq(dims[0], F);
    ck_assert_int_eq(dims[1], U);
    float xs[B * TT * F];
    fill(xs, B * TT * F, 3);
    check_gradients(m, B, xs, B * TT * F, true, NULL, 2e-3);
    sn_model_free(m);
    ck_assert_int_eq(live_states, 0);
    ck_assert_int_eq(destroy_calls, 1);
}
END_TEST

START_TEST(test_dense_matches_builtin)
{
    enum { B = 3, TT = 4, F = 5, U = 3 };
    sn_model_t *a = tk_new_model(1), *b = tk_new_model(2);
    sn_apply(a, my_dense_layer(U), sn_input(a, TT, F));
    sn_layer_t *d = sn_dense(U, SN_LINEAR, NULL);
    sn_layer_set_name(d, "my_dense");
    sn_apply(b, d, sn_input(b, TT, F));
    ck_assert_int_eq(sn_model_build(a), SN_OK);
    ck_assert_int_eq(sn_model_build(b), SN_OK);
    /* the built-in's bias starts at zero: make both non-trivial */
    float *bias = sn_model_weight_data(a, 1, NULL);
    fill(bias, U, 5);
    copy_weight(a, "my_dense/kernel", b, "my_dense/kernel");
    copy_weight(a, "my_dense/bias", b, "my_dense/bias");
    float xs[B * TT * F];
    fill(xs, B * TT * F, 11);
    const char *w[2] = { "my_dense/kernel", "my_dense/bias" };
    compare_models(a, b, B, xs, B * TT * F, true, w, w, 2);
    sn_model_free(a);
    sn_model_free(b);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* ------------------------------------------------- Bahdanau: gradients */

START_TEST(test_pool_gradients)
{
    enum { B = 2, TT = 5, D = 3, U = 4 };
    sn_model_t *m = tk_new_model(3);
    int x = sn_input(m, SN_ANY_TIME, D); /* infer sees -1, then 5 */
    ck_assert_int_ge(sn_apply(m, my_pool_layer(U), x), 0);
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_tensor_shape(m, 1, dims, SN_MAX_RANK, NULL), 1);
    ck_assert_int_eq(dims[0], D);
    float xs[B * TT * D];
    fill(xs, B * TT * D, 17);
    int ts[1] = { TT };
    check_gradients(m, B, xs, B * TT * D, true, ts, 3e-3);
    sn_model_free(m);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* tokens -> Embedding(mask_zero) -> pool: padded steps get no weight. */
static sn_model_t *masked_pool_model(sn_layer_t *pool, uint64_t seed)
{
    sn_model_t *m = tk_new_model(seed);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    sn_layer_t *emb = sn_embedding(10, 4, &eo);
    sn_layer_set_name(emb, "emb");
    sn_layer_set_name(pool, "pool");
    int e = sn_apply(m, emb, sn_input_tokens(m, 6));
    ck_assert_int_ge(sn_apply(m, pool, e), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    /* weights of order 1 (the initialisers' are small), so that every
     * gradient is large enough for the comparisons to mean something */
    for (int w = 0; w < sn_model_num_weights(m); w++) {
        size_t n;
        float *v = sn_model_weight_data(m, w, &n);
        fill(v, n, (unsigned)(seed * 100 + w));
    }
    return m;
}

static const int32_t masked_ids[3 * 6] = {
    3, 1, 4, 1, 5, 9,
    2, 6, 5, 0, 0, 0,   /* padded after 3 steps */
    0, 0, 0, 0, 0, 0,   /* fully padded: zero output */
};

START_TEST(test_pool_mask)
{
    sn_model_t *m = masked_pool_model(my_pool_layer(5), 4);
    const void *in[1] = { masked_ids };
    ck_assert_int_eq(sn_model_forward(m, 3, in, NULL, 0), SN_OK);
    const float *y = sn_model_output(m, 0, NULL, 0, NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(y[2 * 4 + i], 0.0f);
    /* row 1 equals the unpadded 3-step sequence */
    sn_model_t *m3 = tk_new_model(4);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    sn_layer_t *emb = sn_embedding(10, 4, &eo);
    sn_layer_set_name(emb, "emb");
    sn_layer_t *pool = my_pool_layer(5);
    sn_layer_set_name(pool, "pool");
    sn_apply(m3, pool, sn_apply(m3, emb, sn_input_tokens(m3, 3)));
    ck_assert_int_eq(sn_model_build(m3), SN_OK);
    for (int w = 0; w < sn_model_num_weights(m); w++) {
        const char *name;
        sn_model_weight_info(m, w, &name, NULL, 0, NULL);
        copy_weight(m, name, m3, name);
    }
    float y3[4];
    const void *in3[1] = { masked_ids + 6 };
    float *outs[1] = { y3 };
    ck_assert_int_eq(sn_model_predict(m3, 1, in3, NULL, outs), SN_OK);
    tk_expect_close(y3, y + 4, 4, 1e-6, "masked row");
    check_gradients(m, 3, (void *)masked_ids, 18, false, NULL, 3e-3);
    sn_model_free(m);
    sn_model_free(m3);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* The custom pool against sn_attention(SN_SCORE_ADDITIVE) pooling, whose
 * learned query plays the role of b. */
START_TEST(test_pool_matches_builtin_attention)
{
    sn_model_t *a = masked_pool_model(my_pool_layer(5), 6);
    sn_attention_opts ao = SN_ATTENTION_OPTS_INIT;
    ao.units = 5;
    sn_model_t *b = masked_pool_model(sn_attention(SN_SCORE_ADDITIVE, &ao),
                                      7);
    const char *wa[4] = { "emb/embeddings", "pool/W1", "pool/v", "pool/b" };
    const char *wb[4] = { "emb/embeddings", "pool/W1", "pool/v",
                          "pool/query" };
    for (int k = 0; k < 4; k++)
        copy_weight(a, wa[k], b, wb[k]);
    compare_models(a, b, 3, masked_ids, 18, false, wa, wb, 4);
    sn_model_free(a);
    sn_model_free(b);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* --------------------------------------------------------- training */

START_TEST(test_fit_reduces_loss)
{
    enum { N = 64, F = 3 };
    sn_model_t *m = tk_new_model(5);
    sn_apply(m, my_dense_layer(1), sn_input(m, SN_NO_TIME, F));
    sn_optimizer_opts oo;
    sn_optimizer_defaults(SN_ADAM, &oo);
    oo.learning_rate = 0.05f;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    float x[N * F], y[N];
    fill(x, N * F, 23);
    for (int i = 0; i < N; i++)
        y[i] = 0.7f * x[i * F] - 1.2f * x[i * F + 1] + 0.3f * x[i * F + 2] +
               0.5f;
    const void *ins[1] = { x };
    const float *tgts[1] = { y };
    sn_dataset ds = SN_DATASET_INIT;
    ds.n_samples = N;
    ds.inputs = ins;
    ds.targets = tgts;
    sn_fit_opts fo = SN_FIT_OPTS_INIT;
    fo.epochs = 40;
    fo.batch_size = 16;
    sn_history_t *h = NULL;
    ck_assert_int_eq(sn_model_fit(m, &ds, &fo, &h), SN_OK);
    const double *loss = sn_history_values(h, "loss");
    ck_assert_ptr_nonnull(loss);
    ck_assert_msg(loss[39] < 0.05 * loss[0], "loss %g -> %g", loss[0],
                  loss[39]);
    sn_history_free(h);
    sn_model_free(m);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* ------------------------------------------------------ save and load */

/* input [5, 3] -> MyDense(4) -> BahdanauPool(3) -> Dense(2), compiled. */
static sn_model_t *saveable_model(void)
{
    sn_model_t *m = tk_new_model(8);
    int x = sn_input(m, 5, 3);
    sn_layer_t *d = my_dense_layer(4);
    ck_assert_int_eq(sn_layer_set_name(d, "proj"), SN_OK);
    x = sn_apply(m, d, x);
    x = sn_apply(m, my_pool_layer(3), x);
    ck_assert_int_ge(sn_apply(m, sn_dense(2, SN_TANH, NULL), x), 0);
    ck_assert_int_eq(sn_model_compile(m, NULL), SN_OK);
    return m;
}

static sn_registry_t *full_registry(void)
{
    sn_registry_t *r = sn_registry_new();
    ck_assert_ptr_nonnull(r);
    sn_custom_layer_ops d = dense_ops(), p = pool_ops();
    ck_assert_int_eq(sn_registry_add(r, &d), SN_OK);
    ck_assert_int_eq(sn_registry_add(r, &p), SN_OK);
    return r;
}

static void predict(sn_model_t *m, float *out)
{
    float x[2 * 5 * 3];
    fill(x, 30, 31);
    const void *in[1] = { x };
    float *outs[1] = { out };
    ck_assert_int_eq(sn_model_predict(m, 2, in, NULL, outs), SN_OK);
}

START_TEST(test_save_load_with_registry)
{
    sn_model_t *m = saveable_model();
    float before[4], after[4];
    predict(m, before);
    void *buf;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 1, &buf, &len), SN_OK);
    char path[] = "/tmp/check_custom_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(sn_model_save(m, path, 1), SN_OK);
    sn_model_free(m);
    ck_assert_int_eq(live_states, 0);

    sn_registry_t *r = full_registry();
    sn_model_t *l1 = NULL, *l2 = NULL;
    ck_assert_int_eq(sn_model_load_buffer_ex(buf, len, r, &l1), SN_OK);
    ck_assert_int_eq(sn_model_load_ex(path, r, &l2), SN_OK);
    sn_registry_free(r); /* loaded models do not need it */
    ck_assert_int_eq(live_states, 4);
    predict(l1, after);
    ck_assert_int_eq(memcmp(before, after, sizeof before), 0);
    predict(l2, after);
    ck_assert_int_eq(memcmp(before, after, sizeof before), 0);

    sn_layer_t *proj = sn_model_find_layer(l1, "proj");
    ck_assert_ptr_nonnull(proj);
    ck_assert_str_eq(sn_layer_type(proj), "test.MyDense");
    const my_dense *st = sn_custom_layer_state(proj);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(st->units, 4);
    ck_assert_ptr_nonnull(sn_model_find_layer(l1, "bahdanau_pool"));
    ck_assert_ptr_null(sn_custom_layer_state(sn_model_find_layer(l1,
                                                                "dense")));
    /* the training state came along: a loaded model trains on */
    ck_assert_ptr_nonnull(sn_model_optimizer(l1));
    float x[2 * 5 * 3], t[4] = { 0.1f, -0.2f, 0.3f, 0.0f };
    fill(x, 30, 31);
    const void *in[1] = { x };
    const float *tg[1] = { t };
    double loss;
    ck_assert_int_eq(sn_model_train_on_batch(l1, 2, in, NULL, tg, NULL,
                                             &loss), SN_OK);
    /* and saves again */
    void *buf2;
    size_t len2;
    ck_assert_int_eq(sn_model_save_buffer(l2, 1, &buf2, &len2), SN_OK);
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(buf, buf2, len), 0);
    sn_free(buf2);
    sn_model_free(l1);
    sn_model_free(l2);
    ck_assert_int_eq(live_states, 0);
    sn_free(buf);
    unlink(path);
}
END_TEST

START_TEST(test_load_unregistered)
{
    sn_model_t *m = saveable_model();
    void *buf;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &buf, &len), SN_OK);
    sn_model_free(m);
    sn_model_t *l = (sn_model_t *)&l;
    ck_assert_int_eq(sn_model_load_buffer(buf, len, &l), SN_ERR_UNSUPPORTED);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "'test.MyDense'"));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "sn_registry_add"));
    /* a registry without the pool: the message names the pool's type */
    sn_registry_t *r = sn_registry_new();
    sn_custom_layer_ops d = dense_ops();
    ck_assert_int_eq(sn_registry_add(r, &d), SN_OK);
    ck_assert_int_eq(sn_model_load_buffer_ex(buf, len, r, &l),
                     SN_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "'test.BahdanauPool'"));
    ck_assert_int_eq(live_states, 0); /* the loaded MyDense was freed */
    sn_registry_free(r);
    sn_free(buf);
}
END_TEST

static sn_status load_refuses(const void *config, size_t len, void *user,
                              void **state)
{
    (void)config;
    (void)len;
    (void)state;
    ck_assert_ptr_eq(user, &live_states);
    return sn_custom_fail(SN_ERR_FORMAT, "version 7 is unknown");
}

START_TEST(test_load_config_failure)
{
    sn_model_t *m = saveable_model();
    void *buf;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &buf, &len), SN_OK);
    sn_model_free(m);
    sn_registry_t *r = sn_registry_new();
    sn_custom_layer_ops d = dense_ops(), p = pool_ops();
    p.load_config = load_refuses;
    p.user = &live_states;
    sn_registry_add(r, &d);
    sn_registry_add(r, &p);
    sn_model_t *l = NULL;
    ck_assert_int_eq(sn_model_load_buffer_ex(buf, len, r, &l),
                     SN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "version 7 is unknown"));
    ck_assert_int_eq(live_states, 0);
    sn_registry_free(r);
    sn_free(buf);
}
END_TEST

static sn_status save_fails(const void *state, sn_custom_writer_t *w)
{
    (void)state;
    (void)w;
    return sn_custom_fail(SN_ERR_UNSUPPORTED, "cannot save this one");
}

START_TEST(test_save_failures)
{
    sn_custom_layer_ops o = dense_ops();
    o.save_config = NULL;
    sn_model_t *m = tk_new_model(1);
    sn_apply(m, sn_custom_layer(&o, new_dense_state(2)),
             sn_input(m, SN_NO_TIME, 3));
    void *buf = NULL;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &buf, &len),
                     SN_ERR_UNSUPPORTED);
    ck_assert_ptr_null(buf);
    sn_model_free(m);
    o.save_config = save_fails;
    m = tk_new_model(1);
    sn_apply(m, sn_custom_layer(&o, new_dense_state(2)),
             sn_input(m, SN_NO_TIME, 3));
    ck_assert_int_eq(sn_model_save_buffer(m, 0, &buf, &len),
                     SN_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "cannot save this one"));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "my_dense"));
    sn_model_free(m);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* ------------------------------------------------------ validation */

START_TEST(test_registry_errors)
{
    sn_custom_layer_ops o = dense_ops();
    ck_assert_int_eq(sn_registry_add(NULL, &o), SN_ERR_INVALID_ARG);
    sn_registry_t *r = sn_registry_new();
    ck_assert_int_eq(sn_registry_add(r, NULL), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_registry_add(r, &o), SN_OK);
    ck_assert_int_eq(sn_registry_add(r, &o), SN_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "already registered"));
    o.type = "Dense";
    ck_assert_int_eq(sn_registry_add(r, &o), SN_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "built-in"));
    const char *bad[] = { "", "1abc", "has space", "a/b",
                          "x234567890123456789012345678901234567890123456789"
                          "0123456789012345" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.type = bad[i];
        ck_assert_int_eq(sn_registry_add(r, &o), SN_ERR_INVALID_ARG);
    }
    o = dense_ops();
    o.type = "Other";
    o.size = sizeof(size_t) + sizeof(char *);
    ck_assert_int_eq(sn_registry_add(r, &o), SN_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "size"));
    o.size = sizeof o;
    o.load_config = NULL;
    ck_assert_int_eq(sn_registry_add(r, &o), SN_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "load_config"));
    /* the type string is copied */
    char name[16] = "Temp.Type";
    o = dense_ops();
    o.type = name;
    ck_assert_int_eq(sn_registry_add(r, &o), SN_OK);
    memcpy(name, "Changed", 8);
    o.type = "Temp.Type";
    ck_assert_int_eq(sn_registry_add(r, &o), SN_ERR_INVALID_ARG);
    sn_registry_free(r);
    sn_registry_free(NULL);
    sn_model_t *l = NULL;
    ck_assert_int_eq(sn_model_load_buffer_ex(NULL, 0, NULL, &l),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_model_load_ex(NULL, NULL, &l), SN_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_bad_ops)
{
    ck_assert_ptr_null(sn_custom_layer(NULL, NULL));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "ops is NULL"));
    sn_custom_layer_ops o = dense_ops();
    o.forward = NULL;
    ck_assert_ptr_null(sn_custom_layer(&o, new_dense_state(1)));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "forward"));
    ck_assert_int_eq(destroy_calls, 1); /* ownership taken on failure too */
    o = dense_ops();
    o.infer = NULL;
    ck_assert_ptr_null(sn_custom_layer(&o, new_dense_state(1)));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "infer"));
    o = dense_ops();
    o.min_inputs = 0;
    ck_assert_ptr_null(sn_custom_layer(&o, new_dense_state(1)));
    o = dense_ops();
    o.max_inputs = 65;
    ck_assert_ptr_null(sn_custom_layer(&o, new_dense_state(1)));
    o = dense_ops();
    o.type = "Dense";
    ck_assert_ptr_null(sn_custom_layer(&o, new_dense_state(1)));
    ck_assert_int_eq(destroy_calls, 5);
    ck_assert_int_eq(live_states, 0);
    /* too small to read destroy: the caller keeps the state */
    o = dense_ops();
    o.size = 8;
    void *s = new_dense_state(1);
    ck_assert_ptr_null(sn_custom_layer(&o, s));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "size"));
    ck_assert_int_eq(live_states, 1);
    count_destroy(s);
    /* a NULL state is fine for a layer that needs none */
    o = dense_ops();
    o.destroy = NULL;
    sn_layer_t *l = sn_custom_layer(&o, NULL);
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(sn_layer_type(l), "test.MyDense");
    ck_assert_str_eq(sn_layer_name(l), "my_dense");
    ck_assert_ptr_null(sn_custom_layer_state(l));
    sn_layer_free(l);
    ck_assert_ptr_null(sn_custom_layer_state(NULL));
}
END_TEST

START_TEST(test_default_names)
{
    /* as Keras' to_snake_case */
    const char *types[] = { "BahdanauPool", "lib.HTTPServer", "Conv2DX",
                            "x", "a.b.FooBarBaz", "LSTMCell", "ABCdEF",
                            "aB_Cd" };
    const char *names[] = { "bahdanau_pool", "http_server", "conv2dx", "x",
                            "foo_bar_baz", "lstm_cell", "ab_cd_ef",
                            "a_b__cd" };
    for (int i = 0; i < 8; i++) {
        sn_custom_layer_ops o = dense_ops();
        o.type = types[i];
        sn_layer_t *l = sn_custom_layer(&o, new_dense_state(1));
        ck_assert_ptr_nonnull(l);
        ck_assert_str_eq(sn_layer_name(l), names[i]);
        sn_layer_free(l);
    }
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* ------------------------------------------------- ownership of state */

START_TEST(test_state_ownership)
{
    /* freed unapplied */
    sn_layer_free(my_dense_layer(2));
    ck_assert_int_eq(destroy_calls, 1);
    /* failed apply: infer refuses int32 ids, with the callback's words */
    sn_model_t *m = tk_new_model(1);
    int tok = sn_input_tokens(m, 4);
    ck_assert_int_eq(sn_apply(m, my_dense_layer(2), tok), SN_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "expected float"));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "my_dense"));
    ck_assert_int_eq(destroy_calls, 2);
    /* failed apply: an earlier failure passed through */
    ck_assert_int_eq(sn_apply(m, my_dense_layer(2), SN_ERR_SHAPE),
                     SN_ERR_SHAPE);
    ck_assert_int_eq(destroy_calls, 3);
    /* too many inputs */
    int ins[2] = { tok, tok }, out;
    ck_assert_int_lt(sn_apply_n(m, my_dense_layer(2), ins, 2, &out, 1), 0);
    ck_assert_int_eq(destroy_calls, 4);
    /* applied: freed with the model */
    int x = sn_input(m, SN_NO_TIME, 3);
    ck_assert_int_ge(sn_apply(m, my_dense_layer(2), x), 0);
    ck_assert_int_eq(live_states, 1);
    sn_model_free(m);
    ck_assert_int_eq(destroy_calls, 5);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

static sn_status forward_fails(const void *state, sn_custom_call_t *c)
{
    (void)state;
    (void)c;
    return SN_ERR_NUMERIC; /* no message: the library writes one */
}

START_TEST(test_callback_failures)
{
    sn_custom_layer_ops o = dense_ops();
    o.forward = forward_fails;
    sn_model_t *m = tk_new_model(1);
    sn_apply(m, sn_custom_layer(&o, new_dense_state(2)),
             sn_input(m, SN_NO_TIME, 3));
    float x[3] = { 1, 2, 3 }, y[2];
    const void *in[1] = { x };
    float *outs[1] = { y };
    ck_assert_int_eq(sn_model_predict(m, 1, in, NULL, outs), SN_ERR_NUMERIC);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "my_dense"));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "forward"));
    sn_model_free(m);
    /* no backward: inference works, training says why it cannot */
    o = dense_ops();
    o.backward = NULL;
    m = tk_new_model(1);
    sn_apply(m, sn_custom_layer(&o, new_dense_state(2)),
             sn_input(m, SN_NO_TIME, 3));
    ck_assert_int_eq(sn_model_predict(m, 1, in, NULL, outs), SN_OK);
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 1), SN_OK);
    const float *g[1] = { y };
    ck_assert_int_eq(sn_model_backward(m, g), SN_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "backward"));
    sn_model_free(m);
    ck_assert_int_eq(live_states, 0);
}
END_TEST

/* Frozen: no weight gradients reach the callback, input gradients do. */
START_TEST(test_frozen_layer)
{
    sn_model_t *m = tk_new_model(1);
    sn_layer_t *l = my_dense_layer(2);
    sn_layer_set_trainable(l, 0);
    sn_apply(m, l, sn_input(m, SN_NO_TIME, 3));
    float x[3] = { 1, 2, 3 }, r[2] = { 1, -1 };
    const void *in[1] = { x };
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 1), SN_OK);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    const float *g[1] = { r };
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    size_t n;
    const float *gw = sn_model_weight_grad(m, 0, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(gw[i], 0.0f);
    const float *dx = sn_model_input_grad(m, 0);
    ck_assert_ptr_nonnull(dx);
    ck_assert_float_ne(fabsf(dx[0]) + fabsf(dx[1]) + fabsf(dx[2]), 0.0f);
    sn_model_free(m);
}
END_TEST

/* ----------------------------------------- randomness and output masks */

/* y = x + u with u uniform from the model's stream in training, y = x
 * otherwise; the output mask marks the last step as padding. */
static int noise_infer(const void *state, const sn_tensor_shape *in,
                       int n_in, sn_tensor_shape *out, int max_out)
{
    (void)state;
    (void)n_in;
    (void)max_out;
    out[0] = in[0];
    return 1;
}

static sn_status noise_forward(const void *state, sn_custom_call_t *c)
{
    (void)state;
    sn_tensor_shape s = SN_TENSOR_SHAPE_INIT;
    sn_custom_output_shape(c, 0, &s);
    int batch = sn_custom_batch(c), t = s.dims[0];
    size_t n = (size_t)batch * t * s.dims[1];
    const float *x = sn_custom_input(c, 0);
    float *y = sn_custom_output(c, 0);
    for (size_t i = 0; i < n; i++) {
        double u = sn_custom_training(c) ? sn_custom_uniform(c) : 0.0;
        ck_assert(u >= 0.0 && u < 1.0);
        y[i] = x[i] + (float)u;
    }
    uint8_t *mask = sn_custom_output_mask(c, 0);
    if (mask == NULL)
        return SN_ERR_NOMEM;
    for (int b = 0; b < batch; b++)
        for (int k = 0; k < t; k++)
            mask[b * t + k] = k < t - 1;
    return SN_OK;
}

static sn_status noise_backward(const void *state, sn_custom_call_t *c)
{
    (void)state;
    ck_assert(sn_custom_uniform(c) == -1.0); /* forward only */
    ck_assert_ptr_null(sn_custom_output_mask(c, 0));
    sn_tensor_shape s = SN_TENSOR_SHAPE_INIT;
    sn_custom_output_shape(c, 0, &s);
    size_t n = (size_t)sn_custom_batch(c) * s.dims[0] * s.dims[1];
    const float *dy = sn_custom_output_grad(c, 0);
    float *dx = sn_custom_input_grad(c, 0);
    for (size_t i = 0; dx != NULL && i < n; i++)
        dx[i] += dy[i];
    return SN_OK;
}

/* ------------------------------------------------- shape size fields */

/* infer that clobbers out[0].size (a whole-struct write from a
 * hand-made shape without the size), and a forward that asks for a shape
 * into an unsized struct: both refused with a message, never a write
 * past the caller's struct. */
static int unsized_infer(const void *state, const sn_tensor_shape *in,
                         int n_in, sn_tensor_shape *out, int max_out)
{
    (void)state;
    (void)n_in;
    (void)max_out;
    ck_assert_uint_eq(in[0].size, sizeof(sn_tensor_shape));
    ck_assert_uint_eq(out[0].size, sizeof(sn_tensor_shape));
    sn_tensor_shape hand_made = { 0, in[0].dtype, in[0].rank, { 0 } };
    for (int d = 0; d < in[0].rank; d++)
        hand_made.dims[d] = in[0].dims[d];
    out[0] = hand_made;
    return 1;
}

static int unsized_query_result;

static sn_status unsized_query_forward(const void *state, sn_custom_call_t *c)
{
    (void)state;
    sn_tensor_shape no_size;
    memset(&no_size, 0, sizeof no_size);
    unsized_query_result = sn_custom_input_shape(c, 0, &no_size);
    sn_tensor_shape sized = SN_TENSOR_SHAPE_INIT;
    int rank = sn_custom_output_shape(c, 0, &sized);
    size_t n = (size_t)sn_custom_batch(c);
    for (int d = 0; d < rank; d++)
        n *= (size_t)sized.dims[d];
    memcpy(sn_custom_output(c, 0), sn_custom_input(c, 0), n * sizeof(float));
    return SN_OK;
}

START_TEST(test_tensor_shape_size_fields)
{
    sn_custom_layer_ops o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.type = "test.Unsized";
    o.min_inputs = o.max_inputs = 1;
    o.infer = unsized_infer;
    o.forward = unsized_query_forward;
    sn_model_t *m = sn_model_new(NULL);
    int x = sn_input(m, SN_NO_TIME, 3);
    ck_assert_int_eq(sn_apply(m, sn_custom_layer(&o, NULL), x),
                     SN_ERR_INVALID_ARG);
    ck_assert(tk_contains(sn_last_error(), "size"));
    sn_model_free(m);

    o.infer = noise_infer;
    m = sn_model_new(NULL);
    x = sn_input(m, SN_NO_TIME, 3);
    ck_assert_int_ge(sn_apply(m, sn_custom_layer(&o, NULL), x), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float in[3] = { 1, 2, 3 }, out[3] = { 0 };
    const void *ins[1] = { in };
    float *outs[1] = { out };
    unsized_query_result = 0;
    ck_assert_int_eq(sn_model_predict(m, 1, ins, NULL, outs), SN_OK);
    ck_assert_int_eq(unsized_query_result, SN_ERR_INVALID_ARG);
    ck_assert_float_eq(out[2], 3.0f);
    sn_model_free(m);
}
END_TEST

START_TEST(test_uniform_and_output_mask)
{
    sn_custom_layer_ops o = dense_ops();
    o.type = "test.Noise";
    o.infer = noise_infer;
    o.build = NULL;
    o.forward = noise_forward;
    o.backward = noise_backward;
    o.destroy = NULL;
    sn_model_t *m = tk_new_model(9);
    int x = sn_input(m, 3, 2);
    x = sn_apply(m, sn_custom_layer(&o, NULL), x);
    ck_assert_int_ge(sn_apply(m, sn_global_average_pooling1d(), x), 0);
    float xs[3 * 2] = { 1, 2, 3, 4, 100, 100 }, y[2], y2[2];
    const void *in[1] = { xs };
    float *outs[1] = { y };
    /* inference: no noise, and the padded last step is left out */
    ck_assert_int_eq(sn_model_predict(m, 1, in, NULL, outs), SN_OK);
    ck_assert_float_eq(y[0], 2.0f);
    ck_assert_float_eq(y[1], 3.0f);
    /* training: noise in [0, 1), different in each pass */
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 1), SN_OK);
    memcpy(y, sn_model_output(m, 0, NULL, 0, NULL), sizeof y);
    ck_assert(y[0] >= 2.0f && y[0] < 3.0f && y[1] >= 3.0f && y[1] < 4.0f);
    const float *g[1] = { y };
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    ck_assert_int_eq(sn_model_forward(m, 1, in, NULL, 1), SN_OK);
    memcpy(y2, sn_model_output(m, 0, NULL, 0, NULL), sizeof y2);
    ck_assert(y2[0] != y[0] || y2[1] != y[1]);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ out of memory */

/* Builds, runs, trains a step, saves and reloads with a registry, all
 * under the allocator; SN_OK only if every step succeeded. */
static sn_status oom_scenario(void)
{
    sn_status st = SN_OK;
    sn_registry_t *r = NULL;
    sn_model_t *m = NULL, *l = NULL;
    void *buf = NULL;
    size_t len;
    m = sn_model_new(NULL);
    if (m == NULL)
        return SN_ERR_NOMEM;
    int x = sn_input(m, 5, 3);
    x = sn_apply(m, my_dense_layer(4), x);
    x = sn_apply(m, my_pool_layer(3), x);
    if (x < 0) {
        st = (sn_status)x;
        goto done;
    }
    float in[2 * 15], out[2 * 4]; /* pool output [4] */
    fill(in, 30, 2);
    const void *ins[1] = { in };
    float *outs[1] = { out };
    if ((st = sn_model_predict(m, 2, ins, NULL, outs)) != SN_OK ||
        (st = sn_model_forward(m, 2, ins, NULL, 1)) != SN_OK)
        goto done;
    const float *g[1] = { out };
    if ((st = sn_model_backward(m, g)) != SN_OK ||
        (st = sn_model_save_buffer(m, 0, &buf, &len)) != SN_OK)
        goto done;
    r = sn_registry_new();
    if (r == NULL) {
        st = SN_ERR_NOMEM;
        goto done;
    }
    sn_custom_layer_ops d = dense_ops(), p = pool_ops();
    if ((st = sn_registry_add(r, &d)) != SN_OK ||
        (st = sn_registry_add(r, &p)) != SN_OK ||
        (st = sn_model_load_buffer_ex(buf, len, r, &l)) != SN_OK)
        goto done;
    st = sn_model_predict(l, 2, ins, NULL, outs);
done:
    sn_model_free(l);
    sn_registry_free(r);
    sn_free(buf);
    sn_model_free(m);
    return st;
}

START_TEST(test_out_of_memory)
{
    int failures = 0;
    for (long k = 1; k < 2000; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator a = tk_counting_allocator(&c);
        ck_assert_int_eq(sn_set_allocator(&a), SN_OK);
        sn_status st = oom_scenario();
        ck_assert_int_eq(sn_set_allocator(NULL), SN_OK);
        ck_assert_msg(c.allocs == c.frees, "fail at %ld: %ld allocs, %ld "
                      "frees", k, c.allocs, c.frees);
        ck_assert_msg(live_states == 0, "fail at %ld: %d states alive", k,
                      live_states);
        if (!c.failed) { /* the scenario ran out of allocations */
            ck_assert_int_eq(st, SN_OK);
            ck_assert_int_gt(failures, 10);
            return;
        }
        ck_assert_int_ne(st, SN_OK);
        failures++;
    }
    ck_abort_msg("the scenario never finished");
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *custom_suite(void)
{
    Suite *s = suite_create("custom");
    TCase *tc = tcase_create("custom");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_dense_gradients);
    tcase_add_test(tc, test_dense_matches_builtin);
    tcase_add_test(tc, test_pool_gradients);
    tcase_add_test(tc, test_pool_mask);
    tcase_add_test(tc, test_pool_matches_builtin_attention);
    tcase_add_test(tc, test_fit_reduces_loss);
    tcase_add_test(tc, test_save_load_with_registry);
    tcase_add_test(tc, test_load_unregistered);
    tcase_add_test(tc, test_load_config_failure);
    tcase_add_test(tc, test_save_failures);
    tcase_add_test(tc, test_registry_errors);
    tcase_add_test(tc, test_bad_ops);
    tcase_add_test(tc, test_default_names);
    tcase_add_test(tc, test_state_ownership);
    tcase_add_test(tc, test_callback_failures);
    tcase_add_test(tc, test_frozen_layer);
    tcase_add_test(tc, test_uniform_and_output_mask);
    tcase_add_test(tc, test_tensor_shape_size_fields);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(custom_suite());
}
