/*
 * spatial_dropout1d.c - Keras SpatialDropout1D: dropout with noise shape
 * (batch, 1, channels), i.e. whole channels are dropped, the same ones at
 * every step of a sample, and the kept ones scaled by 1/(1 - rate).
 * Identity in inference.  Keep decisions come from the call's seeded
 * stream (c->rng), one draw per (sample, channel).
 */
#include <string.h>

#include "layers.h"

typedef struct sdrop_priv {
    float rate;
} sdrop_priv;

static int sdrop_infer(sn_layer *l, const sn_shape *in, int n_in,
                       sn_shape *out, int max_out)
{
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st == SN_OK)
        st = sn_expect_rank(l, &in[0], 2);
    if (st != SN_OK)
        return st;
    out[0] = in[0];
    return 1;
}

static bool sdrop_active(const sn_call *c)
{
    return c->training && ((const sdrop_priv *)c->layer->priv)->rate > 0.0f;
}

/*
 *  forward                                  backward
 *  x [B, T, C]                              dy [B, T, C]
 *  f[b, c] = (u_bc >= rate) / (1 - rate)    dx += dy * f[b, c]  (training)
 *  y[b, t, c] = x[b, t, c] f[b, c]          dx += dy            (otherwise)
 *  f [B, C] is kept in scratch from forward to backward.
 */
static sn_status sdrop_forward(sn_call *c)
{
    const sdrop_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    size_t t = (size_t)x->shape.dim[0], ch = (size_t)x->shape.dim[1];
    size_t n = (size_t)c->batch * x->count;
    y->mask = x->mask;
    if (n == 0)
        return SN_OK;
    if (!sdrop_active(c)) {
        memcpy(y->data, x->data, n * sizeof(float));
        return SN_OK;
    }
    float *f = sn_call_scratch(c, (size_t)c->batch * ch * sizeof(float));
    if (f == NULL)
        return SN_ERR_NOMEM;
    float scale = 1.0f / (1.0f - p->rate);
    for (size_t i = 0; i < (size_t)c->batch * ch; i++)
        f[i] = sn_rng_uniform(c->rng) >= (double)p->rate ? scale : 0.0f;
    for (size_t b = 0; b < (size_t)c->batch; b++)
        for (size_t s = 0; s < t; s++)
            for (size_t k = 0; k < ch; k++) {
                size_t i = (b * t + s) * ch + k;
                y->data[i] = x->data[i] * f[b * ch + k];
            }
    return SN_OK;
}

static sn_status sdrop_backward(sn_call *c)
{
    const sn_value *x = c->in[0];
    const float *dy = c->out[0]->grad;
    float *dx = x->grad;
    size_t t = (size_t)x->shape.dim[0], ch = (size_t)x->shape.dim[1];
    size_t n = (size_t)c->batch * x->count;
    if (dx == NULL || dy == NULL || n == 0)
        return SN_OK;
    if (!sdrop_active(c)) {
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i];
        return SN_OK;
    }
    const float *f = sn_call_scratch(c, (size_t)c->batch * ch *
                                            sizeof(float)); /* forward's */
    if (f == NULL)
        return SN_ERR_NOMEM;
    for (size_t b = 0; b < (size_t)c->batch; b++)
        for (size_t s = 0; s < t; s++)
            for (size_t k = 0; k < ch; k++) {
                size_t i = (b * t + s) * ch + k;
                dx[i] += dy[i] * f[b * ch + k];
            }
    return SN_OK;
}

/* Config: f32 rate (the constructor rejects NaN and out-of-range). */
static void sdrop_save_config(const sn_layer *l, sn_writer *w)
{
    sn_write_f32(w, ((const sdrop_priv *)l->priv)->rate);
}

static sn_layer *sdrop_load_config(sn_reader *r)
{
    float rate = sn_read_f32(r);
    return r->status == SN_OK ? sn_spatial_dropout1d(rate) : NULL;
}

const sn_layer_ops sn_spatial_dropout1d_ops = {
    .type = "SpatialDropout1D",
    .base_name = "spatial_dropout1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = sdrop_infer,
    .forward = sdrop_forward,
    .backward = sdrop_backward,
    .save_config = sdrop_save_config,
    .load_config = sdrop_load_config,
};

sn_layer_t *sn_spatial_dropout1d(float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_spatial_dropout1d: rate must be in "
                "[0, 1), got %g", (double)rate);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_spatial_dropout1d_ops,
                                  sizeof(sdrop_priv));
    if (l == NULL)
        return NULL;
    ((sdrop_priv *)l->priv)->rate = rate;
    return l;
}
