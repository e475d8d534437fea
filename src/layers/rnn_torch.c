/*
 * rnn_torch.c - PyTorch state dicts of whole nn.RNN / nn.LSTM / nn.GRU
 * modules, stacked (num_layers > 1) and bidirectional, in one call.
 *
 * A module with num_layers = L is L recurrent layers of the model: the
 * layer `first` and the next L - 1 SimpleRNN, LSTM, GRU or Bidirectional
 * layers after it in model order.  Name "<base>_l<k>[_reverse]" belongs
 * to the k-th of them, where it is called "<base>_l0[_reverse]" by the
 * single-layer calls of rnn_weights.c, which do the copying.
 *
 * Import is all or nothing: every name, size, value and bias sum is
 * checked, and the set must be complete (each tensor once), before
 * anything is written, so the order of the entries cannot matter.
 */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "rnn_layer.h"

enum { TORCH_NAME_MAX = 64 };

/* A state-dict name taken apart. */
typedef struct torch_name {
    int layer;                   /* k of "_l<k>"                        */
    int dir;                     /* 1 with "_reverse"                   */
    bool bias, recurrent;        /* bias_* / *_hh                       */
    char local[TORCH_NAME_MAX];  /* the single-layer name ("..._l0...") */
} torch_name;

/* Parses "{weight,bias}_{ih,hh}_l<k>[_reverse]"; false if not one. */
static bool parse_name(const char *name, torch_name *t)
{
    static const char *const bases[4] = { "weight_ih", "weight_hh",
                                          "bias_ih", "bias_hh" };
    for (int b = 0; b < 4; b++) {
        size_t n = strlen(bases[b]);
        if (strncmp(name, bases[b], n) != 0 || strncmp(name + n, "_l", 2))
            continue;
        const char *d = name + n + 2;
        int k = 0, digits = 0;
        for (; *d >= '0' && *d <= '9' && digits < 7; d++, digits++)
            k = k * 10 + (*d - '0');
        if (digits == 0 || digits == 7 || (digits > 1 && d[-digits] == '0'))
            return false;
        bool reverse = strcmp(d, "_reverse") == 0;
        if (*d != '\0' && !reverse)
            return false;
        t->layer = k;
        t->dir = reverse ? 1 : 0;
        t->bias = b >= 2;
        t->recurrent = b % 2 == 1;
        snprintf(t->local, sizeof t->local, "%s_l0%s", bases[b],
                 reverse ? "_reverse" : "");
        return true;
    }
    return false;
}

/* The k-th recurrent layer from first on, in model order (a layer
 * applied several times counts at its first application), or NULL. */
static sn_layer *stack_layer(const sn_layer *first, int k)
{
    const sn_model *m = first->owner;
    for (int i = first->node; i < m->n_nodes; i++) {
        sn_layer *l = m->nodes[i].layer;
        if (l->node != i || sn_rnn_cell_layer(l) == NULL)
            continue;
        if (k-- == 0)
            return l;
    }
    return NULL;
}

