/*
 * rnn_states.c - the public calls that reset the state a stateful
 * recurrent layer carries between batches: of one layer (a cell or a
 * Bidirectional's cell) or of every such layer in a model.  Above rnn.c
 * and bidirectional.c, so neither calls the other's callers.
 */
#include "model/model.h"
#include "rnn_layer.h"

SN_API sn_status sn_layer_reset_states(sn_layer_t *layer)
{
    if (layer == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_layer_reset_states: layer is NULL");
    sn_layer *cell = (sn_layer *)sn_rnn_cell_layer(layer);
    if (cell == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_layer_reset_states: layer "
                       "'%s' (%s) has no state", sn_layer_label(layer),
                       layer->ops->type);
    sn_rnn_layer *p = cell->priv;
    sn_mem_free(&cell->mem, p->state_h);
    sn_mem_free(&cell->mem, p->state_c);
    p->state_h = p->state_c = NULL;
    p->state_batch = 0;
    return SN_OK;
}

SN_API sn_status sn_model_reset_states(sn_model_t *m)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_model_reset_states: model is NULL");
    for (int i = 0; i < m->n_nodes; i++)
        if (sn_rnn_cell_layer(m->nodes[i].layer) != NULL)
            sn_layer_reset_states(m->nodes[i].layer);
    return SN_OK;
}
