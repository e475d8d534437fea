/*
 * model_graph.c - building a model: inputs, applying layers, outputs and
 * the build step that allocates and initialises the weights.
 *
 * Nodes can only consume tensors that already exist, so creation order is
 * a topological order and the executor simply walks the nodes in order.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

/* ------------------------------------------------------------ input layer */

static int input_infer(sn_layer *l, const sn_shape *in, int n_in,
                       sn_shape *out, int max_out)
{
    (void)in;
    (void)n_in;
    (void)max_out;
    out[0] = *(const sn_shape *)l->priv;
    return 1;
}

/* Config: i32 dtype, i32 rank, i32 dims[rank] (docs/FORMAT.md). */
static void input_save_config(const sn_layer *l, sn_writer *w)
{
    const sn_shape *s = l->priv;
    sn_write_i32(w, (int32_t)s->dtype);
    sn_write_i32(w, s->rank);
    for (int i = 0; i < s->rank; i++)
        sn_write_i32(w, s->dim[i]);
}

/* Whether s is a shape sn_input or sn_input_tokens can make: float
 * [features] or [time, features], int32 [time]; time may be -1. */
static bool input_shape_valid(const sn_shape *s)
{
    if (s->dtype == SN_INT32)
        return s->rank == 1 && (s->dim[0] > 0 || s->dim[0] == SN_ANY_TIME);
    if (s->rank == 1)
        return s->dim[0] > 0;
    return s->rank == 2 && s->dim[1] > 0 &&
           (s->dim[0] > 0 || s->dim[0] == SN_ANY_TIME);
}

/* An unapplied input layer holding the saved shape; the loader turns it
 * into sn_input / sn_input_tokens, which register the model input. */
static sn_layer *input_load_config(sn_reader *r)
{
    sn_shape s = {0};
    s.dtype = (sn_dtype)sn_read_int(r, SN_FLOAT32, SN_INT32, "input dtype");
    s.rank = sn_read_int(r, 1, 2, "input rank");
    for (int i = 0; i < s.rank; i++)
        s.dim[i] = sn_read_i32(r);
    if (r->status != SN_OK)
        return NULL;
    if (!input_shape_valid(&s)) {
        sn_reader_fail(r, SN_ERR_FORMAT, "input layer: invalid shape");
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_input_layer_ops, sizeof(sn_shape));
    if (l != NULL)
        *(sn_shape *)l->priv = s;
    return l;
}

const sn_layer_ops sn_input_layer_ops = {
    .type = "InputLayer",
    .base_name = "input_layer",
    .min_inputs = 0,
    .max_inputs = 0,
    .infer = input_infer,
    .save_config = input_save_config,
    .load_config = input_load_config,
};

bool sn_node_is_input(const sn_model *m, int node)
{
    return m->nodes[node].layer->ops == &sn_input_layer_ops;
}

/* ------------------------------------------------------------ lifetime */

void sn_model_attach(sn_model *m, sn_model_part part,
                     sn_model_part_free free_fn)
{
    m->part_free[part] = free_fn;
}

SN_API sn_model_t *sn_model_new(const sn_model_opts *opts)
{
    sn_model_opts o = SN_MODEL_OPTS_INIT;
    if (sn_opts_merge(&o, sizeof o, opts, "sn_model_new") != SN_OK)
        return NULL;
    sn_mem mem = sn_mem_current();
    sn_model *m = sn_mem_calloc(&mem, 1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->mem = mem;
    m->seed = o.seed;
    m->name = sn_mem_strdup(&mem, o.name != NULL ? o.name : "model");
    if (m->name == NULL) {
        sn_mem_free(&mem, m);
        return NULL;
    }
    if (pthread_mutex_init(&m->pool_lock, NULL) != 0) {
        sn_fail(SN_ERR_NOMEM, "sn_model_new: cannot create a mutex");
        sn_mem_free(&mem, m->name);
        sn_mem_free(&mem, m);
        return NULL;
    }
    return m;
}

SN_API void sn_model_free(sn_model_t *m)
{
    if (m == NULL)
        return;
    sn_mem mem = m->mem;
    /* what run, compile and the text toolkit attached, in part order */
    for (int p = 0; p < SN_MODEL_PARTS; p++)
        if (m->part_free[p] != NULL)
            m->part_free[p](m);
    sn_model_stop_threads(m);
    pthread_mutex_destroy(&m->pool_lock);
    for (int i = 0; i < m->n_nodes; i++) {
        sn_layer_destroy(m->nodes[i].layer);
        sn_mem_free(&mem, m->nodes[i].in);
    }
    for (int i = 0; i < m->n_weights; i++)
        sn_mem_free(&mem, m->weights[i].name);
    sn_mem_free(&mem, m->nodes);
    sn_mem_free(&mem, m->tensors);
    sn_mem_free(&mem, m->inputs);
    sn_mem_free(&mem, m->outputs);
    sn_mem_free(&mem, m->weights);
    sn_mem_free(&mem, m->values);
    sn_mem_free(&mem, m->grads);
    sn_mem_free(&mem, m->name);
    sn_mem_free(&mem, m);
}

/* Grows an array of elem-sized items to hold at least need items. */
static sn_status grow(const sn_mem *mem, void **items, int *cap, int need,
                      size_t elem)
{
    if (need <= *cap)
        return SN_OK;
    int fresh_cap = *cap > 0 ? *cap * 2 : 8;
    while (fresh_cap < need)
        fresh_cap *= 2;
    void *fresh = sn_mem_calloc(mem, (size_t)fresh_cap, elem);
    if (fresh == NULL)
        return SN_ERR_NOMEM;
    if (*items != NULL)
        memcpy(fresh, *items, (size_t)*cap * elem);
    sn_mem_free(mem, *items);
    *items = fresh;
    *cap = fresh_cap;
    return SN_OK;
}

/* ------------------------------------------------------------ naming */

static bool name_taken(const sn_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].layer->name, name) == 0)
            return true;
    return false;
}

