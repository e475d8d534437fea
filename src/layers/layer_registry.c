/*
 * layer_registry.c - the built-in layer types by Keras class name, so that
 * a loaded model can find the ops (and load_config) of each saved layer.
 * A linear scan: the list is short and loading is not a hot path.
 */
#include <string.h>

#include "layers/layers.h"
#include "model/model.h"

static const sn_layer_ops *const builtin_ops[] = {
    &sn_input_layer_ops,
    &sn_dense_ops,
    &sn_embedding_ops,
    &sn_dropout_ops,
    &sn_activation_ops,
    &sn_add_ops,
    &sn_concatenate_ops,
    &sn_global_average_pooling1d_ops,
    &sn_global_max_pooling1d_ops,
    &sn_conv1d_ops,
    &sn_max_pooling1d_ops,
    &sn_average_pooling1d_ops,
    &sn_simple_rnn_ops,
    &sn_lstm_ops,
    &sn_gru_ops,
    &sn_bidirectional_ops,
    &sn_attention_ops, &sn_additive_attention_ops, &sn_layer_normalization_ops,
    &sn_mha_ops,
    &sn_flatten_ops, &sn_reshape_ops, &sn_repeat_vector_ops,
    &sn_multiply_ops, &sn_dot_ops,
    &sn_spatial_dropout1d_ops, &sn_leaky_relu_ops,
    &sn_time_distributed_ops,
};

const sn_layer_ops *sn_builtin_layer_ops(const char *type)
{
    if (type == NULL)
        return NULL;
    size_t n = sizeof builtin_ops / sizeof builtin_ops[0];
    for (size_t i = 0; i < n; i++)
        if (strcmp(builtin_ops[i]->type, type) == 0)
            return builtin_ops[i];
    return NULL;
}
