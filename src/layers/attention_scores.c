/*
 * attention_scores.c - the score functions of sn_attention, forward and
 * backward: s[b,i,j] = score(q_i, k_j) for each batch row b, query step i
 * and key j.  Masking, softmax, dropout and the context are attention.c's.
 *
 * Products go through CBLAS: per batch row for the [Tq, Tk] score blocks,
 * one product over all rows for the projections (Q W, K W1, Q W2).
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attention_impl.h"

static const float *q_row(const att_ctx *x, int b)
{
    return x->q + (size_t)b * x->q_stride;
}

static const float *k_row(const att_ctx *x, int b)
{
    return x->keys->data + (size_t)b * x->tk * x->dk;
}

static float *dk_row(const att_ctx *x, int b)
{
    return x->keys->grad + (size_t)b * x->tk * x->dk;
}

/* The dot scores' factor: 1, or 1/sqrt(Dk) for scaled dot. */
static float dot_scale(const att_ctx *x)
{
    return x->p->score == SN_SCORE_SCALED_DOT ? 1.0f / sqrtf((float)x->dk)
                                              : 1.0f;
}

/* General with a query input multiplies by W; pooling learns q W at once. */
static bool uses_w(const att_ctx *x)
{
    return x->p->score == SN_SCORE_GENERAL && !x->pooling;
}

/* ------------------------------------------------------- dot, general */

/*
 *  forward (per batch row b)                backward
 *  Q_b [Tq, Dq]  K_b [Tk, Dk]  c = scale    dS_b [Tq, Tk]
 *  dot:     S_b = c Q_b K_b^T               dQ_b += c dS_b K_b     [Tq, Dk]
 *                                           dK_b += c dS_b^T Q_b   [Tk, Dq]
 *  general: P = Q W       [B*Tq, Dk]        dP_b = dS_b K_b        [Tq, Dk]
 *           S_b = P_b K_b^T                 dK_b += dS_b^T P_b     [Tk, Dk]
 *                                           dQ += dP W^T   dW += Q^T dP
 *  Pooling (Tq = 1, q the "query" weight): dQ_b sums into its gradient.
 */
static void dot_forward(const att_ctx *x, float *s)
{
    int tq = x->tq, tk = x->tk, dk = x->dk;
    const float *q = x->q;
    int ldq = x->dq;
    float c = dot_scale(x);
    if (uses_w(x)) {
        const float *w = sn_call_weight(x->c, x->p->w_w);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                    x->batch * tq, dk, x->dq, 1.0f, x->q, x->dq, w, dk,
                    0.0f, x->qw, dk);
        q = x->qw;
        ldq = dk;
    }
    for (int b = 0; b < x->batch; b++) {
        const float *qb = uses_w(x) ? q + (size_t)b * tq * dk : q_row(x, b);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tq, tk, dk, c,
                    qb, ldq, k_row(x, b), dk, 0.0f,
                    s + (size_t)b * tq * tk, tk);
    }
}

static void dot_backward(const att_ctx *x, const float *ds)
{
    int tq = x->tq, tk = x->tk, dk = x->dk, dq = x->dq;
    float c = dot_scale(x);
    bool w = uses_w(x);
    for (int b = 0; b < x->batch; b++) {
        const float *dsb = ds + (size_t)b * tq * tk;
        const float *qb = w ? x->qw + (size_t)b * tq * dk : q_row(x, b);
        if (x->keys->grad != NULL)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, tk, dk, tq,
                        c, dsb, tk, qb, w ? dk : dq, 1.0f, dk_row(x, b), dk);
        /* dot: straight into dQ; general: into dP, beta 0 (fresh). */
        if (w)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tq, dk,
                        tk, 1.0f, dsb, tk, k_row(x, b), dk, 0.0f,
                        x->dqw + (size_t)b * tq * dk, dk);
        else if (x->dq_grad != NULL)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tq, dk,
                        tk, c, dsb, tk, k_row(x, b), dk, 1.0f,
                        x->dq_grad + (size_t)b * x->q_stride, dq);
    }
    if (!w)
        return;
    int rows = x->batch * tq;
    if (x->dq_grad != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, dq, dk,
                    1.0f, x->dqw, dk, sn_call_weight(x->c, x->p->w_w), dk,
                    1.0f, x->dq_grad, dq);
    if (sn_call_wants_weight_grad(x->c))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dq, dk, rows,
                    1.0f, x->q, dq, x->dqw, dk, 1.0f,
                    sn_call_weight_grad(x->c, x->p->w_w), dk);
}

/* ------------------------------------------------------------ additive */

/*
 *  forward                                   backward
 *  KP = K W1            [B*Tk, U]            dv += H^T dS    (over B*Tq*Tk)
 *  QP = Q W2 + bias     [B*Tq, U]            dZ[b,i,j,:] = dS[b,i,j] v
 *     (pooling: QP_b = query)                              (1 - H[b,i,j,:]^2)
 *  H[b,i,j,:] = tanh(KP[b,j,:] + QP[b,i,:])  dKP[b,j,:] = sum_i dZ[b,i,j,:]
 *  S[b,i,j] = H[b,i,j,:] . v                 dQP[b,i,:] = sum_j dZ[b,i,j,:]
 *                                            dK += dKP W1^T   dW1 += K^T dKP
 *                                            dQ += dQP W2^T   dW2 += Q^T dQP
 *                                            dbias += sum_rows dQP
 *                                            (pooling: dquery += sum_b dQP_b)
 */
