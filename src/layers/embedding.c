/*
 * embedding.c - Keras Embedding: int32 ids [time] -> rows of a
 * [input_dim, output_dim] table.  With mask_zero, id 0 is padding: the layer
 * emits mask = (id != 0), and padded steps add nothing to the table's
 * gradient (Keras gets the same only when every consumer honours the mask;
 * here it holds regardless).
 */
#include <string.h>

#include "layers.h"

typedef struct embedding_priv {
    int input_dim, output_dim;
    sn_embedding_opts opts;
} embedding_priv;

static int embedding_infer(sn_layer *l, const sn_shape *in, int n_in,
                           sn_shape *out, int max_out)
{
    const embedding_priv *p = l->priv;
    (void)n_in;
    (void)max_out;
    if (in[0].dtype != SN_INT32) {
        char buf[96];
        sn_shape_format(&in[0], buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE,
                       "%s: expected int32 token ids (sn_input_tokens), got "
                       "float32 %s",
                       sn_layer_label(l), buf);
    }
    sn_status st = sn_expect_rank(l, &in[0], 1);
    if (st != SN_OK)
        return st;
    out[0] = sn_shape_2(SN_FLOAT32, in[0].dim[0], p->output_dim);
    return 1;
}

static sn_status embedding_build(sn_layer *l, sn_build *b, const sn_shape *in,
                                 int n_in)
{
    const embedding_priv *p = l->priv;
    (void)in;
    (void)n_in;
    int dims[2] = {p->input_dim, p->output_dim};
    int k = sn_build_weight(b, "embeddings", 2, dims,
                            p->opts.embeddings_initializer, p->input_dim,
                            p->output_dim);
    return k < 0 ? (sn_status)k : SN_OK;
}

/*
 *  forward                                  backward
 *  ids [B, T]  E [V, D]                     dy [B, T, D]
 *  y[b,t,:] = E[ids[b,t], :]   [B, T, D]    dE[ids[b,t], :] += dy[b,t,:]
 *  mask[b,t] = ids[b,t] != 0   (mask_zero)     (skipped where mask == 0)
 */
static sn_status embedding_forward(sn_call *c)
{
    const embedding_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    int t_len = x->shape.dim[0], d = p->output_dim;
    const float *e = sn_call_weight(c, 0);

    /* Check every id before writing anything. */
    for (int b = 0; b < c->batch; b++)
        for (int t = 0; t < t_len; t++) {
            int32_t id = x->ids[(size_t)b * t_len + t];
            if (id < 0 || id >= p->input_dim)
                return sn_fail(SN_ERR_INVALID_ARG,
                               "%s: token id %d at batch %d, step %d is out "
                               "of range [0, %d)",
                               sn_layer_label(c->layer), (int)id, b, t, p->input_dim);
        }

    size_t steps = (size_t)c->batch * t_len;
    for (size_t s = 0; s < steps; s++)
        memcpy(y->data + s * d, e + (size_t)x->ids[s] * d,
               (size_t)d * sizeof(float));

    if (!p->opts.mask_zero) {
        y->mask = NULL;
        return SN_OK;
    }
    uint8_t *mask = sn_call_out_mask(c, 0, t_len);
    if (mask == NULL)
        return SN_ERR_NOMEM;
    for (size_t s = 0; s < steps; s++)
        mask[s] = x->ids[s] != 0;
    y->mask = mask;
    return SN_OK;
}

static sn_status embedding_backward(sn_call *c)
{
    const embedding_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    const sn_value *y = c->out[0];
    if (y->grad == NULL || !sn_call_wants_weight_grad(c))
        return SN_OK; /* ids have no gradient */
    int d = p->output_dim;
    size_t steps = (size_t)c->batch * x->shape.dim[0];
    float *de = sn_call_weight_grad(c, 0);
    for (size_t s = 0; s < steps; s++) {
        int32_t id = x->ids[s];
        if (p->opts.mask_zero && id == 0)
            continue;
        float *row = de + (size_t)id * d;
        const float *g = y->grad + s * d;
        for (int j = 0; j < d; j++)
            row[j] += g[j];
    }
    return SN_OK;
}

/* Config: i32 input_dim, i32 output_dim, i32 mask_zero, i32 initialiser. */
static void embedding_save_config(const sn_layer *l, sn_writer *w)
{
    const embedding_priv *p = l->priv;
    sn_write_i32(w, p->input_dim);
    sn_write_i32(w, p->output_dim);
    sn_write_i32(w, p->opts.mask_zero);
    sn_write_i32(w, (int32_t)p->opts.embeddings_initializer);
}

static sn_layer *embedding_load_config(sn_reader *r)
{
    int input_dim = sn_read_i32(r);
    int output_dim = sn_read_i32(r);
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    o.mask_zero = sn_read_int(r, 0, 1, "Embedding mask_zero");
    o.embeddings_initializer = (sn_initializer)sn_read_i32(r);
    if (r->status != SN_OK)
        return NULL;
    return sn_embedding(input_dim, output_dim, &o);
}

const sn_layer_ops sn_embedding_ops = {
    .type = "Embedding",
    .base_name = "embedding",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = embedding_infer,
    .build = embedding_build,
    .forward = embedding_forward,
    .backward = embedding_backward,
    .destroy = NULL,
    .save_config = embedding_save_config,
    .load_config = embedding_load_config,
};

sn_layer_t *sn_embedding(int input_dim, int output_dim,
                         const sn_embedding_opts *opts)
{
    if (input_dim <= 0) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_embedding: input_dim must be > 0, got %d", input_dim);
        return NULL;
    }
    if (output_dim <= 0) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_embedding: output_dim must be > 0, got %d", output_dim);
        return NULL;
    }
    sn_embedding_opts o = SN_EMBEDDING_OPTS_INIT;
    if (opts != NULL &&
        sn_opts_merge(&o, sizeof o, opts, "sn_embedding") != SN_OK)
        return NULL;
    int init = (int)o.embeddings_initializer;
    if (init < SN_INIT_DEFAULT || init > SN_INIT_RANDOM_NORMAL) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_embedding: unknown embeddings_initializer %d", init);
        return NULL;
    }
    if (o.embeddings_initializer == SN_INIT_DEFAULT)
        o.embeddings_initializer = SN_INIT_RANDOM_UNIFORM;
    o.mask_zero = o.mask_zero != 0;

    sn_layer *l = sn_layer_create(&sn_embedding_ops, sizeof(embedding_priv));
    if (l == NULL)
        return NULL;
    embedding_priv *p = l->priv;
    p->input_dim = input_dim;
    p->output_dim = output_dim;
    p->opts = o;
    return l;
}
