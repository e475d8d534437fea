/*
 * activation_layer.c - Keras Activation: y = act(x), shape unchanged.
 */
#include <string.h>

#include "layers.h"

typedef struct activation_priv {
    sn_activation act;
} activation_priv;

static int activation_infer(sn_layer *l, const sn_shape *in, int n_in,
                            sn_shape *out, int max_out)
{
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st != SN_OK)
        return st;
    out[0] = in[0];
    return 1;
}

/* Softmax normalises over the last axis: rows of the last dim's size. */
static size_t last_dim(const sn_value *v)
{
    return v->shape.rank > 0 ? (size_t)v->shape.dim[v->shape.rank - 1] : 1;
}

/*
 *  forward                          backward
 *  x [N] viewed as rows of the      dy [N]
 *  last axis (softmax)              dx += act'(y) * dy   (from y)
 *  y = act(x)                       (gelu, swish: act'(x), from x)
 */
static sn_status activation_forward(sn_call *c)
{
    const activation_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    size_t n = (size_t)c->batch * x->count, cols = last_dim(x);
    y->mask = x->mask;
    if (n == 0 || cols == 0)
        return SN_OK;
    if (y->data != x->data)
        memcpy(y->data, x->data, n * sizeof(float));
    sn_act_forward(p->act, y->data, n / cols, cols);
    return SN_OK;
}

static sn_status activation_backward(sn_call *c)
{
    const activation_priv *p = c->layer->priv;
    const sn_value *y = c->out[0];
    float *dx = c->in[0]->grad;
    size_t n = (size_t)c->batch * c->in[0]->count, cols = last_dim(y);
    if (dx == NULL || y->grad == NULL || n == 0 || cols == 0)
        return SN_OK;
    sn_act_backward(p->act, c->in[0]->data, y->data, y->grad, dx, n / cols,
                    cols);
    return SN_OK;
}

/* Config: i32 activation. */
static void activation_save_config(const sn_layer *l, sn_writer *w)
{
    sn_write_i32(w, (int32_t)((const activation_priv *)l->priv)->act);
}

static sn_layer *activation_load_config(sn_reader *r)
{
    int act = sn_read_i32(r);
    return r->status == SN_OK ? sn_activation_layer((sn_activation)act)
                              : NULL;
}

const sn_layer_ops sn_activation_ops = {
    .type = "Activation",
    .base_name = "activation",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = activation_infer,
    .build = NULL,
    .forward = activation_forward,
    .backward = activation_backward,
    .destroy = NULL,
    .save_config = activation_save_config,
    .load_config = activation_load_config,
};

sn_layer_t *sn_activation_layer(sn_activation activation)
{
    if (!sn_act_valid((int)activation)) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_activation_layer: unknown activation %d",
                (int)activation);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_activation_ops, sizeof(activation_priv));
    if (l == NULL)
        return NULL;
    ((activation_priv *)l->priv)->act = activation;
    return l;
}
