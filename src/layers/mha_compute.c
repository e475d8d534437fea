/*
 * mha_compute.c - MultiHeadAttention forward and backward.
 *
 * Shapes (per call): B batch, Tq query steps, Tk key/value steps, H heads,
 * kd key_dim, vd value_dim, O output features; Dq, Dk, Dv input features.
 * The projections keep heads side by side in the feature axis, so a
 * [B*T, D] x [D, H*kd] product does every head of every sample at once,
 * and head h of sample b is the [T, kd] block at row b*T, column h*kd with
 * leading dimension H*kd: scores and context are one sgemm per (b, h) on
 * those strided blocks, with no copies.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "mha_impl.h"

typedef struct mha_dims {
    int batch, tq, tk;       /* batch, query steps, key/value steps        */
    int dq, dk, dv;          /* query, key, value input features           */
    int heads, kd, vd, out;  /* heads, key_dim, value_dim, output features */
} mha_dims;

/* Scratch, kept from forward to backward of one pass. */
typedef struct mha_bufs {
    float *q, *k, *v;   /* projections [B*Tq, H*kd] [B*Tk, H*kd] [B*Tk, H*vd] */
    float *p;           /* softmax weights [B, H, Tq, Tk]                    */
    float *pd;          /* after dropout; == p when dropout is off           */
    uint8_t *keep;      /* dropout keep flags like p, or NULL                */
    float *ctx;         /* context [B*Tq, H*vd]                               */
    float *dctx;        /* backward only: dL/dctx, like ctx                  */
    float *dq, *dk, *dv;/* backward only: dL/d(projections)                  */
    float *dp;          /* backward only: [Tq, Tk] for one (b, h)            */
} mha_bufs;

static sn_status mha_dims_of(const sn_call *c, mha_dims *d)
{
    const mha_priv *p = c->layer->priv;
    const sn_shape *q = &c->in[0]->shape, *v = &c->in[1]->shape;
    const sn_shape *k = c->n_in > 2 ? &c->in[2]->shape : v;
    d->batch = c->batch;
    d->tq = q->dim[0];
    d->tk = v->dim[0];
    d->dq = q->dim[1];
    d->dk = k->dim[1];
    d->dv = v->dim[1];
    d->heads = p->heads;
    d->kd = p->key_dim;
    d->vd = p->opts.value_dim;
    d->out = c->out[0]->shape.dim[1];
    /* sgemm takes int sizes: the rows of the batched projections. */
    if ((size_t)d->batch * (size_t)d->tq > INT_MAX ||
        (size_t)d->batch * (size_t)d->tk > INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: batch * time is too large",
                       sn_layer_label(c->layer));
    return SN_OK;
}

static bool dropout_on(const sn_call *c)
{
    const mha_priv *p = c->layer->priv;
    return c->training && p->opts.dropout > 0.0f;
}

/* Adds n elements to *total unless it would overflow (then *ok = false). */
static size_t take(size_t *total, size_t n, size_t elem, bool *ok)
{
    size_t at = *total;
    if (n > (SIZE_MAX - at) / elem / 2)
        *ok = false;
    else
        *total = at + n * elem;
    return at;
}

/*
 * Carves the scratch: the same sizes in forward and backward (the flags
 * are the forward's in both), so backward gets forward's buffer back with
 * its contents.  The backward part is there only when a backward may
 * follow.  Floats first, the byte flags last, so every float is aligned.
 */