static void additive_forward(const att_ctx *x, float *s)
{
    const att_priv *p = x->p;
    int u = x->units, tq = x->tq, tk = x->tk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, x->batch * tk, u,
                x->dk, 1.0f, x->keys->data, x->dk,
                sn_call_weight(x->c, p->w_w1), u, 0.0f, x->kp, u);
    if (x->pooling) {
        for (int b = 0; b < x->batch; b++)
            memcpy(x->qp + (size_t)b * u, x->q, (size_t)u * sizeof(float));
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                    x->batch * tq, u, x->dq, 1.0f, x->q, x->dq,
                    sn_call_weight(x->c, p->w_w2), u, 0.0f, x->qp, u);
        if (p->w_bias >= 0) {
            const float *bias = sn_call_weight(x->c, p->w_bias);
            for (size_t r = 0; r < (size_t)x->batch * tq; r++)
                for (int k = 0; k < u; k++)
                    x->qp[r * u + k] += bias[k];
        }
    }
    for (int b = 0; b < x->batch; b++)
        for (int i = 0; i < tq; i++) {
            const float *qp = x->qp + ((size_t)b * tq + i) * u;
            for (int j = 0; j < tk; j++) {
                const float *kp = x->kp + ((size_t)b * tk + j) * u;
                float *h = x->h + (((size_t)b * tq + i) * tk + j) * u;
                for (int k = 0; k < u; k++)
                    h[k] = kp[k] + qp[k];
            }
        }
    size_t rows = (size_t)x->batch * tq * tk;
    sn_vec_tanh(x->h, rows * (size_t)u);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)rows, u, 1.0f, x->h, u,
                sn_call_weight(x->c, p->w_v), 1, 0.0f, s, 1);
}

/* dKP and dQP from dS: the tanh and the v product undone. */
static void additive_dproj(const att_ctx *x, const float *ds)
{
    int u = x->units, tq = x->tq, tk = x->tk;
    const float *v = sn_call_weight(x->c, x->p->w_v);
    memset(x->dkp, 0, (size_t)x->batch * tk * u * sizeof(float));
    memset(x->dqp, 0, (size_t)x->batch * tq * u * sizeof(float));
    for (int b = 0; b < x->batch; b++)
        for (int i = 0; i < tq; i++) {
            float *dqp = x->dqp + ((size_t)b * tq + i) * u;
            for (int j = 0; j < tk; j++) {
                size_t ij = ((size_t)b * tq + i) * tk + j;
                float g = ds[ij];
                if (g == 0.0f) /* masked keys: nothing to spread */
                    continue;
                const float *h = x->h + ij * u;
                float *dkp = x->dkp + ((size_t)b * tk + j) * u;
                for (int k = 0; k < u; k++) {
                    float dz = g * v[k] * (1.0f - h[k] * h[k]);
                    dkp[k] += dz;
                    dqp[k] += dz;
                }
            }
        }
}

static void additive_backward(const att_ctx *x, const float *ds)
{
    const att_priv *p = x->p;
    sn_call *c = x->c;
    int u = x->units, rows_k = x->batch * x->tk, rows_q = x->batch * x->tq;
    bool wg = sn_call_wants_weight_grad(c);
    if (wg)
        cblas_sgemv(CblasRowMajor, CblasTrans, rows_q * x->tk, u, 1.0f,
                    x->h, u, ds, 1, 1.0f, sn_call_weight_grad(c, p->w_v), 1);
    additive_dproj(x, ds);
    if (x->keys->grad != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows_k, x->dk,
                    u, 1.0f, x->dkp, u, sn_call_weight(c, p->w_w1), u, 1.0f,
                    x->keys->grad, x->dk);
    if (wg)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, x->dk, u,
                    rows_k, 1.0f, x->keys->data, x->dk, x->dkp, u, 1.0f,
                    sn_call_weight_grad(c, p->w_w1), u);
    if (x->pooling) {
        if (x->dq_grad != NULL)
            for (int r = 0; r < rows_q; r++)
                for (int k = 0; k < u; k++)
                    x->dq_grad[k] += x->dqp[(size_t)r * u + k];
        return;
    }
    if (x->dq_grad != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows_q, x->dq,
                    u, 1.0f, x->dqp, u, sn_call_weight(c, p->w_w2), u, 1.0f,
                    x->dq_grad, x->dq);
    if (!wg)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, x->dq, u, rows_q,
                1.0f, x->q, x->dq, x->dqp, u, 1.0f,
                sn_call_weight_grad(c, p->w_w2), u);
    if (p->w_bias >= 0) {
        float *db = sn_call_weight_grad(c, p->w_bias);
        for (int r = 0; r < rows_q; r++)
            for (int k = 0; k < u; k++)
                db[k] += x->dqp[(size_t)r * u + k];
    }
}

/* ------------------------------------------------------------ dispatch */

void sn_att_scores_forward(const att_ctx *x, float *s)
{
    if (x->p->score == SN_SCORE_ADDITIVE)
        additive_forward(x, s);
    else
        dot_forward(x, s);
}

void sn_att_scores_backward(const att_ctx *x, const float *ds)
{
    if (x->p->score == SN_SCORE_ADDITIVE)
        additive_backward(x, ds);
    else
        dot_backward(x, ds);
}
