/*
 * output_losses.c - a compile with one loss (or none), one loss weight and
 * its own metrics per output (sn_compile_opts.outputs), as Keras' compile
 * takes them per output: parsing, the names the history reports, and the
 * metric values of a batch.  The loss itself is computed with the others
 * in model_compile.c (sn_model_loss_and_grad).  Also here: what each
 * output's targets look like (sn_output_rows_cols, sn_target_count), for
 * both kinds of compile.
 *
 * Names (Keras' multi-output convention): "loss" (the weighted sum), then
 * "<output layer>_loss" (unweighted) for each output with a loss, then
 * "<output layer>_<metric>" for each output's metrics and, on every
 * output with targets (a loss or metrics), the user metrics.  A model with
 * one output reports plain "loss" and metric names, as before.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train.h"

static const char *output_name(const sn_model *m, int k)
{
    const sn_tensor *t = &m->tensors[m->outputs[k]];
    return m->nodes[t->node].layer->name;
}

void sn_outputs_free_array(sn_model *m, sn_output_train *o)
{
    for (int k = 0; o != NULL && k < m->n_outputs; k++)
        sn_mem_free(&m->mem, o[k].metrics);
    sn_mem_free(&m->mem, o);
}

void sn_outputs_free(sn_model *m)
{
    sn_outputs_free_array(m, m->output_train);
    m->output_train = NULL;
}

/* The loss a metric of output k is checked against: its own, or for an
 * output without a loss one that reads the same targets (class ids when
 * any of its metrics wants them). */
static sn_loss_opts target_kind(const sn_output_train *o)
{
    sn_loss_opts l = SN_LOSS_OPTS_INIT;
    if (o->has_loss)
        return o->loss;
    for (int i = 0; i < o->n_metrics; i++)
        if (o->metrics[i] == SN_METRIC_SPARSE_CATEGORICAL_ACCURACY)
            l.kind = SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    return l;
}

/* One output's options, merged over the defaults and checked. */
static sn_status parse_one(sn_model *m, int k, const sn_output_opts *given,
                           sn_output_train *out)
{
    char who[64];
    snprintf(who, sizeof who, "sn_model_compile (outputs[%d])", k);
    if (given == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s is NULL (every output needs "
                       "its sn_output_opts; a loss of NULL means none)", who);
    sn_output_opts o = SN_OUTPUT_OPTS_INIT;
    sn_status st = sn_opts_merge(&o, sizeof o, given, who);
    if (st != SN_OK)
        return st;
    if (!(isfinite(o.loss_weight) && o.loss_weight >= 0.0f))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: loss_weight must be finite "
                       "and >= 0, got %g", who, (double)o.loss_weight);
    if (o.n_metrics < 0 || (o.n_metrics > 0 && o.metrics == NULL))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: metrics is NULL or "
                       "n_metrics (%d) is negative", who, o.n_metrics);
    out->weight = o.loss_weight;
    out->has_loss = o.loss != NULL;
    out->loss = (sn_loss_opts)SN_LOSS_OPTS_INIT;
    if (o.loss != NULL) {
        st = sn_opts_merge(&out->loss, sizeof out->loss, o.loss, who);
        if (st == SN_OK && !sn_loss_valid(&out->loss))
            st = sn_fail(SN_ERR_INVALID_ARG, "%s: unknown loss kind %d or "
                         "Huber delta %g <= 0", who, (int)out->loss.kind,
                         (double)out->loss.delta);
        if (st != SN_OK)
            return st;
    }
    if (o.n_metrics > 0) {
        out->metrics = sn_mem_calloc(&m->mem, (size_t)o.n_metrics,
                                     sizeof *out->metrics);
        if (out->metrics == NULL)
            return SN_ERR_NOMEM;
        memcpy(out->metrics, o.metrics,
               (size_t)o.n_metrics * sizeof *out->metrics);
        out->n_metrics = o.n_metrics;
    }
    sn_loss_opts against = target_kind(out);
    for (int i = 0; i < out->n_metrics; i++) {
        st = sn_metric_check(out->metrics[i], &against);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

sn_status sn_outputs_parse(sn_model *m, const sn_compile_opts *o,
                           sn_output_train **out)
{
    *out = NULL;
    if (o->loss != NULL || o->n_metrics != 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: with "
                       "per-output options (outputs) the loss and metrics "
                       "go there; loss must be NULL and n_metrics 0");
    if (o->n_outputs != m->n_outputs)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: outputs has "
                       "%d entries, the model has %d outputs", o->n_outputs,
                       m->n_outputs);
    sn_output_train *t = sn_mem_calloc(&m->mem, (size_t)m->n_outputs,
                                       sizeof *t);
    if (t == NULL)
        return SN_ERR_NOMEM;
    sn_status st = SN_OK;
    int with_loss = 0;
    for (int k = 0; st == SN_OK && k < m->n_outputs; k++) {
        st = parse_one(m, k, o->outputs[k], &t[k]);
        with_loss += t[k].has_loss;
    }
    if (st == SN_OK && with_loss == 0)
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: no output has a "
                     "loss, so there is nothing to train");
    if (st != SN_OK) {
        sn_outputs_free_array(m, t);
        return st;
    }
    *out = t;
    return SN_OK;
}

