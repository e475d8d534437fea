/*
 * mha.c - Keras MultiHeadAttention: configuration, shape inference,
 * weights and saving.  The arithmetic is in mha_compute.c.
 *
 * Inputs (query, value) or (query, value, key), each [time, features];
 * outputs [Tq, out_dim] and, with return_attention_scores, the softmax
 * weights [heads, Tq, Tk].
 *
 * Initialiser fans: Keras builds the projections as EinsumDense layers,
 * whose kernels are rank 3, and its compute_fans treats every axis but the
 * last two as a receptive field:
 *   kernel (a, b, c): fan_in = a * b, fan_out = a * c.
 * So query/key kernels (D, H, kd) get fan_in = D*H, fan_out = D*kd, value
 * (D, H, vd) fan_in = D*H, fan_out = D*vd, and the output kernel (H, vd, O)
 * fan_in = H*vd, fan_out = H*O.  We use the same numbers so that a
 * glorot_uniform draw has Keras' range (this is not the "true" fan of the
 * projection, but it is what Keras does).  Biases: (H, kd) gives H, kd;
 * (O) gives O, O.
 */
#include <limits.h>
#include <stdio.h>

#include "mha_impl.h"

/* Input features must be known to size the kernels. */
static sn_status check_input(sn_layer *l, const sn_shape *in, const char *what)
{
    sn_status st = sn_expect_float(l, in);
    if (st == SN_OK)
        st = sn_expect_rank(l, in, 2);
    if (st != SN_OK)
        return st;
    if (in->dim[1] <= 0) {
        char buf[96];
        sn_shape_format(in, buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE, "%s: the %s's feature axis must be "
                       "known, got %s", sn_layer_label(l), what, buf);
    }
    return SN_OK;
}

static int mha_infer(sn_layer *l, const sn_shape *in, int n_in,
                     sn_shape *out, int max_out)
{
    const mha_priv *p = l->priv;
    static const char *const what[3] = {"query", "value", "key"};
    for (int i = 0; i < n_in; i++) {
        sn_status st = check_input(l, &in[i], what[i]);
        if (st != SN_OK)
            return st;
    }
    const sn_shape *key = n_in > 2 ? &in[2] : &in[1];
    int tv = in[1].dim[0], tk = key->dim[0];
    if (tv > 0 && tk > 0 && tv != tk)
        return sn_fail(SN_ERR_SHAPE, "%s: key and value must have the same "
                       "number of steps, got %d and %d", sn_layer_label(l),
                       tk, tv);
    int n_out = p->opts.return_attention_scores ? 2 : 1;
    if (max_out < n_out)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: room for %d outputs needed",
                       sn_layer_label(l), n_out);
    int out_dim = p->opts.output_shape > 0 ? p->opts.output_shape
                                           : in[0].dim[1];
    out[0] = sn_shape_2(SN_FLOAT32, in[0].dim[0], out_dim);
    if (n_out > 1) {
        out[1] = sn_shape_2(SN_FLOAT32, p->heads, in[0].dim[0]);
        out[1].rank = 3;
        out[1].dim[2] = tv > 0 ? tv : tk;
    }
    return n_out;
}

