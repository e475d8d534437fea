/*
 * leaky_relu.c - Keras LeakyReLU(negative_slope) as a layer, shape
 * unchanged.  The activation SN_LEAKY_RELU is the same function with the
 * fixed slope 0.2 (keras.activations.leaky_relu's default); the layer's
 * Keras default is 0.3, and here the slope is the caller's.
 */
#include <math.h>

#include "layers.h"

typedef struct leaky_priv {
    float slope;
} leaky_priv;

static int leaky_infer(sn_layer *l, const sn_shape *in, int n_in,
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

/*
 *  forward                               backward
 *  x [N]                                 dy [N]
 *  y = x > 0 ? x : a x       [N]         dx += dy * (x > 0 ? 1 : a)
 */
static sn_status leaky_forward(sn_call *c)
{
    float a = ((const leaky_priv *)c->layer->priv)->slope;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    size_t n = (size_t)c->batch * c->in[0]->count;
    c->out[0]->mask = c->in[0]->mask;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : a * x[i];
    return SN_OK;
}

static sn_status leaky_backward(sn_call *c)
{
    float a = ((const leaky_priv *)c->layer->priv)->slope;
    const float *x = c->in[0]->data;
    const float *dy = c->out[0]->grad;
    float *dx = c->in[0]->grad;
    size_t n = (size_t)c->batch * c->in[0]->count;
    if (dy == NULL || dx == NULL)
        return SN_OK;
    for (size_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : a * dy[i];
    return SN_OK;
}

/* Config: f32 negative_slope. */
static void leaky_save_config(const sn_layer *l, sn_writer *w)
{
    sn_write_f32(w, ((const leaky_priv *)l->priv)->slope);
}

static sn_layer *leaky_load_config(sn_reader *r)
{
    float a = sn_read_f32(r);
    return r->status == SN_OK ? sn_leaky_relu(a) : NULL;
}

const sn_layer_ops sn_leaky_relu_ops = {
    .type = "LeakyReLU",
    .base_name = "leaky_re_lu",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = leaky_infer,
    .forward = leaky_forward,
    .backward = leaky_backward,
    .save_config = leaky_save_config,
    .load_config = leaky_load_config,
};

sn_layer_t *sn_leaky_relu(float negative_slope)
{
    if (!(negative_slope >= 0.0f) || !isfinite(negative_slope)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_leaky_relu: negative_slope must be "
                "finite and >= 0, got %g", (double)negative_slope);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_leaky_relu_ops, sizeof(leaky_priv));
    if (l == NULL)
        return NULL;
    ((leaky_priv *)l->priv)->slope = negative_slope;
    return l;
}
