/* history.c - per-epoch values of loss and metrics, read by key. */
#include <string.h>

#include "fit.h"

struct sn_history {
    sn_mem mem;
    int n_keys;
    char **keys;
    double **values;   /* per key, [cap] */
    int epochs, cap;
    int stopped_epoch;
};

sn_history_t *sn_history_new(const sn_mem *mem, const char *const *keys,
                             int n_keys)
{
    sn_history_t *h = sn_mem_calloc(mem, 1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->mem = *mem;
    h->stopped_epoch = -1;
    h->keys = sn_mem_calloc(mem, (size_t)n_keys, sizeof *h->keys);
    h->values = sn_mem_calloc(mem, (size_t)n_keys, sizeof *h->values);
    if (h->keys == NULL || h->values == NULL) {
        sn_history_free(h);
        return NULL;
    }
    h->n_keys = n_keys;
    for (int i = 0; i < n_keys; i++) {
        h->keys[i] = sn_mem_strdup(mem, keys[i]);
        if (h->keys[i] == NULL) {
            sn_history_free(h);
            return NULL;
        }
    }
    return h;
}

SN_API void sn_history_free(sn_history_t *h)
{
    if (h == NULL)
        return;
    sn_mem mem = h->mem;
    for (int i = 0; i < h->n_keys; i++) {
        if (h->keys != NULL)
            sn_mem_free(&mem, h->keys[i]);
        if (h->values != NULL)
            sn_mem_free(&mem, h->values[i]);
    }
    sn_mem_free(&mem, h->keys);
    sn_mem_free(&mem, h->values);
    sn_mem_free(&mem, h);
}

sn_status sn_history_append(sn_history_t *h, const double *row)
{
    if (h->epochs == h->cap) {
        int cap = h->cap > 0 ? h->cap * 2 : 16;
        for (int i = 0; i < h->n_keys; i++) {
            double *grown = sn_mem_calloc(&h->mem, (size_t)cap, sizeof *grown);
            if (grown == NULL)
                return SN_ERR_NOMEM; /* earlier keys keep valid arrays */
            if (h->epochs > 0)
                memcpy(grown, h->values[i], (size_t)h->epochs * sizeof *grown);
            sn_mem_free(&h->mem, h->values[i]);
            h->values[i] = grown;
        }
        h->cap = cap;
    }
    for (int i = 0; i < h->n_keys; i++)
        h->values[i][h->epochs] = row[i];
    h->epochs++;
    return SN_OK;
}

void sn_history_set_stopped(sn_history_t *h, int epoch)
{
    h->stopped_epoch = epoch;
}

SN_API int sn_history_epochs(const sn_history_t *h)
{
    return h != NULL ? h->epochs : 0;
}

SN_API int sn_history_num_keys(const sn_history_t *h)
{
    return h != NULL ? h->n_keys : 0;
}

SN_API const char *sn_history_key(const sn_history_t *h, int i)
{
    if (h == NULL || i < 0 || i >= h->n_keys) {
        sn_fail(SN_ERR_NOT_FOUND, "sn_history_key: no key %d", i);
        return NULL;
    }
    return h->keys[i];
}

SN_API const double *sn_history_values(const sn_history_t *h,
                                       const char *key)
{
    if (h == NULL || key == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_history_values: NULL argument");
        return NULL;
    }
    for (int i = 0; i < h->n_keys; i++)
        if (strcmp(h->keys[i], key) == 0)
            return h->values[i];
    sn_fail(SN_ERR_NOT_FOUND, "sn_history_values: no key '%s'", key);
    return NULL;
}

SN_API int sn_history_stopped_epoch(const sn_history_t *h)
{
    return h != NULL ? h->stopped_epoch : -1;
}
