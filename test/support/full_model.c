/*
 * full_model.c - the every-layer model of full_model.h and its custom
 * layer "test.Scale" (y = x * s, one learned vector s over the features).
 */
#include "full_model.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ test.Scale */

static int scale_infer(const void *state, const sn_tensor_shape *in, int n_in,
                       sn_tensor_shape *out, int max_out)
{
    (void)state;
    (void)n_in;
    (void)max_out;
    if (in[0].dtype != SN_FLOAT32 || in[0].rank < 1)
        return sn_custom_fail(SN_ERR_SHAPE, "needs a float input");
    out[0] = in[0];
    return 1;
}

static sn_status scale_build(void *state, sn_custom_build_t *b,
                             const sn_tensor_shape *in, int n_in)
{
    (void)state;
    (void)n_in;
    int dims[1] = { in[0].dims[in[0].rank - 1] };
    int k = sn_custom_add_weight(b, "scale", 1, dims, SN_INIT_ONES, 0, 0);
    return k < 0 ? (sn_status)k : SN_OK;
}

static size_t count_of(const sn_tensor_shape *s, int batch)
{
    size_t n = (size_t)batch;
    for (int i = 0; i < s->rank; i++)
        n *= (size_t)s->dims[i];
    return n;
}

static sn_status scale_forward(const void *state, sn_custom_call_t *c)
{
    (void)state;
    sn_tensor_shape s = SN_TENSOR_SHAPE_INIT;
    sn_custom_input_shape(c, 0, &s);
    size_t n = count_of(&s, sn_custom_batch(c));
    size_t f = (size_t)s.dims[s.rank - 1];
    const float *x = sn_custom_input(c, 0), *w = sn_custom_weight(c, 0);
    float *y = sn_custom_output(c, 0);
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * w[i % f];
    return sn_custom_pass_mask(c, 0, 0);
}

static sn_status scale_backward(const void *state, sn_custom_call_t *c)
{
    (void)state;
    sn_tensor_shape s = SN_TENSOR_SHAPE_INIT;
    sn_custom_input_shape(c, 0, &s);
    size_t n = count_of(&s, sn_custom_batch(c));
    size_t f = (size_t)s.dims[s.rank - 1];
    const float *x = sn_custom_input(c, 0), *w = sn_custom_weight(c, 0);
    const float *gy = sn_custom_output_grad(c, 0);
    float *gx = sn_custom_input_grad(c, 0), *gw = sn_custom_weight_grad(c, 0);
    for (size_t i = 0; i < n; i++) {
        if (gx != NULL)
            gx[i] += gy[i] * w[i % f];
        if (gw != NULL)
            gw[i % f] += gy[i] * x[i];
    }
    return SN_OK;
}

static sn_status scale_save(const void *state, sn_custom_writer_t *w)
{
    (void)state;
    return sn_custom_write(w, "S1", 2);
}

static sn_status scale_load(const void *config, size_t len, void *user,
                            void **state)
{
    (void)user;
    *state = NULL;
    if (len != 2 || memcmp(config, "S1", 2) != 0)
        return sn_custom_fail(SN_ERR_FORMAT, "bad test.Scale config");
    return SN_OK;
}

static sn_custom_layer_ops scale_ops(void)
{
    sn_custom_layer_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.size = sizeof ops;
    ops.type = "test.Scale";
    ops.min_inputs = ops.max_inputs = 1;
    ops.infer = scale_infer;
    ops.build = scale_build;
    ops.forward = scale_forward;
    ops.backward = scale_backward;
    ops.save_config = scale_save;
    ops.load_config = scale_load;
    return ops;
}

sn_registry_t *tk_full_registry(void)
{
    sn_registry_t *r = sn_registry_new();
    sn_custom_layer_ops ops = scale_ops();
    if (r != NULL && sn_registry_add(r, &ops) != SN_OK) {
        sn_registry_free(r);
        return NULL;
    }
    return r;
}

/* ------------------------------------------------------------ the model */

const int32_t tk_full_tokens[TK_FULL_BATCH * TK_FULL_T] = {
    3, 7, 0, 0, 0, 0,   1, 2, 3, 4, 5, 15,   9, 0, 11, 12, 0, 6 };
const float tk_full_floats[TK_FULL_BATCH * TK_FULL_X] = {
    0.5f, -1.0f, 0.25f, 2.0f,   0.0f, 0.1f, -0.3f, 0.7f,
    -2.0f, 1.5f, 0.9f, -0.4f };
const float tk_full_targets[TK_FULL_BATCH * TK_FULL_OUT] = {
    1, 0, 0,   0, 1, 0,   0, 0, 1 };
