/*
 * model_compile.c - sn_model_compile and what depends on it: metric names,
 * one training step (train_on_batch), and the compile state that save and
 * load carry.
 *
 * Metrics are reported in a fixed order, "loss" first, then every compiled
 * metric and every user metric, for each output in turn.  With one output a
 * metric is called by its own name ("accuracy"); with several, by
 * "<output layer>_<metric>", as Keras names them.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train.h"

static const char *metric_kind_name(sn_metric_kind kind)
{
    switch (kind) {
    case SN_METRIC_ACCURACY: return "accuracy";
    case SN_METRIC_BINARY_ACCURACY: return "binary_accuracy";
    case SN_METRIC_CATEGORICAL_ACCURACY: return "categorical_accuracy";
    case SN_METRIC_SPARSE_CATEGORICAL_ACCURACY:
        return "sparse_categorical_accuracy";
    case SN_METRIC_MAE: return "mae";
    case SN_METRIC_MSE: return "mse";
    }
    return NULL;
}

static void free_names(sn_model *m)
{
    for (int i = 0; i < m->n_metric_names; i++)
        sn_mem_free(&m->mem, m->metric_names[i]);
    sn_mem_free(&m->mem, m->metric_names);
    m->metric_names = NULL;
    m->n_metric_names = 0;
}

/* SN_PART_TRAINING: called by sn_model_free. */
static void free_training(sn_model *m)
{
    sn_optimizer_free(m->optimizer);
    m->optimizer = NULL;
    sn_mem_free(&m->mem, m->metrics);
    m->metrics = NULL;
    for (int i = 0; i < m->n_user_metrics; i++)
        sn_mem_free(&m->mem, m->user_metrics[i].name);
    sn_mem_free(&m->mem, m->user_metrics);
    m->user_metrics = NULL;
    m->n_user_metrics = 0;
    free_names(m);
    sn_mem_free(&m->mem, m->loss_grad);
    m->loss_grad = NULL;
    m->loss_grad_cap = 0;
}

/* The user-facing metric at position i (i < n_metrics: compiled, else
 * user), applied to output `output`. */
static const char *base_metric_name(const sn_model *m, int i)
{
    if (i < m->n_metrics)
        return metric_kind_name(m->metrics[i]);
    return m->user_metrics[i - m->n_metrics].name;
}

static sn_status rebuild_names(sn_model *m)
{
    sn_model_attach(m, SN_PART_TRAINING, free_training);
    free_names(m);
    int n_out = sn_model_num_outputs(m);
    int per_output = m->n_metrics + m->n_user_metrics;
    int total = 1 + per_output * n_out;
    m->metric_names = sn_mem_calloc(&m->mem, (size_t)total, sizeof(char *));
    if (m->metric_names == NULL)
        return SN_ERR_NOMEM;
    m->metric_names[0] = sn_mem_strdup(&m->mem, "loss");
    m->n_metric_names = 1;
    if (m->metric_names[0] == NULL)
        return SN_ERR_NOMEM;
    for (int k = 0; k < n_out; k++) {
        for (int i = 0; i < per_output; i++) {
            char buf[300];
            const sn_tensor *t = &m->tensors[sn_model_output_id(m, k)];
            if (n_out == 1)
                snprintf(buf, sizeof buf, "%s", base_metric_name(m, i));
            else
                snprintf(buf, sizeof buf, "%s_%s",
                         m->nodes[t->node].layer->name, base_metric_name(m, i));
            char *name = sn_mem_strdup(&m->mem, buf);
            if (name == NULL)
                return SN_ERR_NOMEM;
            m->metric_names[m->n_metric_names++] = name;
        }
    }
    return SN_OK;
}

static bool valid_metric(int kind)
{
    return kind >= SN_METRIC_ACCURACY && kind <= SN_METRIC_MSE;
}

/* A sparse loss has [rows] class-id targets; every other loss has
 * targets shaped like the predictions.  A metric must read the same. */
static sn_status check_metric(sn_metric_kind kind, const sn_loss_opts *loss)
{
    if (!valid_metric((int)kind))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: unknown "
                       "metric %d", (int)kind);
    bool sparse_loss = loss->kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    bool sparse_metric = kind == SN_METRIC_SPARSE_CATEGORICAL_ACCURACY;
    if (kind != SN_METRIC_ACCURACY && sparse_loss != sparse_metric)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: metric '%s' "
                       "needs %s targets but the loss takes %s ones",
                       metric_kind_name(kind),
                       sparse_metric ? "class-id" : "dense",
                       sparse_loss ? "class-id" : "dense");
    return SN_OK;
}

