/*
 * evaluate.c - data sets in batches: checking them against the model,
 * metrics of a forward pass, sn_model_evaluate and
 * sn_model_predict_batches.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "fit.h"

const int *const *sn_dataset_lengths(const sn_dataset *d)
{
    size_t end = offsetof(sn_dataset, lengths) + sizeof d->lengths;
    return d != NULL && d->size >= end ? d->lengths : NULL;
}

sn_status sn_dataset_check(const sn_model *m, const sn_dataset *d,
                           bool need_targets, const char *who)
{
    if (d == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: data set is NULL", who);
    if (d->size < sizeof(size_t) || d->size > sizeof(sn_dataset))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: data set .size is %zu "
                       "(initialise it with SN_DATASET_INIT)", who, d->size);
    if (d->n_samples <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: the data set has %d "
                       "samples", who, d->n_samples);
    if (d->inputs == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: data set inputs is NULL", who);
    for (int k = 0; k < m->n_inputs; k++)
        if (d->inputs[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: data set inputs[%d] is "
                           "NULL", who, k);
    if (!need_targets)
        return SN_OK;
    if (d->targets == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: data set targets is NULL",
                       who);
    for (int k = 0; k < m->n_outputs; k++)
        if (d->targets[k] == NULL && sn_output_needs_targets(m, k))
            return sn_fail(SN_ERR_INVALID_ARG, "%s: data set targets[%d] is "
                           "NULL", who, k);
    return SN_OK;
}

sn_status sn_data_layout_get(const sn_model *m, const sn_dataset *d,
                             bool need_targets, sn_data_layout *out,
                             const char *who)
{
    if (m->n_inputs > 64 || m->n_outputs > 64)
        return sn_fail(SN_ERR_UNSUPPORTED, "%s: at most 64 inputs and "
                       "outputs", who);
    sn_exec *e = sn_exec_new(m, NULL);
    size_t *counts = sn_mem_calloc(&m->mem, (size_t)m->n_tensors,
                                   sizeof *counts);
    sn_status st = e != NULL && counts != NULL ? SN_OK : SN_ERR_NOMEM;
    if (st == SN_OK)
        st = sn_exec_shapes(e, d->timesteps, counts);
    if (st == SN_OK) {
        out->n_inputs = m->n_inputs;
        out->n_outputs = m->n_outputs;
        for (int k = 0; k < m->n_inputs; k++) {
            const sn_shape *s = &m->tensors[m->inputs[k]].shape;
            size_t elem = s->dtype == SN_INT32 ? sizeof(int32_t)
                                               : sizeof(float);
            out->in_bytes[k] = counts[m->inputs[k]] * elem;
        }
        for (int k = 0; k < m->n_outputs; k++) {
            const sn_shape *s = &m->tensors[m->outputs[k]].shape;
            size_t pred = counts[m->outputs[k]];
            out->pred_count[k] = pred;
            out->out_count[k] = need_targets &&
                sn_output_sparse_targets(m, k)
                ? pred / (size_t)s->dim[s->rank - 1] : pred;
        }
    } else {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", sn_last_error());
        sn_fail(st, "%s: %s", who, msg);
    }
    sn_mem_free(&m->mem, counts);
    sn_exec_free(e);
    return st;
}

/* Keras picks the accuracy that fits the loss. */
static sn_metric_kind resolve_metric(const sn_model *m, sn_metric_kind kind,
                                     int cols)
{
    if (kind != SN_METRIC_ACCURACY)
        return kind;
    switch (m->loss.kind) {
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

sn_status sn_compute_metrics(sn_model *m, int batch,
                             const float *const *targets, double *out)
{
    if (m->output_train != NULL)
        return sn_outputs_metrics(m, batch, targets, out);
    bool logits = m->loss.from_logits &&
                  m->loss.kind == SN_LOSS_BINARY_CROSSENTROPY;
    float threshold = logits ? 0.0f : 0.5f;
    int at = 0;
    for (int k = 0; k < m->n_outputs; k++) {
        int rows, cols;
        sn_output_rows_cols(m, k, batch, &rows, &cols);
        const float *pred = sn_exec_value(m->train_exec, m->outputs[k])->data;
        for (int i = 0; i < m->n_metrics; i++) {
            sn_metric_kind kind = resolve_metric(m, m->metrics[i], cols);
            sn_status st = sn_metric_compute(kind, rows, cols, pred,
                                             targets[k], threshold, &out[at]);
            if (st != SN_OK)
                return st;
            if (sn_metric_is_stateful(kind)) /* over the epoch so far */
                out[at] = sn_metric_state_update(
                    m, k, i, (size_t)rows * (size_t)cols, pred, targets[k],
                    logits);
            at++;
        }
        for (int i = 0; i < m->n_user_metrics; i++) {
            const sn_user_metric *u = &m->user_metrics[i];
            out[at++] = u->fn(u->user, rows, cols, pred, targets[k]);
        }
    }
    return SN_OK;
}

/* Pointers to sample `first` of every input, its lengths (when the data
 * set has some) and target. */
static void offset_batch(const sn_dataset *d, const sn_data_layout *lay,
                         int first, bool targets, const void **in,
                         const int **len, const float **tg)
{
    const int *const *lengths = sn_dataset_lengths(d);
    for (int k = 0; k < lay->n_inputs; k++) {
        in[k] = (const char *)d->inputs[k] + (size_t)first * lay->in_bytes[k];
        len[k] = lengths != NULL && lengths[k] != NULL ? lengths[k] + first
                                                       : NULL;
    }
    for (int k = 0; targets && k < lay->n_outputs; k++)
        tg[k] = d->targets[k] != NULL
                    ? d->targets[k] + (size_t)first * lay->out_count[k]
                    : NULL;
}

sn_status sn_evaluate_range(sn_model *m, const sn_dataset *d, int first,
                            int n, int batch_size, double *results)
{
    sn_data_layout lay;
    sn_status st = sn_data_layout_get(m, d, true, &lay, "evaluate");
    if (st != SN_OK)
        return st;
    int n_results = m->n_metric_names;
    double sums[256] = { 0 };
    double batch_logs[256];
    if (n_results > 256)
        return sn_fail(SN_ERR_UNSUPPORTED, "evaluate: at most 256 metrics");
    const void *in[64];
    const int *len[64];
    const float *tg[64];
    const float *grads[64];
    st = sn_metric_state_reset(m); /* Keras resets metrics per evaluate */
    if (st != SN_OK)
        return st;
    for (int start = 0; start < n; start += batch_size) {
        int b = n - start < batch_size ? n - start : batch_size;
        offset_batch(d, &lay, first + start, true, in, len, tg);
        const float *sw = d->sample_weights != NULL
                              ? d->sample_weights + first + start : NULL;
        st = sn_model_forward_lengths(m, b, in, d->timesteps, len, 0);
        if (st == SN_OK)
            st = sn_model_loss_and_grad(m, b, tg, sw, &batch_logs[0], grads);
        if (st == SN_OK) { /* the weights' regularizers, as Keras */
            double penalty;
            sn_weight_rules_penalty(m, NULL, &penalty);
            batch_logs[0] += penalty;
        }
        if (st == SN_OK)
            st = sn_compute_metrics(m, b, tg, &batch_logs[1]);
        if (st != SN_OK)
            return st;
        for (int i = 0; i < n_results; i++) /* stateful: the last value */
            sums[i] = sn_metric_log_is_stateful(m, i)
                          ? batch_logs[i] : sums[i] + batch_logs[i] * b;
    }
    for (int i = 0; i < n_results; i++)
        results[i] = sn_metric_log_is_stateful(m, i) ? sums[i] : sums[i] / n;
    return SN_OK;
}

SN_API sn_status sn_model_evaluate(sn_model_t *m, const sn_dataset *data,
                                   int batch_size, double *results,
                                   int max_results)
{
    if (m == NULL || results == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_evaluate: model and "
                       "results are required");
    if (!m->compiled)
        return sn_fail(SN_ERR_STATE, "sn_model_evaluate: compile the model "
                       "first (sn_model_compile)");
    if (batch_size <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_evaluate: batch_size "
                       "must be > 0, got %d", batch_size);
    if (max_results < m->n_metric_names)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_evaluate: results holds "
                       "%d values but the model reports %d", max_results,
                       m->n_metric_names);
    sn_status st = sn_dataset_check(m, data, true, "sn_model_evaluate");
    if (st != SN_OK)
        return st;
    return sn_evaluate_range(m, data, 0, data->n_samples, batch_size,
                             results);
}

SN_API sn_status sn_model_predict_batches(sn_model_t *m, int n,
                                          const void *const *inputs,
                                          const int *timesteps,
                                          float *const *outputs,
                                          int batch_size)
{
    if (m == NULL || inputs == NULL || outputs == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_predict_batches: "
                       "model, inputs and outputs are required");
    if (n <= 0 || batch_size <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_predict_batches: n "
                       "(%d) and batch_size (%d) must be > 0", n, batch_size);
    sn_status st = sn_model_build(m);
    if (st != SN_OK)
        return st;
    sn_dataset d = SN_DATASET_INIT;
    d.n_samples = n;
    d.inputs = inputs;
    d.timesteps = timesteps;
    st = sn_dataset_check(m, &d, false, "sn_model_predict_batches");
    sn_data_layout lay;
    if (st == SN_OK)
        st = sn_data_layout_get(m, &d, false, &lay,
                                "sn_model_predict_batches");
    for (int k = 0; st == SN_OK && k < m->n_outputs; k++)
        if (outputs[k] == NULL)
            st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_predict_batches: "
                         "outputs[%d] is NULL", k);
    const void *in[64];
    const int *len[64];
    float *out[64];
    for (int start = 0; st == SN_OK && start < n; start += batch_size) {
        int b = n - start < batch_size ? n - start : batch_size;
        offset_batch(&d, &lay, start, false, in, len, NULL);
        for (int k = 0; k < m->n_outputs; k++)
            out[k] = outputs[k] + (size_t)start * lay.pred_count[k];
        st = sn_model_predict(m, b, in, timesteps, out);
    }
    return st;
}
