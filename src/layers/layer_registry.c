/*
 * layer_registry.c - the built-in layer types by Keras class name, so that
 * a loaded model can find the ops (and load_config) of each saved layer.
 * A linear scan: the list is short and loading is not a hot path.
 */
#include <string.h>

#include "layers/layers.h"
#include "model/model.h"

/* TimeDistributed wraps any built-in type and loads it by name, so its
 * table and loader live beside the table of types (the callbacks are in
 * time_distributed.c). */
#define TD_MAX_DEPTH (SN_MAX_RANK - 1)
static sn_layer *td_load_config(sn_reader *r);

const sn_layer_ops sn_time_distributed_ops = {
    .type = "TimeDistributed",
    .base_name = "time_distributed",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = sn_td_infer,
    .build = sn_td_build,
    .forward = sn_td_forward,
    .backward = sn_td_backward,
    .destroy = sn_td_destroy,
    .save_config = sn_td_save_config,
    .load_config = td_load_config,
};

static const sn_layer_ops *const builtin_ops[] = {
    &sn_input_layer_ops,
    &sn_dense_ops,
    &sn_embedding_ops,
    &sn_dropout_ops,
    &sn_activation_ops,
    &sn_add_ops,
    &sn_average_ops,
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
    &sn_masking_ops,
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

/* Config: i32 depth (1 .. TD_MAX_DEPTH), the innermost layer's type (str)
 * and its config (time_distributed.c writes it).  The depth comes first so
 * that a corrupt file cannot make loading recurse. */
static sn_layer *td_load_config(sn_reader *r)
{
    int depth = sn_read_int(r, 1, TD_MAX_DEPTH, "TimeDistributed depth");
    sn_mem mem = sn_mem_current();
    char *type = sn_read_str(r, &mem, 64);
    if (r->status != SN_OK)
        return NULL;
    const sn_layer_ops *ops = sn_builtin_layer_ops(type);
    if (ops == NULL || ops == &sn_time_distributed_ops ||
        ops->load_config == NULL) {
        sn_reader_fail(r, SN_ERR_FORMAT, "TimeDistributed: cannot wrap "
                       "layer type '%.64s'", type);
        sn_mem_free(&mem, type);
        return NULL;
    }
    sn_mem_free(&mem, type);
    sn_layer *l = ops->load_config(r);
    for (int d = 0; d < depth && l != NULL; d++)
        l = sn_time_distributed(l);
    return l;
}

SN_API sn_layer_t *sn_time_distributed(sn_layer_t *layer)
{
    if (layer == NULL) {
        sn_status cause = sn_last_status();
        sn_fail(cause != SN_OK ? cause : SN_ERR_INVALID_ARG,
                "sn_time_distributed: layer is NULL (did its constructor "
                "fail? it said: %.300s)", sn_last_error());
        return NULL;
    }
    const char *why = sn_td_unwrappable(layer);
    if (why == NULL && sn_builtin_layer_ops(layer->ops->type) != layer->ops)
        why = "is not a built-in layer";
    if (why != NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_time_distributed: layer '%s' (%s) %s",
                sn_layer_label(layer), layer->ops->type, why);
        if (layer->owner == NULL)
            sn_layer_free(layer);
        return NULL;
    }
    return sn_td_wrap(&sn_time_distributed_ops, layer);
}