const void *const tk_full_inputs[2] = { tk_full_tokens, tk_full_floats };

/* -1 if l is NULL or any input is negative: failures flow to the end. */
static int apply1(sn_model_t *m, sn_layer_t *l, int in)
{
    if (l == NULL || in < 0) {
        sn_layer_free(l);
        return -1;
    }
    return sn_apply(m, l, in);
}

static int applyn(sn_model_t *m, sn_layer_t *l, const int *in, int n)
{
    for (int i = 0; i < n; i++)
        if (in[i] < 0) {
            sn_layer_free(l);
            return -1;
        }
    if (l == NULL)
        return -1;
    int out = -1;
    return sn_apply_n(m, l, in, n, &out, 1) == 1 ? out : -1;
}

/* Each step stops at the first failure, so that its message is the one
 * sn_last_error() shows (later calls may succeed and clear it). */
#define STEP(var, expr)          \
    do {                         \
        var = (expr);            \
        if (var < 0)             \
            goto fail;           \
    } while (0)

sn_model_t *tk_full_model(uint64_t seed)
{
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = seed;
    mo.name = "full";
    sn_model_t *m = sn_model_new(&mo);
    if (m == NULL)
        return NULL;
    int tok, xf, e, c, p, n, s, b, mh, r, q, att, g1, g2, cat, d, side, add;
    int drop, act, out;
    STEP(tok, sn_input_tokens(m, TK_FULL_T));
    STEP(xf, sn_input(m, SN_NO_TIME, TK_FULL_X));
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    STEP(e, apply1(m, sn_embedding(TK_FULL_VOCAB, 6, &eo), tok));
    sn_conv1d_opts co = SN_CONV1D_OPTS_INIT;
    co.padding = SN_PAD_SAME;
    co.activation = SN_RELU;
    STEP(c, apply1(m, sn_conv1d(6, 3, &co), e));
    STEP(p, apply1(m, sn_max_pooling1d(2, 1, SN_PAD_SAME), c));
    STEP(p, apply1(m, sn_average_pooling1d(2, 1, SN_PAD_SAME), p));
    STEP(n, apply1(m, sn_layer_normalization(NULL), p));
    sn_custom_layer_ops ops = scale_ops();
    STEP(s, apply1(m, sn_custom_layer(&ops, NULL), n));
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = 1;
    sn_layer_t *lstm = sn_lstm(4, &ro);
    STEP(b, apply1(m, lstm ? sn_bidirectional(lstm, SN_MERGE_CONCAT) : NULL,
                   s));
    int qv[2] = { b, b };
    STEP(mh, applyn(m, sn_multi_head_attention(2, 3, NULL), qv, 2));
    STEP(r, apply1(m, sn_simple_rnn(5, &ro), mh));
    STEP(q, apply1(m, sn_gru(4, NULL), r));
    int qa[2] = { q, mh };
    STEP(att, applyn(m, sn_attention(SN_SCORE_ADDITIVE, NULL), qa, 2));
    STEP(g1, apply1(m, sn_global_average_pooling1d(), r));
    STEP(g2, apply1(m, sn_global_max_pooling1d(), r));
    int parts[3] = { att, g1, g2 };
    STEP(cat, applyn(m, sn_concatenate(-1), parts, 3));
    STEP(d, apply1(m, sn_dense(8, SN_RELU, NULL), cat));
    STEP(side, apply1(m, sn_dense(8, SN_TANH, NULL), xf));
    int sum[2] = { d, side };
    STEP(add, applyn(m, sn_add(), sum, 2));
    STEP(drop, apply1(m, sn_dropout(0.25f), add));
    STEP(act, apply1(m, sn_activation_layer(SN_TANH), drop));
    STEP(out, apply1(m, sn_dense(TK_FULL_OUT, SN_SOFTMAX, NULL), act));
    if (sn_model_set_outputs(m, &out, 1) != SN_OK ||
        sn_model_build(m) != SN_OK)
        goto fail;
    return m;
fail:
    sn_model_free(m);
    return NULL;
}

sn_status tk_full_compile(sn_model_t *m)
{
    sn_optimizer_opts oo;
    sn_status st = sn_optimizer_defaults(SN_ADAM, &oo);
    if (st != SN_OK)
        return st;
    sn_optimizer_t *opt = sn_optimizer_new(&oo);
    if (opt == NULL)
        return SN_ERR_NOMEM;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_CATEGORICAL_CROSSENTROPY;
    sn_metric_kind mk[1] = { SN_METRIC_ACCURACY };
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = opt;
    co.loss = &lo;
    co.metrics = mk;
    co.n_metrics = 1;
    return sn_model_compile(m, &co);
}
