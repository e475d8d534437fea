/*
 * pooling1d.c - Keras MaxPooling1D and AveragePooling1D over time:
 * float [T, C] -> [T_out, C], windows of pool_size steps every strides
 * steps, valid or same padding (sn_padding in seqnet.h).
 *
 * With same padding the padded positions take no part, as in Keras (TF's
 * pooling ops): the maximum is over the real steps of a window and the
 * average divides by their count.  The padding totals at most
 * pool_size - 1 steps, so every window holds at least one real step and
 * both are always defined.
 *
 * Masks: not used (as in Keras); passed on unchanged only when T_out == T,
 * where output step t lines up with input step t.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"

typedef struct pool1d_priv {
    int pool_size;
    int strides;        /* resolved: never 0 */
    sn_padding padding;
} pool1d_priv;

/* Where the windows of one call lie: window t covers input steps
 * [lo, hi) = [t*s - left, t*s - left + pool) clipped to [0, T). */
typedef struct pool_geom {
    int t_in, t_out, c, pool, s, left;
} pool_geom;

/* Output length and left padding for input length t (Keras/TF rules).
 * Returns t_out, < 1 when a valid window does not fit. */
static int pool_out_len(sn_padding pad, int t, int pool, int s, int *left)
{
    *left = 0;
    if (pad == SN_PAD_SAME) {
        long long t_out = ((long long)t + s - 1) / s;
        long long total = (t_out - 1) * s + pool - t;
        *left = total > 0 ? (int)(total / 2) : 0;
        return (int)t_out;
    }
    /* Explicit test: C division truncates toward zero, not floor. */
    return t < pool ? 0 : (t - pool) / s + 1;
}

static int pool1d_infer(sn_layer *l, const sn_shape *in, int n_in,
                        sn_shape *out, int max_out)
{
    const pool1d_priv *p = l->priv;
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st == SN_OK)
        st = sn_expect_rank(l, &in[0], 2);
    if (st != SN_OK)
        return st;
    int t = in[0].dim[0], t_out = -1, left;
    if (t >= 0) {
        t_out = pool_out_len(p->padding, t, p->pool_size, p->strides, &left);
        if (t_out < 1) {
            char buf[96];
            sn_shape_format(&in[0], buf, sizeof buf);
            return sn_fail(SN_ERR_SHAPE,
                           "%s: input %s has %d steps, fewer than pool_size "
                           "%d (padding \"valid\")",
                           sn_layer_label(l), buf, t, p->pool_size);
        }
    }
    out[0] = sn_shape_2(SN_FLOAT32, t_out, in[0].dim[1]);
    return 1;
}

static pool_geom pool1d_geom(const sn_call *c)
{
    const pool1d_priv *p = c->layer->priv;
    pool_geom g;
    g.t_in = c->in[0]->shape.dim[0];
    g.c = c->in[0]->shape.dim[1];
    g.pool = p->pool_size;
    g.s = p->strides;
    g.t_out = pool_out_len(p->padding, g.t_in, g.pool, g.s, &g.left);
    return g;
}

/* The real input steps [*lo, *hi) of window t. */
static void window(const pool_geom *g, int t, int *lo, int *hi)
{
    long long a = (long long)t * g->s - g->left;
    long long b = a + g->pool;
    *lo = a < 0 ? 0 : (int)a;
    *hi = b > g->t_in ? g->t_in : (int)b;
}

static void pass_mask(const pool_geom *g, const sn_value *x, sn_value *y)
{
    y->mask = g->t_out == g->t_in ? x->mask : NULL;
}

/* ----------------------------------------------------------------- max */

/*
 *  forward                                   backward
 *  x [B, T, C]                               dy [B, T_out, C]
 *  a[b,t,c] = first argmax over window t     dx[b, a[b,t,c], c] += dy[b,t,c]
 *             of x[b, ., c]  (input step)
 *  y[b,t,c] = x[b, a[b,t,c], c]
 *  a [B, T_out, C] int32 is kept in scratch.
 */
