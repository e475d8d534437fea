/*
 * pooling.c - GlobalAveragePooling1D and GlobalMaxPooling1D:
 * [time, features] -> [features].
 *
 * Both honour the input mask: padded steps are left out of the mean (as in
 * Keras) and out of the maximum (Keras lets padding into the maximum; we do
 * not, so padding values can never win).  A fully padded sequence gives 0
 * and passes no gradient.  The output carries no mask.
 */
#include <stdint.h>
#include <string.h>

#include "layers.h"

static int pool_infer(sn_layer *l, const sn_shape *in, int n_in,
                      sn_shape *out, int max_out)
{
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st == SN_OK)
        st = sn_expect_rank(l, &in[0], 2);
    if (st != SN_OK)
        return st;
    out[0] = sn_shape_1(SN_FLOAT32, in[0].dim[1]);
    return 1;
}

/* Whether step t of sample b is real (no mask = all real). */
static bool step_on(const uint8_t *mask, int t_len, int b, int t)
{
    return mask == NULL || mask[(size_t)b * t_len + t] != 0;
}

/* ------------------------------------------------------------- average */

/* Number of real steps of sample b. */
static int real_steps(const uint8_t *mask, int t_len, int b)
{
    int n = 0;
    for (int t = 0; t < t_len; t++)
        n += step_on(mask, t_len, b, t);
    return n;
}

/*
 *  forward                                 backward
 *  x [B, T, F]  m [B, T]                   dy [B, F]
 *  n_b = sum_t m[b,t]                      dx[b,t,:] += m[b,t] dy[b,:] / n_b
 *  y[b,:] = sum_t m[b,t] x[b,t,:] / n_b    (nothing when n_b = 0)
 *  (y[b,:] = 0 when n_b = 0)
 */
static sn_status avg_forward(sn_call *c)
{
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    int t_len = x->shape.dim[0], f = x->shape.dim[1];
    y->mask = NULL;
    for (int b = 0; b < c->batch; b++) {
        float *yb = y->data + (size_t)b * f;
        memset(yb, 0, (size_t)f * sizeof(float));
        int n = real_steps(x->mask, t_len, b);
        if (n == 0)
            continue;
        for (int t = 0; t < t_len; t++) {
            if (!step_on(x->mask, t_len, b, t))
                continue;
            const float *xt = x->data + ((size_t)b * t_len + t) * f;
            for (int j = 0; j < f; j++)
                yb[j] += xt[j];
        }
        float inv = 1.0f / (float)n;
        for (int j = 0; j < f; j++)
            yb[j] *= inv;
    }
    return SN_OK;
}

static sn_status avg_backward(sn_call *c)
{
    const sn_value *x = c->in[0];
    const float *dy = c->out[0]->grad;
    if (x->grad == NULL || dy == NULL)
        return SN_OK;
    int t_len = x->shape.dim[0], f = x->shape.dim[1];
    for (int b = 0; b < c->batch; b++) {
        int n = real_steps(x->mask, t_len, b);
        if (n == 0)
            continue;
        float inv = 1.0f / (float)n;
        const float *dyb = dy + (size_t)b * f;
        for (int t = 0; t < t_len; t++) {
            if (!step_on(x->mask, t_len, b, t))
                continue;
            float *dxt = x->grad + ((size_t)b * t_len + t) * f;
            for (int j = 0; j < f; j++)
                dxt[j] += dyb[j] * inv;
        }
    }
    return SN_OK;
}

/* ----------------------------------------------------------------- max */

/*
 *  forward                                   backward
 *  x [B, T, F]  m [B, T]                     dy [B, F]
 *  a[b,j] = first argmax over real t         dx[b, a[b,j], j] += dy[b,j]
 *           of x[b,t,j]  (-1: none real)     (nothing where a = -1)
 *  y[b,j] = x[b, a[b,j], j]  (0 if a = -1)
 *  a [B, F] int32 is kept in scratch.
 */
static sn_status max_forward(sn_call *c)
{
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    int t_len = x->shape.dim[0], f = x->shape.dim[1];
    size_t n = (size_t)c->batch * f;
    int32_t *arg = sn_call_scratch(c, n * sizeof(int32_t));
    if (arg == NULL)
        return SN_ERR_NOMEM;
    y->mask = NULL;
    for (size_t k = 0; k < n; k++) {
        arg[k] = -1;
        y->data[k] = 0.0f;
    }
    for (int b = 0; b < c->batch; b++) {
        float *yb = y->data + (size_t)b * f;
        int32_t *ab = arg + (size_t)b * f;
        for (int t = 0; t < t_len; t++) {
            if (!step_on(x->mask, t_len, b, t))
                continue;
            const float *xt = x->data + ((size_t)b * t_len + t) * f;
            /* Strict '>' keeps the first maximum on ties. */
            for (int j = 0; j < f; j++)
                if (ab[j] < 0 || xt[j] > yb[j]) {
                    ab[j] = t;
                    yb[j] = xt[j];
                }
        }
    }
    return SN_OK;
}

static sn_status max_backward(sn_call *c)
{
    const sn_value *x = c->in[0];
    const float *dy = c->out[0]->grad;
    if (x->grad == NULL || dy == NULL)
        return SN_OK;
    int t_len = x->shape.dim[0], f = x->shape.dim[1];
    size_t n = (size_t)c->batch * f;
    const int32_t *arg = sn_call_scratch(c, n * sizeof(int32_t));
    if (arg == NULL)
        return SN_ERR_NOMEM;
    for (int b = 0; b < c->batch; b++)
        for (int j = 0; j < f; j++) {
            int32_t t = arg[(size_t)b * f + j];
            if (t >= 0)
                x->grad[((size_t)b * t_len + t) * f + j] +=
                    dy[(size_t)b * f + j];
        }
    return SN_OK;
}

/* --------------------------------------------------------- constructors */

/* Neither pooling has configuration: empty blobs. */
static void pool_save_config(const sn_layer *l, sn_writer *w)
{
    (void)l;
    (void)w;
}

static sn_layer *avg_load_config(sn_reader *r)
{
    return r->status == SN_OK ? sn_global_average_pooling1d() : NULL;
}

static sn_layer *max_load_config(sn_reader *r)
{
    return r->status == SN_OK ? sn_global_max_pooling1d() : NULL;
}

const sn_layer_ops sn_global_average_pooling1d_ops = {
    .type = "GlobalAveragePooling1D",
    .base_name = "global_average_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = pool_infer,
    .build = NULL,
    .forward = avg_forward,
    .backward = avg_backward,
    .destroy = NULL,
    .save_config = pool_save_config,
    .load_config = avg_load_config,
};

const sn_layer_ops sn_global_max_pooling1d_ops = {
    .type = "GlobalMaxPooling1D",
    .base_name = "global_max_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = pool_infer,
    .build = NULL,
    .forward = max_forward,
    .backward = max_backward,
    .destroy = NULL,
    .save_config = pool_save_config,
    .load_config = max_load_config,
};

sn_layer_t *sn_global_average_pooling1d(void)
{
    return sn_layer_create(&sn_global_average_pooling1d_ops, 0);
}

sn_layer_t *sn_global_max_pooling1d(void)
{
    return sn_layer_create(&sn_global_max_pooling1d_ops, 0);
}
