/*
 * layer_norm.c - Keras LayerNormalization over the last axis:
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, biased variance, one
 * mean and variance per row (sample, or sample and time step).
 */
#include <math.h>
#include <string.h>

#include "layers.h"

typedef struct ln_priv {
    sn_layer_norm_opts opts;
    int w_gamma, w_beta;  /* weight indices, -1 when absent (set by build) */
} ln_priv;

static int ln_infer(sn_layer *l, const sn_shape *in, int n_in, sn_shape *out,
                    int max_out)
{
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st != SN_OK)
        return st;
    if (in[0].rank < 1 || in[0].dim[in[0].rank - 1] <= 0) {
        char buf[96];
        sn_shape_format(&in[0], buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE, "%s: the last (feature) axis must be "
                       "known, got %s", sn_layer_label(l), buf);
    }
    out[0] = in[0];
    return 1;
}

static sn_status ln_build(sn_layer *l, sn_build *b, const sn_shape *in,
                          int n_in)
{
    ln_priv *p = l->priv;
    (void)n_in;
    int f = in[0].dim[in[0].rank - 1];
    p->w_gamma = p->w_beta = -1;
    int k = 0;
    /* Keras order: gamma, then beta. */
    if (p->opts.scale) {
        k = sn_build_weight(b, "gamma", 1, &f, SN_INIT_ONES, f, f);
        if (k < 0)
            return (sn_status)k;
        p->w_gamma = k;
    }
    if (p->opts.center) {
        k = sn_build_weight(b, "beta", 1, &f, SN_INIT_ZEROS, f, f);
        if (k < 0)
            return (sn_status)k;
        p->w_beta = k;
    }
    return SN_OK;
}

/* Rows of features: every axis but the last is a row axis. */
static void ln_rows(const sn_call *c, size_t *rows, int *f)
{
    const sn_shape *s = &c->in[0]->shape;
    *f = s->dim[s->rank - 1];
    *rows = (size_t)c->batch * (c->in[0]->count / (size_t)*f);
}

/*
 *  forward (per row of F)                    backward
 *  mu = mean(x)                              g = dy * gamma        (dxhat)
 *  var = mean((x - mu)^2)                    dx += r (g - mean(g)
 *  r = 1 / sqrt(var + eps)                          - xhat mean(g xhat))
 *  xhat = (x - mu) r                         dgamma += sum_rows dy xhat
 *  y = xhat gamma + beta                     dbeta += sum_rows dy
 *  Scratch keeps mu and r per row; xhat is recomputed from x.
 */
static sn_status ln_forward(sn_call *c)
{
    const ln_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    size_t rows;
    int f;
    ln_rows(c, &rows, &f);
    y->mask = x->mask;
    float *st = sn_call_scratch(c, 2 * rows * sizeof(float));
    if (st == NULL)
        return SN_ERR_NOMEM;
    const float *gamma = p->w_gamma >= 0 ? sn_call_weight(c, p->w_gamma)
                                         : NULL;
    const float *beta = p->w_beta >= 0 ? sn_call_weight(c, p->w_beta) : NULL;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * (size_t)f;
        float *yr = y->data + r * (size_t)f;
        /* Double accumulation: rows can be long and offset from zero. */
        double mu = 0.0, var = 0.0;
        for (int j = 0; j < f; j++)
            mu += xr[j];
        mu /= f;
        for (int j = 0; j < f; j++)
            var += (xr[j] - mu) * (xr[j] - mu);
        var /= f;
        float rs = (float)(1.0 / sqrt(var + (double)p->opts.epsilon));
        st[2 * r] = (float)mu;
        st[2 * r + 1] = rs;
        for (int j = 0; j < f; j++) {
            float v = (xr[j] - (float)mu) * rs;
            if (gamma != NULL)
                v *= gamma[j];
            if (beta != NULL)
                v += beta[j];
            yr[j] = v;
        }
    }
    return SN_OK;
}