/* Keras naming: "dense", then "dense_1", "dense_2", ... */
static sn_status assign_name(sn_model *m, sn_layer *l)
{
    if (l->name != NULL) {
        if (name_taken(m, l->name))
            return sn_fail(SN_ERR_INVALID_ARG, "layer name '%s' is already "
                           "used in this model", l->name);
        return SN_OK;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", l->ops->base_name);
    for (int k = 1; name_taken(m, buf); k++)
        snprintf(buf, sizeof buf, "%s_%d", l->ops->base_name, k);
    l->name = sn_mem_strdup(&l->mem, buf);
    return l->name != NULL ? SN_OK : SN_ERR_NOMEM;
}

/* ------------------------------------------------------------ nodes */

/* Adds a node for l (already validated) with the given input tensors and
 * output shapes; on success the model owns l. */
static sn_status push_node(sn_model *m, sn_layer *l, const int *in, int n_in,
                           const sn_shape *out, int n_out)
{
    sn_status st = grow(&m->mem, (void **)&m->nodes, &m->cap_nodes,
                        m->n_nodes + 1, sizeof *m->nodes);
    if (st == SN_OK)
        st = grow(&m->mem, (void **)&m->tensors, &m->cap_tensors,
                  m->n_tensors + n_out, sizeof *m->tensors);
    if (st != SN_OK)
        return st;
    int *in_copy = NULL;
    if (n_in > 0) {
        in_copy = sn_mem_calloc(&m->mem, (size_t)n_in, sizeof *in_copy);
        if (in_copy == NULL)
            return SN_ERR_NOMEM;
        memcpy(in_copy, in, (size_t)n_in * sizeof *in_copy);
    }
    st = assign_name(m, l);
    if (st != SN_OK) {
        sn_mem_free(&m->mem, in_copy);
        return st;
    }
    sn_node *node = &m->nodes[m->n_nodes];
    node->layer = l;
    node->in = in_copy;
    node->n_in = n_in;
    node->first_out = m->n_tensors;
    node->n_out = n_out;
    for (int k = 0; k < n_out; k++) {
        sn_tensor *t = &m->tensors[m->n_tensors + k];
        t->shape = out[k];
        t->node = m->n_nodes;
        t->slot = k;
    }
    l->owner = m;
    l->node = m->n_nodes;
    m->n_nodes++;
    m->n_tensors += n_out;
    return SN_OK;
}

static sn_status check_buildable(const sn_model *m, const char *who)
{
    if (m->built)
        return sn_fail(SN_ERR_STATE, "%s: the model is already built; no "
                       "layer or input can be added", who);
    return SN_OK;
}

static int add_input(sn_model *m, sn_shape shape, const char *who)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: model is NULL", who);
    sn_status st = check_buildable(m, who);
    if (st != SN_OK)
        return st;
    st = grow(&m->mem, (void **)&m->inputs, &m->cap_inputs, m->n_inputs + 1,
              sizeof *m->inputs);
    if (st != SN_OK)
        return st;
    sn_layer *l = sn_layer_create(&sn_input_layer_ops, sizeof(sn_shape));
    if (l == NULL)
        return SN_ERR_NOMEM;
    *(sn_shape *)l->priv = shape;
    st = push_node(m, l, NULL, 0, &shape, 1);
    if (st != SN_OK) {
        sn_layer_destroy(l);
        return st;
    }
    int id = m->n_tensors - 1;
    m->inputs[m->n_inputs++] = id;
    return id;
}

