/*
 * masking.c - Keras Masking(mask_value) for float sequences [time, features]:
 * a step is padding when ALL its features equal mask_value.  The layer
 * emits that mask for the layers downstream (recurrent layers skip padded
 * steps, pooling and attention leave them out) and, as Keras does
 * (inputs * boolean_mask), outputs zeros at padded steps.
 */
#include <math.h>
#include <string.h>

#include "layers.h"

typedef struct masking_priv {
    float mask_value;
} masking_priv;

static int masking_infer(sn_layer *l, const sn_shape *in, int n_in,
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

/*
 *  forward                                   backward
 *  x [B, T, F]                               dy [B, T, F]
 *  mask[b,t] = any_f(x[b,t,f] != v)           dx[b,t,:] += dy[b,t,:] * mask[b,t]
 *  y[b,t,:]  = x[b,t,:] * mask[b,t]
 *  The mask is the output tensor's own (the executor keeps it until the
 *  next forward), so backward reads it there.  An upstream mask is not
 *  combined: Keras' Masking replaces it too.
 */
static sn_status masking_forward(sn_call *c)
{
    const masking_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    int T = x->shape.dim[0], F = x->shape.dim[1];
    uint8_t *mask = sn_call_out_mask(c, 0, T);
    if (mask == NULL)
        return SN_ERR_NOMEM;
    size_t steps = (size_t)c->batch * (size_t)T;
    for (size_t s = 0; s < steps; s++) {
        const float *xs = x->data + s * (size_t)F;
        float *ys = y->data + s * (size_t)F;
        bool real = false;
        for (int f = 0; f < F && !real; f++)
            real = xs[f] != p->mask_value;
        mask[s] = real;
        if (real)
            memcpy(ys, xs, (size_t)F * sizeof *ys);
        else
            memset(ys, 0, (size_t)F * sizeof *ys);
    }
    y->mask = mask;
    return SN_OK;
}

static sn_status masking_backward(sn_call *c)
{
    const sn_value *y = c->out[0];
    float *dx = c->in[0]->grad;
    if (dx == NULL || y->grad == NULL || y->mask == NULL)
        return SN_OK;
    int F = c->in[0]->shape.dim[1];
    size_t steps = (size_t)c->batch * (size_t)c->in[0]->shape.dim[0];
    for (size_t s = 0; s < steps; s++) {
        if (!y->mask[s])
            continue;
        const float *dys = y->grad + s * (size_t)F;
        float *dxs = dx + s * (size_t)F;
        for (int f = 0; f < F; f++)
            dxs[f] += dys[f];
    }
    return SN_OK;
}

/* Config: f32 mask_value (the constructor rejects non-finite values). */
static void masking_save_config(const sn_layer *l, sn_writer *w)
{
    sn_write_f32(w, ((const masking_priv *)l->priv)->mask_value);
}

static sn_layer *masking_load_config(sn_reader *r)
{
    float v = sn_read_f32(r);
    return r->status == SN_OK ? sn_masking(v) : NULL;
}

const sn_layer_ops sn_masking_ops = {
    .type = "Masking",
    .base_name = "masking",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = masking_infer,
    .build = NULL,
    .forward = masking_forward,
    .backward = masking_backward,
    .destroy = NULL,
    .save_config = masking_save_config,
    .load_config = masking_load_config,
};

sn_layer_t *sn_masking(float mask_value)
{
    /* A NaN never equals anything, so it could never mask a step. */
    if (!isfinite(mask_value)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_masking: mask_value must be "
                "finite, got %g", (double)mask_value);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_masking_ops, sizeof(masking_priv));
    if (l == NULL)
        return NULL;
    ((masking_priv *)l->priv)->mask_value = mask_value;
    return l;
}
