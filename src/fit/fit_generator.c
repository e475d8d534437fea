/*
 * fit_generator.c - the parts of sn_model_fit_generator that are not the
 * fit loop itself (fit.c runs the epochs): asking the producer for a
 * batch, checking what it gave, and validation over produced batches.
 */
#include <string.h>

#include "fit.h"

static sn_status check_batch(const sn_model *m, const sn_batch *b,
                             const char *who, int step)
{
    if (b->batch < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: batch %d has %d rows", who,
                       step, b->batch);
    if (b->inputs == NULL || b->targets == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: batch %d has no %s", who,
                       step, b->inputs == NULL ? "inputs" : "targets");
    for (int k = 0; k < m->n_inputs; k++)
        if (b->inputs[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: batch %d: inputs[%d] is "
                           "NULL", who, step, k);
    for (int k = 0; k < m->n_outputs; k++)
        if (b->targets[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: batch %d: targets[%d] "
                           "is NULL", who, step, k);
    return SN_OK;
}

int sn_generator_next(const sn_model *m, sn_batch_fn fn, void *user,
                      int epoch, int step, sn_batch *out, const char *who)
{
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    int r = fn(user, epoch, step, out);
    if (r < 0) {
        sn_status st = (sn_status)r;
        return sn_last_status() == st
                   ? st /* the producer's own message, if it set one */
                   : sn_fail(st, "%s: the batch producer stopped with "
                             "status %d at batch %d", who, r, step);
    }
    if (r == 0)
        return 0;
    if (r != 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: the batch producer returned "
                       "%d (expected 1, 0 or a negative status)", who, r);
    sn_status st = check_batch(m, out, who, step);
    return st != SN_OK ? (int)st : 1;
}

sn_status sn_evaluate_generator(sn_model *m, sn_batch_fn fn, void *user,
                                int epoch, int steps, double *results)
{
    static const char who[] = "sn_model_fit_generator (validation)";
    int n_results = m->n_metric_names;
    double sums[256] = { 0 }, batch_logs[256];
    if (n_results > 256)
        return sn_fail(SN_ERR_UNSUPPORTED, "%s: at most 256 metrics", who);
    sn_status st = sn_metric_state_reset(m);
    if (st != SN_OK)
        return st;
    const float *grads[64];
    long seen = 0;
    for (int step = 0; steps == 0 || step < steps; step++) {
        sn_batch b;
        int r = sn_generator_next(m, fn, user, epoch, step, &b, who);
        if (r < 0)
            return (sn_status)r;
        if (r == 0)
            break;
        st = sn_model_forward(m, b.batch, b.inputs, b.timesteps, 0);
        if (st == SN_OK)
            st = sn_model_loss_and_grad(m, b.batch, b.targets,
                                        b.sample_weights, &batch_logs[0],
                                        grads);
        if (st == SN_OK) {
            double penalty;
            sn_weight_rules_penalty(m, NULL, &penalty);
            batch_logs[0] += penalty;
            st = sn_compute_metrics(m, b.batch, b.targets, &batch_logs[1]);
        }
        if (st != SN_OK)
            return st;
        seen += b.batch;
        for (int i = 0; i < n_results; i++) /* stateful: the last value */
            sums[i] = sn_metric_log_is_stateful(m, i)
                          ? batch_logs[i] : sums[i] + batch_logs[i] * b.batch;
    }
    if (seen == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: the producer gave no batch",
                       who);
    for (int i = 0; i < n_results; i++)
        results[i] = sn_metric_log_is_stateful(m, i) ? sums[i]
                                                     : sums[i] / (double)seen;
    return SN_OK;
}