SN_API int sn_input(sn_model_t *m, int timesteps, int features)
{
    if (features <= 0)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_input: features must be > 0, got %d", features);
    if (timesteps < SN_ANY_TIME)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_input: timesteps must be > 0, "
                       "SN_NO_TIME or SN_ANY_TIME, got %d", timesteps);
    sn_shape s = timesteps == SN_NO_TIME
                     ? sn_shape_1(SN_FLOAT32, features)
                     : sn_shape_2(SN_FLOAT32, timesteps, features);
    return add_input(m, s, "sn_input");
}

SN_API int sn_input_tokens(sn_model_t *m, int timesteps)
{
    if (timesteps == SN_NO_TIME || timesteps < SN_ANY_TIME)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_input_tokens: timesteps must "
                       "be > 0 or SN_ANY_TIME, got %d", timesteps);
    return add_input(m, sn_shape_1(SN_INT32, timesteps), "sn_input_tokens");
}

/* Checks the inputs of an apply; returns SN_OK or a status to hand back
 * (a negative input id is passed through unchanged). */
static int check_apply(const sn_model *m, const sn_layer *l, const int *in,
                       int n_in)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_apply: model is NULL");
    if (n_in < 0 || (n_in > 0 && in == NULL))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_apply: inputs is NULL or "
                       "n_inputs is negative (%d)", n_in);
    for (int i = 0; i < n_in; i++)
        if (in[i] < 0)
            return in[i]; /* an earlier step failed: keep its status */
    if (l == NULL) {
        /* a constructor failed: hand on its status and its message */
        sn_status cause = sn_last_status();
        return sn_fail(cause != SN_OK ? cause : SN_ERR_INVALID_ARG,
                       "sn_apply: layer is NULL (did its constructor fail? "
                       "it said: %.300s)", sn_last_error());
    }
    sn_status st = check_buildable(m, "sn_apply");
    if (st != SN_OK)
        return st;
    const char *name = sn_layer_name(l);
    if (n_in < l->ops->min_inputs || n_in > l->ops->max_inputs)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_apply: layer '%s' (%s) takes "
                       "%d to %d inputs, got %d", name, l->ops->type,
                       l->ops->min_inputs, l->ops->max_inputs, n_in);
    for (int i = 0; i < n_in; i++)
        if (in[i] >= m->n_tensors)
            return sn_fail(SN_ERR_INVALID_ARG, "sn_apply: tensor id %d does "
                           "not exist in this model (it has %d)", in[i],
                           m->n_tensors);
    return SN_OK;
}

enum { SN_MAX_LAYER_IO = 64 };

SN_API int sn_apply_n(sn_model_t *m, sn_layer_t *l, const int *in, int n_in,
                      int *outputs, int max_outputs)
{
    if (l != NULL && l->owner != NULL)
        return sn_fail(SN_ERR_STATE, "sn_apply: layer '%s' is already "
                       "applied; a layer instance can be used once",
                       l->name);
    int st = check_apply(m, l, in, n_in);
    if (st == SN_OK && (max_outputs < 0 || (max_outputs > 0 && !outputs)))
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_apply_n: outputs is NULL or "
                     "max_outputs is negative");
    if (st == SN_OK && n_in > SN_MAX_LAYER_IO)
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_apply_n: at most %d inputs",
                     SN_MAX_LAYER_IO);
    sn_shape in_shapes[SN_MAX_LAYER_IO];
    sn_shape out_shapes[SN_MAX_LAYER_IO];
    int n_out = 0;
    if (st == SN_OK) {
        for (int i = 0; i < n_in; i++)
            in_shapes[i] = m->tensors[in[i]].shape;
        n_out = l->ops->infer(l, in_shapes, n_in, out_shapes,
                              SN_MAX_LAYER_IO);
        if (n_out < 0)
            st = n_out;
    }
    if (st == SN_OK)
        st = push_node(m, l, in, n_in, out_shapes, n_out);
    if (st != SN_OK) {
        sn_layer_destroy(l);
        return st;
    }
    int first = m->n_tensors - n_out;
    for (int k = 0; k < n_out && k < max_outputs; k++)
        outputs[k] = first + k;
    return n_out;
}