static bool valid_loss(const sn_loss_opts *l)
{
    return l->kind >= SN_LOSS_BINARY_CROSSENTROPY &&
           l->kind <= SN_LOSS_HUBER && isfinite(l->delta) && l->delta > 0;
}

/* Installs optimizer (owned from here on), loss and metric kinds. */
static sn_status install(sn_model *m, sn_optimizer_t *optimizer,
                         const sn_loss_opts *loss,
                         const sn_metric_kind *metrics, int n_metrics)
{
    sn_metric_kind *copy = NULL;
    if (n_metrics > 0) {
        copy = sn_mem_calloc(&m->mem, (size_t)n_metrics, sizeof *copy);
        if (copy == NULL) {
            sn_optimizer_free(optimizer);
            return SN_ERR_NOMEM;
        }
        memcpy(copy, metrics, (size_t)n_metrics * sizeof *copy);
    }
    sn_model_attach(m, SN_PART_TRAINING, free_training);
    sn_optimizer_free(m->optimizer);
    sn_mem_free(&m->mem, m->metrics);
    m->optimizer = optimizer;
    m->loss = *loss;
    m->metrics = copy;
    m->n_metrics = n_metrics;
    m->compiled = true;
    return rebuild_names(m);
}

static sn_optimizer_t *default_optimizer(void)
{
    sn_optimizer_opts o;
    if (sn_optimizer_defaults(SN_RMSPROP, &o) != SN_OK)
        return NULL;
    return sn_optimizer_new(&o);
}

SN_API sn_status sn_model_compile(sn_model_t *m, const sn_compile_opts *opts)
{
    sn_compile_opts o = SN_COMPILE_OPTS_INIT;
    sn_optimizer_t *given = opts != NULL && opts->size >= sizeof(size_t) * 2
                                ? opts->optimizer : NULL;
    sn_status st = SN_OK;
    if (m == NULL)
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: model is NULL");
    if (st == SN_OK)
        st = sn_opts_merge(&o, sizeof o, opts, "sn_model_compile");
    if (st == SN_OK)
        st = sn_model_build(m);
    sn_loss_opts loss = SN_LOSS_OPTS_INIT;
    if (st == SN_OK && o.loss != NULL)
        st = sn_opts_merge(&loss, sizeof loss, o.loss, "sn_model_compile");
    if (st == SN_OK && !valid_loss(&loss))
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: unknown loss "
                     "kind %d or Huber delta %g <= 0", (int)loss.kind,
                     (double)loss.delta);
    if (st == SN_OK && (o.n_metrics < 0 || (o.n_metrics > 0 && !o.metrics)))
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: metrics is NULL "
                     "or n_metrics (%d) is negative", o.n_metrics);
    for (int i = 0; st == SN_OK && i < o.n_metrics; i++)
        st = check_metric(o.metrics[i], &loss);
    if (st != SN_OK) {
        sn_optimizer_free(given);
        return st;
    }
    sn_optimizer_t *opt = given != NULL ? given : default_optimizer();
    if (opt == NULL)
        return SN_ERR_NOMEM;
    return install(m, opt, &loss, o.metrics, o.n_metrics);
}

SN_API sn_status sn_model_add_metric(sn_model_t *m, const char *name,
                                     sn_metric_fn fn, void *user)
{
    if (m == NULL || name == NULL || fn == NULL || name[0] == '\0')
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_add_metric: model, "
                       "name and fn are required");
    if (!m->compiled)
        return sn_fail(SN_ERR_STATE, "sn_model_add_metric: compile the "
                       "model first");
    for (int i = 0; i < m->n_metric_names; i++)
        if (strcmp(m->metric_names[i], name) == 0)
            return sn_fail(SN_ERR_INVALID_ARG, "sn_model_add_metric: a "
                           "metric named '%s' exists", name);
    sn_user_metric *grown = sn_mem_calloc(&m->mem,
                                          (size_t)m->n_user_metrics + 1,
                                          sizeof *grown);
    char *copy = sn_mem_strdup(&m->mem, name);
    if (grown == NULL || copy == NULL) {
        sn_mem_free(&m->mem, grown);
        sn_mem_free(&m->mem, copy);
        return SN_ERR_NOMEM;
    }
    if (m->n_user_metrics > 0)
        memcpy(grown, m->user_metrics,
               (size_t)m->n_user_metrics * sizeof *grown);
    grown[m->n_user_metrics] = (sn_user_metric){ copy, fn, user };
    sn_model_attach(m, SN_PART_TRAINING, free_training);
    sn_mem_free(&m->mem, m->user_metrics);
    m->user_metrics = grown;
    m->n_user_metrics++;
    return rebuild_names(m);
}

