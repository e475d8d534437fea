/*
 * layers.h - the built-in layers' ops tables, private to the library.
 * layer_registry.c maps Keras type names to them so that a saved model can
 * be rebuilt; nothing else should need them (layers are made through their
 * public constructors).
 */
#ifndef SN_LAYERS_H
#define SN_LAYERS_H

#include "internal.h"

extern const sn_layer_ops sn_dense_ops;
extern const sn_layer_ops sn_embedding_ops;
extern const sn_layer_ops sn_dropout_ops;
extern const sn_layer_ops sn_activation_ops;
extern const sn_layer_ops sn_add_ops;
extern const sn_layer_ops sn_average_ops;
extern const sn_layer_ops sn_concatenate_ops;
extern const sn_layer_ops sn_global_average_pooling1d_ops;
extern const sn_layer_ops sn_global_max_pooling1d_ops;
extern const sn_layer_ops sn_conv1d_ops;
extern const sn_layer_ops sn_max_pooling1d_ops;
extern const sn_layer_ops sn_average_pooling1d_ops;
extern const sn_layer_ops sn_simple_rnn_ops;
extern const sn_layer_ops sn_lstm_ops;
extern const sn_layer_ops sn_gru_ops;
extern const sn_layer_ops sn_bidirectional_ops;
extern const sn_layer_ops sn_attention_ops, sn_additive_attention_ops, sn_layer_normalization_ops;
extern const sn_layer_ops sn_mha_ops;
extern const sn_layer_ops sn_masking_ops;
/* issue 15 item 6 */
extern const sn_layer_ops sn_flatten_ops, sn_reshape_ops, sn_repeat_vector_ops;
extern const sn_layer_ops sn_multiply_ops, sn_dot_ops;
extern const sn_layer_ops sn_spatial_dropout1d_ops, sn_leaky_relu_ops;
extern const sn_layer_ops sn_time_distributed_ops;

/* TimeDistributed's callbacks (time_distributed.c); its ops table, loader
 * and constructor are in layer_registry.c. */
int sn_td_infer(sn_layer *l, const sn_shape *in, int n_in, sn_shape *out,
                int max_out);
sn_status sn_td_build(sn_layer *l, sn_build *b, const sn_shape *in,
                      int n_in);
sn_status sn_td_forward(sn_call *c);
sn_status sn_td_backward(sn_call *c);
void sn_td_destroy(sn_layer *l);
void sn_td_save_config(const sn_layer *l, sn_writer *w);
/* Why layer cannot be wrapped, or NULL; the wrapper of inner (taking it,
 * freeing it on failure). */
const char *sn_td_unwrappable(const sn_layer *layer);
sn_layer *sn_td_wrap(const sn_layer_ops *ops, sn_layer *inner);

/* Output 0's mask: the AND of the inputs' masks that are present (NULL if
 * none is, or there is no time axis: t_len < 0).  merge.c; Add, Multiply. */
sn_status sn_merge_and_masks(sn_call *c, int t_len);
/* Float inputs of one shape, output of that shape (merge.c; Add,
 * Multiply). */
int sn_merge_same_shape_infer(sn_layer *l, const sn_shape *in, int n_in,
                              sn_shape *out, int max_out);

#endif /* SN_LAYERS_H */
