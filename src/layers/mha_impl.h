/*
 * mha_impl.h - what the two halves of MultiHeadAttention share: mha.c
 * (configuration, shapes, weights, saving) and mha_compute.c (forward and
 * backward).
 */
#ifndef SN_MHA_IMPL_H
#define SN_MHA_IMPL_H

#include "layers.h"

typedef struct mha_priv {
    int heads;
    int key_dim;
    sn_mha_opts opts;   /* resolved: value_dim > 0, initialisers set */
} mha_priv;

/* The four projections, in the order their weights are registered
 * (Keras order: query, key, value, attention_output). */
enum { MHA_QUERY = 0, MHA_KEY = 1, MHA_VALUE = 2, MHA_OUTPUT = 3 };

/* Weight index of a projection's kernel / bias within the layer: kernel
 * and bias alternate with use_bias, kernels only without. */
static inline int mha_kernel(const mha_priv *p, int part)
{
    return p->opts.use_bias ? 2 * part : part;
}

static inline int mha_bias(int part)
{
    return 2 * part + 1;
}

sn_status sn_mha_forward(sn_call *c);
sn_status sn_mha_backward(sn_call *c);

#endif /* SN_MHA_IMPL_H */
