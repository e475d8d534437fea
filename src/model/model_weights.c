/* model_weights.c - viewing the model's flat weight and gradient arrays
 * tensor by tensor, by index or by name. */
#include <string.h>

#include "model.h"

static sn_status check_weight(const sn_model *m, int i, const char *who)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: model is NULL", who);
    if (!m->built)
        return sn_fail(SN_ERR_STATE, "%s: build the model first "
                       "(sn_model_build)", who);
    if (i < 0 || i >= m->n_weights)
        return sn_fail(SN_ERR_NOT_FOUND, "%s: no weight %d (the model has "
                       "%d)", who, i, m->n_weights);
    return SN_OK;
}

SN_API int sn_model_num_weights(const sn_model_t *m)
{
    return m != NULL && m->built ? m->n_weights : 0;
}

SN_API int sn_model_weight_info(const sn_model_t *m, int i, const char **name,
                                int *dims, int dims_cap, int *trainable)
{
    sn_status st = check_weight(m, i, "sn_model_weight_info");
    if (st == SN_OK)
        st = sn_dims_out_check(dims, dims_cap, "sn_model_weight_info");
    if (st != SN_OK)
        return st;
    const sn_weight *w = &m->weights[i];
    if (name != NULL)
        *name = w->name;
    sn_dims_out_copy(dims, dims_cap, w->dim, w->rank);
    if (trainable != NULL)
        *trainable = m->nodes[w->node].layer->trainable;
    return w->rank;
}

SN_API int sn_model_find_weight(const sn_model_t *m, const char *name)
{
    if (m == NULL || name == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_model_find_weight: NULL argument");
    if (!m->built)
        return sn_fail(SN_ERR_STATE, "sn_model_find_weight: build the model "
                       "first (sn_model_build)");
    for (int i = 0; i < m->n_weights; i++)
        if (strcmp(m->weights[i].name, name) == 0)
            return i;
    return sn_fail(SN_ERR_NOT_FOUND, "sn_model_find_weight: no weight named "
                   "'%s'", name);
}

SN_API float *sn_model_weight_data(sn_model_t *m, int i, size_t *count)
{
    if (check_weight(m, i, "sn_model_weight_data") != SN_OK)
        return NULL;
    if (count != NULL)
        *count = m->weights[i].count;
    return m->values + m->weights[i].offset;
}

SN_API float *sn_model_weight_grad(sn_model_t *m, int i, size_t *count)
{
    if (check_weight(m, i, "sn_model_weight_grad") != SN_OK)
        return NULL;
    if (count != NULL)
        *count = m->weights[i].count;
    return m->grads + m->weights[i].offset;
}

SN_API size_t sn_model_count_params(const sn_model_t *m, size_t *trainable)
{
    size_t total = 0, train = 0;
    if (m != NULL && m->built) {
        for (int i = 0; i < m->n_weights; i++) {
            total += m->weights[i].count;
            if (m->nodes[m->weights[i].node].layer->trainable)
                train += m->weights[i].count;
        }
    }
    if (trainable != NULL)
        *trainable = train;
    return total;
}
