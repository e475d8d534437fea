/*
 * model_run.c - the public forward, backward and predict calls.
 *
 * Training calls share the model's own executor; predict makes a private
 * one per call and only reads the model, so concurrent predicts are safe.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

/* SN_PART_WORKSPACES: the training executor and the pooled predict ones
 * (called by sn_model_free, single-threaded). */
static void free_workspaces(sn_model *m)
{
    sn_exec_free(m->train_exec);
    m->train_exec = NULL;
    for (int i = 0; i < m->n_pool; i++)
        sn_exec_free(m->pool[i]);
    m->n_pool = 0;
}

static sn_status ensure_built(sn_model *m, const char *who)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: model is NULL", who);
    return sn_model_build(m);
}

SN_API sn_status sn_model_forward(sn_model_t *m, int batch,
                                  const void *const *inputs,
                                  const int *timesteps, int training)
{
    sn_status st = ensure_built(m, "sn_model_forward");
    if (st != SN_OK)
        return st;
    if (m->train_exec == NULL) {
        m->train_exec = sn_exec_new(m, m->grads);
        if (m->train_exec == NULL)
            return SN_ERR_NOMEM;
        sn_model_attach(m, SN_PART_WORKSPACES, free_workspaces);
    }
    /* each training forward draws fresh dropout masks, reproducibly */
    uint64_t dropout_seed = sn_rng_derive(m->seed ^ 0x64726f706f7574ULL,
                                          ++m->forward_calls);
    st = sn_exec_forward(m->train_exec, batch, inputs, timesteps,
                         training != 0, dropout_seed);
    if (st != SN_OK) {
        char msg[480];
        snprintf(msg, sizeof msg, "%s", sn_last_error());
        sn_fail(st, "sn_model_forward: %s", msg);
    }
    return st;
}

SN_API const float *sn_model_output(const sn_model_t *m, int k, int *dims,
                                   int dims_cap, int *rank)
{
    if (m == NULL || k < 0 || k >= sn_model_num_outputs(m)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_model_output: no output %d", k);
        return NULL;
    }
    if (sn_dims_out_check(dims, dims_cap, "sn_model_output") != SN_OK)
        return NULL;
    if (!m->built || m->outputs == NULL) {
        sn_fail(SN_ERR_STATE, "sn_model_output: the model is not built "
                "(sn_model_build, then sn_model_forward)");
        return NULL;
    }
    const sn_value *v = sn_exec_value(m->train_exec, m->outputs[k]);
    if (v == NULL) {
        sn_fail(SN_ERR_STATE, "sn_model_output: no successful "
                "sn_model_forward yet");
        return NULL;
    }
    int full[SN_MAX_RANK + 1];
    full[0] = sn_exec_batch(m->train_exec);
    for (int i = 0; i < v->shape.rank; i++)
        full[i + 1] = v->shape.dim[i];
    sn_dims_out_copy(dims, dims_cap, full, v->shape.rank + 1);
    if (rank != NULL)
        *rank = v->shape.rank + 1;
    return v->data;
}

SN_API sn_status sn_model_backward(sn_model_t *m,
                                   const float *const *output_grads)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_backward: model is NULL");
    if (m->train_exec == NULL)
        return sn_fail(SN_ERR_STATE, "sn_model_backward: run "
                       "sn_model_forward first");
    return sn_exec_backward(m->train_exec, output_grads, true);
}

SN_API const float *sn_model_input_grad(const sn_model_t *m, int k)
{
    if (m == NULL || k < 0 || k >= m->n_inputs) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_model_input_grad: no input %d", k);
        return NULL;
    }
    if (!sn_exec_has_backward(m->train_exec)) {
        sn_fail(SN_ERR_STATE, "sn_model_input_grad: run sn_model_backward "
                "first");
        return NULL;
    }
    if (!sn_exec_has_input_grads(m->train_exec)) {
        sn_fail(SN_ERR_STATE, "sn_model_input_grad: the last backward pass "
                "was a training step, which skips the input gradients; run "
                "sn_model_forward and sn_model_backward");
        return NULL;
    }
    const sn_value *v = sn_exec_value(m->train_exec, m->inputs[k]);
    if (v == NULL || v->grad == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_model_input_grad: input %d holds "
                "int32 ids, which have no gradient", k);
        return NULL;
    }
    return v->grad;
}

SN_API sn_status sn_model_zero_grad(sn_model_t *m)
{
    sn_status st = ensure_built(m, "sn_model_zero_grad");
    if (st != SN_OK)
        return st;
    memset(m->grads, 0, m->n_values * sizeof(float));
    return SN_OK;
}

/* A predict workspace: a pooled one if any is free, else a new one. */
static sn_exec *take_workspace(sn_model *m)
{
    sn_exec *e = NULL;
    pthread_mutex_lock(&m->pool_lock);
    if (m->n_pool > 0)
        e = m->pool[--m->n_pool];
    pthread_mutex_unlock(&m->pool_lock);
    return e != NULL ? e : sn_exec_new(m, NULL);
}

static void give_back_workspace(sn_model *m, sn_exec *e)
{
    pthread_mutex_lock(&m->pool_lock);
    int n = (int)(sizeof m->pool / sizeof m->pool[0]);
    if (m->n_pool < n) {
        m->pool[m->n_pool++] = e;
        e = NULL;
        sn_model_attach(m, SN_PART_WORKSPACES, free_workspaces);
    }
    pthread_mutex_unlock(&m->pool_lock);
    sn_exec_free(e);
}


SN_API sn_status sn_model_predict(sn_model_t *m, int batch,
                                  const void *const *inputs,
                                  const int *timesteps, float *const *outputs)
{
    sn_status st = ensure_built(m, "sn_model_predict");
    if (st != SN_OK)
        return st;
    if (outputs == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_predict: outputs is "
                       "NULL");
    for (int k = 0; k < m->n_outputs; k++)
        if (outputs[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "sn_model_predict: "
                           "outputs[%d] is NULL", k);
    sn_exec *e = take_workspace(m);
    if (e == NULL)
        return SN_ERR_NOMEM;
    st = sn_exec_forward(e, batch, inputs, timesteps, false, 0);
    if (st != SN_OK) {
        char msg[480];
        snprintf(msg, sizeof msg, "%s", sn_last_error());
        sn_fail(st, "sn_model_predict: %s", msg);
    }
    for (int k = 0; st == SN_OK && k < m->n_outputs; k++) {
        const sn_value *v = sn_exec_value(e, m->outputs[k]);
        memcpy(outputs[k], v->data, v->count * (size_t)batch * sizeof(float));
    }
    give_back_workspace(m, e);
    return st;
}