SN_API int sn_apply(sn_model_t *m, sn_layer_t *l, int input)
{
    int out = -1;
    int n = sn_apply_n(m, l, &input, 1, &out, 1);
    return n < 0 ? n : out;
}

SN_API sn_status sn_model_add(sn_model_t *m, sn_layer_t *l)
{
    if (m != NULL && m->n_tensors == 0) {
        sn_layer_free(l);
        return sn_fail(SN_ERR_STATE, "sn_model_add: the model has no input; "
                       "call sn_input or sn_input_tokens first");
    }
    int input = m != NULL ? m->n_tensors - 1 : 0;
    int out = sn_apply(m, l, input);
    return out < 0 ? (sn_status)out : SN_OK;
}

SN_API sn_status sn_model_set_outputs(sn_model_t *m, const int *outputs,
                                      int n)
{
    if (m == NULL || outputs == NULL || n <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_outputs: need a "
                       "model and at least one output id");
    sn_status st = check_buildable(m, "sn_model_set_outputs");
    if (st != SN_OK)
        return st;
    for (int i = 0; i < n; i++) {
        if (outputs[i] < 0)
            return outputs[i]; /* an earlier apply failed */
        if (outputs[i] >= m->n_tensors)
            return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_outputs: tensor "
                           "id %d does not exist", outputs[i]);
        if (m->tensors[outputs[i]].shape.dtype != SN_FLOAT32)
            return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_outputs: tensor "
                           "%d holds int32 ids; outputs must be float",
                           outputs[i]);
    }
    int *copy = sn_mem_calloc(&m->mem, (size_t)n, sizeof *copy);
    if (copy == NULL)
        return SN_ERR_NOMEM;
    memcpy(copy, outputs, (size_t)n * sizeof *copy);
    sn_mem_free(&m->mem, m->outputs);
    m->outputs = copy;
    m->n_outputs = n;
    return SN_OK;
}

/* ------------------------------------------------------------ build */

struct sn_build {
    sn_model *model;
    int node;
};

int sn_build_weight(sn_build *b, const char *name, int rank, const int *dims,
                    sn_initializer init, int fan_in, int fan_out)
{
    sn_model *m = b->model;
    sn_layer *l = m->nodes[b->node].layer;
    if (rank < 1 || rank > SN_MAX_RANK)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: weight rank %d", l->name, rank);
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] <= 0)
            return sn_fail(SN_ERR_SHAPE, "%s: weight '%s' needs a known "
                           "input size, got dimension %d", l->name, name,
                           dims[i]);
        if (count > SIZE_MAX / 4 / (size_t)dims[i])
            return sn_fail(SN_ERR_INVALID_ARG, "%s: weight '%s' is too large",
                           l->name, name);
        count *= (size_t)dims[i];
    }
    sn_status st = grow(&m->mem, (void **)&m->weights, &m->cap_weights,
                        m->n_weights + 1, sizeof *m->weights);
    if (st != SN_OK)
        return st;
    char full[512];
    snprintf(full, sizeof full, "%s/%s", l->name, name);
    sn_weight *w = &m->weights[m->n_weights];
    w->name = sn_mem_strdup(&m->mem, full);
    if (w->name == NULL)
        return SN_ERR_NOMEM;
    w->rank = rank;
    for (int i = 0; i < rank; i++)
        w->dim[i] = dims[i];
    w->offset = m->n_values;
    w->count = count;
    w->init = init;
    w->fan_in = fan_in;
    w->fan_out = fan_out;
    w->node = b->node;
    if (l->first_weight < 0)
        l->first_weight = m->n_weights;
    l->n_weights++;
    m->n_weights++;
    m->n_values += count;
    return l->n_weights - 1;
}