/* Checks the stack and returns its number of tensors, or a status. */
static int check_stack(const sn_layer *first, int num_layers,
                       const char *who)
{
    if (first == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: first is NULL", who);
    if (num_layers < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: num_layers must be >= 1, "
                       "got %d", who, num_layers);
    int n = sn_rnn_num_weights(first, SN_LAYOUT_PYTORCH);
    if (n < 0)
        return n;
    int total = 0;
    for (int k = 0; k < num_layers; k++) {
        const sn_layer *l = stack_layer(first, k);
        if (l == NULL)
            return sn_fail(SN_ERR_NOT_FOUND, "%s: num_layers is %d but the "
                           "model has only %d recurrent layers from '%s' "
                           "on", who, num_layers, k, sn_layer_label(first));
        n = sn_rnn_num_weights(l, SN_LAYOUT_PYTORCH);
        if (n < 0)
            return n;
        total += n;
    }
    return total;
}

/* Floats held by single-layer tensor `local` of l (0: l has none). */
static size_t local_size(const sn_layer *l, const char *local)
{
    const char *name;
    int dims[2];
    for (int i = 0;; i++) {
        int rank = sn_rnn_weight_info(l, SN_LAYOUT_PYTORCH, i, &name, dims,
                                      2);
        if (rank < 0)
            return 0;
        if (strcmp(name, local) == 0)
            return (size_t)dims[0] * (size_t)(rank == 2 ? dims[1] : 1);
    }
}

/* Resolves entry e of a call: its layer, parsed name and size check. */
static sn_status resolve(const sn_layer *first, int num_layers,
                         const char *name, size_t count, torch_name *t,
                         sn_layer **layer, const char *who)
{
    if (name == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: a name is NULL", who);
    if (!parse_name(name, t) || t->layer >= num_layers)
        return sn_fail(SN_ERR_NOT_FOUND, "%s: '%s' is not a tensor of a "
                       "%d-layer PyTorch module (names are weight_ih_l<k>, "
                       "weight_hh_l<k>, bias_ih_l<k>, bias_hh_l<k>, "
                       "optionally with _reverse)", who, name, num_layers);
    *layer = stack_layer(first, t->layer);
    size_t need = local_size(*layer, t->local);
    if (need == 0)
        return sn_fail(SN_ERR_NOT_FOUND, "%s: '%s': layer '%s' (%s) has no "
                       "such tensor", who, name, sn_layer_label(*layer),
                       (*layer)->ops->type);
    if (count != need)
        return sn_fail(SN_ERR_SHAPE, "%s: '%s' holds %zu floats, got %zu",
                       who, name, need, count);
    return SN_OK;
}

SN_API int sn_rnn_torch_num_tensors(const sn_layer_t *first, int num_layers)
{
    return check_stack(first, num_layers, "sn_rnn_torch_num_tensors");
}

SN_API int sn_rnn_torch_tensor_info(const sn_layer_t *first, int num_layers,
                                    int i, char *name, size_t name_cap,
                                    int *dims, int dims_cap)
{
    const char *who = "sn_rnn_torch_tensor_info";
    int total = check_stack(first, num_layers, who);
    if (total < 0)
        return total;
    if (i < 0 || i >= total)
        return sn_fail(SN_ERR_NOT_FOUND, "%s: no tensor %d (there are %d)",
                       who, i, total);
    if ((name == NULL && name_cap > 0) || (dims == NULL && dims_cap > 0) ||
        dims_cap < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL buffer with a "
                       "capacity", who);
    int k = 0;
    const sn_layer *l = stack_layer(first, 0);
    for (int n; i >= (n = sn_rnn_num_weights(l, SN_LAYOUT_PYTORCH));
         l = stack_layer(first, ++k))
        i -= n;
    const char *local;
    int d[2];
    int rank = sn_rnn_weight_info(l, SN_LAYOUT_PYTORCH, i, &local, d, 2);
    if (rank < 0)
        return rank;
    const char *at = strstr(local, "_l0");
    char full[TORCH_NAME_MAX];
    snprintf(full, sizeof full, "%.*s_l%d%s", (int)(at - local), local, k,
             at + 3);
    if (name_cap > 0 && strlen(full) >= name_cap)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: name '%s' needs %zu bytes, "
                       "name_cap is %zu", who, full, strlen(full) + 1,
                       name_cap);
    if (name_cap > 0)
        memcpy(name, full, strlen(full) + 1);
    for (int j = 0; j < rank && j < dims_cap; j++)
        dims[j] = d[j];
    return rank;
}

/* Whether entries a and b name the same tensor. */
static bool same_tensor(const torch_name *a, const torch_name *b)
{
    return a->layer == b->layer && strcmp(a->local, b->local) == 0;
}

/* Checks every entry of an import (names, sizes, values, duplicates)
 * into t[n]. */
static sn_status check_entries(const sn_layer *first, int num_layers,
                               const char *const *names,
                               const float *const *data, const size_t *counts,
                               int n, torch_name *t, const char *who)
{
    for (int e = 0; e < n; e++) {
        sn_layer *l;
        sn_status st = resolve(first, num_layers, names[e], counts[e], &t[e],
                               &l, who);
        if (st != SN_OK)
            return st;
        for (int prev = 0; prev < e; prev++)
            if (same_tensor(&t[prev], &t[e]))
                return sn_fail(SN_ERR_INVALID_ARG, "%s: '%s' is given "
                               "twice (entries %d and %d)", who, names[e],
                               prev, e);
        if (data[e] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: data of '%s' is NULL",
                           who, names[e]);
        for (size_t j = 0; j < counts[e]; j++)
            if (data[e][j] - data[e][j] != 0.0f)
                return sn_fail(SN_ERR_NUMERIC, "%s: '%s' element %zu is not "
                               "finite", who, names[e], j);
    }
    return SN_OK;
}

/* The entry holding the other bias of entry e's pair (complete set). */
static int partner(const torch_name *t, int n, int e)
{
    for (int o = 0; o < n; o++)
        if (o != e && t[o].bias && t[o].layer == t[e].layer &&
            t[o].dir == t[e].dir)
            return o;
    return -1;
}

/* An LSTM's or SimpleRNN's bias entry: imported as a pair. */
static bool summed_bias(const sn_layer *first, const torch_name *t)
{
    const sn_layer *cell = sn_rnn_cell_layer(stack_layer(first, t->layer));
    return t->bias && ((const sn_rnn_layer *)cell->priv)->cell != SN_CELL_GRU;
}

/* Checks that each summed bias pair stays finite; reserves their memory. */
static sn_status check_pairs(const sn_layer *first, int num_layers,
                             const char *const *names,
                             const float *const *data, const size_t *counts,
                             int n, const torch_name *t, const char *who)
{
    for (int e = 0; e < n; e++) {
        if (!summed_bias(first, &t[e]) || t[e].recurrent)
            continue;
        int o = partner(t, n, e);
        for (size_t j = 0; o >= 0 && j < counts[e]; j++) {
            float sum = data[e][j] + data[o][j];
            if (sum - sum != 0.0f)
                return sn_fail(SN_ERR_NUMERIC, "%s: '%s' + '%s' overflows "
                               "float at element %zu", who, names[e],
                               names[o], j);
        }
    }
    for (int k = 0; k < num_layers; k++)
        if (sn_rnn_torch_reserve(stack_layer(first, k)) != SN_OK)
            return sn_fail(SN_ERR_NOMEM, "%s: out of memory", who);
    return SN_OK;
}

SN_API sn_status sn_rnn_torch_import(sn_layer_t *first, int num_layers,
                                     const char *const *names,
                                     const float *const *data,
                                     const size_t *counts, int n)
{
    const char *who = "sn_rnn_torch_import";
    int total = check_stack(first, num_layers, who);
    if (total < 0)
        return total;
    if (n > 0 && (names == NULL || data == NULL || counts == NULL))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: names, data or counts is "
                       "NULL", who);
    if (n != total)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: a %d-layer stack from '%s' "
                       "has %d PyTorch tensors, got %d (import is whole "
                       "modules only; sn_rnn_set_weight sets one)", who,
                       num_layers, sn_layer_label(first), total, n);
    sn_mem mem = first->owner->mem;
    torch_name *t = sn_mem_calloc(&mem, (size_t)n, sizeof *t);
    if (t == NULL)
        return sn_fail(SN_ERR_NOMEM, "%s: out of memory", who);
    sn_status st = check_entries(first, num_layers, names, data, counts, n,
                                 t, who);
    if (st == SN_OK)
        st = check_pairs(first, num_layers, names, data, counts, n, t, who);
    for (int e = 0; st == SN_OK && e < n; e++) {
        sn_layer *l = stack_layer(first, t[e].layer);
        if (!summed_bias(first, &t[e]))
            st = sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, t[e].local, data[e],
                                   counts[e]);
        else if (!t[e].recurrent)
            sn_rnn_torch_set_pair(l, t[e].dir, data[e],
                                  data[partner(t, n, e)]);
    }
    sn_mem_free(&mem, t);
    return st;
}

