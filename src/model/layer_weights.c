/* layer_weights.c - a layer's weights by their names within the layer. */
#include <string.h>

#include "model.h"

SN_API int sn_layer_find_weight(const sn_layer_t *l, const char *name)
{
    const char *who = "sn_layer_find_weight";
    if (l == NULL || name == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    if (l->owner == NULL || !l->owner->built)
        return sn_fail(SN_ERR_STATE, "%s: layer '%s' must belong to a built "
                       "model", who, sn_layer_label(l));
    const sn_model *m = l->owner;
    size_t n = strlen(l->name);
    for (int i = l->first_weight; i >= 0 && i < l->first_weight +
                                                  l->n_weights; i++) {
        const char *full = m->weights[i].name;
        if (strncmp(full, l->name, n) == 0 && full[n] == '/' &&
            strcmp(full + n + 1, name) == 0)
            return i;
    }
    return sn_fail(SN_ERR_NOT_FOUND, "%s: layer '%s' has no weight '%s'",
                   who, l->name, name);
}