static sn_status ln_backward(sn_call *c)
{
    const ln_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    const float *dy = c->out[0]->grad;
    size_t rows;
    int f;
    ln_rows(c, &rows, &f);
    if (dy == NULL)
        return SN_OK;
    const float *st = sn_call_scratch(c, 2 * rows * sizeof(float));
    if (st == NULL)
        return SN_ERR_NOMEM;
    bool wg = sn_call_wants_weight_grad(c);
    const float *gamma = p->w_gamma >= 0 ? sn_call_weight(c, p->w_gamma)
                                         : NULL;
    float *dgamma = wg && gamma != NULL ? sn_call_weight_grad(c, p->w_gamma)
                                        : NULL;
    float *dbeta = wg && p->w_beta >= 0 ? sn_call_weight_grad(c, p->w_beta)
                                        : NULL;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * (size_t)f;
        const float *dyr = dy + r * (size_t)f;
        float mu = st[2 * r], rs = st[2 * r + 1];
        double mg = 0.0, mgx = 0.0;  /* mean(g), mean(g xhat) */
        for (int j = 0; j < f; j++) {
            float xh = (xr[j] - mu) * rs;
            float g = gamma != NULL ? dyr[j] * gamma[j] : dyr[j];
            mg += g;
            mgx += g * xh;
            if (dgamma != NULL)
                dgamma[j] += dyr[j] * xh;
            if (dbeta != NULL)
                dbeta[j] += dyr[j];
        }
        mg /= f;
        mgx /= f;
        if (x->grad == NULL)
            continue;
        float *dxr = x->grad + r * (size_t)f;
        for (int j = 0; j < f; j++) {
            float xh = (xr[j] - mu) * rs;
            float g = gamma != NULL ? dyr[j] * gamma[j] : dyr[j];
            dxr[j] += rs * (g - (float)mg - xh * (float)mgx);
        }
    }
    return SN_OK;
}

/* Config: f32 epsilon, i32 center, i32 scale. */
static void ln_save_config(const sn_layer *l, sn_writer *w)
{
    const ln_priv *p = l->priv;
    sn_write_f32(w, p->opts.epsilon);
    sn_write_i32(w, p->opts.center);
    sn_write_i32(w, p->opts.scale);
}

static sn_layer *ln_load_config(sn_reader *r)
{
    sn_layer_norm_opts o = SN_LAYER_NORM_OPTS_INIT;
    o.epsilon = sn_read_f32(r);
    o.center = sn_read_int(r, 0, 1, "LayerNormalization center");
    o.scale = sn_read_int(r, 0, 1, "LayerNormalization scale");
    if (r->status != SN_OK)
        return NULL;
    return sn_layer_normalization(&o);
}

const sn_layer_ops sn_layer_normalization_ops = {
    .type = "LayerNormalization",
    .base_name = "layer_normalization",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = ln_infer,
    .build = ln_build,
    .forward = ln_forward,
    .backward = ln_backward,
    .destroy = NULL,
    .save_config = ln_save_config,
    .load_config = ln_load_config,
};

sn_layer_t *sn_layer_normalization(const sn_layer_norm_opts *opts)
{
    sn_layer_norm_opts o = SN_LAYER_NORM_OPTS_INIT;
    if (opts != NULL &&
        sn_opts_merge(&o, sizeof o, opts, "sn_layer_normalization") != SN_OK)
        return NULL;
    if (!isfinite(o.epsilon) || !(o.epsilon > 0.0f)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_layer_normalization: epsilon must "
                "be finite and > 0, got %g", (double)o.epsilon);
        return NULL;
    }
    o.center = o.center != 0;
    o.scale = o.scale != 0;
    sn_layer *l = sn_layer_create(&sn_layer_normalization_ops,
                                  sizeof(ln_priv));
    if (l == NULL)
        return NULL;
    ln_priv *p = l->priv;
    p->opts = o;
    p->w_gamma = p->w_beta = -1;
    return l;
}
