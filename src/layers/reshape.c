/*
 * reshape.c - Keras Flatten and Reshape: the same numbers under another
 * per-sample shape.  The data are copied (every tensor owns its buffer);
 * backward adds the gradient back unchanged.  Both drop a mask, as Keras
 * does (the time axis it belonged to is gone or reinterpreted).
 */
#include <limits.h>
#include <string.h>

#include "layers.h"

typedef struct reshape_priv {
    int rank;               /* 0 for Flatten                             */
    int dim[SN_MAX_RANK];   /* target shape; at most one -1              */
} reshape_priv;

/* Elements per sample, or a status when a dim is unknown or it overflows. */
static int known_count(sn_layer *l, const sn_shape *s, long long *count)
{
    long long n = 1;
    for (int d = 0; d < s->rank; d++) {
        if (s->dim[d] <= 0) {
            char buf[96];
            sn_shape_format(s, buf, sizeof buf);
            return sn_fail(SN_ERR_SHAPE, "%s: every input dimension must be "
                           "known, got %s", sn_layer_label(l), buf);
        }
        n *= s->dim[d];
        if (n > INT_MAX)
            return sn_fail(SN_ERR_SHAPE, "%s: more than %d elements per "
                           "sample", sn_layer_label(l), INT_MAX);
    }
    *count = n;
    return SN_OK;
}

/* The target shape with its -1 filled in from count. */
static int reshape_target(sn_layer *l, long long count, sn_shape *out)
{
    const reshape_priv *p = l->priv;
    long long known = 1;
    int unknown = -1;
    out->rank = p->rank;
    for (int d = 0; d < p->rank; d++) {
        out->dim[d] = p->dim[d];
        if (p->dim[d] == -1)
            unknown = d;
        else
            known *= p->dim[d];
        if (known > INT_MAX) /* dims are < 2^31: no overflow before this */
            known = (long long)INT_MAX + 1;
    }
    if (unknown < 0 ? known != count : count % known != 0)
        return sn_fail(SN_ERR_SHAPE, "%s: an input of %lld elements per "
                       "sample cannot take the target shape (%lld elements"
                       "%s)", sn_layer_label(l), count, known,
                       unknown >= 0 ? " times the -1" : "");
    if (unknown >= 0)
        out->dim[unknown] = (int)(count / known);
    return SN_OK;
}

static int reshape_infer(sn_layer *l, const sn_shape *in, int n_in,
                         sn_shape *out, int max_out)
{
    const reshape_priv *p = l->priv;
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st != SN_OK)
        return st;
    long long count = 0;
    st = known_count(l, &in[0], &count);
    if (st != SN_OK)
        return st;
    out[0] = in[0];
    if (p->rank == 0) { /* Flatten */
        out[0].rank = 1;
        out[0].dim[0] = (int)count;
        return 1;
    }
    st = reshape_target(l, count, &out[0]);
    return st != SN_OK ? st : 1;
}

/*
 *  forward                          backward
 *  x [B, N] (any per-sample shape)  dy [B, N]
 *  y = x    [B, N] (new shape)      dx += dy
 */
static sn_status reshape_forward(sn_call *c)
{
    size_t n = (size_t)c->batch * c->in[0]->count;
    c->out[0]->mask = NULL;
    if (n > 0)
        memcpy(c->out[0]->data, c->in[0]->data, n * sizeof(float));
    return SN_OK;
}

static sn_status reshape_backward(sn_call *c)
{
    const float *dy = c->out[0]->grad;
    float *dx = c->in[0]->grad;
    size_t n = (size_t)c->batch * c->in[0]->count;
    if (dy != NULL && dx != NULL)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i];
    return SN_OK;
}

/* Config (Reshape): i32 rank, rank x i32 dims.  Flatten: empty. */
static void reshape_save_config(const sn_layer *l, sn_writer *w)
{
    const reshape_priv *p = l->priv;
    if (p->rank == 0)
        return;
    sn_write_i32(w, p->rank);
    for (int d = 0; d < p->rank; d++)
        sn_write_i32(w, p->dim[d]);
}

static sn_layer *reshape_load_config(sn_reader *r)
{
    int dims[SN_MAX_RANK];
    int rank = sn_read_int(r, 1, SN_MAX_RANK, "Reshape rank");
    for (int d = 0; d < rank && r->status == SN_OK; d++)
        dims[d] = sn_read_i32(r);
    return r->status == SN_OK ? sn_reshape(dims, rank) : NULL;
}

static sn_layer *flatten_load_config(sn_reader *r)
{
    return r->status == SN_OK ? sn_flatten() : NULL;
}

const sn_layer_ops sn_flatten_ops = {
    .type = "Flatten",
    .base_name = "flatten",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = reshape_infer,
    .forward = reshape_forward,
    .backward = reshape_backward,
    .save_config = reshape_save_config,
    .load_config = flatten_load_config,
};

const sn_layer_ops sn_reshape_ops = {
    .type = "Reshape",
    .base_name = "reshape",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = reshape_infer,
    .forward = reshape_forward,
    .backward = reshape_backward,
    .save_config = reshape_save_config,
    .load_config = reshape_load_config,
};

sn_layer_t *sn_flatten(void)
{
    return sn_layer_create(&sn_flatten_ops, sizeof(reshape_priv));
}

/* Dims are positive or (once) -1. */
static bool target_ok(const int *dims, int rank)
{
    int unknown = 0;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == -1)
            unknown++;
        else if (dims[d] <= 0)
            return false;
    }
    return unknown <= 1;
}

sn_layer_t *sn_reshape(const int *target_shape, int rank)
{
    if (target_shape == NULL || rank < 1 || rank > SN_MAX_RANK ||
        !target_ok(target_shape, rank)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_reshape: target_shape must be 1..%d "
                "positive dims with at most one -1 (got rank %d%s)",
                SN_MAX_RANK, rank, target_shape == NULL ? ", NULL" : "");
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_reshape_ops, sizeof(reshape_priv));
    if (l == NULL)
        return NULL;
    reshape_priv *p = l->priv;
    p->rank = rank;
    for (int d = 0; d < rank; d++)
        p->dim[d] = target_shape[d];
    return l;
}