static sn_status mha_scratch(sn_call *c, const mha_dims *d, mha_bufs *s)
{
    size_t nq = (size_t)d->batch * d->tq, nk = (size_t)d->batch * d->tk;
    size_t hk = (size_t)d->heads * d->kd, hv = (size_t)d->heads * d->vd;
    size_t np = (size_t)d->batch * d->heads * d->tq * d->tk;
    bool drop = dropout_on(c), back = sn_call_can_backward(c), ok = true;
    size_t total = 0, f = sizeof(float);
    size_t o_q = take(&total, nq * hk, f, &ok);
    size_t o_k = take(&total, nk * hk, f, &ok);
    size_t o_v = take(&total, nk * hv, f, &ok);
    size_t o_p = take(&total, np, f, &ok);
    size_t o_pd = drop ? take(&total, np, f, &ok) : o_p;
    size_t o_ctx = take(&total, nq * hv, f, &ok);
    size_t o_dctx = back ? take(&total, nq * hv, f, &ok) : 0;
    size_t o_dq = back ? take(&total, nq * hk, f, &ok) : 0;
    size_t o_dk = back ? take(&total, nk * hk, f, &ok) : 0;
    size_t o_dv = back ? take(&total, nk * hv, f, &ok) : 0;
    size_t o_dp = back ? take(&total, (size_t)d->tq * d->tk, f, &ok) : 0;
    size_t o_keep = drop ? take(&total, np, 1, &ok) : 0;
    if (!ok)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: attention is too large",
                       sn_layer_label(c->layer));
    char *base = sn_call_scratch(c, total);
    if (base == NULL)
        return SN_ERR_NOMEM;
    s->q = (float *)(base + o_q);
    s->k = (float *)(base + o_k);
    s->v = (float *)(base + o_v);
    s->p = (float *)(base + o_p);
    s->pd = (float *)(base + o_pd);
    s->ctx = (float *)(base + o_ctx);
    s->dctx = back ? (float *)(base + o_dctx) : NULL;
    s->dq = back ? (float *)(base + o_dq) : NULL;
    s->dk = back ? (float *)(base + o_dk) : NULL;
    s->dv = back ? (float *)(base + o_dv) : NULL;
    s->dp = back ? (float *)(base + o_dp) : NULL;
    s->keep = drop ? (uint8_t *)(base + o_keep) : NULL;
    return SN_OK;
}

/* The weights of one projection (bias NULL without use_bias). */
static const float *kernel_of(const sn_call *c, int part)
{
    return sn_call_weight(c, mha_kernel(c->layer->priv, part));
}

static const float *bias_of(const sn_call *c, int part)
{
    const mha_priv *p = c->layer->priv;
    return p->opts.use_bias ? sn_call_weight(c, mha_bias(part)) : NULL;
}

/* The key input: the third, or the value when there are two. */
static const sn_value *key_input(const sn_call *c)
{
    return c->in[c->n_in > 2 ? 2 : 1];
}

/* ------------------------------------------------------------ forward */

/* y[rows, n] = x[rows, d] . w[d, n] + b[n] (b may be NULL). */
static void project(const float *x, int rows, int d, const float *w,
                    const float *b, int n, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, d, 1.0f,
                x, d, w, n, 0.0f, y, n);
    if (b == NULL)
        return;
    for (int r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * n;
        for (int j = 0; j < n; j++)
            yr[j] += b[j];
    }
}

/* Whether key step j is real under both key-side masks (NULL = all). */
static bool key_real(const uint8_t *vm, const uint8_t *km, int j)
{
    return (vm == NULL || vm[j]) && (km == NULL || km[j]);
}

/*
 * Softmax of row[0, n) over the steps the query may attend to: j < limit
 * whose key is real.  The others get exactly 0.  A row with nothing to
 * attend to is all zeros, as in Keras, which multiplies the softmax by the
 * mask: no NaN, no uniform weights over padding.
 */
static void masked_softmax_row(float *row, int n, int limit,
                               const uint8_t *vm, const uint8_t *km)
{
    float mx = -INFINITY;
    bool any = false;
    for (int j = 0; j < limit; j++)
        if (key_real(vm, km, j) && (!any || row[j] > mx)) {
            mx = row[j];
            any = true;
        }
    if (!any) {
        memset(row, 0, (size_t)n * sizeof *row);
        return;
    }
    float sum = 0.0f;
    for (int j = 0; j < n; j++) {
        if (j < limit && key_real(vm, km, j)) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        } else {
            row[j] = 0.0f;
        }
    }
    float inv = 1.0f / sum; /* sum >= 1: the maximum contributes exp(0) */
    for (int j = 0; j < limit; j++)
        row[j] *= inv;
}