SN_API sn_optimizer_t *sn_model_optimizer(const sn_model_t *m)
{
    return m != NULL ? m->optimizer : NULL;
}

SN_API int sn_model_num_metrics(const sn_model_t *m)
{
    return m != NULL ? m->n_metric_names : 0;
}

SN_API const char *sn_model_metric_name(const sn_model_t *m, int i)
{
    if (m == NULL || i < 0 || i >= m->n_metric_names) {
        sn_fail(SN_ERR_NOT_FOUND, "sn_model_metric_name: no metric %d", i);
        return NULL;
    }
    return m->metric_names[i];
}

/* ------------------------------------------------------------ one step */

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
    if (m->loss.kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
        n /= (size_t)s->dim[s->rank - 1];
    return n;
}

/* Per-row weights: each sample's weight repeated over its rows (steps). */
static sn_status expand_weights(sn_model *m, const float *sample_weights,
                                int batch, int rows, float **out)
{
    *out = NULL;
    if (sample_weights == NULL)
        return SN_OK;
    size_t total = m->loss_grad_cap / sizeof(float);
    float *w = m->loss_grad + (total - (size_t)rows);
    int per = rows / batch;
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < per; i++)
            w[b * per + i] = sample_weights[b];
    *out = w;
    return SN_OK;
}

/* Loss of the last forward against targets; fills m->loss_grad with the
 * gradient of every output (laid end to end) and returns the summed loss. */