static sn_status register_weights(sn_model *m)
{
    sn_shape in_shapes[SN_MAX_LAYER_IO];
    for (int i = 0; i < m->n_nodes; i++) {
        sn_node *node = &m->nodes[i];
        if (node->layer->ops->build == NULL)
            continue;
        for (int k = 0; k < node->n_in; k++)
            in_shapes[k] = m->tensors[node->in[k]].shape;
        sn_build b = { m, i };
        sn_status st = node->layer->ops->build(node->layer, &b, in_shapes,
                                               node->n_in);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

static sn_status initialise_weights(sn_model *m)
{
    for (int i = 0; i < m->n_weights; i++) {
        const sn_weight *w = &m->weights[i];
        int cols = w->dim[w->rank - 1];
        int rows = (int)(w->count / (size_t)cols);
        /* one stream per weight: adding a layer never changes the others */
        sn_rng rng;
        sn_rng_seed(&rng, sn_rng_derive(m->seed, (uint64_t)i + 1));
        sn_status st = sn_init_fill(w->init, &rng, w->fan_in, w->fan_out,
                                    rows, cols, m->values + w->offset,
                                    &m->mem);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

/* Undoes a failed build so that the model stays as it was. */
static void unbuild(sn_model *m)
{
    for (int i = 0; i < m->n_weights; i++)
        sn_mem_free(&m->mem, m->weights[i].name);
    m->n_weights = 0;
    m->n_values = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        m->nodes[i].layer->first_weight = -1;
        m->nodes[i].layer->n_weights = 0;
    }
    sn_mem_free(&m->mem, m->values);
    sn_mem_free(&m->mem, m->grads);
    m->values = m->grads = NULL;
}

SN_API sn_status sn_model_build(sn_model_t *m)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_build: model is NULL");
    if (m->built)
        return SN_OK;
    if (m->n_inputs == 0)
        return sn_fail(SN_ERR_STATE, "sn_model_build: the model has no input");
    if (m->n_outputs == 0) {
        int last = m->n_tensors - 1;
        sn_status st = sn_model_set_outputs(m, &last, 1);
        if (st != SN_OK)
            return st;
    }
    sn_status st = register_weights(m);
    if (st == SN_OK) {
        m->values = sn_mem_calloc(&m->mem, m->n_values, sizeof(float));
        m->grads = sn_mem_calloc(&m->mem, m->n_values, sizeof(float));
        if (m->values == NULL || m->grads == NULL)
            st = SN_ERR_NOMEM;
    }
    if (st == SN_OK)
        st = initialise_weights(m);
    if (st == SN_OK)
        st = sn_model_start_threads(m);
    if (st != SN_OK) {
        unbuild(m);
        return st;
    }
    m->built = true;
    return SN_OK;
}

/* ------------------------------------------------------------ queries */

SN_API int sn_model_num_inputs(const sn_model_t *m)
{
    return m != NULL ? m->n_inputs : 0;
}

SN_API int sn_model_num_outputs(const sn_model_t *m)
{
    if (m == NULL)
        return 0;
    return m->n_outputs > 0 ? m->n_outputs : (m->n_tensors > 0 ? 1 : 0);
}

SN_API int sn_model_num_layers(const sn_model_t *m)
{
    return m != NULL ? m->n_nodes : 0;
}

SN_API sn_layer_t *sn_model_layer(const sn_model_t *m, int index)
{
    if (m == NULL || index < 0 || index >= m->n_nodes) {
        sn_fail(SN_ERR_NOT_FOUND, "sn_model_layer: no layer %d", index);
        return NULL;
    }
    return m->nodes[index].layer;
}

SN_API sn_layer_t *sn_model_find_layer(const sn_model_t *m, const char *name)
{
    if (m == NULL || name == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_model_find_layer: NULL argument");
        return NULL;
    }
    for (int i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].layer->name, name) == 0)
            return m->nodes[i].layer;
    sn_fail(SN_ERR_NOT_FOUND, "sn_model_find_layer: no layer named '%s'",
            name);
    return NULL;
}

SN_API int sn_model_tensor_shape(const sn_model_t *m, int tensor, int *dims,
                                 int dims_cap, sn_dtype *dtype)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_model_tensor_shape: model is NULL");
    sn_status st = sn_dims_out_check(dims, dims_cap, "sn_model_tensor_shape");
    if (st != SN_OK)
        return st;
    if (tensor < 0 || tensor >= m->n_tensors)
        return sn_fail(SN_ERR_NOT_FOUND, "sn_model_tensor_shape: no tensor "
                       "%d (the model has %d)", tensor, m->n_tensors);
    const sn_shape *s = &m->tensors[tensor].shape;
    sn_dims_out_copy(dims, dims_cap, s->dim, s->rank);
    if (dtype != NULL)
        *dtype = s->dtype;
    return s->rank;
}

SN_API int sn_model_input_id(const sn_model_t *m, int k)
{
    if (m == NULL || k < 0 || k >= m->n_inputs)
        return sn_fail(SN_ERR_NOT_FOUND, "sn_model_input_id: no input %d", k);
    return m->inputs[k];
}

SN_API int sn_model_output_id(const sn_model_t *m, int k)
{
    if (m != NULL && m->n_outputs == 0 && k == 0 && m->n_tensors > 0)
        return m->n_tensors - 1;
    if (m == NULL || k < 0 || k >= m->n_outputs)
        return sn_fail(SN_ERR_NOT_FOUND, "sn_model_output_id: no output %d",
                       k);
    return m->outputs[k];
}