static sn_status max1d_forward(sn_call *c)
{
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    pool_geom g = pool1d_geom(c);
    size_t n = (size_t)c->batch * g.t_out * g.c;
    int32_t *arg = sn_call_scratch(c, n * sizeof(int32_t));
    if (arg == NULL)
        return SN_ERR_NOMEM;
    pass_mask(&g, x, y);
    for (int b = 0; b < c->batch; b++)
        for (int t = 0; t < g.t_out; t++) {
            size_t o = ((size_t)b * g.t_out + t) * g.c;
            float *yt = y->data + o;
            int32_t *at = arg + o;
            int lo, hi;
            window(&g, t, &lo, &hi);
            for (int j = 0; j < g.c; j++) {
                at[j] = -1;
                yt[j] = 0.0f;
            }
            for (int i = lo; i < hi; i++) {
                const float *xi = x->data + ((size_t)b * g.t_in + i) * g.c;
                /* Strict '>' keeps the first maximum on ties. */
                for (int j = 0; j < g.c; j++)
                    if (at[j] < 0 || xi[j] > yt[j]) {
                        at[j] = i;
                        yt[j] = xi[j];
                    }
            }
        }
    return SN_OK;
}

static sn_status max1d_backward(sn_call *c)
{
    const sn_value *x = c->in[0];
    const float *dy = c->out[0]->grad;
    if (x->grad == NULL || dy == NULL)
        return SN_OK;
    pool_geom g = pool1d_geom(c);
    size_t n = (size_t)c->batch * g.t_out * g.c;
    const int32_t *arg = sn_call_scratch(c, n * sizeof(int32_t));
    if (arg == NULL)
        return SN_ERR_NOMEM;
    for (int b = 0; b < c->batch; b++)
        for (size_t k = 0; k < (size_t)g.t_out * g.c; k++) {
            size_t o = (size_t)b * g.t_out * g.c + k;
            int j = (int)(k % (size_t)g.c);
            if (arg[o] >= 0)
                x->grad[((size_t)b * g.t_in + arg[o]) * g.c + j] += dy[o];
        }
    return SN_OK;
}

/* ------------------------------------------------------------- average */

/*
 *  forward                                   backward
 *  x [B, T, C]   W_t = real steps of         dy [B, T_out, C]
 *                window t, n_t = |W_t|       dx[b,i,c] += dy[b,t,c] / n_t
 *  y[b,t,c] = sum_{i in W_t} x[b,i,c] / n_t                for i in W_t
 */
static sn_status avg1d_forward(sn_call *c)
{
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    pool_geom g = pool1d_geom(c);
    pass_mask(&g, x, y);
    for (int b = 0; b < c->batch; b++)
        for (int t = 0; t < g.t_out; t++) {
            float *yt = y->data + ((size_t)b * g.t_out + t) * g.c;
            int lo, hi;
            window(&g, t, &lo, &hi);
            memset(yt, 0, (size_t)g.c * sizeof(float));
            for (int i = lo; i < hi; i++) {
                const float *xi = x->data + ((size_t)b * g.t_in + i) * g.c;
                for (int j = 0; j < g.c; j++)
                    yt[j] += xi[j];
            }
            float inv = hi > lo ? 1.0f / (float)(hi - lo) : 0.0f;
            for (int j = 0; j < g.c; j++)
                yt[j] *= inv;
        }
    return SN_OK;
}

static sn_status avg1d_backward(sn_call *c)
{
    const sn_value *x = c->in[0];
    const float *dy = c->out[0]->grad;
    if (x->grad == NULL || dy == NULL)
        return SN_OK;
    pool_geom g = pool1d_geom(c);
    for (int b = 0; b < c->batch; b++)
        for (int t = 0; t < g.t_out; t++) {
            const float *dyt = dy + ((size_t)b * g.t_out + t) * g.c;
            int lo, hi;
            window(&g, t, &lo, &hi);
            if (hi <= lo)
                continue;
            float inv = 1.0f / (float)(hi - lo);
            for (int i = lo; i < hi; i++) {
                float *dxi = x->grad + ((size_t)b * g.t_in + i) * g.c;
                for (int j = 0; j < g.c; j++)
                    dxi[j] += dyt[j] * inv;
            }
        }
    return SN_OK;
}