SN_API sn_status sn_rnn_torch_export(const sn_layer_t *first, int num_layers,
                                     sn_weight_view view,
                                     const char *const *names,
                                     float *const *out, const size_t *counts,
                                     int n)
{
    const char *who = "sn_rnn_torch_export";
    int total = check_stack(first, num_layers, who);
    if (total < 0)
        return total;
    if (n < 0 || (n > 0 && (names == NULL || out == NULL || counts == NULL)))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: names, out or counts is "
                       "NULL, or n is negative", who);
    if (view != SN_VIEW_VALUES && view != SN_VIEW_GRADS)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown view %d", who,
                       (int)view);
    for (int e = 0; e < n; e++) {
        torch_name t;
        sn_layer *l;
        sn_status st = resolve(first, num_layers, names[e], counts[e], &t,
                               &l, who);
        if (st == SN_OK && out[e] == NULL)
            st = sn_fail(SN_ERR_INVALID_ARG, "%s: out of '%s' is NULL", who,
                         names[e]);
        if (st == SN_OK)
            st = view == SN_VIEW_VALUES
                     ? sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, t.local,
                                         out[e], counts[e])
                     : sn_rnn_get_grad(l, SN_LAYOUT_PYTORCH, t.local, out[e],
                                       counts[e]);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}
