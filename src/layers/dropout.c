/*
 * dropout.c - Keras Dropout (inverted): in training each element is kept
 * with probability 1 - rate and scaled by 1/(1 - rate), so inference is the
 * identity and needs no rescaling.  The keep decisions come from the call's
 * seeded stream (c->rng), so a model seed reproduces them.
 */
#include <math.h>
#include <string.h>

#include "layers.h"

typedef struct dropout_priv {
    float rate;
} dropout_priv;

static int dropout_infer(sn_layer *l, const sn_shape *in, int n_in,
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

/* Dropout is active only in training and with a nonzero rate. */
static bool dropout_active(const sn_call *c)
{
    const dropout_priv *p = c->layer->priv;
    return c->training && p->rate > 0.0f;
}

/*
 *  forward                                  backward
 *  x [N]   N = batch * per-sample count     dy [N]
 *  f_i = (u_i >= rate) / (1 - rate)         dx += dy * f     (training)
 *  y = x * f          (training)            dx += dy         (otherwise)
 *  y = x              (otherwise)
 *  f is kept in scratch from forward to backward; backward sees forward's
 *  training flag (the executor passes it on), so it knows whether f exists.
 */
static sn_status dropout_forward(sn_call *c)
{
    const dropout_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    size_t n = (size_t)c->batch * x->count;
    bool active = dropout_active(c);
    y->mask = x->mask;
    if (n == 0)
        return SN_OK;
    if (!active) {
        if (y->data != x->data)
            memcpy(y->data, x->data, n * sizeof(float));
        return SN_OK;
    }
    float *f = sn_call_scratch(c, n * sizeof(float));
    if (f == NULL)
        return SN_ERR_NOMEM;
    float scale = 1.0f / (1.0f - p->rate);
    for (size_t i = 0; i < n; i++)
        f[i] = sn_rng_uniform(c->rng) >= (double)p->rate ? scale : 0.0f;
    for (size_t i = 0; i < n; i++)
        y->data[i] = x->data[i] * f[i];
    return SN_OK;
}

static sn_status dropout_backward(sn_call *c)
{
    const sn_value *y = c->out[0];
    float *dx = c->in[0]->grad;
    size_t n = (size_t)c->batch * c->in[0]->count;
    if (dx == NULL || y->grad == NULL || n == 0)
        return SN_OK;
    if (!dropout_active(c)) {
        for (size_t i = 0; i < n; i++)
            dx[i] += y->grad[i];
        return SN_OK;
    }
    const float *f = sn_call_scratch(c, n * sizeof(float)); /* forward's */
    if (f == NULL)
        return SN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        dx[i] += y->grad[i] * f[i];
    return SN_OK;
}

/* Config: f32 rate (the constructor rejects NaN and out-of-range). */
static void dropout_save_config(const sn_layer *l, sn_writer *w)
{
    sn_write_f32(w, ((const dropout_priv *)l->priv)->rate);
}

static sn_layer *dropout_load_config(sn_reader *r)
{
    float rate = sn_read_f32(r);
    return r->status == SN_OK ? sn_dropout(rate) : NULL;
}

const sn_layer_ops sn_dropout_ops = {
    .type = "Dropout",
    .base_name = "dropout",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = dropout_infer,
    .build = NULL,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .destroy = NULL,
    .save_config = dropout_save_config,
    .load_config = dropout_load_config,
};

sn_layer_t *sn_dropout(float rate)
{
    /* Written so that NaN fails too (every comparison with NaN is false). */
    if (!(rate >= 0.0f && rate < 1.0f)) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_dropout: rate must be in [0, 1), got %g", (double)rate);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_dropout_ops, sizeof(dropout_priv));
    if (l == NULL)
        return NULL;
    ((dropout_priv *)l->priv)->rate = rate;
    return l;
}
