/*
 * attention_impl.h - what attention.c (the layer: masks, softmax, dropout,
 * context) and attention_scores.c (the four score functions) share.
 */
#ifndef SN_ATTENTION_IMPL_H
#define SN_ATTENTION_IMPL_H

#include "layers.h"

typedef struct att_priv {
    sn_attention_score score;
    sn_attention_opts opts;
    /* Set by build: the additive width and each weight's index within the
     * layer, -1 where the configuration has no such weight. */
    int units;
    int w_query, w_w1, w_w2, w_v, w_bias, w_w;
} att_priv;

/*
 * One call's sizes and buffers.  The query is [B, Tq, Dq]; a vector query
 * is Tq = 1 (the same memory layout), and pooling reads the learned query
 * weight for every batch row (q_stride = 0).  Keys are [B, Tk, Dk], values
 * [B, Tk, Dv].  Scratch regions are NULL where the configuration needs
 * none.
 */
typedef struct att_ctx {
    sn_call *c;
    const att_priv *p;
    int batch, tq, tk, dq, dk, dv, units;
    bool pooling;
    const float *q;       /* query rows                                  */
    size_t q_stride;      /* floats between batch rows of q (0: pooling) */
    float *dq_grad;       /* dLoss/dq: input grad, or the query weight's  */
    const sn_value *keys; /* keys (may be the values)                    */
    /* scratch */
    float *qw, *dqw;      /* general: Q W and its gradient [B*Tq, Dk]    */
    float *kp, *dkp;      /* additive: K W1 and gradient [B*Tk, U]       */
    float *qp, *dqp;      /* additive: Q W2 + b and gradient [B*Tq, U]   */
    float *h;             /* additive: tanh(kp_j + qp_i) [B*Tq*Tk, U]    */
} att_ctx;

/* Raw scores s [B, Tq, Tk] (masks are applied afterwards). */
void sn_att_scores_forward(const att_ctx *x, float *s);
/* Gradients of everything the scores read, from ds [B, Tq, Tk]:
 * query (input or weight), keys and the score weights. */
void sn_att_scores_backward(const att_ctx *x, const float *ds);

#endif /* SN_ATTENTION_IMPL_H */