sn_status sn_model_loss_and_grad(sn_model *m, int batch,
                                 const float *const *targets,
                                 const float *sample_weights, double *loss,
                                 const float **grads)
{
    size_t need = 0;
    int max_rows = 0;
    for (int k = 0; k < m->n_outputs; k++) {
        int rows, cols;
        sn_output_rows_cols(m, k, batch, &rows, &cols);
        need += (size_t)rows * (size_t)cols;
        if (rows > max_rows)
            max_rows = rows;
    }
    sn_model_attach(m, SN_PART_TRAINING, free_training);
    sn_status st = sn_mem_reserve(&m->mem, (void **)&m->loss_grad,
                                  &m->loss_grad_cap,
                                  (need + (size_t)max_rows) * sizeof(float));
    if (st != SN_OK)
        return st;
    double total = 0.0;
    float *g = m->loss_grad;
    for (int k = 0; k < m->n_outputs; k++) {
        if (targets[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "targets[%d] is NULL", k);
        int rows, cols;
        sn_output_rows_cols(m, k, batch, &rows, &cols);
        const float *pred = sn_exec_value(m->train_exec, m->outputs[k])->data;
        float *w;
        expand_weights(m, sample_weights, batch, rows, &w);
        double value;
        st = sn_loss_compute(&m->loss, rows, cols, pred, targets[k], w,
                             &value, g);
        if (st != SN_OK)
            return st;
        grads[k] = g;
        g += (size_t)rows * (size_t)cols;
        total += value;
    }
    if (!isfinite(total))
        return sn_fail(SN_ERR_NUMERIC, "the loss is not finite (%g)", total);
    *loss = total;
    return SN_OK;
}

enum { SN_MAX_OUTPUTS = 64 };

SN_API sn_status sn_model_train_on_batch(sn_model_t *m, int batch,
                                         const void *const *inputs,
                                         const int *timesteps,
                                         const float *const *targets,
                                         const float *sample_weights,
                                         double *loss)
{
    if (m == NULL || targets == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_train_on_batch: model "
                       "and targets are required");
    if (!m->compiled)
        return sn_fail(SN_ERR_STATE, "sn_model_train_on_batch: compile the "
                       "model first (sn_model_compile)");
    if (m->n_outputs > SN_MAX_OUTPUTS)
        return sn_fail(SN_ERR_UNSUPPORTED, "at most %d outputs can be "
                       "trained", SN_MAX_OUTPUTS);
    sn_status st = sn_model_forward(m, batch, inputs, timesteps, 1);
    if (st != SN_OK && !sn_collectives_on(m))
        return st;
    const float *grads[SN_MAX_OUTPUTS];
    double value = 0.0;
    if (st == SN_OK)
        st = sn_model_loss_and_grad(m, batch, targets, sample_weights,
                                    &value, grads);
    if (st == SN_OK)
        st = sn_model_zero_grad(m);
    if (st == SN_OK) /* nobody can read dL/dinput here: skip it */
        st = sn_exec_backward(m->train_exec, grads, false);
    /* data-parallel: every process takes part, also after a failure */
    st = sn_collectives_average_grads(m, batch, st);
    if (st == SN_OK)
        st = sn_optimizer_step(m->optimizer, m);
    if (st != SN_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", sn_last_error());
        return sn_fail(st, "sn_model_train_on_batch: %s (weights left "
                       "unchanged)", msg);
    }
    if (loss != NULL)
        *loss = value;
    return SN_OK;
}

/* ------------------------------------------------------------ save/load */

void sn_model_save_training_state(const sn_model *m, sn_writer *w)
{
    sn_write_u32(w, (uint32_t)m->loss.kind);
    sn_write_i32(w, m->loss.from_logits);
    sn_write_f32(w, m->loss.delta);
    sn_write_u32(w, (uint32_t)m->n_metrics);
    for (int i = 0; i < m->n_metrics; i++)
        sn_write_u32(w, (uint32_t)m->metrics[i]);
    sn_write_u8(w, m->optimizer != NULL);
    if (m->optimizer != NULL && w->status == SN_OK) {
        sn_status st = sn_optimizer_save_state(m->optimizer, w);
        if (st != SN_OK && w->status == SN_OK)
            w->status = st;
    }
}

enum { SN_MAX_SAVED_METRICS = 1024 };

sn_status sn_model_load_training_state(sn_model *m, sn_reader *r)
{
    sn_loss_opts loss = SN_LOSS_OPTS_INIT;
    loss.kind = (sn_loss_kind)sn_read_u32(r);
    loss.from_logits = sn_read_i32(r) != 0;
    loss.delta = sn_read_f32(r);
    uint32_t n_metrics = sn_read_u32(r);
    if (r->status != SN_OK)
        return r->status;
    if (!valid_loss(&loss))
        return sn_reader_fail(r, SN_ERR_FORMAT, "training state: bad loss "
                              "(kind %d)", (int)loss.kind);
    if (n_metrics > SN_MAX_SAVED_METRICS ||
        (size_t)n_metrics * 4 > sn_reader_remaining(r))
        return sn_reader_fail(r, SN_ERR_FORMAT, "training state: %u metrics",
                              n_metrics);
    sn_metric_kind kinds[SN_MAX_SAVED_METRICS];
    for (uint32_t i = 0; i < n_metrics; i++) {
        uint32_t k = sn_read_u32(r);
        if (r->status == SN_OK && !valid_metric((int)k))
            return sn_reader_fail(r, SN_ERR_FORMAT, "training state: "
                                  "unknown metric %u", k);
        kinds[i] = (sn_metric_kind)k;
    }
    uint8_t has_optimizer = sn_read_u8(r);
    if (r->status != SN_OK)
        return r->status;
    sn_optimizer_t *opt = NULL;
    if (has_optimizer) {
        sn_status st = sn_optimizer_load_state(r, &m->mem, &opt);
        if (st != SN_OK)
            return st;
        size_t bound_n = 0;
        if (sn_optimizer_bound_count(opt, &bound_n) &&
            bound_n != m->n_values) {
            sn_optimizer_free(opt);
            return sn_reader_fail(r, SN_ERR_FORMAT, "training state: the "
                                  "optimizer state holds %zu values per "
                                  "slot, the model has %zu weights (state "
                                  "of another model?)", bound_n,
                                  m->n_values);
        }
    } else {
        opt = default_optimizer();
        if (opt == NULL)
            return SN_ERR_NOMEM;
    }
    return install(m, opt, &loss, kinds, (int)n_metrics);
}
