/*
 * model_tensors.c - reading any tensor of the last forward pass (the
 * training workspace of sn_model_forward, train_on_batch and fit), not
 * only the outputs: attention weights, a hidden sequence, an embedding.
 */
#include "model.h"

SN_API const float *sn_model_tensor_value(const sn_model_t *m, int tensor,
                                          int *dims, int dims_cap, int *rank)
{
    if (m == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_model_tensor_value: model is NULL");
        return NULL;
    }
    if (tensor < 0 || tensor >= m->n_tensors) {
        sn_fail(SN_ERR_NOT_FOUND, "sn_model_tensor_value: no tensor %d (the "
                "model has %d)", tensor, m->n_tensors);
        return NULL;
    }
    if (sn_dims_out_check(dims, dims_cap, "sn_model_tensor_value") != SN_OK)
        return NULL;
    const sn_value *v = m->built ? sn_exec_value(m->train_exec, tensor)
                                 : NULL;
    if (v == NULL) {
        sn_fail(SN_ERR_STATE, "sn_model_tensor_value: no successful "
                "sn_model_forward (or training step) yet");
        return NULL;
    }
    if (v->data == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_model_tensor_value: tensor %d holds "
                "int32 ids, not floats", tensor);
        return NULL;
    }
    int full = v->shape.rank + 1, shape[SN_MAX_RANK + 1];
    shape[0] = sn_exec_batch(m->train_exec);
    for (int i = 0; i < v->shape.rank; i++)
        shape[i + 1] = v->shape.dim[i];
    sn_dims_out_copy(dims, dims_cap, shape, full);
    if (rank != NULL)
        *rank = full;
    return v->data;
}
