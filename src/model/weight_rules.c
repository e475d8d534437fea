/*
 * weight_rules.c - regularizers (L1, L2) and constraints (max_norm,
 * non_neg) of a layer's weights, by the weight's name within the layer.
 *
 * A layer keeps its rules (set before or after it is applied); training
 * (train/model_compile.c) adds the penalty and its gradient, the optimizer
 * step (train/optimizer.c) applies the constraints, evaluate (fit/) adds
 * the penalty, and the model file saves them (io/model_io.c, section
 * "rule").  Keras semantics:
 *   penalty  = l1 sum|w| + l2 sum w^2        d/dw = l1 sign(w) + 2 l2 w
 *   MaxNorm(max_value, axis=0):  n_j = sqrt(sum_i w[i, j]^2) over the first
 *            axis, w[:, j] *= min(n_j, max_value) / (1e-7 + n_j)
 *   NonNeg:  w = w * (w >= 0)
 */
#include <math.h>
#include <string.h>

#include "model.h"

#define RULES_MAX 64          /* rules per layer                          */
#define RULE_NAME_MAX 256
#define KERAS_EPSILON 1e-7f   /* keras.config.epsilon()                   */

typedef struct sn_weight_rule {
    char *weight;
    sn_weight_rules r;
} sn_weight_rule;

void sn_weight_rules_free(sn_layer *l)
{
    for (int i = 0; i < l->n_rules; i++)
        sn_mem_free(&l->mem, l->rules[i].weight);
    sn_mem_free(&l->mem, l->rules);
    l->rules = NULL;
    l->n_rules = 0;
}

static sn_status check_rules(const sn_weight_rules *r, const char *who)
{
    if (!(r->l1 >= 0.0f) || !isfinite(r->l1) || !(r->l2 >= 0.0f) ||
        !isfinite(r->l2))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: l1 and l2 must be finite and "
                       ">= 0 (got %g, %g)", who, (double)r->l1,
                       (double)r->l2);
    if (!(r->max_norm >= 0.0f) || !isfinite(r->max_norm))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: max_norm must be finite and "
                       ">= 0, 0 = off (got %g)", who, (double)r->max_norm);
    if (r->non_neg != 0 && r->non_neg != 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: non_neg must be 0 or 1 (got "
                       "%d)", who, r->non_neg);
    return SN_OK;
}

static int find_rule(const sn_layer *l, const char *weight)
{
    for (int i = 0; i < l->n_rules; i++)
        if (strcmp(l->rules[i].weight, weight) == 0)
            return i;
    return -1;
}

static void remove_rule(sn_layer *l, int i)
{
    sn_mem_free(&l->mem, l->rules[i].weight);
    l->rules[i] = l->rules[l->n_rules - 1];
    l->n_rules--;
}

SN_API sn_status sn_layer_set_weight_rules(sn_layer_t *l, const char *weight,
                                           const sn_weight_rules *rules)
{
    static const char who[] = "sn_layer_set_weight_rules";
    if (l == NULL || weight == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %s is NULL", who,
                       l == NULL ? "layer" : "weight");
    size_t len = strlen(weight);
    if (len == 0 || len >= RULE_NAME_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: the weight name must be 1..%d "
                       "bytes", who, RULE_NAME_MAX - 1);
    int at = find_rule(l, weight);
    if (rules == NULL) {
        if (at >= 0)
            remove_rule(l, at);
        return SN_OK;
    }
    sn_weight_rules r = SN_WEIGHT_RULES_INIT;
    sn_status st = sn_opts_merge(&r, sizeof r, rules, who);
    if (st == SN_OK)
        st = check_rules(&r, who);
    if (st != SN_OK)
        return st;
    if (at >= 0) {
        l->rules[at].r = r;
        return SN_OK;
    }
    if (l->n_rules >= RULES_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: at most %d rules per layer",
                       who, RULES_MAX);
    sn_weight_rule *grown = sn_mem_calloc(&l->mem, (size_t)l->n_rules + 1,
                                          sizeof *grown);
    char *name = sn_mem_strdup(&l->mem, weight);
    if (grown == NULL || name == NULL) {
        sn_mem_free(&l->mem, grown);
        sn_mem_free(&l->mem, name);
        return SN_ERR_NOMEM;
    }
    if (l->n_rules > 0)
        memcpy(grown, l->rules, (size_t)l->n_rules * sizeof *grown);
    sn_mem_free(&l->mem, l->rules);
    l->rules = grown;
    l->rules[l->n_rules].weight = name;
    l->rules[l->n_rules].r = r;
    l->n_rules++;
    return SN_OK;
}

/* The weight's name without "<layer>/". */
static const char *local_name(const sn_weight *w)
{
    const char *slash = strchr(w->name, '/');
    return slash != NULL ? slash + 1 : w->name;
}

/* The rules of model weight i, or NULL. */
static const sn_weight_rules *rules_of(const sn_model *m, int i)
{
    const sn_layer *l = m->nodes[m->weights[i].node].layer;
    if (l->n_rules == 0)
        return NULL;
    int at = find_rule(l, local_name(&m->weights[i]));
    return at >= 0 ? &l->rules[at].r : NULL;
}

sn_status sn_weight_rules_check(const sn_model *m)
{
    for (int n = 0; n < m->n_nodes; n++) {
        const sn_layer *l = m->nodes[n].layer;
        for (int k = 0; k < l->n_rules; k++) {
            bool found = false;
            for (int i = 0; i < l->n_weights && !found; i++)
                found = strcmp(local_name(&m->weights[l->first_weight + i]),
                               l->rules[k].weight) == 0;
            if (!found)
                return sn_fail(SN_ERR_NOT_FOUND, "layer '%s' has no weight "
                               "'%s' for its regularizer/constraint",
                               l->name, l->rules[k].weight);
        }
    }
    return SN_OK;
}

