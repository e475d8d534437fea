/* layer.c - what every layer shares: creation, naming, freeing. */
#include <string.h>

#include "model.h"

sn_layer *sn_layer_create(const sn_layer_ops *ops, size_t priv_size)
{
    sn_mem mem = sn_mem_current();
    sn_layer *l = sn_mem_calloc(&mem, 1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->ops = ops;
    l->mem = mem;
    l->trainable = true;
    l->node = -1;
    l->first_weight = -1;
    if (priv_size > 0) {
        l->priv = sn_mem_calloc(&mem, 1, priv_size);
        if (l->priv == NULL) {
            sn_mem_free(&mem, l);
            return NULL;
        }
    }
    return l;
}

const char *sn_layer_label(const sn_layer *l)
{
    return l->name != NULL ? l->name : l->ops->base_name;
}

void sn_layer_destroy(sn_layer *l)
{
    if (l == NULL)
        return;
    if (l->ops->destroy != NULL)
        l->ops->destroy(l);
    sn_weight_rules_free(l);
    sn_mem mem = l->mem;
    sn_mem_free(&mem, l->priv);
    sn_mem_free(&mem, l->name);
    sn_mem_free(&mem, l);
}

SN_API void sn_layer_free(sn_layer_t *layer)
{
    if (layer == NULL)
        return;
    if (layer->owner != NULL) {
        sn_fail(SN_ERR_STATE, "sn_layer_free: layer '%s' belongs to a model; "
                "sn_model_free frees it", sn_layer_label(layer));
        return;
    }
    sn_layer_destroy(layer);
}

static bool valid_name(const char *name)
{
    if (name[0] == '\0' || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20)
            return false;
    return true;
}

SN_API sn_status sn_layer_set_name(sn_layer_t *layer, const char *name)
{
    if (layer == NULL || name == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_layer_set_name: %s is NULL",
                       layer == NULL ? "layer" : "name");
    if (!valid_name(name))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_layer_set_name: name must be "
                       "1-200 characters without '/' or control characters");
    if (layer->owner != NULL)
        return sn_fail(SN_ERR_STATE, "sn_layer_set_name: layer '%s' is "
                       "already in a model; name it before applying it",
                       sn_layer_label(layer));
    char *copy = sn_mem_strdup(&layer->mem, name);
    if (copy == NULL)
        return SN_ERR_NOMEM;
    sn_mem_free(&layer->mem, layer->name);
    layer->name = copy;
    return SN_OK;
}

SN_API sn_status sn_layer_set_trainable(sn_layer_t *layer, int trainable)
{
    if (layer == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_layer_set_trainable: layer is NULL");
    layer->trainable = trainable != 0;
    return SN_OK;
}

SN_API const char *sn_layer_name(const sn_layer_t *layer)
{
    if (layer == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_layer_name: layer is NULL");
        return NULL;
    }
    return layer->name != NULL ? layer->name : layer->ops->base_name;
}

SN_API const char *sn_layer_type(const sn_layer_t *layer)
{
    if (layer == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_layer_type: layer is NULL");
        return NULL;
    }
    return layer->ops->type;
}