/* Inverted dropout of one (b, h) block of weights, flags kept for backward;
 * drawn in (b, h, i, j) order so the model seed reproduces them. */
static void drop_block(sn_call *c, const float *p, float *pd, uint8_t *keep,
                       size_t n)
{
    const mha_priv *pr = c->layer->priv;
    float scale = 1.0f / (1.0f - pr->opts.dropout);
    for (size_t e = 0; e < n; e++) {
        keep[e] = sn_rng_uniform(c->rng) >= (double)pr->opts.dropout;
        pd[e] = keep[e] ? p[e] * scale : 0.0f;
    }
}

/*
 * Scores, softmax, dropout and context of sample b, head h:
 *   S  = Q_bh K_bh^T / sqrt(kd)                   [Tq, Tk]
 *   P  = masked softmax over each row of S        [Tq, Tk]  (kept: s->p)
 *   Pd = dropout(P)                               [Tq, Tk]  (kept: s->pd)
 *   C_bh = Pd V_bh                                [Tq, vd]  (into s->ctx)
 * Causal: query step i may attend to key steps j <= i (Keras' lower
 * triangle, also when Tq != Tk).  A padded query step attends to nothing.
 */
static void attend_head(sn_call *c, const mha_dims *d, mha_bufs *s, int b,
                        int h)
{
    const mha_priv *pr = c->layer->priv;
    int hk = d->heads * d->kd, hv = d->heads * d->vd, tq = d->tq, tk = d->tk;
    size_t blk = (size_t)tq * tk, at = ((size_t)b * d->heads + h) * blk;
    const float *qb = s->q + (size_t)b * tq * hk + (size_t)h * d->kd;
    const float *kb = s->k + (size_t)b * tk * hk + (size_t)h * d->kd;
    const float *vb = s->v + (size_t)b * tk * hv + (size_t)h * d->vd;
    float *pb = s->p + at;
    float scale = 1.0f / sqrtf((float)d->kd);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tq, tk, d->kd,
                scale, qb, hk, kb, hk, 0.0f, pb, tk);

    const uint8_t *qm = c->in[0]->mask ? c->in[0]->mask + (size_t)b * tq
                                       : NULL;
    const uint8_t *vm = c->in[1]->mask ? c->in[1]->mask + (size_t)b * tk
                                       : NULL;
    const uint8_t *km = c->n_in > 2 && c->in[2]->mask
                            ? c->in[2]->mask + (size_t)b * tk : NULL;
    for (int i = 0; i < tq; i++) {
        int limit = pr->opts.use_causal_mask && i + 1 < tk ? i + 1 : tk;
        if (qm != NULL && !qm[i])
            limit = 0;
        masked_softmax_row(pb + (size_t)i * tk, tk, limit, vm, km);
    }
    if (s->keep != NULL)
        drop_block(c, pb, s->pd + at, s->keep + at, blk);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tq, d->vd, tk,
                1.0f, s->pd + at, tk, vb, hv, 0.0f,
                s->ctx + (size_t)b * tq * hv + (size_t)h * d->vd, hv);
}

/*
 *  forward                                      shapes
 *  Q = Xq Wq + bq                               [B*Tq, H*kd]
 *  K = Xk Wk + bk                               [B*Tk, H*kd]
 *  V = Xv Wv + bv                               [B*Tk, H*vd]
 *  per (b, h): S, P, Pd, C_bh (attend_head)     [Tq, Tk], C [B*Tq, H*vd]
 *  Y = C Wo + bo                                [B*Tq, O]
 *  scores = P                                   [B, H, Tq, Tk]
 */
