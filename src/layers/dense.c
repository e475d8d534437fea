/*
 * dense.c - Keras Dense: y = act(x . kernel + bias), kernel [in, units].
 * On a [time, features] input the same kernel applies at every step, which
 * is one matrix product over [batch*time, in] rows.
 */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "layers.h"

typedef struct dense_priv {
    int units;
    sn_activation act;
    sn_dense_opts opts;
} dense_priv;

enum { W_KERNEL = 0, W_BIAS = 1 };

static int dense_infer(sn_layer *l, const sn_shape *in, int n_in,
                       sn_shape *out, int max_out)
{
    const dense_priv *p = l->priv;
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st != SN_OK)
        return st;
    if (in[0].rank != 1 && in[0].rank != 2) {
        char buf[96];
        sn_shape_format(&in[0], buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE,
                       "%s: expected input of rank 1 ([features]) or 2 "
                       "([time, features]), got %s",
                       sn_layer_label(l), buf);
    }
    if (in[0].dim[in[0].rank - 1] <= 0) {
        char buf[96];
        sn_shape_format(&in[0], buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE,
                       "%s: the last (feature) axis must be known to size "
                       "the kernel, got %s",
                       sn_layer_label(l), buf);
    }
    /* Leading dims (time, possibly -1) pass through; features -> units. */
    out[0] = in[0];
    out[0].dim[in[0].rank - 1] = p->units;
    return 1;
}

static sn_status dense_build(sn_layer *l, sn_build *b, const sn_shape *in,
                             int n_in)
{
    const dense_priv *p = l->priv;
    (void)n_in;
    int n_in_feat = in[0].dim[in[0].rank - 1];
    int kdims[2] = {n_in_feat, p->units};
    int k = sn_build_weight(b, "kernel", 2, kdims, p->opts.kernel_initializer,
                            n_in_feat, p->units);
    if (k < 0)
        return (sn_status)k;
    if (p->opts.use_bias) {
        int bdims[1] = {p->units};
        k = sn_build_weight(b, "bias", 1, bdims, p->opts.bias_initializer,
                            p->units, p->units);
        if (k < 0)
            return (sn_status)k;
    }
    return SN_OK;
}

/* Rows of the [rows, in] matrix the kernel multiplies: batch * time. */
static sn_status dense_rows(const sn_call *c, int *rows, int *n_in)
{
    const sn_shape *s = &c->in[0]->shape;
    size_t t = s->rank == 2 ? (size_t)s->dim[0] : 1;
    size_t r = (size_t)c->batch * t;
    if (r > INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: batch * time = %zu rows is too large",
                       sn_layer_label(c->layer), r);
    *rows = (int)r;
    *n_in = s->dim[s->rank - 1];
    return SN_OK;
}

/* Scratch: dz [R, U] for backward, then, for an activation whose
 * derivative needs its input (sn_act_needs_input), z [R, U] kept from
 * forward.  Both passes ask for the same size, which keeps z. */
static float *dense_scratch(sn_call *c, size_t n)
{
    const dense_priv *p = c->layer->priv;
    size_t floats = sn_act_needs_input(p->act) ? 2 * n : n;
    return sn_call_scratch(c, floats * sizeof(float));
}

/*
 *  forward                                   backward
 *  x  [R, I]   R = batch * time              dy [R, U]  (out grad)
 *  W  [I, U]   b [U]                         dz = act'(y) * dy        [R, U]
 *  z = x W + b                 [R, U]        dW += x^T dz             [I, U]
 *  y = act(z)                  [R, U]        db += sum_rows dz        [U]
 *                                            dx += dz W^T             [R, I]
 */
static sn_status dense_forward(sn_call *c)
{
    const dense_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    int rows, n_in, units = p->units;
    sn_status st = dense_rows(c, &rows, &n_in);
    if (st != SN_OK)
        return st;
    y->mask = x->mask;
    if (rows == 0)
        return SN_OK;
    const float *w = sn_call_weight(c, W_KERNEL);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, units, n_in,
                1.0f, x->data, n_in, w, units, 0.0f, y->data, units);
    if (p->opts.use_bias) {
        const float *bias = sn_call_weight(c, W_BIAS);
        for (int r = 0; r < rows; r++) {
            float *yr = y->data + (size_t)r * units;
            for (int u = 0; u < units; u++)
                yr[u] += bias[u];
        }
    }
    if (sn_act_needs_input(p->act) && sn_call_can_backward(c)) {
        /* gelu, swish: backward needs z, kept after dz's room (scratch). */
        float *s = dense_scratch(c, (size_t)rows * units);
        if (s == NULL)
            return SN_ERR_NOMEM;
        memcpy(s + (size_t)rows * units, y->data,
               (size_t)rows * units * sizeof(float));
    }
    sn_act_forward(p->act, y->data, (size_t)rows, (size_t)units);
    return SN_OK;
}

