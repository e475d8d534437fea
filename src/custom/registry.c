/*
 * registry.c - the caller-owned table of custom layer types that a load
 * may meet (the "Custom layers" section of seqnet.h).  An object, not a global: the
 * library keeps no mutable global state.  A linear scan, as for the
 * built-in types: registries are short and loading is not a hot path.
 */
#include <string.h>

#include "custom.h"

enum { MAX_TYPE = 64 };

/* Each entry is its own block so that the ops' type pointer, which points
 * into the entry, survives the growth of the array of entries. */
typedef struct registry_entry {
    sn_custom_layer_ops ops;   /* ops.type -> type                     */
    char type[MAX_TYPE + 1];
} registry_entry;

struct sn_registry {
    sn_mem mem;
    registry_entry **items;
    int n, cap;
};

SN_API sn_registry_t *sn_registry_new(void)
{
    sn_mem mem = sn_mem_current();
    sn_registry *r = sn_mem_calloc(&mem, 1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->mem = mem;
    return r;
}

SN_API void sn_registry_free(sn_registry_t *registry)
{
    if (registry == NULL)
        return;
    sn_mem mem = registry->mem;
    for (int i = 0; i < registry->n; i++)
        sn_mem_free(&mem, registry->items[i]);
    sn_mem_free(&mem, registry->items);
    sn_mem_free(&mem, registry);
}

const sn_custom_layer_ops *sn_registry_find(const sn_registry *registry,
                                            const char *type)
{
    if (registry == NULL || type == NULL)
        return NULL;
    for (int i = 0; i < registry->n; i++)
        if (strcmp(registry->items[i]->type, type) == 0)
            return &registry->items[i]->ops;
    return NULL;
}

/* Room for one more entry pointer. */
static sn_status grow(sn_registry *r)
{
    if (r->n < r->cap)
        return SN_OK;
    int cap = r->cap > 0 ? 2 * r->cap : 8;
    registry_entry **items = sn_mem_calloc(&r->mem, (size_t)cap,
                                           sizeof *items);
    if (items == NULL)
        return SN_ERR_NOMEM;
    if (r->n > 0)
        memcpy(items, r->items, (size_t)r->n * sizeof *items);
    sn_mem_free(&r->mem, r->items);
    r->items = items;
    r->cap = cap;
    return SN_OK;
}

SN_API sn_status sn_registry_add(sn_registry_t *registry,
                                 const sn_custom_layer_ops *ops)
{
    if (registry == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_registry_add: registry is "
                       "NULL");
    sn_custom_layer_ops copy;
    sn_status st = sn_custom_ops_check(ops, &copy, "sn_registry_add");
    if (st != SN_OK)
        return st;
    if (copy.load_config == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_registry_add: %s has no "
                       "load_config callback, so it cannot be loaded",
                       copy.type);
    if (sn_registry_find(registry, copy.type) != NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_registry_add: type '%s' is "
                       "already registered", copy.type);
    st = grow(registry);
    if (st != SN_OK)
        return st;
    registry_entry *e = sn_mem_calloc(&registry->mem, 1, sizeof *e);
    if (e == NULL)
        return SN_ERR_NOMEM;
    e->ops = copy;
    memcpy(e->type, copy.type, strlen(copy.type) + 1); /* checked <= 64 */
    e->ops.type = e->type;
    registry->items[registry->n++] = e;
    return SN_OK;
}
