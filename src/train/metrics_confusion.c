/*
 * metrics_confusion.c - Keras' confusion-matrix metrics AUC, Precision
 * and Recall (keras/src/metrics/confusion_metrics.py, metrics_utils.py),
 * which accumulate counts over batches, and their per-model state for fit
 * and evaluate.
 *
 * Every element is one binary decision: label != 0 is positive, and at a
 * threshold t the prediction is positive when p > t.
 *   precision = tp / (tp + fp),  recall = tp / (tp + fn)   at t = 0.5
 *   AUC (ROC, interpolation): at thresholds t_0 < ... < t_199,
 *     x_i = fp_i / (fp_i + tn_i), y_i = tp_i / (tp_i + fn_i),
 *     AUC = sum_i (x_i - x_{i+1}) (y_i + y_{i+1}) / 2
 * where a 0/0 ratio is 0 (Keras divide_no_nan).  Counts are doubles.
 */
#include <math.h>
#include <string.h>

#include "train.h"

enum { AUC_THRESHOLDS = 200 };
#define KERAS_EPSILON 1e-7

/* The counts of one metric on one output. */
typedef struct sn_confusion {
    double tp[AUC_THRESHOLDS], fp[AUC_THRESHOLDS];
    double tn[AUC_THRESHOLDS], fn[AUC_THRESHOLDS];
} sn_confusion;

/* The state fit and evaluate keep: one sn_confusion per (output, metric). */
struct sn_metric_state {
    int n;
    sn_confusion c[];
};

bool sn_metric_is_stateful(sn_metric_kind kind)
{
    return kind == SN_METRIC_AUC || kind == SN_METRIC_PRECISION ||
           kind == SN_METRIC_RECALL;
}

static double auc_threshold(int i)
{
    if (i == 0)
        return 0.0 - KERAS_EPSILON;
    if (i == AUC_THRESHOLDS - 1)
        return 1.0 + KERAS_EPSILON;
    return (double)i / (AUC_THRESHOLDS - 1);
}

static double no_nan(double a, double b)
{
    return b != 0.0 ? a / b : 0.0;
}

static float sigmoid(float x)
{
    float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

static void confusion_update(sn_confusion *c, sn_metric_kind kind,
                             size_t n, const float *pred, const float *target,
                             bool logits, float threshold)
{
    int n_t = kind == SN_METRIC_AUC ? AUC_THRESHOLDS : 1;
    for (size_t e = 0; e < n; e++) {
        float p = logits ? sigmoid(pred[e]) : pred[e];
        bool pos = target[e] != 0.0f;
        for (int i = 0; i < n_t; i++) {
            double t = kind == SN_METRIC_AUC ? auc_threshold(i) : threshold;
            bool said = (double)p > t;
            c->tp[i] += pos && said;
            c->fp[i] += !pos && said;
            c->tn[i] += !pos && !said;
            c->fn[i] += pos && !said;
        }
    }
}

static double confusion_result(const sn_confusion *c, sn_metric_kind kind)
{
    if (kind == SN_METRIC_PRECISION)
        return no_nan(c->tp[0], c->tp[0] + c->fp[0]);
    if (kind == SN_METRIC_RECALL)
        return no_nan(c->tp[0], c->tp[0] + c->fn[0]);
    double auc = 0.0;
    for (int i = 0; i + 1 < AUC_THRESHOLDS; i++) {
        double x0 = no_nan(c->fp[i], c->fp[i] + c->tn[i]);
        double x1 = no_nan(c->fp[i + 1], c->fp[i + 1] + c->tn[i + 1]);
        double y0 = no_nan(c->tp[i], c->tp[i] + c->fn[i]);
        double y1 = no_nan(c->tp[i + 1], c->tp[i + 1] + c->fn[i + 1]);
        auc += (x0 - x1) * (y0 + y1) / 2.0;
    }
    return auc;
}

/* One batch alone (sn_metric_compute). */
double sn_confusion_once(sn_metric_kind kind, size_t n, const float *pred,
                         const float *target, float threshold)
{
    sn_confusion c;
    memset(&c, 0, sizeof c);
    confusion_update(&c, kind, n, pred, target, false, threshold);
    return confusion_result(&c, kind);
}

/* ------------------------------------------------- the model's state */

void sn_metric_state_free(sn_model *m)
{
    sn_mem_free(&m->mem, m->metric_state);
    m->metric_state = NULL;
}

sn_status sn_metric_state_reset(sn_model *m)
{
    int n = sn_model_num_outputs(m) * m->n_metrics;
    if (m->metric_state == NULL || m->metric_state->n != n) {
        sn_metric_state_free(m);
        size_t bytes = sizeof(struct sn_metric_state) +
                       (size_t)(n > 0 ? n : 0) * sizeof(sn_confusion);
        m->metric_state = sn_mem_alloc(&m->mem, bytes);
        if (m->metric_state == NULL)
            return SN_ERR_NOMEM;
        m->metric_state->n = n;
    }
    memset(m->metric_state->c, 0,
           (size_t)m->metric_state->n * sizeof(sn_confusion));
    return SN_OK;
}

double sn_metric_state_update(sn_model *m, int output, int metric,
                              size_t n, const float *pred,
                              const float *target, bool logits)
{
    sn_metric_kind kind = m->metrics[metric];
    struct sn_metric_state *s = m->metric_state;
    int at = output * m->n_metrics + metric;
    if (s == NULL || at >= s->n) /* no reset before: this batch alone */
        return sn_confusion_once(kind, n, pred, target, 0.5f);
    confusion_update(&s->c[at], kind, n, pred, target, logits, 0.5f);
    return confusion_result(&s->c[at], kind);
}

bool sn_metric_log_is_stateful(const sn_model *m, int log_index)
{
    int per_output = m->n_metrics + m->n_user_metrics;
    if (log_index < 1 || per_output == 0)
        return false;
    int i = (log_index - 1) % per_output;
    return i < m->n_metrics && sn_metric_is_stateful(m->metrics[i]);
}