static sn_status dense_backward(sn_call *c)
{
    const dense_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    const sn_value *y = c->out[0];
    int rows, n_in, units = p->units;
    sn_status st = dense_rows(c, &rows, &n_in);
    if (st != SN_OK)
        return st;
    if (rows == 0 || y->grad == NULL)
        return SN_OK;
    size_t n = (size_t)rows * units;

    /* dz: for linear it is dy itself; otherwise a zeroed scratch buffer,
     * because sn_act_backward accumulates. */
    const float *dz = y->grad;
    if (p->act != SN_LINEAR) {
        float *s = dense_scratch(c, n);
        if (s == NULL)
            return SN_ERR_NOMEM;
        memset(s, 0, n * sizeof(float));
        sn_act_backward(p->act, s + n, y->data, y->grad, s, (size_t)rows,
                        (size_t)units);
        dz = s;
    }

    if (sn_call_wants_weight_grad(c)) {
        float *dw = sn_call_weight_grad(c, W_KERNEL);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_in, units,
                    rows, 1.0f, x->data, n_in, dz, units, 1.0f, dw, units);
        if (p->opts.use_bias) {
            float *db = sn_call_weight_grad(c, W_BIAS);
            for (int r = 0; r < rows; r++) {
                const float *dzr = dz + (size_t)r * units;
                for (int u = 0; u < units; u++)
                    db[u] += dzr[u];
            }
        }
    }
    if (c->in[0]->grad != NULL) {
        const float *w = sn_call_weight(c, W_KERNEL);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n_in,
                    units, 1.0f, dz, units, w, units, 1.0f, c->in[0]->grad,
                    n_in);
    }
    return SN_OK;
}

/* Config: i32 units, i32 activation, i32 use_bias, i32 kernel and bias
 * initialisers (docs/FORMAT.md). */
static void dense_save_config(const sn_layer *l, sn_writer *w)
{
    const dense_priv *p = l->priv;
    sn_write_i32(w, p->units);
    sn_write_i32(w, (int32_t)p->act);
    sn_write_i32(w, p->opts.use_bias);
    sn_write_i32(w, (int32_t)p->opts.kernel_initializer);
    sn_write_i32(w, (int32_t)p->opts.bias_initializer);
}

/* The constructor validates; reading only has to catch use_bias, which
 * the constructor would accept as any nonzero value. */
static sn_layer *dense_load_config(sn_reader *r)
{
    int units = sn_read_i32(r);
    int act = sn_read_i32(r);
    sn_dense_opts o = SN_DENSE_OPTS_INIT;
    o.use_bias = sn_read_int(r, 0, 1, "Dense use_bias");
    o.kernel_initializer = (sn_initializer)sn_read_i32(r);
    o.bias_initializer = (sn_initializer)sn_read_i32(r);
    if (r->status != SN_OK)
        return NULL;
    return sn_dense(units, (sn_activation)act, &o);
}

const sn_layer_ops sn_dense_ops = {
    .type = "Dense",
    .base_name = "dense",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = dense_infer,
    .build = dense_build,
    .forward = dense_forward,
    .backward = dense_backward,
    .destroy = NULL,
    .save_config = dense_save_config,
    .load_config = dense_load_config,
};

static bool init_valid(sn_initializer init)
{
    return (int)init >= SN_INIT_DEFAULT && (int)init <= SN_INIT_RANDOM_NORMAL;
}

sn_layer_t *sn_dense(int units, sn_activation activation,
                     const sn_dense_opts *opts)
{
    if (units <= 0) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_dense: units must be > 0, got %d",
                units);
        return NULL;
    }
    if (!sn_act_valid((int)activation)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_dense: unknown activation %d",
                (int)activation);
        return NULL;
    }
    sn_dense_opts o = SN_DENSE_OPTS_INIT;
    if (opts != NULL && sn_opts_merge(&o, sizeof o, opts, "sn_dense") != SN_OK)
        return NULL;
    if (!init_valid(o.kernel_initializer) || !init_valid(o.bias_initializer)) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_dense: unknown initializer (kernel %d, bias %d)",
                (int)o.kernel_initializer, (int)o.bias_initializer);
        return NULL;
    }
    /* SN_INIT_DEFAULT means the Keras default of that argument. */
    if (o.kernel_initializer == SN_INIT_DEFAULT)
        o.kernel_initializer = SN_INIT_GLOROT_UNIFORM;
    if (o.bias_initializer == SN_INIT_DEFAULT)
        o.bias_initializer = SN_INIT_ZEROS;
    o.use_bias = o.use_bias != 0;

    sn_layer *l = sn_layer_create(&sn_dense_ops, sizeof(dense_priv));
    if (l == NULL)
        return NULL;
    dense_priv *p = l->priv;
    p->units = units;
    p->act = activation;
    p->opts = o;
    return l;
}
