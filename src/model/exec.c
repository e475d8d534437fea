/*
 * exec.c - the executor: runs a built model's nodes over one concrete
 * batch, forward in creation order and backward in reverse.
 *
 * An executor owns every activation, mask, gradient and scratch buffer of
 * a pass.  The model keeps one for training (sn_model_forward/backward);
 * sn_model_predict makes its own per call, which is what lets several
 * threads predict with one model.  Buffers only grow, so repeated passes of
 * the same size allocate nothing.
 */
#include <math.h>
#include <string.h>

#include "model.h"

typedef struct sn_buffer {
    void *ptr;
    size_t cap;
} sn_buffer;

struct sn_exec {
    sn_mem mem;
    const sn_model *model;
    float *weight_grads;   /* the model's gradient array, or NULL        */
    int batch;
    bool forward_done;
    bool training;         /* mode of the last forward               */
    bool backward_done;
    bool input_grads;      /* the last backward filled the inputs' grads */
    sn_value *values;      /* per tensor                                 */
    sn_buffer *data;       /* per tensor: float or int32 storage         */
    sn_buffer *grad;       /* per tensor                                 */
    sn_buffer *mask;       /* per tensor                                 */
    sn_buffer *scratch;    /* per node                                   */
};

sn_exec *sn_exec_new(const sn_model *m, float *weight_grads)
{
    sn_mem mem = m->mem;
    sn_exec *e = sn_mem_calloc(&mem, 1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->mem = mem;
    e->model = m;
    e->weight_grads = weight_grads;
    size_t nt = (size_t)m->n_tensors, nn = (size_t)m->n_nodes;
    e->values = sn_mem_calloc(&mem, nt, sizeof *e->values);
    e->data = sn_mem_calloc(&mem, nt, sizeof *e->data);
    e->grad = sn_mem_calloc(&mem, nt, sizeof *e->grad);
    e->mask = sn_mem_calloc(&mem, nt, sizeof *e->mask);
    e->scratch = sn_mem_calloc(&mem, nn, sizeof *e->scratch);
    if (!e->values || !e->data || !e->grad || !e->mask || !e->scratch) {
        sn_exec_free(e);
        return NULL;
    }
    return e;
}

void sn_exec_free(sn_exec *e)
{
    if (e == NULL)
        return;
    sn_mem mem = e->mem;
    for (int t = 0; t < e->model->n_tensors; t++) {
        if (e->data) sn_mem_free(&mem, e->data[t].ptr);
        if (e->grad) sn_mem_free(&mem, e->grad[t].ptr);
        if (e->mask) sn_mem_free(&mem, e->mask[t].ptr);
    }
    for (int n = 0; e->scratch && n < e->model->n_nodes; n++)
        sn_mem_free(&mem, e->scratch[n].ptr);
    sn_mem_free(&mem, e->values);
    sn_mem_free(&mem, e->data);
    sn_mem_free(&mem, e->grad);
    sn_mem_free(&mem, e->mask);
    sn_mem_free(&mem, e->scratch);
    sn_mem_free(&mem, e);
}

static sn_status reserve(sn_exec *e, sn_buffer *b, size_t bytes)
{
    return sn_mem_reserve(&e->mem, &b->ptr, &b->cap, bytes);
}

/* ------------------------------------------------------------ sn_call API */

static const sn_node *call_node(const sn_call *c)
{
    return &c->exec->model->nodes[c->node];
}

float *sn_call_weight(const sn_call *c, int k)
{
    const sn_model *m = c->exec->model;
    return m->values + m->weights[c->layer->first_weight + k].offset;
}

float *sn_call_weight_grad(const sn_call *c, int k)
{
    const sn_model *m = c->exec->model;
    if (c->exec->weight_grads == NULL)
        return NULL;
    return c->exec->weight_grads +
           m->weights[c->layer->first_weight + k].offset;
}

bool sn_call_can_backward(const sn_call *c)
{
    return c->exec->weight_grads != NULL;
}

bool sn_call_wants_weight_grad(const sn_call *c)
{
    return c->layer->trainable && c->exec->weight_grads != NULL;
}

void *sn_call_scratch(sn_call *c, size_t bytes)
{
    sn_buffer *b = &c->exec->scratch[c->node];
    if (reserve(c->exec, b, bytes) != SN_OK)
        return NULL;
    return b->ptr;
}

sn_pool *sn_call_pool(const sn_call *c)
{
    return c->exec->model->threads;
}

uint8_t *sn_call_out_mask(sn_call *c, int k, int time)
{
    int tensor = call_node(c)->first_out + k;
    sn_buffer *b = &c->exec->mask[tensor];
    size_t bytes = (size_t)c->batch * (size_t)(time > 0 ? time : 1);
    if (reserve(c->exec, b, bytes) != SN_OK)
        return NULL;
    c->exec->values[tensor].mask = b->ptr;
    return b->ptr;
}

/* ------------------------------------------------------------ shapes */

/* Gives input k its concrete shape for this call. */
static sn_status concrete_input_shape(const sn_model *m, int k,
                                      const int *timesteps, sn_shape *out)
{
    *out = m->tensors[m->inputs[k]].shape;
    if (out->dim[0] != SN_ANY_TIME || out->rank == 0)
        return SN_OK;
    if (timesteps == NULL || timesteps[k] <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "input %d has variable length: "
                       "timesteps[%d] must be > 0, got %d", k, k,
                       timesteps ? timesteps[k] : 0);
    out->dim[0] = timesteps[k];
    return SN_OK;
}

/* Runs shape inference with this call's concrete sizes. */
static sn_status infer_concrete(sn_exec *e, const int *timesteps)
{
    const sn_model *m = e->model;
    enum { MAX_IO = 64 };
    sn_shape in[MAX_IO], out[MAX_IO];
    int next_input = 0;
    for (int n = 0; n < m->n_nodes; n++) {
        const sn_node *node = &m->nodes[n];
        int n_out;
        if (sn_node_is_input(m, n)) {
            sn_status st = concrete_input_shape(m, next_input++, timesteps,
                                                &out[0]);
            if (st != SN_OK)
                return st;
            n_out = 1;
        } else {
            for (int i = 0; i < node->n_in; i++)
                in[i] = e->values[node->in[i]].shape;
            n_out = node->layer->ops->infer(node->layer, in, node->n_in, out,
                                            MAX_IO);
            if (n_out < 0)
                return n_out;
        }
        for (int k = 0; k < n_out; k++) {
            sn_value *v = &e->values[node->first_out + k];
            v->shape = out[k];
            v->count = sn_shape_count(&out[k]);
            if (v->count == 0)
                return sn_fail(SN_ERR_SHAPE, "layer '%s' has an output of "
                               "unknown or zero size", node->layer->name);
        }
    }
    return SN_OK;
}

static sn_status allocate_values(sn_exec *e)
{
    for (int t = 0; t < e->model->n_tensors; t++) {
        sn_value *v = &e->values[t];
        size_t elems = v->count * (size_t)e->batch;
        if (v->count > SIZE_MAX / 8 / (size_t)e->batch)
            return sn_fail(SN_ERR_INVALID_ARG, "batch of %d is too large",
                           e->batch);
        size_t bytes = elems * (v->shape.dtype == SN_INT32 ? sizeof(int32_t)
                                                          : sizeof(float));
        sn_status st = reserve(e, &e->data[t], bytes);
        if (st != SN_OK)
            return st;
        v->data = v->shape.dtype == SN_FLOAT32 ? e->data[t].ptr : NULL;
        v->ids = v->shape.dtype == SN_INT32 ? e->data[t].ptr : NULL;
        v->mask = NULL;
        v->grad = NULL;
    }
    return SN_OK;
}

/* The training workspace copies the inputs: backward reads them after
 * the call returns, when the caller may have reused its buffers.  A
 * predict workspace lives only for the call and no layer writes its
 * inputs, so it reads the caller's buffers in place. */
static void copy_inputs(sn_exec *e, const void *const *inputs)
{
    const sn_model *m = e->model;
    for (int k = 0; k < m->n_inputs; k++) {
        sn_value *v = &e->values[m->inputs[k]];
        bool ints = v->shape.dtype == SN_INT32;
        if (e->weight_grads == NULL) {
            if (ints)
                v->ids = (int32_t *)inputs[k];
            else
                v->data = (float *)inputs[k];
            continue;
        }
        size_t elem = ints ? sizeof(int32_t) : sizeof(float);
        memcpy(e->data[m->inputs[k]].ptr, inputs[k],
               v->count * (size_t)e->batch * elem);
    }
}

/* ------------------------------------------------------------ passes */

static void make_call(sn_exec *e, int n, bool training, sn_rng *rng,
                      sn_value **in, sn_value **out, sn_call *c)
{
    const sn_node *node = &e->model->nodes[n];
    for (int i = 0; i < node->n_in; i++)
        in[i] = &e->values[node->in[i]];
    for (int k = 0; k < node->n_out; k++)
        out[k] = &e->values[node->first_out + k];
    c->exec = e;
    c->layer = node->layer;
    c->batch = e->batch;
    c->training = training;
    c->in = in;
    c->n_in = node->n_in;
    c->out = out;
    c->n_out = node->n_out;
    c->rng = rng;
    c->node = n;
}

sn_status sn_exec_forward(sn_exec *e, int batch, const void *const *inputs,
                          const int *timesteps, bool training,
                          uint64_t dropout_seed)
{
    const sn_model *m = e->model;
    e->forward_done = false;
    e->backward_done = false;
    if (batch <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "batch must be > 0, got %d", batch);
    if (inputs == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "inputs is NULL");
    for (int k = 0; k < m->n_inputs; k++)
        if (inputs[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "inputs[%d] is NULL", k);
    e->batch = batch;
    e->training = training;
    sn_status st = infer_concrete(e, timesteps);
    if (st == SN_OK)
        st = allocate_values(e);
    if (st != SN_OK)
        return st;
    copy_inputs(e, inputs);
    enum { MAX_IO = 64 };
    sn_value *in[MAX_IO], *out[MAX_IO];
    for (int n = 0; n < m->n_nodes; n++) {
        if (sn_node_is_input(m, n))
            continue;
        sn_rng rng;
        sn_rng_seed(&rng, sn_rng_derive(dropout_seed, (uint64_t)n));
        sn_call c;
        make_call(e, n, training, &rng, in, out, &c);
        st = m->nodes[n].layer->ops->forward(&c);
        if (st != SN_OK)
            return st;
    }
    e->forward_done = true;
    return SN_OK;
}

/* Whether tensor t is one of the model's inputs. */
static bool is_model_input(const sn_model *m, int t)
{
    for (int k = 0; k < m->n_inputs; k++)
        if (m->inputs[k] == t)
            return true;
    return false;
}

/* Zeroed gradient buffers for every float tensor; the model inputs get
 * none unless wanted, so the layers reading them skip their dx (for an
 * LSTM on float input a whole [B*T, G*H] x [G*H, E] product). */
static sn_status allocate_grads(sn_exec *e, bool input_grads)
{
    for (int t = 0; t < e->model->n_tensors; t++) {
        sn_value *v = &e->values[t];
        if (v->shape.dtype != SN_FLOAT32)
            continue;
        if (!input_grads && is_model_input(e->model, t)) {
            v->grad = NULL;
            continue;
        }
        size_t bytes = v->count * (size_t)e->batch * sizeof(float);
        sn_status st = reserve(e, &e->grad[t], bytes);
        if (st != SN_OK)
            return st;
        v->grad = e->grad[t].ptr;
        memset(v->grad, 0, bytes);
    }
    return SN_OK;
}

static sn_status seed_output_grads(sn_exec *e, const float *const *grads)
{
    const sn_model *m = e->model;
    for (int k = 0; k < m->n_outputs; k++) {
        if (grads[k] == NULL)
            continue;
        sn_value *v = &e->values[m->outputs[k]];
        size_t n = v->count * (size_t)e->batch;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(grads[k][i]))
                return sn_fail(SN_ERR_NUMERIC, "output gradient %d holds a "
                               "non-finite value at element %zu", k, i);
            v->grad[i] += grads[k][i];
        }
    }
    return SN_OK;
}

