/*
 * time_distributed.c - Keras TimeDistributed(layer): the wrapped layer
 * applied to every step of a [time, ...] input with one set of weights.
 *
 * The batch is [B, T, rest...] in memory, which is the same bytes as
 * [B*T, rest...]: the wrapper calls the inner layer's own forward and
 * backward once, with batch B*T and the per-sample shapes without the time
 * axis.  Nothing is copied.  The inner layer registers its weights during
 * the wrapper's build, so they belong to the wrapper (named after it), and
 * it runs through a view of itself that carries the wrapper's weight
 * index, node (scratch) and trainable flag; the view is a stack copy, so
 * concurrent predictions never write the layer.
 *
 * The ops table, the loader and sn_time_distributed() are in
 * layer_registry.c: they need the table of built-in types, and the table
 * needs them.
 */
#include <limits.h>
#include <string.h>

#include "layers.h"

/* TimeDistributed(TimeDistributed(x)) is the deepest that fits in
 * SN_MAX_RANK (a rank-3 input, a rank-1 step); the loader reads the depth
 * first, so a corrupt file cannot make it recurse. */
#define TD_MAX_DEPTH (SN_MAX_RANK - 1)

typedef struct td_priv {
    sn_layer *inner;
    int depth;         /* 1, or 1 + the inner wrapper's depth            */
} td_priv;

/* By name: the ops table lives in layer_registry.c, which loads the
 * wrapped layer by its type (so this file does not call the registry). */
static bool is_td(const sn_layer *l)
{
    return strcmp(l->ops->type, "TimeDistributed") == 0;
}

static sn_shape drop_time(const sn_shape *s)
{
    sn_shape r = *s;
    r.rank = s->rank - 1;
    for (int d = 0; d < r.rank; d++)
        r.dim[d] = s->dim[d + 1];
    r.dim[r.rank] = 0;
    return r;
}

int sn_td_infer(sn_layer *l, const sn_shape *in, int n_in, sn_shape *out,
                int max_out)
{
    const td_priv *p = l->priv;
    (void)n_in;
    if (in[0].rank < 2) {
        char buf[96];
        sn_shape_format(&in[0], buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE, "%s: expected an input with a time "
                       "axis ([time, ...]), got %s", sn_layer_label(l), buf);
    }
    sn_shape step = drop_time(&in[0]), step_out[4];
    int n = p->inner->ops->infer(p->inner, &step, 1, step_out, 4);
    if (n < 0)
        return n;
    if (n != 1 || max_out < 1)
        return sn_fail(SN_ERR_SHAPE, "%s: the wrapped %s has %d outputs; "
                       "TimeDistributed takes one", sn_layer_label(l),
                       p->inner->ops->type, n);
    if (step_out[0].rank + 1 > SN_MAX_RANK)
        return sn_fail(SN_ERR_SHAPE, "%s: the wrapped %s gives rank %d per "
                       "step; with time that exceeds %d", sn_layer_label(l),
                       p->inner->ops->type, step_out[0].rank, SN_MAX_RANK);
    out[0] = step_out[0];
    out[0].rank = step_out[0].rank + 1;
    out[0].dim[0] = in[0].dim[0];
    for (int d = 0; d < step_out[0].rank; d++)
        out[0].dim[d + 1] = step_out[0].dim[d];
    return 1;
}

sn_status sn_td_build(sn_layer *l, sn_build *b, const sn_shape *in,
                      int n_in)
{
    const td_priv *p = l->priv;
    (void)n_in;
    if (p->inner->ops->build == NULL)
        return SN_OK;
    sn_shape step = drop_time(&in[0]);
    return p->inner->ops->build(p->inner, b, &step, 1);
}

/* A per-step view of one value: batch B*T, per-sample shape without the
 * time axis, no mask (the steps are separate samples now). */
static sn_value step_value(const sn_value *v)
{
    sn_value s = *v;
    int t = v->shape.dim[0];
    s.shape = drop_time(&v->shape);
    s.count = t > 0 ? v->count / (size_t)t : 0;
    s.mask = NULL;
    return s;
}

typedef sn_status (*td_pass)(sn_call *c);

/*
 *  forward                                backward
 *  x [B, T, ...] = [B*T, ...]             dy [B*T, ...]
 *  y = inner.forward(x) over B*T rows     dx += inner.backward(dy)
 *  (the inner layer's equations, per step; its weights are shared by all
 *  steps, so their gradients sum over B*T rows, as over a batch)
 */
static sn_status td_run(sn_call *c, td_pass pass)
{
    const td_priv *p = c->layer->priv;
    int t = c->in[0]->shape.dim[0];
    if (t <= 0 || c->batch == 0)
        return SN_OK;
    if ((long long)c->batch * t > INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: batch * time = %lld steps "
                       "is too large", sn_layer_label(c->layer),
                       (long long)c->batch * t);
    sn_value x = step_value(c->in[0]), y = step_value(c->out[0]);
    sn_value *ins[1] = {&x}, *outs[1] = {&y};
    sn_layer view = *p->inner;
    view.name = c->layer->name;
    view.owner = c->layer->owner;
    view.node = c->layer->node;
    view.first_weight = c->layer->first_weight;
    view.n_weights = c->layer->n_weights;
    view.trainable = c->layer->trainable;
    sn_call sub = *c;
    sub.layer = &view;
    sub.batch = c->batch * t;
    sub.in = ins;
    sub.n_in = 1;
    sub.out = outs;
    sub.n_out = 1;
    return pass(&sub);
}

sn_status sn_td_forward(sn_call *c)
{
    const td_priv *p = c->layer->priv;
    sn_status st = td_run(c, p->inner->ops->forward);
    c->out[0]->mask = c->in[0]->mask; /* whatever the inner layer did */
    return st;
}

sn_status sn_td_backward(sn_call *c)
{
    const td_priv *p = c->layer->priv;
    return td_run(c, p->inner->ops->backward);
}

void sn_td_destroy(sn_layer *l)
{
    td_priv *p = l->priv;
    if (p != NULL)
        sn_layer_free(p->inner);
}

/* Config: i32 depth (1 .. TD_MAX_DEPTH), the innermost layer's type (str)
 * and its config.  The wrappers in between have no config of their own. */
void sn_td_save_config(const sn_layer *l, sn_writer *w)
{
    const td_priv *p = l->priv;
    const sn_layer *inner = p->inner;
    while (is_td(inner))
        inner = ((const td_priv *)inner->priv)->inner;
    sn_write_i32(w, p->depth);
    sn_write_str(w, inner->ops->type);
    inner->ops->save_config(inner, w);
}

/* Why layer cannot be wrapped (apart from being built in, which the
 * registry checks), or NULL. */
const char *sn_td_unwrappable(const sn_layer *layer)
{
    if (layer->owner != NULL)
        return "is already applied to a model";
    if (strcmp(layer->ops->type, "InputLayer") == 0 ||
        layer->ops->min_inputs != 1)
        return "does not take one input";
    if (is_td(layer) && ((const td_priv *)layer->priv)->depth >= TD_MAX_DEPTH)
        return "is nested too deep";
    return NULL;
}

sn_layer *sn_td_wrap(const sn_layer_ops *ops, sn_layer *inner)
{
    sn_layer *l = sn_layer_create(ops, sizeof(td_priv));
    if (l == NULL) {
        sn_layer_free(inner);
        return NULL;
    }
    td_priv *p = l->priv;
    p->inner = inner;
    p->depth = is_td(inner) ? ((const td_priv *)inner->priv)->depth + 1 : 1;
    return l;
}