bool sn_output_needs_targets(const sn_model *m, int k)
{
    const sn_output_train *o = m->output_train;
    if (o == NULL)
        return true;
    return o[k].has_loss || o[k].n_metrics > 0;
}

bool sn_output_sparse_targets(const sn_model *m, int k)
{
    const sn_output_train *o = m->output_train;
    sn_loss_opts l = o != NULL ? target_kind(&o[k]) : m->loss;
    return l.kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
}

/* ------------------------------------------------------------ file */

/* u32 n_outputs, then per output: u8 has_loss, u32 loss kind, i32
 * from_logits, f32 delta, f32 loss_weight, u32 n_metrics, u32 kinds. */
void sn_outputs_save(const sn_model *m, sn_writer *w)
{
    const sn_output_train *o = m->output_train;
    sn_write_u32(w, (uint32_t)m->n_outputs);
    for (int k = 0; k < m->n_outputs; k++) {
        sn_write_u8(w, o[k].has_loss);
        sn_write_u32(w, (uint32_t)o[k].loss.kind);
        sn_write_i32(w, o[k].loss.from_logits);
        sn_write_f32(w, o[k].loss.delta);
        sn_write_f32(w, o[k].weight);
        sn_write_u32(w, (uint32_t)o[k].n_metrics);
        for (int i = 0; i < o[k].n_metrics; i++)
            sn_write_u32(w, (uint32_t)o[k].metrics[i]);
    }
}

enum { MAX_SAVED_OUTPUT_METRICS = 64 };

/* Reads one output's record into public options (kinds and loss backed
 * by the caller's storage), so that parse_one checks it like a compile. */
static sn_status load_one(sn_reader *r, sn_output_opts *o, sn_loss_opts *l,
                          sn_metric_kind *kinds)
{
    uint8_t has_loss = sn_read_u8(r);
    l->kind = (sn_loss_kind)sn_read_u32(r);
    l->from_logits = sn_read_i32(r) != 0;
    l->delta = sn_read_f32(r);
    o->loss_weight = sn_read_f32(r);
    o->n_metrics = sn_read_int(r, 0, MAX_SAVED_OUTPUT_METRICS,
                               "output metric count");
    for (int i = 0; r->status == SN_OK && i < o->n_metrics; i++)
        kinds[i] = (sn_metric_kind)sn_read_u32(r);
    o->loss = has_loss ? l : NULL;
    o->metrics = kinds;
    return r->status;
}

sn_status sn_outputs_load(sn_model *m, sn_reader *r, sn_output_train **out)
{
    *out = NULL;
    int n = sn_read_int(r, 1, 64, "training state: output count");
    if (r->status != SN_OK)
        return r->status;
    if (n != m->n_outputs)
        return sn_reader_fail(r, SN_ERR_FORMAT, "training state: %d "
                              "per-output losses for %d outputs", n,
                              m->n_outputs);
    enum { MAX = 64 };
    sn_output_opts opts[MAX];
    sn_loss_opts losses[MAX];
    sn_metric_kind kinds[MAX][MAX_SAVED_OUTPUT_METRICS];
    const sn_output_opts *ptrs[MAX];
    for (int k = 0; k < n; k++) {
        opts[k] = (sn_output_opts)SN_OUTPUT_OPTS_INIT;
        losses[k] = (sn_loss_opts)SN_LOSS_OPTS_INIT;
        if (load_one(r, &opts[k], &losses[k], kinds[k]) != SN_OK)
            return r->status;
        ptrs[k] = &opts[k];
    }
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.outputs = ptrs;
    co.n_outputs = n;
    sn_status st = sn_outputs_parse(m, &co, out);
    if (st == SN_ERR_NOMEM)
        return st;
    if (st != SN_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", sn_last_error());
        return sn_reader_fail(r, SN_ERR_FORMAT, "training state: %s", msg);
    }
    return SN_OK;
}

/* ------------------------------------------------------------ shapes */

/* The output's [rows, cols] view: cols = last axis. */
void sn_output_rows_cols(const sn_model *m, int k, int batch, int *rows,
                         int *cols)
{
    const sn_value *v = sn_exec_value(m->train_exec, m->outputs[k]);
    *cols = v->shape.dim[v->shape.rank - 1];
    *rows = (int)(v->count / (size_t)*cols) * batch;
}