sn_status sn_mha_forward(sn_call *c)
{
    mha_dims d;
    mha_bufs s;
    sn_status st = mha_dims_of(c, &d);
    if (st == SN_OK)
        st = mha_scratch(c, &d, &s);
    if (st != SN_OK)
        return st;
    int rq = d.batch * d.tq, rk = d.batch * d.tk;
    int hk = d.heads * d.kd, hv = d.heads * d.vd;
    project(c->in[0]->data, rq, d.dq, kernel_of(c, MHA_QUERY),
            bias_of(c, MHA_QUERY), hk, s.q);
    project(key_input(c)->data, rk, d.dk, kernel_of(c, MHA_KEY),
            bias_of(c, MHA_KEY), hk, s.k);
    project(c->in[1]->data, rk, d.dv, kernel_of(c, MHA_VALUE),
            bias_of(c, MHA_VALUE), hv, s.v);
    for (int b = 0; b < d.batch; b++)
        for (int h = 0; h < d.heads; h++)
            attend_head(c, &d, &s, b, h);
    project(s.ctx, rq, hv, kernel_of(c, MHA_OUTPUT), bias_of(c, MHA_OUTPUT),
            d.out, c->out[0]->data);
    c->out[0]->mask = c->in[0]->mask; /* Keras: output mask = query mask */
    if (c->n_out > 1)
        memcpy(c->out[1]->data, s.p,
               (size_t)d.batch * d.heads * d.tq * d.tk * sizeof(float));
    return SN_OK;
}

/* ----------------------------------------------------------- backward */

/*
 * Backward of y = x w + b for dy [rows, n]:
 *   dw += x^T dy     [d, n]       db += sum_rows dy     [n]
 *   dx += dy w^T     [rows, d]    (added: query, key and value may be
 *                                  one tensor sharing one gradient)
 */
static void project_backward(sn_call *c, int part, const sn_value *x,
                             int rows, int d, int n, const float *dy)
{
    const mha_priv *p = c->layer->priv;
    if (sn_call_wants_weight_grad(c)) {
        float *dw = sn_call_weight_grad(c, mha_kernel(p, part));
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, n, rows,
                    1.0f, x->data, d, dy, n, 1.0f, dw, n);
        if (p->opts.use_bias) {
            float *db = sn_call_weight_grad(c, mha_bias(part));
            for (int r = 0; r < rows; r++) {
                const float *dyr = dy + (size_t)r * n;
                for (int j = 0; j < n; j++)
                    db[j] += dyr[j];
            }
        }
    }
    if (x->grad != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, d, n,
                    1.0f, dy, n, kernel_of(c, part), n, 1.0f, x->grad, d);
}

/* Softmax backward in place over one row: dS_j = P_j (dP_j - sum_k dP_k
 * P_k).  Masked steps have P_j = 0 and so get exactly no gradient. */
static void softmax_backward_row(const float *p, float *dp, int n)
{
    float dot = 0.0f;
    for (int j = 0; j < n; j++)
        dot += dp[j] * p[j];
    for (int j = 0; j < n; j++)
        dp[j] = p[j] * (dp[j] - dot);
}

/*
 * Backward of attend_head for sample b, head h, given dC_bh in s->dctx and
 * dscores (the gradient of the returned scores, or NULL):
 *   dPd = dC_bh V_bh^T                       [Tq, Tk]
 *   dV_bh = Pd^T dC_bh                       [Tk, vd]
 *   dP = dPd * keep / (1 - rate) + dscores   [Tq, Tk]
 *   dS = softmax backward of dP              [Tq, Tk]
 *   dQ_bh = dS K_bh / sqrt(kd)               [Tq, kd]
 *   dK_bh = dS^T Q_bh / sqrt(kd)             [Tk, kd]
 * The (b, h) blocks of dQ, dK, dV are disjoint, so they are written, not
 * added.
 */
