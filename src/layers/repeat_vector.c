/*
 * repeat_vector.c - Keras RepeatVector(n): [features] -> [n, features].
 */
#include <string.h>

#include "layers.h"

typedef struct repeat_priv {
    int n;
} repeat_priv;

static int repeat_infer(sn_layer *l, const sn_shape *in, int n_in,
                        sn_shape *out, int max_out)
{
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st == SN_OK)
        st = sn_expect_rank(l, &in[0], 1);
    if (st != SN_OK)
        return st;
    out[0] = sn_shape_2(SN_FLOAT32, ((const repeat_priv *)l->priv)->n,
                        in[0].dim[0]);
    return 1;
}

/*
 *  forward                          backward
 *  x [B, F]                         dy [B, n, F]
 *  y[b, t, :] = x[b, :]  [B, n, F]  dx[b, :] += sum_t dy[b, t, :]
 */
static sn_status repeat_forward(sn_call *c)
{
    int n = ((const repeat_priv *)c->layer->priv)->n;
    size_t f = c->in[0]->count;
    c->out[0]->mask = NULL;
    for (int b = 0; b < c->batch; b++) {
        const float *xb = c->in[0]->data + (size_t)b * f;
        float *yb = c->out[0]->data + (size_t)b * n * f;
        for (int t = 0; t < n; t++)
            memcpy(yb + (size_t)t * f, xb, f * sizeof(float));
    }
    return SN_OK;
}

static sn_status repeat_backward(sn_call *c)
{
    int n = ((const repeat_priv *)c->layer->priv)->n;
    size_t f = c->in[0]->count;
    const float *dy = c->out[0]->grad;
    float *dx = c->in[0]->grad;
    if (dy == NULL || dx == NULL)
        return SN_OK;
    for (int b = 0; b < c->batch; b++) {
        float *dxb = dx + (size_t)b * f;
        const float *dyb = dy + (size_t)b * n * f;
        for (int t = 0; t < n; t++)
            for (size_t i = 0; i < f; i++)
                dxb[i] += dyb[(size_t)t * f + i];
    }
    return SN_OK;
}

/* Config: i32 n. */
static void repeat_save_config(const sn_layer *l, sn_writer *w)
{
    sn_write_i32(w, ((const repeat_priv *)l->priv)->n);
}

static sn_layer *repeat_load_config(sn_reader *r)
{
    int n = sn_read_i32(r);
    return r->status == SN_OK ? sn_repeat_vector(n) : NULL;
}

const sn_layer_ops sn_repeat_vector_ops = {
    .type = "RepeatVector",
    .base_name = "repeat_vector",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = repeat_infer,
    .forward = repeat_forward,
    .backward = repeat_backward,
    .save_config = repeat_save_config,
    .load_config = repeat_load_config,
};

sn_layer_t *sn_repeat_vector(int n)
{
    if (n <= 0 || n > (1 << 24)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_repeat_vector: n must be in 1..%d, "
                "got %d", 1 << 24, n);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_repeat_vector_ops, sizeof(repeat_priv));
    if (l == NULL)
        return NULL;
    ((repeat_priv *)l->priv)->n = n;
    return l;
}