/* Elements per sample of output k's target. */
size_t sn_target_count(const sn_model *m, int k)
{
    const sn_shape *s = &m->tensors[m->outputs[k]].shape;
    size_t n = sn_shape_count(s);
    if (sn_output_sparse_targets(m, k))
        n /= (size_t)s->dim[s->rank - 1];
    return n;
}

/* ------------------------------------------------------------ names */

static sn_status add_name(sn_model *m, const char *prefix, const char *name)
{
    char buf[300];
    if (prefix != NULL)
        snprintf(buf, sizeof buf, "%s_%s", prefix, name);
    else
        snprintf(buf, sizeof buf, "%s", name);
    char *copy = sn_mem_strdup(&m->mem, buf);
    if (copy == NULL)
        return SN_ERR_NOMEM;
    m->metric_names[m->n_metric_names++] = copy;
    return SN_OK;
}

/* How many values a batch reports after "loss". */
static int values_after_loss(const sn_model *m)
{
    const sn_output_train *o = m->output_train;
    int n = 0;
    for (int k = 0; k < m->n_outputs; k++) {
        n += m->n_outputs > 1 && o[k].has_loss;
        n += o[k].n_metrics;
        n += sn_output_needs_targets(m, k) ? m->n_user_metrics : 0;
    }
    return n;
}

sn_status sn_outputs_names(sn_model *m)
{
    const sn_output_train *o = m->output_train;
    int total = 1 + values_after_loss(m);
    m->metric_names = sn_mem_calloc(&m->mem, (size_t)total, sizeof(char *));
    if (m->metric_names == NULL)
        return SN_ERR_NOMEM;
    sn_status st = add_name(m, NULL, "loss");
    bool several = m->n_outputs > 1;
    for (int k = 0; st == SN_OK && several && k < m->n_outputs; k++)
        if (o[k].has_loss)
            st = add_name(m, output_name(m, k), "loss");
    for (int k = 0; st == SN_OK && k < m->n_outputs; k++) {
        const char *prefix = several ? output_name(m, k) : NULL;
        for (int i = 0; st == SN_OK && i < o[k].n_metrics; i++)
            st = add_name(m, prefix, sn_metric_kind_name(o[k].metrics[i]));
        for (int i = 0; st == SN_OK && sn_output_needs_targets(m, k) &&
                        i < m->n_user_metrics; i++)
            st = add_name(m, prefix, m->user_metrics[i].name);
    }
    return st;
}

/* ------------------------------------------------------------ values */

/* Keras picks the accuracy that fits the loss (or the targets). */
static sn_metric_kind resolve(const sn_loss_opts *l, sn_metric_kind kind,
                              int cols)
{
    if (kind != SN_METRIC_ACCURACY)
        return kind;
    switch (l->kind) {
    case SN_LOSS_BINARY_CROSSENTROPY: return SN_METRIC_BINARY_ACCURACY;
    case SN_LOSS_CATEGORICAL_CROSSENTROPY:
        return SN_METRIC_CATEGORICAL_ACCURACY;
    case SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        return SN_METRIC_SPARSE_CATEGORICAL_ACCURACY;
    default:
        return cols == 1 ? SN_METRIC_BINARY_ACCURACY
                         : SN_METRIC_CATEGORICAL_ACCURACY;
    }
}

sn_status sn_outputs_metrics(sn_model *m, int batch,
                             const float *const *targets, double *out)
{
    const sn_output_train *o = m->output_train;
    int at = 0;
    for (int k = 0; m->n_outputs > 1 && k < m->n_outputs; k++)
        if (o[k].has_loss)
            out[at++] = o[k].last_loss;
    for (int k = 0; k < m->n_outputs; k++) {
        if (!sn_output_needs_targets(m, k))
            continue;
        if (targets[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "targets[%d] is NULL, but "
                           "output %d has metrics", k, k);
        int rows, cols;
        sn_output_rows_cols(m, k, batch, &rows, &cols);
        const float *pred = sn_exec_value(m->train_exec, m->outputs[k])->data;
        sn_loss_opts l = target_kind(&o[k]);
        bool logits = l.from_logits &&
                      l.kind == SN_LOSS_BINARY_CROSSENTROPY;
        for (int i = 0; i < o[k].n_metrics; i++) {
            sn_status st = sn_metric_compute(resolve(&l, o[k].metrics[i],
                                                     cols),
                                             rows, cols, pred, targets[k],
                                             logits ? 0.0f : 0.5f, &out[at++]);
            if (st != SN_OK)
                return st;
        }
        for (int i = 0; i < m->n_user_metrics; i++) {
            const sn_user_metric *u = &m->user_metrics[i];
            out[at++] = u->fn(u->user, rows, cols, pred, targets[k]);
        }
    }
    return SN_OK;
}