sn_status sn_exec_backward(sn_exec *e, const float *const *output_grads,
                           bool input_grads)
{
    const sn_model *m = e->model;
    if (!e->forward_done)
        return sn_fail(SN_ERR_STATE, "sn_model_backward: run "
                       "sn_model_forward first");
    if (output_grads == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_model_backward: output_grads is NULL");
    e->backward_done = false;
    sn_status st = allocate_grads(e, input_grads);
    if (st == SN_OK)
        st = seed_output_grads(e, output_grads);
    if (st != SN_OK)
        return st;
    enum { MAX_IO = 64 };
    sn_value *in[MAX_IO], *out[MAX_IO];
    for (int n = m->n_nodes - 1; n >= 0; n--) {
        if (sn_node_is_input(m, n))
            continue;
        sn_call c;
        make_call(e, n, e->training, NULL, in, out, &c);
        st = m->nodes[n].layer->ops->backward(&c);
        if (st != SN_OK)
            return st;
    }
    e->backward_done = true;
    e->input_grads = input_grads;
    return SN_OK;
}

sn_status sn_exec_shapes(sn_exec *e, const int *timesteps, size_t *counts)
{
    sn_status st = infer_concrete(e, timesteps);
    if (st != SN_OK)
        return st;
    for (int t = 0; t < e->model->n_tensors; t++)
        counts[t] = e->values[t].count;
    return SN_OK;
}

const sn_value *sn_exec_value(const sn_exec *e, int tensor)
{
    if (e == NULL || !e->forward_done)
        return NULL;
    return &e->values[tensor];
}

void *sn_exec_node_scratch(const sn_exec *e, int node, size_t *bytes)
{
    if (e == NULL || !e->forward_done)
        return NULL;
    if (bytes != NULL)
        *bytes = e->scratch[node].cap;
    return e->scratch[node].ptr;
}

int sn_exec_batch(const sn_exec *e)
{
    return e->batch;
}

bool sn_exec_has_backward(const sn_exec *e)
{
    return e != NULL && e->backward_done;
}

bool sn_exec_has_input_grads(const sn_exec *e)
{
    return sn_exec_has_backward(e) && e->input_grads;
}