/* --------------------------------------------------------- constructors */

/* Config: i32 pool_size, strides (resolved), padding. */
static void pool1d_save_config(const sn_layer *l, sn_writer *w)
{
    const pool1d_priv *p = l->priv;
    sn_write_i32(w, p->pool_size);
    sn_write_i32(w, p->strides);
    sn_write_i32(w, (int32_t)p->padding);
}

typedef sn_layer_t *(*pool1d_ctor)(int, int, sn_padding);

static sn_layer *pool1d_load(sn_reader *r, const char *type, pool1d_ctor make)
{
    char what[64];
    snprintf(what, sizeof what, "%s pool_size", type);
    int pool = sn_read_int(r, 1, INT_MAX, what);
    snprintf(what, sizeof what, "%s strides", type);
    int strides = sn_read_int(r, 1, INT_MAX, what);
    snprintf(what, sizeof what, "%s padding", type);
    int pad = sn_read_int(r, SN_PAD_VALID, SN_PAD_SAME, what);
    if (r->status != SN_OK)
        return NULL;
    return make(pool, strides, (sn_padding)pad);
}

static sn_layer *max1d_load_config(sn_reader *r)
{
    return pool1d_load(r, "MaxPooling1D", sn_max_pooling1d);
}

static sn_layer *avg1d_load_config(sn_reader *r)
{
    return pool1d_load(r, "AveragePooling1D", sn_average_pooling1d);
}

const sn_layer_ops sn_max_pooling1d_ops = {
    .type = "MaxPooling1D",
    .base_name = "max_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = pool1d_infer,
    .build = NULL,
    .forward = max1d_forward,
    .backward = max1d_backward,
    .destroy = NULL,
    .save_config = pool1d_save_config,
    .load_config = max1d_load_config,
};

const sn_layer_ops sn_average_pooling1d_ops = {
    .type = "AveragePooling1D",
    .base_name = "average_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = pool1d_infer,
    .build = NULL,
    .forward = avg1d_forward,
    .backward = avg1d_backward,
    .destroy = NULL,
    .save_config = pool1d_save_config,
    .load_config = avg1d_load_config,
};

static sn_layer *pool1d_create(const sn_layer_ops *ops, const char *who,
                               int pool_size, int strides, sn_padding padding)
{
    if (pool_size <= 0) {
        sn_fail(SN_ERR_INVALID_ARG, "%s: pool_size must be > 0, got %d", who,
                pool_size);
        return NULL;
    }
    if (strides < 0) {
        sn_fail(SN_ERR_INVALID_ARG,
                "%s: strides must be >= 1 (or 0 for pool_size), got %d", who,
                strides);
        return NULL;
    }
    if (padding == SN_PAD_CAUSAL) {
        sn_fail(SN_ERR_INVALID_ARG,
                "%s: causal padding is for Conv1D only; use SN_PAD_VALID or "
                "SN_PAD_SAME", who);
        return NULL;
    }
    if ((int)padding != SN_PAD_VALID && (int)padding != SN_PAD_SAME) {
        sn_fail(SN_ERR_INVALID_ARG, "%s: unknown padding %d", who,
                (int)padding);
        return NULL;
    }
    sn_layer *l = sn_layer_create(ops, sizeof(pool1d_priv));
    if (l == NULL)
        return NULL;
    pool1d_priv *p = l->priv;
    p->pool_size = pool_size;
    p->strides = strides == 0 ? pool_size : strides; /* Keras strides=None */
    p->padding = padding;
    return l;
}

sn_layer_t *sn_max_pooling1d(int pool_size, int strides, sn_padding padding)
{
    return pool1d_create(&sn_max_pooling1d_ops, "sn_max_pooling1d", pool_size,
                         strides, padding);
}

sn_layer_t *sn_average_pooling1d(int pool_size, int strides,
                                 sn_padding padding)
{
    return pool1d_create(&sn_average_pooling1d_ops, "sn_average_pooling1d",
                         pool_size, strides, padding);
}
