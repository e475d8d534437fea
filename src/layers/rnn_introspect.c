/*
 * rnn_introspect.c - what the teaching examples look at: per-step
 * gradient norms after a backward pass (the vanishing-gradient plot) and
 * the gate activations of the last forward pass.  Both read the scratch
 * the layer left in its model's training workspace.
 */
#include <string.h>

#include "model/model.h"
#include "rnn_layer.h"

/* The scratch of l's last forward in its model's training workspace. */
static const sn_rnn_scratch *last_scratch(const sn_layer *l,
                                          const char *who, sn_status *st)
{
    *st = SN_OK;
    if (l == NULL) {
        *st = sn_fail(SN_ERR_INVALID_ARG, "%s: layer is NULL", who);
        return NULL;
    }
    if (!sn_rnn_is_recurrent(l) && !sn_rnn_is_bidirectional(l)) {
        *st = sn_fail(SN_ERR_INVALID_ARG, "%s: layer '%s' (%s) is not "
                      "recurrent", who, sn_layer_label(l), l->ops->type);
        return NULL;
    }
    const sn_model *m = l->owner;
    void *s = m != NULL ? sn_exec_node_scratch(m->train_exec, l->node, NULL)
                        : NULL;
    if (s == NULL)
        *st = sn_fail(SN_ERR_STATE, "%s: layer '%s' has not run a "
                      "sn_model_forward yet", who, sn_layer_label(l));
    return s;
}

SN_API int sn_rnn_step_grad_norms(const sn_layer_t *layer, sn_step_grad which,
                                  float *norms, int max_steps)
{
    const char *who = "sn_rnn_step_grad_norms";
    sn_status st;
    const sn_rnn_scratch *s = last_scratch(layer, who, &st);
    if (s == NULL)
        return st;
    if (norms == NULL || (which != SN_STEP_GRAD_HIDDEN &&
                          which != SN_STEP_GRAD_INPUT))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: norms is NULL or which is "
                       "unknown", who);
    if (!s->backward_done)
        return sn_fail(SN_ERR_STATE, "%s: no sn_model_backward since the "
                       "last forward pass", who);
    if (which == SN_STEP_GRAD_INPUT && !s->input_norms)
        return sn_fail(SN_ERR_STATE, "%s: the last backward pass did not "
                       "compute dLoss/dx (a training step on a layer fed by "
                       "a model input skips it); run sn_model_forward and "
                       "sn_model_backward", who);
    if (max_steps < s->steps)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: room for %d steps, the "
                       "sequence has %d", who, max_steps, s->steps);
    memset(norms, 0, (size_t)s->steps * sizeof *norms);
    for (int d = 0; d < s->n_dirs; d++) {
        sn_rnn_ws ws;
        sn_rnn_scratch_ws(s, d, &ws);
        const float *src = which == SN_STEP_GRAD_HIDDEN ? ws.hnorm : ws.xnorm;
        for (int t = 0; t < s->steps; t++)
            norms[t] += src[t];
    }
    return s->steps;
}

SN_API long sn_rnn_gate_activations(const sn_layer_t *layer, float *out,
                                    size_t max_floats, int *dims,
                                    int dims_cap)
{
    const char *who = "sn_rnn_gate_activations";
    sn_status st = sn_dims_out_check(dims, dims_cap, who);
    if (st != SN_OK)
        return st;
    const sn_rnn_scratch *s = last_scratch(layer, who, &st);
    if (s == NULL)
        return st;
    const sn_rnn_cfg *cfg = &s->cfg[0];
    int gh = sn_rnn_gates(cfg) * cfg->units;
    size_t n = (size_t)s->batch * (size_t)s->steps * (size_t)gh;
    if (out == NULL || max_floats < n)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: out must hold %zu floats "
                       "(batch %d x time %d x %d)", who, n, s->batch,
                       s->steps, gh);
    sn_rnn_ws ws;
    sn_rnn_scratch_ws(s, 0, &ws);
    memcpy(out, ws.gates, n * sizeof *out);
    const int shape[3] = { s->batch, s->steps, gh };
    sn_dims_out_copy(dims, dims_cap, shape, 3);
    return (long)n;
}