/* A product of weight dims that must fit an int (sgemm sizes). */
static sn_status fits(const sn_layer *l, long long a, long long b)
{
    if (a * b > INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: weights too large (%lld x "
                       "%lld)", sn_layer_label(l), a, b);
    return SN_OK;
}

/* Registers kernel (d0, d1, d2) and, with use_bias, bias (d1, d2) or, for
 * rank-1 biases (the output projection), (d2). */
static sn_status add_projection(sn_layer *l, sn_build *b, const char *name,
                                int d0, int d1, int d2, int bias_rank)
{
    const mha_priv *p = l->priv;
    char full[64];
    sn_status st = fits(l, (long long)d0 * d1, d2);
    if (st == SN_OK)
        st = fits(l, d0, (long long)d1 > d2 ? d1 : d2);
    if (st != SN_OK)
        return st;
    int kdims[3] = {d0, d1, d2};
    snprintf(full, sizeof full, "%s/kernel", name);
    int k = sn_build_weight(b, full, 3, kdims, p->opts.kernel_initializer,
                            d0 * d1, d0 * d2);
    if (k < 0 || !p->opts.use_bias)
        return k < 0 ? (sn_status)k : SN_OK;
    int bdims[2] = {d1, d2};
    snprintf(full, sizeof full, "%s/bias", name);
    if (bias_rank == 1)
        k = sn_build_weight(b, full, 1, &bdims[1], p->opts.bias_initializer,
                            d2, d2);
    else
        k = sn_build_weight(b, full, 2, bdims, p->opts.bias_initializer, d1,
                            d2);
    return k < 0 ? (sn_status)k : SN_OK;
}

static sn_status mha_build(sn_layer *l, sn_build *b, const sn_shape *in,
                           int n_in)
{
    const mha_priv *p = l->priv;
    int h = p->heads, kd = p->key_dim, vd = p->opts.value_dim;
    int dq = in[0].dim[1], dv = in[1].dim[1];
    int dk = n_in > 2 ? in[2].dim[1] : dv;
    int out = p->opts.output_shape > 0 ? p->opts.output_shape : dq;
    sn_status st = add_projection(l, b, "query", dq, h, kd, 2);
    if (st == SN_OK)
        st = add_projection(l, b, "key", dk, h, kd, 2);
    if (st == SN_OK)
        st = add_projection(l, b, "value", dv, h, vd, 2);
    if (st == SN_OK)
        st = add_projection(l, b, "attention_output", h, vd, out, 1);
    return st;
}

/* Config: i32 num_heads, key_dim, value_dim; f32 dropout; i32 use_bias,
 * output_shape, use_causal_mask, return_attention_scores, kernel and bias
 * initialisers. */
static void mha_save_config(const sn_layer *l, sn_writer *w)
{
    const mha_priv *p = l->priv;
    sn_write_i32(w, p->heads);
    sn_write_i32(w, p->key_dim);
    sn_write_i32(w, p->opts.value_dim);
    sn_write_f32(w, p->opts.dropout);
    sn_write_i32(w, p->opts.use_bias);
    sn_write_i32(w, p->opts.output_shape);
    sn_write_i32(w, p->opts.use_causal_mask);
    sn_write_i32(w, p->opts.return_attention_scores);
    sn_write_i32(w, (int32_t)p->opts.kernel_initializer);
    sn_write_i32(w, (int32_t)p->opts.bias_initializer);
}

/* The constructor validates the numbers; flags are read as 0/1 only,
 * since the constructor would take any nonzero value. */
static sn_layer *mha_load_config(sn_reader *r)
{
    sn_mha_opts o = SN_MHA_OPTS_INIT;
    int heads = sn_read_i32(r);
    int key_dim = sn_read_i32(r);
    o.value_dim = sn_read_int(r, 1, INT_MAX, "MultiHeadAttention value_dim");
    o.dropout = sn_read_f32(r);
    o.use_bias = sn_read_int(r, 0, 1, "MultiHeadAttention use_bias");
    o.output_shape = sn_read_int(r, 0, INT_MAX,
                                 "MultiHeadAttention output_shape");
    o.use_causal_mask = sn_read_int(r, 0, 1,
                                    "MultiHeadAttention use_causal_mask");
    o.return_attention_scores =
        sn_read_int(r, 0, 1, "MultiHeadAttention return_attention_scores");
    o.kernel_initializer = (sn_initializer)sn_read_i32(r);
    o.bias_initializer = (sn_initializer)sn_read_i32(r);
    if (r->status != SN_OK)
        return NULL;
    return sn_multi_head_attention(heads, key_dim, &o);
}

const sn_layer_ops sn_mha_ops = {
    .type = "MultiHeadAttention",
    .base_name = "multi_head_attention",
    .min_inputs = 2,
    .max_inputs = 3,
    .infer = mha_infer,
    .build = mha_build,
    .forward = sn_mha_forward,
    .backward = sn_mha_backward,
    .destroy = NULL,
    .save_config = mha_save_config,
    .load_config = mha_load_config,
};

static bool init_valid(sn_initializer init)
{
    return (int)init >= SN_INIT_DEFAULT && (int)init <= SN_INIT_RANDOM_NORMAL;
}

/* Checks the merged options; resolves defaults in place. */
static sn_status check_opts(int num_heads, int key_dim, sn_mha_opts *o)
{
    static const char who[] = "sn_multi_head_attention";
    if (num_heads <= 0 || key_dim <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: num_heads and key_dim must "
                       "be > 0, got %d and %d", who, num_heads, key_dim);
    if (o->value_dim < 0 || o->output_shape < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: value_dim and output_shape "
                       "must be >= 0 (0 = default), got %d and %d", who,
                       o->value_dim, o->output_shape);
    if (!(o->dropout >= 0.0f && o->dropout < 1.0f))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: dropout must be in [0, 1), "
                       "got %g", who, (double)o->dropout);
    if (!init_valid(o->kernel_initializer) ||
        !init_valid(o->bias_initializer))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown initializer (kernel "
                       "%d, bias %d)", who, (int)o->kernel_initializer,
                       (int)o->bias_initializer);
    if (o->value_dim == 0)
        o->value_dim = key_dim;
    /* Heads sit side by side in one feature axis of the projections. */
    if ((long long)num_heads * key_dim > INT_MAX ||
        (long long)num_heads * o->value_dim > INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: num_heads * key_dim or "
                       "num_heads * value_dim is too large", who);
    if (o->kernel_initializer == SN_INIT_DEFAULT)
        o->kernel_initializer = SN_INIT_GLOROT_UNIFORM;
    if (o->bias_initializer == SN_INIT_DEFAULT)
        o->bias_initializer = SN_INIT_ZEROS;
    o->use_bias = o->use_bias != 0;
    o->use_causal_mask = o->use_causal_mask != 0;
    o->return_attention_scores = o->return_attention_scores != 0;
    return SN_OK;
}

sn_layer_t *sn_multi_head_attention(int num_heads, int key_dim,
                                    const sn_mha_opts *opts)
{
    sn_mha_opts o = SN_MHA_OPTS_INIT;
    if (opts != NULL &&
        sn_opts_merge(&o, sizeof o, opts, "sn_multi_head_attention") != SN_OK)
        return NULL;
    if (check_opts(num_heads, key_dim, &o) != SN_OK)
        return NULL;
    sn_layer *l = sn_layer_create(&sn_mha_ops, sizeof(mha_priv));
    if (l == NULL)
        return NULL;
    mha_priv *p = l->priv;
    p->heads = num_heads;
    p->key_dim = key_dim;
    p->opts = o;
    return l;
}
