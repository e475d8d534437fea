/*
 * summary.c - sn_model_summary(), laid out like Keras model.summary():
 * one row per layer with its output shape and parameter count, a
 * "Connected to" column for graphs that are not a plain chain, and totals.
 * A shared layer has a row per application; its parameters are counted
 * at the first, later rows say "(shared)".
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

enum { MIN_NAME_W = 33, SHAPE_W = 24, PARAM_W = 12, LINKS_W = 40 };

static size_t node_params(const sn_model *m, int n)
{
    size_t total = 0;
    for (int i = 0; i < m->n_weights; i++)
        if (m->weights[i].node == n)
            total += m->weights[i].count;
    return total;
}

/* A chain: every layer but the inputs takes exactly the previous tensor. */
static bool is_sequential(const sn_model *m)
{
    if (m->n_inputs != 1)
        return false;
    for (int n = 1; n < m->n_nodes; n++) {
        const sn_node *node = &m->nodes[n];
        if (node->n_in != 1 || node->in[0] != node->first_out - 1)
            return false;
    }
    return true;
}

static void rule(FILE *out, char c, int width)
{
    for (int i = 0; i < width; i++)
        fputc(c, out);
    fputc('\n', out);
}

/* 1234567 -> "1,234,567" */
static void with_commas(size_t v, char *buf, size_t len)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v);
    size_t j = 0;
    for (int i = 0; i < n && j + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = digits[i];
    }
    buf[j] = '\0';
}

static void human_bytes(double bytes, char *buf, size_t len)
{
    const char *units[] = { "B", "KB", "MB", "GB", "TB" };
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.2f %s", bytes, units[u]);
}

static void connections(const sn_model *m, const sn_node *node, char *buf,
                        size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < node->n_in && used < len; i++) {
        const sn_tensor *t = &m->tensors[node->in[i]];
        used += (size_t)snprintf(buf + used, len - used, "%s'%s[0][%d]'",
                                 i ? ", " : "", m->nodes[t->node].layer->name,
                                 t->slot);
    }
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

/* The layer column is as wide as the longest "name (Type)" needs. */
static int name_width(const sn_model *m)
{
    int width = MIN_NAME_W;
    for (int n = 0; n < m->n_nodes; n++) {
        const sn_layer *l = m->nodes[n].layer;
        int need = (int)(strlen(l->name) + strlen(l->ops->type)) + 5;
        if (need > width)
            width = need;
    }
    return width;
}

static void print_row(FILE *out, const sn_model *m, int n, bool graph,
                      int name_w)
{
    const sn_node *node = &m->nodes[n];
    char label[256], shape[128], params[32], links[512];
    snprintf(label, sizeof label, "%s (%s)", node->layer->name,
             node->layer->ops->type);
    if (node->layer->node == n)
        with_commas(node_params(m, n), params, sizeof params);
    else
        snprintf(params, sizeof params, "(shared)");
    for (int k = 0; k < node->n_out; k++) {
        sn_shape_format(&m->tensors[node->first_out + k].shape, shape,
                        sizeof shape);
        if (k > 0)
            label[0] = '\0';
        fprintf(out, " %-*s %-*s ", name_w - 1, label, SHAPE_W, shape);
        if (graph)
            fprintf(out, "%-*s", PARAM_W, k == 0 ? params : "");
        else
            fputs(k == 0 ? params : "", out);
        if (graph && k == 0) {
            connections(m, node, links, sizeof links);
            fprintf(out, " %s", links);
        }
        fputc('\n', out);
    }
}

static void print_total(FILE *out, const char *what, size_t count)
{
    char num[32], size[32];
    with_commas(count, num, sizeof num);
    human_bytes((double)count * sizeof(float), size, sizeof size);
    fprintf(out, "%s: %s (%s)\n", what, num, size);
}

SN_API sn_status sn_model_summary(sn_model_t *m, FILE *out)
{
    if (m == NULL || out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_summary: %s is NULL",
                       m == NULL ? "model" : "out");
    sn_status st = sn_model_build(m);
    if (st != SN_OK)
        return st;
    bool graph = !is_sequential(m);
    int name_w = name_width(m);
    int width = name_w + SHAPE_W + PARAM_W + 2 + (graph ? LINKS_W : 0);
    fprintf(out, "Model: \"%s\"\n", m->name);
    rule(out, '_', width);
    if (graph)
        fprintf(out, " %-*s %-*s %-*s Connected to\n", name_w - 1,
                "Layer (type)", SHAPE_W, "Output Shape", PARAM_W, "Param #");
    else
        fprintf(out, " %-*s %-*s Param #\n", name_w - 1, "Layer (type)",
                SHAPE_W, "Output Shape");
    rule(out, '=', width);
    for (int n = 0; n < m->n_nodes; n++) {
        if (!graph && sn_node_is_input(m, n))
            continue; /* Keras hides the InputLayer of a Sequential model */
        print_row(out, m, n, graph, name_w);
    }
    rule(out, '=', width);
    size_t trainable = 0;
    size_t total = sn_model_count_params(m, &trainable);
    print_total(out, "Total params", total);
    print_total(out, "Trainable params", trainable);
    print_total(out, "Non-trainable params", total - trainable);
    rule(out, '_', width);
    return ferror(out) ? sn_fail(SN_ERR_IO, "sn_model_summary: write failed")
                       : SN_OK;
}