void sn_weight_rules_penalty(const sn_model *m, float *grads, double *penalty)
{
    double total = 0.0;
    for (int i = 0; i < m->n_weights; i++) {
        const sn_weight_rules *r = rules_of(m, i);
        if (r == NULL || !m->nodes[m->weights[i].node].layer->trainable ||
            (r->l1 == 0.0f && r->l2 == 0.0f))
            continue;
        const sn_weight *w = &m->weights[i];
        const float *v = m->values + w->offset;
        double s1 = 0.0, s2 = 0.0;
        for (size_t j = 0; j < w->count; j++) {
            s1 += fabs((double)v[j]);
            s2 += (double)v[j] * v[j];
        }
        total += (double)r->l1 * s1 + (double)r->l2 * s2;
        if (grads == NULL)
            continue;
        float *g = grads + w->offset;
        for (size_t j = 0; j < w->count; j++) {
            float sign = v[j] > 0.0f ? 1.0f : v[j] < 0.0f ? -1.0f : 0.0f;
            g[j] += r->l1 * sign + 2.0f * r->l2 * v[j];
        }
    }
    *penalty = total;
}

/* Keras MaxNorm(axis=0) on w viewed as [d0, cols]. */
static void max_norm(float *v, const sn_weight *w, float limit)
{
    size_t d0 = (size_t)w->dim[0], cols = w->count / d0;
    for (size_t c = 0; c < cols; c++) {
        double s = 0.0;
        for (size_t i = 0; i < d0; i++)
            s += (double)v[i * cols + c] * v[i * cols + c];
        float norm = (float)sqrt(s);
        float want = norm < limit ? norm : limit;
        float scale = want / (KERAS_EPSILON + norm);
        for (size_t i = 0; i < d0; i++)
            v[i * cols + c] *= scale;
    }
}

void sn_weight_rules_constrain(sn_model *m)
{
    for (int i = 0; i < m->n_weights; i++) {
        const sn_weight_rules *r = rules_of(m, i);
        if (r == NULL || !m->nodes[m->weights[i].node].layer->trainable)
            continue;
        const sn_weight *w = &m->weights[i];
        float *v = m->values + w->offset;
        if (r->max_norm > 0.0f)
            max_norm(v, w, r->max_norm);
        if (r->non_neg)
            for (size_t j = 0; j < w->count; j++)
                v[j] = v[j] >= 0.0f ? v[j] : 0.0f;
    }
}

/* ------------------------------------------------------------ the file */

bool sn_weight_rules_any(const sn_model *m)
{
    for (int n = 0; n < m->n_nodes; n++)
        if (m->nodes[n].layer->n_rules > 0)
            return true;
    return false;
}

/* u32 count, then per rule: str layer name, str weight name, f32 l1, l2,
 * max_norm, u8 non_neg. */
void sn_weight_rules_save(const sn_model *m, sn_writer *w)
{
    uint32_t count = 0;
    for (int n = 0; n < m->n_nodes; n++)
        count += (uint32_t)m->nodes[n].layer->n_rules;
    sn_write_u32(w, count);
    for (int n = 0; n < m->n_nodes; n++) {
        const sn_layer *l = m->nodes[n].layer;
        for (int k = 0; k < l->n_rules; k++) {
            sn_write_str(w, l->name);
            sn_write_str(w, l->rules[k].weight);
            sn_write_f32(w, l->rules[k].r.l1);
            sn_write_f32(w, l->rules[k].r.l2);
            sn_write_f32(w, l->rules[k].r.max_norm);
            sn_write_u8(w, (uint8_t)l->rules[k].r.non_neg);
        }
    }
}

static sn_layer *layer_named(const sn_model *m, const char *name)
{
    for (int n = 0; n < m->n_nodes; n++)
        if (strcmp(m->nodes[n].layer->name, name) == 0)
            return m->nodes[n].layer;
    return NULL;
}

/* One saved rule onto its layer. */
static sn_status load_rule(sn_model *m, sn_reader *r)
{
    char *layer = sn_read_str(r, &m->mem, RULE_NAME_MAX);
    char *weight = sn_read_str(r, &m->mem, RULE_NAME_MAX);
    sn_weight_rules wr = SN_WEIGHT_RULES_INIT;
    wr.l1 = sn_read_f32(r);
    wr.l2 = sn_read_f32(r);
    wr.max_norm = sn_read_f32(r);
    wr.non_neg = sn_read_u8(r);
    sn_status st = r->status;
    if (st == SN_OK) {
        sn_layer *l = layer_named(m, layer);
        st = l == NULL
                 ? sn_reader_fail(r, SN_ERR_FORMAT, "rule: no layer '%.64s'",
                                  layer)
                 : sn_layer_set_weight_rules(l, weight, &wr);
        if (st != SN_OK && r->status == SN_OK)
            sn_reader_fail(r, st == SN_ERR_NOMEM ? st : SN_ERR_FORMAT,
                           "rule: %s", sn_last_error());
    }
    sn_mem_free(&m->mem, layer);
    sn_mem_free(&m->mem, weight);
    return r->status;
}

sn_status sn_weight_rules_load(sn_model *m, sn_reader *r)
{
    uint32_t count = sn_read_u32(r);
    if (r->status == SN_OK &&
        count > (uint32_t)m->n_nodes * (uint32_t)RULES_MAX)
        return sn_reader_fail(r, SN_ERR_FORMAT, "rule: %u rules for %d "
                              "layers", (unsigned)count, m->n_nodes);
    for (uint32_t i = 0; i < count && r->status == SN_OK; i++)
        load_rule(m, r);
    if (r->status == SN_OK)
        return sn_weight_rules_check(m);
    return r->status;
}