static void attend_head_backward(const sn_call *c, const mha_dims *d,
                                 mha_bufs *s, const float *dscores, int b,
                                 int h)
{
    const mha_priv *pr = c->layer->priv;
    int hk = d->heads * d->kd, hv = d->heads * d->vd, tq = d->tq, tk = d->tk;
    size_t blk = (size_t)tq * tk, at = ((size_t)b * d->heads + h) * blk;
    size_t oq = (size_t)b * tq * hk + (size_t)h * d->kd;
    size_t ok = (size_t)b * tk * hk + (size_t)h * d->kd;
    size_t ov = (size_t)b * tk * hv + (size_t)h * d->vd;
    const float *dcb = s->dctx + (size_t)b * tq * hv + (size_t)h * d->vd;
    float *dp = s->dp;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tq, tk, d->vd, 1.0f,
                dcb, hv, s->v + ov, hv, 0.0f, dp, tk);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, tk, d->vd, tq, 1.0f,
                s->pd + at, tk, dcb, hv, 0.0f, s->dv + ov, hv);
    if (s->keep != NULL) {
        float scale = 1.0f / (1.0f - pr->opts.dropout);
        for (size_t e = 0; e < blk; e++)
            dp[e] = s->keep[at + e] ? dp[e] * scale : 0.0f;
    }
    if (dscores != NULL)
        for (size_t e = 0; e < blk; e++)
            dp[e] += dscores[at + e];
    for (int i = 0; i < tq; i++)
        softmax_backward_row(s->p + at + (size_t)i * tk, dp + (size_t)i * tk,
                             tk);
    float scale = 1.0f / sqrtf((float)d->kd);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tq, d->kd, tk,
                scale, dp, tk, s->k + ok, hk, 0.0f, s->dq + oq, hk);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, tk, d->kd, tq,
                scale, dp, tk, s->q + oq, hk, 0.0f, s->dk + ok, hk);
}

/*
 *  backward (reverse of forward)                shapes
 *  dWo += C^T dY, dbo += sum dY                 [H*vd, O], [O]
 *  dC = dY Wo^T                                 [B*Tq, H*vd]
 *  per (b, h): dV_bh, dQ_bh, dK_bh              (attend_head_backward)
 *  dWq += Xq^T dQ, dbq, dXq += dQ Wq^T          and likewise K, V
 */
sn_status sn_mha_backward(sn_call *c)
{
    const float *dy = c->out[0]->grad;
    const float *dscores = c->n_out > 1 ? c->out[1]->grad : NULL;
    if (dy == NULL && dscores == NULL)
        return SN_OK;
    mha_dims d;
    mha_bufs s;
    sn_status st = mha_dims_of(c, &d);
    if (st == SN_OK)
        st = mha_scratch(c, &d, &s);
    if (st != SN_OK)
        return st;
    if (s.dctx == NULL)
        return sn_fail(SN_ERR_STATE, "%s: backward without a training "
                       "forward", sn_layer_label(c->layer));
    int rq = d.batch * d.tq, rk = d.batch * d.tk;
    int hk = d.heads * d.kd, hv = d.heads * d.vd;
    if (dy != NULL) {
        sn_value ctx = {.data = s.ctx};
        project_backward(c, MHA_OUTPUT, &ctx, rq, hv, d.out, dy);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rq, hv, d.out,
                    1.0f, dy, d.out, kernel_of(c, MHA_OUTPUT), d.out, 0.0f,
                    s.dctx, hv);
    } else {
        memset(s.dctx, 0, (size_t)rq * hv * sizeof(float));
    }
    for (int b = 0; b < d.batch; b++)
        for (int h = 0; h < d.heads; h++)
            attend_head_backward(c, &d, &s, dscores, b, h);
    project_backward(c, MHA_QUERY, c->in[0], rq, d.dq, hk, s.dq);
    project_backward(c, MHA_KEY, key_input(c), rk, d.dk, hk, s.dk);
    project_backward(c, MHA_VALUE, c->in[1], rk, d.dv, hv, s.dv);
    return SN_OK;
}
